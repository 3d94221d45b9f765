//! Binary cross-entropy on logits (spec `libauc_spec.md` §2.12), the baseline of the AUC
//! losses: `mean_i softplus(z_i) − y_i·z_i`, computed stably.

use super::{floats, split};
use crate::error::Result;
use burn::tensor::Tensor;
use burn::tensor::activation::softplus;

/// Binary cross-entropy with logits.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrossEntropyLoss;

impl CrossEntropyLoss {
    /// Mean BCE of logits `z` against 0/1 labels (a batch of one class is allowed).
    pub fn forward(&self, z: Tensor<1>, labels: &[f32]) -> Result<Tensor<1>> {
        let n = z.dims()[0];
        super::finite("CrossEntropyLoss", &z)?;
        if labels.contains(&1.0) {
            split("CrossEntropyLoss", n, labels, None, false)?;
        } else if let Some(index) = labels.iter().position(|&l| l != 0.0) {
            return Err(crate::error::XriskError::InvalidLabel {
                index,
                value: labels[index],
            });
        }
        let y = floats(labels, &z.device());
        Ok((softplus(z.clone(), 1.0) - z * y).mean())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn matches_the_formula() {
        let d = Device::flex();
        let v = CrossEntropyLoss
            .forward(floats(&[2.0, -1.0], &d), &[1.0, 0.0])
            .unwrap()
            .into_scalar::<f32>() as f64;
        let want = ((1.0 + (-2.0f64).exp()).ln() + (1.0 + (-1.0f64).exp()).ln()) / 2.0;
        assert!((v - want).abs() < 1e-6);
    }
}
