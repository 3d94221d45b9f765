//! The optimizer skeleton on CPU `float32` parameters (`xrisk_kernels::skeleton`): one call
//! updates a parameter and its state buffers in place (NumPy views of the torch tensors), where
//! the torch formulation takes about ten dispatched operations.

use crate::arrays::{err, value_error};
use numpy::{PyReadonlyArray1, PyReadwriteArray1};
use pyo3::prelude::*;
use xrisk_kernels::skeleton::{Buffers, Rule, StepSettings, update};

/// A read-write array's slice (a `ValueError` naming it when not contiguous).
fn rw<'a>(a: &'a mut PyReadwriteArray1<'_, f32>, name: &str) -> PyResult<&'a mut [f32]> {
    a.as_slice_mut()
        .map_err(|_| value_error(format!("{name}: the array must be C-contiguous")))
}

/// One skeleton update of `w` (in place) with gradient `g`; `rule` is `'sgd'`, `'pesg'`,
/// `'adam'` or `'adamw'`; unused buffers may be empty arrays.
#[pyfunction]
#[pyo3(signature = (w, g, first, second, max_second, reference, acc, fresh, step, lr, clip, weight_decay, epoch_decay, rule, momentum=0.0, dampening=0.0, nesterov=false, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=false))]
#[allow(clippy::too_many_arguments)]
fn skeleton_update(
    py: Python<'_>,
    mut w: PyReadwriteArray1<'_, f32>,
    g: PyReadonlyArray1<'_, f32>,
    mut first: PyReadwriteArray1<'_, f32>,
    mut second: PyReadwriteArray1<'_, f32>,
    mut max_second: PyReadwriteArray1<'_, f32>,
    reference: PyReadonlyArray1<'_, f32>,
    mut acc: PyReadwriteArray1<'_, f32>,
    fresh: bool,
    step: u64,
    lr: f64,
    clip: Option<f64>,
    weight_decay: f64,
    epoch_decay: f64,
    rule: &str,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    beta1: f64,
    beta2: f64,
    eps: f64,
    amsgrad: bool,
) -> PyResult<()> {
    let rule = match rule {
        "sgd" => Rule::Sgd {
            momentum: momentum as f32,
            dampening: dampening as f32,
            nesterov,
        },
        "pesg" => Rule::Pesg {
            momentum: momentum as f32,
        },
        "adam" | "adamw" => Rule::Adam {
            beta1: beta1 as f32,
            beta2: beta2 as f32,
            eps: eps as f32,
            amsgrad,
            decoupled: rule == "adamw",
        },
        other => return Err(value_error(format!("rule {other:?} has no fused update"))),
    };
    let s = StepSettings {
        lr: lr as f32,
        clip: clip.map(|c| c as f32),
        weight_decay: weight_decay as f32,
        epoch_decay: epoch_decay as f32,
        rule,
    };
    let g = g
        .as_slice()
        .map_err(|_| value_error("grad: the array must be C-contiguous"))?;
    let reference = reference
        .as_slice()
        .map_err(|_| value_error("ref: the array must be C-contiguous"))?;
    let w = rw(&mut w, "param")?;
    let b = Buffers {
        first: rw(&mut first, "momentum_buffer")?,
        second: rw(&mut second, "exp_avg_sq")?,
        max_second: rw(&mut max_second, "max_exp_avg_sq")?,
        reference,
        acc: rw(&mut acc, "acc")?,
        fresh,
    };
    py.detach(|| update(w, g, b, &s, step)).map_err(err)
}

/// Registers the fused update.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(skeleton_update, m)?)?;
    Ok(())
}
