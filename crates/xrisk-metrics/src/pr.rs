//! Average precision (AUPRC) and the precision–recall curve (spec `libauc_spec.md` §5).

use crate::binary::{SortedSplit, key_score, walk_thresholds};
use crate::error::Result;

/// Average precision, as scikit-learn's `average_precision_score` and LibAUC's
/// `auc_prc_score` (binary path): the step-wise (not trapezoidal) area under the
/// precision–recall curve over the distinct score thresholds, tied scores forming one
/// threshold,
///
/// `AP = Σ_n (R_n − R_{n−1})·P_n`.
///
/// Both classes must be present (a set without positives is an error here; in the
/// column-wise [`crate::average_precision_multilabel`] such a column scores 0 as in
/// scikit-learn).
///
/// ```
/// // labels [1,0,1,0], scores [.5,.5,.5,.1]: one threshold holds 2 of 3 predictions right.
/// let ap = xrisk_metrics::average_precision(&[1.0, 0.0, 1.0, 0.0], &[0.5, 0.5, 0.5, 0.1]).unwrap();
/// assert!((ap - 2.0 / 3.0).abs() < 1e-12);
/// ```
pub fn average_precision(labels: &[f64], scores: &[f64]) -> Result<f64> {
    let split = SortedSplit::new(labels, scores)?;
    split.require_both("average precision")?;
    Ok(ap_of_sorted(&split.pos, &split.neg))
}

/// AP of two ascending key lists; 0 when there is no positive (scikit-learn's convention).
pub(crate) fn ap_of_sorted(pos: &[u64], neg: &[u64]) -> f64 {
    if pos.is_empty() {
        return 0.0;
    }
    let p = pos.len() as f64;
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut ap = 0.0;
    walk_thresholds(pos, neg, |_, dtp, dfp| {
        tp += dtp;
        fp += dfp;
        if dtp > 0 {
            ap += (dtp as f64 / p) * (tp as f64 / (tp + fp) as f64);
        }
    });
    ap
}

/// One point of a precision–recall curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrPoint {
    /// Recall at this threshold.
    pub recall: f64,
    /// Precision at this threshold.
    pub precision: f64,
    /// Scores ≥ threshold are called positive.
    pub threshold: f64,
}

/// The precision–recall curve at every distinct score, from the highest threshold
/// (lowest recall) to the lowest (recall 1).
pub fn precision_recall_curve(labels: &[f64], scores: &[f64]) -> Result<Vec<PrPoint>> {
    let split = SortedSplit::new(labels, scores)?;
    split.require_both("precision-recall curve")?;
    let p = split.pos.len() as f64;
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut out = Vec::new();
    walk_thresholds(&split.pos, &split.neg, |k, dtp, dfp| {
        tp += dtp;
        fp += dfp;
        out.push(PrPoint {
            recall: tp as f64 / p,
            precision: tp as f64 / (tp + fp) as f64,
            threshold: key_score(k),
        });
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appendix_a_value() {
        let s = [0.8, 0.3, 0.6, 0.4, 0.5, 0.2, 0.7, 0.35];
        let y = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        assert!((average_precision(&y, &s).unwrap() - 0.680556).abs() < 1e-6);
    }

    #[test]
    fn perfect_ranking_scores_one() {
        assert_eq!(
            average_precision(&[1.0, 1.0, 0.0], &[3.0, 2.0, 1.0]).unwrap(),
            1.0
        );
    }

    #[test]
    fn curve_ends_at_full_recall() {
        let c = precision_recall_curve(&[1.0, 0.0, 1.0, 0.0], &[0.9, 0.8, 0.7, 0.1]).unwrap();
        assert_eq!(c.last().map(|p| (p.recall, p.precision)), Some((1.0, 0.5)));
        assert_eq!(c[0].precision, 1.0);
    }
}
