//! Listwise cross-entropy, the warm-up loss of SONG (spec `libauc_spec.md` §2.13,
//! `bilevel_ndcg_spec.md` §3.6): the burn adapter of [`xrisk_kernels::listwise_ce`] (objective,
//! `ln u` per relevant pair, the difference from LibAUC's batch-wide exponent shift).

use super::{host, inject, restore_error, save_table, table};
use crate::error::Result;
use burn::tensor::{Device, Tensor};
pub use xrisk_kernels::listwise_ce::ListwiseCeConfig;
use xrisk_kernels::listwise_ce::ListwiseCeKernel;

/// The listwise cross-entropy loss with one state entry per relevant pair.
#[derive(Debug, Clone)]
pub struct ListwiseCeLoss {
    kernel: ListwiseCeKernel,
}

impl ListwiseCeLoss {
    /// A loss with empty state (on the host); errors on a bad setting or a table that cannot be
    /// allocated.
    pub fn new(config: ListwiseCeConfig, _device: &Device) -> Result<Self> {
        Ok(ListwiseCeLoss {
            kernel: ListwiseCeKernel::new(config)?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &ListwiseCeConfig {
        self.kernel.config()
    }

    /// The moving averages `u` per relevant pair (0 before the first visit).
    pub fn state(&self) -> Vec<f32> {
        self.kernel.log_u().iter().map(|v| v.exp()).collect()
    }

    /// Updates the state of the batch's relevant pairs and returns the surrogate.
    ///
    /// `scores` is `[B, num_pos + num_neg]` (first `num_pos` columns: the sampled relevant
    /// items of each query, the rest: its sampled negatives); `pair_ids` holds the
    /// relevant-pair id of each positive column, row by row (`B·num_pos` ids).
    pub fn forward(&mut self, scores: Tensor<2>, pair_ids: &[usize]) -> Result<Tensor<1>> {
        let width = scores.dims()[1];
        let sv = host(&scores);
        let mut g = vec![0.0f32; sv.len()];
        let v = self.kernel.forward(&sv, width, pair_ids, &mut g)?;
        Ok(inject(scores, g, v))
    }
}

impl crate::persist::Persist for ListwiseCeLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        save_table(s, prefix, "log_u", self.kernel.log_u());
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        self.kernel
            .load_state(table(s, prefix, "log_u")?)
            .map_err(restore_error(prefix))
    }
}
