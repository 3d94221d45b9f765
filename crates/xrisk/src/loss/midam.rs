//! `MidamLoss` — multiple-instance AUC with stochastic pooling (MIDAM), optimized by
//! [`crate::optim::Midam`] (spec `libauc_spec.md` §2.16, §3.7, §7.8): the burn adapter of
//! [`xrisk_kernels::midam`], which states the softmax and attention poolings, the per-bag state
//! and the returned surrogate. `a`, `b` are a module updated with the model; `α` is updated by
//! the optimizer's closed-form step.

use super::aucm::AucmParams;
use super::{host, inject, restore_error, save_table, table};
use crate::error::{Result, XriskError};
use burn::tensor::{Device, Tensor};
pub use xrisk_kernels::midam::{MidamConfig, MidamPooling};
use xrisk_kernels::midam::{MidamGrad, MidamKernel};

/// A batch of bags' stochastic pooling statistics (one entry per bag, with gradient).
// Built once per step and consumed at once: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum MidamInput {
    /// Softmax pooling: `mean_{sampled x} exp(φ(x)/τ)` per bag (> 0).
    Softmax(Tensor<1>),
    /// Attention pooling: `sn = mean w·φ` and `sd = mean w` per bag (`w = exp(attention)`).
    Attention {
        /// Weighted score mean.
        sn: Tensor<1>,
        /// Weight mean (> 0).
        sd: Tensor<1>,
    },
}

/// MIDAM loss with its primal scalars `a`, `b`, dual `α` and per-bag moving averages.
#[derive(Debug, Clone)]
pub struct MidamLoss {
    /// `a` and `b`, updated by the optimizer like model weights.
    pub params: AucmParams,
    /// The dual variable α ≥ 0 (updated by the optimizer).
    pub alpha: f64,
    kernel: MidamKernel,
}

impl MidamLoss {
    /// A loss with `a = b = α = 0` and LibAUC's initial state; errors on a bad setting or
    /// tables that cannot be allocated.
    pub fn new(config: MidamConfig, device: &Device) -> Result<Self> {
        Ok(MidamLoss {
            params: AucmParams::zeros(1, device),
            alpha: 0.0,
            kernel: MidamKernel::new(config)?,
        })
    }

    /// The settings (γ changes with [`MidamLoss::update_smoothing`]).
    pub fn config(&self) -> &MidamConfig {
        self.kernel.config()
    }

    /// Current `(a, b)`.
    pub fn ab(&self) -> (f64, f64) {
        let s = |t: Tensor<1>| f64::from(t.into_scalar::<f32>());
        (s(self.params.a.val()), s(self.params.b.val()))
    }

    /// Divides γ by `decay_factor` (LibAUC's `update_smoothing`, called at the decay epochs).
    pub fn update_smoothing(&mut self, decay_factor: f64) -> Result<()> {
        Ok(self.kernel.update_smoothing(decay_factor)?)
    }

    /// The per-bag state: softmax `(s, [])`, attention `(s_n, s_d)`.
    pub fn state(&self) -> (Vec<f32>, Vec<f32>) {
        let (a, b) = self.kernel.state();
        (a.to_vec(), b.to_vec())
    }

    /// Updates the batch's bag state and returns the surrogate whose gradient is MIDAM's.
    /// `labels` are 0/1 per bag, `ids` the bags' indices; both classes must be present.
    pub fn forward(
        &mut self,
        input: MidamInput,
        labels: &[f32],
        ids: &[usize],
    ) -> Result<Tensor<1>> {
        let (a, b) = self.ab();
        let abc = (a, b, self.alpha);
        let mismatch = || XriskError::InvalidConfig {
            name: "pooling",
            value: 0.0,
            reason: "the input does not match the loss's pooling (softmax takes MidamInput::Softmax, attention MidamInput::Attention)",
        };
        let (value, out) = match (input, self.kernel.config().pooling) {
            (MidamInput::Softmax(y), MidamPooling::Softmax { .. }) => {
                let yv = host(&y);
                let mut g = vec![0.0f32; yv.len()];
                let out = self.kernel.forward(
                    xrisk_kernels::midam::MidamInput::Softmax(&yv),
                    labels,
                    ids,
                    abc,
                    MidamGrad::Softmax(&mut g),
                )?;
                (inject(y, g, out.value), out)
            }
            (MidamInput::Attention { sn, sd }, MidamPooling::Attention) => {
                let (nv, dv) = (host(&sn), host(&sd));
                let (mut gn, mut gd) = (vec![0.0f32; nv.len()], vec![0.0f32; dv.len()]);
                let out = self.kernel.forward(
                    xrisk_kernels::midam::MidamInput::Attention { sn: &nv, sd: &dv },
                    labels,
                    ids,
                    abc,
                    MidamGrad::Attention {
                        sn: &mut gn,
                        sd: &mut gd,
                    },
                )?;
                (inject(sn, gn, out.value) + super::gradient_of(sd, gd), out)
            }
            _ => return Err(mismatch()),
        };
        Ok(self
            .params
            .inject(value, vec![out.d_a as f32], vec![out.d_b as f32]))
    }
}

impl crate::persist::Persist for MidamLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        crate::persist::save_module(&self.params, &format!("{prefix}.ab"), s);
        s.put_scalar(format!("{prefix}.alpha"), self.alpha);
        s.put_scalar(format!("{prefix}.gamma"), self.kernel.config().gamma);
        let (num, den) = self.kernel.state();
        save_table(s, prefix, "num", num);
        save_table(s, prefix, "den", den);
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        use crate::persist::entry;
        self.params =
            crate::persist::restore_module(self.params.clone(), &format!("{prefix}.ab"), s)?;
        self.alpha = entry(s.scalar(&format!("{prefix}.alpha")))?;
        self.kernel
            .set_gamma(entry(s.scalar(&format!("{prefix}.gamma")))?)?;
        self.kernel
            .load_state(table(s, prefix, "num")?, table(s, prefix, "den")?)
            .map_err(restore_error(prefix))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::tests::floats;

    #[test]
    fn the_input_must_match_the_pooling() {
        let d = Device::flex();
        let mut l = MidamLoss::new(MidamConfig::new(3, MidamPooling::Attention), &d).unwrap();
        let t = |v: &[f32]| floats(v, &d);
        assert!(
            l.forward(MidamInput::Softmax(t(&[1.0, 2.0])), &[1.0, 0.0], &[0, 1])
                .is_err()
        );
        let att = MidamInput::Attention {
            sn: t(&[0.1, 0.2]),
            sd: t(&[1.0, 1.0]),
        };
        assert!(l.forward(att, &[1.0, 0.0], &[0, 1]).is_ok());
    }
}
