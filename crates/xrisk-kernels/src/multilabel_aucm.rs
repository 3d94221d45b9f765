//! Multi-label AUC-margin loss (`MultiLabelAUCMLoss`, spec `libauc_spec.md` §2.2): the AUCM
//! objective ([`crate::aucm`]) on each task (column) with per-task `a_t`, `b_t`, `α_t`,
//! averaged over the tasks of the batch (all tasks, or the distinct ids a `TriSampler`
//! reports). The v1 cross term keeps the margin `p(1−p)·m` (LibAUC 2.0.1 drops it here,
//! spec §11 #3). No per-sample state; `a`, `b`, `α` per task are inputs. Cost: one pass.

use crate::aucm::{AucmConfig, aucm_checked};
use crate::check::{self, Split};
use crate::error::{KernelError, Result};
use crate::tasks::{Column, check_shape, chosen};

/// The per-task derivatives of the multi-label AUCM objective.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MultiLabelAucmOutput {
    /// The mean objective over the chosen tasks.
    pub value: f64,
    /// `∂V/∂a_t` per task (0 for tasks outside the batch).
    pub d_a: Vec<f64>,
    /// `∂V/∂b_t` per task.
    pub d_b: Vec<f64>,
    /// `∂V/∂α_t` per task.
    pub d_alpha: Vec<f64>,
}

/// The multi-label AUCM kernel (buffers only).
#[derive(Debug, Clone)]
pub struct MultiLabelAucmKernel {
    config: AucmConfig,
    n_tasks: usize,
    chosen: Vec<usize>,
    col: Column,
    split: Split,
    out: MultiLabelAucmOutput,
}

impl MultiLabelAucmKernel {
    /// A kernel over `n_tasks` tasks; errors on a bad setting.
    pub fn new(config: AucmConfig, n_tasks: usize) -> Result<Self> {
        config.validate()?;
        if n_tasks == 0 {
            return Err(KernelError::InvalidConfig {
                name: "num_labels",
                value: 0.0,
                reason: "a multi-label loss needs at least one task",
            });
        }
        Ok(MultiLabelAucmKernel {
            config,
            n_tasks,
            chosen: Vec::new(),
            col: Column::default(),
            split: Split::default(),
            out: MultiLabelAucmOutput {
                value: 0.0,
                d_a: vec![0.0; n_tasks],
                d_b: vec![0.0; n_tasks],
                d_alpha: vec![0.0; n_tasks],
            },
        })
    }

    /// The settings.
    pub fn config(&self) -> &AucmConfig {
        &self.config
    }

    /// Number of tasks.
    pub fn n_tasks(&self) -> usize {
        self.n_tasks
    }

    /// The mean objective over `tasks` (all when empty) of scores `[B, T]` with row-major 0/1
    /// labels at the per-task `a`, `b`, `α`; writes `∂V/∂h` into `grad` (`B·T`).
    pub fn forward(
        &mut self,
        h: &[f32],
        labels: &[f32],
        tasks: &[usize],
        (a, b, alpha): (&[f64], &[f64], &[f64]),
        grad: &mut [f32],
    ) -> Result<&MultiLabelAucmOutput> {
        let t = self.n_tasks;
        check_shape(h.len(), labels.len(), t, None, grad.len())?;
        if a.len() != t || b.len() != t || alpha.len() != t {
            return Err(KernelError::InvalidConfig {
                name: "a, b, alpha",
                value: a.len().min(b.len()).min(alpha.len()) as f64,
                reason: "need one entry per task",
            });
        }
        check::finite("MultiLabelAucmLoss", h)?;
        chosen(tasks, t, &mut self.chosen)?;
        grad.iter_mut().for_each(|g| *g = 0.0);
        let scale = 1.0 / self.chosen.len() as f64;
        let out = &mut self.out;
        out.value = 0.0;
        for v in [&mut out.d_a, &mut out.d_b, &mut out.d_alpha] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
        for &k in &self.chosen {
            self.col.gather(h, labels, t, k);
            let o = aucm_checked(
                &self.config,
                &self.col.h,
                &self.col.y,
                (a[k], b[k], alpha[k]),
                &mut self.col.grad,
                scale,
                &mut self.split,
                "MultiLabelAucmLoss",
            )?;
            self.col.scatter(grad, t, k);
            out.value += o.value;
            out.d_a[k] = o.d_a;
            out.d_b[k] = o.d_b;
            out.d_alpha[k] = o.d_alpha;
        }
        Ok(out)
    }
}
