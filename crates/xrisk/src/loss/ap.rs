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
        super::finite("ApLoss", &h)?;
        self.u_all.check_ids(ids)?;
        let pos_ids: Vec<usize> = s.pos.iter().map(|&i| ids[i]).collect();
        Ok(soap_step(
            &mut self.u_all,
            &mut self.u_pos,
            h,
            labels,
            &s.pos,
            &pos_ids,
            self.config.gamma,
            self.config.margin,
            self.config.surrogate,
            None,
        ))
    }
}

/// One SOAP step on one task: updates `u_all`, `u_pos` at `state_ids` (one per positive, in
/// the order of `pos`, the batch positions of the positives) and returns the surrogate;
/// `top_k` multiplies the weights by `sigmoid(k − Σ_i ℓ_ij)` (mAP@k).
#[allow(clippy::too_many_arguments)]
pub(crate) fn soap_step(
    u_all: &mut StateTable,
    u_pos: &mut StateTable,
    h: Tensor<1>,
    labels: &[f32],
    pos: &[usize],
    state_ids: &[usize],
    gamma: f64,
    margin: f64,
    surrogate: Surrogate,
    top_k: Option<f64>,
) -> Tensor<1> {
    let device = h.device();
    let hp = h.clone().select(0, index(pos, &device));
    let l = surrogate.apply(margin, hp.unsqueeze_dim::<2>(1) - h.unsqueeze_dim::<2>(0));
    let yrow = floats(labels, &device).unsqueeze_dim::<2>(0);
    let ld = l.clone().detach();
    let batch_all = ld.clone().mean_dim(1).squeeze_dim::<1>(1);
    let batch_pos = (ld.clone() * yrow.clone()).mean_dim(1).squeeze_dim::<1>(1);
    let old_all = u_all.get(state_ids);
    let state_dev = old_all.device();
    u_all.set(
        state_ids,
        old_all * (1.0 - gamma) + batch_all.to_device(&state_dev) * gamma,
    );
    u_pos.set(
        state_ids,
        u_pos.get(state_ids) * (1.0 - gamma) + batch_pos.to_device(&state_dev) * gamma,
    );
    // Read back: with a duplicated id every occurrence sees the value that was kept.
    let ua = u_all
        .get(state_ids)
        .to_device(&device)
        .unsqueeze_dim::<2>(1);
    let up = u_pos
        .get(state_ids)
        .to_device(&device)
        .unsqueeze_dim::<2>(1);
    let mut p = (up - ua.clone() * yrow) / ua.square();
    if let Some(k) = top_k {
        p = p * burn::tensor::activation::sigmoid(ld.sum_dim(0).neg() + k);
    }
    (p.detach() * l).mean()
}

crate::persist::persist_fields!(ApLoss; tables: u_all, u_pos; scalars: );

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
