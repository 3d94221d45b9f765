//! `EntLossClassification` — the compositional entropic risk for many-class (extreme)
//! classification with the SCENT or SOX estimator (spec `libauc_spec.md` §2.17, §3.8): the burn
//! adapter of [`xrisk_kernels::entropic`] (objective, the log-scale state `ν` per sample, the
//! log-space differences from LibAUC).

use super::{host, inject, restore_error, save_table, table};
use crate::error::Result;
use burn::tensor::{Device, Tensor};
use xrisk_kernels::entropic::EntropicKernel;
pub use xrisk_kernels::entropic::{EntConfig, EntEstimator};

/// The compositional entropic loss with its per-sample log-scale state `ν`.
#[derive(Debug, Clone)]
pub struct EntLossClassification {
    kernel: EntropicKernel,
}

impl EntLossClassification {
    /// A loss with `ν = 0` (unvisited, on the host); errors on a bad setting or a table that
    /// cannot be allocated.
    pub fn new(config: EntConfig, _device: &Device) -> Result<Self> {
        Ok(EntLossClassification {
            kernel: EntropicKernel::new(config)?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &EntConfig {
        self.kernel.config()
    }

    /// SOX's current γ (set by [`EntLossClassification::adjust_gamma`]).
    pub fn gamma(&self) -> f64 {
        self.kernel.gamma()
    }

    /// The state `ν` per sample.
    pub fn state(&self) -> Vec<f32> {
        self.kernel.nu().to_vec()
    }

    /// SOX's cosine schedule `γ = ½(1−γ₀)(1 + cos(π·epoch/max_epoch)) + γ₀` (no-op for SCENT).
    pub fn adjust_gamma(&mut self, epoch: usize, max_epoch: usize) {
        self.kernel.adjust_gamma(epoch, max_epoch);
    }

    /// Updates `ν` of the batch's samples `ids` from `logits` `[B, K]` (own class at −∞) and
    /// returns the surrogate.
    pub fn forward(&mut self, logits: Tensor<2>, ids: &[usize]) -> Result<Tensor<1>> {
        let k = logits.dims()[1];
        let lv = host(&logits);
        let mut g = vec![0.0f32; lv.len()];
        let v = self.kernel.forward(&lv, k, ids, &mut g)?;
        // The masked classes (−∞) get no gradient; zero them so that `x − sg x` stays finite.
        let masked = logits.clone().equal_elem(f32::NEG_INFINITY);
        Ok(inject(logits.mask_fill(masked, 0.0), g, v))
    }
}

impl crate::persist::Persist for EntLossClassification {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        save_table(s, prefix, "nu", self.kernel.nu());
        s.put_scalar(format!("{prefix}.gamma"), self.kernel.gamma());
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        self.kernel
            .load_state(table(s, prefix, "nu")?)
            .map_err(restore_error(prefix))?;
        Ok(self.kernel.set_gamma(super::scalar(s, prefix, "gamma")?)?)
    }
}
