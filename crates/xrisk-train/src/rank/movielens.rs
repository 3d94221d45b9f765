//! Recommendation ranking for `xrisk train`: NeuMF on MovieLens-style interactions, the
//! leave-last-out protocol of `xrisk_data::recsplit` (the held-out item of each user ranked
//! among `eval_negatives` sampled items it never rated), and the TriSampler in ranking mode.

use super::{RankBatch, RankData, RankMetrics, ideal_dcg, kth_largest, map_p_at_10};
use crate::config::Config;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::path::PathBuf;
use xrisk::neumf::{NeuMf, NeuMfConfig};
use xrisk_data::recsplit::{EvalList, LeaveLastOut, RecSplit, leave_last_out};
use xrisk_data::registry::{fetched_file, paths};
use xrisk_data::sampler::{TriBatch, TriSampler, TriSamplerConfig};

/// A MovieLens ranking task.
pub struct Movielens {
    split: RecSplit,
    /// Per user: sorted `(item, slot)` of its training items (slot = position in its list).
    items: Vec<Vec<(usize, usize)>>,
    offsets: Vec<usize>,
    ratings: Vec<Vec<f32>>,
    ideal: Vec<f32>,
    sampler: TriSampler,
    num_pos: usize,
    width: usize,
    summary: String,
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

fn interactions_path(cfg: &Config) -> Result<PathBuf> {
    Ok(match (&cfg.data.train, cfg.data.dataset.as_deref()) {
        (Some(p), None) => p.clone(),
        (None, Some(name @ "movielens-100k")) => fetched_file(name, paths::MOVIELENS_INTER)?,
        (None, Some(other)) => {
            bail!("[data] dataset = \"{other}\": ranking runs know movielens-100k")
        }
        (Some(_), Some(_)) => bail!("[data]: give either `train` or `dataset`, not both"),
        (None, None) => bail!(
            "[data] needs `train` (a u.data or .inter file) or `dataset = \"movielens-100k\"`"
        ),
    })
}

fn neumf_config(cfg: &Config, split: &RecSplit) -> NeuMfConfig {
    NeuMfConfig {
        emb_size: cfg.model.emb_size.unwrap_or(64),
        layers: cfg.model.layers.clone().unwrap_or_else(|| vec![64]),
        dropout: cfg.model.dropout.unwrap_or(0.2),
        ..NeuMfConfig::new(split.n_users, split.n_items)
    }
}

impl Movielens {
    /// Reads and splits the interactions of `cfg` and builds the sampler.
    pub fn load(cfg: &Config) -> Result<Self> {
        if cfg.model.kind != "neumf" {
            bail!(
                "[model] kind = \"{}\": ranking on interactions uses neumf",
                cfg.model.kind
            );
        }
        let inter = xrisk_data::readers::movielens::read_interactions(&interactions_path(cfg)?)?;
        let negatives = cfg.data.eval_negatives.unwrap_or(100);
        let split = leave_last_out(
            &inter,
            LeaveLastOut {
                eval_negatives: negatives,
                seed: cfg.train.seed,
                ..LeaveLastOut::default()
            },
        )?;
        let summary = format!(
            "{} users, {} items, {} training pairs, {} test users (1 held-out item + {negatives} sampled negatives each)",
            split.n_users,
            split.n_items,
            split.n_pairs(),
            split.test.len(),
        );
        let num_pos = cfg.sampler.num_pos.unwrap_or(10);
        let width = num_pos + cfg.sampler.num_neg.unwrap_or(100);
        let sampler = TriSampler::ranking(
            split.n_items,
            split
                .train
                .iter()
                .map(|t| t.iter().map(|e| e.0).collect())
                .collect(),
            TriSamplerConfig {
                batch_size_per_task: width,
                num_sampled_tasks: Some(cfg.sampler.batch_size.min(split.n_users)),
                sampling_rate: None,
                num_pos: Some(num_pos),
                seed: cfg.train.seed,
            },
        )?;
        let mut items = Vec::with_capacity(split.n_users);
        let mut ratings = Vec::with_capacity(split.n_users);
        let mut ideal = Vec::with_capacity(split.n_users);
        for t in &split.train {
            let mut v: Vec<(usize, usize)> =
                t.iter().enumerate().map(|(slot, e)| (e.0, slot)).collect();
            v.sort_unstable();
            items.push(v);
            let r: Vec<f32> = t.iter().map(|e| e.1).collect();
            ideal.push(ideal_dcg(&r, cfg.loss.topk.unwrap_or(usize::MAX)));
            ratings.push(r);
        }
        Ok(Movielens {
            summary,
            offsets: split.pair_offsets(),
            split,
            items,
            ratings,
            ideal,
            sampler,
            num_pos,
            width,
        })
    }

    fn slot(&self, user: usize, item: usize) -> Option<usize> {
        let v = &self.items[user];
        v.binary_search_by_key(&item, |e| e.0).ok().map(|i| v[i].1)
    }

    /// Scores of the lists (held-out items first, then negatives) without autodiff.
    fn score_lists(&self, model: &NeuMf, lists: &[&EvalList], device: &Device) -> Vec<Vec<f64>> {
        let eval = model.valid();
        let device = device.clone().without_autodiff();
        lists
            .iter()
            .map(|l| {
                let items: Vec<usize> = l
                    .positives
                    .iter()
                    .map(|p| p.0)
                    .chain(l.negatives.iter().copied())
                    .collect();
                user_scores(&eval, l.user, &items, &device)
            })
            .collect()
    }
}

/// Scores of `items` for `user` by an evaluation-mode model.
fn user_scores(eval: &NeuMf, user: usize, items: &[usize], device: &Device) -> Vec<f64> {
    let n = items.len();
    eval.forward(int1(&[user], device), int2(items, [1, n], device))
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap_or_default()
}

impl RankData for Movielens {
    type Model = NeuMf;

    fn init(&self, cfg: &Config, device: &Device) -> NeuMf {
        NeuMf::new(&neumf_config(cfg, &self.split), device)
    }

    fn reset(&self, cfg: &Config, model: NeuMf, device: &Device) -> NeuMf {
        model.reset_last_layer(&neumf_config(cfg, &self.split), device)
    }

    fn n_pairs(&self) -> usize {
        self.split.n_pairs()
    }

    fn n_queries(&self) -> usize {
        self.split.n_users
    }

    fn n_items(&self) -> usize {
        self.split.n_items
    }

    fn num_batches(&self) -> usize {
        self.sampler.num_batches()
    }

    fn next_epoch(&mut self) -> Result<Vec<RankBatch>> {
        let mut out = Vec::new();
        for b in self.sampler.next_epoch() {
            let TriBatch::Ranking(rows) = b else {
                bail!("the ranking sampler returned a classification batch");
            };
            let mut batch = RankBatch {
                queries: Vec::with_capacity(rows.len()),
                items: Vec::with_capacity(rows.len() * self.width),
                pair_ids: Vec::new(),
                ratings: Vec::new(),
                num_pos_items: Vec::new(),
                ideal_dcg: Vec::new(),
                items_per_query: None,
            };
            for r in &rows {
                batch.queries.push(r.query);
                batch.items.extend_from_slice(&r.items);
                for &it in &r.items[..self.num_pos] {
                    let slot = self
                        .slot(r.query, it)
                        .context("the sampler returned a positive the user did not rate")?;
                    batch.pair_ids.push(self.offsets[r.query] + slot);
                    batch.ratings.push(self.ratings[r.query][slot]);
                }
                batch.num_pos_items.push(self.ratings[r.query].len() as f32);
                batch.ideal_dcg.push(self.ideal[r.query]);
            }
            out.push(batch);
        }
        Ok(out)
    }

    fn scores(&self, model: &NeuMf, b: &RankBatch, device: &Device) -> Tensor<2> {
        model.forward(
            int1(&b.queries, device),
            int2(&b.items, [b.queries.len(), self.width], device),
        )
    }

    fn evaluate(&self, model: &NeuMf, device: &Device) -> Result<RankMetrics> {
        let lists = &self.split.test;
        let Some(first) = lists.first() else {
            bail!("no user has enough interactions to be evaluated");
        };
        let (p, c) = (
            first.positives.len(),
            first.positives.len() + first.negatives.len(),
        );
        let lists: Vec<&EvalList> = lists
            .iter()
            .filter(|l| l.positives.len() == p && l.positives.len() + l.negatives.len() == c)
            .collect();
        let scores = self.score_lists(model, &lists, device);
        let rel: Vec<f64> = lists
            .iter()
            .flat_map(|l| l.positives.iter().map(|e| f64::from(e.1)))
            .collect();
        let flat: Vec<f64> = scores.iter().flatten().copied().collect();
        let ndcg = |k| xrisk_metrics::ndcg_at_k(&rel, p, &flat, c, k);
        let marked: Vec<(Vec<f64>, Vec<bool>)> = scores
            .into_iter()
            .map(|s| {
                let rel = (0..s.len()).map(|i| i < p).collect();
                (s, rel)
            })
            .collect();
        let (map10, p10) = map_p_at_10(&marked)?;
        Ok(RankMetrics {
            ndcg5: ndcg(5)?,
            ndcg10: ndcg(10)?,
            ndcg20: ndcg(20)?,
            map10,
            p10,
        })
    }

    fn describe(&self) -> String {
        self.summary.clone()
    }

    fn kth_scores(&self, model: &NeuMf, k: usize, device: &Device) -> Vec<f32> {
        let eval = model.valid();
        let device = device.clone().without_autodiff();
        let items: Vec<usize> = (0..self.split.n_items).collect();
        (0..self.split.n_users)
            .map(|u| kth_largest(user_scores(&eval, u, &items, &device), k))
            .collect()
    }
}
