//! NDCG surrogates: SONG (full-list NDCG) and K-SONG (top-K NDCG), spec `libauc_spec.md`
//! §2.14 and `bilevel_ndcg_spec.md` §3.2–§3.9 — the burn adapter of [`xrisk_kernels::ndcg`]
//! (the estimators, the state `u` per relevant pair and `λ_q`, `s_q` per query, the
//! differences from LibAUC).

use super::{host, inject, restore_error, save_table, table};
use crate::error::Result;
use burn::tensor::{Device, Tensor};
use xrisk_kernels::ndcg::NdcgKernel;
pub use xrisk_kernels::ndcg::{InnerSample, NdcgConfig, RankingBatch, TopkVersion};

/// SONG / K-SONG with their per-pair and per-query state.
#[derive(Debug, Clone)]
pub struct NdcgLoss {
    kernel: NdcgKernel,
}

impl NdcgLoss {
    /// A loss with zero state (on the host); errors on a bad setting or tables that cannot be
    /// allocated.
    pub fn new(config: NdcgConfig, _device: &Device) -> Result<Self> {
        Ok(NdcgLoss {
            kernel: NdcgKernel::new(config)?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &NdcgConfig {
        self.kernel.config()
    }

    /// The state `(u per pair, λ per query, s per query)`.
    pub fn state(&self) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let (u, l, s) = self.kernel.state();
        (u.to_vec(), l.to_vec(), s.to_vec())
    }

    /// Replaces the state (e.g. to carry a warm-up run's `u`, `λ_q`, `s_q` into a K-SONG
    /// loss); errors when a table's length differs from the config's.
    pub fn load_state(&mut self, u: &[f32], lambda_q: &[f32], s_q: &[f32]) -> Result<()> {
        Ok(self.kernel.load_state(u, lambda_q, s_q)?)
    }

    /// Sets the thresholds `λ_q` of `users` (e.g. to the warm-up model's K-th scores).
    pub fn set_thresholds(&mut self, users: &[usize], values: &[f32]) -> Result<()> {
        Ok(self.kernel.set_thresholds(users, values)?)
    }

    /// Updates the state of the batch's pairs and queries and returns the surrogate.
    pub fn forward(&mut self, scores: Tensor<2>, batch: &RankingBatch) -> Result<Tensor<1>> {
        let width = scores.dims()[1];
        let sv = host(&scores);
        let mut g = vec![0.0f32; sv.len()];
        let v = self.kernel.forward(&sv, width, batch, &mut g)?;
        Ok(inject(scores, g, v))
    }
}

impl crate::persist::Persist for NdcgLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        let (u, l, q) = self.kernel.state();
        save_table(s, prefix, "u", u);
        save_table(s, prefix, "lambda_q", l);
        save_table(s, prefix, "s_q", q);
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        self.kernel
            .load_state(
                table(s, prefix, "u")?,
                table(s, prefix, "lambda_q")?,
                table(s, prefix, "s_q")?,
            )
            .map_err(restore_error(prefix))
    }
}
