//! The many-class family: the compositional entropic loss (SCENT or SOX,
//! `[loss] kind = "entropic"`, `estimator = "scent" | "sox"`) or the full softmax
//! cross-entropy baseline (`kind = "softmax_ce"`). Spec `libauc_spec.md` §2.17, §3.8.
//!
//! Data: `dataset = "letter"` (UCI Letter Recognition, 26 classes, `xrisk data fetch
//! letter`), `format = "synthetic_classes"` (`n_classes` Gaussian prototypes, `rows_per_class`
//! rows each, `n_features`, `noise`; for showing scale), or csv/tsv/svmlight files whose label
//! column holds class indices 0…K−1. Rows are split by a seeded `test_fraction` (default 0.3)
//! unless `[data] test` is given. Batches are shuffled rows; the entropic loss scores each
//! batch against its distinct labels plus `[sampler] num_neg` random other classes (LibAUC's
//! tutorial uses the batch's labels), so its step cost does not grow with K; the softmax
//! baseline scores every class. The optimizer is `scent` (SGD whose momentum moves only in
//! the class rows a batch touched) or any plain one. Each epoch reports test top-1 and top-5
//! accuracy and the test cross-entropy.

//!
//! ```
//! use xrisk_train::{Schedule, Trainer, multiclass::ManyClassTask, observer::Records};
//!
//! let cfg = xrisk_train::config::parse(
//!     r#"
//!     [data]
//!     format = "synthetic_classes"
//!     n_classes = 100
//!     rows_per_class = 10
//!     n_features = 16
//!     noise = 0.2
//!     [model]
//!     kind = "linear"
//!     [loss]
//!     kind = "entropic"
//!     [optimizer]
//!     kind = "scent"
//!     lr = 0.1
//!     momentum = 0.9
//!     [sampler]
//!     batch_size = 64
//!     num_neg = 32
//!     [train]
//!     epochs = 8
//!     "#,
//!     std::path::Path::new("."),
//! )?;
//! let mut task = ManyClassTask::new(&cfg)?;
//! let mut records = Records::default();
//! Trainer::new(Schedule::of(&cfg.train)).fit(&mut task, &mut records)?;
//! assert_eq!(records.0.len(), 8);
//! let (top1, top5, _ce) = task.test_metrics()?;
//! assert!(top5 >= top1 && top1 > 0.5, "top-1 {top1}"); // chance: 0.01
//! # Ok::<(), anyhow::Error>(())
//! ```

use crate::config::Config;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::seq::index;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use xrisk::dist::{Collective, gather_rows, shard};
use xrisk::loss::{EntConfig, EntEstimator, EntLossClassification};
use xrisk::optim::{ProximalOptimizer, ScentConfig};
use xrisk::persist::Persist;
use xrisk::xc::XcClassifier;
use xrisk_data::Dataset;
use xrisk_data::registry::{fetched_file, paths};
use xrisk_data::sampler::RandomSampler;
use xrisk_data::snapshot::Snapshot;

fn load(cfg: &Config) -> Result<(Dataset, Dataset)> {
    let d = &cfg.data;
    let all = match (d.format.as_str(), d.dataset.as_deref()) {
        (_, Some("letter")) => {
            xrisk_data::readers::letter::read_letter(&fetched_file("letter", paths::LETTER)?)?
        }
        (_, Some(other)) => bail!("[data] dataset = \"{other}\": many-class runs know letter"),
        ("synthetic_classes", None) => {
            let (n, r, f) = (
                d.n_classes.unwrap_or(10_000),
                d.rows_per_class.unwrap_or(10),
                d.n_features.unwrap_or(32),
            );
            xrisk::resources::MemoryPlan::new()
                .table(
                    "the generated rows",
                    "[data] n_classes / rows_per_class / n_features",
                    n as f64 * (r as f64 + 1.0) * f as f64,
                )
                .check_available()?;
            xrisk_data::synthetic::gaussian_classes(
                n,
                r,
                f,
                d.noise.unwrap_or(0.5),
                cfg.train.seed,
            )?
        }
        (_, None) => {
            let path = d.train.as_ref().context(
                "[data] needs `train`, dataset = \"letter\" or format = \"synthetic_classes\"",
            )?;
            crate::data::read(d, "train", path, d.train_labels.as_ref(), d.n_features)?
        }
    };
    let (mut train, mut test) = match (&d.test, d.format.as_str()) {
        (Some(p), f) if f != "synthetic_classes" => {
            let t = crate::data::read(d, "test", p, d.test_labels.as_ref(), Some(all.dim))?;
            (all, t)
        }
        _ => crate::data::random_split(&all, d.test_fraction.unwrap_or(0.3), cfg.train.seed)?,
    };
    for (name, part) in [("train", &train), ("test", &test)] {
        if let Some(i) = part
            .labels
            .iter()
            .position(|&v| v < 0.0 || v.fract() != 0.0 || v > 1e7)
        {
            bail!(
                "[data] {name} row {}: label {} is not a class index 0, 1, 2, …",
                i + 1,
                part.labels[i]
            );
        }
    }
    crate::data::normalize_features(d, &mut train, &mut test)?;
    Ok((train, test))
}

// One value per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum Loss {
    Entropic(EntLossClassification),
    Softmax,
}

fn optimizer(cfg: &Config) -> Result<ProximalOptimizer> {
    let o = &cfg.optimizer;
    if o.kind == "scent" {
        let d = ScentConfig::default();
        return Ok(ScentConfig {
            lr: o.lr.unwrap_or(d.lr),
            momentum: o.momentum.unwrap_or(d.momentum),
            dampening: o.dampening.unwrap_or(d.dampening),
            nesterov: o.nesterov.unwrap_or(d.nesterov),
            weight_decay: o.weight_decay.unwrap_or(d.weight_decay),
        }
        .init());
    }
    crate::builder::build_plain_optimizer(
        o,
        "many-class runs use scent or a plain optimizer (sgd, adam, adamw)",
    )
}

/// Test top-1 and top-5 accuracy and mean cross-entropy over all classes.
fn evaluate(model: &XcClassifier, test: &Dataset, device: &Device) -> Result<(f64, f64, f64)> {
    let eval = model.valid();
    let inference = device.clone().without_autodiff();
    let (mut top1, mut top5, mut ce) = (0usize, 0usize, 0f64);
    for start in (0..test.len()).step_by(512) {
        let end = (start + 512).min(test.len());
        let x = Tensor::<2>::from_data(
            TensorData::new(
                test.features[start * test.dim..end * test.dim].to_vec(),
                [end - start, test.dim],
            ),
            &inference,
        );
        let z: Vec<f32> = eval
            .logits(x)
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let k = eval.n_classes();
        for (r, row) in z.chunks(k).enumerate() {
            let y = test.labels[start + r] as usize;
            if y >= k {
                bail!(
                    "test row {}: class {y} but the model has {k} classes",
                    start + r + 1
                );
            }
            if row.iter().any(|v| !v.is_finite()) {
                bail!(
                    "test row {}: a score is not finite; training diverged, lower the learning rate",
                    start + r + 1
                );
            }
            let above = row.iter().filter(|&&v| v > row[y]).count();
            top1 += usize::from(above == 0);
            top5 += usize::from(above < 5);
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = f64::from(m)
                + row
                    .iter()
                    .map(|&v| f64::from(v - m).exp())
                    .sum::<f64>()
                    .ln();
            ce += lse - f64::from(row[y]);
        }
    }
    let n = test.len().max(1) as f64;
    Ok((top1 as f64 / n, top5 as f64 / n, ce / n))
}

/// A many-class run as a [`crate::Task`]. A checkpoint holds the weights, the optimizer's
/// buffers and learning rate, the entropic loss's `ν` table and `γ`, and the position of the
/// stream that draws the extra negative classes.
///
/// Data-parallel ([`crate::Trainer::with_collective`]): this process computes its shard of every
/// batch's logits, the loss reads the gathered global batch, the model's gradients are summed over
/// the group (`xrisk::dist`).
pub struct ManyClassTask {
    train: Dataset,
    test: Dataset,
    validation: Option<Dataset>,
    n_classes: usize,
    device: Device,
    model: XcClassifier,
    loss: Loss,
    opt: ProximalOptimizer,
    sampler: RandomSampler,
    extra: usize,
    rng: ChaCha8Rng,
    epochs: usize,
    last: Option<(f64, f64, f64)>,
}

impl ManyClassTask {
    /// Reads (or generates) the data of `cfg` and builds the run.
    pub fn new(cfg: &Config) -> Result<Self> {
        let (train, test) = load(cfg)?;
        let (train, validation) =
            crate::data::split_validation(&cfg.data, cfg.train.seed, train, false)?;
        let mut task = Self::from_data(cfg, train, test)?;
        task.validation = validation;
        Ok(task)
    }

    /// Builds the run of `cfg` on `train` and `test` (labels: class indices 0…K−1): checks
    /// that the model fits in memory, seeds the device and initialises the model.
    pub fn from_data(cfg: &Config, train: Dataset, test: Dataset) -> Result<Self> {
        Self::build(cfg, train, None, test)
    }

    fn build(
        cfg: &Config,
        train: Dataset,
        validation: Option<Dataset>,
        test: Dataset,
    ) -> Result<Self> {
        let n_classes = train
            .labels
            .iter()
            .chain(&test.labels)
            .chain(validation.iter().flat_map(|v| &v.labels))
            .fold(0f32, |a, &b| a.max(b)) as usize
            + 1;
        if !matches!(cfg.model.kind.as_str(), "mlp" | "linear") {
            bail!(
                "[model] kind = \"{}\": many-class runs train a linear or mlp encoder with a class matrix",
                cfg.model.kind
            );
        }
        let hidden = cfg.model.dense_hidden();
        let device = cfg.train.device()?;
        device.seed(cfg.train.seed);
        crate::data::check_dense_memory(
            cfg,
            "[model] hidden (or the number of classes)",
            train.dim,
            &hidden,
            n_classes,
        )?;
        let model = XcClassifier::new(train.dim, &hidden, n_classes, &device);
        let l = &cfg.loss;
        let loss = if l.kind == "entropic" {
            let estimator = match l.estimator.as_deref() {
                None | Some("scent") => EntEstimator::Scent,
                Some("sox") => EntEstimator::Sox,
                Some(o) => bail!("[loss] estimator = \"{o}\": use scent or sox"),
            };
            let d = EntConfig::new(train.len());
            Loss::Entropic(EntLossClassification::new(
                EntConfig {
                    alpha: l.alpha.unwrap_or(d.alpha),
                    gamma: l.gamma.unwrap_or(d.gamma),
                    estimator,
                    alpha_multiplier: l.alpha_multiplier.unwrap_or(d.alpha_multiplier),
                    ..d
                },
                &device,
            )?)
        } else {
            Loss::Softmax
        };
        let opt = optimizer(cfg)?;
        let sampler =
            RandomSampler::new(train.len(), cfg.sampler.batch_size, true, cfg.train.seed)?;
        Ok(ManyClassTask {
            extra: cfg.sampler.num_neg.unwrap_or(0).min(n_classes),
            rng: ChaCha8Rng::seed_from_u64(cfg.train.seed ^ 0x7863_0000),
            epochs: cfg.train.epochs,
            train,
            test,
            validation,
            n_classes,
            device,
            model,
            loss,
            opt,
            sampler,
            last: None,
        })
    }

    /// The training rows.
    pub fn train_data(&self) -> &Dataset {
        &self.train
    }

    /// The test rows.
    pub fn test_data(&self) -> &Dataset {
        &self.test
    }

    /// Number of classes (the largest label + 1).
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Test top-1 and top-5 accuracy and mean cross-entropy of the current model (those of
    /// the last evaluation when no step ran since).
    pub fn test_metrics(&mut self) -> Result<(f64, f64, f64)> {
        match self.last {
            Some(m) => Ok(m),
            None => evaluate(&self.model, &self.test, &self.device),
        }
    }

    /// The trained model.
    pub fn model(&self) -> &XcClassifier {
        &self.model
    }
}

impl crate::Task for ManyClassTask {
    type Batch = Vec<usize>;

    fn batches_per_epoch(&self) -> usize {
        self.sampler.num_batches()
    }

    fn begin_epoch(&mut self, epoch: usize) -> Result<()> {
        if let Loss::Entropic(e) = &mut self.loss {
            e.adjust_gamma(epoch, self.epochs);
        }
        Ok(())
    }

    fn decay(&mut self, factor: f64) -> Result<()> {
        self.opt.update_lr(factor);
        Ok(())
    }

    fn scale_lr(&mut self, ratio: f64) -> Result<()> {
        self.opt.scale_lr(ratio);
        Ok(())
    }

    fn next_epoch(&mut self) -> Result<Vec<Vec<usize>>> {
        Ok(self.sampler.next_epoch())
    }

    fn batch_ids(batch: &Vec<usize>) -> Vec<usize> {
        batch.clone()
    }

    fn step(&mut self, ids: &Vec<usize>, mut dist: Option<&mut dyn Collective>) -> Result<f64> {
        self.last = None;
        let (train, device, n_classes) = (&self.train, &self.device, self.n_classes);
        let rows = |ids: &[usize]| {
            let x: Vec<f32> = ids.iter().flat_map(|&i| train.row(i).to_vec()).collect();
            Tensor::<2>::from_data(TensorData::new(x, [ids.len(), train.dim]), device)
        };
        let y: Vec<usize> = ids.iter().map(|&i| train.labels[i] as usize).collect();
        // This rank's positions of the global batch (all of them in one process).
        let mine: Vec<usize> = match dist.as_deref() {
            None => (0..ids.len()).collect(),
            Some(c) => shard(ids.len(), c.rank(), c.world_size())?,
        };
        let my_ids: Vec<usize> = mine.iter().map(|&p| ids[p]).collect();
        let my_y: Vec<usize> = mine.iter().map(|&p| y[p]).collect();
        let value = match &mut self.loss {
            Loss::Entropic(e) => {
                let mut classes = y.clone();
                classes.extend(index::sample(&mut self.rng, n_classes, self.extra));
                classes.sort_unstable();
                classes.dedup();
                if classes.len() < 2 {
                    // One class in the batch: score it against one random other class.
                    classes.push((y[0] + 1 + self.rng.random_range(0..n_classes - 1)) % n_classes);
                    classes.sort_unstable();
                }
                let lg = self.model.relative_logits(rows(&my_ids), &my_y, &classes)?;
                let lg = match dist.as_deref_mut() {
                    None => lg,
                    Some(c) => gather_rows(lg, c)?,
                };
                e.forward(lg, ids)?
            }
            Loss::Softmax => {
                let z = self.model.logits(rows(&my_ids));
                let z = match dist.as_deref_mut() {
                    None => z,
                    Some(c) => gather_rows(z, c)?,
                };
                let yi = Tensor::<2, Int>::from_data(
                    TensorData::new(
                        y.iter().map(|&v| v as i64).collect::<Vec<_>>(),
                        [y.len(), 1],
                    ),
                    device,
                );
                let own = z.clone().gather(1, yi);
                let m = z.clone().detach().max_dim(1);
                let lse = (z - m.clone()).exp().sum_dim(1).log() + m;
                (lse - own).mean()
            }
        };
        let v = crate::gradients::value(&value);
        if !v.is_finite() {
            return Ok(v);
        }
        let model = self.model.clone();
        let (mut g, _) = crate::gradients::backward(value, &model, dist)?;
        self.model = self.opt.step(model, &mut g);
        Ok(v)
    }

    fn evaluate(&mut self, epoch: usize, loss: f64) -> Result<(serde_json::Value, String)> {
        let (t1, t5, ce) = evaluate(&self.model, &self.test, &self.device)?;
        self.last = Some((t1, t5, ce));
        let line = json!({"epoch": epoch, "train_loss": loss,
                          "test": {"top1": t1, "top5": t5, "ce": ce}});
        Ok((
            line,
            format!("loss {loss:>9.5}  test top-1 {t1:.4}  top-5 {t5:.4}  CE {ce:.4}"),
        ))
    }

    fn validate(&mut self) -> Result<Option<serde_json::Value>> {
        let Some(v) = &self.validation else {
            return Ok(None);
        };
        let (t1, t5, ce) = evaluate(&self.model, v, &self.device)?;
        Ok(Some(json!({"top1": t1, "top5": t5, "ce": ce})))
    }

    fn save(&self, s: &mut Snapshot) -> Result<()> {
        let ids = xrisk::persist::param_ids(&self.model);
        xrisk::persist::save_module(&self.model, "model", s);
        if let Loss::Entropic(e) = &self.loss {
            e.save("loss", s);
        }
        self.opt.save_state("optimizer", &ids, s)?;
        s.put_text("xc.rng_word_pos", self.rng.get_word_pos().to_string());
        Ok(())
    }

    fn restore(&mut self, s: &Snapshot) -> Result<()> {
        self.model = xrisk::persist::restore_module(self.model.clone(), "model", s)?;
        if let Loss::Entropic(e) = &mut self.loss {
            e.restore("loss", s)?;
        }
        let ids = xrisk::persist::param_ids(&self.model);
        self.opt.restore_state("optimizer", &ids, s, &self.device)?;
        let pos: u128 = s.text("xc.rng_word_pos")?.parse().map_err(|e| {
            anyhow::anyhow!("checkpoint entry xc.rng_word_pos is not a number: {e}")
        })?;
        self.rng.set_word_pos(pos);
        self.last = None;
        Ok(())
    }
}
