//! `xrisk train` for recommendation ranking (`[loss] kind = "listwise_ce" | "ndcg"`): NeuMF on
//! user–item interactions (MovieLens format), the leave-last-out protocol of
//! `xrisk_data::recsplit`, the TriSampler in ranking mode, the SONG optimizer, an optional
//! ListwiseCE warm-up (`[train] warmup_epochs`, then the prediction layer is re-initialised and,
//! for K-SONG, each λ_q starts at the warm-up model's K-th score), and per-epoch NDCG@{5,10,20},
//! MAP@10 and P@10 on the test users (held-out items against their sampled negatives).

use crate::config::Config;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::time::Instant;
use xrisk::loss::{
    ListwiseCeConfig, ListwiseCeLoss, NdcgConfig, NdcgLoss, RankingBatch, TopkVersion,
};
use xrisk::neumf::{NeuMf, NeuMfConfig};
use xrisk::optim::{ProximalOptimizer, SkeletonConfig, UpdateRule};
use xrisk_data::recsplit::{EvalList, LeaveLastOut, RecSplit, leave_last_out};
use xrisk_data::sampler::{TriBatch, TriSampler, TriSamplerConfig};

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

fn dcg(ratings: &[f32], k: usize) -> f32 {
    let mut r: Vec<f32> = ratings.to_vec();
    r.sort_by(|a, b| b.total_cmp(a));
    r.iter()
        .take(k)
        .enumerate()
        .map(|(i, y)| (2f32.powf(*y) - 1.0) / (i as f32 + 2.0).log2())
        .sum()
}

/// Per-user training facts a ranking batch needs.
struct Users {
    /// Sorted `(item, slot)` of each user's training items (slot = position in its list).
    items: Vec<Vec<(usize, usize)>>,
    offsets: Vec<usize>,
    ratings: Vec<Vec<f32>>,
    ideal: Vec<f32>,
}

impl Users {
    fn new(split: &RecSplit, topk: Option<usize>) -> Self {
        let mut items = Vec::with_capacity(split.n_users);
        let mut ratings = Vec::with_capacity(split.n_users);
        let mut ideal = Vec::with_capacity(split.n_users);
        for t in &split.train {
            let mut v: Vec<(usize, usize)> =
                t.iter().enumerate().map(|(slot, e)| (e.0, slot)).collect();
            v.sort_unstable();
            items.push(v);
            let r: Vec<f32> = t.iter().map(|e| e.1).collect();
            ideal.push(dcg(&r, topk.unwrap_or(usize::MAX)));
            ratings.push(r);
        }
        Users {
            items,
            offsets: split.pair_offsets(),
            ratings,
            ideal,
        }
    }

    fn slot(&self, user: usize, item: usize) -> Option<usize> {
        let v = &self.items[user];
        v.binary_search_by_key(&item, |e| e.0).ok().map(|i| v[i].1)
    }
}

fn int1(v: &[usize], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = v.iter().map(|&x| x as i64).collect();
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), device)
}

fn int2(v: &[usize], shape: [usize; 2], device: &Device) -> Tensor<2, Int> {
    let v: Vec<i64> = v.iter().map(|&x| x as i64).collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// Scores of `lists` (positives first, then negatives) without autodiff.
fn score_lists(model: &NeuMf, lists: &[EvalList], device: &Device) -> Vec<Vec<f64>> {
    let eval = model.valid();
    let device = device.clone().without_autodiff();
    lists
        .chunks(256)
        .flat_map(|chunk| {
            chunk
                .iter()
                .map(|l| {
                    let items: Vec<usize> = l
                        .positives
                        .iter()
                        .map(|p| p.0)
                        .chain(l.negatives.iter().copied())
                        .collect();
                    let n = items.len();
                    let s = eval.forward(int1(&[l.user], &device), int2(&items, [1, n], &device));
                    s.into_data()
                        .convert::<f64>()
                        .try_to_vec::<f64>()
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// NDCG@{5,10,20}, MAP@10 and P@10 of `model` on `lists`.
pub fn evaluate(model: &NeuMf, lists: &[EvalList], device: &Device) -> Result<RankMetrics> {
    if lists.is_empty() {
        bail!("no user has enough interactions to be evaluated");
    }
    let p = lists[0].positives.len();
    let c = p + lists[0].negatives.len();
    let lists: Vec<&EvalList> = lists
        .iter()
        .filter(|l| l.positives.len() == p && l.positives.len() + l.negatives.len() == c)
        .collect();
    let owned: Vec<EvalList> = lists.iter().map(|l| (*l).clone()).collect();
    let scores = score_lists(model, &owned, device);
    let rel: Vec<f64> = owned
        .iter()
        .flat_map(|l| l.positives.iter().map(|e| f64::from(e.1)))
        .collect();
    let flat: Vec<f64> = scores.iter().flatten().copied().collect();
    let ndcg = |k| xrisk_metrics::ndcg_at_k(&rel, p, &flat, c, k);
    let (mut actual, mut predicted) = (Vec::new(), Vec::new());
    let mut p10 = 0.0;
    for s in &scores {
        let mut order: Vec<usize> = (0..s.len()).collect();
        order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
        p10 += order.iter().take(10).filter(|&&i| i < p).count() as f64 / 10.0;
        actual.push((0..p).collect::<Vec<usize>>());
        predicted.push(order);
    }
    Ok(RankMetrics {
        ndcg5: ndcg(5)?,
        ndcg10: ndcg(10)?,
        ndcg20: ndcg(20)?,
        map10: xrisk_metrics::map_at_k(&actual, &predicted, 10)?,
        p10: p10 / scores.len() as f64,
    })
}

// One value per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum RankLoss {
    Listwise(ListwiseCeLoss),
    Ndcg(NdcgLoss),
}

/// Runs a ranking config; writes metrics.jsonl into `out` when given.
pub fn run(cfg: &Config, out: Option<&Path>, json_out: bool) -> Result<()> {
    if cfg.data.format != "movielens" {
        bail!(
            "[data] format = \"{}\": ranking losses train on interactions (format = \"movielens\")",
            cfg.data.format
        );
    }
    if cfg.model.kind != "neumf" {
        bail!(
            "[model] kind = \"{}\": ranking on interactions uses neumf",
            cfg.model.kind
        );
    }
    let path = match (&cfg.data.train, cfg.data.dataset.as_deref()) {
        (Some(p), None) => p.clone(),
        (None, Some("movielens-100k")) => {
            let info = xrisk_data::registry::find("movielens-100k")?;
            let dir = xrisk_data::fetch::default_data_dir();
            if !xrisk_data::fetch::is_fetched(info, &dir) {
                bail!(
                    "movielens-100k is not in {}: run `xrisk data fetch movielens-100k` first",
                    dir.display()
                );
            }
            xrisk_data::fetch::dataset_dir(info, &dir)
                .join("recbole/dataset_example/ml-100k/ml-100k.inter")
        }
        (None, Some(other)) => {
            bail!("[data] dataset = \"{other}\": ranking runs know movielens-100k")
        }
        (Some(_), Some(_)) => bail!("[data]: give either `train` or `dataset`, not both"),
        (None, None) => bail!(
            "[data] needs `train` (a u.data or .inter file) or `dataset = \"movielens-100k\"`"
        ),
    };
    let inter = xrisk_data::readers::movielens::read_interactions(&path)?;
    let split = leave_last_out(
        &inter,
        LeaveLastOut {
            eval_negatives: cfg.data.eval_negatives.unwrap_or(100),
            seed: cfg.train.seed,
            ..LeaveLastOut::default()
        },
    )?;
    eprintln!(
        "data: {} users, {} items, {} training pairs, {} test users (1 held-out item + {} sampled negatives each)",
        split.n_users,
        split.n_items,
        split.n_pairs(),
        split.test.len(),
        cfg.data.eval_negatives.unwrap_or(100)
    );
    let topk = cfg.loss.topk;
    let users = Users::new(&split, topk);
    let num_pos = cfg.sampler.num_pos.unwrap_or(10);
    let num_neg = cfg.sampler.num_neg.unwrap_or(100);
    let per_batch = cfg.sampler.batch_size.min(split.n_users);
    let mut sampler = TriSampler::ranking(
        split.n_items,
        split
            .train
            .iter()
            .map(|t| t.iter().map(|e| e.0).collect())
            .collect(),
        TriSamplerConfig {
            batch_size_per_task: num_pos + num_neg,
            num_sampled_tasks: Some(per_batch),
            sampling_rate: None,
            num_pos: Some(num_pos),
            seed: cfg.train.seed,
        },
    )?;
    let device = Device::flex().autodiff();
    device.seed(cfg.train.seed);
    let mcfg = NeuMfConfig {
        emb_size: cfg.model.emb_size.unwrap_or(64),
        layers: cfg.model.layers.clone().unwrap_or_else(|| vec![64]),
        dropout: cfg.model.dropout.unwrap_or(0.2),
        ..NeuMfConfig::new(split.n_users, split.n_items)
    };
    let mut model = NeuMf::new(&mcfg, &device);
    let l = &cfg.loss;
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
        ..NdcgConfig::new(split.n_pairs(), split.n_users, split.n_items, num_pos)
    };
    let listwise = || {
        ListwiseCeLoss::new(
            ListwiseCeConfig {
                gamma: l.gamma.unwrap_or(0.1),
                ..ListwiseCeConfig::new(split.n_pairs(), num_pos)
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
        RankLoss::Listwise(listwise())
    } else {
        RankLoss::Ndcg(NdcgLoss::new(ndcg_config, &device))
    };
    let mut optimizer = song(cfg)?;
    let mut log = match out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the output folder {}", dir.display()))?;
            let p = dir.join("metrics.jsonl");
            if p.exists() {
                bail!(
                    "{} already holds a run (metrics.jsonl); choose another --out folder",
                    dir.display()
                );
            }
            Some(
                std::fs::File::create(&p)
                    .with_context(|| format!("cannot write {}", p.display()))?,
            )
        }
        None => None,
    };
    let epochs = warmup + cfg.train.epochs;
    let bar = ProgressBar::new((sampler.num_batches() * epochs) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {elapsed} {msg}")
            .expect("static template"),
    );
    let decay = cfg.train.decay_epochs.clone().unwrap_or_default();
    let mut last = None;
    for epoch in 0..epochs {
        if epoch == warmup && warmup > 0 {
            model = model.reset_last_layer(&mcfg, &device);
            optimizer = song(cfg)?;
            let mut n = NdcgLoss::new(ndcg_config, &device);
            if let Some(k) = topk {
                let thresholds = kth_scores(&model, split.n_users, split.n_items, k, &device);
                let all: Vec<usize> = (0..split.n_users).collect();
                n.set_thresholds(&all, &thresholds)?;
            }
            loss = RankLoss::Ndcg(n);
        }
        if decay.contains(&epoch) {
            optimizer.update_lr(cfg.train.decay_factor);
        }
        let start = Instant::now();
        let mut total = 0.0;
        let batches = sampler.next_epoch();
        for b in &batches {
            let TriBatch::Ranking(rows) = b else {
                bail!("the ranking sampler returned a classification batch");
            };
            let bsz = rows.len();
            let width = num_pos + num_neg;
            let (mut uids, mut items) = (Vec::with_capacity(bsz), Vec::with_capacity(bsz * width));
            let (mut pair_ids, mut ratings) = (Vec::new(), Vec::new());
            let (mut npi, mut ideal) = (Vec::new(), Vec::new());
            for r in rows {
                uids.push(r.query);
                items.extend_from_slice(&r.items);
                for &it in &r.items[..num_pos] {
                    let slot = users
                        .slot(r.query, it)
                        .context("the sampler returned a positive the user did not rate")?;
                    pair_ids.push(users.offsets[r.query] + slot);
                    ratings.push(users.ratings[r.query][slot]);
                }
                npi.push(users.ratings[r.query].len() as f32);
                ideal.push(users.ideal[r.query]);
            }
            let scores = model.forward(int1(&uids, &device), int2(&items, [bsz, width], &device));
            let value = match &mut loss {
                RankLoss::Listwise(lw) => lw.forward(scores, &pair_ids)?,
                RankLoss::Ndcg(n) => n.forward(
                    scores,
                    &RankingBatch {
                        ratings: &ratings,
                        user_ids: &uids,
                        pair_ids: &pair_ids,
                        num_pos_items: &npi,
                        ideal_dcg: &ideal,
                    },
                )?,
            };
            let v = f64::from(value.clone().into_scalar::<f32>());
            if !v.is_finite() {
                bail!(
                    "epoch {}: the loss is {v}; lower the learning rate",
                    epoch + 1
                );
            }
            total += v;
            let mut g = GradientsParams::from_grads(value.backward(), &model);
            model = optimizer.step(model, &mut g);
            bar.inc(1);
        }
        let seconds = start.elapsed().as_secs_f64();
        let m = evaluate(&model, &split.test, &device)?;
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
        if let Some(f) = log.as_mut() {
            writeln!(
                f,
                "{}",
                json!({"epoch": epoch + 1, "phase": phase, "train_loss": loss_mean, "seconds": seconds,
                       "test": {"ndcg@5": m.ndcg5, "ndcg@10": m.ndcg10, "ndcg@20": m.ndcg20,
                                "map@10": m.map10, "p@10": m.p10}})
            )
            .context("cannot append to metrics.jsonl")?;
        }
        last = Some(m);
    }
    bar.finish_and_clear();
    let m = match last {
        Some(m) => m,
        None => evaluate(&model, &split.test, &device)?,
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

/// Each user's K-th largest score over all items (the start of its top-K threshold).
fn kth_scores(
    model: &NeuMf,
    n_users: usize,
    n_items: usize,
    k: usize,
    device: &Device,
) -> Vec<f32> {
    let eval = model.valid();
    let device = device.clone().without_autodiff();
    let items: Vec<usize> = (0..n_items).collect();
    (0..n_users)
        .map(|u| {
            let s = eval
                .forward(int1(&[u], &device), int2(&items, [1, n_items], &device))
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap_or_default();
            let mut s = s;
            s.sort_by(|a, b| b.total_cmp(a));
            s.get(k.min(s.len()).saturating_sub(1))
                .copied()
                .unwrap_or(0.0)
        })
        .collect()
}
