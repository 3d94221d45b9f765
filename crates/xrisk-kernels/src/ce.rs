//! Binary cross-entropy on logits (`CrossEntropyLoss`, spec `libauc_spec.md` §2.12), the
//! baseline of the AUC losses: `value = mean_i softplus(z_i) − y_i·z_i` (stable),
//! `∂value/∂z_i = (σ(z_i) − y_i)/n`. A batch of one class is allowed. Stateless.

use crate::check;
use crate::error::Result;
use crate::surrogate::{sigmoid, softplus};

/// Binary cross-entropy of logits `z` against 0/1 labels; writes `∂value/∂z` into `grad`.
pub fn bce_with_logits(z: &[f32], labels: &[f32], grad: &mut [f32]) -> Result<f64> {
    check::lengths(z.len(), labels.len(), None)?;
    check::grad_len("grad", grad.len(), z.len())?;
    check::finite("CrossEntropyLoss", z)?;
    check::binary_labels(labels)?;
    let n = z.len() as f64;
    let mut v = 0.0;
    for ((&zi, &yi), g) in z.iter().zip(labels).zip(grad.iter_mut()) {
        let (zi, yi) = (f64::from(zi), f64::from(yi));
        v += softplus(zi) - yi * zi;
        *g = ((sigmoid(zi) - yi) / n) as f32;
    }
    Ok(v / n)
}

/// Binary cross-entropy of probabilities `h` (PyTorch's `BCELoss`: logs clamped at −100), the
/// cross-entropy phase of the compositional AUC loss; writes `∂value/∂h` into `grad`.
pub(crate) fn bce_of_probabilities(h: &[f32], labels: &[f32], grad: &mut [f32]) -> f64 {
    let n = h.len() as f64;
    let mut v = 0.0;
    for ((&hi, &yi), g) in h.iter().zip(labels).zip(grad.iter_mut()) {
        let (hi, yi) = (f64::from(hi), f64::from(yi));
        let (lp, lq) = (hi.ln(), (1.0 - hi).ln());
        v -= yi * lp.max(-100.0) + (1.0 - yi) * lq.max(-100.0);
        // The clamp passes the gradient where the log is at or above −100 (PyTorch's clamp).
        let dp = if lp >= -100.0 { yi / hi } else { 0.0 };
        let dq = if lq >= -100.0 {
            (1.0 - yi) / (1.0 - hi)
        } else {
            0.0
        };
        *g = ((dq - dp) / n) as f32;
    }
    v / n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_formula() {
        let mut g = [0.0f32; 2];
        let v = bce_with_logits(&[2.0, -1.0], &[1.0, 0.0], &mut g).unwrap();
        let want = ((1.0 + (-2.0f64).exp()).ln() + (1.0 + (-1.0f64).exp()).ln()) / 2.0;
        assert!((v - want).abs() < 1e-12);
        assert!((f64::from(g[0]) - (sigmoid(2.0) - 1.0) / 2.0).abs() < 1e-7);
        assert!(
            bce_with_logits(&[0.0, 1.0], &[0.0, 0.0], &mut g).is_ok(),
            "one class is fine"
        );
        assert!(bce_with_logits(&[0.0, f32::NAN], &[0.0, 0.0], &mut g).is_err());
        assert!(bce_with_logits(&[0.0, 1.0], &[0.0, 0.5], &mut g).is_err());
    }
}
