//! `xrisk train` for ranking (`[loss] kind = "listwise_ce" | "ndcg"`): the training loop shared
//! by recommendation (NeuMF on MovieLens-style interactions, [`crate::rank_movielens`]) and
//! learning to rank (an MLP on LETOR feature rows, [`crate::rank_letor`]). It runs the SONG
//! optimizer, an optional ListwiseCE warm-up (`[train] warmup_epochs`, then the prediction
//! layer is re-initialised and, for K-SONG, each λ_q starts at the warm-up model's K-th score of
//! its query), and reports NDCG@{5,10,20}, MAP@10 and P@10 on the test queries every epoch.

use crate::config::Config;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use serde_json::json;
use std::path::Path;
use std::time::Instant;
use xrisk::dist::{Collective, all_reduce_grads, gather_rows, shard};
use xrisk::loss::{
    ListwiseCeConfig, ListwiseCeLoss, NdcgConfig, NdcgLoss, RankingBatch, TopkVersion,
};
use xrisk::optim::{ProximalOptimizer, SkeletonConfig, UpdateRule};
use xrisk::persist::Persist;
use xrisk_data::snapshot::Snapshot;

/// Whether `cfg` is a ranking run.
pub fn is_ranking(cfg: &Config) -> bool {
    matches!(cfg.loss.kind.as_str(), "listwise_ce" | "ndcg")
}

/// Ranking metrics of one evaluation.
#[derive(Debug, Clone, Copy)]
pub struct RankMetrics {
    pub ndcg5: f64,
    pub ndcg10: f64,
    pub ndcg20: f64,
    pub map10: f64,
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
pub trait RankTask {
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

/// Runs a ranking config; with `o.dir`, writes config.toml, metrics.jsonl, a checkpoint after
/// every epoch and report.html there, and continues from `o.resume` when given.
/// With `dist`, trains data-parallel: this process scores its shard of every batch's queries
/// (`xrisk::dist`).
pub fn run(
    cfg: &Config,
    o: Output,
    json_out: bool,
    dist: Option<&mut dyn Collective>,
) -> Result<()> {
    match cfg.data.format.as_str() {
        "movielens" => train(
            cfg,
            crate::rank_movielens::Movielens::load(cfg)?,
            o,
            json_out,
            dist,
        ),
        "svmlight" => train(cfg, crate::rank_letor::Letor::load(cfg)?, o, json_out, dist),
        other => bail!(
            "[data] format = \"{other}\": ranking losses train on interactions (movielens) or LETOR rows with qid (svmlight)"
        ),
    }
}

/// Where a ranking run writes and what it resumes from.
pub struct Output<'a> {
    /// The run folder (`--out`, or the `--resume` folder).
    pub dir: Option<&'a Path>,
    /// The config as written.
    pub config_text: &'a str,
    /// Where the config was read from.
    pub config_path: &'a Path,
    /// The checkpoint to continue from.
    pub resume: Option<Snapshot>,
}

/// The seed of epoch `epoch`'s random stream (dropout, re-initialisation): a function of the
/// run's seed and the epoch alone, so that a run resumed at an epoch boundary draws what the
/// uninterrupted run drew (burn's device RNG state cannot be saved).
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed ^ (epoch as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn train<T: RankTask>(
    cfg: &Config,
    mut task: T,
    o: Output,
    json_out: bool,
    mut dist: Option<&mut dyn Collective>,
) -> Result<()> {
    let out = o.dir;
    let device = cfg.train.device()?;
    device.seed(cfg.train.seed);
    let mut model = task.init(cfg, &device);
    let l = &cfg.loss;
    let topk = l.topk;
    let num_pos = cfg.sampler.num_pos.unwrap_or(10);
    let ndcg_config = NdcgConfig {
        gamma0: l.gamma0.unwrap_or(0.9),
        gamma1: l.gamma1.unwrap_or(0.9),
        eta0: l.eta0.unwrap_or(0.01),
        margin: l.margin.unwrap_or(1.0),
        topk,
        version: if l.topk_version.as_deref() == Some("prac") {
            TopkVersion::Prac
        } else {
            TopkVersion::Theo
        },
        tau_1: l.tau_1.unwrap_or(0.01),
        tau_2: l.tau_2.unwrap_or(1e-4),
        sigmoid_alpha: l.sigmoid_alpha.unwrap_or(2.0),
        psi_scale: l.psi_scale.unwrap_or(1.0),
        ..NdcgConfig::new(task.n_pairs(), task.n_queries(), task.n_items(), num_pos)
    };
    let listwise = || {
        ListwiseCeLoss::new(
            ListwiseCeConfig {
                gamma: l.gamma.unwrap_or(0.1),
                ..ListwiseCeConfig::new(task.n_pairs(), num_pos)
            },
            &device,
        )
    };
    let warmup = if l.kind == "ndcg" {
        cfg.train.warmup_epochs
    } else {
        0
    };
    let mut loss = if warmup > 0 || l.kind == "listwise_ce" {
        RankLoss::Listwise(listwise()?)
    } else {
        RankLoss::Ndcg(NdcgLoss::new(ndcg_config, &device)?)
    };
    let mut optimizer = song(cfg)?;
    let ids = |m: &T::Model| xrisk::persist::param_ids(m);
    let mut first_epoch = 0;
    let mut history: Vec<(usize, f64, RankMetrics)> = Vec::new();
    if let Some(s) = &o.resume {
        first_epoch = s.count("run.epoch")? as usize;
        model = xrisk::persist::restore_module(model, "model", s)?;
        if s.count("rank.ndcg_phase")? == 1 {
            loss = RankLoss::Ndcg(NdcgLoss::new(ndcg_config, &device)?);
        }
        match &mut loss {
            RankLoss::Listwise(lw) => lw.restore("loss", s)?,
            RankLoss::Ndcg(n) => n.restore("loss", s)?,
        }
        optimizer.restore_state("optimizer", &ids(&model), s, &device)?;
        // The sampler is a function of its seed and position: replay the finished epochs.
        for _ in 0..first_epoch {
            task.next_epoch()?;
        }
    }
    let mut log = match out {
        Some(dir) => Some(crate::runlog::open_run_folder(
            dir,
            o.config_text,
            o.resume.as_ref(),
        )?),
        None => None,
    };
    if let (Some(dir), Some(_)) = (out, &o.resume) {
        history = read_history(&dir.join("metrics.jsonl"))?;
    }
    let persist = out.map(|dir| {
        let mut meta = xrisk_train::checkpoint::run_meta(cfg, o.config_text, o.config_path);
        meta.put_scalar("run.step", 0.0);
        xrisk_train::Persistence {
            dir: dir.to_path_buf(),
            every_steps: None,
            meta,
            resume: None,
        }
    });
    let epochs = warmup + cfg.train.epochs;
    let bar = crate::runlog::progress(task.num_batches() * epochs, "steps");
    let decay = cfg.train.decay_epochs.clone().unwrap_or_default();
    bar.set_position((first_epoch * task.num_batches()) as u64);
    let mut last = history.last().map(|h| h.2);
    for epoch in first_epoch..epochs {
        device.seed(epoch_seed(cfg.train.seed, epoch));
        if epoch == warmup && warmup > 0 {
            model = task.reset(cfg, model, &device);
            optimizer = song(cfg)?;
            let mut n = NdcgLoss::new(ndcg_config, &device)?;
            if let Some(k) = topk {
                let thresholds = task.kth_scores(&model, k, &device);
                let all: Vec<usize> = (0..thresholds.len()).collect();
                n.set_thresholds(&all, &thresholds)?;
            }
            loss = RankLoss::Ndcg(n);
        }
        if decay.contains(&epoch) {
            optimizer.update_lr(cfg.train.decay_factor);
        }
        let start = Instant::now();
        let mut total = 0.0;
        let batches = cfg.train.cap(task.next_epoch()?);
        for b in &batches {
            let scores = match dist.as_deref_mut() {
                None => task.scores(&model, b, &device),
                Some(c) => {
                    let mine = shard(b.queries.len(), c.rank(), c.world_size())?;
                    gather_rows(task.scores(&model, &b.rows(&mine), &device), c)?
                }
            };
            let value = match &mut loss {
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
            let v = crate::runlog::loss_value(&value, epoch)?;
            total += v;
            let mut g = GradientsParams::from_grads(value.backward(), &model);
            if let Some(c) = dist.as_deref_mut() {
                all_reduce_grads(&model, &mut g, c)?;
            }
            model = optimizer.step(model, &mut g);
            bar.inc(1);
        }
        let seconds = start.elapsed().as_secs_f64();
        let m = task.evaluate(&model, &device)?;
        let phase = if epoch < warmup {
            "warm-up"
        } else {
            l.kind.as_str()
        };
        let loss_mean = total / batches.len().max(1) as f64;
        bar.suspend(|| {
            eprintln!(
                "epoch {:>3} ({phase})  loss {loss_mean:>9.5}  test NDCG@5 {:.4}  @10 {:.4}  @20 {:.4}  MAP@10 {:.4}  P@10 {:.4}  {seconds:.1}s",
                epoch + 1,
                m.ndcg5,
                m.ndcg10,
                m.ndcg20,
                m.map10,
                m.p10
            )
        });
        let line = json!({"epoch": epoch + 1, "phase": phase, "train_loss": loss_mean,
                          "test": {"ndcg@5": m.ndcg5, "ndcg@10": m.ndcg10, "ndcg@20": m.ndcg20,
                                   "map@10": m.map10, "p@10": m.p10}});
        crate::runlog::append_epoch(&mut log, &line, epoch + 1, seconds, batches.len())?;
        history.push((epoch + 1, loss_mean, m));
        last = Some(m);
        if let Some(p) = &persist {
            let mut state = Snapshot::new();
            xrisk::persist::save_module(&model, "model", &mut state);
            optimizer.save_state("optimizer", &ids(&model), &mut state)?;
            let ndcg_phase = match &loss {
                RankLoss::Listwise(lw) => {
                    lw.save("loss", &mut state);
                    0.0
                }
                RankLoss::Ndcg(n) => {
                    n.save("loss", &mut state);
                    1.0
                }
            };
            state.put_scalar("rank.ndcg_phase", ndcg_phase);
            state.put_scalar("run.epoch", (epoch + 1) as f64);
            p.write(state)?;
        }
    }
    bar.finish_and_clear();
    if let Some(dir) = out {
        let report = crate::report::write_ranking(dir, cfg, o.config_text, warmup, &history)?;
        eprintln!("report: {}", report.display());
    }
    let m = match last {
        Some(m) => m,
        None => task.evaluate(&model, &device)?,
    };
    if json_out {
        println!(
            "{}",
            json!({"test": {"ndcg@5": m.ndcg5, "ndcg@10": m.ndcg10, "ndcg@20": m.ndcg20, "map@10": m.map10, "p@10": m.p10}})
        );
    } else {
        println!(
            "test: NDCG@5 {:.4}  NDCG@10 {:.4}  NDCG@20 {:.4}  MAP@10 {:.4}  P@10 {:.4}",
            m.ndcg5, m.ndcg10, m.ndcg20, m.map10, m.p10
        );
    }
    Ok(())
}

/// The (epoch, loss, metrics) of the lines of a ranking run's metrics.jsonl.
fn read_history(path: &Path) -> Result<Vec<(usize, f64, RankMetrics)>> {
    let mut out = Vec::new();
    for v in crate::report::read_jsonl(path)? {
        let num = |p: &str| {
            v.pointer(p)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NAN)
        };
        out.push((
            num("/epoch") as usize,
            num("/train_loss"),
            RankMetrics {
                ndcg5: num("/test/ndcg@5"),
                ndcg10: num("/test/ndcg@10"),
                ndcg20: num("/test/ndcg@20"),
                map10: num("/test/map@10"),
                p10: num("/test/p@10"),
            },
        ));
    }
    Ok(out)
}
