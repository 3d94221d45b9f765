//! `FocalLoss` on logits (spec `libauc_spec.md` §2.12):
//! `mean_i a_i·(1 − p_i)^γ·BCE_i`, `BCE_i = softplus(z_i) − y_i·z_i`, `p_i = exp(−BCE_i)`,
//! `a_i = α` for positives and `1 − α` for negatives (Lin et al.'s convention). LibAUC 2.0.1
//! weights the negatives by α (spec §11 #10) and, by broadcasting a `(B,)` weight against
//! `(B,1)` losses, averages all `B²` products `a_j·(1 − p_i)^γ·BCE_i`; both are fixed here.

use super::floats;
use crate::error::{Result, XriskError};
use burn::tensor::Tensor;
use burn::tensor::activation::softplus;

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
        FocalLoss {
            alpha: 0.25,
            gamma: 2.0,
        }
    }
}

impl FocalLoss {
    /// Mean focal loss of logits `z` against 0/1 labels.
    pub fn forward(&self, z: Tensor<1>, labels: &[f32]) -> Result<Tensor<1>> {
        if z.dims()[0] != labels.len() {
            return Err(XriskError::LengthMismatch {
                scores: z.dims()[0],
                labels: labels.len(),
                ids: labels.len(),
            });
        }
        if let Some(index) = labels.iter().position(|&l| l != 0.0 && l != 1.0) {
            return Err(XriskError::InvalidLabel {
                index,
                value: labels[index],
            });
        }
        super::finite("FocalLoss", &z)?;
        let device = z.device();
        let y = floats(labels, &device);
        let a: Vec<f32> = labels
            .iter()
            .map(|&l| {
                if l == 1.0 {
                    self.alpha as f32
                } else {
                    1.0 - self.alpha as f32
                }
            })
            .collect();
        let bce = softplus(z.clone(), 1.0) - z * y;
        let pt = bce.clone().neg().exp();
        Ok((floats(&a, &device) * (pt.neg() + 1.0).powf_scalar(self.gamma) * bce).mean())
    }
}
