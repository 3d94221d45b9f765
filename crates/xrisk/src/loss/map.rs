//! `MapLoss` — mean average precision over tasks, and mAP@k (spec `libauc_spec.md` §2.5): the
//! burn adapter of [`xrisk_kernels::map`] (SOAP per task with per-task state
//! `u_all[t, id]`, `u_pos[t, id]`, task-major).

use super::{host, inject, restore_error, save_table, table};
use crate::error::Result;
use burn::tensor::{Device, Tensor};
pub use xrisk_kernels::map::MapConfig;
use xrisk_kernels::map::MapKernel;

/// Multi-task SOAP loss.
#[derive(Debug, Clone)]
pub struct MapLoss {
    kernel: MapKernel,
}

impl MapLoss {
    /// A loss with zeroed state (on the host); errors on a bad setting or tables that cannot
    /// be allocated.
    pub fn new(config: MapConfig, _device: &Device) -> Result<Self> {
        Ok(MapLoss {
            kernel: MapKernel::new(config)?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &MapConfig {
        self.kernel.config()
    }

    /// `(u_all, u_pos)`, task-major: entry `t·data_len + id`.
    pub fn state(&self) -> (Vec<f32>, Vec<f32>) {
        (self.kernel.u_all().to_vec(), self.kernel.u_pos().to_vec())
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
        let hv = host(&h);
        let mut g = vec![0.0f32; hv.len()];
        let v = self.kernel.forward(&hv, labels, ids, tasks, &mut g)?;
        Ok(inject(h, g, v))
    }
}

impl crate::persist::Persist for MapLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        save_table(s, prefix, "u_all", self.kernel.u_all());
        save_table(s, prefix, "u_pos", self.kernel.u_pos());
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        self.kernel
            .load_state(table(s, prefix, "u_all")?, table(s, prefix, "u_pos")?)
            .map_err(restore_error(prefix))
    }
}
