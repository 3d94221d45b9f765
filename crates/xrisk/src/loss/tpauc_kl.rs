//! `TpAucKlLoss` — two-way partial AUC through a double KL-DRO, optimized by SOTA-s (spec
//! `libauc_spec.md` §2.8): the burn adapter of [`xrisk_kernels::tpauc_kl`] (objective, state
//! `u` per sample id and the scalar `w`, returned surrogate).

use super::{host, inject, restore_error, save_table, scalar, table};
use crate::error::Result;
use burn::tensor::{Device, Tensor};
pub use xrisk_kernels::tpauc_kl::TpAucKlConfig;
use xrisk_kernels::tpauc_kl::TpAucKlKernel;

/// SOTA-s's two-way partial-AUC loss.
#[derive(Debug, Clone)]
pub struct TpAucKlLoss {
    kernel: TpAucKlKernel,
}

impl TpAucKlLoss {
    /// A loss with zero state (on the host); errors on a bad setting or a table that cannot be
    /// allocated.
    pub fn new(config: TpAucKlConfig, _device: &Device) -> Result<Self> {
        Ok(TpAucKlLoss {
            kernel: TpAucKlKernel::new(config)?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &TpAucKlConfig {
        self.kernel.config()
    }

    /// The state: `u` per sample id and the scalar `w`.
    pub fn state(&self) -> (Vec<f32>, f64) {
        (self.kernel.u().to_vec(), self.kernel.w())
    }

    /// Updates `u` and `w` and returns SOTA-s's surrogate.
    pub fn forward(&mut self, h: Tensor<1>, labels: &[f32], ids: &[usize]) -> Result<Tensor<1>> {
        let hv = host(&h);
        let mut g = vec![0.0f32; hv.len()];
        let v = self.kernel.forward(&hv, labels, ids, &mut g)?;
        Ok(inject(h, g, v))
    }
}

impl crate::persist::Persist for TpAucKlLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        save_table(s, prefix, "u", self.kernel.u());
        s.put_scalar(format!("{prefix}.w"), self.kernel.w());
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        let w = scalar(s, prefix, "w")?;
        self.kernel
            .load_state(table(s, prefix, "u")?, w)
            .map_err(restore_error(prefix))
    }
}
