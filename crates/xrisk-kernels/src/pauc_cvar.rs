//! SOPA — one-way partial AUC (FPR ≤ β) through CVaR (`pAUC_CVaR_Loss`, spec
//! `libauc_spec.md` §2.6).
//!
//! Objective: `(1/n+) Σ_i [ s_i + (1/(β n−)) Σ_j (L_ij − s_i)_+ ]`, `L_ij = ℓ(m, h_i − h_j)`;
//! `s_i` tracks the (1−β)-quantile of positive `i`'s pair losses.
//!
//! State: `s`, one threshold per sample id (0 at the start). For `P` positives, `N` negatives:
//!
//! ```text
//! q_ij  = 1[L_ij > s_i]                      (the old s)
//! s_i  ← s_i − η·(1 − Σ_j q_ij/(β·N))
//! value = mean_ij(q_ij·L_ij)/β,   ∂value/∂h = Σ q_ij·∂L_ij/∂h / (β·P·N)
//! ```
//!
//! Duplicate ids: every occurrence steps from the old threshold, the last is kept. Cost: one
//! pass over the `P × N` pairs.

use crate::check;
use crate::error::Result;
use crate::pairs::PairBatch;
use crate::par::rows_cols;
use crate::simd::row_sums_col;
use crate::surrogate::{Surr, Surrogate};
use crate::with_surrogate;

/// Settings of the CVaR pAUC loss (LibAUC 2.0.1 defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PAucCvarConfig {
    /// Number of samples (ids must be below it).
    pub data_len: usize,
    /// FPR bound β (default 0.2).
    pub beta: f64,
    /// Step size η of the thresholds (default 0.1).
    pub eta: f64,
    /// Surrogate margin (default 1.0).
    pub margin: f64,
    /// Surrogate (default squared hinge).
    pub surrogate: Surrogate,
}

impl PAucCvarConfig {
    /// Defaults for a data set of `data_len` samples.
    pub fn new(data_len: usize) -> Self {
        PAucCvarConfig {
            data_len,
            beta: 0.2,
            eta: 0.1,
            margin: 1.0,
            surrogate: Surrogate::SquaredHinge,
        }
    }

    /// Checks the settings: `0 < beta ≤ 1`, `eta ≥ 0`, a finite margin.
    pub fn validate(&self) -> Result<()> {
        check::in_range(
            "beta",
            self.beta,
            f64::MIN_POSITIVE,
            1.0,
            "the FPR bound must be in (0, 1]",
        )?;
        check::in_range(
            "eta",
            self.eta,
            0.0,
            f64::MAX,
            "the threshold step must be ≥ 0",
        )?;
        check::finite_setting("margin", self.margin)
    }
}

/// The SOPA kernel with its thresholds.
#[derive(Debug, Clone)]
pub struct PAucCvarKernel {
    config: PAucCvarConfig,
    s: Vec<f32>,
    batch: PairBatch,
    rows: Vec<Row>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Row {
    s: f32,
    count: f64,
    grad: f64,
    value: f64,
}

impl PAucCvarKernel {
    /// A kernel with zero thresholds; errors on a bad setting or a table that cannot be
    /// allocated.
    pub fn new(config: PAucCvarConfig) -> Result<Self> {
        config.validate()?;
        Ok(PAucCvarKernel {
            config,
            s: check::table("data_len", config.data_len, 0.0)?,
            batch: PairBatch::default(),
            rows: Vec::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &PAucCvarConfig {
        &self.config
    }

    /// The thresholds `s` per sample id.
    pub fn s(&self) -> &[f32] {
        &self.s
    }

    /// Replaces the state (a checkpoint).
    pub fn load_state(&mut self, s: &[f32]) -> Result<()> {
        check::load("s", &mut self.s, s)
    }

    /// One SOPA step: steps the positives' thresholds, writes `∂value/∂scores` into `grad`,
    /// returns the value.
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
            "PAucCvarLoss",
            scores,
            labels,
            Some((ids, c.data_len)),
            grad.len(),
        )?;
        let (p, n) = (b.hp.len(), b.hn.len());
        self.rows.clear();
        self.rows.extend(b.pos_ids.iter().map(|&id| Row {
            s: self.s[id],
            ..Row::default()
        }));
        let (hp, hn) = (&b.hp, &b.hn);
        with_surrogate!(c.surrogate, c.margin, |f| {
            rows_cols(&mut self.rows, n, &mut b.par, &mut b.cols, |k, r, col| {
                let (hk, s) = (hp[k], r.s);
                let [count, gi, v] = row_sums_col(
                    hn,
                    hn,
                    col,
                    #[inline(always)]
                    |hj, _| {
                        let (l, dl) = f.both(hk - hj);
                        // The pairs above the threshold; the others contribute zeros.
                        let (on, dl, l) = if l > s { (1.0, dl, l) } else { (0.0, 0.0, 0.0) };
                        ([on, dl, l], dl)
                    },
                );
                r.count = count;
                r.grad = gi;
                r.value = v;
            });
        });
        for (r, &id) in self.rows.iter().zip(&b.pos_ids) {
            let frac = r.count / (c.beta * n as f64);
            self.s[id] = (f64::from(r.s) - c.eta * (1.0 - frac)) as f32;
        }
        let norm = 1.0 / (c.beta * (p * n) as f64);
        b.scatter(self.rows.iter().map(|r| r.grad), norm, grad);
        Ok(self.rows.iter().map(|r| r.value).sum::<f64>() * norm)
    }
}
