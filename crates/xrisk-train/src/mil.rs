//! The multiple-instance family (`[data] format = "mil"`): bags of instances with one 0/1
//! label per bag, LibAUC's `FFNN_stoc_att` instance model, and either MIDAM (stochastic
//! softmax or attention pooling, `[loss] kind = "midam"`, `[optimizer] kind = "midam"`) or the
//! usual deep-MIL baseline: binary cross-entropy on the bag score pooled over *all* the bag's
//! instances (`[loss] kind = "ce"`, `pooling = "mean" | "max" | "softmax" | "attention"`, any
//! plain optimizer). Spec `libauc_spec.md` §2.16, §3.7, §7.8.
//!
//! Bags come from `[data] train` (a MIL CSV) or `dataset` (one of `xrisk data fetch mil`); the
//! test bags from `[data] test`, or else a stratified, seeded `test_fraction` of them;
//! batches come from the DualSampler over bag labels; MIDAM samples `[sampler] instances`
//! instances per bag (default 4, fewer when a bag is smaller) with a seeded RNG whose position
//! every checkpoint keeps. Evaluation pools every instance of each test bag with the loss's
//! pooling (LibAUC's `MIL_aggregation`) and reports AUROC, AUPRC and pAUC per epoch.
//!
//! ```
//! use xrisk_data::readers::mil::Bag;
//! use xrisk_train::mil::{MilData, MilTask};
//! use xrisk_train::{Schedule, Trainer, observer::Records};
//!
//! // Bags of 4 instances with 3 features; a positive bag holds one instance shifted by +3.
//! let bag = |i: usize| {
//!     let label = if i % 3 == 0 { 1.0 } else { 0.0 };
//!     let instances = (0..12)
//!         .map(|j| ((i * 7 + j * 13) % 10) as f32 / 10.0 + if label > 0.0 && j == 0 { 3.0 } else { 0.0 })
//!         .collect();
//!     Bag { id: format!("bag{i}"), label, instances }
//! };
//! let (train, test) = ((0..90).map(bag).collect(), (90..150).map(bag).collect());
//! let data = MilData { train, test, validation: None, dim: 3 };
//! let cfg = xrisk_train::config::parse(
//!     r#"
//!     [data]
//!     format = "mil"
//!     [model]
//!     kind = "ffnn_att"
//!     [loss]
//!     kind = "midam"
//!     [optimizer]
//!     kind = "midam"
//!     lr = 0.1
//!     [sampler]
//!     batch_size = 16
//!     [train]
//!     epochs = 10
//!     "#,
//!     std::path::Path::new("."),
//! )?;
//! let mut task = MilTask::from_data(&cfg, data)?;
//! let mut records = Records::default();
//! Trainer::new(Schedule::of(&cfg.train)).fit(&mut task, &mut records)?;
//! let auroc = records.0[9].line["test"]["auroc"].as_f64().unwrap_or(0.0);
//! assert!(auroc > 0.9, "test AUROC {auroc}");
//! # Ok::<(), anyhow::Error>(())
//! ```

use crate::builder::Sampler;
use crate::config::Config;
use crate::stages::Stages;
use anyhow::{Result, bail};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use xrisk::dist::{Collective, gather_logits, shard};
use xrisk::loss::{CrossEntropyLoss, MidamConfig, MidamInput, MidamLoss, MidamPooling};
use xrisk::mil::{AttentionMil, Pooling};
use xrisk::optim::{Midam, MidamConfig as MidamOptConfig};
use xrisk::persist::Persist;
use xrisk_data::Dataset;
use xrisk_data::readers::mil::{Bag, MilDataset};
use xrisk_data::registry::{fetched_file, paths};
use xrisk_data::sampler::{DualSampler, RandomSampler};
use xrisk_data::snapshot::Snapshot;

/// Data sets of the `mil` package (`xrisk data fetch mil`) by name.
const MIL_SETS: &[&str] = &[
    "musk1",
    "musk2",
    "elephant",
    "fox",
    "tiger",
    "corel_dogs",
    "protein",
    "ucsb_breast_cancer",
    "web_recommendation_1",
];

fn load(cfg: &Config) -> Result<MilDataset> {
    let path = match (&cfg.data.dataset, &cfg.data.train) {
        (Some(name), None) => {
            let p = fetched_file("mil", paths::MIL_CSV)?.join(format!("{name}.csv"));
            if !p.exists() {
                bail!(
                    "[data] dataset = \"{name}\": no {} (known: {})",
                    p.display(),
                    MIL_SETS.join(", ")
                );
            }
            p
        }
        (None, Some(p)) => p.clone(),
        (Some(_), Some(_)) => bail!("[data] give either `dataset` or `train`, not both"),
        (None, None) => {
            bail!("[data] format = \"mil\" needs `dataset` (e.g. musk1) or `train` (a MIL CSV)")
        }
    };
    Ok(xrisk_data::readers::mil::read_mil(&path)?)
}

/// Fits `[data] normalize` on the training bags' instances and applies it to every bag.
fn normalize(cfg: &Config, train: &mut [Bag], others: &mut [&mut [Bag]], dim: usize) -> Result<()> {
    let Some(how) = crate::data::normalize_kind(&cfg.data)? else {
        return Ok(());
    };
    let instances: Vec<f32> = train
        .iter()
        .flat_map(|b| b.instances.iter().copied())
        .collect();
    if let Some(s) = xrisk_data::scaler::FeatureScaler::fit_rows(&instances, dim, how) {
        for b in train.iter_mut() {
            s.apply_rows(&mut b.instances, dim)?;
        }
        for part in others.iter_mut() {
            for b in part.iter_mut() {
                s.apply_rows(&mut b.instances, dim)?;
            }
        }
    }
    Ok(())
}

/// What trains the model.
// One value per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum Method {
    Midam(MidamLoss, Midam),
    Ce(Pooling, xrisk::optim::ProximalOptimizer),
}

fn pooling_name(p: Pooling) -> &'static str {
    match p {
        Pooling::Mean => "mean",
        Pooling::Max => "max",
        Pooling::Softmax { .. } => "softmax",
        Pooling::Attention => "attention",
    }
}

fn method(cfg: &Config, n_bags: usize, device: &Device) -> Result<Method> {
    let l = &cfg.loss;
    let tau = l.tau.unwrap_or(0.1);
    let pooling = match l.pooling.as_deref() {
        None | Some("attention") => Pooling::Attention,
        Some("softmax") => Pooling::Softmax { tau },
        Some("mean") if l.kind == "ce" => Pooling::Mean,
        Some("max") if l.kind == "ce" => Pooling::Max,
        Some(other) => bail!(
            "[loss] pooling = \"{other}\": MIDAM pools by softmax or attention; ce also by mean or max"
        ),
    };
    match l.kind.as_str() {
        "midam" => {
            if cfg.optimizer.kind != "midam" {
                bail!(
                    "[optimizer] kind = \"{}\": the midam loss is optimized by kind = \"midam\"",
                    cfg.optimizer.kind
                );
            }
            let mp = match pooling {
                Pooling::Softmax { tau } => MidamPooling::Softmax { tau },
                _ => MidamPooling::Attention,
            };
            let loss = MidamLoss::new(
                MidamConfig {
                    margin: l.margin.unwrap_or(1.0),
                    gamma: l.gamma.unwrap_or(0.9),
                    ..MidamConfig::new(n_bags, mp)
                },
                device,
            )?;
            let o = &cfg.optimizer;
            let d = MidamOptConfig::default();
            let opt = MidamOptConfig {
                lr: o.lr.unwrap_or(d.lr),
                momentum: o.momentum.unwrap_or(d.momentum),
                weight_decay: o.weight_decay.unwrap_or(d.weight_decay),
            }
            .init();
            Ok(Method::Midam(loss, opt))
        }
        "ce" => Ok(Method::Ce(
            pooling,
            crate::builder::build_plain_optimizer(
                &cfg.optimizer,
                "MIL cross-entropy uses a plain optimizer (adam, sgd, adamw)",
            )?,
        )),
        other => bail!(
            "[loss] kind = \"{other}\": MIL data trains with midam (MIDAM) or ce (pooled cross-entropy)"
        ),
    }
}

/// The `[B, Σn]` averaging matrix of bags with `sizes` instances (row b: 1/n_b on its block).
fn averaging(sizes: &[usize], device: &Device) -> Tensor<2> {
    let total: usize = sizes.iter().sum();
    let mut m = vec![0f32; sizes.len() * total];
    let mut at = 0;
    for (b, &n) in sizes.iter().enumerate() {
        for j in at..at + n {
            m[b * total + j] = 1.0 / n as f32;
        }
        at += n;
    }
    Tensor::from_data(TensorData::new(m, [sizes.len(), total]), device)
}

fn instances_tensor(rows: Vec<f32>, dim: usize, device: &Device) -> Tensor<2> {
    let n = rows.len() / dim;
    Tensor::from_data(TensorData::new(rows, [n, dim]), device)
}

/// Bag scores of `bags` pooled over all their instances, on the host.
fn scores(
    model: &AttentionMil,
    bags: &[Bag],
    dim: usize,
    pooling: Pooling,
    device: &Device,
) -> Vec<f64> {
    let inference = device.clone().without_autodiff();
    let model = model.valid();
    bags.iter()
        .map(|b| {
            let x = instances_tensor(b.instances.clone(), dim, &inference);
            let (phi, w) = model.forward(x);
            f64::from(pooling.pool(phi, w).into_scalar::<f32>())
        })
        .collect()
}

fn bag_labels(bags: &[Bag]) -> Dataset {
    Dataset {
        features: Vec::new(),
        dim: 0,
        labels: bags.iter().map(|b| b.label).collect(),
        n_tasks: 1,
        groups: None,
    }
}

/// Training bags and test bags of a MIL run, `[data] normalize` applied.
pub struct MilData {
    /// The training bags.
    pub train: Vec<Bag>,
    /// The test bags.
    pub test: Vec<Bag>,
    /// The validation bags of model selection (`[data] validation`), split off the training
    /// bags.
    pub validation: Option<Vec<Bag>>,
    /// Features per instance.
    pub dim: usize,
}

impl MilData {
    /// Reads the bags of `cfg` (`[data] train` or `dataset`) and splits off the test bags
    /// (`[data] test`, else a stratified, seeded `test_fraction`, default 0.3).
    pub fn load(cfg: &Config) -> Result<Self> {
        let data = load(cfg)?;
        let dim = data.dim;
        let (mut train, mut test): (Vec<Bag>, Vec<Bag>) = match &cfg.data.test {
            Some(path) => {
                let t = xrisk_data::readers::mil::read_mil(path)?;
                if t.dim != dim {
                    bail!(
                        "{}: {} features per instance, the training bags have {dim}",
                        path.display(),
                        t.dim
                    );
                }
                (data.bags, t.bags)
            }
            None => {
                let labels: Vec<f32> = data.bags.iter().map(|b| b.label).collect();
                let (tr, te) = xrisk_data::train_test_split(
                    &labels,
                    cfg.data.test_fraction.unwrap_or(0.3),
                    cfg.train.seed,
                )?;
                (
                    tr.iter().map(|&i| data.bags[i].clone()).collect(),
                    te.iter().map(|&i| data.bags[i].clone()).collect(),
                )
            }
        };
        let validation = match &cfg.data.validation {
            None => None,
            Some(crate::config::Validation::Fraction(f)) => {
                let labels: Vec<f32> = train.iter().map(|b| b.label).collect();
                let (tr, va) =
                    xrisk_data::train_test_split(&labels, *f, cfg.train.seed ^ 0x7661_6c69)?;
                let v: Vec<Bag> = va.iter().map(|&i| train[i].clone()).collect();
                train = tr.iter().map(|&i| train[i].clone()).collect();
                Some(v)
            }
            Some(crate::config::Validation::File(p)) => Some({
                let v = xrisk_data::readers::mil::read_mil(p)?;
                if v.dim != dim {
                    bail!(
                        "{}: {} features per instance, the training bags have {dim}",
                        p.display(),
                        v.dim
                    );
                }
                v.bags
            }),
        };
        let mut validation = validation;
        match &mut validation {
            Some(v) => normalize(cfg, &mut train, &mut [&mut test, v], dim)?,
            None => normalize(cfg, &mut train, &mut [&mut test], dim)?,
        }
        Ok(MilData {
            train,
            test,
            validation,
            dim,
        })
    }
}

/// A MIL run as a [`crate::Task`]: the model, MIDAM or pooled CE, the DualSampler over bag
/// labels and the instance-sampling stream. A checkpoint holds the weights, the optimizer's
/// buffers and learning rate, MIDAM's bag tables, `a`, `b`, `α` and smoothing, and the
/// instance stream's position.
///
/// Data-parallel ([`crate::Trainer::with_collective`]): this process runs the model on its shard
/// of every batch's bags, the loss reads the gathered bag scores, the model's gradients are summed
/// over the group (`xrisk::dist`). Instance sampling stays one stream, drawn alike on every
/// process.
pub struct MilTask {
    train: Vec<Bag>,
    test: Vec<Bag>,
    validation: Option<(Vec<Bag>, Dataset)>,
    train_set: Dataset,
    test_set: Dataset,
    dim: usize,
    device: Device,
    model: AttentionMil,
    method: Method,
    eval_pooling: Pooling,
    per_bag: usize,
    sampler: Sampler,
    /// `[pretrain]`'s stages (pooled CE first).
    stages: Stages<Method, Sampler>,
    seed: u64,
    rng: ChaCha8Rng,
    max_fpr: f64,
    last_scores: Option<Vec<f64>>,
}

impl MilTask {
    /// Reads the data of `cfg` and builds the run ([`MilData::load`], [`MilTask::from_data`]).
    pub fn new(cfg: &Config) -> Result<Self> {
        Self::from_data(cfg, MilData::load(cfg)?)
    }

    /// Builds the run of `cfg` on `data`: checks that the model fits in memory, seeds the
    /// device and initialises the model.
    pub fn from_data(cfg: &Config, data: MilData) -> Result<Self> {
        let MilData {
            train,
            test,
            validation,
            dim,
        } = data;
        let validation = validation.map(|v| {
            let labels = bag_labels(&v);
            (v, labels)
        });
        let (train_set, test_set) = (bag_labels(&train), bag_labels(&test));
        if !matches!(cfg.model.kind.as_str(), "ffnn_att") {
            bail!(
                "[model] kind = \"{}\": MIL data trains LibAUC's FFNN_stoc_att, kind = \"ffnn_att\" (with `hidden`)",
                cfg.model.kind
            );
        }
        let device = cfg.train.device()?;
        device.seed(cfg.train.seed);
        let hidden = cfg.model.hidden.as_deref().unwrap_or(&[16]);
        crate::data::check_dense_memory(cfg, "[model] hidden", dim, hidden, 1)?;
        let model = AttentionMil::new(dim, hidden, &device);
        let method = method(cfg, train.len(), &device)?;
        let eval_pooling = match &method {
            Method::Midam(l, _) => match l.config().pooling {
                MidamPooling::Softmax { tau } => Pooling::Softmax { tau },
                MidamPooling::Attention => Pooling::Attention,
            },
            Method::Ce(p, _) => *p,
        };
        let sampler = Sampler::Dual(DualSampler::new(
            &train_set.labels,
            cfg.sampler.batch_size,
            cfg.sampler.sampling_rate,
            cfg.train.seed,
        )?);
        // Two stages: cross-entropy on bags pooled like the run's method, then the method.
        let (method, stages) = match &cfg.pretrain {
            None => (method, Stages::single()),
            Some(p) => {
                let first = Method::Ce(
                    eval_pooling,
                    crate::builder::build_plain_optimizer(
                        &p.optimizer,
                        "the [pretrain] stage of a MIL run uses a plain optimizer (adam, sgd, adamw)",
                    )?,
                );
                let sm = p.sampler_config(&cfg.sampler);
                let pre_sampler = if sm.kind.as_deref() == Some("dual") {
                    Sampler::Dual(DualSampler::new(
                        &train_set.labels,
                        sm.batch_size,
                        sm.sampling_rate,
                        cfg.train.seed,
                    )?)
                } else {
                    Sampler::Random(RandomSampler::new(
                        train_set.len(),
                        sm.batch_size,
                        true,
                        cfg.train.seed,
                    )?)
                };
                (first, Stages::two(cfg, method, pre_sampler))
            }
        };
        Ok(MilTask {
            train,
            test,
            validation,
            train_set,
            test_set,
            dim,
            device,
            model,
            method,
            eval_pooling,
            per_bag: cfg.sampler.instances.unwrap_or(4),
            sampler,
            stages,
            seed: cfg.train.seed,
            rng: ChaCha8Rng::seed_from_u64(cfg.train.seed ^ 0x6d69_6c00),
            max_fpr: cfg.train.max_fpr,
            last_scores: None,
        })
    }

    /// Bag labels of the training bags (features empty).
    pub fn train_labels(&self) -> &Dataset {
        &self.train_set
    }

    /// Bag labels of the test bags (features empty).
    pub fn test_labels(&self) -> &Dataset {
        &self.test_set
    }

    /// The schedule of a MIL run (with `[pretrain]`, its epochs first; decays counted on
    /// fine-tuning epochs).
    pub fn schedule(cfg: &Config) -> crate::Schedule {
        crate::stages::schedule(cfg, crate::Schedule::of(&cfg.train))
    }

    /// The method's name for reports: `midam (attention)`, `ce (max pooling)`, ….
    pub fn method_name(&self) -> String {
        match &self.method {
            Method::Midam(..) => format!("midam ({})", pooling_name(self.eval_pooling)),
            Method::Ce(p, _) => format!("ce ({} pooling)", pooling_name(*p)),
        }
    }

    /// The test bags' scores of the current model (those of the last evaluation when no step
    /// ran since).
    pub fn test_scores(&mut self) -> Vec<f64> {
        match &self.last_scores {
            Some(s) => s.clone(),
            None => scores(
                &self.model,
                &self.test,
                self.dim,
                self.eval_pooling,
                &self.device,
            ),
        }
    }

    /// The trained model.
    pub fn model(&self) -> &AttentionMil {
        &self.model
    }

    fn lr(&self) -> f64 {
        match &self.method {
            Method::Midam(_, o) => o.inner.config.lr,
            Method::Ce(_, o) => o.config.lr,
        }
    }

    fn param_ids(&self) -> Vec<burn::module::ParamId> {
        let mut ids = xrisk::persist::param_ids(&self.model);
        if let Method::Midam(l, _) = &self.method {
            ids.extend(xrisk::persist::param_ids(&l.params));
        }
        ids
    }
}

impl crate::Task for MilTask {
    type Batch = Vec<usize>;

    fn batches_per_epoch(&self) -> usize {
        self.sampler.num_batches()
    }

    fn decay(&mut self, factor: f64) -> Result<()> {
        match &mut self.method {
            Method::Midam(loss, opt) => {
                opt.update_lr(factor);
                loss.update_smoothing(2.0)?;
            }
            Method::Ce(_, opt) => opt.update_lr(factor),
        }
        Ok(())
    }

    fn scale_lr(&mut self, ratio: f64) -> Result<()> {
        match &mut self.method {
            Method::Midam(_, opt) => opt.scale_lr(ratio),
            Method::Ce(_, opt) => opt.scale_lr(ratio),
        }
        Ok(())
    }

    fn begin_epoch(&mut self, epoch: usize) -> Result<()> {
        if self.stages.begin_epoch(epoch, &mut self.method) == Some(true) {
            self.device.seed(crate::stages::head_seed(self.seed));
            self.model = self.model.clone().reset_head(&self.device);
        }
        Ok(())
    }

    fn next_epoch(&mut self) -> Result<Vec<Vec<usize>>> {
        Ok(self.stages.sampler(&mut self.sampler).next_epoch())
    }

    fn selectable(&self) -> bool {
        !self.stages.pretraining()
    }

    fn batch_ids(batch: &Vec<usize>) -> Vec<usize> {
        batch.clone()
    }

    fn step(&mut self, ids: &Vec<usize>, mut dist: Option<&mut dyn Collective>) -> Result<f64> {
        self.last_scores = None;
        let (dim, device) = (self.dim, &self.device);
        let bl: Vec<f32> = ids.iter().map(|&i| self.train_set.labels[i]).collect();
        // This rank's positions of the global batch (all of them in one process).
        let mine: Vec<usize> = match dist.as_deref() {
            None => (0..ids.len()).collect(),
            Some(c) => shard(ids.len(), c.rank(), c.world_size())?,
        };
        let value = match &mut self.method {
            Method::Midam(loss, _) => {
                let (mut rows, mut sizes) = (Vec::new(), Vec::new());
                for (p, &i) in ids.iter().enumerate() {
                    let b = &self.train[i];
                    let n = b.instances.len() / dim;
                    let k = self.per_bag.min(n);
                    // Every process draws every bag's instances: one stream for the group.
                    let picked = index::sample(&mut self.rng, n, k);
                    if mine.contains(&p) {
                        for j in picked {
                            rows.extend_from_slice(&b.instances[j * dim..(j + 1) * dim]);
                        }
                        sizes.push(k);
                    }
                }
                let (phi, w) = self.model.forward(instances_tensor(rows, dim, device));
                let avg = averaging(&sizes, device);
                let mut col = |t: Tensor<1>| -> Result<Tensor<1>> {
                    let n = t.dims()[0];
                    let pooled = avg.clone().matmul(t.reshape([n, 1])).reshape([sizes.len()]);
                    Ok(match dist.as_deref_mut() {
                        None => pooled,
                        Some(c) => gather_logits(pooled, c)?,
                    })
                };
                let input = match loss.config().pooling {
                    MidamPooling::Softmax { tau } => MidamInput::Softmax(col((phi / tau).exp())?),
                    MidamPooling::Attention => MidamInput::Attention {
                        sn: col(phi * w.clone())?,
                        sd: col(w)?,
                    },
                };
                loss.forward(input, &bl, ids)?
            }
            Method::Ce(pooling, _) => {
                let pooled: Vec<Tensor<1>> = mine
                    .iter()
                    .map(|&p| ids[p])
                    .map(|i| {
                        let (phi, w) = self.model.forward(instances_tensor(
                            self.train[i].instances.clone(),
                            dim,
                            device,
                        ));
                        pooling.pool(phi, w)
                    })
                    .collect();
                let scores = Tensor::cat(pooled, 0);
                let scores = match dist.as_deref_mut() {
                    None => scores,
                    Some(c) => gather_logits(scores, c)?,
                };
                CrossEntropyLoss.forward(scores, &bl)?
            }
        };
        let v = crate::gradients::value(&value);
        if !v.is_finite() {
            return Ok(v);
        }
        let model = self.model.clone();
        let (mut g, grads) = crate::gradients::backward(value, &model, dist)?;
        self.model = match &mut self.method {
            Method::Midam(loss, opt) => opt.step_split(model, loss, g, grads),
            Method::Ce(_, opt) => opt.step(model, &mut g),
        };
        Ok(v)
    }

    fn evaluate(&mut self, epoch: usize, loss: f64) -> Result<(serde_json::Value, String)> {
        let s = scores(
            &self.model,
            &self.test,
            self.dim,
            self.eval_pooling,
            &self.device,
        );
        let m = crate::data::evaluate(&self.test_set, &s, self.max_fpr)?;
        self.last_scores = Some(s);
        let (lr, max_fpr) = (self.lr(), self.max_fpr);
        let mut line = json!({"epoch": epoch, "train_loss": loss, "objective": null, "lr": lr,
                          "test": {"auroc": m.auroc, "auprc": m.auprc, "pauc": m.pauc, "pauc_max_fpr": max_fpr}});
        let mut stage = String::new();
        if let Some(name) = self.stages.name() {
            line["stage"] = json!(name);
            stage = format!("({name})  ");
        }
        let summary = format!(
            "{stage}loss {loss:>9.5}  lr {lr:.2e}  test AUROC {:.4}  AUPRC {:.4}  pAUC(FPR≤{max_fpr}) {:.4}",
            m.auroc, m.auprc, m.pauc
        );
        Ok((line, summary))
    }

    fn validate(&mut self) -> Result<Option<serde_json::Value>> {
        let Some((bags, labels)) = &self.validation else {
            return Ok(None);
        };
        let s = scores(&self.model, bags, self.dim, self.eval_pooling, &self.device);
        let m = crate::data::evaluate(labels, &s, self.max_fpr)?;
        Ok(Some(
            json!({"auroc": m.auroc, "auprc": m.auprc, "pauc": m.pauc, "pauc_max_fpr": self.max_fpr}),
        ))
    }

    fn save(&self, s: &mut Snapshot) -> Result<()> {
        let ids = self.param_ids();
        xrisk::persist::save_module(&self.model, "model", s);
        match &self.method {
            Method::Midam(loss, opt) => {
                loss.save("loss", s);
                opt.inner.save_state("optimizer", &ids, s)?;
            }
            Method::Ce(_, opt) => opt.save_state("optimizer", &ids, s)?,
        }
        // The stream position of the instance sampling (words drawn so far).
        s.put_text("mil.rng_word_pos", self.rng.get_word_pos().to_string());
        self.stages.save(s);
        Ok(())
    }

    fn restore(&mut self, s: &Snapshot) -> Result<()> {
        self.stages.restore(s, &mut self.method)?;
        self.model = xrisk::persist::restore_module(self.model.clone(), "model", s)?;
        if let Method::Midam(loss, _) = &mut self.method {
            loss.restore("loss", s)?;
        }
        let ids = self.param_ids();
        match &mut self.method {
            Method::Midam(_, opt) => opt
                .inner
                .restore_state("optimizer", &ids, s, &self.device)?,
            Method::Ce(_, opt) => opt.restore_state("optimizer", &ids, s, &self.device)?,
        }
        let pos: u128 = s.text("mil.rng_word_pos")?.parse().map_err(|e| {
            anyhow::anyhow!("checkpoint entry mil.rng_word_pos is not a number: {e}")
        })?;
        self.rng.set_word_pos(pos);
        self.last_scores = None;
        Ok(())
    }
}
