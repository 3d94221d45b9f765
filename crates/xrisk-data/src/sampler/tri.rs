//! `TriSampler` (spec `libauc_spec.md` §4.4): controlled sampling over tasks, then over
//! positives and negatives within each task.

use super::stream::Stream;
use super::{check_labels, positives_per_batch};
use crate::error::{DataError, Result};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Settings shared by both modes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TriSamplerConfig {
    /// Ids per task (classification) or items per query (ranking) in a batch.
    pub batch_size_per_task: usize,
    /// Tasks (queries) per batch; `None` = all tasks.
    pub num_sampled_tasks: Option<usize>,
    /// Share of positives per task, giving `num_pos = int(rate · batch_size_per_task)`.
    pub sampling_rate: Option<f64>,
    /// Positives per task, instead of `sampling_rate`.
    pub num_pos: Option<usize>,
    /// RNG seed (LibAUC default 2023).
    pub seed: u64,
}

impl Default for TriSamplerConfig {
    fn default() -> Self {
        TriSamplerConfig {
            batch_size_per_task: 32,
            num_sampled_tasks: None,
            sampling_rate: Some(0.5),
            num_pos: None,
            seed: 2023,
        }
    }
}

/// One query's items in a ranking batch: `num_pos` relevant items, then `num_neg` others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankingBatchRow {
    /// The query (user) id.
    pub query: usize,
    /// Item ids, positives first.
    pub items: Vec<usize>,
}

#[derive(Debug, Clone)]
enum Negatives {
    /// Classification: a persistent stream of negative sample ids per task.
    Streams(Vec<Stream>),
    /// Ranking: the sorted relevant items per query; negatives are drawn uniformly from the
    /// other items of the catalogue, without replacement within a row.
    Complement {
        n_items: usize,
        relevant: Vec<Vec<usize>>,
    },
}

/// Multi-label (`classification`) or learning-to-rank (`ranking`) controlled sampler.
///
/// *Tasks.* With `num_sampled_tasks < T`, each batch takes the next tasks from a persistent,
/// reshuffled-at-the-end task list; otherwise every batch uses all tasks in a fresh order.
/// *Per task.* The next `num_pos` positives from the task's persistent stream (reshuffled
/// and tiled as needed), then `num_neg = batch_size_per_task − num_pos` negatives.
///
/// Classification mode yields `(sample id, task id)` pairs grouped per task
/// (`[pos t1, neg t1, pos t2, neg t2, …]`), `⌊N / (batch_size_per_task · tasks per batch)⌋`
/// batches per epoch. Ranking mode yields one [`RankingBatchRow`] per query,
/// `⌊Q / queries per batch⌋` batches per epoch. In ranking mode the relevant items are
/// given per query (sparse) and negatives are drawn from the complement, so memory is
/// O(relevant pairs) — LibAUC instead walks a dense items × queries matrix (spec §4.4).
#[derive(Debug, Clone)]
pub struct TriSampler {
    batch_size_per_task: usize,
    num_pos: usize,
    num_sampled_tasks: usize,
    num_batches: usize,
    tasks: Stream,
    pos: Vec<Stream>,
    neg: Negatives,
    rng: ChaCha8Rng,
}

/// One batch of a [`TriSampler`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriBatch {
    /// `(sample id, task id)` pairs, grouped per task.
    Classification(Vec<(usize, usize)>),
    /// One row per sampled query.
    Ranking(Vec<RankingBatchRow>),
}

impl TriSampler {
    /// Multi-label classification over a row-major `(N × n_tasks)` label matrix
    /// (positive = label > 0, negative = label = 0, per task).
    pub fn classification(labels: &[f32], n_tasks: usize, cfg: TriSamplerConfig) -> Result<Self> {
        check_labels(labels)?;
        if n_tasks == 0 || !labels.len().is_multiple_of(n_tasks) {
            return Err(DataError::Invalid(format!(
                "{} labels do not form rows of {n_tasks} tasks",
                labels.len()
            )));
        }
        let n = labels.len() / n_tasks;
        let num_pos = positives_per_batch(cfg.batch_size_per_task, cfg.sampling_rate, cfg.num_pos)?;
        let sampled = Self::sampled_tasks(cfg, n_tasks)?;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut pos = Vec::with_capacity(n_tasks);
        let mut neg = Vec::with_capacity(n_tasks);
        for t in 0..n_tasks {
            let p: Vec<usize> = (0..n).filter(|&i| labels[i * n_tasks + t] > 0.0).collect();
            let q: Vec<usize> = (0..n).filter(|&i| labels[i * n_tasks + t] == 0.0).collect();
            if p.is_empty() || q.is_empty() {
                return Err(DataError::Invalid(format!(
                    "task {t} has {} positives and {} negatives; every task needs both",
                    p.len(),
                    q.len()
                )));
            }
            pos.push(Stream::new(p, &mut rng));
            neg.push(Stream::new(q, &mut rng));
        }
        let num_batches = n / (cfg.batch_size_per_task * sampled);
        Self::finish(
            cfg,
            num_pos,
            sampled,
            num_batches,
            n_tasks,
            pos,
            Negatives::Streams(neg),
            rng,
        )
    }

    /// Ranking: `relevant[q]` lists the relevant item ids of query `q` among `n_items`.
    pub fn ranking(
        n_items: usize,
        relevant: Vec<Vec<usize>>,
        cfg: TriSamplerConfig,
    ) -> Result<Self> {
        let num_pos = positives_per_batch(cfg.batch_size_per_task, cfg.sampling_rate, cfg.num_pos)?;
        let num_neg = cfg.batch_size_per_task - num_pos;
        let n_queries = relevant.len();
        let sampled = Self::sampled_tasks(cfg, n_queries)?;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut pos = Vec::with_capacity(n_queries);
        let mut sorted = Vec::with_capacity(n_queries);
        for (q, items) in relevant.into_iter().enumerate() {
            let mut s = items.clone();
            s.sort_unstable();
            s.dedup();
            if s.is_empty() {
                return Err(DataError::Invalid(format!(
                    "query {q} has no relevant item; drop it before sampling"
                )));
            }
            if let Some(&bad) = s.iter().find(|&&i| i >= n_items) {
                return Err(DataError::Invalid(format!(
                    "query {q}: item {bad} is outside the {n_items} items"
                )));
            }
            if n_items - s.len() < num_neg {
                return Err(DataError::Invalid(format!(
                    "query {q} has only {} non-relevant items but {num_neg} negatives are asked per row",
                    n_items - s.len()
                )));
            }
            pos.push(Stream::new(s.clone(), &mut rng));
            sorted.push(s);
        }
        let num_batches = n_queries / sampled;
        Self::finish(
            cfg,
            num_pos,
            sampled,
            num_batches,
            n_queries,
            pos,
            Negatives::Complement {
                n_items,
                relevant: sorted,
            },
            rng,
        )
    }

    fn sampled_tasks(cfg: TriSamplerConfig, n_tasks: usize) -> Result<usize> {
        if n_tasks == 0 {
            return Err(DataError::Invalid("no task (query) to sample".into()));
        }
        match cfg.num_sampled_tasks {
            Some(k) if k == 0 || k > n_tasks => Err(DataError::Invalid(format!(
                "num_sampled_tasks = {k} must be in 1..={n_tasks}"
            ))),
            Some(k) => Ok(k),
            None => Ok(n_tasks),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        cfg: TriSamplerConfig,
        num_pos: usize,
        sampled: usize,
        num_batches: usize,
        n_tasks: usize,
        pos: Vec<Stream>,
        neg: Negatives,
        mut rng: ChaCha8Rng,
    ) -> Result<Self> {
        if num_batches == 0 {
            return Err(DataError::Invalid(format!(
                "the data is smaller than one batch ({sampled} tasks × {} ids); lower batch_size_per_task or num_sampled_tasks",
                cfg.batch_size_per_task
            )));
        }
        let tasks = Stream::new((0..n_tasks).collect(), &mut rng);
        Ok(TriSampler {
            batch_size_per_task: cfg.batch_size_per_task,
            num_pos,
            num_sampled_tasks: sampled,
            num_batches,
            tasks,
            pos,
            neg,
            rng,
        })
    }

    /// Positives per task in a batch.
    pub fn num_pos(&self) -> usize {
        self.num_pos
    }

    /// Batches per epoch.
    pub fn num_batches(&self) -> usize {
        self.num_batches
    }

    fn next_tasks(&mut self) -> Vec<usize> {
        if self.num_sampled_tasks < self.tasks.ids.len() {
            let mut out = Vec::with_capacity(self.num_sampled_tasks);
            self.tasks
                .take(self.num_sampled_tasks, &mut self.rng, true, &mut out);
            out
        } else {
            self.tasks.ids.shuffle(&mut self.rng);
            self.tasks.ids.clone()
        }
    }

    /// The next batch.
    pub fn next_batch(&mut self) -> TriBatch {
        let tasks = self.next_tasks();
        let num_neg = self.batch_size_per_task - self.num_pos;
        let mut ids = Vec::with_capacity(self.batch_size_per_task);
        match &mut self.neg {
            Negatives::Streams(neg) => {
                let mut out = Vec::with_capacity(tasks.len() * self.batch_size_per_task);
                for t in tasks {
                    ids.clear();
                    self.pos[t].take(self.num_pos, &mut self.rng, true, &mut ids);
                    neg[t].take(num_neg, &mut self.rng, true, &mut ids);
                    out.extend(ids.iter().map(|&i| (i, t)));
                }
                TriBatch::Classification(out)
            }
            Negatives::Complement { n_items, relevant } => {
                let mut out = Vec::with_capacity(tasks.len());
                for q in tasks {
                    let mut items = Vec::with_capacity(self.batch_size_per_task);
                    self.pos[q].take(self.num_pos, &mut self.rng, true, &mut items);
                    draw_negatives(*n_items, &relevant[q], num_neg, &mut self.rng, &mut items);
                    out.push(RankingBatchRow { query: q, items });
                }
                TriBatch::Ranking(out)
            }
        }
    }

    /// The batches of the next epoch.
    pub fn next_epoch(&mut self) -> Vec<TriBatch> {
        (0..self.num_batches).map(|_| self.next_batch()).collect()
    }
}

/// Appends `count` distinct items drawn uniformly from `0..n_items` minus `relevant`
/// (sorted): rejection sampling when the complement is large, a partial shuffle otherwise.
fn draw_negatives(
    n_items: usize,
    relevant: &[usize],
    count: usize,
    rng: &mut ChaCha8Rng,
    out: &mut Vec<usize>,
) {
    let free = n_items - relevant.len();
    let start = out.len();
    if count * 4 <= free {
        while out.len() - start < count {
            let i = rng.random_range(0..n_items);
            if relevant.binary_search(&i).is_err() && !out[start..].contains(&i) {
                out.push(i);
            }
        }
    } else {
        let mut pool: Vec<usize> = (0..n_items)
            .filter(|i| relevant.binary_search(i).is_err())
            .collect();
        let (picked, _) = pool.partial_shuffle(rng, count);
        out.extend_from_slice(picked);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn classification_groups_per_task() {
        // 60 rows, 4 tasks; task t positive for rows with i % 4 == t.
        let labels: Vec<f32> = (0..60 * 4)
            .map(|k| if (k / 4) % 4 == k % 4 { 1.0 } else { 0.0 })
            .collect();
        let cfg = TriSamplerConfig {
            batch_size_per_task: 5,
            num_sampled_tasks: Some(2),
            sampling_rate: Some(0.4),
            ..Default::default()
        };
        let mut s = TriSampler::classification(&labels, 4, cfg).unwrap();
        assert_eq!((s.num_pos(), s.num_batches()), (2, 6));
        for b in s.next_epoch() {
            let TriBatch::Classification(pairs) = b else {
                panic!("classification mode")
            };
            assert_eq!(pairs.len(), 10);
            for chunk in pairs.chunks(5) {
                let t = chunk[0].1;
                assert!(chunk.iter().all(|&(_, tt)| tt == t));
                assert!(chunk[..2].iter().all(|&(i, _)| labels[i * 4 + t] > 0.0));
                assert!(chunk[2..].iter().all(|&(i, _)| labels[i * 4 + t] == 0.0));
            }
            let tasks: Vec<usize> = pairs.chunks(5).map(|c| c[0].1).collect();
            assert_ne!(tasks[0], tasks[1]);
        }
    }

    #[test]
    fn ranking_rows_have_positives_then_unseen_negatives() {
        let relevant = vec![vec![1, 3], vec![0], vec![5, 6, 7], vec![2, 9]];
        let cfg = TriSamplerConfig {
            batch_size_per_task: 6,
            num_sampled_tasks: Some(2),
            sampling_rate: None,
            num_pos: Some(2),
            seed: 5,
        };
        let mut s = TriSampler::ranking(10, relevant.clone(), cfg).unwrap();
        assert_eq!(s.num_batches(), 2);
        let mut queries = Vec::new();
        for b in s.next_epoch() {
            let TriBatch::Ranking(rows) = b else {
                panic!("ranking mode")
            };
            for r in rows {
                queries.push(r.query);
                assert!(r.items[..2].iter().all(|i| relevant[r.query].contains(i)));
                let neg = &r.items[2..];
                assert_eq!(neg.len(), 4);
                assert!(
                    neg.iter()
                        .all(|i| !relevant[r.query].contains(i) && *i < 10)
                );
                let mut d = neg.to_vec();
                d.sort();
                d.dedup();
                assert_eq!(d.len(), 4, "negatives are distinct within a row");
            }
        }
        queries.sort();
        assert_eq!(
            queries,
            vec![0, 1, 2, 3],
            "an epoch visits every query once"
        );
    }

    #[test]
    fn ranking_errors_are_clear() {
        let cfg = TriSamplerConfig {
            batch_size_per_task: 6,
            num_pos: Some(2),
            sampling_rate: None,
            ..Default::default()
        };
        assert!(
            TriSampler::ranking(10, vec![vec![], vec![1]], cfg)
                .unwrap_err()
                .to_string()
                .contains("query 0 has no relevant")
        );
        assert!(
            TriSampler::ranking(5, vec![vec![1, 2], vec![1]], cfg)
                .unwrap_err()
                .to_string()
                .contains("non-relevant")
        );
    }

    proptest! {
        #[test]
        fn same_seed_same_batches(seed in 0u64..500, per_task in 3usize..8) {
            let labels: Vec<f32> = (0..90 * 3).map(|k| if (k * 7 + seed as usize).is_multiple_of(5) { 1.0 } else { 0.0 }).collect();
            let cfg = TriSamplerConfig { batch_size_per_task: per_task, seed, ..Default::default() };
            let (Ok(mut a), Ok(mut b)) = (TriSampler::classification(&labels, 3, cfg), TriSampler::classification(&labels, 3, cfg)) else {
                return Ok(());
            };
            for _ in 0..2 {
                prop_assert_eq!(a.next_epoch(), b.next_epoch());
            }
        }
    }
}
