//! The binary AUC family (AUCM, AP, pAUC, compositional AUC, CE, focal, …) as a [`crate::Task`]:
//! any [`Scorer`] (MLP, ResNet, DenseNet), the `[loss]` and `[optimizer]` of the config
//! ([`crate::builder`]), the DualSampler or shuffled batches, and — with a group
//! ([`crate::Trainer::with_collective`]) — data-parallel steps in which this peer scores its shard
//! of every global batch (`xrisk::dist`). A checkpoint holds the weights, the loss's state tables
//! and scalars, and the optimizer's buffers and learning rate.
//!
//! ```
//! use xrisk::model::Mlp;
//! use xrisk_train::binary::BinaryTask;
//! use xrisk_train::{Schedule, Trainer, observer::Records};
//!
//! let cfg = xrisk_train::config::parse(
//!     r#"
//!     [data]
//!     format = "embedded-fashion-mnist"
//!     positive_class = 9
//!     imratio = 0.1
//!     [loss]
//!     kind = "ap"
//!     [optimizer]
//!     kind = "soap"
//!     lr = 0.001
//!     [sampler]
//!     batch_size = 64
//!     [train]
//!     epochs = 2
//!     max_steps_per_epoch = 20
//!     "#,
//!     std::path::Path::new("."),
//! )?;
//! let (train, test) = xrisk_train::data::prepare_data(&cfg.data, cfg.train.seed)?;
//! let dim = train.dim;
//! let mut task = BinaryTask::new(&cfg, &train, &test, |d| Ok(Mlp::new(dim, &[32], d)))?;
//! let mut records = Records::default();
//! Trainer::new(Schedule::of(&cfg.train)).fit(&mut task, &mut records)?;
//! let auprc = records.0[1].line["test"]["auprc"].as_f64().unwrap_or(0.0);
//! assert!(auprc > test.positives() as f64 / test.len() as f64, "AUPRC {auprc}");
//! # Ok::<(), anyhow::Error>(())
//! ```

use crate::builder::{Sampler, build_objective, build_optimizer, build_sampler};
use crate::config::Config;
use crate::stages::Stages;
use anyhow::{Result, bail};
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::json;
use xrisk::dist::{Collective, gather_logits, shard};
use xrisk::model::Scorer;
use xrisk::train::{Objective, Optimizer, predict};
use xrisk_data::Dataset;
use xrisk_data::snapshot::Snapshot;

/// A binary run as a [`crate::Task`].
pub struct BinaryTask<'a, M: Scorer> {
    train: &'a Dataset,
    test: &'a Dataset,
    validation: Option<&'a Dataset>,
    device: Device,
    model: M,
    /// The loss and optimizer of the current stage.
    method: (Objective, Optimizer),
    /// `[pretrain]`'s stages.
    stages: Stages<(Objective, Optimizer), Sampler>,
    seed: u64,
    sampler: Sampler,
    max_fpr: f64,
    last_scores: Option<Vec<f64>>,
}

fn batch_tensor(data: &Dataset, ids: &[usize], device: &Device) -> Tensor<2> {
    let mut x = Vec::with_capacity(ids.len() * data.dim);
    for &i in ids {
        x.extend_from_slice(data.row(i));
    }
    Tensor::from_data(TensorData::new(x, [ids.len(), data.dim]), device)
}

impl<'a, M: Scorer> BinaryTask<'a, M> {
    /// Builds the run of `cfg` on `train`/`test`: seeds `[train] device`, builds the model with
    /// `build` (its parameters drawn at once), the loss, the optimizer (checked to fit the
    /// loss) and the sampler. Data-parallel steps: [`crate::Trainer::with_collective`].
    pub fn new(
        cfg: &Config,
        train: &'a Dataset,
        test: &'a Dataset,
        build: impl FnOnce(&Device) -> Result<M>,
    ) -> Result<Self> {
        let device = cfg.train.device()?;
        // Peers in one process (`[train] devices`) draw their weights one at a time.
        let model = crate::peers::seeded(&device, cfg.train.seed, || build(&device))?;
        // `keys`: how the error names the optimizer and loss keys of the stage.
        let stage = |c: &Config, keys: (&str, &str)| -> Result<(Objective, Optimizer, Sampler)> {
            let objective = build_objective(&c.loss, train.len(), &device)?;
            let optimizer = build_optimizer(&c.optimizer)?;
            if !optimizer.compatible(&objective) {
                bail!(
                    "{} = \"{}\" cannot train {} = \"{}\" (pesg ↔ aucm, pdsca ↔ compositional_auc)",
                    keys.0,
                    c.optimizer.kind,
                    keys.1,
                    c.loss.kind
                );
            }
            Ok((objective, optimizer, build_sampler(c, train)?))
        };
        let (objective, optimizer, sampler) = stage(cfg, ("[optimizer] kind", "[loss] kind"))?;
        let (method, stages) = match &cfg.pretrain {
            None => ((objective, optimizer), Stages::single()),
            Some(p) => {
                let mut first = cfg.clone();
                first.loss = p.loss_config();
                first.optimizer = p.optimizer.clone();
                first.sampler = p.sampler_config(&cfg.sampler);
                let (o, opt, s) = stage(&first, ("[pretrain] optimizer kind", "loss"))?;
                ((o, opt), Stages::two(cfg, (objective, optimizer), s))
            }
        };
        Ok(BinaryTask {
            method,
            stages,
            seed: cfg.train.seed,
            train,
            test,
            validation: None,
            device,
            model,
            sampler,
            max_fpr: cfg.train.max_fpr,
            last_scores: None,
        })
    }

    /// The schedule of a binary run: with `[pretrain]`, its epochs first, then `[train]
    /// epochs` with the decays at `decay_epochs` counted from the start of fine-tuning.
    pub fn schedule(cfg: &Config) -> crate::Schedule {
        crate::stages::schedule(cfg, crate::Schedule::of(&cfg.train))
    }

    /// Reports metrics on `validation` after every epoch (model selection, `[train] select`).
    pub fn with_validation(mut self, validation: Option<&'a Dataset>) -> Self {
        self.validation = validation;
        self
    }

    /// The trained model and its test scores (logits).
    pub fn into_parts(self) -> (M, Vec<f64>) {
        let scores = match self.last_scores {
            Some(s) => s,
            None => predict(
                &self.model,
                &self.test.features,
                self.test.dim,
                &self.device,
            ),
        };
        (self.model, scores)
    }

    fn ids(&self) -> Vec<burn::module::ParamId> {
        let mut v = xrisk::persist::param_ids(&self.model);
        v.extend(self.method.0.param_ids());
        v
    }
}

impl<M: Scorer> crate::Task for BinaryTask<'_, M> {
    type Batch = Vec<usize>;

    fn batches_per_epoch(&self) -> usize {
        self.sampler.num_batches()
    }

    fn begin_epoch(&mut self, epoch: usize) -> Result<()> {
        if self.stages.begin_epoch(epoch, &mut self.method) == Some(true) {
            // Seeded here (peers in one process one at a time), so a run resumed at this
            // epoch draws the head the uninterrupted run drew.
            let (model, device) = (self.model.clone(), &self.device);
            self.model = crate::peers::seeded(device, crate::stages::head_seed(self.seed), || {
                Ok(model.reset_head(device))
            })?;
        }
        Ok(())
    }

    fn decay(&mut self, factor: f64) -> Result<()> {
        self.method.1.decay(factor);
        Ok(())
    }

    fn scale_lr(&mut self, ratio: f64) -> Result<()> {
        self.method.1.scale_lr(ratio);
        Ok(())
    }

    fn next_epoch(&mut self) -> Result<Vec<Vec<usize>>> {
        // Epochs are drawn (and replayed on resume) from the sampler of their stage.
        Ok(self.stages.sampler(&mut self.sampler).next_epoch())
    }

    fn batch_ids(batch: &Vec<usize>) -> Vec<usize> {
        batch.clone()
    }

    fn step(&mut self, ids: &Vec<usize>, mut dist: Option<&mut dyn Collective>) -> Result<f64> {
        self.last_scores = None;
        let (train, device) = (self.train, &self.device);
        let y: Vec<f32> = ids.iter().map(|&i| train.labels[i]).collect();
        let z = match dist.as_deref_mut() {
            None => self.model.score(batch_tensor(train, ids, device)),
            Some(c) => {
                // This rank's rows of the global batch; the loss sees all of them.
                let mine: Vec<usize> = shard(ids.len(), c.rank(), c.world_size())?
                    .into_iter()
                    .map(|p| ids[p])
                    .collect();
                gather_logits(self.model.score(batch_tensor(train, &mine, device)), c)?
            }
        };
        let loss = self.method.0.forward(z, &y, ids)?;
        let value = loss.clone().into_scalar::<f32>() as f64;
        if !value.is_finite() {
            return Ok(value);
        }
        let model = self.model.clone();
        self.model = match dist {
            None => self.method.1.step(model, &mut self.method.0, loss),
            Some(c) => {
                self.method
                    .1
                    .step_distributed(model, &mut self.method.0, loss, c)?
                    .0
            }
        };
        Ok(value)
    }

    fn evaluate(&mut self, epoch: usize, loss: f64) -> Result<(serde_json::Value, String)> {
        let scores = predict(
            &self.model,
            &self.test.features,
            self.test.dim,
            &self.device,
        );
        let m = crate::data::evaluate(self.test, &scores, self.max_fpr)?;
        self.last_scores = Some(scores);
        let (lr, max_fpr) = (self.method.1.lr(), self.max_fpr);
        let estimate = self.method.0.state_estimate();
        let objective = estimate.map(|(name, value)| json!({"name": name, "value": value}));
        let mut line = json!({"epoch": epoch, "train_loss": loss, "objective": objective, "lr": lr,
                          "test": {"auroc": m.auroc, "auprc": m.auprc, "pauc": m.pauc, "pauc_max_fpr": max_fpr}});
        let mut stage = String::new();
        if let Some(name) = self.stages.name() {
            line["stage"] = json!(name);
            stage = format!("({name})  ");
        }
        let estimate = estimate
            .map(|(name, v)| format!("  {name} {v:.5}"))
            .unwrap_or_default();
        let summary = format!(
            "{stage}loss {loss:>9.5}{estimate}  lr {lr:.2e}  test AUROC {:.4}  AUPRC {:.4}  pAUC(FPR≤{max_fpr}) {:.4}",
            m.auroc, m.auprc, m.pauc
        );
        Ok((line, summary))
    }

    fn validate(&mut self) -> Result<Option<serde_json::Value>> {
        let Some(v) = self.validation else {
            return Ok(None);
        };
        let scores = predict(&self.model, &v.features, v.dim, &self.device);
        let m = crate::data::evaluate(v, &scores, self.max_fpr)?;
        Ok(Some(
            json!({"auroc": m.auroc, "auprc": m.auprc, "pauc": m.pauc, "pauc_max_fpr": self.max_fpr}),
        ))
    }

    fn selectable(&self) -> bool {
        // Model selection keeps a fine-tuned model, not a pretraining epoch.
        !self.stages.pretraining()
    }

    fn save(&self, s: &mut Snapshot) -> Result<()> {
        let ids = self.ids();
        xrisk::persist::save_module(&self.model, "model", s);
        self.method.0.save_state(s);
        self.method.1.save_state(&ids, s)?;
        self.stages.save(s);
        Ok(())
    }

    fn restore(&mut self, s: &Snapshot) -> Result<()> {
        self.stages.restore(s, &mut self.method)?;
        self.model = xrisk::persist::restore_module(self.model.clone(), "model", s)?;
        self.method.0.restore_state(s)?;
        let ids = self.ids();
        self.method.1.restore_state(&ids, s, &self.device)?;
        self.last_scores = None;
        Ok(())
    }
}
