//! Validation of binary (labels, scores) input and the sorted positive/negative split that
//! every threshold metric (AUROC, AP, pAUC, curves) walks.
//!
//! Scores are mapped to order-preserving `u64` keys (so `-0.0` and `0.0` are one threshold,
//! as in NumPy) and the positive and negative keys are sorted separately, in parallel. A
//! merge walk over the two sorted lists then visits every distinct threshold once, from the
//! highest score down: O(n log n) for the sorts, O(n) for the walk.

use crate::error::{MetricError, Result};
use rayon::slice::ParallelSliceMut;

/// Below this many scores the sorts run on one thread (spawning costs more than it saves).
const PARALLEL_SORT_MIN: usize = 1 << 15;

/// Order-preserving map from a finite `f64` to `u64` (IEEE-754 total order, `-0.0 == 0.0`).
#[inline]
pub(crate) fn score_key(x: f64) -> u64 {
    let x = if x == 0.0 { 0.0 } else { x };
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Inverse of [`score_key`].
#[inline]
pub(crate) fn key_score(k: u64) -> f64 {
    if k >> 63 == 1 {
        f64::from_bits(k & !(1 << 63))
    } else {
        f64::from_bits(!k)
    }
}

/// Checks that `labels` and `scores` have the same, non-zero length, that every score is
/// finite and every label is 0 or 1.
pub(crate) fn check_binary(labels: &[f64], scores: &[f64]) -> Result<()> {
    if labels.len() != scores.len() {
        return Err(MetricError::LengthMismatch {
            what: "scores",
            got: scores.len(),
            expected: labels.len(),
        });
    }
    if labels.is_empty() {
        return Err(MetricError::Empty);
    }
    if let Some((index, &value)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(MetricError::NonFiniteScore { index, value });
    }
    if let Some((index, &value)) = labels
        .iter()
        .enumerate()
        .find(|(_, l)| **l != 0.0 && **l != 1.0)
    {
        return Err(MetricError::InvalidLabel { index, value });
    }
    Ok(())
}

fn sort_keys(keys: &mut [u64]) {
    if keys.len() >= PARALLEL_SORT_MIN {
        keys.par_sort_unstable();
    } else {
        keys.sort_unstable();
    }
}

/// Positive and negative score keys, each sorted ascending.
#[derive(Debug, Clone)]
pub(crate) struct SortedSplit {
    pub pos: Vec<u64>,
    pub neg: Vec<u64>,
}

impl SortedSplit {
    /// Validates the input and builds the split. Does not require both classes.
    pub fn new(labels: &[f64], scores: &[f64]) -> Result<Self> {
        check_binary(labels, scores)?;
        let n_pos = labels.iter().filter(|&&l| l == 1.0).count();
        let mut pos = Vec::with_capacity(n_pos);
        let mut neg = Vec::with_capacity(labels.len() - n_pos);
        for (&l, &s) in labels.iter().zip(scores) {
            if l == 1.0 {
                pos.push(score_key(s))
            } else {
                neg.push(score_key(s))
            }
        }
        rayon::join(|| sort_keys(&mut pos), || sort_keys(&mut neg));
        Ok(SortedSplit { pos, neg })
    }

    /// Errors unless both classes are present.
    pub fn require_both(&self, metric: &'static str) -> Result<()> {
        if self.pos.is_empty() || self.neg.is_empty() {
            return Err(MetricError::SingleClass {
                metric,
                positives: self.pos.len(),
                negatives: self.neg.len(),
            });
        }
        Ok(())
    }
}

/// Visits the distinct thresholds of two ascending key lists from the highest score down,
/// calling `f(key, positives_at_key, negatives_at_key)` once per threshold.
pub(crate) fn walk_thresholds(pos: &[u64], neg: &[u64], mut f: impl FnMut(u64, u64, u64)) {
    let (mut i, mut j) = (pos.len(), neg.len());
    while i > 0 || j > 0 {
        let t = match (i, j) {
            (0, _) => neg[j - 1],
            (_, 0) => pos[i - 1],
            _ => pos[i - 1].max(neg[j - 1]),
        };
        let (i0, j0) = (i, j);
        while i > 0 && pos[i - 1] == t {
            i -= 1;
        }
        while j > 0 && neg[j - 1] == t {
            j -= 1;
        }
        f(t, (i0 - i) as u64, (j0 - j) as u64);
    }
}

/// Exact area under the ROC curve of two ascending key lists (both non-empty):
/// `Σ_thresholds Δfp·(2·tp_before + Δtp) / (2·P·N)`, summed in integers, so a tie between a
/// positive and a negative counts ½ and the only rounding is the final division.
pub(crate) fn auc_of_sorted(pos: &[u64], neg: &[u64]) -> f64 {
    let mut tp: u128 = 0;
    let mut twice_area: u128 = 0;
    walk_thresholds(pos, neg, |_, dtp, dfp| {
        twice_area += dfp as u128 * (2 * tp + dtp as u128);
        tp += dtp as u128;
    });
    let denom = 2.0 * pos.len() as f64 * neg.len() as f64;
    twice_area as f64 / denom
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_preserve_order_and_merge_signed_zero() {
        let xs = [-1e300, -2.5, -1e-300, -0.0, 0.0, 1e-300, 3.0, 1e300];
        for w in xs.windows(2) {
            assert!(score_key(w[0]) <= score_key(w[1]), "{} vs {}", w[0], w[1]);
        }
        assert_eq!(score_key(-0.0), score_key(0.0));
        for &x in &xs {
            assert_eq!(key_score(score_key(x)), if x == 0.0 { 0.0 } else { x });
        }
    }

    #[test]
    fn walk_groups_ties_across_classes() {
        let pos = vec![score_key(0.5), score_key(0.5), score_key(0.9)];
        let neg = vec![score_key(0.1), score_key(0.5)];
        let mut seen = vec![];
        walk_thresholds(&pos, &neg, |k, p, n| seen.push((key_score(k), p, n)));
        assert_eq!(seen, vec![(0.9, 1, 0), (0.5, 2, 1), (0.1, 0, 1)]);
    }

    #[test]
    fn rejects_bad_input_with_position() {
        assert!(matches!(
            check_binary(&[0.0, 1.0], &[0.1, f64::NAN]),
            Err(MetricError::NonFiniteScore { index: 1, .. })
        ));
        assert!(matches!(
            check_binary(&[0.0, 2.0], &[0.1, 0.2]),
            Err(MetricError::InvalidLabel { index: 1, .. })
        ));
        assert!(matches!(
            check_binary(&[0.0], &[0.1, 0.2]),
            Err(MetricError::LengthMismatch { .. })
        ));
        assert!(matches!(check_binary(&[], &[]), Err(MetricError::Empty)));
    }
}
