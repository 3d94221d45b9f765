//! PDSCA — Primal-Dual Stochastic Compositional Adaptive, the optimizer of
//! [`crate::loss::CompositionalAucLoss`] (spec `libauc_spec.md` §3.2). On the loss's
//! cross-entropy steps: `w ← w − lr0·g` followed by the weight average
//! `w̄ ← (1−β1)·w̄ + β1·w`, `w ← w̄`; on its AUC steps: the moving gradient
//! `z ← (1−β2)·z + β2·g`, `w ← w − lr·z`, then PESG's dual step on `α`. The branch follows
//! the kind of step the loss took (LibAUC 2.0.1 decides from `alpha.grad`, which is never
//! cleared, so after the first AUC step it always takes the AUC branch: spec §11 #7).

use super::pesg::dual_ascent;
use super::{ProximalOptimizer, SkeletonConfig, UpdateRule};
use crate::loss::CompositionalAucLoss;
use burn::module::Module;
use burn::tensor::Gradients;

/// Settings of [`Pdsca`] (LibAUC defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PdscaConfig {
    /// Step size of the AUC branch (default 0.1).
    pub lr: f64,
    /// Step size of the cross-entropy branch (default: `lr`).
    pub lr0: Option<f64>,
    /// Weight-averaging factor of the CE branch (default 0.99).
    pub beta1: f64,
    /// Gradient-averaging factor of the AUC branch (default 0.999).
    pub beta2: f64,
    /// Element-wise clipping bound (default 1.0).
    pub clip_value: f64,
    /// L2 weight decay (default 1e-5).
    pub weight_decay: f64,
    /// Epoch-level proximal strength (default 2e-3).
    pub epoch_decay: f64,
}

impl Default for PdscaConfig {
    fn default() -> Self {
        PdscaConfig {
            lr: 0.1,
            lr0: None,
            beta1: 0.99,
            beta2: 0.999,
            clip_value: 1.0,
            weight_decay: 1e-5,
            epoch_decay: 2e-3,
        }
    }
}

/// The PDSCA optimizer.
#[derive(Debug, Clone)]
pub struct Pdsca {
    /// The shared skeleton (its rule is switched per step).
    pub inner: ProximalOptimizer,
    lr0: f64,
    beta1: f64,
    beta2: f64,
}

impl PdscaConfig {
    /// Checks every setting against its domain ([`super::SkeletonConfig::validate`]); the
    /// error names the field.
    pub fn validate(&self) -> crate::error::Result<()> {
        self.init().inner.config.validate()
    }

    /// Builds the optimizer.
    pub fn init(self) -> Pdsca {
        Pdsca {
            inner: ProximalOptimizer::new(SkeletonConfig {
                lr: self.lr,
                rule: UpdateRule::LibAucMomentum {
                    momentum: self.beta2,
                },
                clip_value: Some(self.clip_value),
                weight_decay: self.weight_decay,
                decoupled_weight_decay: 0.0,
                epoch_decay: self.epoch_decay,
            }),
            lr0: self.lr0.unwrap_or(self.lr),
            beta1: self.beta1,
            beta2: self.beta2,
        }
    }
}

impl Pdsca {
    /// The learning rate of the cross-entropy phase.
    pub fn lr0(&self) -> f64 {
        self.lr0
    }

    /// Sets the learning rate of the cross-entropy phase (used when resuming).
    pub fn set_lr0(&mut self, lr0: f64) {
        self.lr0 = lr0;
    }

    /// Divides `lr` by `decay_factor` and `lr0` by `decay_factor0` (LibAUC's `update_lr`).
    pub fn update_lr(&mut self, decay_factor: Option<f64>, decay_factor0: Option<f64>) {
        if let Some(f) = decay_factor {
            self.inner.update_lr(f);
        }
        if let Some(f0) = decay_factor0 {
            self.lr0 /= f0;
        }
    }

    /// Multiplies `lr` and `lr0` by `ratio` (one step of a cosine or warm-up schedule).
    pub fn scale_lr(&mut self, ratio: f64) {
        self.inner.scale_lr(ratio);
        self.lr0 *= ratio;
    }

    /// One step after `loss.forward`, on `model` and the loss's `a`, `b` (and `α` after an
    /// AUC step).
    pub fn step<M: Module>(
        &mut self,
        model: M,
        loss: &mut CompositionalAucLoss,
        mut grads: Gradients,
    ) -> M {
        let gm = burn::optim::GradientsParams::from_module(&mut grads, &model);
        self.step_split(model, loss, gm, grads)
    }

    /// [`Pdsca::step`] with the model's gradients already taken out of the backward pass (and,
    /// in data-parallel training, summed over the processes).
    pub fn step_split<M: Module>(
        &mut self,
        model: M,
        loss: &mut CompositionalAucLoss,
        model_grads: burn::optim::GradientsParams,
        grads: Gradients,
    ) -> M {
        let auc = loss.last_was_auc();
        self.inner.config.rule = if auc {
            UpdateRule::LibAucMomentum {
                momentum: self.beta2,
            }
        } else {
            UpdateRule::WeightAveragedSgd {
                lr0: self.lr0,
                beta1: self.beta1,
            }
        };
        let (model, params) =
            self.inner
                .step_with_loss_split(model, model_grads, loss.aucm.params.clone(), grads);
        loss.aucm.params = params;
        if auc {
            dual_ascent(&mut loss.aucm, self.inner.config.lr);
        }
        model
    }
}
