//! The end of every task's step: the loss's host value and the backward pass, the model's
//! gradients summed over the group in data-parallel training (`xrisk::dist`).

use anyhow::Result;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Gradients, Tensor};
use xrisk::dist::{Collective, all_reduce_grads};

/// The host value of a step's loss (the [`crate::Trainer`] stops on a non-finite one).
pub(crate) fn value(loss: &Tensor<1>) -> f64 {
    f64::from(loss.clone().into_scalar::<f32>())
}

/// The backward pass of `loss`: `model`'s gradients — with `dist`, summed over the group —
/// and the rest (a loss's own `a`, `b`, TempNet's parameters), complete on every process
/// because every process computes the loss on the gathered global batch.
pub(crate) fn backward<'c, M: Module>(
    loss: Tensor<1>,
    model: &M,
    dist: Option<&mut (dyn Collective + 'c)>,
) -> Result<(GradientsParams, Gradients)> {
    let mut grads = loss.backward();
    let mut g = GradientsParams::from_module(&mut grads, model);
    if let Some(c) = dist {
        all_reduce_grads(model, &mut g, c)?;
    }
    Ok((g, grads))
}
