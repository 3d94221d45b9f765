//! Top-k metrics with LibAUC 2.0.1's matrix API (`libauc.metrics.metrics_k`, spec
//! `libauc_spec.md` §5): P@k / R@k, AP@k and MAP@k on lists of item ids, and NDCG@k on a
//! (users × candidates) score matrix whose first columns are the held-out positives.
//!
//! Ties in scores are broken by position (earlier column / row first); LibAUC leaves the
//! order of tied scores to NumPy's unstable argsort.

use crate::error::{MetricError, Result};
use rayon::prelude::*;

fn check_k(k: usize) -> Result<()> {
    if k == 0 {
        return Err(MetricError::InvalidArgument {
            name: "k",
            value: "0".into(),
            reason: "must be at least 1",
        });
    }
    Ok(())
}

fn check_scores(scores: &[f64]) -> Result<()> {
    match scores.iter().position(|s| !s.is_finite()) {
        Some(index) => Err(MetricError::NonFiniteScore {
            index,
            value: scores[index],
        }),
        None => Ok(()),
    }
}

/// Positions `0..scores.len()` sorted by descending score, ties by position.
fn descending_order(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

/// Precision and recall among the `k` highest scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrecisionRecallAtK {
    /// `TP@k / k` — the textbook precision at k.
    pub precision: f64,
    /// `TP@k / min(k, P)` — what LibAUC's `precision_at_k` returns (spec §11 #20); it
    /// reaches 1 whenever every slot that *could* hold a positive does.
    pub capped_precision: f64,
    /// `TP@k / P`.
    pub recall: f64,
}

/// P@k and R@k of one binary column (labels 0/1, positives = 1). No positive is an error
/// (LibAUC divides by zero).
pub fn precision_recall_at_k(
    labels: &[f64],
    scores: &[f64],
    k: usize,
) -> Result<PrecisionRecallAtK> {
    check_k(k)?;
    crate::binary::check_binary(labels, scores)?;
    let positives = labels.iter().filter(|&&l| l == 1.0).count();
    if positives == 0 {
        return Err(MetricError::NoRelevant {
            metric: "precision@k",
            unit: "column",
        });
    }
    let order = descending_order(scores);
    let hits = order.iter().take(k).filter(|&&i| labels[i] == 1.0).count() as f64;
    Ok(PrecisionRecallAtK {
        precision: hits / k as f64,
        capped_precision: hits / k.min(positives) as f64,
        recall: hits / positives as f64,
    })
}

/// [`precision_recall_at_k`] for every column of row-major `(n × n_cols)` matrices.
pub fn precision_recall_at_k_columns(
    labels: &[f64],
    scores: &[f64],
    n_cols: usize,
    k: usize,
) -> Result<Vec<PrecisionRecallAtK>> {
    if n_cols == 0 || labels.len() != scores.len() || !labels.len().is_multiple_of(n_cols) {
        return Err(MetricError::LengthMismatch {
            what: "scores",
            got: scores.len(),
            expected: labels.len(),
        });
    }
    (0..n_cols)
        .into_par_iter()
        .map(|c| {
            let col = |m: &[f64]| {
                m.iter()
                    .skip(c)
                    .step_by(n_cols)
                    .copied()
                    .collect::<Vec<_>>()
            };
            precision_recall_at_k(&col(labels), &col(scores), k)
        })
        .collect()
}

/// AP@k of one ranked list of item ids (ml_metrics / LibAUC `ap_at_k`): over the first `k`
/// predicted ids, each new hit at rank r adds `hits/r`; the sum is divided by
/// `min(|actual|, k)`. An empty `actual` is an error (LibAUC divides by zero).
pub fn ap_at_k<T: PartialEq>(actual: &[T], predicted: &[T], k: usize) -> Result<f64> {
    check_k(k)?;
    if actual.is_empty() {
        return Err(MetricError::NoRelevant {
            metric: "AP@k",
            unit: "list",
        });
    }
    let top = &predicted[..predicted.len().min(k)];
    let (mut hits, mut score) = (0.0, 0.0);
    for (i, p) in top.iter().enumerate() {
        if actual.contains(p) && !top[..i].contains(p) {
            hits += 1.0;
            score += hits / (i as f64 + 1.0);
        }
    }
    Ok(score / actual.len().min(k) as f64)
}

/// MAP@k: the mean of [`ap_at_k`] over paired rows.
pub fn map_at_k<T: PartialEq + Sync, A: AsRef<[T]> + Sync>(
    actual: &[A],
    predicted: &[A],
    k: usize,
) -> Result<f64> {
    if actual.len() != predicted.len() {
        return Err(MetricError::LengthMismatch {
            what: "predicted rows",
            got: predicted.len(),
            expected: actual.len(),
        });
    }
    if actual.is_empty() {
        return Err(MetricError::Empty);
    }
    let aps = actual
        .par_iter()
        .zip(predicted.par_iter())
        .map(|(a, p)| ap_at_k(a.as_ref(), p.as_ref(), k))
        .collect::<Result<Vec<f64>>>()?;
    Ok(aps.iter().sum::<f64>() / aps.len() as f64)
}

/// NDCG@k with LibAUC's matrix API (`ndcg_at_k`): `relevance` is row-major `(U × P)` — the
/// graded relevance of each user's `P` held-out positives — and `scores` is `(U × C)`, the
/// scores of `C ≥ P` candidates whose first `P` columns are those positives. With `rank_p`
/// the 1-based position of positive `p` in the row's descending order,
///
/// `DCG@k = Σ_{p: rank_p ≤ k} (2^{rel_p} − 1)/log2(rank_p + 1)`,
/// `IDCG@k = Σ_{r ≤ min(k, P)} (2^{rel_(r)} − 1)/log2(r + 1)` (relevance sorted descending),
///
/// and the result is the mean of `DCG/IDCG` over users. Users whose relevance is all zero
/// are left out of the mean (LibAUC returns NaN); if no user is left it is an error.
pub fn ndcg_at_k(
    relevance: &[f64],
    n_pos: usize,
    scores: &[f64],
    n_candidates: usize,
    k: usize,
) -> Result<f64> {
    check_k(k)?;
    if n_pos == 0 || n_candidates < n_pos {
        return Err(MetricError::InvalidArgument {
            name: "n_candidates",
            value: format!("{n_candidates} (n_pos = {n_pos})"),
            reason: "need 1 ≤ n_pos ≤ n_candidates",
        });
    }
    if !relevance.len().is_multiple_of(n_pos)
        || scores.len() != relevance.len() / n_pos * n_candidates
    {
        return Err(MetricError::LengthMismatch {
            what: "scores",
            got: scores.len(),
            expected: relevance.len() / n_pos * n_candidates,
        });
    }
    if let Some(index) = relevance.iter().position(|r| !r.is_finite() || *r < 0.0) {
        return Err(MetricError::InvalidLabel {
            index,
            value: relevance[index],
        });
    }
    check_scores(scores)?;
    let per_user: Vec<Option<f64>> = relevance
        .par_chunks(n_pos)
        .zip(scores.par_chunks(n_candidates))
        .map(|(rel, s)| {
            let mut sorted: Vec<f64> = rel.to_vec();
            sorted.sort_by(|a, b| b.total_cmp(a));
            let idcg: f64 = sorted
                .iter()
                .take(k)
                .enumerate()
                .map(|(r, &g)| gain(g) / discount(r))
                .sum();
            if idcg == 0.0 {
                return None;
            }
            let order = descending_order(s);
            let dcg: f64 = order
                .iter()
                .take(k)
                .enumerate()
                .filter(|&(_, &c)| c < n_pos)
                .map(|(r, &c)| gain(rel[c]) / discount(r))
                .sum();
            Some(dcg / idcg)
        })
        .collect();
    let used: Vec<f64> = per_user.into_iter().flatten().collect();
    if used.is_empty() {
        return Err(MetricError::NoRelevant {
            metric: "NDCG@k",
            unit: "user",
        });
    }
    Ok(used.iter().sum::<f64>() / used.len() as f64)
}

/// Gain of a graded relevance: `2^rel − 1`.
#[inline]
pub(crate) fn gain(rel: f64) -> f64 {
    rel.exp2() - 1.0
}

/// Discount of 0-based position `r`: `log2(r + 2)`.
#[inline]
pub(crate) fn discount(r: usize) -> f64 {
    (r as f64 + 2.0).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appendix_a_precision_recall_at_3() {
        let s = [0.8, 0.3, 0.6, 0.4, 0.5, 0.2, 0.7, 0.35];
        let y = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let r = precision_recall_at_k(&y, &s, 3).unwrap();
        assert!((r.capped_precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.precision - 2.0 / 3.0).abs() < 1e-12);
        // k larger than the number of positives: capped precision divides by P.
        let r = precision_recall_at_k(&y, &s, 5).unwrap();
        assert_eq!((r.precision, r.capped_precision), (2.0 / 5.0, 2.0 / 3.0));
    }

    #[test]
    fn appendix_a_ndcg() {
        let rel = [3.0, 1.0, 2.0, 0.0];
        let s = [0.2, 0.9, 0.5, 0.1, 0.8, 0.7, 0.9, 0.3];
        for (k, want) in [(1, 0.071429), (2, 0.380988), (3, 0.610318)] {
            let got = ndcg_at_k(&rel, 2, &s, 4, k).unwrap();
            assert!((got - want).abs() < 1e-6, "k={k}: {got}");
        }
    }

    #[test]
    fn ap_at_k_counts_first_hits_only() {
        assert_eq!(
            ap_at_k(&[1, 2, 3], &[1, 1, 2], 3).unwrap(),
            (1.0 + 2.0 / 3.0) / 3.0
        );
        assert!(ap_at_k::<i64>(&[], &[1], 3).is_err());
        let m = map_at_k(&[vec![1, 2], vec![3, 4]], &[vec![1, 9], vec![9, 9]], 2).unwrap();
        assert_eq!(m, 0.25);
    }

    #[test]
    fn all_zero_user_is_left_out() {
        let rel = [1.0, 0.0, 0.0, 0.0];
        let s = [0.9, 0.1, 0.5, 0.2, 0.1, 0.9];
        assert_eq!(ndcg_at_k(&rel, 2, &s, 3, 3).unwrap(), 1.0);
        assert!(ndcg_at_k(&[0.0, 0.0], 2, &[0.1, 0.2, 0.3], 3, 3).is_err());
    }
}
