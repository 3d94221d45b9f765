//! `EntLossClassification` — the compositional entropic risk for many-class (extreme)
//! classification, with the SCENT or SOX estimator of its inner mean (spec `libauc_spec.md`
//! §2.17, §3.8).
//!
//! Objective: `(1/n) Σ_i ln Σ_k exp(h(x_i)ᵀ(w_k − w_{y_i}))`. The caller passes, per sample,
//! logits `ℓ_ik = x_iᵀw_k − x_iᵀw_{y_i}` over a sampled class set with the sample's own class
//! masked to −∞ (LibAUC's tutorial: the batch's distinct labels). With
//! `m_i = Σ_k exp(ℓ_ik)/(K−1)` (no gradient), the log-scale state `ν_i` moves by
//! * SCENT: `ν ← ν + ln(1 + e^α·m·e^{ν(c−1)}) − ln(1 + e^α·e^{ν·c})` (`c` = `alpha_multiplier`);
//! * SOX: `ν ← logaddexp(ln(1−γ) + ν, ln γ + ln m)`, the moving average of `e^ν` in log space;
//!
//! an entry that is exactly 0 (never visited) is set to `ln m` instead. The returned surrogate
//! is `mean_i Σ_k exp(ℓ_ik − ν_i)/(K−1)`, whose gradient is the compositional estimator. A
//! sample repeated in one batch uses its own row's new `ν` and the table keeps the last.
//! Defaults (LibAUC 2.0.1): α = 10, γ = 0.9, SCENT, `c` = 1. Difference: `ln m` and SCENT's
//! `ln(1 + e^x)` terms are computed in log space, so large logits do not overflow f32 (LibAUC
//! forms `m` and `e^{α+ν}` directly and turns `ν` into ±∞/NaN once they pass ~e^88). SOX's γ follows a cosine
//! schedule with [`EntLossClassification::adjust_gamma`].

use crate::error::{Result, XriskError};
use crate::state::StateTable;
use burn::tensor::{Device, Tensor};

/// Which inner-mean estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntEstimator {
    /// SCENT's stochastic proximal mirror step (LibAUC's default, `is_scent=True`).
    Scent,
    /// SOX's moving average.
    Sox,
}

/// Settings of [`EntLossClassification`] (LibAUC 2.0.1 names and defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntConfig {
    /// Number of training samples (the size of `ν`).
    pub data_size: usize,
    /// SCENT's step parameter α (10.0).
    pub alpha: f64,
    /// SOX's moving-average weight γ (0.9; the schedule's floor).
    pub gamma: f64,
    /// The estimator (SCENT).
    pub estimator: EntEstimator,
    /// SCENT's `alpha_multiplier` c (1.0).
    pub alpha_multiplier: f64,
}

impl EntConfig {
    /// LibAUC's defaults for `data_size` samples.
    pub fn new(data_size: usize) -> Self {
        EntConfig {
            data_size,
            alpha: 10.0,
            gamma: 0.9,
            estimator: EntEstimator::Scent,
            alpha_multiplier: 1.0,
        }
    }
}

/// The compositional entropic loss with its per-sample log-scale state `ν`.
#[derive(Debug, Clone)]
pub struct EntLossClassification {
    /// Settings.
    pub config: EntConfig,
    /// SOX's current γ (set by [`EntLossClassification::adjust_gamma`]).
    pub gamma: f64,
    nu: StateTable,
}

impl EntLossClassification {
    /// A loss with `ν = 0` (unvisited) on `device`.
    pub fn new(config: EntConfig, device: &Device) -> Self {
        EntLossClassification {
            config,
            gamma: config.gamma,
            nu: StateTable::new(config.data_size, 0.0, device),
        }
    }

    /// The state `ν` per sample.
    pub fn state(&self) -> Vec<f32> {
        self.nu.to_vec()
    }

    /// SOX's cosine schedule `γ = ½(1−γ₀)(1 + cos(π·epoch/max_epoch)) + γ₀` (no-op for SCENT).
    pub fn adjust_gamma(&mut self, epoch: usize, max_epoch: usize) {
        if self.config.estimator == EntEstimator::Sox && max_epoch > 0 {
            let g0 = self.config.gamma;
            let t = std::f64::consts::PI * epoch as f64 / max_epoch as f64;
            self.gamma = 0.5 * (1.0 - g0) * (1.0 + t.cos()) + g0;
        }
    }

    /// Updates `ν` of the batch's samples `ids` from `logits` `[B, K]` (own class at −∞) and
    /// returns the surrogate.
    pub fn forward(&mut self, logits: Tensor<2>, ids: &[usize]) -> Result<Tensor<1>> {
        let [b, k] = logits.dims();
        if ids.len() != b {
            return Err(XriskError::LengthMismatch {
                scores: b,
                labels: b,
                ids: ids.len(),
            });
        }
        if k < 2 {
            return Err(XriskError::InvalidConfig {
                name: "logits",
                value: k as f64,
                reason: "the entropic loss needs at least 2 classes per row (it averages over K − 1)",
            });
        }
        // NaN or +∞ (the masked own class is −∞), in one host sync.
        let bad = logits
            .clone()
            .is_nan()
            .bool_or(logits.clone().equal_elem(f32::INFINITY));
        if bad.any().into_scalar::<bool>() {
            return Err(XriskError::NonFinite {
                loss: "EntLossClassification",
            });
        }
        self.nu.check_ids(ids)?;
        let device = logits.device();
        let c = self.config;
        let denom = (k - 1) as f64;
        let nu = self.nu.get(ids).to_device(&device);
        // ln m = logsumexp(ℓ) − ln(K−1), computed stably (LibAUC forms m = Σ e^ℓ/(K−1) in
        // f32, which overflows once a logit passes ~88).
        let z = logits.clone().detach();
        let top = z.clone().max_dim(1);
        let ln_m =
            ((z - top.clone()).exp().sum_dim(1).log() + top).squeeze_dim::<1>(1) - denom.ln();
        let updated = match c.estimator {
            EntEstimator::Scent => {
                // ν + ln(1 + e^α·m·e^{ν(c−1)}) − ln(1 + e^α·e^{ν·c}), with stable softplus.
                let up = softplus(ln_m.clone() + nu.clone() * (c.alpha_multiplier - 1.0) + c.alpha);
                let down = softplus(nu.clone() * c.alpha_multiplier + c.alpha);
                nu.clone() + up - down
            }
            EntEstimator::Sox => {
                let bb = nu.clone() + (1.0 - self.gamma).ln();
                let w = ln_m.clone() + self.gamma.ln();
                let hi = bb.clone().max_pair(w.clone());
                let gap = (bb - w).abs();
                hi - burn::tensor::activation::sigmoid(gap).log()
            }
        };
        // Never-visited entries (exactly 0) start at ln m.
        let unvisited = nu.equal_elem(0.0);
        let new_nu = updated.mask_where(unvisited, ln_m);
        self.nu.set(ids, new_nu.clone());
        let shifted = logits - new_nu.unsqueeze_dim::<2>(1);
        Ok(shifted.exp().sum_dim(1).squeeze_dim::<1>(1).mean() / denom)
    }
}

/// `ln(1 + e^x)` without overflow: `max(x, 0) + ln(1 + e^{−|x|})`.
fn softplus(x: Tensor<1>) -> Tensor<1> {
    x.clone().clamp_min(0.0) + (x.abs().neg().exp() + 1.0).log()
}

crate::persist::persist_fields!(EntLossClassification; tables: nu; scalars: gamma);

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn logits(v: &[f32], k: usize, d: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len() / k, k]), d)
    }

    /// First call: ν = ln m, and the surrogate is exactly 1 per row (Σ e^ℓ / (K−1) / m).
    #[test]
    fn first_visit_starts_at_ln_m_and_the_surrogate_is_one() {
        let d = Device::flex();
        let mut l = EntLossClassification::new(EntConfig::new(3), &d);
        let inf = f32::NEG_INFINITY;
        let v = l
            .forward(logits(&[inf, 0.5, -1.0, 0.2, inf, 0.3], 3, &d), &[2, 0])
            .unwrap()
            .into_scalar::<f32>();
        assert!((v - 1.0).abs() < 1e-6, "{v}");
        let nu = l.state();
        let m0 = ((0.5f64).exp() + (-1.0f64).exp()) / 2.0;
        assert!((f64::from(nu[2]) - m0.ln()).abs() < 1e-6);
        assert_eq!(nu[1], 0.0);
    }

    #[test]
    fn sox_gamma_schedule_runs_from_one_to_gamma0() {
        let d = Device::flex();
        let mut l = EntLossClassification::new(
            EntConfig {
                estimator: EntEstimator::Sox,
                ..EntConfig::new(1)
            },
            &d,
        );
        l.adjust_gamma(0, 10);
        assert!((l.gamma - 1.0).abs() < 1e-12);
        l.adjust_gamma(10, 10);
        assert!((l.gamma - 0.9).abs() < 1e-12);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let d = Device::flex();
        let mut l = EntLossClassification::new(EntConfig::new(2), &d);
        assert!(l.forward(logits(&[0.1, 0.2], 2, &d), &[0, 1]).is_err());
        assert!(l.forward(logits(&[0.1, 0.2], 1, &d), &[0, 1]).is_err());
        assert!(l.forward(logits(&[0.1, f32::NAN], 2, &d), &[0]).is_err());
        assert!(l.forward(logits(&[0.1, 0.2], 2, &d), &[5]).is_err());
    }
}
