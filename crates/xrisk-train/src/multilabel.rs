//! The multi-label family: several 0/1 label columns per row (`[data] label_columns = [...]`
//! or `label_prefix = "Class"`, or `dataset = "yeast"`), an MLP with one logit per task, and
//! `MultiLabelAucmLoss` + PESG (`[loss] kind = "multilabel_aucm"`), `MapLoss` + SOAP
//! (`kind = "map"`), the one-way pAUC per task + SOPA-s (`kind = "multilabel_pauc"`) or
//! per-task binary cross-entropy (`kind = "ce"`) with a plain optimizer. Spec
//! `libauc_spec.md` §2.2, §2.5, §4.4, §7.5.
//!
//! The X-risk losses draw batches from the TriSampler in classification mode (`[sampler]
//! batch_size` ids per task — positives at `sampling_rate` — over `tasks_per_batch` tasks, all
//! by default); the loss averages over the batch's tasks. CE uses shuffled batches. Rows are
//! split by a seeded `test_fraction` (default 0.3) unless `[data] test` is given. Each epoch
//! reports the test AUROC and AP of every task and their means.
//!
//! ```
//! use xrisk_data::Dataset;
//! use xrisk_train::multilabel::{MultiLabelTask, TaskMetrics};
//! use xrisk_train::{Trainer, observer::Records};
//!
//! // 3 tasks on 4 features: task k is positive when feature k is above a threshold.
//! let table = |n: usize, offset: usize| {
//!     let (mut features, mut labels) = (Vec::new(), Vec::new());
//!     for i in offset..offset + n {
//!         let f: Vec<f32> = (0..4).map(|j| ((i * 37 + j * 11) % 97) as f32 / 97.0 - 0.5).collect();
//!         labels.extend([f[0] > 0.2, f[1] > 0.0, f[2] > 0.3].map(|y| y as u8 as f32));
//!         features.extend(f);
//!     }
//!     Dataset { features, dim: 4, labels, n_tasks: 3, groups: None }
//! };
//! let cfg = xrisk_train::config::parse(
//!     r#"
//!     [data]
//!     format = "csv"
//!     label_prefix = "y"
//!     [model]
//!     kind = "mlp"
//!     hidden = [16]
//!     [loss]
//!     kind = "multilabel_aucm"
//!     [optimizer]
//!     kind = "pesg"
//!     lr = 0.1
//!     [sampler]
//!     batch_size = 16
//!     [train]
//!     epochs = 10
//!     "#,
//!     std::path::Path::new("."),
//! )?;
//! let mut task = MultiLabelTask::from_data(&cfg, table(400, 0), table(200, 400))?;
//! let mut records = Records::default();
//! Trainer::new(MultiLabelTask::schedule(&cfg)).fit(&mut task, &mut records)?;
//! let m = task.test_metrics()?;
//! assert!(TaskMetrics::mean(&m.auroc) > 0.8, "{:?}", m.auroc);
//! # Ok::<(), anyhow::Error>(())
//! ```

use crate::config::Config;
use crate::stages::Stages;
use anyhow::{Result, bail};
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::json;
use std::path::Path;
use xrisk::dist::{Collective, gather_rows, shard};
use xrisk::loss::{
    AucmConfig, MapConfig, MapLoss, MultiLabelAucmLoss, MultiLabelPAucLoss, PAucBackend,
    PAucDroConfig,
};
use xrisk::model::Mlp;
use xrisk::optim::{Pesg, PesgConfig, ProximalOptimizer};
use xrisk::persist::Persist;
use xrisk_data::Dataset;
use xrisk_data::registry::{fetched_file, paths};
use xrisk_data::sampler::{RandomSampler, TriBatch, TriSampler, TriSamplerConfig};
use xrisk_data::snapshot::Snapshot;

fn read(cfg: &Config, path: &Path) -> Result<Dataset> {
    let delimiter = match cfg.data.format.as_str() {
        "csv" => b',',
        "tsv" => b'\t',
        other => bail!("[data] format = \"{other}\": multi-label data is read from csv or tsv"),
    };
    let t = xrisk_data::readers::table::read_table(path, delimiter, true)?;
    let cols: Vec<usize> = match (&cfg.data.label_columns, &cfg.data.label_prefix) {
        (Some(names), None) => names
            .iter()
            .map(|n| t.column_index(n))
            .collect::<std::result::Result<_, _>>()?,
        (None, prefix) => {
            let p = prefix.as_deref().unwrap_or("Class");
            let c: Vec<usize> = (0..t.columns.len())
                .filter(|&i| t.columns[i].starts_with(p))
                .collect();
            if c.is_empty() {
                bail!(
                    "{}: no column starts with \"{p}\" (label_prefix); the columns are: {}",
                    path.display(),
                    t.columns.join(", ")
                );
            }
            c
        }
        (Some(_), Some(_)) => bail!("[data] give label_columns or label_prefix, not both"),
    };
    let d = t.into_dataset(&cols)?;
    if let Some(i) = d.labels.iter().position(|&v| v != 0.0 && v != 1.0) {
        bail!(
            "{}: row {}, label column {}: {} is not 0 or 1",
            path.display(),
            i / d.n_tasks + 1,
            i % d.n_tasks + 1,
            d.labels[i]
        );
    }
    Ok(d)
}

fn load(cfg: &Config) -> Result<(Dataset, Dataset)> {
    let train_path = match (&cfg.data.dataset, &cfg.data.train) {
        (Some(name), None) if name == "yeast" => fetched_file("yeast", paths::YEAST)?,
        (Some(name), None) => bail!("[data] dataset = \"{name}\": multi-label runs know yeast"),
        (None, Some(p)) => p.clone(),
        (Some(_), Some(_)) => bail!("[data] give either `dataset` or `train`, not both"),
        (None, None) => bail!("[data] needs `train` (a csv/tsv file) or dataset = \"yeast\""),
    };
    let all = read(cfg, &train_path)?;
    let (mut train, mut test) = match &cfg.data.test {
        Some(p) => (all, read(cfg, p)?),
        None => {
            // A seeded random split (stratifying on one of many tasks would favour it).
            let (tr, te) = xrisk_data::train_test_split(
                &vec![0.0; all.len()],
                cfg.data.test_fraction.unwrap_or(0.3),
                cfg.train.seed,
            )?;
            (all.select(&tr), all.select(&te))
        }
    };
    if train.dim != test.dim || train.n_tasks != test.n_tasks {
        bail!(
            "train has {} features and {} labels per row, test {} and {}",
            train.dim,
            train.n_tasks,
            test.dim,
            test.n_tasks
        );
    }
    crate::data::normalize_features(&cfg.data, &mut train, &mut test)?;
    Ok((train, test))
}

// One value per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum Method {
    Aucm(MultiLabelAucmLoss, Pesg),
    Map(MapLoss, ProximalOptimizer),
    PAuc(MultiLabelPAucLoss, ProximalOptimizer),
    Ce(ProximalOptimizer),
}

fn method(cfg: &Config, train: &Dataset, device: &Device) -> Result<Method> {
    let l = &cfg.loss;
    let plain = || {
        crate::builder::build_plain_optimizer(
            &cfg.optimizer,
            &format!(
                "loss `{}` uses a plain optimizer here (soap for map; adam, sgd, adamw for ce)",
                l.kind
            ),
        )
    };
    Ok(match l.kind.as_str() {
        "multilabel_aucm" => {
            if cfg.optimizer.kind != "pesg" {
                bail!(
                    "[optimizer] kind = \"{}\": multilabel_aucm is optimized by pesg",
                    cfg.optimizer.kind
                );
            }
            let version = match l.version.as_deref() {
                None | Some("v1") => xrisk::loss::AucmVersion::V1,
                Some("v2") => xrisk::loss::AucmVersion::V2,
                Some(v) => bail!("[loss] version = \"{v}\": use v1 or v2"),
            };
            let loss = MultiLabelAucmLoss::new(
                AucmConfig {
                    margin: l.margin.unwrap_or(1.0),
                    version,
                },
                train.n_tasks,
                device,
            )?;
            let o = &cfg.optimizer;
            let d = PesgConfig::default();
            let pesg = PesgConfig {
                lr: o.lr.unwrap_or(d.lr),
                momentum: o.momentum.unwrap_or(d.momentum),
                clip_value: o.clip_value.unwrap_or(d.clip_value),
                weight_decay: o.weight_decay.unwrap_or(d.weight_decay),
                epoch_decay: o.epoch_decay.unwrap_or(d.epoch_decay),
                compat_2_0_1: o.compat_2_0_1.unwrap_or(false),
            }
            .init();
            Method::Aucm(loss, pesg)
        }
        "map" => {
            let loss = MapLoss::new(
                MapConfig {
                    gamma: l.gamma.unwrap_or(0.9),
                    margin: l.margin.unwrap_or(1.0),
                    top_k: l.k.map(|k| k as f64),
                    ..MapConfig::new(train.len(), train.n_tasks)
                },
                device,
            )?;
            Method::Map(loss, plain()?)
        }
        "multilabel_pauc" => {
            let d = PAucDroConfig::new(train.len());
            let loss = MultiLabelPAucLoss::new(
                PAucBackend::OneWay(PAucDroConfig {
                    gamma: l.gamma.unwrap_or(d.gamma),
                    margin: l.margin.unwrap_or(d.margin),
                    lambda: l.lambda.unwrap_or(d.lambda),
                    ..d
                }),
                train.n_tasks,
                device,
            )?;
            Method::PAuc(loss, plain()?)
        }
        "ce" => Method::Ce(plain()?),
        other => bail!(
            "[loss] kind = \"{other}\": multi-label data trains with multilabel_aucm (+ pesg), map (+ soap), multilabel_pauc (+ sopas) or ce"
        ),
    })
}

/// One batch: row ids and the batch's task ids (empty = all tasks).
pub type Batch = (Vec<usize>, Vec<usize>);

/// Per-task test AUROC and AP (tasks with a single class in the test part are skipped).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskMetrics {
    /// AUROC per task (`None`: one class only in the test part).
    pub auroc: Vec<Option<f64>>,
    /// Average precision per task.
    pub ap: Vec<Option<f64>>,
}

impl TaskMetrics {
    /// The mean over the tasks that have a value.
    pub fn mean(v: &[Option<f64>]) -> f64 {
        let s: Vec<f64> = v.iter().flatten().copied().collect();
        s.iter().sum::<f64>() / s.len().max(1) as f64
    }
}

fn evaluate(model: &Mlp, test: &Dataset, device: &Device) -> Result<TaskMetrics> {
    use burn::module::Module;
    let eval = model.valid();
    let inference = device.clone().without_autodiff();
    let x = Tensor::<2>::from_data(
        TensorData::new(test.features.clone(), [test.len(), test.dim]),
        &inference,
    );
    let z: Vec<f32> = eval
        .forward_all(x)
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    let t = test.n_tasks;
    if let Some(i) = z.iter().position(|v| !v.is_finite()) {
        bail!(
            "the model's test score {} (task {}) is {}: training diverged; lower the learning rate",
            i / t,
            i % t,
            z[i]
        );
    }
    let (mut auroc, mut ap) = (Vec::new(), Vec::new());
    for k in 0..t {
        let y: Vec<f64> = (0..test.len())
            .map(|i| f64::from(test.labels[i * t + k]))
            .collect();
        let s: Vec<f64> = (0..test.len()).map(|i| f64::from(z[i * t + k])).collect();
        let both = y.contains(&1.0) && y.contains(&0.0);
        auroc.push(both.then(|| xrisk_metrics::auroc(&y, &s)).transpose()?);
        ap.push(
            both.then(|| xrisk_metrics::average_precision(&y, &s))
                .transpose()?,
        );
    }
    Ok(TaskMetrics { auroc, ap })
}

enum Sampler {
    Random(RandomSampler),
    Tri(TriSampler),
}

/// A multi-label run as a [`crate::Task`]. A checkpoint holds the weights, the optimizer's
/// buffers and learning rate, and the loss's state (per-task `a`, `b`, `α`; MAP's and pAUC's
/// per-row tables).
///
/// Data-parallel ([`crate::Trainer::with_collective`]): this process scores its shard of every
/// batch's rows, the loss reads the gathered global batch, the model's gradients are summed over
/// the group (`xrisk::dist`).
pub struct MultiLabelTask {
    train: Dataset,
    test: Dataset,
    validation: Option<Dataset>,
    device: Device,
    model: Mlp,
    method: Method,
    sampler: Sampler,
    /// `[pretrain]`'s stages (per-task CE first).
    stages: Stages<Method, Sampler>,
    seed: u64,
    last: Option<TaskMetrics>,
}

impl MultiLabelTask {
    /// Reads the data of `cfg` (rows split by a seeded `test_fraction` unless `[data] test`
    /// is given) and builds the run.
    pub fn new(cfg: &Config) -> Result<Self> {
        let (train, test) = load(cfg)?;
        let (train, validation) =
            crate::data::split_validation(&cfg.data, cfg.train.seed, train, false)?;
        Ok(Self::from_data(cfg, train, test)?.with_validation(validation))
    }

    /// Reports metrics on `validation` after every epoch (model selection).
    pub fn with_validation(mut self, validation: Option<Dataset>) -> Self {
        self.validation = validation;
        self
    }

    /// Builds the run of `cfg` on `train` and `test` (`n_tasks` labels per row): checks that
    /// the model fits in memory, seeds the device and initialises the model.
    pub fn from_data(cfg: &Config, train: Dataset, test: Dataset) -> Result<Self> {
        if !matches!(cfg.model.kind.as_str(), "mlp" | "linear") {
            bail!(
                "[model] kind = \"{}\": multi-label tables train an mlp or linear model",
                cfg.model.kind
            );
        }
        let t = train.n_tasks;
        let device = cfg.train.device()?;
        device.seed(cfg.train.seed);
        let hidden = cfg.model.dense_hidden();
        crate::data::check_dense_memory(cfg, "[model] hidden", train.dim, &hidden, t)?;
        let model = Mlp::with_outputs(train.dim, &hidden, t, &device);
        let method = method(cfg, &train, &device)?;
        let sampler = match &method {
            Method::Ce(_) => Sampler::Random(RandomSampler::new(
                train.len(),
                cfg.sampler.batch_size,
                true,
                cfg.train.seed,
            )?),
            _ => Sampler::Tri(TriSampler::classification(
                &train.labels,
                t,
                TriSamplerConfig {
                    batch_size_per_task: cfg.sampler.batch_size,
                    num_sampled_tasks: cfg.sampler.tasks_per_batch,
                    sampling_rate: Some(cfg.sampler.sampling_rate),
                    num_pos: None,
                    seed: cfg.train.seed,
                },
            )?),
        };
        let (method, stages) = match &cfg.pretrain {
            None => (method, Stages::single()),
            Some(p) => {
                let first = Method::Ce(crate::builder::build_plain_optimizer(
                    &p.optimizer,
                    "the [pretrain] stage of a multi-label run uses a plain optimizer (adam, sgd, adamw)",
                )?);
                let pre_sampler = Sampler::Random(RandomSampler::new(
                    train.len(),
                    p.sampler_config(&cfg.sampler).batch_size,
                    true,
                    cfg.train.seed,
                )?);
                (first, Stages::two(cfg, method, pre_sampler))
            }
        };
        Ok(MultiLabelTask {
            stages,
            seed: cfg.train.seed,
            train,
            test,
            validation: None,
            device,
            model,
            method,
            sampler,
            last: None,
        })
    }

    /// The schedule of a multi-label run (with `[pretrain]`, its epochs first; decays counted
    /// on fine-tuning epochs).
    pub fn schedule(cfg: &Config) -> crate::Schedule {
        crate::stages::schedule(cfg, crate::Schedule::of(&cfg.train))
    }

    /// The training rows.
    pub fn train_data(&self) -> &Dataset {
        &self.train
    }

    /// The test rows.
    pub fn test_data(&self) -> &Dataset {
        &self.test
    }

    /// Test metrics of the current model (those of the last evaluation when no step ran
    /// since).
    pub fn test_metrics(&mut self) -> Result<TaskMetrics> {
        match &self.last {
            Some(m) => Ok(m.clone()),
            None => evaluate(&self.model, &self.test, &self.device),
        }
    }

    /// The trained model.
    pub fn model(&self) -> &Mlp {
        &self.model
    }

    fn param_ids(&self) -> Vec<burn::module::ParamId> {
        let mut ids = xrisk::persist::param_ids(&self.model);
        if let Method::Aucm(l, _) = &self.method {
            ids.extend(xrisk::persist::param_ids(&l.params));
        }
        ids
    }

    fn optimizer(&self) -> &ProximalOptimizer {
        match &self.method {
            Method::Aucm(_, o) => &o.inner,
            Method::Map(_, o) | Method::PAuc(_, o) | Method::Ce(o) => o,
        }
    }
}

impl crate::Task for MultiLabelTask {
    type Batch = Batch;

    fn batches_per_epoch(&self) -> usize {
        match &self.sampler {
            Sampler::Random(s) => s.num_batches(),
            Sampler::Tri(s) => s.num_batches(),
        }
    }

    fn decay(&mut self, factor: f64) -> Result<()> {
        match &mut self.method {
            Method::Aucm(_, o) => o.inner.update_regularizer(Some(factor)),
            Method::Map(_, o) | Method::PAuc(_, o) | Method::Ce(o) => o.update_lr(factor),
        }
        Ok(())
    }

    fn scale_lr(&mut self, ratio: f64) -> Result<()> {
        match &mut self.method {
            Method::Aucm(_, o) => o.inner.scale_lr(ratio),
            Method::Map(_, o) | Method::PAuc(_, o) | Method::Ce(o) => o.scale_lr(ratio),
        }
        Ok(())
    }

    fn begin_epoch(&mut self, epoch: usize) -> Result<()> {
        if self.stages.begin_epoch(epoch, &mut self.method) == Some(true) {
            self.device.seed(crate::stages::head_seed(self.seed));
            self.model = self.model.clone().reset_last_layer(&self.device);
        }
        Ok(())
    }

    fn selectable(&self) -> bool {
        !self.stages.pretraining()
    }

    fn next_epoch(&mut self) -> Result<Vec<Batch>> {
        Ok(match self.stages.sampler(&mut self.sampler) {
            Sampler::Random(s) => s
                .next_epoch()
                .into_iter()
                .map(|b| (b, Vec::new()))
                .collect(),
            Sampler::Tri(s) => s
                .next_epoch()
                .into_iter()
                .filter_map(|b| match b {
                    TriBatch::Classification(pairs) => {
                        let (ids, mut tasks): (Vec<usize>, Vec<usize>) = pairs.into_iter().unzip();
                        tasks.dedup();
                        Some((ids, tasks))
                    }
                    TriBatch::Ranking(_) => None,
                })
                .collect(),
        })
    }

    fn batch_ids(batch: &Batch) -> Vec<usize> {
        let mut v = batch.0.clone();
        v.push(usize::MAX);
        v.extend(&batch.1);
        v
    }

    fn step(&mut self, (ids, tasks): &Batch, mut dist: Option<&mut dyn Collective>) -> Result<f64> {
        self.last = None;
        let (train, device) = (&self.train, &self.device);
        let t = train.n_tasks;
        let rows = |ids: &[usize]| {
            let x: Vec<f32> = ids.iter().flat_map(|&i| train.row(i).to_vec()).collect();
            Tensor::<2>::from_data(TensorData::new(x, [ids.len(), train.dim]), device)
        };
        let labels: Vec<f32> = ids
            .iter()
            .flat_map(|&i| train.labels[i * t..(i + 1) * t].to_vec())
            .collect();
        let z = match dist.as_deref_mut() {
            None => self.model.forward_all(rows(ids)),
            Some(c) => {
                // This rank's rows of the global batch; the loss sees all of them.
                let mine: Vec<usize> = shard(ids.len(), c.rank(), c.world_size())?
                    .into_iter()
                    .map(|p| ids[p])
                    .collect();
                gather_rows(self.model.forward_all(rows(&mine)), c)?
            }
        };
        let value = match &mut self.method {
            Method::Aucm(loss, _) => {
                loss.forward(burn::tensor::activation::sigmoid(z), &labels, tasks)?
            }
            Method::Map(loss, _) => {
                loss.forward(burn::tensor::activation::sigmoid(z), &labels, ids, tasks)?
            }
            Method::PAuc(loss, _) => {
                loss.forward(burn::tensor::activation::sigmoid(z), &labels, ids, tasks)?
            }
            Method::Ce(_) => {
                let y = Tensor::<2>::from_data(TensorData::new(labels, [ids.len(), t]), device);
                (burn::tensor::activation::softplus(z.clone(), 1.0) - z * y).mean()
            }
        };
        let v = crate::gradients::value(&value);
        if !v.is_finite() {
            return Ok(v);
        }
        let model = self.model.clone();
        let (mut g, grads) = crate::gradients::backward(value, &model, dist)?;
        self.model = match &mut self.method {
            Method::Aucm(loss, o) => o.step_multilabel_split(model, loss, g, grads),
            Method::Map(_, o) | Method::PAuc(_, o) | Method::Ce(o) => o.step(model, &mut g),
        };
        Ok(v)
    }

    fn evaluate(&mut self, epoch: usize, loss: f64) -> Result<(serde_json::Value, String)> {
        let m = evaluate(&self.model, &self.test, &self.device)?;
        let (ma, mp) = (TaskMetrics::mean(&m.auroc), TaskMetrics::mean(&m.ap));
        let mut line = json!({"epoch": epoch, "train_loss": loss,
                          "test": {"mean_auroc": ma, "mean_ap": mp, "auroc": m.auroc, "ap": m.ap}});
        self.last = Some(m);
        let mut stage = String::new();
        if let Some(name) = self.stages.name() {
            line["stage"] = json!(name);
            stage = format!("({name})  ");
        }
        Ok((
            line,
            format!("{stage}loss {loss:>9.5}  test mean AUROC {ma:.4}  mean AP {mp:.4}"),
        ))
    }

    fn validate(&mut self) -> Result<Option<serde_json::Value>> {
        let Some(v) = &self.validation else {
            return Ok(None);
        };
        let m = evaluate(&self.model, v, &self.device)?;
        let (ma, mp) = (TaskMetrics::mean(&m.auroc), TaskMetrics::mean(&m.ap));
        Ok(Some(
            json!({"mean_auroc": ma, "mean_ap": mp, "auroc": m.auroc, "ap": m.ap}),
        ))
    }

    fn save(&self, s: &mut Snapshot) -> Result<()> {
        let ids = self.param_ids();
        xrisk::persist::save_module(&self.model, "model", s);
        match &self.method {
            Method::Aucm(l, _) => l.save("loss", s),
            Method::Map(l, _) => l.save("loss", s),
            Method::PAuc(l, _) => l.save("loss", s),
            Method::Ce(_) => {}
        }
        self.optimizer().save_state("optimizer", &ids, s)?;
        self.stages.save(s);
        Ok(())
    }

    fn restore(&mut self, s: &Snapshot) -> Result<()> {
        self.stages.restore(s, &mut self.method)?;
        self.model = xrisk::persist::restore_module(self.model.clone(), "model", s)?;
        match &mut self.method {
            Method::Aucm(l, _) => l.restore("loss", s)?,
            Method::Map(l, _) => l.restore("loss", s)?,
            Method::PAuc(l, _) => l.restore("loss", s)?,
            Method::Ce(_) => {}
        }
        let ids = self.param_ids();
        let device = self.device.clone();
        match &mut self.method {
            Method::Aucm(_, o) => o.inner.restore_state("optimizer", &ids, s, &device)?,
            Method::Map(_, o) | Method::PAuc(_, o) | Method::Ce(o) => {
                o.restore_state("optimizer", &ids, s, &device)?
            }
        }
        self.last = None;
        Ok(())
    }
}
