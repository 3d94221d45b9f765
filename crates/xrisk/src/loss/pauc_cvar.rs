//! `PAucCvarLoss` — one-way partial AUC (FPR ≤ β) through CVaR, optimized by SOPA
//! (spec `libauc_spec.md` §2.6).
//!
//! Objective: `(1/n+) Σ_i [ s_i + (1/(β n−)) Σ_j (L_ij − s_i)_+ ]`, `L_ij = ℓ(m, h_i − h_j)`
//! over positives `i` and negatives `j`; `s_i` tracks the (1−β)-quantile of positive `i`'s
//! pair losses. State: `s`, one threshold per sample id (0 at start), moved by the
//! subgradient step `s_i ← s_i − η(1 − Σ_j q_ij/(β n−))` with `q_ij = 1[L_ij > s_i]` (old
//! `s`). Returned scalar: `mean_ij(q_ij·L_ij)/β`.

use super::{Pairs, pairs};
use crate::error::Result;
use crate::state::StateTable;
use crate::surrogate::Surrogate;
use burn::tensor::{Device, Tensor};

/// Settings of [`PAucCvarLoss`] (LibAUC 2.0.1 defaults).
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
}

/// SOPA's CVaR partial-AUC loss with its thresholds.
#[derive(Debug, Clone)]
pub struct PAucCvarLoss {
    /// Settings.
    pub config: PAucCvarConfig,
    s: StateTable,
}

impl PAucCvarLoss {
    /// A loss with zero thresholds on `device`.
    pub fn new(config: PAucCvarConfig, device: &Device) -> Self {
        PAucCvarLoss {
            config,
            s: StateTable::new(config.data_len, 0.0, device),
        }
    }

    /// The thresholds `s` per sample id.
    pub fn state(&self) -> Vec<f32> {
        self.s.to_vec()
    }

    /// Steps the thresholds of the batch's positives and returns SOPA's surrogate.
    pub fn forward(&mut self, h: Tensor<1>, labels: &[f32], ids: &[usize]) -> Result<Tensor<1>> {
        let Pairs { l, pos_ids, n_neg } = pairs(
            "PAucCvarLoss",
            h,
            labels,
            Some((ids, &self.s)),
            self.config.surrogate,
            self.config.margin,
        )?;
        let device = l.device();
        let old = self.s.get(&pos_ids);
        let state_dev = old.device();
        let q = l
            .clone()
            .detach()
            .greater(old.clone().to_device(&device).unsqueeze_dim::<2>(1))
            .float();
        let (beta, n_neg) = (self.config.beta, n_neg as f64);
        let frac = q.clone().sum_dim(1).squeeze_dim::<1>(1) / (beta * n_neg);
        self.s.set(
            &pos_ids,
            old - (frac.to_device(&state_dev).neg() + 1.0) * self.config.eta,
        );
        Ok((q * l).mean() / beta)
    }
}

crate::persist::persist_fields!(PAucCvarLoss; tables: s; scalars: );
