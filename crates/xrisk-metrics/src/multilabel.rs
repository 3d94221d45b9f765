//! Column-wise (multi-label / multi-task) AUROC and AP with LibAUC 2.0.1's reduction rules
//! (spec `libauc_spec.md` §5): a column whose AUROC is undefined (one class) is left out of
//! the mean; a column without positives has AP 0 (scikit-learn's convention) and *is*
//! averaged in. Columns are computed in parallel.

use crate::binary::SortedSplit;
use crate::error::{MetricError, Result};
use crate::pr::ap_of_sorted;
use rayon::prelude::*;

/// Per-task values and their LibAUC-style mean.
#[derive(Debug, Clone, PartialEq)]
pub struct PerTask {
    /// One entry per task (column); `None` where the metric is undefined.
    pub per_task: Vec<Option<f64>>,
    /// Mean over the defined entries; `None` if no task has a defined value
    /// (LibAUC's `reduction='mean'` returns `None` there too).
    pub mean: Option<f64>,
}

fn column(values: &[f64], n_tasks: usize, t: usize) -> Vec<f64> {
    values.iter().skip(t).step_by(n_tasks).copied().collect()
}

fn check_matrix(labels: &[f64], scores: &[f64], n_tasks: usize) -> Result<()> {
    if n_tasks == 0 {
        return Err(MetricError::InvalidArgument {
            name: "n_tasks",
            value: "0".into(),
            reason: "must be at least 1",
        });
    }
    if labels.len() != scores.len() {
        return Err(MetricError::LengthMismatch {
            what: "scores",
            got: scores.len(),
            expected: labels.len(),
        });
    }
    if !labels.len().is_multiple_of(n_tasks) {
        return Err(MetricError::LengthMismatch {
            what: "labels (row-major matrix)",
            got: labels.len(),
            expected: labels.len() / n_tasks * n_tasks,
        });
    }
    if labels.is_empty() {
        return Err(MetricError::Empty);
    }
    Ok(())
}

fn per_task(
    labels: &[f64],
    scores: &[f64],
    n_tasks: usize,
    f: impl Fn(&SortedSplit) -> Option<f64> + Sync,
) -> Result<PerTask> {
    check_matrix(labels, scores, n_tasks)?;
    let per_task = (0..n_tasks)
        .into_par_iter()
        .map(|t| {
            let split = SortedSplit::new(&column(labels, n_tasks, t), &column(scores, n_tasks, t))
                .map_err(|e| relocate(e, n_tasks, t))?;
            Ok(f(&split))
        })
        .collect::<Result<Vec<_>>>()?;
    let defined: Vec<f64> = per_task.iter().flatten().copied().collect();
    let mean = (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64);
    Ok(PerTask { per_task, mean })
}

/// Maps a position inside column `t` back to the flat row-major position.
fn relocate(e: MetricError, n_tasks: usize, t: usize) -> MetricError {
    match e {
        MetricError::NonFiniteScore { index, value } => MetricError::NonFiniteScore {
            index: index * n_tasks + t,
            value,
        },
        MetricError::InvalidLabel { index, value } => MetricError::InvalidLabel {
            index: index * n_tasks + t,
            value,
        },
        other => other,
    }
}

/// AUROC of each column of row-major `(n × n_tasks)` matrices; single-class columns are
/// `None` and left out of the mean (LibAUC `auc_roc_score(reduction='mean')`).
pub fn auroc_multilabel(labels: &[f64], scores: &[f64], n_tasks: usize) -> Result<PerTask> {
    per_task(labels, scores, n_tasks, |s| {
        (!s.pos.is_empty() && !s.neg.is_empty())
            .then(|| crate::binary::auc_of_sorted(&s.pos, &s.neg))
    })
}

/// Average precision of each column; a column without positives scores 0 and is averaged
/// in (LibAUC `auc_prc_score(reduction='mean')` on scikit-learn ≥ 1.x).
pub fn average_precision_multilabel(
    labels: &[f64],
    scores: &[f64],
    n_tasks: usize,
) -> Result<PerTask> {
    per_task(labels, scores, n_tasks, |s| {
        Some(ap_of_sorted(&s.pos, &s.neg))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_class_column_is_dropped_from_auroc_mean() {
        // 3 rows x 2 tasks; task 1 has only positives.
        let y = [1.0, 1.0, 0.0, 1.0, 1.0, 1.0];
        let s = [0.9, 0.1, 0.2, 0.5, 0.4, 0.3];
        let r = auroc_multilabel(&y, &s, 2).unwrap();
        assert_eq!(r.per_task[1], None);
        assert_eq!(r.mean, r.per_task[0]);
    }

    #[test]
    fn column_without_positives_counts_zero_in_ap_mean() {
        let y = [1.0, 0.0, 0.0, 0.0];
        let s = [0.9, 0.1, 0.2, 0.5];
        let r = average_precision_multilabel(&y, &s, 2).unwrap();
        assert_eq!(r.per_task, vec![Some(1.0), Some(0.0)]);
        assert_eq!(r.mean, Some(0.5));
    }

    #[test]
    fn errors_point_at_the_flat_position() {
        let y = [1.0, 0.0, 0.0, 3.0];
        let s = [0.9, 0.1, 0.2, 0.5];
        assert!(matches!(
            auroc_multilabel(&y, &s, 2),
            Err(MetricError::InvalidLabel { index: 3, .. })
        ));
        assert!(matches!(
            auroc_multilabel(&y[..3], &s[..3], 2),
            Err(MetricError::LengthMismatch { .. })
        ));
    }
}
