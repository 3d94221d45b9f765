//! `xrisk._native`: the Rust half of the Python package `xrisk`. It binds the X-risk kernels
//! (`xrisk-kernels`), the metrics (`xrisk-metrics`) and the samplers (`xrisk-data`) — no burn —
//! for the Python modules `xrisk.losses`, `xrisk.metrics` and `xrisk.sampler`, which keep
//! LibAUC's names and call conventions. Arrays cross as NumPy arrays (one-dimensional,
//! C-contiguous, `float32` scores / `int64` ids, read without a copy); the Python side moves
//! torch tensors to host `float32` first. Every error of the Rust crates becomes a Python
//! `ValueError` with the crate's message (what is wrong, where, what to do); calls that
//! take more than a few microseconds release the GIL.

mod arrays;
mod data;
mod losses;
mod metrics;
mod optim;

use pyo3::prelude::*;

/// The module `xrisk._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    losses::register(m)?;
    metrics::register(m)?;
    data::register(m)?;
    optim::register(m)?;
    Ok(())
}
