//! `ApLoss` — the SOAP estimator of average precision (spec `libauc_spec.md` §2.4).
//!
//! Objective: `−(1/n+) Σ_i u_pos_i / u_all_i`, a smooth AP surrogate where, for a positive
//! anchor `i`, `u_all_i ≈ mean_j ℓ(m, h_i − h_j)` over all samples and
//! `u_pos_i ≈ mean_j ℓ(m, h_i − h_j)·1[y_j = 1]`. State: `u_all`, `u_pos`, one entry per
//! sample id (table of `data_len`), moving averages with weight `γ` on the batch estimate.
//! Returned scalar: `(1/(P·B)) Σ_ij p_ij·ℓ_ij` with stop-gradient weights
//! `p_ij = (u_pos_i − u_all_i·1[y_j=1]) / u_all_i²`, whose gradient is SOAP's; its value is
//! not the AP (it is 0 whenever the state equals the batch estimate).

use super::{floats, index, split};
use crate::error::Result;
use crate::state::StateTable;
use crate::surrogate::Surrogate;
use burn::tensor::{Device, Tensor};

/// Settings of [`ApLoss`] (LibAUC defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApConfig {
    /// Number of samples (ids must be below it).
    pub data_len: usize,
    /// Moving-average weight on the batch estimate (default 0.9).
    pub gamma: f64,
    /// Surrogate margin (default 1.0).
    pub margin: f64,
    /// Surrogate (default squared hinge).
    pub surrogate: Surrogate,
}

impl ApConfig {
    /// Defaults for a data set of `data_len` samples.
    pub fn new(data_len: usize) -> Self {
        ApConfig {
            data_len,
            gamma: 0.9,
            margin: 1.0,
            surrogate: Surrogate::SquaredHinge,
        }
    }
}

/// SOAP's AP loss with its two state tables.
#[derive(Debug, Clone)]
pub struct ApLoss {
    /// Settings.
    pub config: ApConfig,
    u_all: StateTable,
    u_pos: StateTable,
}

impl ApLoss {
    /// A loss with zeroed state on `device`.
    pub fn new(config: ApConfig, device: &Device) -> Self {
        ApLoss {
            config,
            u_all: StateTable::new(config.data_len, 0.0, device),
            u_pos: StateTable::new(config.data_len, 0.0, device),
        }
    }

    /// The state `(u_all, u_pos)` per sample id.
    pub fn state(&self) -> (Vec<f32>, Vec<f32>) {
        (self.u_all.to_vec(), self.u_pos.to_vec())
    }

    /// Updates the state of the batch's positives and returns the SOAP surrogate.
    pub fn forward(&mut self, h: Tensor<1>, labels: &[f32], ids: &[usize]) -> Result<Tensor<1>> {
        let s = split("ApLoss", h.dims()[0], labels, Some(ids), false)?;
        self.u_all.check_ids(ids)?;
        let device = h.device();
        let pos_ids: Vec<usize> = s.pos.iter().map(|&i| ids[i]).collect();
        let hp = h.clone().select(0, index(&s.pos, &device));
        let l = self.config.surrogate.apply(
            self.config.margin,
            hp.unsqueeze_dim::<2>(1) - h.unsqueeze_dim::<2>(0),
        );
        let yrow = floats(labels, &device).unsqueeze_dim::<2>(0);
        let ld = l.clone().detach();
        let g = self.config.gamma;
        let batch_all = ld.clone().mean_dim(1).squeeze_dim::<1>(1);
        let batch_pos = (ld * yrow.clone()).mean_dim(1).squeeze_dim::<1>(1);
        let state_dev = self.u_all.get(&pos_ids).device();
        let u_all = self.u_all.get(&pos_ids) * (1.0 - g) + batch_all.to_device(&state_dev) * g;
        let u_pos = self.u_pos.get(&pos_ids) * (1.0 - g) + batch_pos.to_device(&state_dev) * g;
        self.u_all.set(&pos_ids, u_all);
        self.u_pos.set(&pos_ids, u_pos);
        // Read back: with a duplicated id every occurrence sees the value that was kept.
        let u_all = self
            .u_all
            .get(&pos_ids)
            .to_device(&device)
            .unsqueeze_dim::<2>(1);
        let u_pos = self
            .u_pos
            .get(&pos_ids)
            .to_device(&device)
            .unsqueeze_dim::<2>(1);
        let p = ((u_pos - u_all.clone() * yrow) / u_all.square()).detach();
        Ok((p * l).mean())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_appendix_a_first_call() {
        let d = Device::flex();
        let mut l = ApLoss::new(ApConfig::new(8), &d);
        let s = [0.8, 0.3, 0.6, 0.4, 0.5, 0.2, 0.7, 0.35];
        let y = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let ids: Vec<usize> = (0..8).collect();
        let v = l
            .forward(floats(&s, &d), &y, &ids)
            .unwrap()
            .into_scalar::<f32>();
        assert!(v.abs() < 1e-6, "first-call value cancels: {v}");
        let (u_all, u_pos) = l.state();
        for (i, want_all, want_pos) in [
            (0, 0.451406, 0.2025),
            (2, 0.732656, 0.315),
            (5, 1.511156, 0.621),
        ] {
            assert!(
                (u_all[i] as f64 - want_all).abs() < 1e-5,
                "u_all[{i}] = {}",
                u_all[i]
            );
            assert!(
                (u_pos[i] as f64 - want_pos).abs() < 1e-5,
                "u_pos[{i}] = {}",
                u_pos[i]
            );
        }
        assert_eq!(u_all[1], 0.0, "negatives keep no state");
        assert!(
            l.forward(floats(&s, &d), &y, &[0, 1, 2, 3, 4, 5, 6, 8])
                .is_err()
        );
    }
}
