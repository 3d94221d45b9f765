//! `GclLoss` — the unimodal global contrastive loss of SogCLR and its robust, individually
//! tempered form of iSogCLR (spec `libauc_spec.md` §2.15 GCLoss_v1; `tempnet_isogclr_spec.md`
//! §1–2).
//!
//! Objective (SogCLR): `F(w) = (1/n) Σ_i τ·log E_{z∈S_i⁻} exp((e_i·e_z − e_i·e_i⁺)/τ)`; iSogCLR
//! adds one learnable `τ_i` per sample and a `τ_i·ρ` term. For a batch of `B` samples with two
//! views (rows L2-normalised), anchor `i` of view 1 has the `2B` logits
//! `X1_i = [e1_i·e2_j | e1_i·e1_j]_j` (its own `e1_i·e1_i` masked to −1e9), the positive at
//! column `i`; view 2 symmetrically. With `N1_ij = exp(X1_ij/τ_i)` over the negatives,
//!
//! ```text
//! u1_i = (1−γ)·u_i + γ·Σ_j N1_ij / (2(B−1))        (u2 likewise; u_i ← (u1_i + u2_i)/2)
//! w1_ij = sg(N1_ij / max(u1_i, ε))
//! loss  = mean_i [ −X1_ii + Σ_j w1_ij·X1_ij/(2(B−1)) ] + [same for view 2]
//! ```
//!
//! whose gradient is the SogCLR estimator. The tracked `u_i` (one per sample, shared by the two
//! views) is what makes small batches unbiased. iSogCLR then moves each `τ_i` along
//! `½Σ_views [ln u_i + ρ − Σ_j w_ij·X_ij/τ_i/(2(B−1))]` with momentum `β`, step `η`, clipped to
//! `[τ_min, τ_max]`.
//!
//! LibAUC's γ rule is kept: with the constant schedule and before `adjust_gamma(epoch ≥ 1)`,
//! a batch whose `u` entries are all zero uses γ = 1 (the first visit), any other `gamma`.

use crate::error::{Result, XriskError};
use crate::state::StateTable;
use burn::tensor::{Device, Tensor, TensorData};

/// iSogCLR's temperature settings (LibAUC defaults: τ ∈ [0.05, 0.7], ρ 0.3, η 0.01, β 0.9).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IsogclrConfig {
    /// Lower bound of every τ_i.
    pub tau_min: f64,
    /// Upper bound of every τ_i.
    pub tau_max: f64,
    /// The DRO radius ρ.
    pub rho: f64,
    /// Step size of the τ update.
    pub eta: f64,
    /// Momentum weight of the τ-gradient moving average (on the new gradient).
    pub beta: f64,
}

impl Default for IsogclrConfig {
    fn default() -> Self {
        IsogclrConfig {
            tau_min: 0.05,
            tau_max: 0.7,
            rho: 0.3,
            eta: 0.01,
            beta: 0.9,
        }
    }
}

/// How γ changes over epochs ([`GclLoss::adjust_gamma`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GammaSchedule {
    /// γ = 1 in epoch 0, then `gamma`.
    Constant,
    /// `γ(e) = (1 − γ_min)·½(1 + cos(π e/E)) + γ_min` for `e < E`, then `γ_min`.
    Cosine {
        /// `E`, the epochs of the decay.
        decay_epochs: usize,
    },
}

impl GammaSchedule {
    /// γ at the start of `epoch`, with floor `min`.
    pub fn at(self, epoch: usize, min: f64) -> f64 {
        match self {
            GammaSchedule::Constant if epoch == 0 => 1.0,
            GammaSchedule::Constant => min,
            GammaSchedule::Cosine { decay_epochs } if epoch < decay_epochs => {
                (1.0 - min)
                    * 0.5
                    * (1.0 + (std::f64::consts::PI * epoch as f64 / decay_epochs as f64).cos())
                    + min
            }
            GammaSchedule::Cosine { .. } => min,
        }
    }

    /// The γ of one batch (LibAUC's rule): with the constant schedule while the scheduled γ is
    /// still above its floor `min` (before `adjust_gamma(epoch ≥ 1)`), 1 for a batch whose state
    /// is all unvisited and `min` otherwise; the scheduled γ in every other case.
    pub(crate) fn batch_gamma(
        self,
        scheduled: f64,
        min: f64,
        unvisited: impl FnOnce() -> bool,
    ) -> f64 {
        if self == GammaSchedule::Constant && scheduled > min {
            if unvisited() { 1.0 } else { min }
        } else {
            scheduled
        }
    }
}

/// Checks a batch of two views (`[B, d]` each, finite, one distinct id per row, `B ≥ 2`; `small`
/// says why 2) and returns `B`.
pub(crate) fn check_views(
    loss: &'static str,
    a: &Tensor<2>,
    b: &Tensor<2>,
    ids: &[usize],
    small: &'static str,
) -> Result<usize> {
    let [n, d] = a.dims();
    if b.dims() != [n, d] || ids.len() != n {
        return Err(XriskError::LengthMismatch {
            scores: n,
            labels: b.dims()[0],
            ids: ids.len(),
        });
    }
    if n < 2 {
        return Err(XriskError::InvalidConfig {
            name: "batch size",
            value: n as f64,
            reason: small,
        });
    }
    super::finite(loss, a)?;
    super::finite(loss, b)?;
    Ok(n)
}

/// Settings of [`GclLoss`] (LibAUC GCLoss_v1 defaults: τ 0.1, γ 0.9, ε 1e-8, constant γ).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GclConfig {
    /// Number of samples (ids must be below it).
    pub data_len: usize,
    /// The temperature (iSogCLR: every τ_i's start).
    pub tau: f64,
    /// Moving-average weight on the batch estimate (the schedule's floor).
    pub gamma: f64,
    /// Floor of `u` in the weights.
    pub eps: f64,
    /// Individual temperatures (iSogCLR) when set.
    pub isogclr: Option<IsogclrConfig>,
    /// The γ schedule.
    pub gamma_schedule: GammaSchedule,
}

impl GclConfig {
    /// SogCLR with LibAUC's defaults for `data_len` samples.
    pub fn new(data_len: usize) -> Self {
        GclConfig {
            data_len,
            tau: 0.1,
            gamma: 0.9,
            eps: 1e-8,
            isogclr: None,
            gamma_schedule: GammaSchedule::Constant,
        }
    }
}

/// The global contrastive loss with its per-sample state.
#[derive(Debug, Clone)]
pub struct GclLoss {
    /// Settings.
    pub config: GclConfig,
    u: StateTable,
    tau: Option<StateTable>,
    grad_tau: Option<StateTable>,
    gamma: f64,
}

const LARGE: f32 = 1e9;

impl GclLoss {
    /// A loss with zeroed state on `device` (iSogCLR: every τ_i = `tau`).
    pub fn new(config: GclConfig, device: &Device) -> Self {
        let n = config.data_len;
        let iso = config.isogclr.is_some();
        GclLoss {
            config,
            u: StateTable::new(n, 0.0, device),
            tau: iso.then(|| StateTable::new(n, config.tau as f32, device)),
            grad_tau: iso.then(|| StateTable::new(n, 0.0, device)),
            gamma: 1.0,
        }
    }

    /// `u` per sample id.
    pub fn u(&self) -> Vec<f32> {
        self.u.to_vec()
    }

    /// iSogCLR's `(τ, τ-gradient average)` per sample id.
    pub fn temperatures(&self) -> Option<(Vec<f32>, Vec<f32>)> {
        Some((
            self.tau.as_ref()?.to_vec(),
            self.grad_tau.as_ref()?.to_vec(),
        ))
    }

    /// Sets γ for `epoch` by the schedule (call at the start of every epoch).
    pub fn adjust_gamma(&mut self, epoch: usize) {
        self.gamma = self.config.gamma_schedule.at(epoch, self.config.gamma);
    }

    /// The loss of a batch of paired views `h1`, `h2` (`[B, d]`, any scale: rows are
    /// L2-normalised here) of the samples `ids` (distinct); updates `u` (and iSogCLR's τ).
    pub fn forward(&mut self, h1: Tensor<2>, h2: Tensor<2>, ids: &[usize]) -> Result<Tensor<1>> {
        let b = check_views(
            "GclLoss",
            &h1,
            &h2,
            ids,
            "the contrastive loss needs at least 2 samples per batch (every other sample is a negative)",
        )?;
        self.u.check_ids(ids)?;
        let device = h1.device();
        let (e1, e2) = (
            crate::encoder::normalize_rows(h1),
            crate::encoder::normalize_rows(h2),
        );
        let eye = eye(b, &device);
        let aa = e1.clone().matmul(e1.clone().transpose()) - eye.clone() * LARGE;
        let bb = e2.clone().matmul(e2.clone().transpose()) - eye.clone() * LARGE;
        let ab = e1.clone().matmul(e2.clone().transpose());
        let ba = e2.matmul(e1.transpose());
        let x1 = Tensor::cat(vec![ab, aa], 1);
        let x2 = Tensor::cat(vec![ba, bb], 1);
        // One-hot of the positive (column i of the 2B logits) and its complement.
        let pos = Tensor::cat(vec![eye, Tensor::zeros([b, b], &device)], 1);
        let neg = pos.clone().neg() + 1.0;
        let state_dev = self.u.device();
        let tau_col: Tensor<2> = match &self.tau {
            Some(t) => t.get(ids).to_device(&device).unsqueeze_dim::<2>(1),
            None => Tensor::full([b, 1], self.config.tau, &device),
        };
        let (x1d, x2d) = (x1.clone().detach(), x2.clone().detach());
        let n1 = (x1d.clone() / tau_col.clone()).exp() * neg.clone();
        let n2 = (x2d.clone() / tau_col.clone()).exp() * neg;
        let u_old = self.u.get(ids).to_device(&device);
        let gamma = self
            .config
            .gamma_schedule
            .batch_gamma(self.gamma, self.config.gamma, || {
                u_old.clone().sum().into_scalar::<f32>() == 0.0
            });
        let norm = 2.0 * (b as f64 - 1.0);
        let batch_u = |n: &Tensor<2>| n.clone().sum_dim(1).squeeze_dim::<1>(1) / norm;
        let u1 = u_old.clone() * (1.0 - gamma) + batch_u(&n1) * gamma;
        let u2 = u_old * (1.0 - gamma) + batch_u(&n2) * gamma;
        self.u
            .set(ids, ((u1.clone() + u2.clone()) / 2.0).to_device(&state_dev));
        let eps = self.config.eps;
        let w1 = n1 / u1.clone().clamp_min(eps).unsqueeze_dim::<2>(1);
        let w2 = n2 / u2.clone().clamp_min(eps).unsqueeze_dim::<2>(1);
        let side = |x: Tensor<2>, w: &Tensor<2>| -> Tensor<1> {
            let positive = (x.clone() * pos.clone()).sum_dim(1);
            let weighted = (x * w.clone()).sum_dim(1) / norm;
            (weighted - positive).squeeze_dim::<1>(1)
        };
        let loss = (side(x1, &w1) + side(x2, &w2)).mean();
        if let (Some(iso), Some(tau), Some(grad_tau)) = (
            self.config.isogclr,
            self.tau.as_mut(),
            self.grad_tau.as_mut(),
        ) {
            let g = |u: Tensor<1>, x: Tensor<2>, w: Tensor<2>| -> Tensor<1> {
                let inner = (w * (x / tau_col.clone())).sum_dim(1).squeeze_dim::<1>(1) / norm;
                u.log() + iso.rho - inner
            };
            let g = (g(u1, x1d, w1) + g(u2, x2d, w2)) / 2.0;
            let avg = grad_tau.get(ids) * (1.0 - iso.beta) + g.to_device(&state_dev) * iso.beta;
            grad_tau.set(ids, avg.clone());
            let next = (tau.get(ids) - avg * iso.eta).clamp(iso.tau_min, iso.tau_max);
            tau.set(ids, next);
        }
        Ok(loss.reshape([1]))
    }
}

/// The `b × b` identity.
pub(crate) fn eye(b: usize, device: &Device) -> Tensor<2> {
    let mut v = vec![0.0f32; b * b];
    for i in 0..b {
        v[i * b + i] = 1.0;
    }
    Tensor::from_data(TensorData::new(v, [b, b]), device)
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
        let mut loss = GclLoss::new(GclConfig::new(5), &d);
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
        let mut loss = GclLoss::new(GclConfig::new(4), &d);
        let one = || Tensor::<2>::ones([1, 3], &d);
        assert!(loss.forward(one(), one(), &[0]).is_err());
        let two = || Tensor::<2>::ones([2, 3], &d);
        let e = loss.forward(two(), two(), &[0, 9]).unwrap_err().to_string();
        assert!(e.contains("outside the state table"), "{e}");
    }
}
