//! The bookkeeping of two-stage training (`[pretrain]`), shared by the tasks that offer it
//! (binary, multi-label, MIL; ranking's ListwiseCE warm-up too): which stage runs, the
//! fine-tuning stage's method waiting for the switch, each stage's sampler (epochs are drawn,
//! and replayed on resume, from the sampler of their stage), and the seeded re-draw of the
//! output layer.

use crate::config::Config;
use xrisk_data::snapshot::Snapshot;

/// The two stages of a run: `M` is what trains (loss and optimizer), `S` the sampler.
pub struct Stages<M, S> {
    /// The fine-tuning stage's method while the first stage runs.
    fine: Option<M>,
    /// The first stage's sampler.
    pre_sampler: Option<S>,
    /// Epochs of the first stage (0: one stage).
    pre_epochs: usize,
    /// Whether the switch re-draws the output layer.
    reset_head: bool,
    epochs_drawn: usize,
}

impl<M, S> Stages<M, S> {
    /// One stage: the run as configured.
    pub fn single() -> Self {
        Stages {
            fine: None,
            pre_sampler: None,
            pre_epochs: 0,
            reset_head: false,
            epochs_drawn: 0,
        }
    }

    /// Two stages per `cfg.pretrain`: `fine` waits for the switch while the first stage runs
    /// with its own method and `pre_sampler`.
    pub fn two(cfg: &Config, fine: M, pre_sampler: S) -> Self {
        let p = cfg.pretrain.as_ref();
        let (epochs, reset_head) = p.map_or((0, false), |p| (p.epochs, p.reset_last_layer));
        Stages {
            pre_sampler: Some(pre_sampler),
            ..Stages::first_epochs(epochs, fine, reset_head)
        }
    }

    /// Two stages whose first runs `epochs` epochs from the caller's own sampler (ranking's
    /// ListwiseCE warm-up, `[train] warmup_epochs`): `fine` waits for the switch, which
    /// re-draws the output layer when `reset_head`.
    pub fn first_epochs(epochs: usize, fine: M, reset_head: bool) -> Self {
        Stages {
            fine: (epochs > 0).then_some(fine),
            pre_sampler: None,
            pre_epochs: epochs,
            reset_head,
            epochs_drawn: 0,
        }
    }

    /// Whether the first stage is running.
    pub fn pretraining(&self) -> bool {
        self.fine.is_some()
    }

    /// At the start of epoch `epoch`: when the first stage ends, swaps the fine-tuning method
    /// into `active` and says whether to re-draw the output layer.
    pub fn begin_epoch(&mut self, epoch: usize, active: &mut M) -> Option<bool> {
        if epoch == self.pre_epochs && self.fine.is_some() {
            self.switch(active);
            Some(self.reset_head)
        } else {
            None
        }
    }

    fn switch(&mut self, active: &mut M) {
        if let Some(f) = self.fine.take() {
            *active = f;
        }
    }

    /// The sampler of the next epoch to draw: the first stage's, then `main`.
    pub fn sampler<'a>(&'a mut self, main: &'a mut S) -> &'a mut S {
        let first = self.epochs_drawn < self.pre_epochs;
        self.epochs_drawn += 1;
        match (&mut self.pre_sampler, first) {
            (Some(s), true) => s,
            _ => main,
        }
    }

    /// Records the stage in a checkpoint (two-stage runs only).
    pub fn save(&self, s: &mut Snapshot) {
        if self.pre_epochs > 0 {
            s.put_scalar("pretrain.stage", if self.pretraining() { 1.0 } else { 2.0 });
        }
    }

    /// Switches to the checkpoint's stage before its state is restored into `active`.
    pub fn restore(&mut self, s: &Snapshot, active: &mut M) -> anyhow::Result<()> {
        if self.pre_epochs > 0 {
            self.restore_stage(s.count("pretrain.stage")? == 2, active);
        }
        Ok(())
    }

    /// Switches to the second stage when `second` (a checkpoint that records its stage
    /// otherwise).
    pub fn restore_stage(&mut self, second: bool, active: &mut M) {
        if second {
            self.switch(active);
        }
    }

    /// The stage's name for epoch lines (`None` for one-stage runs).
    pub fn name(&self) -> Option<&'static str> {
        (self.pre_epochs > 0).then(|| {
            if self.pretraining() {
                "pretrain"
            } else {
                "fine-tune"
            }
        })
    }
}

/// The seed of the output layer drawn again at the switch (`reset_last_layer`), so a run
/// resumed there draws what the uninterrupted run drew.
pub fn head_seed(seed: u64) -> u64 {
    seed ^ 0x6865_6164
}

/// The schedule of a two-stage run: the first stage's epochs, then `[train] epochs` with the
/// decays, warm-up and cosine of `base` counted from the start of fine-tuning.
pub fn schedule(cfg: &Config, base: crate::Schedule) -> crate::Schedule {
    base.after(cfg.pretrain.as_ref().map_or(0, |p| p.epochs))
}
