//! `TpAucCvarLoss` — exact two-way partial AUC through a double CVaR, optimized by STACO (spec
//! `libauc_spec.md` §2.9): the burn adapter of [`xrisk_kernels::tpauc_cvar`] (objective, state
//! `u`, `s1`, `y` per sample id and the scalar `s2`, returned surrogate).

use super::{host, inject, restore_error, save_table, scalar, table};
use crate::error::Result;
use burn::tensor::{Device, Tensor};
pub use xrisk_kernels::tpauc_cvar::TpAucCvarConfig;
use xrisk_kernels::tpauc_cvar::TpAucCvarKernel;

/// STACO's two-way partial-AUC loss.
#[derive(Debug, Clone)]
pub struct TpAucCvarLoss {
    kernel: TpAucCvarKernel,
}

/// The state of a [`TpAucCvarLoss`], per sample id.
#[derive(Debug, Clone, PartialEq)]
pub struct TpAucCvarState {
    /// Inner estimates `u`.
    pub u: Vec<f32>,
    /// Per-positive thresholds `s1`.
    pub s1: Vec<f32>,
    /// Duals `y`.
    pub y: Vec<f32>,
    /// Positive threshold `s2`.
    pub s2: f64,
}

impl TpAucCvarLoss {
    /// A loss with LibAUC's initial state (on the host); errors on a bad setting or tables
    /// that cannot be allocated.
    pub fn new(config: TpAucCvarConfig, _device: &Device) -> Result<Self> {
        Ok(TpAucCvarLoss {
            kernel: TpAucCvarKernel::new(config)?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &TpAucCvarConfig {
        self.kernel.config()
    }

    /// The current state.
    pub fn state(&self) -> TpAucCvarState {
        let k = &self.kernel;
        TpAucCvarState {
            u: k.u().to_vec(),
            s1: k.s1().to_vec(),
            y: k.y().to_vec(),
            s2: k.s2(),
        }
    }

    /// One STACO step of the state; returns the weighted surrogate.
    pub fn forward(&mut self, h: Tensor<1>, labels: &[f32], ids: &[usize]) -> Result<Tensor<1>> {
        let hv = host(&h);
        let mut g = vec![0.0f32; hv.len()];
        let v = self.kernel.forward(&hv, labels, ids, &mut g)?;
        Ok(inject(h, g, v))
    }
}

impl crate::persist::Persist for TpAucCvarLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        let k = &self.kernel;
        save_table(s, prefix, "u", k.u());
        save_table(s, prefix, "s1", k.s1());
        save_table(s, prefix, "y", k.y());
        s.put_scalar(format!("{prefix}.s2"), k.s2());
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        let s2 = scalar(s, prefix, "s2")?;
        self.kernel
            .load_state(
                table(s, prefix, "u")?,
                table(s, prefix, "s1")?,
                table(s, prefix, "y")?,
                s2,
            )
            .map_err(restore_error(prefix))
    }
}
