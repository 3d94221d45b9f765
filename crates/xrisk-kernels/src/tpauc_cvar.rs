//! STACO — exact two-way partial AUC through a double CVaR (`tpAUC_CVaR_loss`, spec
//! `libauc_spec.md` §2.9).
//!
//! Objective: `min_{w,s',s} (1/n+) Σ_i f(g_i(w, s_i), s')`, `f(g, s') = s' + (g − s')_+/θ0`,
//! `g_i = (1/n−) Σ_j [s_i + (L_ij − s_i)_+/θ1]`, solved as a min-max with duals `y_i ∈ [0, 1]`.
//!
//! State per sample id: `u` (1 at the start; overwritten by the batch's `g_i`), `s1` (0), the
//! dual `y` (1); one scalar `s2` (0). Each call, with the old `s1`:
//!
//! ```text
//! q_ij  = 1[L_ij > s1_i]
//! t_i   = mean_j(L_ij·q_ij/θ1)/θ0                         (carries the gradient)
//! u_i   = mean_j(s1_i + (L_ij − s1_i)_+/θ1)
//! y_i  ← clip(y_i + α·(u_i − s2)/θ0, 0, 1)
//! value = mean_i y_i·t_i
//! s1_i ← s1_i − β0·(y_i/θ0)·(1 − mean_j q_ij/θ1);   s2 ← s2 − β1·(1 − mean_i y_i/θ0)
//! ```
//!
//! Duplicate ids: `u` and `y` are written with the last occurrence kept and read back by every
//! occurrence. Cost: two passes over the `P × N` pairs.

use crate::check;
use crate::error::Result;
use crate::pairs::PairBatch;
use crate::par::rows_cols;
use crate::simd::{row_sums, row_sums_col};
use crate::surrogate::{Surr, Surrogate};
use crate::with_surrogate;

/// Settings of the two-way CVaR loss (LibAUC 2.0 defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TpAucCvarConfig {
    /// Number of samples (ids must be below it).
    pub data_len: usize,
    /// Surrogate margin (LibAUC's `threshold`, default 0.5).
    pub margin: f64,
    /// Dual step size α (default 0.1).
    pub alpha: f64,
    /// Step size of the per-positive thresholds `s1` (default 0.1).
    pub beta_0: f64,
    /// Step size of the positive threshold `s2` (default 0.1).
    pub beta_1: f64,
    /// TPR rate parameter θ0 (default 0.5).
    pub theta_0: f64,
    /// FPR rate parameter θ1 (default 0.5).
    pub theta_1: f64,
    /// Surrogate (default squared hinge).
    pub surrogate: Surrogate,
}

impl TpAucCvarConfig {
    /// Defaults for a data set of `data_len` samples.
    pub fn new(data_len: usize) -> Self {
        TpAucCvarConfig {
            data_len,
            margin: 0.5,
            alpha: 0.1,
            beta_0: 0.1,
            beta_1: 0.1,
            theta_0: 0.5,
            theta_1: 0.5,
            surrogate: Surrogate::SquaredHinge,
        }
    }

    /// Checks the settings: step sizes ≥ 0, `0 < theta_0, theta_1 ≤ 1`, a finite margin.
    pub fn validate(&self) -> Result<()> {
        let step = "step sizes must be ≥ 0";
        check::in_range("alpha", self.alpha, 0.0, f64::MAX, step)?;
        check::in_range("beta_0", self.beta_0, 0.0, f64::MAX, step)?;
        check::in_range("beta_1", self.beta_1, 0.0, f64::MAX, step)?;
        let rate = "must be in (0, 1]";
        check::in_range("theta_0", self.theta_0, f64::MIN_POSITIVE, 1.0, rate)?;
        check::in_range("theta_1", self.theta_1, f64::MIN_POSITIVE, 1.0, rate)?;
        check::finite_setting("margin", self.margin)
    }
}

/// The STACO kernel with its state.
#[derive(Debug, Clone)]
pub struct TpAucCvarKernel {
    config: TpAucCvarConfig,
    u: Vec<f32>,
    s1: Vec<f32>,
    y: Vec<f32>,
    s2: f64,
    batch: PairBatch,
    rows: Vec<Row>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Row {
    s1: f32,
    u: f64,
    t: f64,
    count: f64,
    y: f32,
    grad: f64,
}

impl TpAucCvarKernel {
    /// A kernel with LibAUC's initial state; errors on a bad setting or a table that cannot be
    /// allocated.
    pub fn new(config: TpAucCvarConfig) -> Result<Self> {
        config.validate()?;
        let n = config.data_len;
        Ok(TpAucCvarKernel {
            config,
            u: check::table("data_len", n, 1.0)?,
            s1: check::table("data_len", n, 0.0)?,
            y: check::table("data_len", n, 1.0)?,
            s2: 0.0,
            batch: PairBatch::default(),
            rows: Vec::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &TpAucCvarConfig {
        &self.config
    }

    /// Changes the threshold step sizes (STACO divides them at every learning-rate decay).
    pub fn set_steps(&mut self, beta_0: f64, beta_1: f64) -> Result<()> {
        let c = TpAucCvarConfig {
            beta_0,
            beta_1,
            ..self.config
        };
        c.validate()?;
        self.config = c;
        Ok(())
    }

    /// `u` per sample id.
    pub fn u(&self) -> &[f32] {
        &self.u
    }

    /// `s1` per sample id.
    pub fn s1(&self) -> &[f32] {
        &self.s1
    }

    /// The duals `y` per sample id.
    pub fn y(&self) -> &[f32] {
        &self.y
    }

    /// The positive threshold `s2`.
    pub fn s2(&self) -> f64 {
        self.s2
    }

    /// Replaces the state (a checkpoint).
    pub fn load_state(&mut self, u: &[f32], s1: &[f32], y: &[f32], s2: f64) -> Result<()> {
        check::load("u", &mut self.u, u)?;
        check::load("s1", &mut self.s1, s1)?;
        check::load("y", &mut self.y, y)?;
        self.s2 = s2;
        Ok(())
    }

    /// One STACO step: updates the state, writes `∂value/∂scores` into `grad`, returns the
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
            "TpAucCvarLoss",
            scores,
            labels,
            Some((ids, c.data_len)),
            grad.len(),
        )?;
        let (p, n) = (b.hp.len(), b.hn.len());
        self.rows.clear();
        self.rows.extend(b.pos_ids.iter().map(|&id| Row {
            s1: self.s1[id],
            ..Row::default()
        }));
        let (hp, hn) = (&b.hp, &b.hn);
        let inv_theta1 = 1.0 / c.theta_1;
        with_surrogate!(c.surrogate, c.margin, |f| {
            rows_cols(&mut self.rows, n, &mut b.par, &mut b.cols, |k, r, _| {
                let (hk, s1) = (hp[k], r.s1);
                let [count, lq, excess] = row_sums(
                    hn,
                    hn,
                    #[inline(always)]
                    |hj, _| {
                        let l = f.value(hk - hj);
                        if l > s1 { [1.0, l, l - s1] } else { [0.0; 3] }
                    },
                );
                r.count = count;
                r.t = lq * inv_theta1 / n as f64 / c.theta_0;
                r.u = f64::from(r.s1) + excess * inv_theta1 / n as f64;
            });
        });
        for (r, &id) in self.rows.iter().zip(&b.pos_ids) {
            self.u[id] = r.u as f32;
        }
        for (r, &id) in self.rows.iter_mut().zip(&b.pos_ids) {
            let u = f64::from(self.u[id]);
            r.y = (f64::from(self.y[id]) + (u - self.s2) * (c.alpha / c.theta_0)).clamp(0.0, 1.0)
                as f32;
        }
        for (r, &id) in self.rows.iter().zip(&b.pos_ids) {
            self.y[id] = r.y;
        }
        for (r, &id) in self.rows.iter_mut().zip(&b.pos_ids) {
            r.y = self.y[id];
        }
        with_surrogate!(c.surrogate, c.margin, |f| {
            rows_cols(&mut self.rows, n, &mut b.par, &mut b.cols, |k, r, col| {
                let (hk, s1, yk) = (hp[k], r.s1, r.y);
                let [gi] = row_sums_col(
                    hn,
                    hn,
                    col,
                    #[inline(always)]
                    |hj, _| {
                        let (l, dl) = f.both(hk - hj);
                        let w = if l > s1 { yk * dl } else { 0.0 };
                        ([w], w)
                    },
                );
                r.grad = gi;
            });
        });
        let value = self.rows.iter().map(|r| f64::from(r.y) * r.t).sum::<f64>() / p as f64;
        for (r, &id) in self.rows.iter().zip(&b.pos_ids) {
            let q_mean = r.count / n as f64;
            self.s1[id] = (f64::from(r.s1)
                - f64::from(r.y) / c.theta_0 * (1.0 - q_mean * inv_theta1) * c.beta_0)
                as f32;
        }
        let y_mean = self.rows.iter().map(|r| f64::from(r.y)).sum::<f64>() / p as f64;
        self.s2 -= c.beta_1 * (1.0 - y_mean / c.theta_0);
        let norm = inv_theta1 / (c.theta_0 * (p * n) as f64);
        b.scatter(self.rows.iter().map(|r| r.grad), norm, grad);
        Ok(value)
    }
}
