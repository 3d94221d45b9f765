//! AUROC, one-way and two-way partial AUC, and the ROC curve (spec `libauc_spec.md` §5).

use crate::binary::{SortedSplit, auc_of_sorted, key_score, walk_thresholds};
use crate::error::{MetricError, Result};

/// Area under the ROC curve, as scikit-learn's `roc_auc_score` and LibAUC's `auc_roc_score`
/// (binary path): the probability that a random positive scores above a random negative,
/// ties counting ½,
///
/// `AUROC = (1/(P·N)) Σ_{i∈pos} Σ_{j∈neg} [s_i > s_j] + ½[s_i = s_j]`.
///
/// `labels` must be 0 or 1, `scores` finite; both classes must be present (a single class is
/// an error, where scikit-learn returns NaN with a warning).
///
/// ```
/// let auc = xrisk_metrics::auroc(&[1.0, 0.0, 1.0, 0.0], &[0.9, 0.8, 0.7, 0.1]).unwrap();
/// assert_eq!(auc, 0.75);
/// ```
pub fn auroc(labels: &[f64], scores: &[f64]) -> Result<f64> {
    let split = SortedSplit::new(labels, scores)?;
    split.require_both("AUROC")?;
    Ok(auc_of_sorted(&split.pos, &split.neg))
}

/// One-way partial AUC for FPR ∈ [0, β], McClish-standardised exactly as scikit-learn's
/// `roc_auc_score(max_fpr=β)` (and LibAUC's `pauc_roc_score(max_fpr=β, min_tpr=0)`):
///
/// `pAUC = ½·(1 + (A_β − β²/2) / (β − β²/2))`,
///
/// where `A_β` is the area under the ROC curve for FPR ≤ β, the curve linearly interpolated
/// at FPR = β. `β = 1` gives the plain AUROC. Requires `0 < β ≤ 1`.
pub fn pauc_one_way(labels: &[f64], scores: &[f64], max_fpr: f64) -> Result<f64> {
    if !(max_fpr > 0.0 && max_fpr <= 1.0) {
        return Err(MetricError::InvalidArgument {
            name: "max_fpr",
            value: max_fpr.to_string(),
            reason: "must be in (0, 1]",
        });
    }
    let split = SortedSplit::new(labels, scores)?;
    split.require_both("partial AUROC")?;
    if max_fpr == 1.0 {
        return Ok(auc_of_sorted(&split.pos, &split.neg));
    }
    let (p, n) = (split.pos.len() as f64, split.neg.len() as f64);
    let (mut fpr0, mut tpr0) = (0.0_f64, 0.0_f64);
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut area = 0.0;
    let mut done = false;
    walk_thresholds(&split.pos, &split.neg, |_, dtp, dfp| {
        if done {
            return;
        }
        tp += dtp;
        fp += dfp;
        let (fpr1, tpr1) = (fp as f64 / n, tp as f64 / p);
        if fpr1 <= max_fpr {
            area += (fpr1 - fpr0) * (tpr0 + tpr1) / 2.0;
            (fpr0, tpr0) = (fpr1, tpr1);
        } else {
            // The segment crosses FPR = β: interpolate as numpy.interp does.
            let tpr_at = tpr0 + (tpr1 - tpr0) * (max_fpr - fpr0) / (fpr1 - fpr0);
            area += (max_fpr - fpr0) * (tpr0 + tpr_at) / 2.0;
            done = true;
        }
    });
    let min_area = 0.5 * max_fpr * max_fpr;
    Ok(0.5 * (1.0 + (area - min_area) / (max_fpr - min_area)))
}

/// Two-way partial AUC with LibAUC's subset definition (`pauc_roc_score(max_fpr=α,
/// min_tpr=β)` with β > 0): keep the `round(P·(1−β))` lowest-scored positives and the
/// `round(N·α)` highest-scored negatives (Python's round-half-to-even; each count at least
/// 1 and at most the class size) and return the ordinary AUROC of that subset — not
/// normalised by the rectangle's area.
///
/// Fixes LibAUC 2.0.1's crash when a count equals the class size (spec §11 #20).
/// Requires `0 < α ≤ 1` and `0 < β < 1`; with `β = 0` use [`pauc_one_way`].
pub fn pauc_two_way(labels: &[f64], scores: &[f64], max_fpr: f64, min_tpr: f64) -> Result<f64> {
    if !(max_fpr > 0.0 && max_fpr <= 1.0) {
        return Err(MetricError::InvalidArgument {
            name: "max_fpr",
            value: max_fpr.to_string(),
            reason: "must be in (0, 1]",
        });
    }
    if !(min_tpr > 0.0 && min_tpr < 1.0) {
        return Err(MetricError::InvalidArgument {
            name: "min_tpr",
            value: min_tpr.to_string(),
            reason: "must be in (0, 1) for the two-way partial AUC",
        });
    }
    let split = SortedSplit::new(labels, scores)?;
    split.require_both("two-way partial AUROC")?;
    let count =
        |len: usize, frac: f64| ((len as f64 * frac).round_ties_even() as usize).clamp(1, len);
    let num_pos = count(split.pos.len(), 1.0 - min_tpr);
    let num_neg = count(split.neg.len(), max_fpr);
    let pos = &split.pos[..num_pos];
    let neg = &split.neg[split.neg.len() - num_neg..];
    Ok(auc_of_sorted(pos, neg))
}

/// One point of a ROC curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RocPoint {
    /// False-positive rate at this threshold.
    pub fpr: f64,
    /// True-positive rate at this threshold.
    pub tpr: f64,
    /// Scores ≥ threshold are called positive; `+∞` for the (0, 0) start point.
    pub threshold: f64,
}

/// The ROC curve at every distinct score (scikit-learn's `roc_curve(drop_intermediate=False)`),
/// starting at (0, 0) with threshold `+∞` and ending at (1, 1).
pub fn roc_curve(labels: &[f64], scores: &[f64]) -> Result<Vec<RocPoint>> {
    let split = SortedSplit::new(labels, scores)?;
    split.require_both("ROC curve")?;
    let (p, n) = (split.pos.len() as f64, split.neg.len() as f64);
    let mut out = vec![RocPoint {
        fpr: 0.0,
        tpr: 0.0,
        threshold: f64::INFINITY,
    }];
    let (mut tp, mut fp) = (0u64, 0u64);
    walk_thresholds(&split.pos, &split.neg, |k, dtp, dfp| {
        tp += dtp;
        fp += dfp;
        out.push(RocPoint {
            fpr: fp as f64 / n,
            tpr: tp as f64 / p,
            threshold: key_score(k),
        });
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Spec appendix A inputs.
    const S: [f64; 8] = [0.8, 0.3, 0.6, 0.4, 0.5, 0.2, 0.7, 0.35];
    const Y: [f64; 8] = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

    fn brute_auc(y: &[f64], s: &[f64]) -> f64 {
        let mut num = 0.0;
        let (mut p, mut n) = (0.0, 0.0);
        for i in 0..y.len() {
            if y[i] == 1.0 {
                p += 1.0;
            } else {
                n += 1.0;
            }
            for j in 0..y.len() {
                if y[i] == 1.0 && y[j] == 0.0 {
                    num += if s[i] > s[j] {
                        1.0
                    } else if s[i] == s[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        num / (p * n)
    }

    #[test]
    fn appendix_a_values() {
        assert!((auroc(&Y, &S).unwrap() - 0.6).abs() < 1e-12);
        assert!((pauc_one_way(&Y, &S, 0.3).unwrap() - 0.673203).abs() < 1e-6);
        assert!((pauc_two_way(&Y, &S, 0.4, 0.5).unwrap() - 0.25).abs() < 1e-12);
    }

    #[test]
    fn matches_pairwise_definition_with_ties() {
        let y = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0];
        let s = [0.5, 0.5, 0.2, 0.2, 0.9, -0.0, 0.0];
        assert!((auroc(&y, &s).unwrap() - brute_auc(&y, &s)).abs() < 1e-15);
    }

    #[test]
    fn one_way_at_full_range_is_auroc() {
        assert_eq!(pauc_one_way(&Y, &S, 1.0).unwrap(), auroc(&Y, &S).unwrap());
    }

    #[test]
    fn two_way_whole_class_selection_does_not_crash() {
        // min_tpr tiny and max_fpr = 1: every sample is kept, so it equals the AUROC.
        let v = pauc_two_way(&Y, &S, 1.0, 0.01).unwrap();
        assert!((v - auroc(&Y, &S).unwrap()).abs() < 1e-15);
    }

    #[test]
    fn single_class_and_bad_arguments_are_errors() {
        assert!(matches!(
            auroc(&[1.0, 1.0], &[0.1, 0.2]),
            Err(MetricError::SingleClass { .. })
        ));
        assert!(matches!(
            pauc_one_way(&Y, &S, 0.0),
            Err(MetricError::InvalidArgument { .. })
        ));
        assert!(matches!(
            pauc_two_way(&Y, &S, 0.3, 1.0),
            Err(MetricError::InvalidArgument { .. })
        ));
    }

    #[test]
    fn roc_curve_runs_from_origin_to_one() {
        let c = roc_curve(&Y, &S).unwrap();
        assert_eq!(c.first().map(|p| (p.fpr, p.tpr)), Some((0.0, 0.0)));
        assert_eq!(c.last().map(|p| (p.fpr, p.tpr)), Some((1.0, 1.0)));
        assert_eq!(c.len(), 9);
    }
}
