//! The TOML configuration of `xrisk train`. Every section rejects unknown keys; loss and
//! optimizer hyper-parameters use LibAUC's names and defaults.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A whole run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the data comes from and how it becomes a binary task.
    pub data: DataConfig,
    /// The scorer.
    #[serde(default)]
    pub model: ModelConfig,
    /// The objective.
    pub loss: LossConfig,
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// Mini-batch sampling.
    #[serde(default)]
    pub sampler: SamplerConfig,
    /// Epochs, seed, schedule.
    #[serde(default)]
    pub train: TrainConfig,
    /// Two-stage training: a first stage with a baseline loss before the run's own.
    pub pretrain: Option<PretrainConfig>,
}

/// `[pretrain]`: the first stage of two-stage training, as LibAUC's tutorials do it — the same
/// model trained with a baseline loss (`ce` or `focal`), its own optimizer and sampler, for
/// `epochs`; then the run's `[loss]`, `[optimizer]` and `[sampler]` fine-tune it for
/// `[train] epochs` (whose `decay_epochs` count fine-tuning epochs). Binary, MIL and
/// multi-label runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PretrainConfig {
    /// The first stage's loss: `ce` or `focal`.
    pub loss: String,
    /// Epochs of the first stage.
    pub epochs: usize,
    /// The first stage's optimizer: an inline table with the `[optimizer]` keys, e.g.
    /// `{ kind = "adam", lr = 1e-3 }`.
    pub optimizer: OptimizerConfig,
    /// The first stage's sampler: an inline table with the `[sampler]` keys (default: shuffled
    /// batches of the run's batch size).
    pub sampler: Option<SamplerConfig>,
    /// Re-initialise the output layer before fine-tuning (default false).
    #[serde(default)]
    pub reset_last_layer: bool,
}

impl PretrainConfig {
    /// The `[loss]` of the first stage.
    pub fn loss_config(&self) -> LossConfig {
        LossConfig {
            kind: self.loss.clone(),
            ..LossConfig::default()
        }
    }

    /// The first stage's sampler (`sampler`, else shuffled batches of `run`'s batch size).
    pub fn sampler_config(&self, run: &SamplerConfig) -> SamplerConfig {
        self.sampler.clone().unwrap_or_else(|| SamplerConfig {
            kind: Some("random".into()),
            ..run.clone()
        })
    }
}

/// `[data]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `svmlight`, `csv`, `tsv`, `idx`, `keel`, `image_folder` (one sub-folder of PNG/JPEG
    /// images per class) or `embedded-fashion-mnist`; `text` (language
    /// models, SpamAssassin pairs) or `tsv-pairs` (contrastive text pairs).
    pub format: String,
    /// Training file (idx: the images file).
    pub train: Option<PathBuf>,
    /// Test file; without it `test_fraction` of the training data is held out.
    pub test: Option<PathBuf>,
    /// idx: the training labels file.
    pub train_labels: Option<PathBuf>,
    /// idx: the test labels file.
    pub test_labels: Option<PathBuf>,
    /// csv/tsv: the label column (default `label`).
    pub label_column: Option<String>,
    /// svmlight: number of features (default: the largest index).
    pub n_features: Option<usize>,
    /// The class that becomes positive (one vs rest).
    pub positive_class: Option<f32>,
    /// Share of positives after subsampling (with `positive_class`: one vs rest; without:
    /// LibAUC's ImbalancedDataGenerator).
    pub imratio: Option<f64>,
    /// Held-out share when there is no test file (default 0.3).
    pub test_fraction: Option<f64>,
    /// Validation rows for model selection (`[train] select`): a share of the training rows
    /// (`validation = 0.2`, a stratified seeded split; binary, MIL, multi-label and
    /// many-class runs) or a file read like `test` (`validation = "valid.svm"`; binary runs).
    pub validation: Option<Validation>,
    /// movielens: a data set fetched with `xrisk data fetch` (`movielens-100k`), instead of
    /// `train`.
    pub dataset: Option<String>,
    /// movielens: never-rated items sampled per user for evaluation (default 100).
    pub eval_negatives: Option<usize>,
    /// `synthetic_classes`: number of classes (default 10,000).
    pub n_classes: Option<usize>,
    /// `synthetic_classes`: rows per class (default 10).
    pub rows_per_class: Option<usize>,
    /// `synthetic_classes`: noise σ around each class prototype (default 0.5).
    pub noise: Option<f64>,
    /// csv/tsv multi-label data: the 0/1 label columns, one task each.
    pub label_columns: Option<Vec<String>>,
    /// csv/tsv multi-label data: every column whose name starts with this is a label
    /// (`dataset = "yeast"` uses `Class`).
    pub label_prefix: Option<String>,
    /// csv/tsv/parquet: columns that are neither features nor the label (ids).
    pub drop_columns: Option<Vec<String>>,
    /// Feature transform fitted on the training rows: `none` (default), `standard` (z-score
    /// per feature) or `log_standard` (`sign(x)·ln(1+|x|)`, then z-score).
    pub normalize: Option<String>,
    /// Language-model and text runs: characters per training window (default 64).
    pub seq_len: Option<usize>,
    /// Contrastive image runs: at most this many training rows per class.
    pub max_per_class: Option<usize>,
    /// Contrastive image runs: head-to-tail ratio r; class k keeps n·r^(−k/(K−1)) rows.
    pub long_tail: Option<f64>,
    /// `image_folder`: resize every image to `[height, width]` (default: keep the size, which
    /// must then be the same for all images).
    pub size: Option<[usize; 2]>,
    /// `image_folder`: 1 (grey) or 3 (RGB) channels (default: those of the first image).
    pub channels: Option<usize>,
    /// `image_folder`: the class folder whose images are positive (the others negative).
    pub positive: Option<String>,
}

/// `[model]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// `linear`, `mlp`, `resnet20`, `resnet18`, `densenet121`, `neumf`, `ffnn_att`; `conv` and `bag`
    /// (contrastive encoders), `char_gru` (language model).
    pub kind: String,
    /// Hidden widths of the MLP (default `[128]`).
    pub hidden: Option<Vec<usize>>,
    /// ResNets: `[channels, height, width]` of the flattened rows (default: 784 features →
    /// [1, 28, 28], 3072 → [3, 32, 32]).
    pub input_shape: Option<[usize; 3]>,
    /// NeuMF: width of each embedding (default 64).
    pub emb_size: Option<usize>,
    /// NeuMF: widths of the MLP tower (default `[64]`).
    pub layers: Option<Vec<usize>>,
    /// NeuMF: dropout after each MLP layer (default 0.2).
    pub dropout: Option<f64>,
    /// Language models: start from the model of this run folder (its charlm.bin; a path
    /// relative to the working directory).
    pub init_from: Option<PathBuf>,
}

impl ModelConfig {
    /// The hidden widths of the dense (`linear` / `mlp`) models: none for `linear`, else
    /// `hidden` or its default `[128]`.
    pub fn dense_hidden(&self) -> Vec<usize> {
        if self.kind == "linear" {
            Vec::new()
        } else {
            self.hidden.clone().unwrap_or_else(|| vec![128])
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            kind: "mlp".into(),
            hidden: None,
            input_shape: None,
            emb_size: None,
            layers: None,
            dropout: None,
            init_from: None,
        }
    }
}

/// `[loss]`: `kind` plus that loss's hyper-parameters (LibAUC names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossConfig {
    /// aucm, compositional_auc, ap, pauc_cvar, pauc_dro, tpauc_kl, tpauc_cvar, pairwise_auc, ce,
    /// focal, listwise_ce, ndcg, midam, multilabel_aucm, map, multilabel_pauc, entropic,
    /// softmax_ce, gcl, infonce, robust_lm.
    pub kind: String,
    pub margin: Option<f64>,
    pub version: Option<String>,
    pub gamma: Option<f64>,
    #[serde(alias = "Lambda")]
    pub lambda: Option<f64>,
    pub beta: Option<f64>,
    pub eta: Option<f64>,
    pub tau: Option<f64>,
    pub gammas: Option<(f64, f64)>,
    pub alpha: Option<f64>,
    pub beta_0: Option<f64>,
    pub beta_1: Option<f64>,
    pub theta_0: Option<f64>,
    pub theta_1: Option<f64>,
    pub k: Option<usize>,
    pub surrogate: Option<String>,
    /// Scale `s` of the barrier-hinge surrogate.
    pub scale: Option<f64>,
    pub hparam: Option<f64>,
    /// NDCG: moving-average weight of `u` (γ₀).
    pub gamma0: Option<f64>,
    /// NDCG: moving-average weight of `s_q` (γ₁).
    pub gamma1: Option<f64>,
    /// NDCG: step size of the top-K thresholds λ_q (η₀).
    pub eta0: Option<f64>,
    /// NDCG: K of NDCG@K (K-SONG); absent = SONG.
    pub topk: Option<usize>,
    /// NDCG: `theo` or `prac`.
    pub topk_version: Option<String>,
    pub tau_1: Option<f64>,
    pub tau_2: Option<f64>,
    pub sigmoid_alpha: Option<f64>,
    /// NDCG: scale c_ψ of ψ (1 = LibAUC).
    pub psi_scale: Option<f64>,
    /// MIL (`format = "mil"`): bag pooling — midam: `attention` (default) or `softmax`
    /// (temperature `tau`); ce: also `mean` or `max`.
    pub pooling: Option<String>,
    /// Entropic loss: `scent` (default) or `sox`.
    pub estimator: Option<String>,
    /// Entropic loss (SCENT): LibAUC's `alpha_multiplier` c (1.0).
    pub alpha_multiplier: Option<f64>,
    /// robust_lm / gcl: `fixed` (or `global`), `individual` (iSogCLR) or `tempnet`.
    pub temperature: Option<String>,
    /// gcl / infonce: `unimodal` (two views of an image) or `bimodal` (pairs).
    pub mode: Option<String>,
    /// robust_lm / gcl: the DRO radius ρ.
    pub rho: Option<f64>,
    /// Lowest learned temperature.
    pub tau_min: Option<f64>,
    /// Highest learned temperature.
    pub tau_max: Option<f64>,
    /// TempNet's own Adam learning rate.
    pub tempnet_lr: Option<f64>,
}

impl LossConfig {
    /// Errors if a key that `kind` does not use is set.
    pub fn check_keys(&self) -> Result<()> {
        let allowed: &[&str] = match self.kind.as_str() {
            "aucm" => &["margin", "version"],
            "compositional_auc" => &["margin", "version", "k"],
            "ap" => &["margin", "gamma", "surrogate", "scale"],
            "pauc_dro" => &["margin", "gamma", "lambda", "surrogate", "scale"],
            "pauc_cvar" => &["margin", "beta", "eta", "surrogate", "scale"],
            "tpauc_kl" => &["margin", "tau", "lambda", "gammas", "surrogate", "scale"],
            "tpauc_cvar" => &[
                "margin",
                "alpha",
                "beta_0",
                "beta_1",
                "theta_0",
                "theta_1",
                "surrogate",
                "scale",
            ],
            "pairwise_auc" => &["surrogate", "hparam", "scale"],
            "ce" => &["pooling", "tau"],
            "midam" => &["margin", "gamma", "tau", "pooling"],
            "multilabel_aucm" => &["margin", "version"],
            "map" => &["margin", "gamma", "k"],
            "multilabel_pauc" => &["margin", "gamma", "lambda"],
            "entropic" => &["alpha", "gamma", "estimator", "alpha_multiplier"],
            "softmax_ce" => &[],
            "robust_lm" => &[
                "temperature",
                "tau",
                "rho",
                "tau_min",
                "tau_max",
                "tempnet_lr",
            ],
            "focal" => &["alpha", "gamma"],
            "listwise_ce" => &["gamma"],
            "ndcg" => &[
                "margin",
                "gamma0",
                "gamma1",
                "eta0",
                "topk",
                "topk_version",
                "tau_1",
                "tau_2",
                "sigmoid_alpha",
                "psi_scale",
                "surrogate",
                "scale",
            ],
            "gcl" => &[
                "mode",
                "temperature",
                "tau",
                "gamma",
                "rho",
                "eta",
                "beta",
                "tau_min",
                "tau_max",
                "tempnet_lr",
            ],
            "infonce" => &["mode", "tau"],
            other => bail!(
                "[loss] kind = \"{other}\" is not known; use one of aucm, compositional_auc, ap, pauc_cvar, pauc_dro, tpauc_kl, tpauc_cvar, pairwise_auc, ce, focal, listwise_ce, ndcg, midam, multilabel_aucm, map, multilabel_pauc, entropic, softmax_ce, robust_lm, gcl, infonce"
            ),
        };
        let set = [
            ("margin", self.margin.is_some()),
            ("version", self.version.is_some()),
            ("gamma", self.gamma.is_some()),
            ("lambda", self.lambda.is_some()),
            ("beta", self.beta.is_some()),
            ("eta", self.eta.is_some()),
            ("tau", self.tau.is_some()),
            ("gammas", self.gammas.is_some()),
            ("alpha", self.alpha.is_some()),
            ("beta_0", self.beta_0.is_some()),
            ("beta_1", self.beta_1.is_some()),
            ("theta_0", self.theta_0.is_some()),
            ("theta_1", self.theta_1.is_some()),
            ("k", self.k.is_some()),
            ("surrogate", self.surrogate.is_some()),
            ("scale", self.scale.is_some()),
            ("hparam", self.hparam.is_some()),
            ("gamma0", self.gamma0.is_some()),
            ("gamma1", self.gamma1.is_some()),
            ("eta0", self.eta0.is_some()),
            ("topk", self.topk.is_some()),
            ("topk_version", self.topk_version.is_some()),
            ("tau_1", self.tau_1.is_some()),
            ("tau_2", self.tau_2.is_some()),
            ("sigmoid_alpha", self.sigmoid_alpha.is_some()),
            ("psi_scale", self.psi_scale.is_some()),
            ("pooling", self.pooling.is_some()),
            ("estimator", self.estimator.is_some()),
            ("alpha_multiplier", self.alpha_multiplier.is_some()),
            ("temperature", self.temperature.is_some()),
            ("mode", self.mode.is_some()),
            ("rho", self.rho.is_some()),
            ("tau_min", self.tau_min.is_some()),
            ("tau_max", self.tau_max.is_some()),
            ("tempnet_lr", self.tempnet_lr.is_some()),
        ];
        for (key, present) in set {
            if present && !allowed.contains(&key) {
                bail!(
                    "[loss] key `{key}` does not apply to loss `{}` (it takes: {})",
                    self.kind,
                    allowed.join(", ")
                );
            }
        }
        Ok(())
    }
}

/// `[optimizer]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerConfig {
    /// pesg, pdsca, soap, sopa, sopas, sotas, staco, song, midam, scent, sogclr, isogclr, lars,
    /// sgd, adam, adamw.
    pub kind: String,
    pub lr: Option<f64>,
    pub momentum: Option<f64>,
    pub weight_decay: Option<f64>,
    pub epoch_decay: Option<f64>,
    /// `sgd` or `adam` (SOAP, SOPA, SOPA-s, SOTA-s, STACO; default adam).
    pub mode: Option<String>,
    pub clip_value: Option<f64>,
    pub dampening: Option<f64>,
    pub nesterov: Option<bool>,
    pub lr0: Option<f64>,
    pub beta1: Option<f64>,
    pub beta2: Option<f64>,
    /// PESG: LibAUC 2.0.1's momentum convention.
    pub compat_2_0_1: Option<bool>,
    /// SogCLR / iSogCLR / LARS: the trust coefficient (0.001).
    pub trust_coefficient: Option<f64>,
}

/// `[sampler]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplerConfig {
    /// `dual` (controlled positives) or `random`; default dual for X-risk losses, random for ce/focal.
    pub kind: Option<String>,
    /// Mini-batch size (default 64).
    pub batch_size: usize,
    /// Positive share of a dual batch (default 0.5).
    pub sampling_rate: f64,
    /// Ranking: relevant items per query in a batch (default 10).
    pub num_pos: Option<usize>,
    /// Ranking: other items per query in a batch (default 100).
    pub num_neg: Option<usize>,
    /// MIL with MIDAM: instances sampled per bag in a batch (default 4).
    pub instances: Option<usize>,
    /// Multi-label X-risk losses: tasks per TriSampler batch (default all).
    pub tasks_per_batch: Option<usize>,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            kind: None,
            batch_size: 64,
            sampling_rate: 0.5,
            num_pos: None,
            num_neg: None,
            instances: None,
            tasks_per_batch: None,
        }
    }
}

/// `[data] validation`: a share of the training rows or a file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Validation {
    /// This share of the training rows, split off before training.
    Fraction(f64),
    /// Rows read from this file, like `test`.
    File(PathBuf),
}

/// `[train] lr_schedule`: how the learning rate moves over a run (spec: LibAUC's tutorials
/// decay step-wise; SogCLR's train with a cosine schedule after a warm-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// `lr ← lr / decay_factor` at the start of every epoch in `decay_epochs` (default: at
    /// 50 % and 75 % of the epochs).
    #[default]
    Step,
    /// After the warm-up, step `t` of `T` trains at `lr·½(1 + cos(π·(t − W)/(T − W)))`: from
    /// the optimizer's learning rate down towards 0 at the end of the run.
    Cosine,
    /// The optimizer's learning rate throughout (after the warm-up).
    Constant,
}

/// `[train]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Epochs (default 10).
    pub epochs: usize,
    /// Seed of every random choice (default 2023).
    pub seed: u64,
    /// Epochs at whose start the learning rate is divided by `decay_factor` (default: 50 % and 75 %).
    pub decay_epochs: Option<Vec<usize>>,
    /// Learning-rate divisor (default 10).
    pub decay_factor: f64,
    /// The learning-rate schedule (default `step`; see [`LrSchedule`]).
    pub lr_schedule: LrSchedule,
    /// Linear learning-rate warm-up over the first this many steps of the run (of its
    /// fine-tuning stage in two-stage runs): step `t` (from 0) trains at `lr·(t+1)/N`
    /// (default 0: none).
    pub lr_warmup_steps: usize,
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// FPR bound of the reported partial AUC (default 0.3).
    pub max_fpr: f64,
    /// Ranking: ListwiseCE warm-up epochs before SONG/K-SONG (then the last layer is reset).
    pub warmup_epochs: usize,
    /// Language models with TempNet: keep the language model fixed and train only TempNet
    /// (TempNet on a frozen model; pair with `[model] init_from`).
    pub freeze_model: bool,
    /// Training device: `flex` (CPU, default), `cuda` or `cuda:N` (a build with `--features
    /// cuda`).
    pub device: Option<String>,
    /// Data-parallel peers in this process, one per device (`["cuda:0", "cuda:1"]`): every
    /// batch is split over them as over `--world-size` processes.
    pub devices: Option<Vec<String>>,
    /// Stop every epoch after this many steps (smoke tests, timing); default: the sampler's
    /// full epoch.
    pub max_steps_per_epoch: Option<usize>,
    /// Model selection: the validation metric (a key of the family's test metrics, e.g.
    /// `auprc`, `auroc`, `pauc`, `mean_ap`, `top1`, `ce`) whose best epoch the run keeps and
    /// reports test metrics of, beside the last epoch's. Needs `[data] validation`.
    pub select: Option<String>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            seed: 2023,
            decay_epochs: None,
            decay_factor: 10.0,
            lr_schedule: LrSchedule::Step,
            lr_warmup_steps: 0,
            threads: None,
            max_fpr: 0.3,
            warmup_epochs: 0,
            freeze_model: false,
            device: None,
            devices: None,
            max_steps_per_epoch: None,
            select: None,
        }
    }
}

impl TrainConfig {
    /// `batches` cut to `max_steps_per_epoch`.
    pub fn cap<T>(&self, mut batches: Vec<T>) -> Vec<T> {
        if let Some(n) = self.max_steps_per_epoch {
            batches.truncate(n);
        }
        batches
    }

    /// The `[train] device` with autodiff (default: the CPU backend `flex`).
    pub fn device(&self) -> Result<burn::tensor::Device> {
        // One entry in `devices` is the device itself.
        let single = self.devices.as_deref().and_then(|d| match d {
            [one] => Some(one.as_str()),
            _ => None,
        });
        let name = self.device.as_deref().or(single).unwrap_or("flex");
        Ok(xrisk::device::by_name(name)
            .map_err(|e| anyhow::anyhow!("[train] device: {e}"))?
            .autodiff())
    }

    /// The decay epochs of the step schedule, defaulting to 50 % and 75 % of training (none
    /// for the other schedules).
    pub fn decay_epochs(&self) -> Vec<usize> {
        if self.lr_schedule != LrSchedule::Step {
            return Vec::new();
        }
        self.decay_epochs.clone().unwrap_or_else(|| {
            [self.epochs / 2, (self.epochs as u128 * 3 / 4) as usize]
                .into_iter()
                .filter(|&e| e > 0)
                .collect()
        })
    }
}

/// `Ok` when `v` (named `key`) is finite and satisfies `ok`; else an error saying what
/// `domain` the value must lie in.
fn check(key: &str, v: Option<f64>, ok: impl Fn(f64) -> bool, domain: &str) -> Result<()> {
    match v {
        Some(x) if !x.is_finite() || !ok(x) => bail!("{key} = {x} must be {domain}"),
        _ => Ok(()),
    }
}

impl Config {
    /// Bags of instances (`[data] format = "mil"`), trained by `xrisk train`'s MIL path.
    pub fn is_mil(&self) -> bool {
        self.data.format == "mil"
    }

    /// Several 0/1 label columns (`label_columns`, `label_prefix` or `dataset = "yeast"`).
    pub fn is_multilabel(&self) -> bool {
        self.data.label_columns.is_some()
            || self.data.label_prefix.is_some()
            || self.data.dataset.as_deref() == Some("yeast")
    }

    /// A many-class loss (`entropic`, `softmax_ce`).
    pub fn is_many_class(&self) -> bool {
        matches!(self.loss.kind.as_str(), "entropic" | "softmax_ce")
    }

    /// Checks every value's domain, naming the section and key (the losses and optimizers
    /// would otherwise turn a bad value into NaN scores many steps later).
    pub fn validate(&self) -> Result<()> {
        match (&self.data.validation, &self.train.select) {
            (Some(Validation::Fraction(f)), _) if !(f.is_finite() && *f > 0.0 && *f < 1.0) => {
                bail!("[data] validation = {f}: the validation share must be in (0, 1)")
            }
            (None, Some(key)) => bail!(
                "[train] select = \"{key}\" picks the best epoch on validation rows: add [data] validation = 0.2 (a share of the training rows) or a file"
            ),
            _ => {}
        }
        if let Some(p) = &self.pretrain {
            if !matches!(p.loss.as_str(), "ce" | "focal") {
                bail!(
                    "[pretrain] loss = \"{}\": the first stage trains a baseline, ce or focal",
                    p.loss
                );
            }
            if p.epochs == 0 {
                bail!("[pretrain] epochs = 0: give at least 1, or leave [pretrain] out");
            }
            if (self.is_mil() || self.is_multilabel()) && p.loss != "ce" {
                bail!(
                    "[pretrain] loss = \"{}\": MIL and multi-label runs pretrain with ce",
                    p.loss
                );
            }
            if self.is_many_class()
                || matches!(
                    self.loss.kind.as_str(),
                    "listwise_ce" | "ndcg" | "gcl" | "infonce" | "robust_lm"
                )
            {
                bail!(
                    "[pretrain] covers binary, MIL and multi-label runs (ranking warms up with [train] warmup_epochs); [loss] kind = \"{}\" on this data trains in one stage",
                    self.loss.kind
                );
            }
            if let Some(sm) = &p.sampler
                && sm.batch_size == 0
            {
                bail!("[pretrain] sampler.batch_size = 0: must be ≥ 1");
            }
        }
        if self.data.validation.is_some()
            && matches!(
                self.loss.kind.as_str(),
                "listwise_ce" | "ndcg" | "gcl" | "infonce" | "robust_lm"
            )
        {
            bail!(
                "[data] validation: model selection covers binary, MIL, multi-label and many-class runs; [loss] kind = \"{}\" reports its test metrics every epoch without it",
                self.loss.kind
            );
        }
        if (self.model.init_from.is_some() || self.train.freeze_model)
            && self.loss.kind != "robust_lm"
        {
            bail!(
                "[model] init_from and [train] freeze_model are for language-model runs ([loss] kind = \"robust_lm\")"
            );
        }
        self.train.device()?;
        if let Some(devs) = &self.train.devices {
            if devs.is_empty() {
                bail!("[train] devices = []: name at least one device, or leave the key out");
            }
            if self.train.device.is_some() {
                bail!(
                    "[train] has both device and devices: keep one (devices = [...] for one peer per device)"
                );
            }
            for d in devs {
                xrisk::device::by_name(d).map_err(|e| anyhow::anyhow!("[train] devices: {e}"))?;
            }
            if !self.sampler.batch_size.is_multiple_of(devs.len()) {
                bail!(
                    "[sampler] batch_size = {} does not split evenly over the {} [train] devices; make it a multiple",
                    self.sampler.batch_size,
                    devs.len()
                );
            }
        }
        if self.train.max_steps_per_epoch == Some(0) {
            bail!(
                "[train] max_steps_per_epoch = 0: give at least 1 (or leave it out for full epochs)"
            );
        }
        let unit = |x: f64| x > 0.0 && x <= 1.0;
        let pos = |x: f64| x > 0.0;
        let nonneg = |x: f64| x >= 0.0;
        let l = &self.loss;
        let margin_ok: fn(f64) -> bool = if l.kind == "ap" {
            |x| x > 0.0
        } else {
            |x| x >= 0.0
        };
        check("[loss] margin", l.margin, margin_ok, "≥ 0 (> 0 for ap)")?;
        check(
            "[loss] gamma",
            l.gamma,
            if l.kind == "focal" { nonneg } else { unit },
            if l.kind == "focal" {
                "≥ 0"
            } else {
                "in (0, 1]"
            },
        )?;
        check("[loss] lambda", l.lambda, pos, "> 0")?;
        check("[loss] tau", l.tau, pos, "> 0")?;
        check("[loss] beta", l.beta, unit, "in (0, 1]")?;
        check("[loss] eta", l.eta, pos, "> 0")?;
        check(
            "[loss] alpha",
            l.alpha,
            if l.kind == "focal" {
                |x: f64| (0.0..=1.0).contains(&x)
            } else {
                pos
            },
            if l.kind == "focal" {
                "in [0, 1]"
            } else {
                "> 0"
            },
        )?;
        for (k, v) in [("beta_0", l.beta_0), ("beta_1", l.beta_1)] {
            check(&format!("[loss] {k}"), v, pos, "> 0")?;
        }
        for (k, v) in [("theta_0", l.theta_0), ("theta_1", l.theta_1)] {
            check(&format!("[loss] {k}"), v, unit, "in (0, 1]")?;
        }
        if let Some((g0, g1)) = l.gammas {
            check("[loss] gammas[0]", Some(g0), unit, "in (0, 1]")?;
            check("[loss] gammas[1]", Some(g1), unit, "in (0, 1]")?;
        }
        check("[loss] scale", l.scale, pos, "> 0")?;
        check("[loss] hparam", l.hparam, pos, "> 0")?;
        for (k, v) in [("gamma0", l.gamma0), ("gamma1", l.gamma1)] {
            check(&format!("[loss] {k}"), v, unit, "in (0, 1]")?;
        }
        for (k, v) in [
            ("eta0", l.eta0),
            ("tau_1", l.tau_1),
            ("tau_2", l.tau_2),
            ("sigmoid_alpha", l.sigmoid_alpha),
            ("psi_scale", l.psi_scale),
        ] {
            check(&format!("[loss] {k}"), v, pos, "> 0")?;
        }
        let mil = self.is_mil();
        if !mil && (l.pooling.is_some() || (l.kind == "ce" && l.tau.is_some())) {
            bail!("[loss] pooling and tau (for ce) apply to bags: [data] format = \"mil\"");
        }
        if mil && !matches!(l.kind.as_str(), "midam" | "ce") {
            bail!(
                "[loss] kind = \"{}\": MIL data trains with midam (MIDAM) or ce (pooled cross-entropy)",
                l.kind
            );
        }
        if !mil && (l.kind == "midam" || self.sampler.instances.is_some()) {
            bail!(
                "[loss] kind = \"midam\" and [sampler] instances need bags: [data] format = \"mil\""
            );
        }
        let multilabel = self.is_multilabel();
        if multilabel
            && !matches!(
                l.kind.as_str(),
                "multilabel_aucm" | "map" | "multilabel_pauc" | "ce"
            )
        {
            bail!(
                "[loss] kind = \"{}\": multi-label data trains with multilabel_aucm (+ pesg), map (+ soap), multilabel_pauc (+ sopas) or ce",
                l.kind
            );
        }
        if !multilabel
            && matches!(
                l.kind.as_str(),
                "multilabel_aucm" | "map" | "multilabel_pauc"
            )
        {
            bail!(
                "[loss] kind = \"{}\" needs several label columns: [data] label_columns, label_prefix or dataset = \"yeast\"",
                l.kind
            );
        }
        let many = self.is_many_class();
        if self.data.format == "synthetic_classes" && !many {
            bail!(
                "[data] format = \"synthetic_classes\" trains with kind = \"entropic\" or \"softmax_ce\""
            );
        }
        if !many
            && (self.data.n_classes.is_some()
                || self.data.rows_per_class.is_some()
                || self.data.noise.is_some())
        {
            bail!(
                "[data] n_classes, rows_per_class and noise are for format = \"synthetic_classes\""
            );
        }
        if self.data.n_classes.is_some_and(|k| k < 2) || self.data.rows_per_class == Some(0) {
            bail!("[data] synthetic_classes needs n_classes ≥ 2 and rows_per_class ≥ 1");
        }
        check("[data] noise", self.data.noise, |x| x >= 0.0, "≥ 0")?;
        check(
            "[loss] alpha_multiplier",
            l.alpha_multiplier,
            |x| x >= 0.0,
            "≥ 0",
        )?;
        if self.sampler.tasks_per_batch == Some(0) {
            bail!("[sampler] tasks_per_batch = 0 must be at least 1");
        }
        if self.sampler.instances == Some(0) {
            bail!("[sampler] instances = 0 must be at least 1");
        }
        if let Some(n) = &self.data.normalize {
            if self.data.format == "movielens" {
                bail!(
                    "[data] normalize does not apply to format = \"movielens\" (it has no features)"
                );
            }
            n.parse::<xrisk_data::scaler::Normalize>()
                .map_err(|e| anyhow::anyhow!("[data] {e}"))?;
        }
        if l.topk == Some(0) {
            bail!("[loss] topk = 0 must be at least 1 (leave it out for SONG)");
        }
        if let Some(v) = &l.topk_version
            && v != "theo"
            && v != "prac"
        {
            bail!("[loss] topk_version = \"{v}\": use theo or prac");
        }
        check(
            "[model] dropout",
            self.model.dropout,
            |x| (0.0..1.0).contains(&x),
            "in [0, 1)",
        )?;
        if self.model.emb_size == Some(0) {
            bail!("[model] emb_size = 0 must be at least 1");
        }
        if let Some(h) = &self.model.layers
            && h.contains(&0)
        {
            bail!("[model] layers = {h:?}: every width must be at least 1");
        }
        if l.k == Some(0) {
            bail!("[loss] k = 0 must be at least 1");
        }
        let o = &self.optimizer;
        check("[optimizer] lr", o.lr, pos, "> 0")?;
        check("[optimizer] lr0", o.lr0, pos, "> 0")?;
        check(
            "[optimizer] momentum",
            o.momentum,
            |x| (0.0..1.0).contains(&x),
            "in [0, 1)",
        )?;
        check(
            "[optimizer] dampening",
            o.dampening,
            |x| (0.0..=1.0).contains(&x),
            "in [0, 1]",
        )?;
        for (k, v) in [("beta1", o.beta1), ("beta2", o.beta2)] {
            check(
                &format!("[optimizer] {k}"),
                v,
                |x| (0.0..1.0).contains(&x),
                "in [0, 1)",
            )?;
        }
        check("[optimizer] weight_decay", o.weight_decay, nonneg, "≥ 0")?;
        check("[optimizer] epoch_decay", o.epoch_decay, nonneg, "≥ 0")?;
        check("[optimizer] clip_value", o.clip_value, pos, "> 0")?;
        if self.sampler.batch_size < 2 {
            bail!(
                "[sampler] batch_size = {} must be at least 2",
                self.sampler.batch_size
            );
        }
        check(
            "[sampler] sampling_rate",
            Some(self.sampler.sampling_rate),
            |x| x > 0.0 && x < 1.0,
            "in (0, 1)",
        )?;
        let t = &self.train;
        check("[train] decay_factor", Some(t.decay_factor), pos, "> 0")?;
        if t.lr_schedule != LrSchedule::Step && t.decay_epochs.is_some() {
            bail!(
                "[train] decay_epochs is the step schedule's; with lr_schedule = \"{}\" leave it out (or use lr_schedule = \"step\")",
                if t.lr_schedule == LrSchedule::Cosine {
                    "cosine"
                } else {
                    "constant"
                }
            );
        }
        check("[train] max_fpr", Some(t.max_fpr), unit, "in (0, 1]")?;
        check(
            "[data] imratio",
            self.data.imratio,
            |x| x > 0.0 && x < 1.0,
            "in (0, 1)",
        )?;
        check(
            "[data] test_fraction",
            self.data.test_fraction,
            |x| x > 0.0 && x < 1.0,
            "in (0, 1)",
        )?;
        if let Some(h) = &self.model.hidden
            && h.contains(&0)
        {
            bail!("[model] hidden = {h:?}: every width must be at least 1");
        }
        if let Some(s) = self.model.input_shape
            && s.contains(&0)
        {
            bail!("[model] input_shape = {s:?}: every size must be at least 1");
        }
        Ok(())
    }
}

/// Parses and checks the text of a config read from `origin` (named in errors; relative data
/// paths are resolved against its folder).
pub fn parse(text: &str, origin: &Path) -> Result<Config> {
    let mut cfg: Config = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .and_then(|s| text.get(..s.start))
            .map(|t| t.lines().count().max(1));
        match line {
            Some(l) => anyhow::anyhow!("{}:{l}: {}", origin.display(), e.message()),
            None => anyhow::anyhow!("{}: {}", origin.display(), e.message()),
        }
    })?;
    cfg.loss
        .check_keys()
        .and_then(|()| cfg.validate())
        .with_context(|| origin.display().to_string())?;
    let base = origin.parent().unwrap_or(Path::new("."));
    for p in [
        &mut cfg.data.train,
        &mut cfg.data.test,
        &mut cfg.data.train_labels,
        &mut cfg.data.test_labels,
    ]
    .into_iter()
    .flatten()
    {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        super::parse(text, Path::new("/cfg/run.toml"))
    }

    const OK: &str = "[data]\nformat = \"embedded-fashion-mnist\"\n[loss]\nkind = \"ap\"\ngamma = 0.1\n[optimizer]\nkind = \"soap\"\n";

    #[test]
    fn decay_epochs_of_a_huge_epoch_count_do_not_overflow() {
        let t = TrainConfig {
            epochs: usize::MAX,
            ..TrainConfig::default()
        };
        assert_eq!(
            t.decay_epochs(),
            vec![usize::MAX / 2, usize::MAX / 4 * 3 + 2]
        );
    }

    #[test]
    fn normalize_names_are_checked_and_refused_for_movielens() {
        let with = |fmt: &str, n: &str| {
            parse(&OK.replace(
                "format = \"embedded-fashion-mnist\"",
                &format!("format = \"{fmt}\"\nnormalize = \"{n}\""),
            ))
        };
        assert!(with("embedded-fashion-mnist", "log_standard").is_ok());
        let e = with("embedded-fashion-mnist", "zscore").unwrap_err();
        assert!(
            format!("{e:#}").contains("[data] normalize = \"zscore\""),
            "{e:#}"
        );
        let e = with("movielens", "standard").unwrap_err();
        assert!(format!("{e:#}").contains("no features"), "{e:#}");
    }

    #[test]
    fn accepts_a_minimal_config_with_defaults() {
        let c = parse(OK).unwrap();
        assert_eq!(
            (c.train.epochs, c.sampler.batch_size, c.model.kind.as_str()),
            (10, 64, "mlp")
        );
        assert_eq!(c.train.decay_epochs(), vec![5, 7]);
    }

    #[test]
    fn lr_schedules_parse_and_refuse_decay_epochs_outside_the_step_schedule() {
        let with = |train: &str| parse(&format!("{OK}[train]\n{train}\n"));
        let c = with("lr_schedule = \"cosine\"\nlr_warmup_steps = 50").unwrap();
        assert_eq!(
            (c.train.lr_schedule, c.train.lr_warmup_steps),
            (LrSchedule::Cosine, 50)
        );
        assert!(c.train.decay_epochs().is_empty());
        let e = format!(
            "{:#}",
            with("lr_schedule = \"cosine\"\ndecay_epochs = [3]").unwrap_err()
        );
        assert!(e.contains("decay_epochs is the step schedule's"), "{e}");
        let e = format!("{:#}", with("lr_schedule = \"linear\"").unwrap_err());
        assert!(
            e.contains("`step`, `cosine`") && e.contains("run.toml:"),
            "{e}"
        );
    }

    #[test]
    fn unknown_and_misplaced_keys_are_named() {
        let e = parse(&format!("{OK}lr = 0.1\n[train]\nepoch = 3\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `epoch`"), "{e}");
        assert!(e.contains("run.toml:"), "{e}");
        let e = format!(
            "{:#}",
            parse(&OK.replace("gamma = 0.1", "eta = 0.1")).unwrap_err()
        );
        assert!(e.contains("key `eta` does not apply to loss `ap`"), "{e}");
        let e = format!("{:#}", parse(&OK.replace("\"ap\"", "\"apx\"")).unwrap_err());
        assert!(e.contains("kind = \"apx\" is not known"), "{e}");
    }
}
