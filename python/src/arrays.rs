//! Array arguments and errors at the Python boundary: contiguous NumPy views, ids checked to be
//! non-negative, and the Rust crates' errors as `ValueError`s that name the argument.

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A `ValueError` whose message is `what`.
pub fn value_error(what: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(what.to_string())
}

/// Any error of the Rust crates as a `ValueError` with the crate's message.
pub fn err<E: std::fmt::Display>(e: E) -> PyErr {
    value_error(e)
}

/// The slice of a one-dimensional array argument `name` (a `ValueError` if it is not
/// C-contiguous).
pub fn slice<'a, T: numpy::Element>(
    a: &'a PyReadonlyArray1<'_, T>,
    name: &str,
) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| value_error(format!("{name}: the array must be C-contiguous")))
}

/// Sample ids from an `int64` array: each must be ≥ 0 (the kernels check the upper bound
/// against their state tables).
pub fn ids(a: &PyReadonlyArray1<'_, i64>, name: &str) -> PyResult<Vec<usize>> {
    let s = slice(a, name)?;
    s.iter()
        .enumerate()
        .map(|(i, &v)| {
            usize::try_from(v).map_err(|_| {
                value_error(format!(
                    "{name}[{i}] = {v}: sample ids must be non-negative dataset indices"
                ))
            })
        })
        .collect()
}

/// A new NumPy array holding `v`.
pub fn array<T: numpy::Element>(py: Python<'_>, v: Vec<T>) -> Bound<'_, PyArray1<T>> {
    PyArray1::from_vec(py, v)
}

/// The surrogate named as LibAUC names it (`surr_loss=`), with its parameter.
pub fn surrogate(name: &str, scale: Option<f64>) -> PyResult<xrisk_kernels::Surrogate> {
    use xrisk_kernels::Surrogate;
    Ok(match name {
        "squared_hinge" => Surrogate::SquaredHinge,
        "squared" => Surrogate::Squared,
        "hinge" => Surrogate::Hinge,
        "logistic" => Surrogate::Logistic,
        "barrier_hinge" => Surrogate::BarrierHinge {
            scale: scale.unwrap_or(1.0),
        },
        other => {
            return Err(value_error(format!(
                "surr_loss = {other:?}: use 'squared_hinge', 'squared', 'hinge', 'logistic' or 'barrier_hinge'"
            )));
        }
    })
}
