//! The positive × negative batch shared by the pairwise losses (pAUC, tpAUC, pairwise AUC):
//! checks, the two classes' scores gathered into contiguous buffers, the positives' table ids,
//! and the scatter of row (positive) and column (negative) gradients back to batch positions.

use crate::check::{self, Split};
use crate::error::Result;

/// Buffers of one positive × negative batch, reused across calls.
#[derive(Debug, Clone, Default)]
pub(crate) struct PairBatch {
    pub split: Split,
    /// Scores of the positives, in batch order.
    pub hp: Vec<f32>,
    /// Scores of the negatives, in batch order.
    pub hn: Vec<f32>,
    /// Table ids of the positives (empty without ids).
    pub pos_ids: Vec<usize>,
    /// Column (negative) gradient sums.
    pub cols: Vec<f64>,
    /// Scratch of the parallel driver.
    pub par: Vec<f64>,
}

impl PairBatch {
    /// Checks a batch (lengths, gradient buffer, 0/1 labels with both classes, finite scores,
    /// ids within a table of `table_len`) and fills the buffers.
    pub fn prepare(
        &mut self,
        loss: &'static str,
        scores: &[f32],
        labels: &[f32],
        ids: Option<(&[usize], usize)>,
        grad: usize,
    ) -> Result<()> {
        check::lengths(scores.len(), labels.len(), ids.map(|(i, _)| i.len()))?;
        check::grad_len("grad", grad, scores.len())?;
        self.split.fill(loss, labels, true)?;
        check::finite(loss, scores)?;
        self.pos_ids.clear();
        if let Some((ids, len)) = ids {
            check::ids(ids, len)?;
            self.pos_ids.extend(self.split.pos.iter().map(|&i| ids[i]));
        }
        self.hp.clear();
        self.hp.extend(self.split.pos.iter().map(|&i| scores[i]));
        self.hn.clear();
        self.hn.extend(self.split.neg.iter().map(|&i| scores[i]));
        Ok(())
    }

    /// Writes `grad[pos_k] = row_grad(k)·norm` and `grad[neg_j] = −cols_j·norm`.
    pub fn scatter(&self, row_grad: impl Iterator<Item = f64>, norm: f64, grad: &mut [f32]) {
        for (&i, g) in self.split.pos.iter().zip(row_grad) {
            grad[i] = (g * norm) as f32;
        }
        for (&j, c) in self.split.neg.iter().zip(&self.cols) {
            grad[j] = (-c * norm) as f32;
        }
    }
}
