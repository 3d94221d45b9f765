//! The one random stream of a contrastive run (each epoch's batch order, then the steps'
//! augmentations), resumable mid-epoch: a checkpoint keeps its position at the start of the
//! current epoch and now; after a restore, the next epoch's batches are drawn from the first
//! and the steps continue from the second.

use anyhow::Result;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use xrisk_data::snapshot::Snapshot;

pub(crate) struct Stream {
    rng: ChaCha8Rng,
    epoch_start: u128,
    pending: Option<u128>,
    in_epoch: bool,
}

impl Stream {
    pub(crate) fn new(seed: u64) -> Self {
        Stream {
            rng: ChaCha8Rng::seed_from_u64(seed),
            epoch_start: 0,
            pending: None,
            in_epoch: false,
        }
    }

    /// The next epoch's batches: seeded shuffled batches of `b` ids from `0..n`.
    pub(crate) fn plan(&mut self, n: usize, b: usize) -> Vec<Vec<usize>> {
        self.epoch_start = self.rng.get_word_pos();
        let plan = super::batches(n, b, None, &mut self.rng);
        if let Some(pos) = self.pending.take() {
            self.rng.set_word_pos(pos);
        }
        self.in_epoch = true;
        plan
    }

    /// The epoch ended: a checkpoint now starts the next epoch from the current position.
    pub(crate) fn end_epoch(&mut self) {
        self.in_epoch = false;
    }

    pub(crate) fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    pub(crate) fn save(&self, prefix: &str, s: &mut Snapshot) {
        let now = self.rng.get_word_pos();
        let start = if self.in_epoch { self.epoch_start } else { now };
        s.put_text(format!("{prefix}.epoch_start"), start.to_string());
        s.put_text(format!("{prefix}.now"), now.to_string());
    }

    pub(crate) fn restore(&mut self, prefix: &str, s: &Snapshot) -> Result<()> {
        let read = |k: &str| -> Result<u128> {
            let key = format!("{prefix}.{k}");
            s.text(&key)?
                .parse()
                .map_err(|e| anyhow::anyhow!("checkpoint entry {key} is not a number: {e}"))
        };
        let (start, now) = (read("epoch_start")?, read("now")?);
        self.rng.set_word_pos(start);
        self.pending = (now != start).then_some(now);
        self.in_epoch = false;
        Ok(())
    }
}
