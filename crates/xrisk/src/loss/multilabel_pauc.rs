//! `MultiLabelPAucLoss` (LibAUC's `MultiLabelpAUCLoss` / `mPAUCLoss`, spec `libauc_spec.md`
//! §2.10): a partial-AUC loss per task (column) with its own per-sample state, averaged over
//! the tasks of the batch (all tasks, or the distinct ids a `TriSampler` reports).
//!
//! One-way (`1w`, LibAUC's default): [`PAucDroLoss`] per task — LibAUC swaps each task's `u`
//! slice into one shared loss object, which is the same computation. Two-way (`2w`):
//! [`TpAucKlLoss`] per task; LibAUC shares the backend's scalar state `w` across tasks
//! (spec §2.10 [QUIRK]), xrisk keeps one per task.

use super::multilabel_aucm::mean_over_tasks;
use super::{PAucDroConfig, PAucDroLoss, TpAucKlConfig, TpAucKlLoss};
use crate::error::{Result, XriskError};
use burn::tensor::{Device, Tensor};

/// The per-task backend.
#[derive(Debug, Clone)]
pub enum PAucBackend {
    /// One-way pAUC by KL-DRO (SOPA-s).
    OneWay(PAucDroConfig),
    /// Two-way pAUC by KL-DRO (SOTA-s).
    TwoWay(TpAucKlConfig),
}

#[derive(Debug, Clone)]
enum TaskLoss {
    OneWay(PAucDroLoss),
    TwoWay(TpAucKlLoss),
}

/// Partial AUC over several tasks.
#[derive(Debug, Clone)]
pub struct MultiLabelPAucLoss {
    tasks: Vec<TaskLoss>,
}

impl MultiLabelPAucLoss {
    /// `n_tasks` independent copies of `backend` (its `data_len` is the number of samples).
    pub fn new(backend: PAucBackend, n_tasks: usize, device: &Device) -> Self {
        let tasks = (0..n_tasks)
            .map(|_| match &backend {
                PAucBackend::OneWay(c) => TaskLoss::OneWay(PAucDroLoss::new(*c, device)),
                PAucBackend::TwoWay(c) => TaskLoss::TwoWay(TpAucKlLoss::new(*c, device)),
            })
            .collect();
        MultiLabelPAucLoss { tasks }
    }

    /// Number of tasks.
    pub fn n_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// The per-sample state `u` of task `k`.
    pub fn state(&self, k: usize) -> Vec<f32> {
        match &self.tasks[k] {
            TaskLoss::OneWay(l) => l.state(),
            TaskLoss::TwoWay(l) => l.state().0,
        }
    }

    /// Mean surrogate over `tasks` (all when empty) of scores `h` `[batch, tasks]` with
    /// row-major 0/1 labels and one sample id per row; every chosen task needs both classes.
    pub fn forward(
        &mut self,
        h: Tensor<2>,
        labels: &[f32],
        ids: &[usize],
        tasks: &[usize],
    ) -> Result<Tensor<1>> {
        let [n, t] = h.dims();
        if t != self.n_tasks() || labels.len() != n * t || ids.len() != n {
            return Err(XriskError::LengthMismatch {
                scores: n * t,
                labels: labels.len(),
                ids: ids.len(),
            });
        }
        mean_over_tasks(&h, labels, tasks, |k, hk, col| match &mut self.tasks[k] {
            TaskLoss::OneWay(l) => l.forward(hk, col, ids),
            TaskLoss::TwoWay(l) => l.forward(hk, col, ids),
        })
    }
}

impl crate::persist::Persist for MultiLabelPAucLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        for (k, l) in self.tasks.iter().enumerate() {
            let p = format!("{prefix}.task{k}");
            match l {
                TaskLoss::OneWay(l) => l.save(&p, s),
                TaskLoss::TwoWay(l) => l.save(&p, s),
            }
        }
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        for (k, l) in self.tasks.iter_mut().enumerate() {
            let p = format!("{prefix}.task{k}");
            match l {
                TaskLoss::OneWay(l) => l.restore(&p, s)?,
                TaskLoss::TwoWay(l) => l.restore(&p, s)?,
            }
        }
        Ok(())
    }
}
