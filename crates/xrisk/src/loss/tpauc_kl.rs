//! `TpAucKlLoss` — two-way partial AUC through a double KL-DRO, optimized by SOTA-s
//! (spec `libauc_spec.md` §2.8).
//!
//! Objective: `τ·log E_{i∈S+}[(E_{j∈S−} exp(L_ij/λ))^{λ/τ}]`. State: `u_i ≈ E_j exp(L_ij/λ)`
//! per sample id (EMA with γ0) and one scalar `w ≈ E_i u_i^{λ/τ}` (EMA with γ1). Returned
//! scalar: `mean_ij p_ij·L_ij` with `p_ij = u_i^{λ/τ−1}·exp(L_ij/λ)/w` (stop-gradient).

use super::{Pairs, pairs};
use crate::error::Result;
use crate::state::StateTable;
use crate::surrogate::Surrogate;
use burn::tensor::{Device, Tensor};

/// Settings of [`TpAucKlLoss`] (LibAUC defaults).
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
}

/// SOTA-s's two-way partial-AUC loss.
#[derive(Debug, Clone)]
pub struct TpAucKlLoss {
    /// Settings.
    pub config: TpAucKlConfig,
    u: StateTable,
    w: f64,
}

impl TpAucKlLoss {
    /// A loss with zero state on `device`.
    pub fn new(config: TpAucKlConfig, device: &Device) -> Self {
        TpAucKlLoss {
            config,
            u: StateTable::new(config.data_len, 0.0, device),
            w: 0.0,
        }
    }

    /// The state: `u` per sample id and the scalar `w`.
    pub fn state(&self) -> (Vec<f32>, f64) {
        (self.u.to_vec(), self.w)
    }

    /// Updates `u` and `w` and returns SOTA-s's surrogate.
    pub fn forward(&mut self, h: Tensor<1>, labels: &[f32], ids: &[usize]) -> Result<Tensor<1>> {
        let c = self.config;
        let Pairs { l, pos_ids, .. } = pairs(
            "TpAucKlLoss",
            h,
            labels,
            Some((ids, &self.u)),
            c.surrogate,
            c.margin,
        )?;
        let device = l.device();
        let e = (l.clone().detach() / c.lambda).exp();
        let old = self.u.get(&pos_ids);
        let state_dev = old.device();
        let (g0, g1) = c.gammas;
        self.u.set(
            &pos_ids,
            old * (1.0 - g0)
                + e.clone()
                    .mean_dim(1)
                    .squeeze_dim::<1>(1)
                    .to_device(&state_dev)
                    * g0,
        );
        let u = self.u.get(&pos_ids).to_device(&device);
        let ratio = c.lambda / c.tau;
        let mean_pow = u.clone().powf_scalar(ratio).mean().into_scalar::<f32>() as f64;
        self.w = (1.0 - g1) * self.w + g1 * mean_pow;
        let p = (u.powf_scalar(ratio - 1.0).unsqueeze_dim::<2>(1) * e / self.w).detach();
        Ok((p * l).mean())
    }
}

crate::persist::persist_fields!(TpAucKlLoss; tables: u; scalars: w);
