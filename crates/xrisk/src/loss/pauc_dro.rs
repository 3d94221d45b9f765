//! `PAucDroLoss` — one-way partial AUC through KL-DRO, optimized by SOPA-s
//! (spec `libauc_spec.md` §2.7).
//!
//! Objective: `(1/n+) Σ_i λ·log((1/n−) Σ_j exp(L_ij/λ))` with `L_ij = ℓ(m, h_i − h_j)` over
//! positives `i` and negatives `j`. State: `u_i ≈ mean_j exp(L_ij/λ)`, one entry per sample
//! id, moving average with weight `γ` on the batch estimate. Returned scalar:
//! `mean_ij p_ij·L_ij` with stop-gradient weights `p_ij = exp(L_ij/λ)/u_i`.

use super::{Pairs, pairs};
use crate::error::Result;
use crate::state::StateTable;
use crate::surrogate::Surrogate;
use burn::tensor::{Device, Tensor};

/// Settings of [`PAucDroLoss`] (LibAUC defaults).
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
}

/// SOPA-s's partial-AUC loss with its state table.
#[derive(Debug, Clone)]
pub struct PAucDroLoss {
    /// Settings.
    pub config: PAucDroConfig,
    u: StateTable,
}

impl PAucDroLoss {
    /// A loss with zeroed state on `device`.
    pub fn new(config: PAucDroConfig, device: &Device) -> Self {
        PAucDroLoss {
            config,
            u: StateTable::new(config.data_len, 0.0, device),
        }
    }

    /// The state `u` per sample id.
    pub fn state(&self) -> Vec<f32> {
        self.u.to_vec()
    }

    /// Updates the positives' state and returns the SOPA-s surrogate.
    pub fn forward(&mut self, h: Tensor<1>, labels: &[f32], ids: &[usize]) -> Result<Tensor<1>> {
        let Pairs { l, pos_ids, .. } = pairs(
            "PAucDroLoss",
            h,
            labels,
            Some((ids, &self.u)),
            self.config.surrogate,
            self.config.margin,
        )?;
        let device = l.device();
        let e = (l.clone().detach() / self.config.lambda).exp();
        let g = self.config.gamma;
        let old = self.u.get(&pos_ids);
        let state_dev = old.device();
        let u = old * (1.0 - g)
            + e.clone()
                .mean_dim(1)
                .squeeze_dim::<1>(1)
                .to_device(&state_dev)
                * g;
        self.u.set(&pos_ids, u);
        // Read back: with a duplicated id every occurrence sees the value that was kept.
        let p = e / self
            .u
            .get(&pos_ids)
            .to_device(&device)
            .unsqueeze_dim::<2>(1);
        Ok((p.detach() * l).mean())
    }
}

crate::persist::persist_fields!(PAucDroLoss; tables: u; scalars: );

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::floats;

    #[test]
    fn spec_appendix_a_first_call() {
        let d = Device::flex();
        let mut l = PAucDroLoss::new(PAucDroConfig::new(8), &d);
        let s = [0.8, 0.3, 0.6, 0.4, 0.5, 0.2, 0.7, 0.35];
        let y = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let v = l
            .forward(floats(&s, &d), &y, &(0..8).collect::<Vec<_>>())
            .unwrap()
            .into_scalar::<f32>();
        assert!((v as f64 - 1.126098).abs() < 1e-5, "{v}");
    }
}
