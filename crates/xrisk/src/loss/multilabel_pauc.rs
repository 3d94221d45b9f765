//! `MultiLabelPAucLoss` (LibAUC's `MultiLabelpAUCLoss` / `mPAUCLoss`, spec `libauc_spec.md`
//! §2.10): a partial-AUC loss per task with its own per-sample state, averaged over the tasks of
//! the batch — the burn adapter of [`xrisk_kernels::multilabel_pauc`] (one-way KL-DRO, or
//! two-way with one `w` per task where LibAUC shares it).

use super::{host, inject, restore_error, save_table, scalar, table};
use crate::error::Result;
use burn::tensor::{Device, Tensor};
pub use xrisk_kernels::multilabel_pauc::PAucBackend;
use xrisk_kernels::multilabel_pauc::{MultiLabelPAucKernel, TaskKernel};

/// Partial AUC over several tasks.
#[derive(Debug, Clone)]
pub struct MultiLabelPAucLoss {
    kernel: MultiLabelPAucKernel,
}

impl MultiLabelPAucLoss {
    /// `n_tasks` independent copies of `backend` (its `data_len` is the number of samples);
    /// errors on a bad setting or tables that cannot be allocated.
    pub fn new(backend: PAucBackend, n_tasks: usize, _device: &Device) -> Result<Self> {
        Ok(MultiLabelPAucLoss {
            kernel: MultiLabelPAucKernel::new(backend, n_tasks)?,
        })
    }

    /// Number of tasks.
    pub fn n_tasks(&self) -> usize {
        self.kernel.n_tasks()
    }

    /// The per-sample state `u` of task `k`.
    pub fn state(&self, k: usize) -> Vec<f32> {
        match self.kernel.task(k) {
            TaskKernel::OneWay(l) => l.u().to_vec(),
            TaskKernel::TwoWay(l) => l.u().to_vec(),
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
        let hv = host(&h);
        let mut g = vec![0.0f32; hv.len()];
        let v = self.kernel.forward(&hv, labels, ids, tasks, &mut g)?;
        Ok(inject(h, g, v))
    }
}

impl crate::persist::Persist for MultiLabelPAucLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        for k in 0..self.kernel.n_tasks() {
            let p = format!("{prefix}.task{k}");
            match self.kernel.task(k) {
                TaskKernel::OneWay(l) => save_table(s, &p, "u", l.u()),
                TaskKernel::TwoWay(l) => {
                    save_table(s, &p, "u", l.u());
                    s.put_scalar(format!("{p}.w"), l.w());
                }
            }
        }
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        for k in 0..self.kernel.n_tasks() {
            let p = format!("{prefix}.task{k}");
            let u = table(s, &p, "u")?;
            match self.kernel.task_mut(k) {
                TaskKernel::OneWay(l) => l.load_state(u).map_err(restore_error(&p))?,
                TaskKernel::TwoWay(l) => l
                    .load_state(u, scalar(s, &p, "w")?)
                    .map_err(restore_error(&p))?,
            }
        }
        Ok(())
    }
}
