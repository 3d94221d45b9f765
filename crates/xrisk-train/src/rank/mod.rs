//! The ranking family (`[loss] kind = "listwise_ce" | "ndcg"`): recommendation (NeuMF on
//! MovieLens-style interactions, [`movielens`]) and learning to rank (an MLP on LETOR feature
//! rows, [`letor`]) on one [`RankingTask`]. It runs the SONG optimizer, an optional ListwiseCE
//! warm-up (`[train] warmup_epochs`, then the prediction layer is re-initialised and, for K-SONG,
//! each λ_q starts at the warm-up model's K-th score of its query), and reports NDCG@{5,10,20},
//! MAP@10 and P@10 on the test queries every epoch. In a group
//! ([`crate::Trainer::with_collective`]), each peer scores its shard of every batch's queries
//! (`xrisk::dist`).
//!
//! The device RNG (dropout, the warm-up hand-off's re-initialisation) is seeded at the start
//! of every epoch from `[train] seed` and the epoch, so a run resumed at an epoch boundary
//! draws what the uninterrupted run drew; ranking runs checkpoint at the end of every epoch.
//!
//! K-SONG on LETOR rows (graded labels, `qid:`), written here as svmlight files:
//!
//! ```
//! use xrisk_train::rank::{RankingTask, letor::Letor};
//! use xrisk_train::{Trainer, observer::Records};
//!
//! let dir = std::env::temp_dir().join(format!("xrisk-doc-letor-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! // Queries of 15 documents; the label (0–3) grows with feature 1.
//! let letor = |queries: u64, seed: u64| -> String {
//!     let mut text = String::new();
//!     for q in 0..queries {
//!         for d in 0..15u64 {
//!             let f1 = ((q * 31 + d * 17 + seed) % 23) as f64 / 23.0;
//!             let label = (f1 * 4.0).floor().min(3.0) as u64;
//!             text += &format!("{label} qid:{} 1:{f1:.4} 2:{:.3}\n", q + 1, d as f64 / 15.0);
//!         }
//!     }
//!     text
//! };
//! std::fs::write(dir.join("train.txt"), letor(24, 1))?;
//! std::fs::write(dir.join("test.txt"), letor(10, 2))?;
//! let cfg = xrisk_train::config::parse(
//!     r#"
//!     [data]
//!     format = "svmlight"
//!     train = "train.txt"
//!     test = "test.txt"
//!     [model]
//!     kind = "mlp"
//!     hidden = [8]
//!     [loss]
//!     kind = "ndcg"
//!     topk = 3
//!     [optimizer]
//!     kind = "song"
//!     mode = "adam"
//!     lr = 0.05
//!     [sampler]
//!     batch_size = 6
//!     num_pos = 2
//!     num_neg = 5
//!     [train]
//!     epochs = 10
//!     "#,
//!     &dir.join("run.toml"), // relative paths are read next to the config
//! )?;
//! let mut task = RankingTask::new(&cfg, Letor::load(&cfg)?)?;
//! let mut records = Records::default();
//! Trainer::new(RankingTask::<Letor>::schedule(&cfg)).fit(&mut task, &mut records)?;
//! let first = records.0[0].line["test"]["ndcg@10"].as_f64().unwrap_or(1.0);
//! let ndcg = task.test_metrics()?.ndcg10;
//! println!("test NDCG@10 after the first epoch {first:.3}, after the last {ndcg:.3}");
//! assert!(ndcg > first, "NDCG@10 {first} → {ndcg}");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), anyhow::Error>(())
//! ```

use crate::config::Config;
use crate::stages::Stages;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde_json::json;
use xrisk::dist::{Collective, gather_rows, shard};
use xrisk::loss::{
    ListwiseCeConfig, ListwiseCeLoss, NdcgConfig, NdcgLoss, RankingBatch, TopkVersion,
};
use xrisk::optim::{ProximalOptimizer, SkeletonConfig, UpdateRule};
use xrisk::persist::Persist;
use xrisk_data::snapshot::Snapshot;

pub mod letor;
pub mod movielens;

/// Whether `cfg` is a ranking run.
pub fn is_ranking(cfg: &Config) -> bool {
    matches!(cfg.loss.kind.as_str(), "listwise_ce" | "ndcg")
}

/// Ranking metrics of one evaluation.
#[derive(Debug, Clone, Copy)]
pub struct RankMetrics {
    /// NDCG@5.
    pub ndcg5: f64,
    /// NDCG@10.
    pub ndcg10: f64,
    /// NDCG@20.
    pub ndcg20: f64,
    /// MAP@10.
    pub map10: f64,
    /// P@10.
    pub p10: f64,
}

/// One ranking mini-batch, host side: per query `num_pos` relevant items then `num_neg`
/// others, as the task's own item handles.
pub struct RankBatch {
    /// Query of each row.
    pub queries: Vec<usize>,
    /// `queries.len() · (num_pos + num_neg)` item handles, row-major.
    pub items: Vec<usize>,
    /// Relevant-pair id of each positive column.
    pub pair_ids: Vec<usize>,
    /// Rating of each positive column.
    pub ratings: Vec<f32>,
    /// `N_q⁺` per row.
    pub num_pos_items: Vec<f32>,
    /// Ideal DCG per row.
    pub ideal_dcg: Vec<f32>,
    /// `N_q` per row, when queries have their own lists.
    pub items_per_query: Option<Vec<f32>>,
}

impl RankBatch {
    /// The sub-batch of the rows (queries) `rows`, in that order: a data-parallel shard.
    pub fn rows(&self, rows: &[usize]) -> RankBatch {
        let n = self.queries.len().max(1);
        fn pick<T: Copy>(v: &[T], rows: &[usize], w: usize) -> Vec<T> {
            rows.iter()
                .flat_map(|&r| v[r * w..(r + 1) * w].iter().copied())
                .collect()
        }
        RankBatch {
            queries: pick(&self.queries, rows, 1),
            items: pick(&self.items, rows, self.items.len() / n),
            pair_ids: pick(&self.pair_ids, rows, self.pair_ids.len() / n),
            ratings: pick(&self.ratings, rows, self.ratings.len() / n),
            num_pos_items: pick(&self.num_pos_items, rows, 1),
            ideal_dcg: pick(&self.ideal_dcg, rows, 1),
            items_per_query: self.items_per_query.as_ref().map(|v| pick(v, rows, 1)),
        }
    }
}

/// A ranking data set with its model family.
pub trait RankData {
    /// The scorer (an autodiff module).
    type Model: Module + Clone;
    /// A freshly initialised scorer.
    fn init(&self, cfg: &Config, device: &Device) -> Self::Model;
    /// The scorer with its prediction layer re-initialised.
    fn reset(&self, cfg: &Config, model: Self::Model, device: &Device) -> Self::Model;
    /// Relevant (query, item) pairs: the size of the per-pair state.
    fn n_pairs(&self) -> usize;
    /// Number of queries.
    fn n_queries(&self) -> usize;
    /// Items per query for the rank extrapolation when every query shares one catalogue.
    fn n_items(&self) -> usize;
    /// Batches per epoch.
    fn num_batches(&self) -> usize;
    /// The batches of the next epoch.
    fn next_epoch(&mut self) -> Result<Vec<RankBatch>>;
    /// Scores `[B, num_pos + num_neg]` of a batch.
    fn scores(&self, model: &Self::Model, batch: &RankBatch, device: &Device) -> Tensor<2>;
    /// Test metrics.
    fn evaluate(&self, model: &Self::Model, device: &Device) -> Result<RankMetrics>;
    /// Each query's K-th largest score over its candidates.
    fn kth_scores(&self, model: &Self::Model, k: usize, device: &Device) -> Vec<f32>;
    /// One line on the data (queries, items, pairs), for the caller to show.
    fn describe(&self) -> String;
}

/// The SONG optimizer (spec §3.3): LibAUC's skeleton, mode `sgd` (momentum 0.9) or `adam`,
/// element-wise clipping at 1.0, no weight decay by default.
fn song(cfg: &Config) -> Result<ProximalOptimizer> {
    let o = &cfg.optimizer;
    if o.kind != "song" {
        bail!(
            "[optimizer] kind = \"{}\" cannot train [loss] kind = \"{}\": ranking losses use song",
            o.kind,
            cfg.loss.kind
        );
    }
    let rule = match o.mode.as_deref() {
        None | Some("sgd") => UpdateRule::Sgd {
            momentum: o.momentum.unwrap_or(0.9),
            dampening: o.dampening.unwrap_or(0.0),
            nesterov: o.nesterov.unwrap_or(false),
        },
        Some("adam") => UpdateRule::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        },
        Some(other) => bail!("[optimizer] mode = \"{other}\": use sgd or adam"),
    };
    Ok(ProximalOptimizer::new(SkeletonConfig {
        lr: o.lr.context("[optimizer] kind = \"song\" needs lr")?,
        rule,
        clip_value: Some(o.clip_value.unwrap_or(1.0)),
        weight_decay: o.weight_decay.unwrap_or(0.0),
        decoupled_weight_decay: 0.0,
        epoch_decay: o.epoch_decay.unwrap_or(0.0),
    }))
}

/// DCG of the first `k` of `ratings` sorted in descending order (gains `2^r − 1`).
pub fn ideal_dcg(ratings: &[f32], k: usize) -> f32 {
    let mut r: Vec<f32> = ratings.to_vec();
    r.sort_by(|a, b| b.total_cmp(a));
    r.iter()
        .take(k)
        .enumerate()
        .map(|(i, y)| (2f32.powf(*y) - 1.0) / (i as f32 + 2.0).log2())
        .sum()
}

/// The `k`-th largest of `scores` (the smallest when there are fewer than `k`; 0 when
/// empty): where a query's top-K threshold λ starts after the warm-up.
pub fn kth_largest(mut scores: Vec<f64>, k: usize) -> f32 {
    scores.sort_by(|a, b| b.total_cmp(a));
    scores
        .get(k.min(scores.len()).saturating_sub(1))
        .copied()
        .unwrap_or(0.0) as f32
}

/// The per-query MAP@10 and P@10 of ranked lists whose relevant entries are marked.
pub fn map_p_at_10(lists: &[(Vec<f64>, Vec<bool>)]) -> Result<(f64, f64)> {
    let (mut actual, mut predicted) = (Vec::new(), Vec::new());
    let mut p10 = 0.0;
    for (scores, relevant) in lists {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        p10 += order.iter().take(10).filter(|&&i| relevant[i]).count() as f64 / 10.0;
        actual.push(
            (0..scores.len())
                .filter(|&i| relevant[i])
                .collect::<Vec<usize>>(),
        );
        predicted.push(order);
    }
    if lists.is_empty() {
        bail!("no test query has a relevant item");
    }
    Ok((
        xrisk_metrics::map_at_k(&actual, &predicted, 10)?,
        p10 / lists.len() as f64,
    ))
}

// One value per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum RankLoss {
    Listwise(ListwiseCeLoss),
    Ndcg(NdcgLoss),
}

/// The seed of epoch `epoch`'s random stream (dropout, re-initialisation): a function of the
/// run's seed and the epoch alone, so that a run resumed at an epoch boundary draws what the
/// uninterrupted run drew (burn's device RNG state cannot be saved).
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed ^ (epoch as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A ranking run as a [`crate::Task`]: the data set's scorer, ListwiseCE (warm-up or the
/// whole run) then SONG / K-SONG's NDCG loss, the SONG optimizer. A checkpoint holds the
/// scorer, the optimizer's buffers, the loss's per-pair and per-query state and the phase.
pub struct RankingTask<T: RankData> {
    data: T,
    cfg: Config,
    device: Device,
    model: T::Model,
    /// The loss and the SONG optimizer of the current stage.
    method: (RankLoss, ProximalOptimizer),
    /// The ListwiseCE warm-up, then SONG / K-SONG with a fresh optimizer and prediction layer.
    stages: Stages<(RankLoss, ProximalOptimizer), ()>,
    warmup: usize,
    last: Option<RankMetrics>,
}

impl<T: RankData> RankingTask<T> {
    /// Builds the run of `cfg` on `data` (the device seeded, the scorer drawn); with `dist`,
    /// steps are data-parallel over that group.
    pub fn new(cfg: &Config, data: T) -> Result<Self> {
        let device = cfg.train.device()?;
        device.seed(cfg.train.seed);
        let model = data.init(cfg, &device);
        let l = &cfg.loss;
        let num_pos = cfg.sampler.num_pos.unwrap_or(10);
        let ndcg_config = NdcgConfig {
            gamma0: l.gamma0.unwrap_or(0.9),
            gamma1: l.gamma1.unwrap_or(0.9),
            eta0: l.eta0.unwrap_or(0.01),
            margin: l.margin.unwrap_or(1.0),
            topk: l.topk,
            version: if l.topk_version.as_deref() == Some("prac") {
                TopkVersion::Prac
            } else {
                TopkVersion::Theo
            },
            tau_1: l.tau_1.unwrap_or(0.01),
            tau_2: l.tau_2.unwrap_or(1e-4),
            sigmoid_alpha: l.sigmoid_alpha.unwrap_or(2.0),
            psi_scale: l.psi_scale.unwrap_or(1.0),
            ..NdcgConfig::new(data.n_pairs(), data.n_queries(), data.n_items(), num_pos)
        };
        let warmup = if l.kind == "ndcg" {
            cfg.train.warmup_epochs
        } else {
            0
        };
        let listwise = || -> Result<RankLoss> {
            Ok(RankLoss::Listwise(ListwiseCeLoss::new(
                ListwiseCeConfig {
                    gamma: l.gamma.unwrap_or(0.1),
                    ..ListwiseCeConfig::new(data.n_pairs(), num_pos)
                },
                &device,
            )?))
        };
        let ndcg =
            || -> Result<RankLoss> { Ok(RankLoss::Ndcg(NdcgLoss::new(ndcg_config, &device)?)) };
        let (method, stages) = if l.kind == "listwise_ce" {
            ((listwise()?, song(cfg)?), Stages::single())
        } else if warmup > 0 {
            let fine = (ndcg()?, song(cfg)?);
            (
                (listwise()?, song(cfg)?),
                Stages::first_epochs(warmup, fine, true),
            )
        } else {
            ((ndcg()?, song(cfg)?), Stages::single())
        };
        Ok(RankingTask {
            data,
            cfg: cfg.clone(),
            device,
            model,
            method,
            stages,
            warmup,
            last: None,
        })
    }

    /// The schedule of a ranking run: the ListwiseCE warm-up epochs (a first stage at the
    /// SONG optimizer's learning rate) then `[train] epochs` with `[train]`'s schedule,
    /// counted from the end of the warm-up (as a two-stage run's fine-tuning).
    pub fn schedule(cfg: &Config) -> crate::Schedule {
        let warmup = if cfg.loss.kind == "ndcg" {
            cfg.train.warmup_epochs
        } else {
            0
        };
        crate::Schedule::of(&cfg.train).after(warmup)
    }

    /// One line on the data (queries, items, pairs).
    pub fn describe(&self) -> String {
        self.data.describe()
    }

    /// The warm-up epochs of this run.
    pub fn warmup_epochs(&self) -> usize {
        self.warmup
    }

    /// Test metrics of the current model (those of the last evaluation when no step ran
    /// since).
    pub fn test_metrics(&mut self) -> Result<RankMetrics> {
        match self.last {
            Some(m) => Ok(m),
            None => self.data.evaluate(&self.model, &self.device),
        }
    }

    fn phase(&self) -> &str {
        if self.stages.pretraining() {
            "warm-up"
        } else {
            self.cfg.loss.kind.as_str()
        }
    }
}

impl<T: RankData> crate::Task for RankingTask<T> {
    type Batch = RankBatch;

    fn batches_per_epoch(&self) -> usize {
        self.data.num_batches()
    }

    fn begin_epoch(&mut self, epoch: usize) -> Result<()> {
        self.device.seed(epoch_seed(self.cfg.train.seed, epoch));
        if self.stages.begin_epoch(epoch, &mut self.method) == Some(true) {
            self.model = self.data.reset(&self.cfg, self.model.clone(), &self.device);
            if let (Some(k), RankLoss::Ndcg(n)) = (self.cfg.loss.topk, &mut self.method.0) {
                let thresholds = self.data.kth_scores(&self.model, k, &self.device);
                let all: Vec<usize> = (0..thresholds.len()).collect();
                n.set_thresholds(&all, &thresholds)?;
            }
        }
        Ok(())
    }

    fn decay(&mut self, factor: f64) -> Result<()> {
        self.method.1.update_lr(factor);
        Ok(())
    }

    fn scale_lr(&mut self, ratio: f64) -> Result<()> {
        self.method.1.scale_lr(ratio);
        Ok(())
    }

    fn next_epoch(&mut self) -> Result<Vec<RankBatch>> {
        self.data.next_epoch()
    }

    fn batch_ids(batch: &RankBatch) -> Vec<usize> {
        let mut v = batch.queries.clone();
        v.extend(&batch.items);
        v
    }

    fn step(&mut self, b: &RankBatch, mut dist: Option<&mut dyn Collective>) -> Result<f64> {
        self.last = None;
        let scores = match dist.as_deref_mut() {
            None => self.data.scores(&self.model, b, &self.device),
            Some(c) => {
                let mine = shard(b.queries.len(), c.rank(), c.world_size())?;
                gather_rows(
                    self.data.scores(&self.model, &b.rows(&mine), &self.device),
                    c,
                )?
            }
        };
        let value = match &mut self.method.0 {
            RankLoss::Listwise(lw) => lw.forward(scores, &b.pair_ids)?,
            RankLoss::Ndcg(n) => n.forward(
                scores,
                &RankingBatch {
                    ratings: &b.ratings,
                    user_ids: &b.queries,
                    pair_ids: &b.pair_ids,
                    num_pos_items: &b.num_pos_items,
                    ideal_dcg: &b.ideal_dcg,
                    items_per_query: b.items_per_query.as_deref(),
                },
            )?,
        };
        let v = crate::gradients::value(&value);
        if !v.is_finite() {
            return Ok(v);
        }
        let model = self.model.clone();
        let (mut g, _) = crate::gradients::backward(value, &model, dist)?;
        self.model = self.method.1.step(model, &mut g);
        Ok(v)
    }

    fn evaluate(&mut self, epoch: usize, loss: f64) -> Result<(serde_json::Value, String)> {
        let m = self.data.evaluate(&self.model, &self.device)?;
        self.last = Some(m);
        let phase = self.phase().to_string();
        let line = json!({"epoch": epoch, "phase": phase, "train_loss": loss,
                          "test": {"ndcg@5": m.ndcg5, "ndcg@10": m.ndcg10, "ndcg@20": m.ndcg20,
                                   "map@10": m.map10, "p@10": m.p10}});
        let summary = format!(
            "({phase})  loss {loss:>9.5}  test NDCG@5 {:.4}  @10 {:.4}  @20 {:.4}  MAP@10 {:.4}  P@10 {:.4}",
            m.ndcg5, m.ndcg10, m.ndcg20, m.map10, m.p10
        );
        Ok((line, summary))
    }

    fn save(&self, s: &mut Snapshot) -> Result<()> {
        xrisk::persist::save_module(&self.model, "model", s);
        self.method
            .1
            .save_state("optimizer", &xrisk::persist::param_ids(&self.model), s)?;
        self.stages.save(s);
        let ndcg_phase = match &self.method.0 {
            RankLoss::Listwise(lw) => {
                lw.save("loss", s);
                0.0
            }
            RankLoss::Ndcg(n) => {
                n.save("loss", s);
                1.0
            }
        };
        s.put_scalar("rank.ndcg_phase", ndcg_phase);
        Ok(())
    }

    fn restore(&mut self, s: &Snapshot) -> Result<()> {
        self.model = xrisk::persist::restore_module(self.model.clone(), "model", s)?;
        // Checkpoints written before the warm-up ran on `Stages` record the phase only.
        let second = match s.count("pretrain.stage") {
            Ok(stage) => stage == 2,
            Err(_) => s.count("rank.ndcg_phase")? == 1,
        };
        self.stages.restore_stage(second, &mut self.method);
        match &mut self.method.0 {
            RankLoss::Listwise(lw) => lw.restore("loss", s)?,
            RankLoss::Ndcg(n) => n.restore("loss", s)?,
        }
        let ids = xrisk::persist::param_ids(&self.model);
        self.method
            .1
            .restore_state("optimizer", &ids, s, &self.device)?;
        self.last = None;
        Ok(())
    }
}
