//! PESG — Proximal Epoch Stochastic Gradient, the optimizer of [`crate::loss::AucmLoss`]
//! (spec `libauc_spec.md` §3.1): the skeleton on the model's weights and the loss's `a`, `b`,
//! then the closed-form dual ascent `α ← clamp(α + lr·(2(m + b − a) − 2α), 0, 999)`.

use super::{ProximalOptimizer, SkeletonConfig, UpdateRule};
use crate::loss::AucmLoss;
use burn::module::Module;
use burn::tensor::Gradients;

/// Settings of [`Pesg`] (LibAUC defaults: lr 0.1, momentum 0.9, clip 1.0, weight decay 1e-5,
/// epoch decay 2e-3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PesgConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum μ.
    pub momentum: f64,
    /// Element-wise clipping bound.
    pub clip_value: f64,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// Epoch-level proximal strength λ0.
    pub epoch_decay: f64,
    /// Use LibAUC 2.0.1's momentum `buf = (1−μ)·buf + μ·g` instead of heavy-ball
    /// (spec §11 #5); needed to reproduce LibAUC's published numbers with its learning rates.
    pub compat_2_0_1: bool,
}

impl Default for PesgConfig {
    fn default() -> Self {
        PesgConfig {
            lr: 0.1,
            momentum: 0.9,
            clip_value: 1.0,
            weight_decay: 1e-5,
            epoch_decay: 2e-3,
            compat_2_0_1: false,
        }
    }
}

/// The PESG optimizer.
#[derive(Debug, Clone)]
pub struct Pesg {
    /// The shared skeleton.
    pub inner: ProximalOptimizer,
}

impl PesgConfig {
    /// Checks every setting against its domain ([`super::SkeletonConfig::validate`]); the
    /// error names the field.
    pub fn validate(&self) -> crate::error::Result<()> {
        self.init().inner.config.validate()
    }

    /// Builds the optimizer.
    pub fn init(self) -> Pesg {
        let rule = if self.compat_2_0_1 {
            UpdateRule::LibAucMomentum {
                momentum: self.momentum,
            }
        } else {
            UpdateRule::Sgd {
                momentum: self.momentum,
                dampening: 0.0,
                nesterov: false,
            }
        };
        Pesg {
            inner: ProximalOptimizer::new(SkeletonConfig {
                lr: self.lr,
                rule,
                clip_value: Some(self.clip_value),
                weight_decay: self.weight_decay,
                decoupled_weight_decay: 0.0,
                epoch_decay: self.epoch_decay,
            }),
        }
    }
}

impl Pesg {
    /// One primal step on `model` and the loss's `a`, `b`, then the dual step on `α`.
    pub fn step<M: Module>(&mut self, model: M, loss: &mut AucmLoss, mut grads: Gradients) -> M {
        let gm = burn::optim::GradientsParams::from_module(&mut grads, &model);
        self.step_split(model, loss, gm, grads)
    }

    /// [`Pesg::step`] with the model's gradients already taken out of the backward pass (and,
    /// in data-parallel training, summed over the processes).
    pub fn step_split<M: Module>(
        &mut self,
        model: M,
        loss: &mut AucmLoss,
        model_grads: burn::optim::GradientsParams,
        grads: Gradients,
    ) -> M {
        let (model, params) =
            self.inner
                .step_with_loss_split(model, model_grads, loss.params.clone(), grads);
        loss.params = params;
        let (a, b) = loss.ab();
        let lr = self.inner.config.lr;
        loss.alpha = (loss.alpha + lr * (2.0 * (loss.config.margin + b - a) - 2.0 * loss.alpha))
            .clamp(0.0, 999.0);
        model
    }
}

impl Pesg {
    /// The multi-label step (spec §2.2, §3.1): the primal step on `model` and every task's
    /// `a_t`, `b_t`, then per task `α_t ← clamp(α_t + lr·(2(m + b_t − a_t) − 2α_t), 0, 999)`.
    pub fn step_multilabel<M: Module>(
        &mut self,
        model: M,
        loss: &mut crate::loss::MultiLabelAucmLoss,
        mut grads: Gradients,
    ) -> M {
        let gm = burn::optim::GradientsParams::from_module(&mut grads, &model);
        self.step_multilabel_split(model, loss, gm, grads)
    }

    /// [`Pesg::step_multilabel`] with the model's gradients already taken out of the backward
    /// pass (and, in data-parallel training, summed over the processes); the tasks' `a`, `b`
    /// come from `grads`, complete on every process.
    pub fn step_multilabel_split<M: Module>(
        &mut self,
        model: M,
        loss: &mut crate::loss::MultiLabelAucmLoss,
        model_grads: burn::optim::GradientsParams,
        grads: Gradients,
    ) -> M {
        let (model, params) =
            self.inner
                .step_with_loss_split(model, model_grads, loss.params.clone(), grads);
        loss.params = params;
        let host = |t: burn::tensor::Tensor<1>| -> Vec<f64> {
            t.into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap_or_default()
                .into_iter()
                .map(f64::from)
                .collect()
        };
        let (a, b) = (host(loss.params.a.val()), host(loss.params.b.val()));
        let lr = self.inner.config.lr;
        let m = loss.config.margin;
        for (k, alpha) in loss.alpha.iter_mut().enumerate() {
            *alpha = (*alpha + lr * (2.0 * (m + b[k] - a[k]) - 2.0 * *alpha)).clamp(0.0, 999.0);
        }
        model
    }
}

/// PESG's and PDSCA's closed-form dual step `α ← clamp(α + lr·(2(m + b − a) − 2α), 0, 999)`,
/// with the updated `a`, `b`.
pub(crate) fn dual_ascent(loss: &mut AucmLoss, lr: f64) {
    let (a, b) = loss.ab();
    loss.alpha = (loss.alpha + lr * (2.0 * (loss.config.margin + b - a) - 2.0 * loss.alpha))
        .clamp(0.0, 999.0);
}
