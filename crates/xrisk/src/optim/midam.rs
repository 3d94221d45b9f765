//! MIDAM — the optimizer of [`crate::loss::MidamLoss`] (spec `libauc_spec.md` §3.7): the
//! skeleton on the model's weights and the loss's `a`, `b` with `g = ∇ + wd·w` (no clipping)
//! and the moving-average momentum `buf ← μ·buf + (1−μ)·g` (first `buf = g`; μ = 0 is plain
//! SGD), `w ← w − lr·buf`; then the dual step `α ← max(0, α + lr·((m + b − a) − α))`.

use super::{ProximalOptimizer, SkeletonConfig, UpdateRule};
use crate::loss::MidamLoss;
use burn::module::Module;
use burn::tensor::Gradients;

/// Settings of [`Midam`]. LibAUC's code has no defaults (lr required, momentum 0, weight
/// decay 0); its MIL tutorial uses lr 1e-2, momentum 0.1, weight decay 1e-4, which
/// [`MidamConfig::default`] takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MidamConfig {
    /// Learning rate (also the dual step size).
    pub lr: f64,
    /// Moving-average weight μ of the previous buffer.
    pub momentum: f64,
    /// L2 weight decay (applied to `a`, `b` too, as in LibAUC).
    pub weight_decay: f64,
}

impl Default for MidamConfig {
    fn default() -> Self {
        MidamConfig {
            lr: 1e-2,
            momentum: 0.1,
            weight_decay: 1e-4,
        }
    }
}

/// The MIDAM optimizer.
#[derive(Debug, Clone)]
pub struct Midam {
    /// The shared skeleton.
    pub inner: ProximalOptimizer,
}

impl MidamConfig {
    /// Checks every setting against its domain ([`super::SkeletonConfig::validate`]); the
    /// error names the field.
    pub fn validate(&self) -> crate::error::Result<()> {
        self.init().inner.config.validate()
    }

    /// Builds the optimizer.
    pub fn init(self) -> Midam {
        Midam {
            inner: ProximalOptimizer::new(SkeletonConfig {
                lr: self.lr,
                // PyTorch's SGD with dampening μ is exactly `μ·buf + (1−μ)·g`, first `buf = g`.
                rule: UpdateRule::Sgd {
                    momentum: self.momentum,
                    dampening: self.momentum,
                    nesterov: false,
                },
                clip_value: None,
                weight_decay: self.weight_decay,
                decoupled_weight_decay: 0.0,
                epoch_decay: 0.0,
            }),
        }
    }
}

impl Midam {
    /// One primal step on `model` and the loss's `a`, `b`, then the dual step on `α`.
    pub fn step<M: Module>(&mut self, model: M, loss: &mut MidamLoss, mut grads: Gradients) -> M {
        let gm = burn::optim::GradientsParams::from_module(&mut grads, &model);
        self.step_split(model, loss, gm, grads)
    }

    /// [`Midam::step`] with the model's gradients already taken out of the backward pass (and,
    /// in data-parallel training, summed over the processes); `a`, `b` come from `grads`,
    /// complete on every process.
    pub fn step_split<M: Module>(
        &mut self,
        model: M,
        loss: &mut MidamLoss,
        model_grads: burn::optim::GradientsParams,
        grads: Gradients,
    ) -> M {
        let (model, params) =
            self.inner
                .step_with_loss_split(model, model_grads, loss.params.clone(), grads);
        loss.params = params;
        let (a, b) = loss.ab();
        let lr = self.inner.config.lr;
        loss.alpha = (loss.alpha + lr * ((loss.config().margin + b - a) - loss.alpha)).max(0.0);
        model
    }

    /// Divides the learning rate by `decay_factor` (LibAUC's `update_lr`).
    pub fn update_lr(&mut self, decay_factor: f64) {
        self.inner.update_lr(decay_factor);
    }

    /// Multiplies the learning rate by `ratio` (one step of a cosine or warm-up schedule).
    pub fn scale_lr(&mut self, ratio: f64) {
        self.inner.scale_lr(ratio);
    }
}
