//! `AucmLoss` — the AUC-margin min-max loss, optimized by PESG (spec `libauc_spec.md` §2.1).
//!
//! Objective (v1, class prior `p` = positive share of the batch):
//! `(1−p)·E[(h−a)²·I+] + p·E[(h−b)²·I−] + 2α(p(1−p)m + E[p·h·I− − (1−p)·h·I+]) − p(1−p)α²`;
//! v2 (no prior): `mean_pos(h−a)² + mean_neg(h−b)² + 2α(m + mean_neg h − mean_pos h) − α²`,
//! with class means over the class counts (fixing LibAUC 2.0.1's issue #74 and its
//! `count_nonzero` denominators, spec §11 #1, #4). State: the learnable scalars `a`, `b`
//! (minimised with the model) and the dual `α ≥ 0` (maximised by PESG's closed-form step).
//! The returned scalar is the min-max objective at the current `(a, b, α)`; it can be
//! negative and is not an AUC estimate.

use super::{floats, split};
use crate::error::Result;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

/// Which AUCM objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AucmVersion {
    /// With the batch class prior (LibAUC's default).
    V1,
    /// Without the prior (recommended with a DualSampler).
    V2,
}

/// Settings of [`AucmLoss`] (LibAUC defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AucmConfig {
    /// Margin `m` (default 1.0).
    pub margin: f64,
    /// Objective version (default v1).
    pub version: AucmVersion,
}

impl Default for AucmConfig {
    fn default() -> Self {
        AucmConfig {
            margin: 1.0,
            version: AucmVersion::V1,
        }
    }
}

/// The learnable scalars `a` and `b` of [`AucmLoss`], a module so that the optimizer updates
/// them like model weights.
#[derive(Module, Debug)]
pub struct AucmParams {
    /// Estimate of the positive class's mean score.
    pub a: Param<Tensor<1>>,
    /// Estimate of the negative class's mean score.
    pub b: Param<Tensor<1>>,
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
        let zero = || Param::from_tensor(Tensor::zeros([1], device));
        AucmLoss {
            config,
            params: AucmParams {
                a: zero(),
                b: zero(),
            },
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
        let s = split("AucmLoss", h.dims()[0], labels, None, true)?;
        super::finite("AucmLoss", &h)?;
        Ok(objective(
            h,
            labels,
            s.pos.len(),
            self.params.a.val(),
            self.params.b.val(),
            self.alpha,
            self.config,
        ))
    }
}

/// The AUCM objective of one task; `a`, `b` are `[1]` tensors, `positives` the number of
/// 1-labels (both classes present).
pub(crate) fn objective(
    h: Tensor<1>,
    labels: &[f32],
    positives: usize,
    a: Tensor<1>,
    b: Tensor<1>,
    alpha: f64,
    config: AucmConfig,
) -> Tensor<1> {
    let device = h.device();
    let n = labels.len();
    let y = floats(labels, &device);
    let yn = y.clone().neg() + 1.0;
    let sq_a = (h.clone() - a.expand([n])).square();
    let sq_b = (h.clone() - b.expand([n])).square();
    let m = config.margin;
    match config.version {
        AucmVersion::V1 => {
            let p = positives as f64 / n as f64;
            let cross =
                (h.clone() * yn.clone() * p - h * y.clone() * (1.0 - p)).mean() + p * (1.0 - p) * m;
            (sq_a * y).mean() * (1.0 - p) + (sq_b * yn).mean() * p + cross * (2.0 * alpha)
                - p * (1.0 - p) * alpha * alpha
        }
        AucmVersion::V2 => {
            let (np, nn) = (positives as f64, (n - positives) as f64);
            let mean_pos_h = (h.clone() * y.clone()).sum() / np;
            let mean_neg_h = (h * yn.clone()).sum() / nn;
            (sq_a * y).sum() / np
                + (sq_b * yn).sum() / nn
                + (mean_neg_h - mean_pos_h + m) * (2.0 * alpha)
                - alpha * alpha
        }
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

    fn value(version: AucmVersion, s: &[f32], y: &[f32], a: f32, b: f32, alpha: f64) -> f64 {
        let d = Device::flex();
        let mut l = AucmLoss::new(
            AucmConfig {
                margin: 1.0,
                version,
            },
            &d,
        );
        l.params.a = Param::from_tensor(Tensor::from_floats([a], &d));
        l.params.b = Param::from_tensor(Tensor::from_floats([b], &d));
        l.alpha = alpha;
        l.forward(floats(s, &d), y).unwrap().into_scalar::<f32>() as f64
    }

    const S: [f32; 8] = [0.8, 0.3, 0.6, 0.4, 0.5, 0.2, 0.7, 0.35];
    const Y: [f32; 8] = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

    #[test]
    fn spec_appendix_a_values() {
        assert!((value(AucmVersion::V1, &S, &Y, 0.0, 0.0, 0.0) - 0.133398).abs() < 1e-5);
        assert!((value(AucmVersion::V1, &S, &Y, 0.3, 0.2, 0.5) - 0.202930).abs() < 1e-5);
        // v2 with the issue-#74 fix (intended value, not LibAUC 2.0.1's 0.697083).
        assert!((value(AucmVersion::V2, &S, &Y, 0.3, 0.2, 0.5) - 0.865833).abs() < 1e-5);
        // Issue #74's own example: 0.57625 intended (LibAUC 2.0.1 computes 0.45125).
        let v = value(
            AucmVersion::V2,
            &[0.1, 0.4, 0.35, 0.8],
            &[0.0, 0.0, 1.0, 1.0],
            0.3,
            0.2,
            0.5,
        );
        assert!((v - 0.57625).abs() < 1e-5, "{v}");
    }

    #[test]
    fn bad_batches_are_errors() {
        let d = Device::flex();
        let l = AucmLoss::new(AucmConfig::default(), &d);
        assert!(l.forward(floats(&[0.1, 0.2], &d), &[0.0, 0.0]).is_err());
        assert!(l.forward(floats(&[0.1, 0.2], &d), &[1.0, 2.0]).is_err());
        assert!(l.forward(floats(&[0.1], &d), &[1.0, 0.0]).is_err());
    }
}
