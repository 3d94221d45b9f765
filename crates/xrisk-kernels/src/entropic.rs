//! The compositional entropic risk for many-class (extreme) classification, with the SCENT or
//! SOX estimator of its inner mean (`EntLossClassification`, spec `libauc_spec.md` §2.17,
//! §3.8).
//!
//! Objective: `(1/n) Σ_i ln Σ_k exp(h(x_i)ᵀ(w_k − w_{y_i}))`. The caller passes, per sample,
//! logits `ℓ_ik = x_iᵀw_k − x_iᵀw_{y_i}` over a sampled class set with the sample's own class
//! masked to −∞ (LibAUC's tutorial: the batch's distinct labels), `B × K` row-major. With
//! `m_i = Σ_k exp(ℓ_ik)/(K−1)` (constant), the log-scale state `ν_i` (0 = never visited) moves by
//! * SCENT: `ν ← ν + ln(1 + e^α·m·e^{ν(c−1)}) − ln(1 + e^α·e^{ν·c})` (`c` = `alpha_multiplier`);
//! * SOX: `ν ← logaddexp(ln(1−γ) + ν, ln γ + ln m)`, the moving average of `e^ν` in log space;
//!
//! an entry that is exactly 0 is set to `ln m` instead. The value is
//! `mean_i Σ_k exp(ℓ_ik − ν_i)/(K−1)`, whose gradient is the compositional estimator. A sample
//! repeated in one batch uses its own row's new `ν`; the table keeps the last. Defaults
//! (LibAUC 2.0.1): α = 10, γ = 0.9, SCENT, `c` = 1. Difference: `ln m` and SCENT's
//! `ln(1 + e^x)` are computed in log space, so large logits do not overflow (LibAUC forms `m`
//! and `e^{α+ν}` directly and turns `ν` into ±∞/NaN once they pass ~e^88). Cost: two passes over
//! the `B × K` logits.

use crate::check;
use crate::error::{KernelError, Result};
use crate::surrogate::softplus;

/// Which inner-mean estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntEstimator {
    /// SCENT's stochastic proximal mirror step (LibAUC's default, `is_scent=True`).
    Scent,
    /// SOX's moving average.
    Sox,
}

/// Settings of the entropic loss (LibAUC 2.0.1 names and defaults).
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

    /// Checks the settings: finite α and `alpha_multiplier`, `0 < gamma ≤ 1`.
    pub fn validate(&self) -> Result<()> {
        check::finite_setting("alpha", self.alpha)?;
        check::finite_setting("alpha_multiplier", self.alpha_multiplier)?;
        check::in_range(
            "gamma",
            self.gamma,
            f64::MIN_POSITIVE,
            1.0,
            "must be in (0, 1]",
        )
    }
}

/// The entropic kernel with its per-sample log-scale state `ν`.
#[derive(Debug, Clone)]
pub struct EntropicKernel {
    config: EntConfig,
    gamma: f64,
    nu: Vec<f32>,
    new: Vec<f64>,
}

impl EntropicKernel {
    /// A kernel with `ν = 0` (unvisited); errors on a bad setting or a table that cannot be
    /// allocated.
    pub fn new(config: EntConfig) -> Result<Self> {
        config.validate()?;
        Ok(EntropicKernel {
            config,
            gamma: config.gamma,
            nu: check::table("data_size", config.data_size, 0.0)?,
            new: Vec::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &EntConfig {
        &self.config
    }

    /// SOX's current γ.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// Sets SOX's current γ (a checkpoint).
    pub fn set_gamma(&mut self, gamma: f64) -> Result<()> {
        check::in_range("gamma", gamma, f64::MIN_POSITIVE, 1.0, "must be in (0, 1]")?;
        self.gamma = gamma;
        Ok(())
    }

    /// `ν` per sample.
    pub fn nu(&self) -> &[f32] {
        &self.nu
    }

    /// Replaces the state (a checkpoint).
    pub fn load_state(&mut self, nu: &[f32]) -> Result<()> {
        check::load("nu", &mut self.nu, nu)
    }

    /// SOX's cosine schedule `γ = ½(1−γ₀)(1 + cos(π·epoch/max_epoch)) + γ₀` (no-op for SCENT).
    pub fn adjust_gamma(&mut self, epoch: usize, max_epoch: usize) {
        if self.config.estimator == EntEstimator::Sox && max_epoch > 0 {
            let g0 = self.config.gamma;
            let t = std::f64::consts::PI * epoch as f64 / max_epoch as f64;
            self.gamma = 0.5 * (1.0 - g0) * (1.0 + t.cos()) + g0;
        }
    }

    /// Updates `ν` of the batch's samples `ids` from `logits` (`B × K` row-major, own class at
    /// −∞) and returns the value; writes `∂value/∂logits` into `grad`.
    pub fn forward(
        &mut self,
        logits: &[f32],
        k: usize,
        ids: &[usize],
        grad: &mut [f32],
    ) -> Result<f64> {
        let b = ids.len();
        if k == 0 || logits.len() != b * k {
            return Err(KernelError::LengthMismatch {
                scores: logits.len(),
                labels: b * k,
                ids: b,
            });
        }
        if k < 2 {
            return Err(KernelError::InvalidConfig {
                name: "logits",
                value: k as f64,
                reason: "the entropic loss needs at least 2 classes per row (it averages over K − 1)",
            });
        }
        check::grad_len("grad", grad.len(), logits.len())?;
        if logits.iter().any(|x| x.is_nan() || *x == f32::INFINITY) {
            return Err(KernelError::NonFinite {
                loss: "EntLossClassification",
            });
        }
        check::ids(ids, self.config.data_size)?;
        let c = self.config;
        let denom = (k - 1) as f64;
        self.new.clear();
        for (row, &id) in logits.chunks(k).zip(ids) {
            let top = row
                .iter()
                .fold(f64::NEG_INFINITY, |m, &x| m.max(f64::from(x)));
            if top == f64::NEG_INFINITY {
                return Err(KernelError::InvalidConfig {
                    name: "logits",
                    value: top,
                    reason: "every row needs a finite logit besides its own masked class",
                });
            }
            let s: f64 = row.iter().map(|&x| (f64::from(x) - top).exp()).sum();
            let ln_m = s.ln() + top - denom.ln();
            let nu = f64::from(self.nu[id]);
            let updated = if nu == 0.0 {
                ln_m
            } else {
                match c.estimator {
                    EntEstimator::Scent => {
                        let up = softplus(ln_m + nu * (c.alpha_multiplier - 1.0) + c.alpha);
                        let down = softplus(nu * c.alpha_multiplier + c.alpha);
                        nu + up - down
                    }
                    EntEstimator::Sox => {
                        let bb = nu + (1.0 - self.gamma).ln();
                        let w = ln_m + self.gamma.ln();
                        let hi = bb.max(w);
                        hi + softplus(-(bb - w).abs())
                    }
                }
            };
            self.new.push(updated);
        }
        for (&id, &v) in ids.iter().zip(&self.new) {
            self.nu[id] = v as f32;
        }
        let mut value = 0.0;
        let scale = 1.0 / (denom * b as f64);
        for ((row, g), &nu) in logits.chunks(k).zip(grad.chunks_mut(k)).zip(&self.new) {
            for (&x, gk) in row.iter().zip(g) {
                let e = (f64::from(x) - nu).exp();
                value += e;
                *gk = (e * scale) as f32;
            }
        }
        Ok(value * scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// First call: ν = ln m, and the value is exactly 1 per row (Σ e^ℓ / (K−1) / m).
    #[test]
    fn first_visit_starts_at_ln_m_and_the_value_is_one() {
        let mut k = EntropicKernel::new(EntConfig::new(3)).unwrap();
        let inf = f32::NEG_INFINITY;
        let mut g = [0.0f32; 6];
        let v = k
            .forward(&[inf, 0.5, -1.0, 0.2, inf, 0.3], 3, &[2, 0], &mut g)
            .unwrap();
        assert!((v - 1.0).abs() < 1e-12, "{v}");
        let m0 = ((0.5f64).exp() + (-1.0f64).exp()) / 2.0;
        assert!((f64::from(k.nu()[2]) - m0.ln()).abs() < 1e-6);
        assert_eq!(k.nu()[1], 0.0);
        assert_eq!(g[0], 0.0, "the masked class gets no gradient");
    }

    #[test]
    fn sox_gamma_schedule_runs_from_one_to_gamma0() {
        let mut k = EntropicKernel::new(EntConfig {
            estimator: EntEstimator::Sox,
            ..EntConfig::new(1)
        })
        .unwrap();
        k.adjust_gamma(0, 10);
        assert!((k.gamma() - 1.0).abs() < 1e-12);
        k.adjust_gamma(10, 10);
        assert!((k.gamma() - 0.9).abs() < 1e-12);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let mut k = EntropicKernel::new(EntConfig::new(2)).unwrap();
        let mut g = [0.0f32; 2];
        assert!(k.forward(&[0.1, 0.2], 2, &[0, 1], &mut g).is_err());
        assert!(k.forward(&[0.1, 0.2], 1, &[0, 1], &mut g).is_err());
        assert!(k.forward(&[0.1, f32::NAN], 2, &[0], &mut g).is_err());
        assert!(k.forward(&[0.1, 0.2], 2, &[5], &mut g).is_err());
        let inf = f32::NEG_INFINITY;
        assert!(k.forward(&[inf, inf], 2, &[0], &mut g).is_err());
    }
}
