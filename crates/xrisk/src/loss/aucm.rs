//! `AucmLoss` — the AUC-margin min-max loss, optimized by PESG (spec `libauc_spec.md` §2.1):
//! the burn adapter of [`xrisk_kernels::aucm`], which states the v1 and v2 objectives. State:
//! the learnable scalars `a`, `b` (a module, minimised with the model) and the dual `α ≥ 0`
//! (maximised by PESG's closed-form step). The returned scalar is the min-max objective at the
//! current `(a, b, α)`; it can be negative and is not an AUC estimate.

use super::{gradient_of, host};
use crate::error::Result;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use xrisk_kernels::aucm::aucm_objective;
pub use xrisk_kernels::aucm::{AucmConfig, AucmVersion};

/// The learnable scalars `a` and `b` of [`AucmLoss`], a module so that the optimizer updates
/// them like model weights.
#[derive(Module, Debug)]
pub struct AucmParams {
    /// Estimate of the positive class's mean score.
    pub a: Param<Tensor<1>>,
    /// Estimate of the negative class's mean score.
    pub b: Param<Tensor<1>>,
}

impl AucmParams {
    /// `a = b = 0` (one entry each, or `n` for the multi-label loss) on `device`.
    pub(crate) fn zeros(n: usize, device: &Device) -> Self {
        let zero = || Param::from_tensor(Tensor::zeros([n], device));
        AucmParams {
            a: zero(),
            b: zero(),
        }
    }

    /// The `value` with the gradients `d_a`, `d_b` injected into `a` and `b`.
    pub(crate) fn inject(&self, value: Tensor<1>, d_a: Vec<f32>, d_b: Vec<f32>) -> Tensor<1> {
        value + gradient_of(self.a.val(), d_a) + gradient_of(self.b.val(), d_b)
    }
}

/// AUC-margin loss with its primal scalars and dual variable.
#[derive(Debug)]
pub struct AucmLoss {
    /// Settings.
    pub config: AucmConfig,
    /// `a` and `b`.
    pub params: AucmParams,
    /// The dual variable `α` (updated by the optimizer).
    pub alpha: f64,
}

impl AucmLoss {
    /// A loss with `a = b = α = 0` on `device`.
    pub fn new(config: AucmConfig, device: &Device) -> Self {
        AucmLoss {
            config,
            params: AucmParams::zeros(1, device),
            alpha: 0.0,
        }
    }

    /// Current `(a, b)`.
    pub fn ab(&self) -> (f64, f64) {
        let s = |t: Tensor<1>| t.into_scalar::<f32>() as f64;
        (s(self.params.a.val()), s(self.params.b.val()))
    }

    /// The objective on a batch of scores `h` (probabilities) with 0/1 labels.
    pub fn forward(&self, h: Tensor<1>, labels: &[f32]) -> Result<Tensor<1>> {
        let hv = host(&h);
        let mut g = vec![0.0f32; hv.len()];
        let (a, b) = self.ab();
        let out = aucm_objective(&self.config, &hv, labels, (a, b, self.alpha), &mut g)?;
        let value = super::inject(h, g, out.value);
        Ok(self
            .params
            .inject(value, vec![out.d_a as f32], vec![out.d_b as f32]))
    }
}

impl crate::persist::Persist for AucmLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        crate::persist::save_module(&self.params, &format!("{prefix}.ab"), s);
        s.put_scalar(format!("{prefix}.alpha"), self.alpha);
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        self.params =
            crate::persist::restore_module(self.params.clone(), &format!("{prefix}.ab"), s)?;
        self.alpha = crate::persist::entry(s.scalar(&format!("{prefix}.alpha")))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::tests::floats;

    /// The burn adapter's value and gradients (through autodiff) are the kernel's.
    #[test]
    fn value_and_gradients_flow_through_autodiff() {
        let d = Device::flex().autodiff();
        let mut l = AucmLoss::new(AucmConfig::default(), &d);
        l.params.a = Param::from_tensor(Tensor::from_floats([0.3], &d).require_grad());
        l.params.b = Param::from_tensor(Tensor::from_floats([0.2], &d).require_grad());
        l.alpha = 0.5;
        let s = [0.8, 0.3, 0.6, 0.4, 0.5, 0.2, 0.7, 0.35];
        let y = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let h = floats(&s, &d).require_grad();
        let v = l.forward(h.clone(), &y).unwrap();
        assert!((v.clone().into_scalar::<f32>() as f64 - 0.202930).abs() < 1e-5);
        let grads = v.backward();
        let mut want = [0.0f32; 8];
        // a and b as the f32 parameters hold them.
        let (a, b) = l.ab();
        let out = aucm_objective(&AucmConfig::default(), &s, &y, (a, b, 0.5), &mut want).unwrap();
        assert_eq!(host(&h.grad(&grads).unwrap()), want.to_vec());
        let ga = l.params.a.val().grad(&grads).unwrap().into_scalar::<f32>();
        assert_eq!(ga, out.d_a as f32);
        assert!(l.forward(floats(&[0.1, 0.2], &d), &[0.0, 0.0]).is_err());
    }
}
