//! SOPA-s — one-way partial AUC through KL-DRO (`pAUC_DRO_Loss`, spec `libauc_spec.md` §2.7).
//!
//! Objective: `(1/n+) Σ_i λ·log((1/n−) Σ_j exp(L_ij/λ))`, `L_ij = ℓ(m, h_i − h_j)` over
//! positives `i` and negatives `j`.
//!
//! State: `u_i ≈ mean_j exp(L_ij/λ)`, one entry per sample id (0 at the start), a moving
//! average with weight `γ` on the batch estimate. For `P` positives and `N` negatives:
//!
//! ```text
//! u_i  ← (1−γ)·u_i + γ·mean_j exp(L_ij/λ)
//! p_ij = exp(L_ij/λ) / u_i                    (constant)
//! value = mean_ij p_ij·L_ij,   ∂value/∂h = Σ p_ij·∂L_ij/∂h / (P·N)
//! ```
//!
//! Duplicate ids: every occurrence updates from the old entry, the last is kept and read back
//! by all. Cost: two passes over the `P × N` pairs (one `exp` each).

use crate::check;
use crate::error::Result;
use crate::pairs::PairBatch;
use crate::par::rows_cols;
use crate::simd::{exp, row_sums, row_sums_col};
use crate::surrogate::{Surr, Surrogate};
use crate::with_surrogate;

/// Settings of the one-way KL-DRO pAUC loss (LibAUC defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PAucDroConfig {
    /// Number of samples (ids must be below it).
    pub data_len: usize,
    /// Moving-average weight on the batch estimate (default 0.9).
    pub gamma: f64,
    /// Surrogate margin (default 1.0).
    pub margin: f64,
    /// KL-DRO temperature λ (default 1.0).
    pub lambda: f64,
    /// Surrogate (default squared hinge).
    pub surrogate: Surrogate,
}

impl PAucDroConfig {
    /// Defaults for a data set of `data_len` samples.
    pub fn new(data_len: usize) -> Self {
        PAucDroConfig {
            data_len,
            gamma: 0.9,
            margin: 1.0,
            lambda: 1.0,
            surrogate: Surrogate::SquaredHinge,
        }
    }

    /// Checks the settings: `0 < gamma ≤ 1`, `lambda > 0`, a finite margin.
    pub fn validate(&self) -> Result<()> {
        check::in_range(
            "gamma",
            self.gamma,
            f64::MIN_POSITIVE,
            1.0,
            "must be in (0, 1]",
        )?;
        check::positive("lambda", self.lambda, "the KL-DRO temperature must be > 0")?;
        check::finite_setting("margin", self.margin)
    }
}

/// The SOPA-s kernel with its state table.
#[derive(Debug, Clone)]
pub struct PAucDroKernel {
    config: PAucDroConfig,
    u: Vec<f32>,
    batch: PairBatch,
    rows: Vec<Row>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Row {
    u: f64,
    inv_u: f32,
    grad: f64,
    value: f64,
}

impl PAucDroKernel {
    /// A kernel with zeroed state; errors on a bad setting or a table that cannot be allocated.
    pub fn new(config: PAucDroConfig) -> Result<Self> {
        config.validate()?;
        Ok(PAucDroKernel {
            config,
            u: check::table("data_len", config.data_len, 0.0)?,
            batch: PairBatch::default(),
            rows: Vec::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &PAucDroConfig {
        &self.config
    }

    /// `u` per sample id.
    pub fn u(&self) -> &[f32] {
        &self.u
    }

    /// Replaces the state (a checkpoint).
    pub fn load_state(&mut self, u: &[f32]) -> Result<()> {
        check::load("u", &mut self.u, u)
    }

    /// One SOPA-s step on a batch of scores, 0/1 labels (both classes) and sample ids: updates
    /// the positives' state, writes `∂value/∂scores` into `grad`, returns the value.
    pub fn forward(
        &mut self,
        scores: &[f32],
        labels: &[f32],
        ids: &[usize],
        grad: &mut [f32],
    ) -> Result<f64> {
        let c = self.config;
        let b = &mut self.batch;
        b.prepare(
            "PAucDroLoss",
            scores,
            labels,
            Some((ids, c.data_len)),
            grad.len(),
        )?;
        let (p, n) = (b.hp.len(), b.hn.len());
        self.rows.clear();
        self.rows.resize(p, Row::default());
        let inv_lambda = (1.0 / c.lambda) as f32;
        let (hp, hn) = (&b.hp, &b.hn);
        with_surrogate!(c.surrogate, c.margin, |f| {
            rows_cols(&mut self.rows, n, &mut b.par, &mut b.cols, |k, r, _| {
                let hk = hp[k];
                let [e] = row_sums(
                    hn,
                    hn,
                    #[inline(always)]
                    |hj, _| [exp(f.value(hk - hj) * inv_lambda)],
                );
                r.u = e / n as f64;
            });
            let g = c.gamma;
            for (r, &id) in self.rows.iter_mut().zip(&b.pos_ids) {
                r.u = (1.0 - g) * f64::from(self.u[id]) + g * r.u;
            }
            for (r, &id) in self.rows.iter().zip(&b.pos_ids) {
                self.u[id] = r.u as f32;
            }
            for (r, &id) in self.rows.iter_mut().zip(&b.pos_ids) {
                r.inv_u = (1.0 / f64::from(self.u[id])) as f32;
            }
            rows_cols(&mut self.rows, n, &mut b.par, &mut b.cols, |k, r, col| {
                let (hk, inv_u) = (hp[k], r.inv_u);
                let [gi, v] = row_sums_col(
                    hn,
                    hn,
                    col,
                    #[inline(always)]
                    |hj, _| {
                        let (l, dl) = f.both(hk - hj);
                        let w = exp(l * inv_lambda) * inv_u;
                        ([w * dl, w * l], w * dl)
                    },
                );
                r.grad = gi;
                r.value = v;
            });
        });
        let norm = 1.0 / (p * n) as f64;
        b.scatter(self.rows.iter().map(|r| r.grad), norm, grad);
        Ok(self.rows.iter().map(|r| r.value).sum::<f64>() * norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_appendix_a_first_call() {
        let mut k = PAucDroKernel::new(PAucDroConfig::new(8)).unwrap();
        let s = [0.8, 0.3, 0.6, 0.4, 0.5, 0.2, 0.7, 0.35];
        let y = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let mut g = [0.0f32; 8];
        let v = k
            .forward(&s, &y, &(0..8).collect::<Vec<_>>(), &mut g)
            .unwrap();
        assert!((v - 1.126098).abs() < 1e-5, "{v}");
        assert!(g.iter().all(|x| x.is_finite()));
        assert!(
            PAucDroKernel::new(PAucDroConfig {
                lambda: 0.0,
                ..PAucDroConfig::new(8)
            })
            .is_err()
        );
    }
}
