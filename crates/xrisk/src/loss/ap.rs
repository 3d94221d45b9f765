//! `ApLoss` — the SOAP estimator of average precision (spec `libauc_spec.md` §2.4): the burn
//! adapter of [`xrisk_kernels::ap`], which states the objective, its state (`u_all`, `u_pos`
//! per sample id) and the returned surrogate (whose gradient is SOAP's; its value is not the
//! AP).

use super::{host, inject, restore_error, save_table, table};
use crate::error::Result;
use burn::tensor::{Device, Tensor};
pub use xrisk_kernels::ap::ApConfig;
use xrisk_kernels::ap::ApKernel;

/// SOAP's AP loss with its two state tables.
#[derive(Debug, Clone)]
pub struct ApLoss {
    kernel: ApKernel,
}

impl ApLoss {
    /// A loss with zeroed state (kept on the host; `device` is where its outputs live);
    /// errors on a bad setting or tables that cannot be allocated.
    pub fn new(config: ApConfig, _device: &Device) -> Result<Self> {
        Ok(ApLoss {
            kernel: ApKernel::new(config)?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &ApConfig {
        self.kernel.config()
    }

    /// The state `(u_all, u_pos)` per sample id.
    pub fn state(&self) -> (Vec<f32>, Vec<f32>) {
        (self.kernel.u_all().to_vec(), self.kernel.u_pos().to_vec())
    }

    /// Updates the state of the batch's positives and returns the SOAP surrogate.
    pub fn forward(&mut self, h: Tensor<1>, labels: &[f32], ids: &[usize]) -> Result<Tensor<1>> {
        let hv = host(&h);
        let mut g = vec![0.0f32; hv.len()];
        let v = self.kernel.forward(&hv, labels, ids, &mut g)?;
        Ok(inject(h, g, v))
    }
}

impl crate::persist::Persist for ApLoss {
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
