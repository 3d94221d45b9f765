//! Learning to rank for `xrisk train`: an MLP scorer on LETOR feature rows (svmlight with
//! `qid:`, graded labels, e.g. the MSLR-WEB10K subset). Each query is its own candidate list:
//! a batch takes `num_pos` of a query's relevant documents (label > 0; drawn again when it has
//! fewer) and `num_neg` of its other documents (with replacement when it has fewer), and the
//! NDCG rank is extrapolated to the query's own length `N_q`. Test metrics: NDCG@{5,10,20} over
//! every test query with a relevant document (graded gains, ties averaged), MAP@10 and P@10
//! with label > 0 as relevant.

use super::{RankBatch, RankData, RankMetrics, ideal_dcg, kth_largest, map_p_at_10};
use crate::config::Config;
use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Tensor, TensorData};
use rand::seq::{SliceRandom, index};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xrisk::model::{Mlp, Scorer};
use xrisk_data::Dataset;
use xrisk_data::registry::{fetched_file, paths};

/// Rows of one LETOR file grouped by query.
struct Queries {
    data: Dataset,
    /// Row indices of each query, in file order.
    rows: Vec<Vec<usize>>,
    /// The file's query ids, per query.
    qids: Vec<u64>,
}

fn group(data: Dataset, which: &str) -> Result<Queries> {
    let groups = data
        .groups
        .clone()
        .with_context(|| format!("[data] {which}: ranking needs `qid:` on every svmlight row"))?;
    let mut index = std::collections::HashMap::new();
    let (mut rows, mut qids) = (Vec::<Vec<usize>>::new(), Vec::new());
    for (r, q) in groups.iter().enumerate() {
        let slot = *index.entry(*q).or_insert_with(|| {
            rows.push(Vec::new());
            qids.push(*q);
            rows.len() - 1
        });
        rows[slot].push(r);
    }
    Ok(Queries { data, rows, qids })
}

/// A LETOR ranking task.
pub struct Letor {
    train: Queries,
    test: Queries,
    /// Training queries with a relevant document, and their relevant / other rows.
    relevant: Vec<Vec<usize>>,
    others: Vec<Vec<usize>>,
    offsets: Vec<usize>,
    ideal: Vec<f32>,
    per_batch: usize,
    num_pos: usize,
    num_neg: usize,
    rng: ChaCha8Rng,
    summary: String,
}

impl Letor {
    /// Reads the train and test files of `cfg`.
    pub fn load(cfg: &Config) -> Result<Self> {
        if !matches!(cfg.model.kind.as_str(), "mlp" | "linear") {
            bail!(
                "[model] kind = \"{}\": learning to rank on feature rows uses mlp or linear",
                cfg.model.kind
            );
        }
        let opts = |n| xrisk_data::readers::svmlight::SvmlightOptions { n_features: n };
        let (train_path, test_path) = match cfg.data.dataset.as_deref() {
            Some(name @ "mslr10k-subset") => (
                fetched_file(name, paths::MSLR_TRAIN)?,
                fetched_file(name, paths::MSLR_TEST)?,
            ),
            Some(other) => bail!("[data] dataset = \"{other}\": LETOR runs know mslr10k-subset"),
            None => (
                cfg.data.train.clone().context("[data] needs `train`")?,
                cfg.data
                    .test
                    .clone()
                    .context("[data] needs `test` (a LETOR file with the test queries)")?,
            ),
        };
        let mut train =
            xrisk_data::readers::svmlight::read_svmlight(&train_path, opts(cfg.data.n_features))?;
        let mut test = xrisk_data::readers::svmlight::read_svmlight(
            &test_path,
            opts(cfg.data.n_features.or(Some(train.dim))),
        )?;
        if test.dim != train.dim {
            bail!(
                "train has {} features per row but test has {}",
                train.dim,
                test.dim
            );
        }
        crate::data::normalize_features(&cfg.data, &mut train, &mut test)?;
        let (train, test) = (group(train, "train")?, group(test, "test")?);
        let topk = cfg.loss.topk.unwrap_or(usize::MAX);
        let (mut relevant, mut others, mut ideal) = (Vec::new(), Vec::new(), Vec::new());
        for rows in &train.rows {
            let (rel, oth): (Vec<usize>, Vec<usize>) =
                rows.iter().partition(|&&r| train.data.labels[r] > 0.0);
            let labels: Vec<f32> = rows.iter().map(|&r| train.data.labels[r]).collect();
            ideal.push(ideal_dcg(&labels, topk));
            relevant.push(rel);
            others.push(oth);
        }
        let mut offsets = vec![0];
        for r in &relevant {
            offsets.push(offsets.last().copied().unwrap_or(0) + r.len());
        }
        let summary = format!(
            "{} training queries ({} with a relevant document), {} test queries, {} features",
            train.rows.len(),
            relevant.iter().filter(|r| !r.is_empty()).count(),
            test.rows.len(),
            train.data.dim
        );
        let hidden = cfg.model.dense_hidden();
        crate::data::check_dense_memory(cfg, "[model] hidden", train.data.dim, &hidden, 1)?;
        Ok(Letor {
            summary,
            per_batch: cfg.sampler.batch_size,
            num_pos: cfg.sampler.num_pos.unwrap_or(5),
            num_neg: cfg.sampler.num_neg.unwrap_or(20),
            rng: ChaCha8Rng::seed_from_u64(cfg.train.seed),
            train,
            test,
            relevant,
            others,
            offsets,
            ideal,
        })
    }

    fn trainable(&self) -> Vec<usize> {
        (0..self.relevant.len())
            .filter(|&q| !self.relevant[q].is_empty())
            .collect()
    }

    fn draw(rng: &mut ChaCha8Rng, from: &[usize], k: usize) -> Vec<usize> {
        if from.len() >= k {
            index::sample(rng, from.len(), k)
                .into_iter()
                .map(|i| from[i])
                .collect()
        } else {
            (0..k)
                .map(|_| from[rng.random_range(0..from.len())])
                .collect()
        }
    }

    fn rows_of(data: &Dataset, rows: &[usize]) -> Vec<f32> {
        let mut x = Vec::with_capacity(rows.len() * data.dim);
        for &r in rows {
            x.extend_from_slice(data.row(r));
        }
        x
    }
}

impl RankData for Letor {
    type Model = Mlp;

    fn init(&self, cfg: &Config, device: &Device) -> Mlp {
        Mlp::new(self.train.data.dim, &cfg.model.dense_hidden(), device)
    }

    fn reset(&self, _cfg: &Config, model: Mlp, device: &Device) -> Mlp {
        model.reset_last_layer(device)
    }

    fn n_pairs(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    fn n_queries(&self) -> usize {
        self.train.rows.len()
    }

    fn n_items(&self) -> usize {
        self.train.rows.iter().map(Vec::len).max().unwrap_or(1)
    }

    fn num_batches(&self) -> usize {
        self.trainable().len().div_ceil(self.per_batch.max(1))
    }

    fn next_epoch(&mut self) -> Result<Vec<RankBatch>> {
        let mut order = self.trainable();
        if order.is_empty() {
            bail!("no training query has a relevant document (label > 0)");
        }
        order.shuffle(&mut self.rng);
        let mut out = Vec::new();
        for chunk in order.chunks(self.per_batch.max(1)) {
            let mut b = RankBatch {
                queries: chunk.to_vec(),
                items: Vec::new(),
                pair_ids: Vec::new(),
                ratings: Vec::new(),
                num_pos_items: Vec::new(),
                ideal_dcg: Vec::new(),
                items_per_query: Some(Vec::new()),
            };
            for &q in chunk {
                let rel = &self.relevant[q];
                let picks = Self::draw(
                    &mut self.rng,
                    &(0..rel.len()).collect::<Vec<_>>(),
                    self.num_pos,
                );
                let pool = if self.others[q].is_empty() {
                    &self.train.rows[q]
                } else {
                    &self.others[q]
                };
                let negs = Self::draw(&mut self.rng, pool, self.num_neg);
                for &i in &picks {
                    b.items.push(rel[i]);
                    b.pair_ids.push(self.offsets[q] + i);
                    b.ratings.push(self.train.data.labels[rel[i]]);
                }
                b.items.extend(negs);
                b.num_pos_items.push(rel.len() as f32);
                b.ideal_dcg.push(self.ideal[q]);
                if let Some(v) = b.items_per_query.as_mut() {
                    v.push(self.train.rows[q].len() as f32);
                }
            }
            out.push(b);
        }
        Ok(out)
    }

    fn scores(&self, model: &Mlp, b: &RankBatch, device: &Device) -> Tensor<2> {
        let x = Self::rows_of(&self.train.data, &b.items);
        let n = b.items.len();
        let t = Tensor::<2>::from_data(TensorData::new(x, [n, self.train.data.dim]), device);
        model
            .score(t)
            .reshape([b.queries.len(), self.num_pos + self.num_neg])
    }

    fn evaluate(&self, model: &Mlp, device: &Device) -> Result<RankMetrics> {
        let d = &self.test.data;
        let scores = xrisk::train::predict(model, &d.features, d.dim, device);
        let labels: Vec<f64> = d.labels.iter().map(|&l| f64::from(l)).collect();
        let mut qid_of = vec![0u64; labels.len()];
        let mut lists = Vec::new();
        for (q, rows) in self.test.rows.iter().enumerate() {
            for &r in rows {
                qid_of[r] = self.test.qids[q];
            }
            let rel: Vec<bool> = rows.iter().map(|&r| labels[r] > 0.0).collect();
            if rel.iter().any(|&x| x) {
                lists.push((rows.iter().map(|&r| scores[r]).collect(), rel));
            }
        }
        let ndcg = xrisk_metrics::ndcg_by_query(&qid_of, &labels, &scores, &[5, 10, 20])?;
        let (map10, p10) = map_p_at_10(&lists)?;
        Ok(RankMetrics {
            ndcg5: ndcg[0],
            ndcg10: ndcg[1],
            ndcg20: ndcg[2],
            map10,
            p10,
        })
    }

    fn describe(&self) -> String {
        self.summary.clone()
    }

    fn kth_scores(&self, model: &Mlp, k: usize, device: &Device) -> Vec<f32> {
        let d = &self.train.data;
        let scores = xrisk::train::predict(model, &d.features, d.dim, device);
        self.train
            .rows
            .iter()
            .map(|rows| kth_largest(rows.iter().map(|&r| scores[r]).collect(), k))
            .collect()
    }
}
