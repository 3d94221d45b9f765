//! The shape of a ranking batch: scores `[B, L]` row-major whose first `num_pos` columns are
//! the sampled relevant items of each row's query, with one relevant-pair id per positive
//! column (`B·num_pos` ids).

use crate::check;
use crate::error::{KernelError, Result};

/// Checks a ranking batch and returns `(B, L)`.
pub(crate) fn check_scores(
    loss: &'static str,
    scores: &[f32],
    width: usize,
    num_pos: usize,
    pair_ids: &[usize],
    grad: usize,
) -> Result<(usize, usize)> {
    if width == 0 || !scores.len().is_multiple_of(width) {
        return Err(KernelError::InvalidConfig {
            name: "scores",
            value: scores.len() as f64,
            reason: "a ranking batch is B rows of the same number of columns",
        });
    }
    let b = scores.len() / width;
    if num_pos == 0 || num_pos > width {
        return Err(KernelError::InvalidConfig {
            name: "num_pos",
            value: num_pos as f64,
            reason: "must be at least 1 and at most the number of score columns",
        });
    }
    if pair_ids.len() != b * num_pos {
        return Err(KernelError::LengthMismatch {
            scores: b * num_pos,
            labels: b * num_pos,
            ids: pair_ids.len(),
        });
    }
    check::grad_len("grad", grad, scores.len())?;
    check::finite(loss, scores)?;
    Ok((b, width))
}
