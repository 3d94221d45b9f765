//! `xrisk train --config FILE.toml`: any data × model × loss × optimizer × sampler.

use crate::config::{Config, DataConfig, LossConfig, OptimizerConfig};
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use xrisk::densenet::DenseNet;
use xrisk::dist::{Collective, gather_logits, shard};
use xrisk::loss::*;
use xrisk::model::{Mlp, Scorer};
use xrisk::optim::{
    PdscaConfig, PesgConfig, ProximalOptimizer, SkeletonConfig, SogClrConfig, SogClrMode,
    UpdateRule, adam, adamw, sgd,
};
use xrisk::resnet::ResNet;
use xrisk::surrogate::Surrogate;
use xrisk::train::{Objective, Optimizer, predict};
use xrisk_data::Dataset;
use xrisk_data::registry::{fetched_file, paths};
use xrisk_data::sampler::{DualSampler, RandomSampler};
use xrisk_data::snapshot::Snapshot;

/// Arguments of `xrisk train`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  xrisk train --config examples/ap_soap.toml\n  \
xrisk train --config examples/aucm_pesg.toml --out runs/aucm --json\n  \
xrisk train --resume runs/aucm   # after an interruption\n  \
xrisk train --config examples/ap_soap.toml --world-size 2 --rank 0 --coordinator 127.0.0.1:29500 --out runs/ap2\n  \
xrisk train --config examples/ap_soap.toml --world-size 2 --rank 1 --coordinator 127.0.0.1:29500\n\nSee examples/ for a config per loss; docs/distributed.md for data-parallel runs."
)]
pub struct TrainArgs {
    /// The run's TOML configuration.
    #[arg(long, value_name = "FILE", required_unless_present = "resume")]
    config: Option<PathBuf>,
    /// Folder for the run: metrics.jsonl (one line per epoch), checkpoint.bin (after every
    /// epoch), the final model, the report (report.html with curves) and a copy of the config.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the run in DIR from its last checkpoint (same config, data and seed); the
    /// result equals an uninterrupted run bit for bit.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "epochs"])]
    resume: Option<PathBuf>,
    /// Also write a checkpoint every N training steps (default: only at the end of each epoch).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: Option<u64>,
    /// Override `[train] epochs`.
    #[arg(long)]
    epochs: Option<usize>,
    /// Override `[train] max_steps_per_epoch`: stop every epoch after N steps (smoke tests,
    /// timing).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_steps_per_epoch: Option<u64>,
    /// Print the final test metrics as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Data-parallel training (binary AUC-family, CE and focal runs).
    #[command(flatten)]
    dist: crate::distributed::DistArgs,
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
    /// The X-risk objective estimated from the loss's state tables (name, value), if any.
    pub objective: Option<(&'static str, f64)>,
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

pub(crate) fn read(
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
        "csv" | "tsv" | "parquet" => {
            let t = if cfg.format == "parquet" {
                xrisk_data::readers::parquet::read_parquet(path)?
            } else {
                xrisk_data::readers::table::read_table(
                    path,
                    if cfg.format == "csv" { b',' } else { b'\t' },
                    true,
                )?
            };
            let t = drop_columns(t, cfg.drop_columns.as_deref().unwrap_or(&[]))
                .with_context(|| format!("[data] drop_columns in {}", path.display()))?;
            let col = t.column_index(cfg.label_column.as_deref().unwrap_or("label"))?;
            t.into_dataset(&[col])?
        }
        "idx" => {
            let labels =
                labels.with_context(|| format!("[data] format = \"idx\" needs {which}_labels"))?;
            xrisk_data::readers::idx::read_idx_images(path, labels)?
        }
        "keel" => xrisk_data::readers::keel::read_keel(path)?,
        "image_folder" => {
            use xrisk_data::readers::image_folder::{ImageFolderOptions, read_image_folder};
            let opts = ImageFolderOptions {
                size: cfg.size,
                channels: cfg.channels,
            };
            let f = read_image_folder(path, opts)
                .with_context(|| format!("[data] {which} = \"{}\"", path.display()))?;
            let pos = cfg
                .positive
                .as_deref()
                .map(|name| f.class_label(name).context("[data] positive"))
                .transpose()?;
            let mut d = f.dataset;
            if let Some(pos) = pos {
                d.labels
                    .iter_mut()
                    .for_each(|l| *l = if *l == pos { 1.0 } else { 0.0 });
            }
            d
        }
        other => bail!(
            "[data] format = \"{other}\" is not known; use svmlight, csv, tsv, parquet, idx, keel, image_folder or embedded-fashion-mnist"
        ),
    };
    Ok(d)
}

/// The table without the columns `names` (ids and other non-features).
fn drop_columns(
    t: xrisk_data::readers::table::NumericTable,
    names: &[String],
) -> Result<xrisk_data::readers::table::NumericTable> {
    if names.is_empty() {
        return Ok(t);
    }
    let drop: Vec<usize> = names
        .iter()
        .map(|n| t.column_index(n))
        .collect::<std::result::Result<_, _>>()?;
    let w = t.columns.len();
    let keep: Vec<usize> = (0..w).filter(|c| !drop.contains(c)).collect();
    let values = t
        .values
        .chunks(w.max(1))
        .flat_map(|row| keep.iter().map(|&c| row[c]).collect::<Vec<_>>())
        .collect();
    Ok(xrisk_data::readers::table::NumericTable {
        columns: keep.iter().map(|&c| t.columns[c].clone()).collect(),
        values,
    })
}

/// The data sets `xrisk train` reads by name (`[data] dataset`) for binary tasks: the file in
/// the fetched copy, its format, label column and non-feature columns.
fn named_binary_dataset(cfg: &DataConfig) -> Result<Option<DataConfig>> {
    match cfg.dataset.as_deref() {
        None => Ok(None),
        Some("protein-kddcup04") => Ok(Some(DataConfig {
            format: "parquet".into(),
            train: Some(fetched_file("protein-kddcup04", paths::PROTEIN_TRAIN)?),
            label_column: Some("target".into()),
            drop_columns: Some(vec!["EXAMPLE_ID".into(), "BLOCK_ID".into()]),
            dataset: None,
            ..cfg.clone()
        })),
        Some(other) => bail!(
            "[data] dataset = \"{other}\": binary runs know protein-kddcup04 (ranking: movielens-100k, mslr10k-subset; bags: format = \"mil\"; yeast: multi-label; letter: many-class)"
        ),
    }
}

/// Refuses a run whose dense model `input → hidden… → outputs` (with its gradients, optimizer
/// state and a batch's activations) cannot fit in the memory still available, before the model
/// is allocated; `key` names the configuration key to lower (`xrisk::resources`).
pub fn check_dense_memory(
    cfg: &Config,
    key: &str,
    input: usize,
    hidden: &[usize],
    outputs: usize,
) -> Result<()> {
    let mut plan = xrisk::resources::MemoryPlan::new();
    plan.mlp(
        key,
        input,
        hidden,
        outputs,
        cfg.sampler.batch_size,
        xrisk::resources::optimizer_copies(&cfg.optimizer.kind, true),
    );
    Ok(plan.check_available()?)
}

/// A seeded random split of `all` into (train, test) rows, `test_fraction` of them held out.
pub fn random_split(all: &Dataset, test_fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
    let (tr, te) = xrisk_data::train_test_split(&vec![0.0; all.len()], test_fraction, seed)?;
    Ok((all.select(&tr), all.select(&te)))
}

/// Applies `[data] normalize`, fitted on `train`, to both parts.
pub fn normalize_features(cfg: &DataConfig, train: &mut Dataset, test: &mut Dataset) -> Result<()> {
    if let Some(how) = normalize_kind(cfg)? {
        xrisk_data::scaler::normalize(how, train, &mut [test])?;
    }
    Ok(())
}

/// `[data] normalize`, parsed (`None` when absent).
pub fn normalize_kind(cfg: &DataConfig) -> Result<Option<xrisk_data::scaler::Normalize>> {
    cfg.normalize
        .as_deref()
        .map(|n| n.parse().map_err(|e| anyhow::anyhow!("[data] {e}")))
        .transpose()
}

/// Loads the train and test parts of a binary task (with `[data] normalize` applied).
pub fn prepare_data(cfg: &DataConfig, seed: u64) -> Result<(Dataset, Dataset)> {
    let named = named_binary_dataset(cfg)?;
    let cfg = named.as_ref().unwrap_or(cfg);
    let (mut train, mut test) = load_parts(cfg, seed)?;
    normalize_features(cfg, &mut train, &mut test)?;
    Ok((train, test))
}

fn load_parts(cfg: &DataConfig, seed: u64) -> Result<(Dataset, Dataset)> {
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
/// `needs` ends the error for the other kinds ("[optimizer] kind = \"pesg\": NEEDS").
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

/// The `[channels, height, width]` a ResNet reads the rows as.
fn image_shape(cfg: &Config, dim: usize) -> Result<[usize; 3]> {
    let square = |c: usize| {
        let side = ((dim / c) as f64).sqrt().round() as usize;
        (side * side * c == dim).then_some([c, side, side])
    };
    let shape = match (cfg.model.input_shape, dim) {
        (Some(s), _) => s,
        (None, 784) => [1, 28, 28],
        (None, 3072) => [3, 32, 32],
        // Image folders: the rows' shape follows from [data] size, or square images.
        (None, d) if cfg.data.format == "image_folder" => match cfg.data.size {
            Some([h, w]) if h * w > 0 && d.is_multiple_of(h * w) => [d / (h * w), h, w],
            _ => square(1).or_else(|| square(3)).with_context(|| {
                format!("[data] format = \"image_folder\": set [data] size = [height, width] for images of {d} values")
            })?,
        },
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

/// Where a run keeps its checkpoints and final model, and what it resumes from.
pub struct Persistence {
    /// The run's output folder (`checkpoint.bin`, `checkpoint.prev.bin`, `model.bpk`).
    pub dir: PathBuf,
    /// Also checkpoint every this many steps within an epoch.
    pub every_steps: Option<u64>,
    /// Run-level entries (`run.*`, `data.*`) copied into every checkpoint.
    pub meta: Snapshot,
    /// The checkpoint to continue from.
    pub resume: Option<Snapshot>,
}

/// The checkpoint file of a run folder.
pub fn checkpoint_path(dir: &Path) -> PathBuf {
    dir.join("checkpoint.bin")
}

/// The previous checkpoint, kept when a new one is written.
pub fn previous_checkpoint_path(dir: &Path) -> PathBuf {
    dir.join("checkpoint.prev.bin")
}

/// Test hook of the reliability tests: with `XRISK_FAULT_FULL_DISK_AFTER=N` in the environment,
/// the checkpoint writes of this process after the first `N` fail as on a full disk — the bytes
/// go to `/dev/full`, which the kernel answers with "No space left on device" — through the same
/// atomic-write path (temporary file created, then removed), so a test fills the disk at a
/// chosen checkpoint instead of racing the run. Unset (or not a number), nothing changes.
fn disk_full_now() -> bool {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let after = std::env::var("XRISK_FAULT_FULL_DISK_AFTER")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok());
    let n = WRITES.fetch_add(1, Ordering::SeqCst);
    after.is_some_and(|a| n >= a)
}

impl Persistence {
    /// Writes a checkpoint atomically; the one it replaces becomes `checkpoint.prev.bin`.
    pub(crate) fn write(&self, mut state: Snapshot) -> Result<()> {
        for name in self.meta.scalar_names() {
            state.put_scalar(name, self.meta.scalar(name)?);
        }
        for name in self.meta.text_names() {
            state.put_text(name, self.meta.text(name)?);
        }
        // The new checkpoint is complete on disk before the old one moves: a failure at any
        // point (full disk, kill -9) leaves checkpoint.bin or checkpoint.prev.bin whole.
        let path = checkpoint_path(&self.dir);
        let fresh = self.dir.join("checkpoint.new.bin");
        let written = if disk_full_now() {
            xrisk_data::snapshot::write_atomic(&fresh, |_| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")?
                    .write_all(&state.encode())
            })
        } else {
            state.write_atomic(&fresh)
        };
        written.with_context(|| {
            format!(
                "cannot write a checkpoint into {}; the last good one is kept",
                self.dir.display()
            )
        })?;
        if path.exists() {
            std::fs::rename(&path, previous_checkpoint_path(&self.dir)).with_context(|| {
                format!("cannot keep the previous checkpoint {}", path.display())
            })?;
        }
        std::fs::rename(&fresh, &path)
            .with_context(|| format!("cannot move the new checkpoint to {}", path.display()))?;
        Ok(())
    }
}

/// Trains the `[model]` of `cfg` (see [`fit`]); with `persist`, checkpoints the run, resumes
/// it, and saves the final model as `model.bpk`.
pub fn fit_configured(
    cfg: &Config,
    train: &Dataset,
    test: &Dataset,
    bar: &ProgressBar,
    on_epoch: impl FnMut(&EpochReport) -> Result<()>,
    persist: Option<&Persistence>,
    dist: Option<&mut dyn Collective>,
) -> Result<Vec<f64>> {
    fn save<M: Module>(model: M, persist: Option<&Persistence>) -> Result<()> {
        if let Some(p) = persist {
            let dir = &p.dir;
            model.save_file(dir.join("model")).map_err(|e| {
                anyhow::anyhow!("cannot save the model into {}: {e:?}", dir.display())
            })?;
        }
        Ok(())
    }
    let dim = train.dim;
    match cfg.model.kind.as_str() {
        "linear" | "mlp" => {
            let hidden = cfg.model.dense_hidden();
            check_dense_memory(cfg, "[model] hidden", dim, &hidden, 1)?;
            let (m, s) = fit(
                cfg,
                train,
                test,
                bar,
                |d| Ok(Mlp::new(dim, &hidden, d)),
                on_epoch,
                persist,
                dist,
            )?;
            save(m, persist)?;
            Ok(s)
        }
        "densenet121" => {
            let shape = image_shape(cfg, dim)?;
            let build = |d: &Device| Ok(DenseNet::densenet121(shape, d));
            let (m, s) = fit(cfg, train, test, bar, build, on_epoch, persist, dist)?;
            save(m, persist)?;
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
            let (m, s) = fit(cfg, train, test, bar, build, on_epoch, persist, dist)?;
            save(m, persist)?;
            Ok(s)
        }
        other => {
            bail!(
                "[model] kind = \"{other}\" is not known; use linear, mlp, resnet20, resnet18 or densenet121"
            )
        }
    }
}

/// [`fit_configured`] with one data-parallel peer per device of `devices`, each on its own
/// thread, exchanging through an in-process [`xrisk::dist::LocalGroup`]; peer 0 reports the
/// epochs and keeps the run folder.
fn fit_local_peers(
    cfg: &Config,
    devices: &[String],
    train: &Dataset,
    test: &Dataset,
    bar: &ProgressBar,
    on_epoch: impl FnMut(&EpochReport) -> Result<()>,
    persist: Option<&Persistence>,
) -> Result<Vec<f64>> {
    let on = |name: &str| {
        let mut c = cfg.clone();
        c.train.device = Some(name.to_string());
        c.train.devices = None;
        c
    };
    let mut group =
        xrisk::dist::LocalGroup::new(devices.len(), std::time::Duration::from_secs(600));
    std::thread::scope(|s| {
        let quiet = ProgressBar::hidden();
        let others: Vec<_> = group
            .drain(1..)
            .zip(&devices[1..])
            .map(|(mut comm, name)| {
                let c = on(name);
                let quiet = quiet.clone();
                s.spawn(move || {
                    fit_configured(&c, train, test, &quiet, |_| Ok(()), None, Some(&mut comm))
                })
            })
            .collect();
        let mut first = group.remove(0);
        let result = fit_configured(
            &on(&devices[0]),
            train,
            test,
            bar,
            on_epoch,
            persist,
            Some(&mut first),
        );
        // A failed peer 0 leaves the group, which stops the others.
        drop(first);
        for (k, h) in others.into_iter().enumerate() {
            match h.join() {
                Ok(Ok(_)) => {}
                Ok(Err(e)) if result.is_ok() => {
                    return Err(e.context(format!("peer {} ({})", k + 1, devices[k + 1])));
                }
                Ok(Err(_)) => {}
                Err(_) => bail!("peer {} ({}) panicked", k + 1, devices[k + 1]),
            }
        }
        result
    })
}

/// A fingerprint of an epoch's batches: a resumed run checks that its replayed sampler
/// reproduces the interrupted epoch.
fn batches_hash(batches: &[Vec<usize>]) -> String {
    use std::hash::{Hash, Hasher};
    // FNV-1a over the ids: stable across Rust versions, unlike DefaultHasher's keys.
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100000001b3);
            }
        }
    }
    let mut h = Fnv(0xcbf29ce484222325);
    for b in batches {
        b.len().hash(&mut h);
        for id in b {
            (*id as u64).hash(&mut h);
        }
    }
    format!("{:016x}", h.finish())
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
/// With `persist`, writes a checkpoint after every epoch (and every `every_steps` steps) and
/// starts from `persist.resume` when given. With `dist`, trains data-parallel: this process
/// runs the model on its shard of every global batch (`xrisk::dist`).
#[allow(clippy::too_many_arguments)]
pub fn fit<M: Scorer>(
    cfg: &Config,
    train: &Dataset,
    test: &Dataset,
    bar: &ProgressBar,
    build: impl FnOnce(&Device) -> Result<M>,
    mut on_epoch: impl FnMut(&EpochReport) -> Result<()>,
    persist: Option<&Persistence>,
    mut dist: Option<&mut dyn Collective>,
) -> Result<(M, Vec<f64>)> {
    let device = cfg.train.device()?;
    // The CPU backend's RNG is process-wide: peers in one process (`[train] devices`) build
    // their models one at a time so that each starts from the seed's weights.
    static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let mut model = {
        let _one_at_a_time = INIT.lock().unwrap_or_else(|p| p.into_inner());
        device.seed(cfg.train.seed);
        let model = build(&device)?;
        // burn initialises parameters lazily, at first use: draw them now, under the lock.
        struct Touch;
        impl burn::module::ModuleVisitor for Touch {
            fn visit_float<const D: usize>(
                &mut self,
                p: &burn::module::Param<burn::tensor::Tensor<D>>,
            ) {
                let _ = p.val();
            }
        }
        model.visit(&mut Touch);
        model
    };
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
    let ids = |m: &M, o: &Objective| {
        let mut v = xrisk::persist::param_ids(m);
        v.extend(o.param_ids());
        v
    };
    // Where to start: epoch, step within it, and the running loss sum of that epoch.
    let (mut first_epoch, mut first_step, mut resumed_total) = (0usize, 0usize, 0.0);
    let mut expected_hash = None;
    if let Some(s) = persist.and_then(|p| p.resume.as_ref()) {
        model = xrisk::persist::restore_module(model, "model", s)?;
        objective.restore_state(s)?;
        optimizer.restore_state(&ids(&model, &objective), s, &device)?;
        first_epoch = s.count("run.epoch")? as usize;
        first_step = s.count("run.step")? as usize;
        resumed_total = s.scalar("run.epoch_loss_sum")?;
        if first_step > 0 {
            expected_hash = Some(s.text("run.batches")?.to_string());
        }
        // The sampler is a function of its seed and position: replay the finished epochs.
        for _ in 0..first_epoch {
            sampler.next_epoch();
        }
        bar.set_position((first_epoch * sampler.num_batches() + first_step) as u64);
    }
    let checkpoint = |model: &M,
                      objective: &Objective,
                      optimizer: &Optimizer,
                      epoch: usize,
                      step: usize,
                      total: f64,
                      batches: &[Vec<usize>]|
     -> Result<()> {
        let Some(p) = persist else { return Ok(()) };
        let mut s = Snapshot::new();
        xrisk::persist::save_module(model, "model", &mut s);
        objective.save_state(&mut s);
        optimizer.save_state(&ids(model, objective), &mut s)?;
        s.put_scalar("run.epoch", epoch as f64);
        s.put_scalar("run.step", step as f64);
        s.put_scalar("run.epoch_loss_sum", total);
        s.put_text("run.batches", batches_hash(batches));
        p.write(s)
    };
    let every = persist.and_then(|p| p.every_steps).unwrap_or(0) as usize;
    // Test scores of the latest evaluation (each epoch ends with one).
    let mut scores = None;
    for epoch in first_epoch..cfg.train.epochs {
        let start = Instant::now();
        let resumed_mid_epoch = epoch == first_epoch && first_step > 0;
        // A mid-epoch checkpoint already holds this epoch's decayed learning rate.
        if decay_epochs.contains(&epoch) && !resumed_mid_epoch {
            optimizer.decay(cfg.train.decay_factor);
        }
        let batches = cfg.train.cap(sampler.next_epoch());
        let (skip, mut total) = if resumed_mid_epoch {
            let hash = batches_hash(&batches);
            if expected_hash.as_deref() != Some(hash.as_str()) {
                bail!(
                    "the resumed run does not replay the interrupted epoch's batches (the data or the sampler changed since the checkpoint)"
                );
            }
            (first_step, resumed_total)
        } else {
            (0, 0.0)
        };
        for (step, ids) in batches.iter().enumerate().skip(skip) {
            let y: Vec<f32> = ids.iter().map(|&i| train.labels[i]).collect();
            let z = match dist.as_deref_mut() {
                None => model.score(batch_tensor(train, ids, &device)),
                Some(c) => {
                    // This rank's rows of the global batch; the loss sees all of them.
                    let mine: Vec<usize> = shard(ids.len(), c.rank(), c.world_size())?
                        .into_iter()
                        .map(|p| ids[p])
                        .collect();
                    gather_logits(model.score(batch_tensor(train, &mine, &device)), c)?
                }
            };
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
            model = match dist.as_deref_mut() {
                None => optimizer.step(model, &mut objective, loss),
                Some(c) => {
                    optimizer
                        .step_distributed(model, &mut objective, loss, c)?
                        .0
                }
            };
            bar.inc(1);
            if every > 0 && (step + 1) % every == 0 && step + 1 < batches.len() {
                checkpoint(
                    &model,
                    &objective,
                    &optimizer,
                    epoch,
                    step + 1,
                    total,
                    &batches,
                )?;
            }
        }
        // Training time only: the evaluation below is reported, not timed.
        let seconds = start.elapsed().as_secs_f64();
        let epoch_scores = predict(&model, &test.features, test.dim, &device);
        let report = EpochReport {
            epoch: epoch + 1,
            train_loss: total / batches.len().max(1) as f64,
            objective: objective.state_estimate(),
            lr: optimizer.lr(),
            test: evaluate(test, &epoch_scores, cfg.train.max_fpr)?,
            seconds,
        };
        on_epoch(&report)?;
        checkpoint(&model, &objective, &optimizer, epoch + 1, 0, 0.0, &[])?;
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
    let n = build_sampler(cfg, train)?.num_batches();
    Ok(cfg.train.max_steps_per_epoch.map_or(n, |c| c.min(n)))
}

fn metrics_json(m: &Metrics, max_fpr: f64) -> serde_json::Value {
    json!({"auroc": m.auroc, "auprc": m.auprc, "pauc": m.pauc, "pauc_max_fpr": max_fpr})
}

/// Reads the checkpoint of the run folder `dir`, explaining what to do when it is missing or
/// damaged.
fn load_checkpoint(dir: &Path) -> Result<Snapshot> {
    let path = checkpoint_path(dir);
    let prev = previous_checkpoint_path(dir);
    let describe = |s: &Snapshot| {
        format!(
            "epoch {} step {}",
            s.count("run.epoch").unwrap_or(0),
            s.count("run.step").unwrap_or(0)
        )
    };
    if !path.exists() {
        // Interrupted between the two renames of `Persistence::write`: the new checkpoint
        // is whole if it exists, else the previous one is.
        for other in [dir.join("checkpoint.new.bin"), prev.clone()] {
            if let Ok(s) = Snapshot::read(&other) {
                eprintln!(
                    "{} is missing (interrupted while being replaced); resuming from {} ({})",
                    path.display(),
                    other.display(),
                    describe(&s)
                );
                return Ok(s);
            }
        }
        bail!(
            "{} has no checkpoint.bin: it is not the --out folder of an `xrisk train` run, or the run stopped before its first checkpoint; start it again with --config",
            dir.display()
        );
    }
    Snapshot::read(&path).map_err(|e| match Snapshot::read(&prev) {
        Ok(p) => anyhow::anyhow!(
            "cannot resume: {e}\nthe previous checkpoint {} ({}) is intact: move it to {} to resume from there",
            prev.display(),
            describe(&p),
            path.display()
        ),
        Err(_) => anyhow::anyhow!("cannot resume: {e}"),
    })
}

/// Keeps the first `lines` lines of a per-epoch log (written again atomically), so that a
/// resumed run appends after the epochs its checkpoint holds.
fn truncate_log(path: &Path, lines: usize) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let kept: String = text.lines().take(lines).map(|l| format!("{l}\n")).collect();
    if kept != text {
        xrisk_data::snapshot::write_atomic(path, |f| f.write_all(kept.as_bytes()))?;
    }
    Ok(())
}

fn append(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Prepares the output folder of a new run (refusing one that holds a run already) or of a
/// resumed one; returns the metrics and timing logs, opened for appending.
pub(crate) fn open_run_folder(
    dir: &Path,
    config_text: &str,
    resume: Option<&Snapshot>,
) -> Result<(std::fs::File, std::fs::File)> {
    let metrics = dir.join("metrics.jsonl");
    let timing = dir.join("timing.jsonl");
    match resume {
        None => {
            if checkpoint_path(dir).exists() || metrics.exists() {
                bail!(
                    "{} already holds a run (checkpoint.bin or metrics.jsonl); continue it with `xrisk train --resume {}` or choose another --out folder",
                    dir.display(),
                    dir.display()
                );
            }
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the output folder {}", dir.display()))?;
            xrisk_data::snapshot::write_atomic(&dir.join("config.toml"), |f| {
                f.write_all(config_text.as_bytes())
            })
            .with_context(|| format!("cannot write into the output folder {}", dir.display()))?;
            std::fs::File::create(&metrics)
                .with_context(|| format!("cannot write {}", metrics.display()))?;
            std::fs::File::create(&timing)
                .with_context(|| format!("cannot write {}", timing.display()))?;
        }
        Some(s) => {
            let done = s.count("run.epoch")? as usize;
            truncate_log(&metrics, done)?;
            truncate_log(&timing, done)?;
        }
    }
    Ok((append(&metrics)?, append(&timing)?))
}

/// Run-level facts stored in every checkpoint: the config (text and origin, which a resume
/// parses again), the xrisk version and the epoch count.
pub(crate) fn run_meta(cfg: &Config, config_text: &str, config_path: &Path) -> Snapshot {
    let mut m = Snapshot::new();
    m.put_text("run.config", config_text);
    m.put_text("run.config_path", config_path.display().to_string());
    m.put_text("run.xrisk_version", env!("CARGO_PKG_VERSION"));
    m.put_scalar("run.epochs", cfg.train.epochs as f64);
    m
}

/// [`run_meta`] plus the data counts that a resume checks the data against.
fn run_meta_with_data(
    cfg: &Config,
    config_text: &str,
    config_path: &Path,
    train: &Dataset,
    test: &Dataset,
) -> Snapshot {
    let mut m = run_meta(cfg, config_text, config_path);
    m.put_scalar("data.train_len", train.len() as f64);
    m.put_scalar("data.train_positives", train.positives() as f64);
    m.put_scalar("data.dim", train.dim as f64);
    m.put_scalar("data.test_len", test.len() as f64);
    m
}

/// Runs `xrisk train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let (mut cfg, config_text, config_path, resume) = match &args.resume {
        Some(dir) => {
            let snap = load_checkpoint(dir)?;
            let text = snap.text("run.config")?.to_string();
            let origin = PathBuf::from(snap.text("run.config_path")?);
            let mut cfg = crate::config::parse(&text, &origin)
                .context("the config stored in the checkpoint")?;
            cfg.train.epochs = snap.count("run.epochs")? as usize;
            eprintln!(
                "resuming {} at epoch {} step {} of {} epochs",
                dir.display(),
                snap.count("run.epoch")? + u64::from(snap.count("run.step")? > 0),
                snap.count("run.step")?,
                cfg.train.epochs
            );
            (cfg, text, origin, Some(snap))
        }
        None => {
            let path = args
                .config
                .as_ref()
                .context("give --config FILE (a new run) or --resume DIR")?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the config {}", path.display()))?;
            let cfg = crate::config::parse(&text, path)?;
            let abs = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            (cfg, text, abs, None)
        }
    };
    if let Some(e) = args.epochs {
        cfg.train.epochs = e;
    }
    if let Some(n) = args.max_steps_per_epoch {
        cfg.train.max_steps_per_epoch = Some(n as usize);
    }
    let local_peers = cfg.train.devices.clone().filter(|d| d.len() > 1);
    if args.dist.enabled() && local_peers.is_some() {
        bail!(
            "give either --world-size (one peer per process) or [train] devices (one peer per device in this process), not both"
        );
    }
    if args.dist.enabled() || local_peers.is_some() {
        if resume.is_some() || args.checkpoint_every.is_some() {
            bail!(
                "data-parallel runs do not checkpoint yet: drop --resume / --checkpoint-every, or train in one process"
            );
        }
        if cfg.is_many_class() || cfg.is_multilabel() || cfg.is_mil() || crate::charlm::is_lm(&cfg)
        {
            bail!(
                "data-parallel training (--world-size, [train] devices) covers the binary AUC-family, CE, focal and ranking runs; this config (multi-label, many-class or MIL) trains with one peer for now"
            );
        }
        if local_peers.is_some() && crate::rank::is_ranking(&cfg) {
            bail!(
                "[train] devices (peers within one process) covers the binary runs; train ranking data-parallel with --world-size (one process per peer)"
            );
        }
    }
    if let Some(t) = cfg.train.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .context("cannot set [train] threads")?;
    }
    if crate::rank::is_ranking(&cfg) {
        if args.checkpoint_every.is_some() {
            bail!(
                "ranking runs checkpoint at the end of every epoch; --checkpoint-every is for the AUC-family losses"
            );
        }
        let (mut peer, dir) = args.dist.join(
            cfg.sampler.batch_size,
            &config_text,
            args.resume.clone().or(args.out.clone()),
        )?;
        return crate::rank::run(
            &cfg,
            crate::rank::Output {
                dir: dir.as_deref(),
                config_text: &config_text,
                config_path: &config_path,
                resume,
            },
            args.json,
            peer.as_mut().map(|p| p as &mut dyn Collective),
        );
    }
    if crate::contrastive::is_contrastive(&cfg) {
        if resume.is_some() || args.checkpoint_every.is_some() {
            bail!(
                "contrastive runs do not checkpoint yet: --resume and --checkpoint-every are for the AUC-family and ranking runs"
            );
        }
        return crate::contrastive::run(&cfg, args.out.as_deref(), &config_text, args.json);
    }
    if crate::charlm::is_lm(&cfg) {
        if resume.is_some() || args.checkpoint_every.is_some() {
            bail!(
                "language-model runs do not checkpoint yet: --resume and --checkpoint-every are for the AUC-family and ranking runs"
            );
        }
        return crate::charlm::run(&cfg, args.out.as_deref(), &config_text, args.json);
    }
    if cfg.is_many_class() {
        if resume.is_some() || args.checkpoint_every.is_some() {
            bail!(
                "many-class runs do not checkpoint yet: --resume and --checkpoint-every are for the AUC-family and ranking runs"
            );
        }
        return crate::multiclass::run(&cfg, args.out.as_deref(), &config_text, args.json);
    }
    if cfg.is_multilabel() {
        if resume.is_some() || args.checkpoint_every.is_some() {
            bail!(
                "multi-label runs do not checkpoint yet: --resume and --checkpoint-every are for the AUC-family and ranking runs"
            );
        }
        return crate::multilabel::run(&cfg, args.out.as_deref(), &config_text, args.json);
    }
    if cfg.is_mil() {
        if resume.is_some() || args.checkpoint_every.is_some() {
            bail!(
                "MIL runs do not checkpoint yet: --resume and --checkpoint-every are for the AUC-family and ranking runs"
            );
        }
        return crate::mil::run(
            &cfg,
            args.out.as_deref(),
            &config_text,
            &config_path,
            args.json,
        );
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
    let meta = run_meta_with_data(&cfg, &config_text, &config_path, &train, &test);
    if let Some(s) = &resume {
        for key in [
            "data.train_len",
            "data.train_positives",
            "data.dim",
            "data.test_len",
        ] {
            let (then, now) = (s.scalar(key)?, meta.scalar(key)?);
            if then != now {
                bail!(
                    "cannot resume: {key} was {then} when the checkpoint was written and is {now} now; the data files changed"
                );
            }
        }
    }
    let (mut peer, out_dir) = args.dist.join(
        cfg.sampler.batch_size,
        &config_text,
        args.resume.clone().or(args.out.clone()),
    )?;
    if args.checkpoint_every.is_some() && out_dir.is_none() {
        bail!("--checkpoint-every needs --out DIR (the folder that receives the checkpoints)");
    }
    let mut logs = match &out_dir {
        Some(dir) => Some(open_run_folder(dir, &config_text, resume.as_ref())?),
        None => None,
    };
    // A resumed run keeps checkpointing as often as the interrupted one did.
    let every_steps = args.checkpoint_every.or_else(|| {
        resume
            .as_ref()
            .and_then(|s| s.count("run.checkpoint_every").ok())
            .filter(|&n| n > 0)
    });
    let mut meta = meta;
    meta.put_scalar("run.checkpoint_every", every_steps.unwrap_or(0) as f64);
    let persist = out_dir.as_ref().map(|dir| Persistence {
        dir: dir.clone(),
        every_steps,
        meta,
        resume,
    });
    let steps = steps_per_epoch(&cfg, &train)?;
    let bar = ProgressBar::new((steps * cfg.train.epochs) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {elapsed} {msg}")
            .expect("static template"),
    );
    let max_fpr = cfg.train.max_fpr;
    let on_epoch = |r: &EpochReport| {
        let objective = r
            .objective
            .map(|(name, value)| json!({"name": name, "value": value}));
        let line = json!({"epoch": r.epoch, "train_loss": r.train_loss, "objective": objective,
                          "lr": r.lr, "test": metrics_json(&r.test, max_fpr)});
        let estimate = r
            .objective
            .map(|(name, v)| format!("  {name} {v:.5}"))
            .unwrap_or_default();
        bar.suspend(|| {
            eprintln!(
                "epoch {:>3}  loss {:>9.5}{estimate}  lr {:.2e}  test AUROC {:.4}  AUPRC {:.4}  pAUC(FPR≤{max_fpr}) {:.4}  {:.1}s",
                r.epoch, r.train_loss, r.lr, r.test.auroc, r.test.auprc, r.test.pauc, r.seconds
            )
        });
        if let Some((metrics, timing)) = logs.as_mut() {
            writeln!(metrics, "{line}").context("cannot append to metrics.jsonl")?;
            writeln!(
                timing,
                "{}",
                json!({"epoch": r.epoch, "seconds": r.seconds, "steps": steps})
            )
            .context("cannot append to timing.jsonl")?;
        }
        Ok(())
    };
    let dist = peer.as_mut().map(|p| p as &mut dyn Collective);
    let train_start = Instant::now();
    let fitted = match &local_peers {
        None => fit_configured(&cfg, &train, &test, &bar, on_epoch, persist.as_ref(), dist),
        Some(devices) => fit_local_peers(
            &cfg,
            devices,
            &train,
            &test,
            &bar,
            on_epoch,
            persist.as_ref(),
        ),
    };
    let scores = fitted.map_err(
        |e| match out_dir.as_ref().map(|d| Snapshot::read(&checkpoint_path(d))) {
            Some(Ok(s)) => e.context(format!(
                "training stopped; the last good checkpoint (epochs done: {}, steps into the next: {}) is kept in {}",
                s.count("run.epoch").unwrap_or(0),
                s.count("run.step").unwrap_or(0),
                checkpoint_path(out_dir.as_deref().unwrap_or(Path::new("."))).display()
            )),
            _ => e,
        },
    )?;
    bar.finish_and_clear();
    let final_metrics = evaluate(&test, &scores, max_fpr)?;
    if let Some(dir) = &out_dir {
        let report = crate::report::write(&crate::report::RunReport {
            dir,
            config_text: &config_text,
            config_path: &config_path,
            train: &train,
            test: &test,
            scores: &scores,
            name: &cfg.loss.kind,
            max_fpr,
            final_auroc: final_metrics.auroc,
            final_auprc: final_metrics.auprc,
            final_pauc: final_metrics.pauc,
        })?;
        eprintln!("report: {}", report.display());
    }
    let mut out = json!({"test": metrics_json(&final_metrics, max_fpr)});
    if let Some(p) = &peer {
        let total_steps = (steps * cfg.train.epochs).max(1) as f64;
        let d = json!({
            "world_size": p.world_size(),
            "rank": p.rank(),
            "steps": steps * cfg.train.epochs,
            "seconds": train_start.elapsed().as_secs_f64(),
            "bytes_sent_per_step": p.bytes_sent as f64 / total_steps,
            "bytes_received_per_step": p.bytes_received as f64 / total_steps,
        });
        eprintln!(
            "rank {} of {}: {:.0} bytes sent and {:.0} received per step",
            p.rank(),
            p.world_size(),
            d["bytes_sent_per_step"].as_f64().unwrap_or(0.0),
            d["bytes_received_per_step"].as_f64().unwrap_or(0.0)
        );
        out["distributed"] = d;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use xrisk_data::readers::table::NumericTable;

    #[test]
    fn drop_columns_keeps_the_rest_in_order_and_names_unknown_columns() {
        let t = NumericTable {
            columns: vec!["id".into(), "a".into(), "label".into(), "b".into()],
            values: vec![1.0, 2.0, 0.0, 3.0, 4.0, 5.0, 1.0, 6.0],
        };
        let d = drop_columns(t.clone(), &["id".into()]).unwrap();
        assert_eq!(d.columns, vec!["a", "label", "b"]);
        assert_eq!(d.values, vec![2.0, 0.0, 3.0, 5.0, 1.0, 6.0]);
        let e = drop_columns(t, &["nope".into()]).unwrap_err();
        assert!(e.to_string().contains("no column \"nope\""), "{e}");
    }
}
