//! The optimizer skeleton shared by LibAUC's optimizers (spec `libauc_spec.md` §3.0), written
//! once: per parameter tensor `w` with gradient `∇`,
//!
//! 1. element-wise clipping `g = clamp(∇, −c, c)`;
//! 2. coupled L2 weight decay `g += wd·w`;
//! 3. the epoch-level proximal term `g += λ0·(w − w_ref)`, where `w_ref` starts at the
//!    initial weights (LibAUC 2.0.1 starts it at N(0, 0.01²) noise, spec §11 #8) and is
//!    reset to the average iterate by [`ProximalOptimizer::update_regularizer`];
//! 4. the update: heavy-ball momentum `buf = μ·buf + (1−d)·g` (optionally Nesterov), LibAUC
//!    2.0.1's PESG momentum `buf = (1−μ)·buf + μ·g` (compatibility, spec §11 #5), or Adam with
//!    bias correction; then `w ← w − lr·step`.
//!
//! Each named optimizer ([`Pesg`], SOAP, SOPA-s, …) is this skeleton with its own defaults and,
//! for PESG, a dual step.

mod midam;
mod pdsca;
mod pesg;
mod scent;
mod sogclr;

pub use midam::{Midam, MidamConfig};
pub use pdsca::{Pdsca, PdscaConfig};
pub use pesg::{Pesg, PesgConfig};
pub use scent::ScentConfig;
pub use sogclr::{SogClrConfig, SogClrMode};

use crate::error::{Result, XriskError};
use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{ElementConversion, Tensor};
use std::collections::HashMap;

/// The update rule applied to the processed gradient `g`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UpdateRule {
    /// PyTorch-style SGD: `buf = μ·buf + (1−dampening)·g` (first step `buf = g`), step
    /// `g + μ·buf` with Nesterov, else `buf`.
    Sgd {
        /// μ.
        momentum: f64,
        /// Dampening.
        dampening: f64,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// LibAUC 2.0.1's PESG/PDSCA momentum `buf = (1−μ)·buf + μ·g` (first step `buf = g`).
    LibAucMomentum {
        /// μ (weight on the current gradient).
        momentum: f64,
    },
    /// PDSCA's cross-entropy branch: `w ← w − lr0·g`, then the weight average
    /// `w̄ ← (1−β1)·w̄ + β1·w` (first step `w̄ = w`) replaces `w`.
    WeightAveragedSgd {
        /// Step size of this branch.
        lr0: f64,
        /// Averaging weight β1 on the new iterate.
        beta1: f64,
    },
    /// SCENT's SGD for large sparse classifier matrices (spec §3.8): weight decay only when
    /// the gradient tensor has a non-zero entry; the buffer `buf = μ·buf + (1−d)·g` (first
    /// step `buf = g`) is updated only in the rows (first dimension) whose processed gradient
    /// is non-zero, and the step uses the whole buffer (`g + μ·buf` with Nesterov).
    SparseRowSgd {
        /// μ.
        momentum: f64,
        /// Dampening.
        dampening: f64,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// LARS (MoCo-v3's, as in LibAUC's `LARS` and the `'lars'` mode of `SogCLR`/`iSogCLR`,
    /// spec `libauc_spec.md` §3.4–3.5): for a parameter with two or more dimensions the
    /// decayed gradient `g` is scaled by the trust ratio `q = trust·‖w‖/‖g‖` (1 when either
    /// norm is 0); one-dimensional parameters (biases, norms) take the raw gradient, without
    /// weight decay, the proximal term or scaling. Then `buf = μ·buf + g` (buffer starts at 0),
    /// `w ← w − lr·buf`.
    Lars {
        /// μ.
        momentum: f64,
        /// Trust coefficient.
        trust_coefficient: f64,
    },
    /// Adam with bias correction.
    Adam {
        /// β1.
        beta1: f64,
        /// β2.
        beta2: f64,
        /// ε.
        eps: f64,
    },
}

/// Settings of the skeleton.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SkeletonConfig {
    /// Learning rate.
    pub lr: f64,
    /// Update rule.
    pub rule: UpdateRule,
    /// Element-wise gradient clipping bound (`None`: no clipping).
    pub clip_value: Option<f64>,
    /// Coupled L2 weight decay (added to the gradient).
    pub weight_decay: f64,
    /// Decoupled weight decay (AdamW): `w ← w·(1 − lr·d)` before the gradient is formed.
    pub decoupled_weight_decay: f64,
    /// Strength λ0 of the epoch-level pull toward the reference weights (0: off).
    pub epoch_decay: f64,
}

impl SkeletonConfig {
    /// Checks every setting against its domain; the error names the field (`lr`, `momentum`,
    /// `clip_value`, …) and what is allowed. [`ProximalOptimizer::try_new`] calls it; a
    /// value outside its domain would otherwise turn the weights into NaN many steps later.
    pub fn validate(&self) -> Result<()> {
        let finite = |name: &'static str, v: f64, ok: bool, reason: &'static str| {
            if v.is_finite() && ok {
                Ok(())
            } else {
                Err(XriskError::InvalidConfig {
                    name,
                    value: v,
                    reason,
                })
            }
        };
        let unit = |name, v: f64| finite(name, v, (0.0..1.0).contains(&v), "must be in [0, 1)");
        let nonneg = |name, v: f64| finite(name, v, v >= 0.0, "must be ≥ 0");
        finite(
            "lr",
            self.lr,
            self.lr > 0.0,
            "the learning rate must be > 0",
        )?;
        if let Some(c) = self.clip_value {
            finite("clip_value", c, c > 0.0, "must be > 0")?;
        }
        nonneg("weight_decay", self.weight_decay)?;
        nonneg("decoupled_weight_decay", self.decoupled_weight_decay)?;
        nonneg("epoch_decay", self.epoch_decay)?;
        match self.rule {
            UpdateRule::Sgd {
                momentum,
                dampening,
                ..
            }
            | UpdateRule::SparseRowSgd {
                momentum,
                dampening,
                ..
            } => {
                unit("momentum", momentum)?;
                finite(
                    "dampening",
                    dampening,
                    (0.0..=1.0).contains(&dampening),
                    "must be in [0, 1]",
                )
            }
            UpdateRule::LibAucMomentum { momentum } => finite(
                "momentum",
                momentum,
                momentum > 0.0 && momentum <= 1.0,
                "LibAUC's momentum weighs the new gradient: must be in (0, 1]",
            ),
            UpdateRule::WeightAveragedSgd { lr0, beta1 } => {
                finite("lr0", lr0, lr0 > 0.0, "must be > 0")?;
                finite(
                    "beta1",
                    beta1,
                    beta1 > 0.0 && beta1 <= 1.0,
                    "must be in (0, 1]",
                )
            }
            UpdateRule::Lars {
                momentum,
                trust_coefficient,
            } => {
                unit("momentum", momentum)?;
                finite(
                    "trust_coefficient",
                    trust_coefficient,
                    trust_coefficient > 0.0,
                    "must be > 0",
                )
            }
            UpdateRule::Adam { beta1, beta2, eps } => {
                unit("beta1", beta1)?;
                unit("beta2", beta2)?;
                finite("eps", eps, eps > 0.0, "must be > 0")
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
struct ParamState {
    buf: Option<Tensor<1>>,
    second: Option<Tensor<1>>,
    reference: Option<Tensor<1>>,
    acc: Option<Tensor<1>>,
    acc_steps: u64,
    steps: u64,
}

/// The shared proximal optimizer; keeps per-parameter state by parameter id.
#[derive(Debug, Clone)]
pub struct ProximalOptimizer {
    /// Settings (the learning rate changes with [`ProximalOptimizer::update_lr`]).
    pub config: SkeletonConfig,
    states: HashMap<ParamId, ParamState>,
}

impl ProximalOptimizer {
    /// A fresh optimizer (its settings unchecked: see [`Self::try_new`]).
    pub fn new(config: SkeletonConfig) -> Self {
        ProximalOptimizer {
            config,
            states: HashMap::new(),
        }
    }

    /// A fresh optimizer, after [`SkeletonConfig::validate`].
    pub fn try_new(config: SkeletonConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self::new(config))
    }

    /// Applies one update to every parameter of `module` that has a gradient in `grads`.
    pub fn step<M: Module>(&mut self, module: M, grads: &mut GradientsParams) -> M {
        let mut mapper = StepMapper {
            config: self.config,
            states: &mut self.states,
            grads,
        };
        module.map(&mut mapper)
    }

    /// One update of `model` and of a loss's learnable scalars `loss_params` (`a`, `b`) from
    /// the gradients of one backward pass — the primal step of PESG, PDSCA and MIDAM.
    pub fn step_with_loss<M: Module, L: Module>(
        &mut self,
        model: M,
        loss_params: L,
        mut grads: burn::tensor::Gradients,
    ) -> (M, L) {
        let gm = GradientsParams::from_module(&mut grads, &model);
        self.step_with_loss_split(model, gm, loss_params, grads)
    }

    /// [`ProximalOptimizer::step_with_loss`] with the model's gradients already taken out of
    /// the backward pass (and, in data-parallel training, summed over the processes).
    pub fn step_with_loss_split<M: Module, L: Module>(
        &mut self,
        model: M,
        mut model_grads: GradientsParams,
        loss_params: L,
        mut grads: burn::tensor::Gradients,
    ) -> (M, L) {
        let mut gl = GradientsParams::from_module(&mut grads, &loss_params);
        let model = self.step(model, &mut model_grads);
        (model, self.step(loss_params, &mut gl))
    }

    /// `lr ← lr / decay_factor`.
    pub fn update_lr(&mut self, decay_factor: f64) {
        self.config.lr /= decay_factor;
    }

    /// `lr ← lr · ratio`: one step of a cosine or warm-up schedule (nothing else changes).
    pub fn scale_lr(&mut self, ratio: f64) {
        self.config.lr *= ratio;
    }

    /// Divides the learning rate by `decay_factor` (if given) and resets every reference
    /// point to the average of the iterates since the last reset (LibAUC's
    /// `update_regularizer`; a no-op for the references when `epoch_decay` is 0).
    pub fn update_regularizer(&mut self, decay_factor: Option<f64>) {
        if let Some(f) = decay_factor {
            self.update_lr(f);
        }
        for s in self.states.values_mut() {
            if let Some(acc) = s.acc.take()
                && s.acc_steps > 0
            {
                s.reference = Some(acc / s.acc_steps as f64);
            }
            s.acc_steps = 0;
        }
    }
}

impl ProximalOptimizer {
    /// Stores the learning rate and every parameter's buffers under `prefix`, keyed by the
    /// parameter's position in `ids` (see [`crate::persist`]).
    pub fn save_state(
        &self,
        prefix: &str,
        ids: &[ParamId],
        s: &mut xrisk_data::snapshot::Snapshot,
    ) -> crate::Result<()> {
        s.put_scalar(format!("{prefix}.lr"), self.config.lr);
        if let Some(id) = self.states.keys().find(|id| !ids.contains(id)) {
            return Err(crate::persist::error(format!(
                "{prefix}: optimizer state for parameter {id} that is not part of the model"
            )));
        }
        for (j, id) in ids.iter().enumerate() {
            let Some(st) = self.states.get(id) else {
                continue;
            };
            let key = |f: &str| format!("{prefix}.{j}.{f}");
            s.put_scalar(key("steps"), st.steps as f64);
            s.put_scalar(key("acc_steps"), st.acc_steps as f64);
            for (f, t) in [
                ("buf", &st.buf),
                ("second", &st.second),
                ("reference", &st.reference),
                ("acc", &st.acc),
            ] {
                if let Some(t) = t {
                    let v = t.clone().into_data().convert::<f32>().try_to_vec::<f32>();
                    s.put_array(key(f), v.unwrap_or_default());
                }
            }
        }
        Ok(())
    }

    /// Restores what [`ProximalOptimizer::save_state`] stored, for the parameters `ids` (same
    /// order) of a model on `device`.
    pub fn restore_state(
        &mut self,
        prefix: &str,
        ids: &[ParamId],
        s: &xrisk_data::snapshot::Snapshot,
        device: &burn::tensor::Device,
    ) -> crate::Result<()> {
        use crate::persist::entry;
        let device = device.clone().without_autodiff();
        self.config.lr = entry(s.scalar(&format!("{prefix}.lr")))?;
        self.states.clear();
        for (j, id) in ids.iter().enumerate() {
            let key = |f: &str| format!("{prefix}.{j}.{f}");
            let Ok(steps) = s.count(&key("steps")) else {
                continue;
            };
            let tensor = |f: &str| {
                s.try_array(&key(f)).map(|v| {
                    Tensor::<1>::from_data(
                        burn::tensor::TensorData::new(v.to_vec(), [v.len()]),
                        &device,
                    )
                })
            };
            self.states.insert(
                *id,
                ParamState {
                    buf: tensor("buf"),
                    second: tensor("second"),
                    reference: tensor("reference"),
                    acc: tensor("acc"),
                    acc_steps: entry(s.count(&key("acc_steps")))?,
                    steps,
                },
            );
        }
        if let Some(extra) = s
            .array_names(&format!("{prefix}."))
            .filter_map(|n| n.strip_prefix(&format!("{prefix}.")))
            .filter_map(|r| r.split('.').next()?.parse::<usize>().ok())
            .find(|&j| j >= ids.len())
        {
            return Err(crate::persist::error(format!(
                "{prefix}: state for parameter {extra} but the model has {} parameters: the checkpoint belongs to another model",
                ids.len()
            )));
        }
        Ok(())
    }
}

struct StepMapper<'a> {
    config: SkeletonConfig,
    states: &'a mut HashMap<ParamId, ParamState>,
    grads: &'a mut GradientsParams,
}

impl ModuleMapper for StepMapper<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let require_grad = tensor.is_require_grad();
        let shape = tensor.shape();
        let n = shape.num_elements();
        let w: Tensor<1> = tensor.inner().reshape([n]);
        let grad: Tensor<1> = grad.reshape([n]).to_device(&w.device());
        let state = self.states.entry(id).or_default();
        let rows = if D > 1 { shape.dims::<D>()[0] } else { n };
        let updated = update(&self.config, state, w, grad, rows, D > 1);
        let mut t: Tensor<D> = Tensor::from_inner(updated.reshape(shape));
        if require_grad {
            t = t.require_grad();
        }
        Param::from_mapped_value(id, t, mapper)
    }
}

/// One skeleton update of a flattened parameter whose first dimension has `rows` rows;
/// `matrix`: the parameter has two or more dimensions (LARS treats vectors differently).
fn update(
    c: &SkeletonConfig,
    s: &mut ParamState,
    w: Tensor<1>,
    grad: Tensor<1>,
    rows: usize,
    matrix: bool,
) -> Tensor<1> {
    // LARS leaves vectors (biases, norms) without weight decay, proximal term or trust scaling.
    let lars_vector = !matrix && matches!(c.rule, UpdateRule::Lars { .. });
    let (weight_decay, epoch_decay) = if lars_vector {
        (0.0, 0.0)
    } else {
        (c.weight_decay, c.epoch_decay)
    };
    let w = if c.decoupled_weight_decay != 0.0 {
        w * (1.0 - c.lr * c.decoupled_weight_decay)
    } else {
        w
    };
    let mut g = match c.clip_value {
        Some(v) => grad.clamp(-v, v),
        None => grad,
    };
    if weight_decay != 0.0 {
        if let UpdateRule::SparseRowSgd { .. } = c.rule {
            // Only when some entry of the gradient is non-zero (SCENT).
            let any = g.clone().abs().sum().greater_elem(0.0).float();
            g = g + w.clone() * any * weight_decay;
        } else {
            g = g + w.clone() * weight_decay;
        }
    }
    if epoch_decay > 0.0 {
        let reference = s.reference.get_or_insert_with(|| w.clone()).clone();
        g = g + (w.clone() - reference) * epoch_decay;
    }
    s.steps += 1;
    let w = match c.rule {
        UpdateRule::Sgd {
            momentum,
            dampening,
            nesterov,
        }
        | UpdateRule::SparseRowSgd {
            momentum,
            dampening,
            nesterov,
        } => {
            let sparse = matches!(c.rule, UpdateRule::SparseRowSgd { .. });
            let step = if momentum == 0.0 {
                g
            } else {
                let buf = match s.buf.take() {
                    None => g.clone(),
                    Some(b) if sparse => {
                        let n = g.dims()[0];
                        let cols = n / rows.max(1);
                        let g2 = g.clone().reshape([rows, cols]);
                        let has = g2.clone().abs().sum_dim(1).greater_elem(0.0).float();
                        let b2 = b.reshape([rows, cols]);
                        let moved = b2.clone() * momentum + g2 * (1.0 - dampening);
                        // Rows without gradient keep their buffer: b + (moved − b)·has.
                        (b2.clone() + (moved - b2) * has).reshape([n])
                    }
                    Some(b) => b * momentum + g.clone() * (1.0 - dampening),
                };
                s.buf = Some(buf.clone());
                if nesterov { g + buf * momentum } else { buf }
            };
            w - step * c.lr
        }
        UpdateRule::Lars {
            momentum,
            trust_coefficient,
        } => {
            let step = if matrix {
                let norm = |t: &Tensor<1>| {
                    let sq = t.clone().square().sum().into_scalar::<f32>();
                    sq.elem::<f64>().sqrt()
                };
                let (wn, gn) = (norm(&w), norm(&g));
                if wn > 0.0 && gn > 0.0 {
                    g * (trust_coefficient * wn / gn)
                } else {
                    g
                }
            } else {
                g
            };
            let buf = match s.buf.take() {
                None => step,
                Some(b) => b * momentum + step,
            };
            s.buf = Some(buf.clone());
            w - buf * c.lr
        }
        UpdateRule::LibAucMomentum { momentum: 0.0 } => w - g * c.lr,
        UpdateRule::LibAucMomentum { momentum } => {
            let buf = match s.buf.take() {
                None => g,
                Some(b) => b * (1.0 - momentum) + g * momentum,
            };
            s.buf = Some(buf.clone());
            w - buf * c.lr
        }
        UpdateRule::WeightAveragedSgd { lr0, beta1 } => {
            let w = w - g * lr0;
            let avg = match s.second.take() {
                Some(a) if beta1 != 0.0 => a * (1.0 - beta1) + w * beta1,
                _ => w,
            };
            if beta1 != 0.0 {
                s.second = Some(avg.clone());
            }
            avg
        }
        UpdateRule::Adam { beta1, beta2, eps } => {
            let m = match s.buf.take() {
                None => g.clone() * (1.0 - beta1),
                Some(m) => m * beta1 + g.clone() * (1.0 - beta1),
            };
            let v = match s.second.take() {
                None => g.square() * (1.0 - beta2),
                Some(v) => v * beta2 + g.square() * (1.0 - beta2),
            };
            let t = s.steps as i32;
            let bc1 = 1.0 - beta1.powi(t);
            let bc2 = 1.0 - beta2.powi(t);
            let denom = v.clone().sqrt() / bc2.sqrt() + eps;
            s.buf = Some(m.clone());
            s.second = Some(v);
            w - m / denom * (c.lr / bc1)
        }
    };
    if epoch_decay > 0.0 {
        s.acc = Some(match s.acc.take() {
            None => w.clone(),
            Some(a) => a + w.clone(),
        });
        s.acc_steps += 1;
    }
    w
}

/// LibAUC's `SGD`: momentum (PyTorch convention), clip 1.0, no weight decay.
pub fn sgd(lr: f64, momentum: f64) -> SkeletonConfig {
    SkeletonConfig {
        lr,
        rule: UpdateRule::Sgd {
            momentum,
            dampening: 0.0,
            nesterov: false,
        },
        clip_value: Some(1.0),
        weight_decay: 0.0,
        decoupled_weight_decay: 0.0,
        epoch_decay: 0.0,
    }
}

/// LibAUC's `Adam`: β = (0.9, 0.999), ε = 1e-8, clip 1.0, no weight decay.
pub fn adam(lr: f64) -> SkeletonConfig {
    SkeletonConfig {
        lr,
        rule: UpdateRule::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        },
        clip_value: Some(1.0),
        weight_decay: 0.0,
        decoupled_weight_decay: 0.0,
        epoch_decay: 0.0,
    }
}

/// LibAUC's `AdamW`: Adam with clip 10.0 and decoupled weight decay 1e-2.
pub fn adamw(lr: f64) -> SkeletonConfig {
    SkeletonConfig {
        clip_value: Some(10.0),
        decoupled_weight_decay: 1e-2,
        ..adam(lr)
    }
}

/// SOAP (spec §3.3): Adam with clip 1.0 and weight decay 1e-5.
pub fn soap(lr: f64) -> SkeletonConfig {
    SkeletonConfig {
        weight_decay: 1e-5,
        ..adam(lr)
    }
}

/// SOPA (spec §3.3): Adam with clip 1.0, no weight decay. SOTA-s and STACO use the same.
pub fn sopa(lr: f64) -> SkeletonConfig {
    adam(lr)
}

/// SOTA-s (spec §3.3): as [`sopa`].
pub fn sota_s(lr: f64) -> SkeletonConfig {
    adam(lr)
}

/// STACO (spec §3.3): as [`sopa`].
pub fn staco(lr: f64) -> SkeletonConfig {
    adam(lr)
}

/// SOPA-s (spec §3.3): Adam with clip 2.0 and weight decay 1e-5.
pub fn sopa_s(lr: f64) -> SkeletonConfig {
    SkeletonConfig {
        clip_value: Some(2.0),
        ..soap(lr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// Settings outside their domain are refused by the library itself, naming the field.
    #[test]
    fn bad_settings_name_their_field() {
        let name = |r: Result<()>| match r {
            Err(XriskError::InvalidConfig { name, .. }) => name,
            other => panic!("accepted: {other:?}"),
        };
        assert!(PesgConfig::default().validate().is_ok());
        let p = PesgConfig {
            momentum: 1.5,
            ..PesgConfig::default()
        };
        assert_eq!(name(p.validate()), "momentum");
        let p = PesgConfig {
            lr: f64::NAN,
            ..PesgConfig::default()
        };
        assert_eq!(name(p.validate()), "lr");
        let p = PdscaConfig {
            clip_value: 0.0,
            ..PdscaConfig::default()
        };
        assert_eq!(name(p.validate()), "clip_value");
        let adam = SkeletonConfig {
            lr: 1e-3,
            rule: UpdateRule::Adam {
                beta1: 0.9,
                beta2: 1.0,
                eps: 1e-8,
            },
            clip_value: None,
            weight_decay: 0.0,
            decoupled_weight_decay: 0.0,
            epoch_decay: -1.0,
        };
        assert_eq!(name(adam.validate()), "epoch_decay");
        let adam = SkeletonConfig {
            epoch_decay: 0.0,
            ..adam
        };
        assert_eq!(name(adam.validate()), "beta2");
        assert!(ProximalOptimizer::try_new(adam).is_err());
    }

    fn t(v: &[f32]) -> Tensor<1> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &Device::flex())
    }

    fn run(c: SkeletonConfig, grads: &[[f32; 2]]) -> Vec<f32> {
        let mut s = ParamState::default();
        let mut w = t(&[1.0, -2.0]);
        for g in grads {
            w = update(&c, &mut s, w, t(g), g.len(), false);
        }
        w.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn sgd_momentum_clip_and_decay_by_hand() {
        let c = SkeletonConfig {
            lr: 0.1,
            rule: UpdateRule::Sgd {
                momentum: 0.5,
                dampening: 0.0,
                nesterov: false,
            },
            clip_value: Some(1.0),
            weight_decay: 0.1,
            decoupled_weight_decay: 0.0,
            epoch_decay: 0.0,
        };
        // step 1: g = clamp([3, -0.5]) + 0.1 w = [1.1, -0.7]; w = [0.89, -1.93]
        // step 2: g = [1, 0.2] + 0.1 w = [1.089, 0.007]; buf = 0.5*[1.1,-0.7] + g = [1.639, -0.343]
        let w = run(c, &[[3.0, -0.5], [5.0, 0.2]]);
        assert!(
            (w[0] - (0.89 - 0.1639)).abs() < 1e-6 && (w[1] - (-1.93 + 0.0343)).abs() < 1e-6,
            "{w:?}"
        );
    }

    #[test]
    fn libauc_momentum_weights_the_current_gradient() {
        let c = SkeletonConfig {
            lr: 1.0,
            rule: UpdateRule::LibAucMomentum { momentum: 0.9 },
            clip_value: None,
            weight_decay: 0.0,
            decoupled_weight_decay: 0.0,
            epoch_decay: 0.0,
        };
        // buf1 = g1 = [1, 1]; buf2 = 0.1*[1,1] + 0.9*[0, 2] = [0.1, 1.9]
        let w = run(c, &[[1.0, 1.0], [0.0, 2.0]]);
        assert!(
            (w[0] - (1.0 - 1.0 - 0.1)).abs() < 1e-6 && (w[1] - (-2.0 - 1.0 - 1.9)).abs() < 1e-6,
            "{w:?}"
        );
    }

    #[test]
    fn adam_first_step_moves_by_lr() {
        let w = run(adam(0.01), &[[0.3, -4.0]]);
        assert!(
            (w[0] - 0.99).abs() < 1e-5 && (w[1] + 1.99).abs() < 1e-5,
            "{w:?}"
        );
    }

    #[test]
    fn epoch_decay_pulls_toward_the_average_iterate() {
        let c = SkeletonConfig {
            lr: 1.0,
            rule: UpdateRule::Sgd {
                momentum: 0.0,
                dampening: 0.0,
                nesterov: false,
            },
            clip_value: None,
            weight_decay: 0.0,
            decoupled_weight_decay: 0.0,
            epoch_decay: 0.5,
        };
        let mut s = ParamState::default();
        // Reference starts at the initial weights: the first step sees no pull.
        let w = update(&c, &mut s, t(&[1.0]), t(&[0.0]), 1, false);
        assert_eq!(
            w.clone().into_data().try_to_vec::<f32>().unwrap(),
            vec![1.0]
        );
        let w = update(&c, &mut s, w + 1.0, t(&[0.0]), 1, false); // w = 2, ref = 1: g = 0.5 -> 1.5
        assert_eq!(
            w.clone().into_data().try_to_vec::<f32>().unwrap(),
            vec![1.5]
        );
        let mut opt = ProximalOptimizer::new(c);
        opt.states.insert(ParamId::new(), s);
        opt.update_regularizer(Some(2.0));
        let s = opt.states.values().next().unwrap();
        // average iterate of (1, 1.5) = 1.25
        assert_eq!(
            s.reference
                .clone()
                .unwrap()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap(),
            vec![1.25]
        );
        assert_eq!(opt.config.lr, 0.5);
    }
}
