//! Per-query NDCG@k from flat (query, label, score) rows — the learning-to-rank form used by
//! `xrisk eval` and the LETOR data (spec `libauc_spec.md` §5, `bilevel_ndcg_spec.md` §3).
//!
//! Gain `2^rel − 1`, discount `log2(rank + 1)`, ties between scores averaged as in
//! scikit-learn's `ndcg_score(ignore_ties=False)` (a tied block shares the mean gain of its
//! members over the discounts of the positions it occupies), so the value does not depend on
//! row order. Queries without a relevant item are left out of the mean.

use crate::at_k::{discount, gain};
use crate::error::{MetricError, Result};
use rayon::prelude::*;

/// Mean NDCG@k over queries, one value per entry of `ks`.
///
/// `queries[i]`, `labels[i]` (graded relevance ≥ 0) and `scores[i]` describe row `i`; rows
/// of one query need not be contiguous. Queries are processed in parallel.
///
/// ```
/// // one query, the relevant item ranked second of two
/// let v = xrisk_metrics::ndcg_by_query(&[7, 7], &[0.0, 1.0], &[0.9, 0.1], &[1, 2]).unwrap();
/// assert_eq!(v[0], 0.0);
/// assert!((v[1] - 1.0 / 3f64.log2()).abs() < 1e-12);
/// ```
pub fn ndcg_by_query<Q: Ord + Sync>(
    queries: &[Q],
    labels: &[f64],
    scores: &[f64],
    ks: &[usize],
) -> Result<Vec<f64>> {
    if labels.len() != queries.len() {
        return Err(MetricError::LengthMismatch {
            what: "labels",
            got: labels.len(),
            expected: queries.len(),
        });
    }
    if scores.len() != queries.len() {
        return Err(MetricError::LengthMismatch {
            what: "scores",
            got: scores.len(),
            expected: queries.len(),
        });
    }
    if queries.is_empty() {
        return Err(MetricError::Empty);
    }
    if let Some(&k) = ks.iter().find(|&&k| k == 0) {
        return Err(MetricError::InvalidArgument {
            name: "k",
            value: k.to_string(),
            reason: "must be at least 1",
        });
    }
    if let Some(index) = labels.iter().position(|r| !r.is_finite() || *r < 0.0) {
        return Err(MetricError::InvalidLabel {
            index,
            value: labels[index],
        });
    }
    if let Some(index) = scores.iter().position(|s| !s.is_finite()) {
        return Err(MetricError::NonFiniteScore {
            index,
            value: scores[index],
        });
    }
    let mut order: Vec<usize> = (0..queries.len()).collect();
    order.par_sort_by(|&a, &b| queries[a].cmp(&queries[b]));
    let groups: Vec<&[usize]> = order.chunk_by(|&a, &b| queries[a] == queries[b]).collect();
    let per_query: Vec<Vec<f64>> = groups
        .par_iter()
        .filter_map(|rows| {
            let rel: Vec<f64> = rows.iter().map(|&i| labels[i]).collect();
            let s: Vec<f64> = rows.iter().map(|&i| scores[i]).collect();
            query_ndcg(&rel, &s, ks)
        })
        .collect();
    if per_query.is_empty() {
        return Err(MetricError::NoRelevant {
            metric: "NDCG@k",
            unit: "query",
        });
    }
    let n = per_query.len() as f64;
    Ok((0..ks.len())
        .map(|j| per_query.iter().map(|v| v[j]).sum::<f64>() / n)
        .collect())
}

/// NDCG@k of one query for every k, or `None` when no item is relevant.
fn query_ndcg(rel: &[f64], scores: &[f64], ks: &[usize]) -> Option<Vec<f64>> {
    let mut ideal: Vec<f64> = rel.iter().map(|&r| gain(r)).collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    if ideal.first().is_none_or(|&g| g <= 0.0) {
        return None;
    }
    let mut order: Vec<usize> = (0..rel.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    // Tied blocks: (start position, end position, mean gain).
    let blocks: Vec<(usize, usize, f64)> = {
        let mut out = Vec::new();
        let mut start = 0;
        for block in order.chunk_by(|&a, &b| scores[a] == scores[b]) {
            let mean = block.iter().map(|&i| gain(rel[i])).sum::<f64>() / block.len() as f64;
            out.push((start, start + block.len(), mean));
            start += block.len();
        }
        out
    };
    Some(
        ks.iter()
            .map(|&k| {
                let idcg: f64 = ideal
                    .iter()
                    .take(k)
                    .enumerate()
                    .map(|(r, g)| g / discount(r))
                    .sum();
                let dcg: f64 = blocks
                    .iter()
                    .take_while(|(start, _, _)| *start < k)
                    .map(|&(start, end, mean)| {
                        mean * (start..end.min(k)).map(|r| 1.0 / discount(r)).sum::<f64>()
                    })
                    .sum();
                dcg / idcg
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_the_mean_gain() {
        // Two tied items, relevances 1 and 0, k = 1: the tied block contributes ½·gain(1).
        let v = ndcg_by_query(&[0, 0], &[1.0, 0.0], &[0.5, 0.5], &[1]).unwrap();
        assert!((v[0] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn queries_without_relevant_items_are_left_out() {
        let q = [1, 1, 2, 2];
        let y = [2.0, 0.0, 0.0, 0.0];
        let s = [0.9, 0.1, 0.3, 0.4];
        assert_eq!(ndcg_by_query(&q, &y, &s, &[1, 2]).unwrap(), vec![1.0, 1.0]);
        assert!(matches!(
            ndcg_by_query(&[1], &[0.0], &[0.3], &[1]),
            Err(MetricError::NoRelevant { .. })
        ));
    }

    #[test]
    fn row_order_does_not_matter() {
        let q = [3, 1, 3, 1, 3];
        let y = [0.0, 1.0, 2.0, 0.0, 1.0];
        let s = [0.2, 0.4, 0.1, 0.9, 0.2];
        let a = ndcg_by_query(&q, &y, &s, &[1, 3, 10]).unwrap();
        let perm = [4, 2, 0, 3, 1];
        let pick = |v: &[f64]| perm.iter().map(|&i| v[i]).collect::<Vec<_>>();
        let qp: Vec<i32> = perm.iter().map(|&i| q[i]).collect();
        let b = ndcg_by_query(&qp, &pick(&y), &pick(&s), &[1, 3, 10]).unwrap();
        assert_eq!(a, b);
    }
}
