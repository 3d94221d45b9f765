//! From the config to the objects a run trains with: the loss (`[loss]`), the optimizer
//! (`[optimizer]`, LibAUC's defaults for what is not set, checked against each setting's
//! domain) and the sampler (`[sampler]`), written once for every family.

use crate::config::{Config, LossConfig, OptimizerConfig};
use anyhow::{Result, bail};
use burn::tensor::Device;
use xrisk::loss::*;
use xrisk::optim::{
    PdscaConfig, PesgConfig, ProximalOptimizer, SkeletonConfig, SogClrConfig, SogClrMode,
    UpdateRule, adam, adamw, sgd,
};
use xrisk::surrogate::Surrogate;
use xrisk::train::{Objective, Optimizer};
use xrisk_data::Dataset;
use xrisk_data::sampler::{DualSampler, RandomSampler};

fn surrogate(name: Option<&str>, scale: Option<f64>, default: Surrogate) -> Result<Surrogate> {
    Ok(match name {
        None => default,
        Some("squared_hinge") => Surrogate::SquaredHinge,
        Some("squared") => Surrogate::Squared,
        Some("hinge") => Surrogate::Hinge,
        Some("logistic") => Surrogate::Logistic,
        Some("barrier_hinge") => Surrogate::BarrierHinge {
            scale: scale.unwrap_or(1.0),
        },
        Some(other) => bail!(
            "[loss] surrogate = \"{other}\" is not known; use squared_hinge, squared, hinge, logistic or barrier_hinge"
        ),
    })
}

fn version(v: Option<&str>) -> Result<AucmVersion> {
    Ok(match v {
        None | Some("v1") => AucmVersion::V1,
        Some("v2") => AucmVersion::V2,
        Some(other) => bail!("[loss] version = \"{other}\": use v1 or v2"),
    })
}

/// Builds the loss for a training set of `n` samples.
pub fn build_objective(c: &LossConfig, n: usize, device: &Device) -> Result<Objective> {
    let sh = Surrogate::SquaredHinge;
    Ok(match c.kind.as_str() {
        "aucm" => Objective::Aucm(AucmLoss::new(
            AucmConfig {
                margin: c.margin.unwrap_or(1.0),
                version: version(c.version.as_deref())?,
            },
            device,
        )),
        "compositional_auc" => Objective::Compositional(CompositionalAucLoss::new(
            AucmConfig {
                margin: c.margin.unwrap_or(1.0),
                version: version(c.version.as_deref())?,
            },
            c.k.unwrap_or(1),
            device,
        )?),
        "ap" => Objective::Ap(ApLoss::new(
            ApConfig {
                gamma: c.gamma.unwrap_or(0.9),
                margin: c.margin.unwrap_or(1.0),
                surrogate: surrogate(c.surrogate.as_deref(), c.scale, sh)?,
                ..ApConfig::new(n)
            },
            device,
        )?),
        "pauc_dro" => Objective::PAucDro(PAucDroLoss::new(
            PAucDroConfig {
                gamma: c.gamma.unwrap_or(0.9),
                margin: c.margin.unwrap_or(1.0),
                lambda: c.lambda.unwrap_or(1.0),
                surrogate: surrogate(c.surrogate.as_deref(), c.scale, sh)?,
                ..PAucDroConfig::new(n)
            },
            device,
        )?),
        "pauc_cvar" => Objective::PAucCvar(PAucCvarLoss::new(
            PAucCvarConfig {
                beta: c.beta.unwrap_or(0.2),
                eta: c.eta.unwrap_or(0.1),
                margin: c.margin.unwrap_or(1.0),
                surrogate: surrogate(c.surrogate.as_deref(), c.scale, sh)?,
                ..PAucCvarConfig::new(n)
            },
            device,
        )?),
        "tpauc_kl" => Objective::TpAucKl(TpAucKlLoss::new(
            TpAucKlConfig {
                tau: c.tau.unwrap_or(1.0),
                lambda: c.lambda.unwrap_or(1.0),
                gammas: c.gammas.unwrap_or((0.9, 0.9)),
                margin: c.margin.unwrap_or(1.0),
                surrogate: surrogate(c.surrogate.as_deref(), c.scale, sh)?,
                ..TpAucKlConfig::new(n)
            },
            device,
        )?),
        "tpauc_cvar" => {
            let d = TpAucCvarConfig::new(n);
            Objective::TpAucCvar(TpAucCvarLoss::new(
                TpAucCvarConfig {
                    margin: c.margin.unwrap_or(d.margin),
                    alpha: c.alpha.unwrap_or(d.alpha),
                    beta_0: c.beta_0.unwrap_or(d.beta_0),
                    beta_1: c.beta_1.unwrap_or(d.beta_1),
                    theta_0: c.theta_0.unwrap_or(d.theta_0),
                    theta_1: c.theta_1.unwrap_or(d.theta_1),
                    surrogate: surrogate(c.surrogate.as_deref(), c.scale, sh)?,
                    ..d
                },
                device,
            )?)
        }
        "pairwise_auc" => Objective::Pairwise(PairwiseAucLoss {
            surrogate: surrogate(c.surrogate.as_deref(), c.scale, Surrogate::Logistic)?,
            hparam: c.hparam.unwrap_or(1.0),
        }),
        "ce" => Objective::Ce(CrossEntropyLoss),
        "focal" => Objective::Focal(FocalLoss {
            alpha: c.alpha.unwrap_or(0.25),
            gamma: c.gamma.unwrap_or(2.0),
        }),
        other => bail!("[loss] kind = \"{other}\" is not known"),
    })
}

/// [`build_optimizer`] for losses without a dual or phase state (any skeleton-only optimizer);
/// `needs` ends the error for the other kinds (`[optimizer] kind = "pesg": NEEDS`).
pub fn build_plain_optimizer(c: &OptimizerConfig, needs: &str) -> Result<ProximalOptimizer> {
    match build_optimizer(c)? {
        Optimizer::Plain(o) => Ok(o),
        _ => bail!("[optimizer] kind = \"{}\": {needs}", c.kind),
    }
}

/// Builds the optimizer with LibAUC's defaults for anything not set.
pub fn build_optimizer(c: &OptimizerConfig) -> Result<Optimizer> {
    let o = build_unchecked_optimizer(c)?;
    o.validate()
        .map_err(|e| anyhow::anyhow!("[optimizer] {e}"))?;
    Ok(o)
}

/// [`build_optimizer`] before the library's own check of the settings.
fn build_unchecked_optimizer(c: &OptimizerConfig) -> Result<Optimizer> {
    let lr = |default: Option<f64>| -> Result<f64> {
        match c.lr.or(default) {
            Some(v) if v > 0.0 && v.is_finite() => Ok(v),
            Some(v) => bail!("[optimizer] lr = {v} must be a positive number"),
            None => bail!("[optimizer] kind = \"{}\" needs lr", c.kind),
        }
    };
    // SOAP-family defaults (spec §3.3): (clip, weight decay, dampening in sgd mode).
    let family = |clip: f64, wd: f64, damp: f64| -> Result<Optimizer> {
        let rule = match c.mode.as_deref() {
            None | Some("adam") => UpdateRule::Adam {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            Some("sgd") => UpdateRule::Sgd {
                momentum: c.momentum.unwrap_or(0.9),
                dampening: c.dampening.unwrap_or(damp),
                nesterov: c.nesterov.unwrap_or(false),
            },
            Some(other) => bail!("[optimizer] mode = \"{other}\": use sgd or adam"),
        };
        Ok(Optimizer::Plain(ProximalOptimizer::new(SkeletonConfig {
            lr: lr(Some(1e-3))?,
            rule,
            clip_value: Some(c.clip_value.unwrap_or(clip)),
            weight_decay: c.weight_decay.unwrap_or(wd),
            decoupled_weight_decay: 0.0,
            epoch_decay: c.epoch_decay.unwrap_or(0.0),
        })))
    };
    Ok(match c.kind.as_str() {
        "pesg" => {
            let d = PesgConfig::default();
            Optimizer::Pesg(
                PesgConfig {
                    lr: lr(Some(d.lr))?,
                    momentum: c.momentum.unwrap_or(d.momentum),
                    clip_value: c.clip_value.unwrap_or(d.clip_value),
                    weight_decay: c.weight_decay.unwrap_or(d.weight_decay),
                    epoch_decay: c.epoch_decay.unwrap_or(d.epoch_decay),
                    compat_2_0_1: c.compat_2_0_1.unwrap_or(false),
                }
                .init(),
            )
        }
        "pdsca" => {
            let d = PdscaConfig::default();
            Optimizer::Pdsca(
                PdscaConfig {
                    lr: lr(Some(d.lr))?,
                    lr0: c.lr0,
                    beta1: c.beta1.unwrap_or(d.beta1),
                    beta2: c.beta2.unwrap_or(d.beta2),
                    clip_value: c.clip_value.unwrap_or(d.clip_value),
                    weight_decay: c.weight_decay.unwrap_or(d.weight_decay),
                    epoch_decay: c.epoch_decay.unwrap_or(d.epoch_decay),
                }
                .init(),
            )
        }
        "soap" => family(1.0, 1e-5, 0.1)?,
        "sopas" => family(2.0, 1e-5, 0.1)?,
        "sopa" | "sotas" | "staco" => family(1.0, 0.0, 0.0)?,
        "sgd" => Optimizer::Plain(ProximalOptimizer::new(SkeletonConfig {
            rule: UpdateRule::Sgd {
                momentum: c.momentum.unwrap_or(0.0),
                dampening: c.dampening.unwrap_or(0.0),
                nesterov: c.nesterov.unwrap_or(false),
            },
            clip_value: Some(c.clip_value.unwrap_or(1.0)),
            weight_decay: c.weight_decay.unwrap_or(0.0),
            epoch_decay: c.epoch_decay.unwrap_or(0.0),
            ..sgd(lr(None)?, 0.0)
        })),
        "adam" => Optimizer::Plain(ProximalOptimizer::new(SkeletonConfig {
            clip_value: Some(c.clip_value.unwrap_or(1.0)),
            weight_decay: c.weight_decay.unwrap_or(0.0),
            epoch_decay: c.epoch_decay.unwrap_or(0.0),
            ..adam(lr(Some(1e-3))?)
        })),
        "adamw" => Optimizer::Plain(ProximalOptimizer::new(SkeletonConfig {
            clip_value: Some(c.clip_value.unwrap_or(10.0)),
            decoupled_weight_decay: c.weight_decay.unwrap_or(1e-2),
            epoch_decay: c.epoch_decay.unwrap_or(0.0),
            ..adamw(lr(Some(1e-3))?)
        })),
        "sogclr" | "isogclr" | "lars" => {
            let base = match c.kind.as_str() {
                "sogclr" => SogClrConfig::sogclr(lr(None)?),
                "isogclr" => SogClrConfig::isogclr(lr(None)?),
                _ => SogClrConfig::lars(lr(None)?),
            };
            let mode = match c.mode.as_deref() {
                None | Some("lars") => SogClrMode::Lars,
                Some("adamw") if c.kind != "lars" => SogClrMode::AdamW,
                Some(other) => bail!(
                    "[optimizer] mode = \"{other}\": {} takes lars{}",
                    c.kind,
                    if c.kind == "lars" { "" } else { " or adamw" }
                ),
            };
            Optimizer::Plain(
                SogClrConfig {
                    mode,
                    momentum: c.momentum.unwrap_or(base.momentum),
                    weight_decay: c.weight_decay.unwrap_or(base.weight_decay),
                    epoch_decay: c.epoch_decay.unwrap_or(base.epoch_decay),
                    clip_value: c.clip_value.unwrap_or(base.clip_value),
                    trust_coefficient: c.trust_coefficient.unwrap_or(base.trust_coefficient),
                    ..base
                }
                .init()
                .map_err(|e| anyhow::anyhow!("[optimizer] {e}"))?,
            )
        }
        other => bail!(
            "[optimizer] kind = \"{other}\" is not known; use pesg, pdsca, soap, sopa, sopas, sotas, staco, sgd, adam, adamw, sogclr, isogclr or lars"
        ),
    })
}

/// The `[sampler]` of a run: controlled positives or plain shuffling.
pub enum Sampler {
    /// LibAUC's DualSampler.
    Dual(DualSampler),
    /// Shuffled batches (drop-last).
    Random(RandomSampler),
}

impl Sampler {
    /// The batches of the next epoch.
    pub fn next_epoch(&mut self) -> Vec<Vec<usize>> {
        match self {
            Sampler::Dual(d) => d.next_epoch(),
            Sampler::Random(r) => r.next_epoch(),
        }
    }

    /// Batches per epoch.
    pub fn num_batches(&self) -> usize {
        match self {
            Sampler::Dual(d) => d.num_batches(),
            Sampler::Random(r) => r.num_batches(),
        }
    }
}

/// Builds the sampler of `cfg` over `train` (default: dual for X-risk losses, random for
/// ce/focal).
pub fn build_sampler(cfg: &Config, train: &Dataset) -> Result<Sampler> {
    let s = &cfg.sampler;
    let dual = match s.kind.as_deref() {
        Some("dual") => true,
        Some("random") => false,
        None => !matches!(cfg.loss.kind.as_str(), "ce" | "focal"),
        Some(other) => bail!("[sampler] kind = \"{other}\": use dual or random"),
    };
    Ok(if dual {
        Sampler::Dual(DualSampler::new(
            &train.labels,
            s.batch_size,
            s.sampling_rate,
            cfg.train.seed,
        )?)
    } else {
        Sampler::Random(RandomSampler::new(
            train.len(),
            s.batch_size,
            true,
            cfg.train.seed,
        )?)
    })
}

/// Steps per epoch of the configured sampler (for progress bars).
pub fn steps_per_epoch(cfg: &Config, train: &Dataset) -> Result<usize> {
    let n = build_sampler(cfg, train)?.num_batches();
    Ok(cfg.train.max_steps_per_epoch.map_or(n, |c| c.min(n)))
}
