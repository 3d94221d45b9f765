//! Binary focal loss on logits (`FocalLoss`, spec `libauc_spec.md` §2.12):
//! `value = mean_i a_i·(1 − p_i)^γ·BCE_i`, `BCE_i = softplus(z_i) − y_i·z_i`,
//! `p_i = exp(−BCE_i)`, `a_i = α` for positives and `1 − α` for negatives (Lin et al.'s
//! convention). LibAUC 2.0.1 weights the negatives by α (spec §11 #10) and, by broadcasting a
//! `(B,)` weight against `(B,1)` losses, averages all `B²` products; both are fixed here.
//! Stateless.

use crate::check;
use crate::error::Result;
use crate::surrogate::{sigmoid, softplus};

/// Settings of the focal loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FocalConfig {
    /// Weight of the positive class (default 0.25).
    pub alpha: f64,
    /// Focusing exponent γ (default 2).
    pub gamma: f64,
}

impl Default for FocalConfig {
    fn default() -> Self {
        FocalConfig {
            alpha: 0.25,
            gamma: 2.0,
        }
    }
}

impl FocalConfig {
    /// Checks the settings: `0 ≤ alpha ≤ 1`, `gamma ≥ 0`.
    pub fn validate(&self) -> Result<()> {
        check::in_range("alpha", self.alpha, 0.0, 1.0, "must be in [0, 1]")?;
        check::in_range(
            "gamma",
            self.gamma,
            0.0,
            f64::MAX,
            "the focusing exponent must be ≥ 0",
        )
    }

    /// The mean focal loss of logits `z` against 0/1 labels; writes `∂value/∂z` into `grad`.
    pub fn forward(&self, z: &[f32], labels: &[f32], grad: &mut [f32]) -> Result<f64> {
        self.validate()?;
        check::lengths(z.len(), labels.len(), None)?;
        check::grad_len("grad", grad.len(), z.len())?;
        check::binary_labels(labels)?;
        check::finite("FocalLoss", z)?;
        let n = z.len() as f64;
        let g = self.gamma;
        let mut v = 0.0;
        for ((&zi, &yi), gr) in z.iter().zip(labels).zip(grad.iter_mut()) {
            let (zi, yi) = (f64::from(zi), f64::from(yi));
            let a = if yi == 1.0 {
                self.alpha
            } else {
                1.0 - self.alpha
            };
            let bce = softplus(zi) - yi * zi;
            let q = 1.0 - (-bce).exp();
            v += a * q.powf(g) * bce;
            // d/dBCE [q^γ·BCE] = γ·q^(γ−1)·(1 − q)·BCE + q^γ, dBCE/dz = σ(z) − y.
            let dq = if g == 0.0 {
                0.0
            } else {
                g * q.powf(g - 1.0) * (1.0 - q) * bce
            };
            *gr = (a * (dq + q.powf(g)) * (sigmoid(zi) - yi) / n) as f32;
        }
        Ok(v / n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_is_the_slope() {
        let c = FocalConfig::default();
        let (z, y) = ([0.7f32, -1.2, 2.5], [1.0f32, 0.0, 0.0]);
        let mut g = [0.0f32; 3];
        c.forward(&z, &y, &mut g).unwrap();
        for i in 0..3 {
            let (mut a, mut b) = (z, z);
            a[i] += 1e-3;
            b[i] -= 1e-3;
            let mut s = [0.0f32; 3];
            let fd =
                (c.forward(&a, &y, &mut s).unwrap() - c.forward(&b, &y, &mut s).unwrap()) / 2e-3;
            assert!((f64::from(g[i]) - fd).abs() < 1e-4, "{i}: {} vs {fd}", g[i]);
        }
    }
}
