//! `InfoNceLoss` — the mini-batch contrastive baselines the global contrastive losses are
//! measured against (spec `tempnet_isogclr_spec.md` §1.1–1.2): SimCLR's NT-Xent for two views
//! and CLIP's symmetric cross-entropy for pairs, at a fixed temperature τ. Rows are expected
//! L2-normalised (as the encoders' projections are).
//!
//! ```text
//! unimodal (z = [a; b], 2B rows):  loss = mean_k −ln( exp(z_k·z_k⁺/τ) / Σ_{l≠k} exp(z_k·z_l/τ) )
//! bimodal  (S = a·bᵀ/τ):           loss = ½ [ mean_i CE(S_i·, i) + mean_j CE(S_·j, j) ]
//! ```
//!
//! Unlike [`super::GclLoss`], the positive is in the denominator and the normaliser is the
//! batch's: its gradient is the biased mini-batch estimator SogCLR corrects.

use super::gcl::{check_views, eye};
use crate::error::Result;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};

/// NT-Xent (two views) or CLIP (pairs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InfoNceLoss {
    /// The temperature τ.
    pub tau: f64,
    /// `true`: pairs of two modalities (CLIP); `false`: two views of one sample (NT-Xent).
    pub bimodal: bool,
}

impl InfoNceLoss {
    /// The loss of a batch: `a`, `b` `[B, d]` (views or modalities; row i of each belongs to
    /// sample i).
    pub fn forward(&self, a: Tensor<2>, b: Tensor<2>) -> Result<Tensor<1>> {
        let n = check_views(
            "InfoNceLoss",
            &a,
            &b,
            &vec![0; a.dims()[0]],
            "the contrastive loss needs at least 2 samples per batch",
        )?;
        let device = a.device();
        let targets = |m: usize, shift: usize| {
            Tensor::<1, Int>::from_data(
                TensorData::new((0..m).map(|i| ((i + shift) % m) as i64).collect(), [m]),
                &device,
            )
            .unsqueeze_dim::<2>(1)
        };
        let ce = |logits: Tensor<2>, t: Tensor<2, Int>| -> Tensor<1> {
            (-log_softmax(logits, 1).gather(1, t)).mean()
        };
        if self.bimodal {
            let s = a.matmul(b.transpose()) / self.tau;
            let t = targets(n, 0);
            Ok((ce(s.clone(), t.clone()) + ce(s.transpose(), t)) / 2.0)
        } else {
            let z = Tensor::cat(vec![a, b], 0);
            let s = z.clone().matmul(z.transpose()) / self.tau;
            let s = s - eye(2 * n, &device) * 1e9;
            Ok(ce(s, targets(2 * n, n)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn t(v: Vec<f32>, rows: usize, device: &Device) -> Tensor<2> {
        let d = v.len() / rows;
        Tensor::from_data(TensorData::new(v, [rows, d]), device)
    }

    /// Both forms against the definitions written out on the host.
    #[test]
    fn values_by_hand() {
        let device = Device::flex();
        let a = vec![1.0f32, 0.0, 0.6, 0.8];
        let b = vec![0.8f32, 0.6, 0.0, 1.0];
        let tau = 0.5;
        let dot = |x: &[f32], y: &[f32]| (x[0] * y[0] + x[1] * y[1]) as f64 / tau;
        let (a0, a1, b0, b1) = (&a[0..2], &a[2..4], &b[0..2], &b[2..4]);
        // CLIP.
        let ce = |pos: f64, all: &[f64]| -(pos - all.iter().map(|v| v.exp()).sum::<f64>().ln());
        let rows = ce(dot(a0, b0), &[dot(a0, b0), dot(a0, b1)])
            + ce(dot(a1, b1), &[dot(a1, b0), dot(a1, b1)]);
        let cols = ce(dot(a0, b0), &[dot(a0, b0), dot(a1, b0)])
            + ce(dot(a1, b1), &[dot(a0, b1), dot(a1, b1)]);
        let want = (rows / 2.0 + cols / 2.0) / 2.0;
        let got = InfoNceLoss { tau, bimodal: true }
            .forward(t(a.clone(), 2, &device), t(b.clone(), 2, &device))
            .unwrap()
            .into_scalar::<f32>() as f64;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        // NT-Xent: four rows a0, a1, b0, b1; positives a0↔b0, a1↔b1.
        let z = [a0, a1, b0, b1];
        let mut total = 0.0;
        for k in 0..4 {
            let pos = dot(z[k], z[(k + 2) % 4]);
            let all: Vec<f64> = (0..4)
                .filter(|&l| l != k)
                .map(|l| dot(z[k], z[l]))
                .collect();
            total += ce(pos, &all);
        }
        let got = InfoNceLoss {
            tau,
            bimodal: false,
        }
        .forward(t(a, 2, &device), t(b, 2, &device))
        .unwrap()
        .into_scalar::<f32>() as f64;
        assert!((got - total / 4.0).abs() < 1e-5, "{got} vs {}", total / 4.0);
    }
}
