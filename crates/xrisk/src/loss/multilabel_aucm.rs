//! `MultiLabelAucmLoss` (spec `libauc_spec.md` §2.2): the AUC-margin objective on each task
//! (column) with per-task `a_t`, `b_t`, `α_t`, averaged over the tasks of the batch — the burn
//! adapter of [`xrisk_kernels::multilabel_aucm`] (which keeps the margin of v1's cross term
//! that LibAUC 2.0.1 drops here, spec §11 #3).

use super::aucm::{AucmConfig, AucmParams};
use super::{host, inject};
use crate::error::Result;
use burn::tensor::{Device, Tensor};
use xrisk_kernels::multilabel_aucm::MultiLabelAucmKernel;

/// Per-task `a` and `b`, one entry per task.
pub type MultiLabelAucmParams = AucmParams;

/// Multi-label AUC-margin loss.
#[derive(Debug)]
pub struct MultiLabelAucmLoss {
    /// Margin and version, shared by the tasks.
    pub config: AucmConfig,
    /// `a`, `b` per task.
    pub params: MultiLabelAucmParams,
    /// `α` per task.
    pub alpha: Vec<f64>,
    kernel: MultiLabelAucmKernel,
}

impl MultiLabelAucmLoss {
    /// A loss over `n_tasks ≥ 1` tasks with all scalars 0.
    pub fn new(config: AucmConfig, n_tasks: usize, device: &Device) -> Result<Self> {
        Ok(MultiLabelAucmLoss {
            config,
            params: AucmParams::zeros(n_tasks, device),
            alpha: vec![0.0; n_tasks],
            kernel: MultiLabelAucmKernel::new(config, n_tasks)?,
        })
    }

    /// Number of tasks.
    pub fn n_tasks(&self) -> usize {
        self.alpha.len()
    }

    /// Mean objective over `tasks` (all when empty) of scores `h` `[batch, tasks]` with
    /// row-major 0/1 labels of the same shape.
    pub fn forward(&mut self, h: Tensor<2>, labels: &[f32], tasks: &[usize]) -> Result<Tensor<1>> {
        let hv = host(&h);
        let wide = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<_>>();
        let (a, b) = (
            wide(host(&self.params.a.val())),
            wide(host(&self.params.b.val())),
        );
        let mut g = vec![0.0f32; hv.len()];
        let out = self
            .kernel
            .forward(&hv, labels, tasks, (&a, &b, &self.alpha), &mut g)?;
        let narrow = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<_>>();
        let (d_a, d_b) = (narrow(&out.d_a), narrow(&out.d_b));
        let value = inject(h, g, out.value);
        Ok(self.params.inject(value, d_a, d_b))
    }
}

impl crate::persist::Persist for MultiLabelAucmLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        crate::persist::save_module(&self.params, &format!("{prefix}.ab"), s);
        s.put_scalar(format!("{prefix}.tasks"), self.alpha.len() as f64);
        for (k, a) in self.alpha.iter().enumerate() {
            s.put_scalar(format!("{prefix}.alpha.{k}"), *a);
        }
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        use crate::persist::entry;
        let tasks = entry(s.count(&format!("{prefix}.tasks")))? as usize;
        if tasks != self.alpha.len() {
            return Err(crate::persist::error(format!(
                "`{prefix}` holds {tasks} tasks but the loss has {}: the checkpoint belongs to another run",
                self.alpha.len()
            )));
        }
        self.params =
            crate::persist::restore_module(self.params.clone(), &format!("{prefix}.ab"), s)?;
        for (k, a) in self.alpha.iter_mut().enumerate() {
            *a = entry(s.scalar(&format!("{prefix}.alpha.{k}")))?;
        }
        Ok(())
    }
}
