//! `PAucDroLoss` — one-way partial AUC through KL-DRO, optimized by SOPA-s (spec
//! `libauc_spec.md` §2.7): the burn adapter of [`xrisk_kernels::pauc_dro`] (objective, state
//! `u` per sample id, returned surrogate).

use super::{host, inject, restore_error, save_table, table};
use crate::error::Result;
use burn::tensor::{Device, Tensor};
pub use xrisk_kernels::pauc_dro::PAucDroConfig;
use xrisk_kernels::pauc_dro::PAucDroKernel;

/// SOPA-s's partial-AUC loss with its state table.
#[derive(Debug, Clone)]
pub struct PAucDroLoss {
    kernel: PAucDroKernel,
}

impl PAucDroLoss {
    /// A loss with zeroed state (on the host); errors on a bad setting or a table that cannot
    /// be allocated.
    pub fn new(config: PAucDroConfig, _device: &Device) -> Result<Self> {
        Ok(PAucDroLoss {
            kernel: PAucDroKernel::new(config)?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &PAucDroConfig {
        self.kernel.config()
    }

    /// The state `u` per sample id.
    pub fn state(&self) -> Vec<f32> {
        self.kernel.u().to_vec()
    }

    /// Updates the positives' state and returns the SOPA-s surrogate.
    pub fn forward(&mut self, h: Tensor<1>, labels: &[f32], ids: &[usize]) -> Result<Tensor<1>> {
        let hv = host(&h);
        let mut g = vec![0.0f32; hv.len()];
        let v = self.kernel.forward(&hv, labels, ids, &mut g)?;
        Ok(inject(h, g, v))
    }
}

impl crate::persist::Persist for PAucDroLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        save_table(s, prefix, "u", self.kernel.u());
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        self.kernel
            .load_state(table(s, prefix, "u")?)
            .map_err(restore_error(prefix))
    }
}
