//! `MidamLoss` — multiple-instance AUC with stochastic pooling (MIDAM), optimized by
//! [`crate::optim::Midam`] (spec `libauc_spec.md` §2.16, §3.7, §7.8).
//!
//! A bag's score is a pooling of its instances' scores; MIDAM samples a few instances per bag
//! and keeps a per-bag moving average of the pooling's inner mean, so that the AUC min-max
//! objective `mean_pos(h−a)² + mean_neg(h−b)² + 2α(m + mean_neg h − mean_pos h) − α²` of the
//! pooled scores `h` gets a consistent gradient.
//!
//! **Softmax (smoothed-max) pooling**, `h = τ·ln mean_x exp(φ(x)/τ)`. Input per bag:
//! `y = mean_{sampled x} exp(φ(x)/τ)`. With `s ← (1−γ)s + γ·sg(y)`, `ĥ = τ·ln s`, `r = y/s`:
//! `L = mean_pos[2τ(ĥ − sg a)·r] + mean_neg[2τ(ĥ − sg b)·r] + α·τ·(mean_neg r − mean_pos r)
//!      + mean_pos(ĥ − a)² + mean_neg(ĥ − b)²`.
//!
//! **Attention pooling**, `h = σ(Σ w(x)φ(x) / Σ w(x))`. Input per bag: `sn = mean w·φ`,
//! `sd = mean w` over the sampled instances. With `s_n, s_d` their moving averages (start 1),
//! `d = max(s_d, 1e-8)`, `v = σ(s_n/d)`, `r = v(1−v)·(sn/d − s_n·sd/d²)`:
//! `L = mean_pos[2(v − sg a)·r] + mean_neg[2(v − sg b)·r] + α(mean_neg r − mean_pos r)
//!      + mean_pos(v − a)² + mean_neg(v − b)²`.
//!
//! The margin `m` enters only the optimizer's α step. LibAUC 2.0.1's defaults: margin 1.0,
//! γ = 0.9, τ = 0.1; `update_smoothing(f)` divides γ by `f`. A bag id repeated in one batch
//! keeps its last update (as LibAUC's index assignment), and every row reads the kept value.

use super::aucm::AucmParams;
use super::{floats, split};
use crate::error::{Result, XriskError};
use crate::state::StateTable;
use burn::module::Param;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

/// Which stochastic pooling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MidamPooling {
    /// Smoothed-max pooling with temperature τ (LibAUC default 0.1).
    Softmax {
        /// τ.
        tau: f64,
    },
    /// Attention pooling.
    Attention,
}

/// Settings of [`MidamLoss`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MidamConfig {
    /// Number of training bags (the size of the state).
    pub data_len: usize,
    /// AUC margin `m` (1.0), used by the optimizer's α step.
    pub margin: f64,
    /// Moving-average weight γ (0.9).
    pub gamma: f64,
    /// The pooling.
    pub pooling: MidamPooling,
}

impl MidamConfig {
    /// LibAUC's defaults for `data_len` bags and `pooling`.
    pub fn new(data_len: usize, pooling: MidamPooling) -> Self {
        MidamConfig {
            data_len,
            margin: 1.0,
            gamma: 0.9,
            pooling,
        }
    }
}

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
    /// Settings (γ changes with [`MidamLoss::update_smoothing`]).
    pub config: MidamConfig,
    /// `a` and `b`, updated by the optimizer like model weights.
    pub params: AucmParams,
    /// The dual variable α ≥ 0 (updated by the optimizer).
    pub alpha: f64,
    /// Softmax: `s` (start 0); attention: `s_n` (start 1).
    num: StateTable,
    /// Attention: `s_d` (start 1); empty for softmax.
    den: StateTable,
}

impl MidamLoss {
    /// A loss with `a = b = α = 0` and LibAUC's initial state on `device`.
    pub fn new(config: MidamConfig, device: &Device) -> Self {
        let zero = || Param::from_tensor(Tensor::zeros([1], device));
        let (num, den) = match config.pooling {
            MidamPooling::Softmax { .. } => (
                StateTable::new(config.data_len, 0.0, device),
                StateTable::new(0, 0.0, device),
            ),
            MidamPooling::Attention => (
                StateTable::new(config.data_len, 1.0, device),
                StateTable::new(config.data_len, 1.0, device),
            ),
        };
        MidamLoss {
            config,
            params: AucmParams {
                a: zero(),
                b: zero(),
            },
            alpha: 0.0,
            num,
            den,
        }
    }

    /// Current `(a, b)`.
    pub fn ab(&self) -> (f64, f64) {
        let s = |t: Tensor<1>| f64::from(t.into_scalar::<f32>());
        (s(self.params.a.val()), s(self.params.b.val()))
    }

    /// Divides γ by `decay_factor` (LibAUC's `update_smoothing`, called at the decay epochs).
    pub fn update_smoothing(&mut self, decay_factor: f64) {
        self.config.gamma /= decay_factor;
    }

    /// The per-bag state: softmax `(s, [])`, attention `(s_n, s_d)`.
    pub fn state(&self) -> (Vec<f32>, Vec<f32>) {
        (self.num.to_vec(), self.den.to_vec())
    }

    fn ema(&mut self, which: bool, ids: &[usize], new: Tensor<1>) -> Tensor<1> {
        let g = self.config.gamma;
        let table = if which { &mut self.den } else { &mut self.num };
        let device = new.device();
        let old = table.get(ids).to_device(&device);
        table.set(ids, old * (1.0 - g) + new.detach() * g);
        table.get(ids).to_device(&device)
    }

    /// Updates the batch's bag state and returns the surrogate whose gradient is MIDAM's.
    /// `labels` are 0/1 per bag, `ids` the bags' indices; both classes must be present.
    pub fn forward(
        &mut self,
        input: MidamInput,
        labels: &[f32],
        ids: &[usize],
    ) -> Result<Tensor<1>> {
        let n = match &input {
            MidamInput::Softmax(y) => y.dims()[0],
            MidamInput::Attention { sn, sd } => {
                if sn.dims() != sd.dims() {
                    return Err(XriskError::LengthMismatch {
                        scores: sn.dims()[0],
                        labels: labels.len(),
                        ids: sd.dims()[0],
                    });
                }
                sn.dims()[0]
            }
        };
        let s = split("MidamLoss", n, labels, Some(ids), true)?;
        self.num.check_ids(ids)?;
        let (np, nn) = (s.pos.len() as f64, s.neg.len() as f64);
        let (a, b) = (self.params.a.val(), self.params.b.val());
        let (r, v) = match (input, self.config.pooling) {
            (MidamInput::Softmax(y), MidamPooling::Softmax { tau }) => {
                super::finite("MidamLoss", &y)?;
                if !y.clone().greater_elem(0.0).all().into_scalar::<bool>() {
                    return Err(XriskError::InvalidConfig {
                        name: "y_pred",
                        value: 0.0,
                        reason: "softmax pooling takes mean exp(φ/τ) per bag, which must be > 0",
                    });
                }
                let state = self.ema(false, ids, y.clone());
                (y / state.clone(), state.log() * tau)
            }
            (MidamInput::Attention { sn, sd }, MidamPooling::Attention) => {
                super::finite("MidamLoss", &sn)?;
                super::finite("MidamLoss", &sd)?;
                let vsn = self.ema(false, ids, sn.clone());
                let vsd = self.ema(true, ids, sd.clone()).clamp_min(1e-8);
                let v = sigmoid(vsn.clone() / vsd.clone());
                let gv = v.clone() * (v.clone().neg() + 1.0);
                let r = gv * (sn / vsd.clone() - vsn / vsd.clone().square() * sd);
                (r, v)
            }
            _ => {
                return Err(XriskError::InvalidConfig {
                    name: "pooling",
                    value: 0.0,
                    reason: "the input does not match the loss's pooling (softmax takes MidamInput::Softmax, attention MidamInput::Attention)",
                });
            }
        };
        let scale = match self.config.pooling {
            MidamPooling::Softmax { tau } => tau,
            MidamPooling::Attention => 1.0,
        };
        let device = r.device();
        let y = floats(labels, &device);
        let yn = y.clone().neg() + 1.0;
        let mean_pos = |t: Tensor<1>| (t * y.clone()).sum() / np;
        let mean_neg = |t: Tensor<1>| (t * yn.clone()).sum() / nn;
        let vd = v.clone().detach();
        let (ad, bd) = (
            a.clone().detach().expand([n]),
            b.clone().detach().expand([n]),
        );
        let gw_p = mean_pos((vd.clone() - ad) * r.clone() * (2.0 * scale));
        let gw_n = mean_neg((vd.clone() - bd) * r.clone() * (2.0 * scale));
        let gw_s = (mean_neg(r.clone()) - mean_pos(r)) * (self.alpha * scale);
        let ga = mean_pos((vd.clone() - a.expand([n])).square());
        let gb = mean_neg((vd - b.expand([n])).square());
        Ok(gw_p + gw_n + gw_s + ga + gb)
    }
}

impl crate::persist::Persist for MidamLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        crate::persist::save_module(&self.params, &format!("{prefix}.ab"), s);
        s.put_scalar(format!("{prefix}.alpha"), self.alpha);
        s.put_scalar(format!("{prefix}.gamma"), self.config.gamma);
        self.num.save(&format!("{prefix}.num"), s);
        self.den.save(&format!("{prefix}.den"), s);
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        use crate::persist::entry;
        self.params =
            crate::persist::restore_module(self.params.clone(), &format!("{prefix}.ab"), s)?;
        self.alpha = entry(s.scalar(&format!("{prefix}.alpha")))?;
        self.config.gamma = entry(s.scalar(&format!("{prefix}.gamma")))?;
        self.num.restore(&format!("{prefix}.num"), s)?;
        self.den.restore(&format!("{prefix}.den"), s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-computed softmax-pooling step: with a = b = α = 0, γ = 1 the state is y, ĥ = τ ln y,
    /// r = 1 and the value is `mean_pos(2τĥ + ĥ²) + mean_neg(2τĥ + ĥ²)`.
    #[test]
    fn softmax_pooling_value_by_hand() {
        let d = Device::flex();
        let mut l = MidamLoss::new(
            MidamConfig {
                gamma: 1.0,
                ..MidamConfig::new(4, MidamPooling::Softmax { tau: 0.5 })
            },
            &d,
        );
        let y = [2.0f64, 0.5, 1.5, 3.0];
        let labels = [1.0, 0.0, 1.0, 0.0];
        let v = l
            .forward(
                MidamInput::Softmax(floats(&y.map(|v| v as f32), &d)),
                &labels,
                &[0, 1, 2, 3],
            )
            .unwrap()
            .into_scalar::<f32>();
        let term = |y: f64| {
            let h = 0.5 * y.ln();
            2.0 * 0.5 * h + h * h
        };
        let want = (term(2.0) + term(1.5)) / 2.0 + (term(0.5) + term(3.0)) / 2.0;
        assert!((f64::from(v) - want).abs() < 1e-5, "{v} vs {want}");
        assert_eq!(l.state().0, vec![2.0, 0.5, 1.5, 3.0]);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let d = Device::flex();
        let mut l = MidamLoss::new(MidamConfig::new(3, MidamPooling::Attention), &d);
        let t = |v: &[f32]| floats(v, &d);
        // wrong input kind
        assert!(
            l.forward(MidamInput::Softmax(t(&[1.0, 2.0])), &[1.0, 0.0], &[0, 1])
                .is_err()
        );
        // id out of range
        let att = MidamInput::Attention {
            sn: t(&[0.1, 0.2]),
            sd: t(&[1.0, 1.0]),
        };
        assert!(l.forward(att.clone(), &[1.0, 0.0], &[0, 3]).is_err());
        // one class only
        assert!(l.forward(att, &[1.0, 1.0], &[0, 1]).is_err());
        let mut s = MidamLoss::new(MidamConfig::new(3, MidamPooling::Softmax { tau: 0.1 }), &d);
        assert!(
            s.forward(MidamInput::Softmax(t(&[1.0, 0.0])), &[1.0, 0.0], &[0, 1])
                .is_err()
        );
    }
}
