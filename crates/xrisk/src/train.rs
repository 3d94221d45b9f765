//! One training step for any X-risk objective and its optimizer: the glue that `xrisk train`,
//! `xrisk demo` and user code share. The model maps features to one logit per sample; the
//! AUC-family losses see `sigmoid(logit)` (LibAUC's convention, spec §1.3), CE and focal the
//! logits.
//!
//! One PESG step of an AUC-margin model, the way `xrisk train` does it:
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use xrisk::loss::{AucmConfig, AucmLoss};
//! use xrisk::model::{Mlp, Scorer};
//! use xrisk::optim::PesgConfig;
//! use xrisk::train::{Objective, Optimizer};
//!
//! let device = Device::flex().autodiff();
//! let mut model = Mlp::new(3, &[8], &device);
//! let mut objective = Objective::Aucm(AucmLoss::new(AucmConfig::default(), &device));
//! let mut optimizer = Optimizer::Pesg(PesgConfig::default().init());
//! let x = Tensor::<2>::from_floats([[0.1, 0.2, 0.3], [0.9, 0.1, 0.4], [0.5, 0.5, 0.5]], &device);
//! let (labels, ids) = ([1.0, 0.0, 0.0], [0, 1, 2]);
//! let loss = objective.forward(model.score(x), &labels, &ids)?;
//! model = optimizer.step(model, &mut objective, loss);
//! if let Objective::Aucm(l) = &objective {
//!     assert!(l.alpha > 0.0, "PESG's dual ascent moved α");
//! }
//! # Ok::<(), xrisk::XriskError>(())
//! ```

use crate::error::Result;
use crate::loss::{
    ApLoss, AucmLoss, CompositionalAucLoss, CrossEntropyLoss, FocalLoss, PAucCvarLoss, PAucDroLoss,
    PairwiseAucLoss, TpAucCvarLoss, TpAucKlLoss,
};
use crate::model::Scorer;
use crate::optim::{Pdsca, Pesg, ProximalOptimizer};
use crate::persist::Persist;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use xrisk_data::snapshot::Snapshot;

/// A loss with whatever state it keeps.
// One value per training run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Objective {
    /// Binary cross-entropy on logits.
    Ce(CrossEntropyLoss),
    /// Focal loss on logits.
    Focal(FocalLoss),
    /// AUC-margin (PESG).
    Aucm(AucmLoss),
    /// Compositional AUC (PDSCA).
    Compositional(CompositionalAucLoss),
    /// Average precision (SOAP).
    Ap(ApLoss),
    /// One-way pAUC, KL-DRO (SOPA-s).
    PAucDro(PAucDroLoss),
    /// One-way pAUC, CVaR (SOPA).
    PAucCvar(PAucCvarLoss),
    /// Two-way pAUC, KL-DRO (SOTA-s).
    TpAucKl(TpAucKlLoss),
    /// Two-way pAUC, CVaR (STACO).
    TpAucCvar(TpAucCvarLoss),
    /// Pairwise AUC surrogate.
    Pairwise(PairwiseAucLoss),
}

impl Objective {
    /// The loss of a batch of logits `z` with 0/1 labels and sample ids.
    pub fn forward(&mut self, z: Tensor<1>, labels: &[f32], ids: &[usize]) -> Result<Tensor<1>> {
        match self {
            Objective::Ce(l) => l.forward(z, labels),
            Objective::Focal(l) => l.forward(z, labels),
            Objective::Aucm(l) => l.forward(sigmoid(z), labels),
            Objective::Compositional(l) => l.forward(sigmoid(z), labels),
            Objective::Ap(l) => l.forward(sigmoid(z), labels, ids),
            Objective::PAucDro(l) => l.forward(sigmoid(z), labels, ids),
            Objective::PAucCvar(l) => l.forward(sigmoid(z), labels, ids),
            Objective::TpAucKl(l) => l.forward(sigmoid(z), labels, ids),
            Objective::TpAucCvar(l) => l.forward(sigmoid(z), labels, ids),
            Objective::Pairwise(l) => l.forward(sigmoid(z), labels),
        }
    }
}

impl Objective {
    /// The ids of the loss's own trainable tensors (`a`, `b` of AUCM and compositional AUC),
    /// which the optimizer updates after the model's.
    pub fn param_ids(&self) -> Vec<burn::module::ParamId> {
        match self {
            Objective::Aucm(l) => crate::persist::param_ids(&l.params),
            Objective::Compositional(l) => crate::persist::param_ids(&l.aucm.params),
            _ => Vec::new(),
        }
    }

    /// Stores the loss's state (tables, scalars, `a`, `b`, `α`) under `loss.*`.
    pub fn save_state(&self, s: &mut Snapshot) {
        let p = "loss";
        match self {
            Objective::Aucm(l) => l.save(p, s),
            Objective::Compositional(l) => l.save(p, s),
            Objective::Ap(l) => l.save(p, s),
            Objective::PAucDro(l) => l.save(p, s),
            Objective::PAucCvar(l) => l.save(p, s),
            Objective::TpAucKl(l) => l.save(p, s),
            Objective::TpAucCvar(l) => l.save(p, s),
            Objective::Ce(_) | Objective::Focal(_) | Objective::Pairwise(_) => {}
        }
    }

    /// Restores what [`Objective::save_state`] stored.
    pub fn restore_state(&mut self, s: &Snapshot) -> Result<()> {
        let p = "loss";
        match self {
            Objective::Aucm(l) => l.restore(p, s),
            Objective::Compositional(l) => l.restore(p, s),
            Objective::Ap(l) => l.restore(p, s),
            Objective::PAucDro(l) => l.restore(p, s),
            Objective::PAucCvar(l) => l.restore(p, s),
            Objective::TpAucKl(l) => l.restore(p, s),
            Objective::TpAucCvar(l) => l.restore(p, s),
            Objective::Ce(_) | Objective::Focal(_) | Objective::Pairwise(_) => Ok(()),
        }
    }

    /// The X-risk objective estimated from the per-sample state tables (spec §1.1): the outer
    /// functions applied to the tracked inner values `u_i`, averaged over the anchors visited
    /// so far. `None` for losses without compositional state (CE, focal, pairwise, AUCM,
    /// compositional AUC: their epoch mean of batch losses is already an unbiased estimate)
    /// and for the CVaR losses (their tables hold thresholds, not inner averages).
    ///
    /// * AP (SOAP): mean over positives of `u⁺_i / u_i`, the smoothed average precision
    ///   (higher is better);
    /// * one-way pAUC, KL-DRO (SOPA-s): `λ · mean_i ln u_i`, with `u_i ≈ mean_j exp(ℓ_ij/λ)`;
    /// * two-way pAUC, KL-DRO (SOTA-s): `τ · ln w`, with `w ≈ mean_i u_i^{λ/τ}`.
    pub fn state_estimate(&self) -> Option<(&'static str, f64)> {
        match self {
            Objective::Ap(l) => {
                let (all, pos) = l.state();
                let (mut sum, mut n) = (0.0, 0usize);
                for (a, p) in all.iter().zip(&pos) {
                    if *a > 0.0 {
                        sum += f64::from(*p) / f64::from(*a);
                        n += 1;
                    }
                }
                (n > 0).then(|| ("smoothed AP (u+/u)", sum / n as f64))
            }
            Objective::PAucDro(l) => {
                let u = l.state();
                let logs: Vec<f64> = u
                    .iter()
                    .filter(|&&v| v > 0.0)
                    .map(|&v| f64::from(v).ln())
                    .collect();
                (!logs.is_empty()).then(|| {
                    (
                        "KL-DRO pAUC risk λ·mean ln u",
                        l.config().lambda * logs.iter().sum::<f64>() / logs.len() as f64,
                    )
                })
            }
            Objective::TpAucKl(l) => {
                let (_, w) = l.state();
                (w > 0.0).then(|| ("two-way KL-DRO risk τ·ln w", l.config().tau * w.ln()))
            }
            _ => None,
        }
    }
}

/// An optimizer: PESG and PDSCA also update the loss's `a`, `b`, `α`.
#[derive(Debug, Clone)]
pub enum Optimizer {
    /// PESG (needs [`Objective::Aucm`]).
    Pesg(Pesg),
    /// PDSCA (needs [`Objective::Compositional`]).
    Pdsca(Pdsca),
    /// Any skeleton optimizer (SOAP, SOPA, SOPA-s, SOTA-s, STACO, SGD, Adam, AdamW).
    Plain(ProximalOptimizer),
}

impl Optimizer {
    /// Checks the optimizer's settings ([`crate::optim::SkeletonConfig::validate`]): the error
    /// names the field, before a bad value turns the weights into NaN.
    pub fn validate(&self) -> Result<()> {
        match self {
            Optimizer::Pesg(o) => o.inner.config.validate(),
            Optimizer::Pdsca(o) => o.inner.config.validate(),
            Optimizer::Plain(o) => o.config.validate(),
        }
    }

    /// Whether this optimizer can drive `objective`.
    pub fn compatible(&self, objective: &Objective) -> bool {
        match self {
            Optimizer::Pesg(_) => matches!(objective, Objective::Aucm(_)),
            Optimizer::Pdsca(_) => matches!(objective, Objective::Compositional(_)),
            Optimizer::Plain(_) => {
                !matches!(objective, Objective::Aucm(_) | Objective::Compositional(_))
            }
        }
    }

    /// One update of `model` (and the loss's own parameters) from the gradients of `loss`.
    pub fn step<M: Module>(&mut self, model: M, objective: &mut Objective, loss: Tensor<1>) -> M {
        let grads = loss.backward();
        match (self, objective) {
            (Optimizer::Pesg(o), Objective::Aucm(l)) => o.step(model, l, grads),
            (Optimizer::Pdsca(o), Objective::Compositional(l)) => o.step(model, l, grads),
            (Optimizer::Pesg(o), _) => Self::plain(&mut o.inner, model, grads),
            (Optimizer::Pdsca(o), _) => Self::plain(&mut o.inner, model, grads),
            (Optimizer::Plain(o), _) => Self::plain(o, model, grads),
        }
    }

    /// [`Optimizer::step`] in data-parallel training (see [`crate::dist`]): `loss` is the
    /// global batch's loss computed from [`crate::dist::gather_logits`]; the model's gradients
    /// are summed over the group before the update, the loss's own (`a`, `b`) are complete on
    /// every process already. Returns the model and the number of gradient values exchanged.
    pub fn step_distributed<M: Module>(
        &mut self,
        model: M,
        objective: &mut Objective,
        loss: Tensor<1>,
        comm: &mut dyn crate::dist::Collective,
    ) -> Result<(M, usize)> {
        let mut grads = loss.backward();
        let mut gm = GradientsParams::from_module(&mut grads, &model);
        let exchanged = crate::dist::all_reduce_grads(&model, &mut gm, comm)?;
        let model = match (self, objective) {
            (Optimizer::Pesg(o), Objective::Aucm(l)) => o.step_split(model, l, gm, grads),
            (Optimizer::Pdsca(o), Objective::Compositional(l)) => o.step_split(model, l, gm, grads),
            (Optimizer::Pesg(o), _) => o.inner.step(model, &mut gm),
            (Optimizer::Pdsca(o), _) => o.inner.step(model, &mut gm),
            (Optimizer::Plain(o), _) => o.step(model, &mut gm),
        };
        Ok((model, exchanged))
    }

    fn plain<M: Module>(o: &mut ProximalOptimizer, model: M, grads: burn::tensor::Gradients) -> M {
        let mut g = GradientsParams::from_grads(grads, &model);
        o.step(model, &mut g)
    }

    /// The learning-rate decay of LibAUC's schedules: divide the learning rate by `factor`;
    /// PESG also moves its reference point to the average iterate (`update_regularizer`).
    pub fn decay(&mut self, factor: f64) {
        match self {
            Optimizer::Pesg(o) => o.inner.update_regularizer(Some(factor)),
            Optimizer::Pdsca(o) => o.update_lr(Some(factor), Some(factor)),
            Optimizer::Plain(o) => {
                if o.config.epoch_decay > 0.0 {
                    o.update_regularizer(Some(factor))
                } else {
                    o.update_lr(factor)
                }
            }
        }
    }

    /// Multiplies the learning rate by `ratio` (one step of a cosine or warm-up schedule;
    /// PDSCA's cross-entropy learning rate too). Unlike [`Optimizer::decay`], PESG's reference
    /// point stays where it is.
    pub fn scale_lr(&mut self, ratio: f64) {
        match self {
            Optimizer::Pesg(o) => o.inner.scale_lr(ratio),
            Optimizer::Pdsca(o) => o.scale_lr(ratio),
            Optimizer::Plain(o) => o.scale_lr(ratio),
        }
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            Optimizer::Pesg(o) => o.inner.config.lr,
            Optimizer::Pdsca(o) => o.inner.config.lr,
            Optimizer::Plain(o) => o.config.lr,
        }
    }
}

impl Optimizer {
    fn skeleton(&self) -> &ProximalOptimizer {
        match self {
            Optimizer::Pesg(o) => &o.inner,
            Optimizer::Pdsca(o) => &o.inner,
            Optimizer::Plain(o) => o,
        }
    }

    /// Stores the optimizer's state under `optimizer.*`; `ids` are the model's parameter ids
    /// followed by [`Objective::param_ids`].
    pub fn save_state(&self, ids: &[burn::module::ParamId], s: &mut Snapshot) -> Result<()> {
        if let Optimizer::Pdsca(o) = self {
            s.put_scalar("optimizer.lr0", o.lr0());
        }
        self.skeleton().save_state("optimizer", ids, s)
    }

    /// Restores what [`Optimizer::save_state`] stored, for a model on `device` whose ids
    /// (and the loss's) are `ids`.
    pub fn restore_state(
        &mut self,
        ids: &[burn::module::ParamId],
        s: &Snapshot,
        device: &Device,
    ) -> Result<()> {
        let inner = match self {
            Optimizer::Pesg(o) => &mut o.inner,
            Optimizer::Pdsca(o) => {
                o.set_lr0(crate::persist::entry(s.scalar("optimizer.lr0"))?);
                &mut o.inner
            }
            Optimizer::Plain(o) => o,
        };
        inner.restore_state("optimizer", ids, s, device)
    }
}

/// Logits of `x` in chunks, without autodiff, as f64 on the host.
pub fn predict<M: Scorer>(model: &M, x: &[f32], dim: usize, device: &Device) -> Vec<f64> {
    let eval = model.valid();
    let device = device.clone().without_autodiff();
    let n = x.len() / dim.max(1);
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(2048) {
        let end = (start + 2048).min(n);
        let t: Tensor<2> = Tensor::from_data(
            burn::tensor::TensorData::new(x[start * dim..end * dim].to_vec(), [end - start, dim]),
            &device,
        );
        let z = eval
            .score(t)
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        out.extend(z.into_iter().map(f64::from));
    }
    out
}
