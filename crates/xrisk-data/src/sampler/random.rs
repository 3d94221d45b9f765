//! A plain shuffled sampler.

use crate::error::{DataError, Result};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Shuffles `0..n` every epoch (seeded) and cuts it into batches of `batch_size`; the last,
/// shorter batch is kept unless `drop_last`.
#[derive(Debug, Clone)]
pub struct RandomSampler {
    n: usize,
    batch_size: usize,
    drop_last: bool,
    rng: ChaCha8Rng,
}

impl RandomSampler {
    /// A sampler over `n` samples.
    pub fn new(n: usize, batch_size: usize, drop_last: bool, seed: u64) -> Result<Self> {
        if batch_size == 0 {
            return Err(DataError::Invalid("batch_size must be at least 1".into()));
        }
        if n == 0 || (drop_last && n < batch_size) {
            return Err(DataError::Invalid(format!(
                "{n} samples make no full batch of {batch_size}"
            )));
        }
        Ok(RandomSampler {
            n,
            batch_size,
            drop_last,
            rng: ChaCha8Rng::seed_from_u64(seed),
        })
    }

    /// Batches per epoch.
    pub fn num_batches(&self) -> usize {
        if self.drop_last {
            self.n / self.batch_size
        } else {
            self.n.div_ceil(self.batch_size)
        }
    }

    /// The batches of the next epoch.
    pub fn next_epoch(&mut self) -> Vec<Vec<usize>> {
        let mut ids: Vec<usize> = (0..self.n).collect();
        ids.shuffle(&mut self.rng);
        let mut out: Vec<Vec<usize>> = ids.chunks(self.batch_size).map(<[usize]>::to_vec).collect();
        if self.drop_last && out.last().is_some_and(|b| b.len() < self.batch_size) {
            out.pop();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_every_sample_once_per_epoch() {
        let mut s = RandomSampler::new(10, 3, false, 1).unwrap();
        let e = s.next_epoch();
        assert_eq!(e.len(), 4);
        let mut all = e.concat();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        let mut d = RandomSampler::new(10, 3, true, 1).unwrap();
        assert_eq!(d.next_epoch().len(), 3);
        assert_ne!(s.next_epoch(), e, "a new epoch reshuffles");
    }
}
