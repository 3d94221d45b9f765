//! `MapLoss` — mean average precision over tasks, and mAP@k (spec `libauc_spec.md` §2.5):
//! SOAP's AP estimator ([`super::ApLoss`]) on each task with per-task state
//! `u_all[t, id]`, `u_pos[t, id]`, averaged over the batch's tasks. With `top_k = Some(k)` the
//! weights are also multiplied by `sigmoid(k − Σ_i ℓ_ij)`, a smooth "item j is in the top k".

use super::ap::soap_step;
use super::multilabel_aucm::mean_over_tasks;
use super::split;
use crate::error::{Result, XriskError};
use crate::state::StateTable;
use crate::surrogate::Surrogate;
use burn::tensor::{Device, Tensor};

/// Settings of [`MapLoss`] (LibAUC defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapConfig {
    /// Number of samples (ids must be below it).
    pub data_len: usize,
    /// Number of tasks.
    pub n_tasks: usize,
    /// Moving-average weight on the batch estimate (default 0.9).
    pub gamma: f64,
    /// Surrogate margin (default 1.0).
    pub margin: f64,
    /// mAP@k cut-off (default `None`: plain mAP).
    pub top_k: Option<f64>,
    /// Surrogate (default squared hinge).
    pub surrogate: Surrogate,
}

impl MapConfig {
    /// Defaults for `data_len` samples and `n_tasks` tasks.
    pub fn new(data_len: usize, n_tasks: usize) -> Self {
        MapConfig {
            data_len,
            n_tasks,
            gamma: 0.9,
            margin: 1.0,
            top_k: None,
            surrogate: Surrogate::SquaredHinge,
        }
    }
}

/// Multi-task SOAP loss.
#[derive(Debug, Clone)]
pub struct MapLoss {
    /// Settings.
    pub config: MapConfig,
    u_all: StateTable,
    u_pos: StateTable,
}

impl MapLoss {
    /// A loss with zeroed state on `device`.
    pub fn new(config: MapConfig, device: &Device) -> Self {
        let len = config.data_len * config.n_tasks;
        MapLoss {
            config,
            u_all: StateTable::new(len, 0.0, device),
            u_pos: StateTable::new(len, 0.0, device),
        }
    }

    /// `(u_all, u_pos)`, task-major: entry `t·data_len + id`.
    pub fn state(&self) -> (Vec<f32>, Vec<f32>) {
        (self.u_all.to_vec(), self.u_pos.to_vec())
    }

    /// Mean SOAP surrogate over `tasks` (all when empty) of scores `h` `[batch, tasks]` with
    /// row-major 0/1 labels and one sample id per row.
    pub fn forward(
        &mut self,
        h: Tensor<2>,
        labels: &[f32],
        ids: &[usize],
        tasks: &[usize],
    ) -> Result<Tensor<1>> {
        let [n, t] = h.dims();
        let c = self.config;
        if t != c.n_tasks || labels.len() != n * t || ids.len() != n {
            return Err(XriskError::LengthMismatch {
                scores: n * t,
                labels: labels.len(),
                ids: ids.len(),
            });
        }
        if let Some(index) = ids.iter().position(|&i| i >= c.data_len) {
            return Err(XriskError::IdOutOfRange {
                index,
                id: ids[index],
                len: c.data_len,
            });
        }
        super::finite("MapLoss", &h)?;
        mean_over_tasks(&h, labels, tasks, |k, hk, col| {
            let s = split("MapLoss", n, col, None, false)?;
            let state_ids: Vec<usize> = s.pos.iter().map(|&i| k * c.data_len + ids[i]).collect();
            Ok(soap_step(
                &mut self.u_all,
                &mut self.u_pos,
                hk,
                col,
                &s.pos,
                &state_ids,
                c.gamma,
                c.margin,
                c.surrogate,
                c.top_k,
            ))
        })
    }
}
