//! SOTA-s — two-way partial AUC through a double KL-DRO (`tpAUC_KL_Loss`, spec
//! `libauc_spec.md` §2.8).
//!
//! Objective: `τ·log E_{i∈S+}[(E_{j∈S−} exp(L_ij/λ))^{λ/τ}]`, `L_ij = ℓ(m, h_i − h_j)`.
//!
//! State: `u_i ≈ E_j exp(L_ij/λ)` per sample id (EMA with γ0, 0 at the start) and one scalar
//! `w ≈ E_i u_i^{λ/τ}` (EMA with γ1, 0 at the start):
//!
//! ```text
//! u_i  ← (1−γ0)·u_i + γ0·mean_j exp(L_ij/λ)
//! w    ← (1−γ1)·w + γ1·mean_{batch positives} u_i^{λ/τ}
//! p_ij = u_i^{λ/τ−1}·exp(L_ij/λ)/w            (constant)
//! value = mean_ij p_ij·L_ij
//! ```
//!
//! Duplicate ids: as SOPA-s (last occurrence kept, read back by all; the mean for `w` counts
//! every occurrence). Cost: two passes over the `P × N` pairs.

use crate::check;
use crate::error::Result;
use crate::pairs::PairBatch;
use crate::par::rows_cols;
use crate::simd::{exp, row_sums, row_sums_col};
use crate::surrogate::{Surr, Surrogate};
use crate::with_surrogate;

/// Settings of the two-way KL-DRO loss (LibAUC defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TpAucKlConfig {
    /// Number of samples (ids must be below it).
    pub data_len: usize,
    /// Outer (positives) temperature τ (default 1.0).
    pub tau: f64,
    /// Inner (negatives) temperature λ (default 1.0).
    pub lambda: f64,
    /// EMA weights (γ0 for `u`, γ1 for `w`), default (0.9, 0.9).
    pub gammas: (f64, f64),
    /// Surrogate margin (default 1.0).
    pub margin: f64,
    /// Surrogate (default squared hinge).
    pub surrogate: Surrogate,
}

impl TpAucKlConfig {
    /// Defaults for a data set of `data_len` samples.
    pub fn new(data_len: usize) -> Self {
        TpAucKlConfig {
            data_len,
            tau: 1.0,
            lambda: 1.0,
            gammas: (0.9, 0.9),
            margin: 1.0,
            surrogate: Surrogate::SquaredHinge,
        }
    }

    /// Checks the settings: both γ in `(0, 1]`, `tau > 0`, `lambda > 0`, a finite margin.
    pub fn validate(&self) -> Result<()> {
        let why = "must be in (0, 1]";
        check::in_range("gammas.0", self.gammas.0, f64::MIN_POSITIVE, 1.0, why)?;
        check::in_range("gammas.1", self.gammas.1, f64::MIN_POSITIVE, 1.0, why)?;
        check::positive("tau", self.tau, "the outer temperature must be > 0")?;
        check::positive("lambda", self.lambda, "the inner temperature must be > 0")?;
        check::finite_setting("margin", self.margin)
    }
}

/// The SOTA-s kernel with its state.
#[derive(Debug, Clone)]
pub struct TpAucKlKernel {
    config: TpAucKlConfig,
    u: Vec<f32>,
    w: f64,
    batch: PairBatch,
    rows: Vec<Row>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Row {
    u: f64,
    coef: f32,
    grad: f64,
    value: f64,
}

impl TpAucKlKernel {
    /// A kernel with zero state; errors on a bad setting or a table that cannot be allocated.
    pub fn new(config: TpAucKlConfig) -> Result<Self> {
        config.validate()?;
        Ok(TpAucKlKernel {
            config,
            u: check::table("data_len", config.data_len, 0.0)?,
            w: 0.0,
            batch: PairBatch::default(),
            rows: Vec::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &TpAucKlConfig {
        &self.config
    }

    /// `u` per sample id.
    pub fn u(&self) -> &[f32] {
        &self.u
    }

    /// The scalar `w`.
    pub fn w(&self) -> f64 {
        self.w
    }

    /// Replaces the state (a checkpoint).
    pub fn load_state(&mut self, u: &[f32], w: f64) -> Result<()> {
        check::load("u", &mut self.u, u)?;
        self.w = w;
        Ok(())
    }

    /// One SOTA-s step: updates `u` and `w`, writes `∂value/∂scores` into `grad`, returns the
    /// value.
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
            "TpAucKlLoss",
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
            let (g0, g1) = c.gammas;
            for (r, &id) in self.rows.iter_mut().zip(&b.pos_ids) {
                r.u = (1.0 - g0) * f64::from(self.u[id]) + g0 * r.u;
            }
            for (r, &id) in self.rows.iter().zip(&b.pos_ids) {
                self.u[id] = r.u as f32;
            }
            let ratio = c.lambda / c.tau;
            let mean_pow = b
                .pos_ids
                .iter()
                .map(|&id| f64::from(self.u[id]).powf(ratio))
                .sum::<f64>()
                / p as f64;
            self.w = (1.0 - g1) * self.w + g1 * mean_pow;
            for (r, &id) in self.rows.iter_mut().zip(&b.pos_ids) {
                r.coef = (f64::from(self.u[id]).powf(ratio - 1.0) / self.w) as f32;
            }
            rows_cols(&mut self.rows, n, &mut b.par, &mut b.cols, |k, r, col| {
                let (hk, coef) = (hp[k], r.coef);
                let [gi, v] = row_sums_col(
                    hn,
                    hn,
                    col,
                    #[inline(always)]
                    |hj, _| {
                        let (l, dl) = f.both(hk - hj);
                        let w = exp(l * inv_lambda) * coef;
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
