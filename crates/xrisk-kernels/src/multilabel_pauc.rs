//! Multi-label partial AUC (`MultiLabelpAUCLoss` / `mPAUCLoss`, spec `libauc_spec.md` §2.10):
//! a partial-AUC kernel per task (column) with its own per-sample state, averaged over the
//! tasks of the batch (all tasks, or the distinct ids a `TriSampler` reports).
//!
//! One-way (`1w`, LibAUC's default): [`PAucDroKernel`] per task — LibAUC swaps each task's
//! `u` slice into one shared loss object, which is the same computation. Two-way (`2w`):
//! [`TpAucKlKernel`] per task; LibAUC shares the backend's scalar `w` across tasks (spec
//! §2.10 \[QUIRK\]), xrisk keeps one per task.

use crate::error::{KernelError, Result};
use crate::pauc_dro::{PAucDroConfig, PAucDroKernel};
use crate::tasks::{Column, check_shape, chosen};
use crate::tpauc_kl::{TpAucKlConfig, TpAucKlKernel};

/// The per-task backend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PAucBackend {
    /// One-way pAUC by KL-DRO (SOPA-s).
    OneWay(PAucDroConfig),
    /// Two-way pAUC by KL-DRO (SOTA-s).
    TwoWay(TpAucKlConfig),
}

/// One task's kernel.
#[derive(Debug, Clone)]
pub enum TaskKernel {
    /// One-way.
    OneWay(PAucDroKernel),
    /// Two-way.
    TwoWay(TpAucKlKernel),
}

/// The multi-label pAUC kernel: one backend kernel per task.
#[derive(Debug, Clone)]
pub struct MultiLabelPAucKernel {
    tasks: Vec<TaskKernel>,
    chosen: Vec<usize>,
    col: Column,
}

impl MultiLabelPAucKernel {
    /// `n_tasks` independent copies of `backend` (its `data_len` is the number of samples).
    pub fn new(backend: PAucBackend, n_tasks: usize) -> Result<Self> {
        if n_tasks == 0 {
            return Err(KernelError::InvalidConfig {
                name: "num_labels",
                value: 0.0,
                reason: "a multi-label loss needs at least one task",
            });
        }
        let tasks = (0..n_tasks)
            .map(|_| {
                Ok(match backend {
                    PAucBackend::OneWay(c) => TaskKernel::OneWay(PAucDroKernel::new(c)?),
                    PAucBackend::TwoWay(c) => TaskKernel::TwoWay(TpAucKlKernel::new(c)?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MultiLabelPAucKernel {
            tasks,
            chosen: Vec::new(),
            col: Column::default(),
        })
    }

    /// Number of tasks.
    pub fn n_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// Task `k`'s kernel (its state).
    pub fn task(&self, k: usize) -> &TaskKernel {
        &self.tasks[k]
    }

    /// Task `k`'s kernel, to restore its state.
    pub fn task_mut(&mut self, k: usize) -> &mut TaskKernel {
        &mut self.tasks[k]
    }

    /// The mean value over `tasks` (all when empty) of scores `[B, T]` with row-major 0/1
    /// labels and one sample id per row; every chosen task needs both classes. Writes
    /// `∂value/∂scores` into `grad` (`B·T`).
    pub fn forward(
        &mut self,
        h: &[f32],
        labels: &[f32],
        ids: &[usize],
        tasks: &[usize],
        grad: &mut [f32],
    ) -> Result<f64> {
        let t = self.tasks.len();
        check_shape(h.len(), labels.len(), t, Some(ids.len()), grad.len())?;
        chosen(tasks, t, &mut self.chosen)?;
        grad.iter_mut().for_each(|g| *g = 0.0);
        let scale = 1.0 / self.chosen.len() as f64;
        let mut value = 0.0;
        for &k in &self.chosen {
            self.col.gather(h, labels, t, k);
            let c = &mut self.col;
            value += match &mut self.tasks[k] {
                TaskKernel::OneWay(l) => l.forward(&c.h, &c.y, ids, &mut c.grad)?,
                TaskKernel::TwoWay(l) => l.forward(&c.h, &c.y, ids, &mut c.grad)?,
            } * scale;
            for g in &mut c.grad {
                *g = (f64::from(*g) * scale) as f32;
            }
            c.scatter(grad, t, k);
        }
        Ok(value)
    }
}
