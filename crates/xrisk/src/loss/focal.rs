//! `FocalLoss` on logits (spec `libauc_spec.md` §2.12): `mean_i a_i·(1 − p_i)^γ·BCE_i` with
//! Lin et al.'s class weights — the burn adapter of [`xrisk_kernels::focal`], which documents
//! the two LibAUC 2.0.1 bugs fixed there.

use super::{host, inject};
use crate::error::Result;
use burn::tensor::Tensor;
use xrisk_kernels::focal::FocalConfig;

/// Binary focal loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FocalLoss {
    /// Weight of the positive class (default 0.25).
    pub alpha: f64,
    /// Focusing exponent γ (default 2).
    pub gamma: f64,
}

impl Default for FocalLoss {
    fn default() -> Self {
        let c = FocalConfig::default();
        FocalLoss {
            alpha: c.alpha,
            gamma: c.gamma,
        }
    }
}

impl FocalLoss {
    /// Mean focal loss of logits `z` against 0/1 labels.
    pub fn forward(&self, z: Tensor<1>, labels: &[f32]) -> Result<Tensor<1>> {
        let c = FocalConfig {
            alpha: self.alpha,
            gamma: self.gamma,
        };
        let zv = host(&z);
        let mut g = vec![0.0f32; zv.len()];
        let v = c.forward(&zv, labels, &mut g)?;
        Ok(inject(z, g, v))
    }
}
