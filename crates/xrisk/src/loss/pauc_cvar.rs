//! `PAucCvarLoss` — one-way partial AUC (FPR ≤ β) through CVaR, optimized by SOPA (spec
//! `libauc_spec.md` §2.6): the burn adapter of [`xrisk_kernels::pauc_cvar`] (objective, the
//! thresholds `s` per sample id, returned surrogate).

use super::{host, inject, restore_error, save_table, table};
use crate::error::Result;
use burn::tensor::{Device, Tensor};
pub use xrisk_kernels::pauc_cvar::PAucCvarConfig;
use xrisk_kernels::pauc_cvar::PAucCvarKernel;

/// SOPA's CVaR partial-AUC loss with its thresholds.
#[derive(Debug, Clone)]
pub struct PAucCvarLoss {
    kernel: PAucCvarKernel,
}

impl PAucCvarLoss {
    /// A loss with zero thresholds (on the host); errors on a bad setting or a table that
    /// cannot be allocated.
    pub fn new(config: PAucCvarConfig, _device: &Device) -> Result<Self> {
        Ok(PAucCvarLoss {
            kernel: PAucCvarKernel::new(config)?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &PAucCvarConfig {
        self.kernel.config()
    }

    /// The thresholds `s` per sample id.
    pub fn state(&self) -> Vec<f32> {
        self.kernel.s().to_vec()
    }

    /// Steps the thresholds of the batch's positives and returns SOPA's surrogate.
    pub fn forward(&mut self, h: Tensor<1>, labels: &[f32], ids: &[usize]) -> Result<Tensor<1>> {
        let hv = host(&h);
        let mut g = vec![0.0f32; hv.len()];
        let v = self.kernel.forward(&hv, labels, ids, &mut g)?;
        Ok(inject(h, g, v))
    }
}

impl crate::persist::Persist for PAucCvarLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        save_table(s, prefix, "s", self.kernel.s());
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        self.kernel
            .load_state(table(s, prefix, "s")?)
            .map_err(restore_error(prefix))
    }
}
