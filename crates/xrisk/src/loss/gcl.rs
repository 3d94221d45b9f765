//! `GclLoss` — the unimodal global contrastive loss of SogCLR and its individually tempered
//! form of iSogCLR (spec `libauc_spec.md` §2.15 GCLoss_v1; `tempnet_isogclr_spec.md` §1–2): the
//! burn adapter of [`xrisk_kernels::gcl`]. The views' rows are L2-normalised and the
//! similarity matrices `e1·e2ᵀ`, `e1·e1ᵀ`, `e2·e2ᵀ` formed here, in burn; the kernel returns the
//! value, the gradient w.r.t. those matrices and updates `u` (and iSogCLR's τ); burn's
//! autodiff carries the gradient back through the products and the normalisation.

use super::{host, inject};
use crate::error::{Result, XriskError};
use burn::tensor::{Device, Tensor};
use xrisk_kernels::gcl::GclKernel;
pub use xrisk_kernels::gcl::{GammaSchedule, GclConfig, IsogclrConfig};

/// Checks a batch of two views (`[B, d]` each, one id per row, `B ≥ 2`; `small` says why 2)
/// and returns `B`.
pub(crate) fn check_views(
    a: &Tensor<2>,
    b: &Tensor<2>,
    ids: usize,
    small: &'static str,
) -> Result<usize> {
    let [n, d] = a.dims();
    if b.dims() != [n, d] || ids != n {
        return Err(XriskError::LengthMismatch {
            scores: n,
            labels: b.dims()[0],
            ids,
        });
    }
    if n < 2 {
        return Err(XriskError::InvalidConfig {
            name: "batch size",
            value: n as f64,
            reason: small,
        });
    }
    Ok(n)
}

/// The global contrastive loss with its per-sample state.
#[derive(Debug, Clone)]
pub struct GclLoss {
    kernel: GclKernel,
}

impl GclLoss {
    /// A loss with zeroed state (on the host; iSogCLR: every τ_i = `tau`); errors on a bad
    /// setting or tables that cannot be allocated.
    pub fn new(config: GclConfig, _device: &Device) -> Result<Self> {
        Ok(GclLoss {
            kernel: GclKernel::new(config)?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &GclConfig {
        self.kernel.config()
    }

    /// `u` per sample id.
    pub fn u(&self) -> Vec<f32> {
        self.kernel.u().to_vec()
    }

    /// iSogCLR's `(τ, τ-gradient average)` per sample id.
    pub fn temperatures(&self) -> Option<(Vec<f32>, Vec<f32>)> {
        self.kernel
            .temperatures()
            .map(|(t, g)| (t.to_vec(), g.to_vec()))
    }

    /// Sets γ for `epoch` by the schedule (call at the start of every epoch).
    pub fn adjust_gamma(&mut self, epoch: usize) {
        self.kernel.adjust_gamma(epoch);
    }

    /// The loss of a batch of paired views `h1`, `h2` (`[B, d]`, any scale: rows are
    /// L2-normalised here) of the samples `ids` (distinct); updates `u` (and iSogCLR's τ).
    pub fn forward(&mut self, h1: Tensor<2>, h2: Tensor<2>, ids: &[usize]) -> Result<Tensor<1>> {
        let b = check_views(
            &h1,
            &h2,
            ids.len(),
            "the contrastive loss needs at least 2 samples per batch (every other sample is a negative)",
        )?;
        let (e1, e2) = (
            crate::encoder::normalize_rows(h1),
            crate::encoder::normalize_rows(h2),
        );
        let ab = e1.clone().matmul(e2.clone().transpose());
        let aa = e1.clone().matmul(e1.transpose());
        let bb = e2.clone().matmul(e2.transpose());
        let (vab, vaa, vbb) = (host(&ab), host(&aa), host(&bb));
        let (mut gab, mut gaa, mut gbb) = (vec![0.0; b * b], vec![0.0; b * b], vec![0.0; b * b]);
        let v = self
            .kernel
            .forward(&vab, &vaa, &vbb, ids, &mut gab, &mut gaa, &mut gbb)?;
        Ok(inject(ab, gab, v) + super::gradient_of(aa, gaa) + super::gradient_of(bb, gbb))
    }
}

impl crate::persist::Persist for GclLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        super::save_table(s, prefix, "u", self.kernel.u());
        if let Some((tau, grad)) = self.kernel.temperatures() {
            super::save_table(s, prefix, "tau", tau);
            super::save_table(s, prefix, "grad_tau", grad);
        }
        s.put_scalar(format!("{prefix}.gamma"), self.kernel.gamma());
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        let iso = self.kernel.temperatures().is_some();
        let (tau, grad): (&[f32], &[f32]) = if iso {
            (
                super::table(s, prefix, "tau")?,
                super::table(s, prefix, "grad_tau")?,
            )
        } else {
            (&[], &[])
        };
        let u = super::table(s, prefix, "u")?;
        let gamma = super::scalar(s, prefix, "gamma")?;
        self.kernel
            .load_state(u, tau, grad, gamma)
            .map_err(super::restore_error(prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SogCLR on a batch of 3 in 2-D, computed by hand from the definition.
    #[test]
    fn first_call_matches_the_definition_by_hand() {
        let d = Device::flex();
        let h1 = [[1.0f32, 0.0], [0.0, 2.0], [0.6, 0.8]];
        let h2 = [[0.8f32, 0.6], [0.0, 1.0], [1.0, 0.0]];
        let mut loss = GclLoss::new(GclConfig::new(5), &d).unwrap();
        let v = loss
            .forward(
                Tensor::<2>::from_floats(h1, &d),
                Tensor::<2>::from_floats(h2, &d),
                &[4, 0, 2],
            )
            .unwrap()
            .into_scalar::<f32>() as f64;
        let unit = |r: [f32; 2]| {
            let n = (r[0] * r[0] + r[1] * r[1]).sqrt();
            [f64::from(r[0] / n), f64::from(r[1] / n)]
        };
        let (e1, e2): (Vec<_>, Vec<_>) = (h1.map(unit).to_vec(), h2.map(unit).to_vec());
        let dot = |a: [f64; 2], b: [f64; 2]| a[0] * b[0] + a[1] * b[1];
        let (tau, b) = (0.1, 3usize);
        let norm = 2.0 * (b as f64 - 1.0);
        let mut total = 0.0;
        let mut u = [0.0; 3];
        for (first, second) in [(&e1, &e2), (&e2, &e1)] {
            for i in 0..b {
                // Negatives: the other view's j ≠ i and the same view's j ≠ i; γ = 1 (first visit).
                let negs: Vec<f64> = (0..b)
                    .filter(|&j| j != i)
                    .flat_map(|j| [dot(first[i], second[j]), dot(first[i], first[j])])
                    .collect();
                let ubar: f64 = negs.iter().map(|x| (x / tau).exp()).sum::<f64>() / norm;
                u[i] += ubar / 2.0;
                let weighted: f64 =
                    negs.iter().map(|x| (x / tau).exp() / ubar * x).sum::<f64>() / norm;
                total += weighted - dot(first[i], second[i]);
            }
        }
        let want = total / b as f64;
        assert!(
            (v - want).abs() < 1e-4 * want.abs().max(1.0),
            "{v} vs {want}"
        );
        let got_u = loss.u();
        for (k, id) in [4usize, 0, 2].into_iter().enumerate() {
            assert!((f64::from(got_u[id]) - u[k]).abs() < 1e-3 * u[k], "u[{id}]");
        }
        assert_eq!(got_u[1], 0.0, "an id outside the batch keeps its state");
    }

    #[test]
    fn bad_input_is_an_error() {
        let d = Device::flex();
        let mut loss = GclLoss::new(GclConfig::new(4), &d).unwrap();
        let one = || Tensor::<2>::ones([1, 3], &d);
        assert!(loss.forward(one(), one(), &[0]).is_err());
        let two = || Tensor::<2>::ones([2, 3], &d);
        let e = loss.forward(two(), two(), &[0, 9]).unwrap_err().to_string();
        assert!(e.contains("outside the state table"), "{e}");
    }
}
