//! `xrisk train --config FILE.toml`: any data × model × loss × optimizer × sampler.

use crate::config::{Config, DataConfig, LossConfig, OptimizerConfig};
use crate::plot::{Series, unit_square_png};
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use xrisk::loss::*;
use xrisk::model::{Mlp, Scorer};
use xrisk::optim::{
    PdscaConfig, PesgConfig, ProximalOptimizer, SkeletonConfig, UpdateRule, adam, adamw, sgd,
};
use xrisk::resnet::ResNet;
use xrisk::surrogate::Surrogate;
use xrisk::train::{Objective, Optimizer, predict};
use xrisk_data::Dataset;
use xrisk_data::sampler::{DualSampler, RandomSampler};

/// Arguments of `xrisk train`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  xrisk train --config examples/ap_soap.toml\n  \
xrisk train --config examples/aucm_pesg.toml --out runs/aucm --json\n\nSee examples/ for a config per loss."
)]
pub struct TrainArgs {
    /// The run's TOML configuration.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Folder for metrics.jsonl (one line per epoch), the final model and a copy of the config.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Override `[train] epochs`.
    #[arg(long)]
    epochs: Option<usize>,
    /// Print the final test metrics as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Test metrics of one evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Metrics {
    pub auroc: f64,
    pub auprc: f64,
    pub pauc: f64,
}

/// What one epoch did.
#[derive(Debug, Clone, Copy)]
pub struct EpochReport {
    pub epoch: usize,
    pub train_loss: f64,
    pub lr: f64,
    pub test: Metrics,
    /// Seconds spent training (sampling, forward, backward, update), evaluation excluded.
    pub seconds: f64,
}

/// Turns raw labels into the 0/1 labels of a binary task (see `[data]` in the docs).
fn binarize(mut d: Dataset, cfg: &DataConfig, seed: u64, subsample: bool) -> Result<Dataset> {
    match (cfg.positive_class, cfg.imratio) {
        (Some(pc), Some(r)) if subsample => Ok(xrisk_data::one_vs_rest(&d, pc, r, seed)?),
        (Some(pc), _) => {
            d.labels
                .iter_mut()
                .for_each(|l| *l = if *l == pc { 1.0 } else { 0.0 });
            Ok(d)
        }
        (None, Some(r)) => {
            let g = xrisk_data::ImbalancedDataGenerator {
                imratio: if subsample { r } else { 0.5 },
                shuffle: true,
                seed,
            };
            Ok(g.transform(&d)?)
        }
        (None, None) => {
            let mut values: Vec<f32> = d.labels.clone();
            values.sort_by(f32::total_cmp);
            values.dedup();
            if values.iter().all(|&v| v == 0.0 || v == 1.0) {
                Ok(d)
            } else if values.iter().all(|&v| v == -1.0 || v == 1.0) {
                d.labels
                    .iter_mut()
                    .for_each(|l| *l = if *l > 0.0 { 1.0 } else { 0.0 });
                Ok(d)
            } else {
                bail!(
                    "[data]: the labels take {} values ({:?}…); set positive_class (one vs rest) or imratio (LibAUC's split of the classes)",
                    values.len(),
                    &values[..values.len().min(5)]
                )
            }
        }
    }
}

fn read(
    cfg: &DataConfig,
    which: &str,
    path: &Path,
    labels: Option<&PathBuf>,
    n_features: Option<usize>,
) -> Result<Dataset> {
    let d = match cfg.format.as_str() {
        "svmlight" => xrisk_data::readers::svmlight::read_svmlight(
            path,
            xrisk_data::readers::svmlight::SvmlightOptions { n_features },
        )?,
        "csv" | "tsv" => {
            let t = xrisk_data::readers::table::read_table(
                path,
                if cfg.format == "csv" { b',' } else { b'\t' },
                true,
            )?;
            let col = t.column_index(cfg.label_column.as_deref().unwrap_or("label"))?;
            t.into_dataset(&[col])?
        }
        "idx" => {
            let labels =
                labels.with_context(|| format!("[data] format = \"idx\" needs {which}_labels"))?;
            xrisk_data::readers::idx::read_idx_images(path, labels)?
        }
        "keel" => xrisk_data::readers::keel::read_keel(path)?,
        other => bail!(
            "[data] format = \"{other}\" is not known; use svmlight, csv, tsv, idx, keel or embedded-fashion-mnist"
        ),
    };
    Ok(d)
}

/// Loads the train and test parts of a binary task.
pub fn prepare_data(cfg: &DataConfig, seed: u64) -> Result<(Dataset, Dataset)> {
    let split = |all: Dataset| -> Result<(Dataset, Dataset)> {
        let task = binarize(all, cfg, seed, true)?;
        let (tr, te) =
            xrisk_data::train_test_split(&task.labels, cfg.test_fraction.unwrap_or(0.3), seed)?;
        Ok((task.select(&tr), task.select(&te)))
    };
    if cfg.format == "embedded-fashion-mnist" {
        if cfg.train.is_some() || cfg.test.is_some() {
            bail!("[data] format = \"embedded-fashion-mnist\" takes no train/test paths");
        }
        return split(crate::embedded::fashion_mnist()?);
    }
    let train_path = cfg
        .train
        .as_ref()
        .context("[data] needs `train` (a file path)")?;
    let train = read(
        cfg,
        "train",
        train_path,
        cfg.train_labels.as_ref(),
        cfg.n_features,
    )?;
    match &cfg.test {
        None => split(train),
        Some(test_path) => {
            let n_features = cfg.n_features.or(Some(train.dim));
            let test = read(cfg, "test", test_path, cfg.test_labels.as_ref(), n_features)?;
            if test.dim != train.dim {
                bail!(
                    "train has {} features per row but test has {}",
                    train.dim,
                    test.dim
                );
            }
            Ok((
                binarize(train, cfg, seed, true)?,
                binarize(test, cfg, seed, false)?,
            ))
        }
    }
}

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
        )),
        "ap" => Objective::Ap(ApLoss::new(
            ApConfig {
                gamma: c.gamma.unwrap_or(0.9),
                margin: c.margin.unwrap_or(1.0),
                surrogate: surrogate(c.surrogate.as_deref(), c.scale, sh)?,
                ..ApConfig::new(n)
            },
            device,
        )),
        "pauc_dro" => Objective::PAucDro(PAucDroLoss::new(
            PAucDroConfig {
                gamma: c.gamma.unwrap_or(0.9),
                margin: c.margin.unwrap_or(1.0),
                lambda: c.lambda.unwrap_or(1.0),
                surrogate: surrogate(c.surrogate.as_deref(), c.scale, sh)?,
                ..PAucDroConfig::new(n)
            },
            device,
        )),
        "pauc_cvar" => Objective::PAucCvar(PAucCvarLoss::new(
            PAucCvarConfig {
                beta: c.beta.unwrap_or(0.2),
                eta: c.eta.unwrap_or(0.1),
                margin: c.margin.unwrap_or(1.0),
                surrogate: surrogate(c.surrogate.as_deref(), c.scale, sh)?,
                ..PAucCvarConfig::new(n)
            },
            device,
        )),
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
        )),
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
            ))
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

/// Builds the optimizer with LibAUC's defaults for anything not set.
pub fn build_optimizer(c: &OptimizerConfig) -> Result<Optimizer> {
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
        other => bail!(
            "[optimizer] kind = \"{other}\" is not known; use pesg, pdsca, soap, sopa, sopas, sotas, staco, sgd, adam or adamw"
        ),
    })
}

/// The `[channels, height, width]` a ResNet reads the rows as.
fn image_shape(cfg: &Config, dim: usize) -> Result<[usize; 3]> {
    let shape = match (cfg.model.input_shape, dim) {
        (Some(s), _) => s,
        (None, 784) => [1, 28, 28],
        (None, 3072) => [3, 32, 32],
        (None, d) => bail!(
            "[model] kind = \"{}\": set input_shape = [channels, height, width] for rows of {d} features",
            cfg.model.kind
        ),
    };
    if shape.iter().product::<usize>() != dim || !matches!(shape[0], 1 | 3) {
        bail!(
            "[model] input_shape = {shape:?} does not describe rows of {dim} features with 1 or 3 channels"
        );
    }
    Ok(shape)
}

/// Trains the `[model]` of `cfg` (see [`fit`]); saves it as `model.bpk` into `save_into`.
pub fn fit_configured(
    cfg: &Config,
    train: &Dataset,
    test: &Dataset,
    bar: &ProgressBar,
    on_epoch: impl FnMut(&EpochReport) -> Result<()>,
    save_into: Option<&Path>,
) -> Result<Vec<f64>> {
    fn save<M: Module>(model: M, dir: Option<&Path>) -> Result<()> {
        if let Some(dir) = dir {
            model.save_file(dir.join("model")).map_err(|e| {
                anyhow::anyhow!("cannot save the model into {}: {e:?}", dir.display())
            })?;
        }
        Ok(())
    }
    let dim = train.dim;
    match cfg.model.kind.as_str() {
        "linear" | "mlp" => {
            let hidden = if cfg.model.kind == "linear" {
                vec![]
            } else {
                cfg.model.hidden.clone().unwrap_or_else(|| vec![128])
            };
            let (m, s) = fit(
                cfg,
                train,
                test,
                bar,
                |d| Ok(Mlp::new(dim, &hidden, d)),
                on_epoch,
            )?;
            save(m, save_into)?;
            Ok(s)
        }
        "resnet20" | "resnet18" => {
            let shape = image_shape(cfg, dim)?;
            let r18 = cfg.model.kind == "resnet18";
            let build = |d: &Device| {
                Ok(if r18 {
                    ResNet::resnet18(shape, d)
                } else {
                    ResNet::resnet20(shape, d)
                })
            };
            let (m, s) = fit(cfg, train, test, bar, build, on_epoch)?;
            save(m, save_into)?;
            Ok(s)
        }
        other => {
            bail!("[model] kind = \"{other}\" is not known; use linear, mlp, resnet20 or resnet18")
        }
    }
}

fn batch_tensor(data: &Dataset, ids: &[usize], device: &Device) -> Tensor<2> {
    let mut x = Vec::with_capacity(ids.len() * data.dim);
    for &i in ids {
        x.extend_from_slice(data.row(i));
    }
    Tensor::from_data(TensorData::new(x, [ids.len(), data.dim]), device)
}

/// Test metrics of logits `scores`.
pub fn evaluate(test: &Dataset, scores: &[f64], max_fpr: f64) -> Result<Metrics> {
    let y: Vec<f64> = test.labels.iter().map(|&l| f64::from(l)).collect();
    if let Some(i) = scores.iter().position(|v| !v.is_finite()) {
        bail!(
            "the model's test score {i} is {}: training diverged; lower the learning rate",
            scores[i]
        );
    }
    Ok(Metrics {
        auroc: xrisk_metrics::auroc(&y, scores)?,
        auprc: xrisk_metrics::average_precision(&y, scores)?,
        pauc: xrisk_metrics::pauc_one_way(&y, scores, max_fpr)?,
    })
}

/// Trains per `cfg` and reports every epoch; returns the model and its final test scores.
pub fn fit<M: Scorer>(
    cfg: &Config,
    train: &Dataset,
    test: &Dataset,
    bar: &ProgressBar,
    build: impl FnOnce(&Device) -> Result<M>,
    mut on_epoch: impl FnMut(&EpochReport) -> Result<()>,
) -> Result<(M, Vec<f64>)> {
    let device = Device::flex().autodiff();
    device.seed(cfg.train.seed);
    let mut model = build(&device)?;
    let mut objective = build_objective(&cfg.loss, train.len(), &device)?;
    let mut optimizer = build_optimizer(&cfg.optimizer)?;
    if !optimizer.compatible(&objective) {
        bail!(
            "[optimizer] kind = \"{}\" cannot train [loss] kind = \"{}\" (pesg ↔ aucm, pdsca ↔ compositional_auc)",
            cfg.optimizer.kind,
            cfg.loss.kind
        );
    }
    let mut sampler = build_sampler(cfg, train)?;
    let decay_epochs = cfg.train.decay_epochs();
    // Test scores of the latest evaluation (each epoch ends with one).
    let mut scores = None;
    for epoch in 0..cfg.train.epochs {
        let start = Instant::now();
        if decay_epochs.contains(&epoch) {
            optimizer.decay(cfg.train.decay_factor);
        }
        let batches = sampler.next_epoch();
        let mut total = 0.0;
        for (step, ids) in batches.iter().enumerate() {
            let y: Vec<f32> = ids.iter().map(|&i| train.labels[i]).collect();
            let z = model.score(batch_tensor(train, ids, &device));
            let loss = objective.forward(z, &y, ids)?;
            let value = loss.clone().into_scalar::<f32>() as f64;
            if !value.is_finite() {
                bail!(
                    "epoch {} step {}: the loss is {value}; training diverged — lower the learning rate",
                    epoch + 1,
                    step + 1
                );
            }
            total += value;
            model = optimizer.step(model, &mut objective, loss);
            bar.inc(1);
        }
        // Training time only: the evaluation below is reported, not timed.
        let seconds = start.elapsed().as_secs_f64();
        let epoch_scores = predict(&model, &test.features, test.dim, &device);
        let report = EpochReport {
            epoch: epoch + 1,
            train_loss: total / batches.len().max(1) as f64,
            lr: optimizer.lr(),
            test: evaluate(test, &epoch_scores, cfg.train.max_fpr)?,
            seconds,
        };
        on_epoch(&report)?;
        scores = Some(epoch_scores);
    }
    let scores = scores.unwrap_or_else(|| predict(&model, &test.features, test.dim, &device));
    Ok((model, scores))
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
    Ok(build_sampler(cfg, train)?.num_batches())
}

fn metrics_json(m: &Metrics, max_fpr: f64) -> serde_json::Value {
    json!({"auroc": m.auroc, "auprc": m.auprc, "pauc": m.pauc, "pauc_max_fpr": max_fpr})
}

/// Runs `xrisk train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let mut cfg = crate::config::load(&args.config)?;
    if let Some(e) = args.epochs {
        cfg.train.epochs = e;
    }
    if let Some(t) = cfg.train.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .context("cannot set [train] threads")?;
    }
    let (train, test) = prepare_data(&cfg.data, cfg.train.seed)?;
    eprintln!(
        "data: train {} ({} positive), test {} ({} positive), {} features",
        train.len(),
        train.positives(),
        test.len(),
        test.positives(),
        train.dim
    );
    let mut log = match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the output folder {}", dir.display()))?;
            std::fs::copy(&args.config, dir.join("config.toml"))
                .with_context(|| format!("cannot write into {}", dir.display()))?;
            let p = dir.join("metrics.jsonl");
            Some(
                std::fs::File::create(&p)
                    .with_context(|| format!("cannot write {}", p.display()))?,
            )
        }
        None => None,
    };
    let bar = ProgressBar::new((steps_per_epoch(&cfg, &train)? * cfg.train.epochs) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {elapsed} {msg}")
            .expect("static template"),
    );
    let max_fpr = cfg.train.max_fpr;
    let on_epoch = |r: &EpochReport| {
        let line = json!({"epoch": r.epoch, "train_loss": r.train_loss, "lr": r.lr, "seconds": r.seconds,
                          "test": metrics_json(&r.test, max_fpr)});
        bar.suspend(|| {
            eprintln!(
                "epoch {:>3}  loss {:>9.5}  lr {:.2e}  test AUROC {:.4}  AUPRC {:.4}  pAUC(FPR≤{max_fpr}) {:.4}  {:.1}s",
                r.epoch, r.train_loss, r.lr, r.test.auroc, r.test.auprc, r.test.pauc, r.seconds
            )
        });
        if let Some(f) = log.as_mut() {
            writeln!(f, "{line}").context("cannot append to metrics.jsonl")?;
        }
        Ok(())
    };
    let scores = fit_configured(&cfg, &train, &test, &bar, on_epoch, args.out.as_deref())?;
    bar.finish_and_clear();
    let final_metrics = evaluate(&test, &scores, max_fpr)?;
    if let Some(dir) = &args.out {
        let y: Vec<f64> = test.labels.iter().map(|&l| f64::from(l)).collect();
        let name = cfg.loss.kind.as_str();
        let roc = xrisk_metrics::roc_curve(&y, &scores)?;
        let pr = xrisk_metrics::precision_recall_curve(&y, &scores)?;
        let roc = [Series {
            name,
            points: roc.iter().map(|q| (q.fpr, q.tpr)).collect(),
        }];
        let pr = [Series {
            name,
            points: pr.iter().map(|q| (q.recall, q.precision)).collect(),
        }];
        let title = format!("{} test rows", test.len());
        unit_square_png(
            &dir.join("roc.png"),
            &format!("ROC — {title}"),
            "false-positive rate",
            "true-positive rate",
            &roc,
            true,
        )?;
        unit_square_png(
            &dir.join("pr.png"),
            &format!("Precision–recall — {title}"),
            "recall",
            "precision",
            &pr,
            false,
        )?;
        eprintln!(
            "wrote {} (metrics.jsonl, model.bpk, config.toml, roc.png, pr.png)",
            dir.display()
        );
    }
    let out = json!({"test": metrics_json(&final_metrics, max_fpr)});
    if args.json {
        println!("{out}");
    } else {
        println!(
            "test: AUROC {:.4}  AUPRC {:.4}  pAUC(FPR≤{max_fpr}) {:.4}",
            final_metrics.auroc, final_metrics.auprc, final_metrics.pauc
        );
    }
    Ok(())
}
