//! Binary cross-entropy on logits (spec `libauc_spec.md` §2.12), the baseline of the AUC
//! losses: `mean_i softplus(z_i) − y_i·z_i` — the burn adapter of [`xrisk_kernels::ce`].

use super::{host, inject};
use crate::error::Result;
use burn::tensor::Tensor;

/// Binary cross-entropy with logits.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrossEntropyLoss;

impl CrossEntropyLoss {
    /// Mean BCE of logits `z` against 0/1 labels (a batch of one class is allowed).
    pub fn forward(&self, z: Tensor<1>, labels: &[f32]) -> Result<Tensor<1>> {
        let zv = host(&z);
        let mut g = vec![0.0f32; zv.len()];
        let v = xrisk_kernels::ce::bce_with_logits(&zv, labels, &mut g)?;
        Ok(inject(z, g, v))
    }
}
