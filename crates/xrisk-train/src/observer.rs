//! What a run tells the outside world while the [`crate::Trainer`] drives it: the step count
//! (for a progress bar), one record per epoch (for `metrics.jsonl`, `timing.jsonl`, an epoch
//! line on the terminal) and the end of the run. The `xrisk` command line implements
//! [`Observer`] with indicatif bars and JSONL files; a library user can implement it with
//! anything, or pass [`Silent`].

use anyhow::Result;
use serde_json::Value;

/// One finished epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// The epoch, counting from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub train_loss: f64,
    /// The epoch's line of `metrics.jsonl`, as the family writes it (epoch, loss, learning
    /// rate, test metrics — the keys differ between families).
    pub line: Value,
    /// The same facts for a person: the part of the epoch line after `epoch N`, e.g.
    /// `loss   0.12345  lr 1.00e-1  test AUROC 0.9012 …`.
    pub summary: String,
    /// Training seconds of the epoch (the evaluation excluded).
    pub seconds: f64,
    /// Steps run in the epoch (after `max_steps_per_epoch`).
    pub steps: usize,
}

/// Receives a run's progress. Every method has a default that does nothing.
pub trait Observer {
    /// The run starts: `total` steps in all, `done` of them already run (a resumed run).
    fn start(&mut self, total: u64, done: u64) {
        let _ = (total, done);
    }
    /// One optimisation step finished.
    fn step(&mut self) {}
    /// An epoch finished and was evaluated; an error stops the run (e.g. a log that cannot
    /// be written).
    fn epoch(&mut self, record: &EpochRecord) -> Result<()> {
        let _ = record;
        Ok(())
    }
    /// The run ended (normally or not).
    fn end(&mut self) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {}

/// An observer that keeps every epoch record (tests, notebooks).
#[derive(Debug, Default, Clone)]
pub struct Records(pub Vec<EpochRecord>);

impl Observer for Records {
    fn epoch(&mut self, record: &EpochRecord) -> Result<()> {
        self.0.push(record.clone());
        Ok(())
    }
}
