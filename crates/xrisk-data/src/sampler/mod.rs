//! Samplers that decide which sample ids form each mini-batch (spec `libauc_spec.md` §4).
//!
//! * [`DualSampler`] — binary tasks: a fixed number of positives per batch.
//! * [`TriSampler`] — multi-label tasks (sample, task) and ranking (query, items).
//! * [`RandomSampler`] — plain shuffled batches.
//!
//! Every sampler owns a seeded ChaCha RNG; the same labels, settings and seed give the same
//! batches on every machine.

mod dual;
mod random;
mod stream;
mod tri;

pub use dual::DualSampler;
pub use random::RandomSampler;
pub use tri::{RankingBatchRow, TriBatch, TriSampler, TriSamplerConfig};

use crate::error::{DataError, Result};

/// Positives per batch from LibAUC's two ways of asking: `num_pos` directly, or
/// `int(sampling_rate · batch_size)` forced to at least 1.
pub(crate) fn positives_per_batch(
    batch_size: usize,
    sampling_rate: Option<f64>,
    num_pos: Option<usize>,
) -> Result<usize> {
    let num_pos = match (sampling_rate, num_pos) {
        (Some(_), Some(_)) => {
            return Err(DataError::Invalid(
                "give either sampling_rate or num_pos, not both".into(),
            ));
        }
        (Some(r), None) => {
            if !(r > 0.0 && r < 1.0) {
                return Err(DataError::Invalid(format!(
                    "sampling_rate = {r} must be in (0, 1)"
                )));
            }
            ((r * batch_size as f64) as usize).max(1)
        }
        (None, Some(p)) => p,
        (None, None) => return Err(DataError::Invalid("give sampling_rate or num_pos".into())),
    };
    if num_pos == 0 || num_pos >= batch_size {
        return Err(DataError::Invalid(format!(
            "{num_pos} positives per batch of {batch_size}: need at least one positive and one negative"
        )));
    }
    Ok(num_pos)
}

/// Checks labels the way LibAUC's `ControlledDataSampler` does: no NaN, no negative value.
pub(crate) fn check_labels(labels: &[f32]) -> Result<()> {
    if let Some(i) = labels.iter().position(|l| l.is_nan()) {
        return Err(DataError::Invalid(format!("label {i} is NaN")));
    }
    if let Some(i) = labels.iter().position(|&l| l < 0.0) {
        return Err(DataError::Invalid(format!(
            "label {i} is {}: samplers need labels ≥ 0 (map -1/+1 labels to 0/1 first)",
            labels[i]
        )));
    }
    Ok(())
}
