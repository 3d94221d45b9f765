//! Multi-label (multi-task) batches: scores `[B, T]` row-major, the tasks a batch trains (all,
//! or the distinct ids a `TriSampler` reports), and the column gather / scatter the per-task
//! kernels share.

use crate::check;
use crate::error::{KernelError, Result};

/// The distinct task ids of a batch (all tasks when `tasks` is empty), sorted, in `out`.
pub(crate) fn chosen(tasks: &[usize], n_tasks: usize, out: &mut Vec<usize>) -> Result<()> {
    if let Some(&bad) = tasks.iter().find(|&&k| k >= n_tasks) {
        return Err(KernelError::IdOutOfRange {
            index: 0,
            id: bad,
            len: n_tasks,
        });
    }
    out.clear();
    if tasks.is_empty() {
        out.extend(0..n_tasks);
    } else {
        out.extend_from_slice(tasks);
        out.sort_unstable();
        out.dedup();
    }
    Ok(())
}

/// Column buffers of one task, reused across tasks and calls.
#[derive(Debug, Clone, Default)]
pub(crate) struct Column {
    pub h: Vec<f32>,
    pub y: Vec<f32>,
    pub grad: Vec<f32>,
}

impl Column {
    /// Gathers column `k` of `[B, T]` scores and labels.
    pub fn gather(&mut self, h: &[f32], labels: &[f32], t: usize, k: usize) {
        self.h.clear();
        self.h.extend(h.iter().skip(k).step_by(t));
        self.y.clear();
        self.y.extend(labels.iter().skip(k).step_by(t));
        self.grad.clear();
        self.grad.resize(self.h.len(), 0.0);
    }

    /// Writes the column's gradient into column `k` of the `[B, T]` gradient.
    pub fn scatter(&self, grad: &mut [f32], t: usize, k: usize) {
        for (g, &c) in grad.iter_mut().skip(k).step_by(t).zip(&self.grad) {
            *g = c;
        }
    }
}

/// Checks a `[B, T]` batch: `scores` and `labels` of `B·T` entries, a gradient buffer of the
/// same size, `ids` (when given) of `B`. Returns `B`.
pub(crate) fn check_shape(
    scores: usize,
    labels: usize,
    t: usize,
    ids: Option<usize>,
    grad: usize,
) -> Result<usize> {
    let b = scores.checked_div(t).unwrap_or(0);
    if t == 0 || scores != b * t || labels != scores || ids.is_some_and(|n| n != b) {
        return Err(KernelError::LengthMismatch {
            scores,
            labels,
            ids: ids.unwrap_or(b),
        });
    }
    check::grad_len("grad", grad, scores)?;
    Ok(b)
}
