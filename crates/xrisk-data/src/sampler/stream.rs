//! A persistent pointer into a shuffled id list — the mechanism behind LibAUC's samplers.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// A list of ids consumed from a pointer that persists across batches and epochs; when the
/// list runs out it is reshuffled and consumption continues from its start, with whole
/// copies tiled in between when one request is longer than the list. The ids handed out
/// are therefore a concatenation of full permutations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stream {
    pub ids: Vec<usize>,
    pub ptr: usize,
}

impl Stream {
    pub fn new(mut ids: Vec<usize>, rng: &mut ChaCha8Rng) -> Self {
        ids.shuffle(rng);
        Stream { ids, ptr: 0 }
    }

    /// Appends the next `count` ids to `out`. `wrap_at_end` reshuffles when the request
    /// reaches the end exactly (TriSampler's `>=`) rather than only when it passes it
    /// (DualSampler's `>`).
    pub fn take(
        &mut self,
        count: usize,
        rng: &mut ChaCha8Rng,
        wrap_at_end: bool,
        out: &mut Vec<usize>,
    ) {
        let n = self.ids.len();
        let end = self.ptr + count;
        if end < n || (end == n && !wrap_at_end) {
            out.extend_from_slice(&self.ids[self.ptr..end]);
            self.ptr = end;
            return;
        }
        out.extend_from_slice(&self.ids[self.ptr..]);
        let overflow = end - n;
        self.ids.shuffle(rng);
        for _ in 0..overflow / n {
            out.extend_from_slice(&self.ids);
        }
        self.ptr = overflow % n;
        out.extend_from_slice(&self.ids[..self.ptr]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn hands_out_concatenated_permutations_with_tiling() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut s = Stream::new((0..3).collect(), &mut rng);
        let mut out = Vec::new();
        for count in [2, 7, 1, 5, 3] {
            let before = out.len();
            s.take(count, &mut rng, false, &mut out);
            assert_eq!(out.len() - before, count);
        }
        assert_eq!(out.len(), 18);
        for block in out.chunks(3) {
            let mut b = block.to_vec();
            b.sort();
            assert_eq!(b, vec![0, 1, 2], "{out:?}");
        }
    }
}
