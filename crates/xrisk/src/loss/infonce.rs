//! `InfoNceLoss` — the mini-batch contrastive baselines the global contrastive losses are
//! measured against (spec `tempnet_isogclr_spec.md` §1.1–1.2): SimCLR's NT-Xent for two views
//! and CLIP's symmetric cross-entropy for pairs, at a fixed temperature τ — the burn adapter of
//! [`xrisk_kernels::infonce`]. Rows are expected L2-normalised (as the encoders' projections
//! are); the similarity matrices are formed here, in burn.
//!
//! Unlike [`super::GclLoss`], the positive is in the denominator and the normaliser is the
//! batch's: its gradient is the biased mini-batch estimator SogCLR corrects.

use super::gcl::check_views;
use super::{gradient_of, host, inject};
use crate::error::Result;
use burn::tensor::Tensor;

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
            &a,
            &b,
            a.dims()[0],
            "the contrastive loss needs at least 2 samples per batch",
        )?;
        let ab = a.clone().matmul(b.clone().transpose());
        let vab = host(&ab);
        let mut gab = vec![0.0f32; n * n];
        if self.bimodal {
            let v = xrisk_kernels::infonce::clip(self.tau, &vab, &mut gab)?;
            return Ok(inject(ab, gab, v));
        }
        let aa = a.clone().matmul(a.transpose());
        let bb = b.clone().matmul(b.transpose());
        let (vaa, vbb) = (host(&aa), host(&bb));
        let (mut gaa, mut gbb) = (vec![0.0f32; n * n], vec![0.0f32; n * n]);
        let v = xrisk_kernels::infonce::nt_xent(
            self.tau,
            &vab,
            &vaa,
            &vbb,
            (&mut gab, &mut gaa, &mut gbb),
        )?;
        Ok(inject(ab, gab, v) + gradient_of(aa, gaa) + gradient_of(bb, gbb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

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
        assert!((got - total / 4.0).abs() < 1e-5, "{got} vs {total}");
    }
}
