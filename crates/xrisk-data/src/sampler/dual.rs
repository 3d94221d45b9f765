//! `DualSampler` (spec `libauc_spec.md` §4.2).

use super::stream::Stream;
use super::{check_labels, positives_per_batch};
use crate::error::{DataError, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Binary controlled sampling: each batch holds `num_pos` positive ids (label > 0) followed
/// by `num_neg = batch_size − num_pos` negative ids (label = 0).
///
/// An epoch is `max(⌊n_pos/num_pos⌋, ⌊n_neg/num_neg⌋)` batches — usually one pass over the
/// negatives while the rare positives are over-sampled. Positive and negative streams keep
/// their pointers across epochs; at the end of a list it is reshuffled, and when
/// `num_pos > n_pos` whole reshuffled copies are tiled so every batch has exactly `num_pos`
/// positives (LibAUC 2.0's fix). Ids are dataset row indices.
///
/// ```
/// use xrisk_data::sampler::DualSampler;
/// let labels: Vec<f32> = (0..57).map(|i| if i < 7 { 1.0 } else { 0.0 }).collect();
/// let mut s = DualSampler::new(&labels, 10, 0.2, 2023).unwrap();
/// let epoch = s.next_epoch();
/// assert_eq!(epoch.len(), 6);
/// assert!(epoch.iter().all(|b| b[..2].iter().all(|&i| i < 7) && b[2..].iter().all(|&i| i >= 7)));
/// ```
#[derive(Debug, Clone)]
pub struct DualSampler {
    batch_size: usize,
    num_pos: usize,
    num_batches: usize,
    pos: Stream,
    neg: Stream,
    rng: ChaCha8Rng,
}

impl DualSampler {
    /// A sampler with `int(sampling_rate · batch_size)` positives per batch (at least 1).
    pub fn new(labels: &[f32], batch_size: usize, sampling_rate: f64, seed: u64) -> Result<Self> {
        Self::build(
            labels,
            batch_size,
            positives_per_batch(batch_size, Some(sampling_rate), None)?,
            seed,
        )
    }

    /// A sampler with exactly `num_pos` positives per batch.
    pub fn with_num_pos(
        labels: &[f32],
        batch_size: usize,
        num_pos: usize,
        seed: u64,
    ) -> Result<Self> {
        Self::build(
            labels,
            batch_size,
            positives_per_batch(batch_size, None, Some(num_pos))?,
            seed,
        )
    }

    fn build(labels: &[f32], batch_size: usize, num_pos: usize, seed: u64) -> Result<Self> {
        check_labels(labels)?;
        let pos: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] > 0.0).collect();
        let neg: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == 0.0).collect();
        if pos.is_empty() || neg.is_empty() {
            return Err(DataError::Invalid(format!(
                "DualSampler needs both classes; the labels have {} positives and {} negatives",
                pos.len(),
                neg.len()
            )));
        }
        let num_neg = batch_size - num_pos;
        let num_batches = (pos.len() / num_pos).max(neg.len() / num_neg);
        if num_batches == 0 {
            return Err(DataError::Invalid(format!(
                "batch of {batch_size} ({num_pos} positives, {num_neg} negatives) is larger than the data ({} positives, {} negatives); lower batch_size",
                pos.len(),
                neg.len()
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let pos = Stream::new(pos, &mut rng);
        let neg = Stream::new(neg, &mut rng);
        Ok(DualSampler {
            batch_size,
            num_pos,
            num_batches,
            pos,
            neg,
            rng,
        })
    }

    /// Positives per batch.
    pub fn num_pos(&self) -> usize {
        self.num_pos
    }

    /// Ids per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches per epoch.
    pub fn num_batches(&self) -> usize {
        self.num_batches
    }

    /// The next batch: `num_pos` positive ids, then the negative ids.
    pub fn next_batch(&mut self) -> Vec<usize> {
        let mut batch = Vec::with_capacity(self.batch_size);
        self.pos
            .take(self.num_pos, &mut self.rng, false, &mut batch);
        self.neg.take(
            self.batch_size - self.num_pos,
            &mut self.rng,
            false,
            &mut batch,
        );
        batch
    }

    /// The batches of the next epoch (the streams continue where the last epoch stopped).
    pub fn next_epoch(&mut self) -> Vec<Vec<usize>> {
        (0..self.num_batches).map(|_| self.next_batch()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn labels(n_pos: usize, n_neg: usize) -> Vec<f32> {
        (0..n_pos + n_neg)
            .map(|i| if i < n_pos { 1.0 } else { 0.0 })
            .collect()
    }

    #[test]
    fn spec_examples() {
        // 7 positives + 50 negatives, batch 10, rate 0.2 -> 2 + 8, 6 batches.
        let mut s = DualSampler::new(&labels(7, 50), 10, 0.2, 2023).unwrap();
        assert_eq!((s.num_pos(), s.num_batches()), (2, 6));
        assert_eq!(s.next_epoch().concat().len(), 60);
        // 2 positives + 100 negatives, batch 16, rate 0.5 -> 8 positives (tiled), 12 batches.
        let mut s = DualSampler::new(&labels(2, 100), 16, 0.5, 2023).unwrap();
        assert_eq!((s.num_pos(), s.num_batches()), (8, 12));
        for b in s.next_epoch() {
            assert_eq!(b.iter().filter(|&&i| i < 2).count(), 8);
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(DualSampler::new(&labels(0, 10), 4, 0.5, 0).is_err());
        assert!(
            DualSampler::new(&[1.0, -1.0, 0.0], 2, 0.5, 0)
                .unwrap_err()
                .to_string()
                .contains("-1/+1")
        );
        assert!(DualSampler::new(&[1.0, f32::NAN], 2, 0.5, 0).is_err());
        assert!(DualSampler::new(&labels(3, 3), 4, 1.0, 0).is_err());
        assert!(
            DualSampler::new(&labels(1, 2), 100, 0.5, 0)
                .unwrap_err()
                .to_string()
                .contains("lower batch_size")
        );
    }

    proptest! {
        #[test]
        fn batches_are_controlled_and_reproducible(
            n_pos in 1usize..40, n_neg in 1usize..200, batch in 2usize..32, rate in 0.05f64..0.95, seed in 0u64..1000
        ) {
            let y = labels(n_pos, n_neg);
            let Ok(mut a) = DualSampler::new(&y, batch, rate, seed) else { return Ok(()) };
            let mut b = DualSampler::new(&y, batch, rate, seed).unwrap();
            let num_pos = a.num_pos();
            let mut pos_stream = Vec::new();
            for _ in 0..3 {
                let ea = a.next_epoch();
                prop_assert_eq!(&ea, &b.next_epoch());
                for batch_ids in &ea {
                    prop_assert_eq!(batch_ids.len(), batch);
                    prop_assert!(batch_ids[..num_pos].iter().all(|&i| y[i] == 1.0));
                    prop_assert!(batch_ids[num_pos..].iter().all(|&i| y[i] == 0.0));
                    pos_stream.extend_from_slice(&batch_ids[..num_pos]);
                }
            }
            // Every aligned pass of n_pos positive draws visits every positive exactly once.
            for pass in pos_stream.chunks_exact(n_pos) {
                let mut p = pass.to_vec();
                p.sort();
                prop_assert_eq!(p, (0..n_pos).collect::<Vec<_>>());
            }
        }
    }
}
