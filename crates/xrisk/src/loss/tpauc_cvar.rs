//! `TpAucCvarLoss` — exact two-way partial AUC through a double CVaR, optimized by STACO
//! (spec `libauc_spec.md` §2.9).
//!
//! Objective: `min_{w,s',s} (1/n+) Σ_i f(g_i(w, s_i), s')`, `f(g, s') = s' + (g − s')_+/θ0`,
//! `g_i = (1/n−) Σ_j [s_i + (L_ij − s_i)_+/θ1]`, solved as a min-max with duals
//! `y_i ∈ [0, 1]`. State per sample id: `u` (1 at start; overwritten by the batch's `g_i`),
//! `s1` (0), the dual `y` (1); one scalar `s2` (0). Each call:
//! `q_ij = 1[L_ij > s1_i]`, `t_i = mean_j(L_ij·q_ij/θ1)/θ0`, `u_i = g_i`,
//! `y_i ← clip(y_i + α(u_i − s2)/θ0, 0, 1)`, returned `mean_i y_i·t_i`, then
//! `s1_i ← s1_i − β0·(y_i/θ0)(1 − mean_j q_ij/θ1)` and `s2 ← s2 − β1(1 − mean_i y_i/θ0)`.

use super::{Pairs, pairs};
use crate::error::Result;
use crate::state::StateTable;
use crate::surrogate::Surrogate;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// Settings of [`TpAucCvarLoss`] (LibAUC 2.0 defaults).
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
}

/// STACO's two-way partial-AUC loss.
#[derive(Debug, Clone)]
pub struct TpAucCvarLoss {
    /// Settings (STACO divides `beta_0`, `beta_1` at each learning-rate decay).
    pub config: TpAucCvarConfig,
    u: StateTable,
    s1: StateTable,
    y: StateTable,
    s2: f64,
}

/// The state of a [`TpAucCvarLoss`], per sample id.
#[derive(Debug, Clone, PartialEq)]
pub struct TpAucCvarState {
    /// Inner estimates `u`.
    pub u: Vec<f32>,
    /// Per-positive thresholds `s1`.
    pub s1: Vec<f32>,
    /// Duals `y`.
    pub y: Vec<f32>,
    /// Positive threshold `s2`.
    pub s2: f64,
}

impl TpAucCvarLoss {
    /// A loss with LibAUC's initial state on `device`.
    pub fn new(config: TpAucCvarConfig, device: &Device) -> Self {
        TpAucCvarLoss {
            config,
            u: StateTable::new(config.data_len, 1.0, device),
            s1: StateTable::new(config.data_len, 0.0, device),
            y: StateTable::new(config.data_len, 1.0, device),
            s2: 0.0,
        }
    }

    /// The current state.
    pub fn state(&self) -> TpAucCvarState {
        TpAucCvarState {
            u: self.u.to_vec(),
            s1: self.s1.to_vec(),
            y: self.y.to_vec(),
            s2: self.s2,
        }
    }

    /// One STACO step of the state; returns the weighted surrogate.
    pub fn forward(&mut self, h: Tensor<1>, labels: &[f32], ids: &[usize]) -> Result<Tensor<1>> {
        let c = self.config;
        let Pairs { l, pos_ids, .. } = pairs(
            "TpAucCvarLoss",
            h,
            labels,
            Some((ids, &self.u)),
            c.surrogate,
            c.margin,
        )?;
        let device = l.device();
        let ld = l.clone().detach();
        let s1_old = self.s1.get(&pos_ids);
        let state_dev = s1_old.device();
        let s1 = s1_old.clone().to_device(&device).unsqueeze_dim::<2>(1);
        let q = ld.clone().greater(s1.clone()).float();
        let t = (l * q.clone() / c.theta_1).mean_dim(1).squeeze_dim::<1>(1) / c.theta_0;
        let g = (s1.clone() + relu(ld - s1) / c.theta_1)
            .mean_dim(1)
            .squeeze_dim::<1>(1);
        self.u.set(&pos_ids, g);
        let u = self.u.get(&pos_ids);
        let y_new = (self.y.get(&pos_ids) + (u - self.s2) * (c.alpha / c.theta_0)).clamp(0.0, 1.0);
        self.y.set(&pos_ids, y_new);
        let y = self.y.get(&pos_ids);
        let loss = (y.clone().to_device(&device).detach() * t).mean();
        let q_mean = q.mean_dim(1).squeeze_dim::<1>(1).to_device(&state_dev);
        self.s1.set(
            &pos_ids,
            s1_old - y.clone() / c.theta_0 * (q_mean / c.theta_1).neg().add_scalar(1.0) * c.beta_0,
        );
        let y_mean = y.mean().into_scalar::<f32>() as f64;
        self.s2 -= c.beta_1 * (1.0 - y_mean / c.theta_0);
        Ok(loss)
    }
}

crate::persist::persist_fields!(TpAucCvarLoss; tables: u, s1, y; scalars: s2);
