//! The epoch loop every family shares: learning-rate decay at the schedule's epochs, the step
//! cap, the finiteness check, checkpoints after every epoch and every N steps, and exact
//! resume — the sampler replayed to the checkpoint's position (checked against the
//! fingerprint of the interrupted epoch's batches), the task's own state (model, optimizer,
//! loss tables, random streams) restored from the checkpoint.
//!
//! A family plugs in as a [`Task`]; progress leaves through an [`Observer`].

use crate::checkpoint::Persistence;
use crate::config::{LrSchedule, TrainConfig};
use crate::observer::{EpochRecord, Observer};
use anyhow::{Result, bail};
use std::time::Instant;
use xrisk::dist::Collective;
use xrisk_data::snapshot::Snapshot;

/// One family's training, as the [`Trainer`] drives it.
///
/// Contract for exact resume: everything that changes during training and is not a function
/// of the epoch's position (weights, optimizer buffers, loss state tables, the learning rate,
/// random streams drawn inside steps) is written by [`Task::save`] and read back by
/// [`Task::restore`]; the sampler is *not* saved — the trainer replays
/// [`Task::next_epoch`] for the finished epochs, so `next_epoch` must depend only on the
/// sampler's own seed and position (or the task opts out with [`Task::replays_sampler`]).
pub trait Task {
    /// One mini-batch, as [`Task::next_epoch`] draws it.
    type Batch;

    /// Batches per epoch, before `max_steps_per_epoch`.
    fn batches_per_epoch(&self) -> usize;

    /// Called at the start of every epoch (0-based), before the decay and the batches: the
    /// place for phase changes and per-epoch seeds.
    fn begin_epoch(&mut self, epoch: usize) -> Result<()> {
        let _ = epoch;
        Ok(())
    }

    /// Divides the learning rate by `factor` (and whatever else the method decays).
    fn decay(&mut self, factor: f64) -> Result<()>;

    /// Multiplies the learning rate by `ratio` and changes nothing else: one step of a cosine
    /// or warm-up schedule (the learning rates that [`Task::decay`] divides).
    fn scale_lr(&mut self, ratio: f64) -> Result<()>;

    /// The next epoch's batches; advances the sampler.
    fn next_epoch(&mut self) -> Result<Vec<Self::Batch>>;

    /// Whether a resume replays [`Task::next_epoch`] for the finished epochs (the default).
    /// A task whose batches come from a stream it checkpoints itself (one random stream for
    /// the batch order and the steps' augmentations) returns `false` and makes its first
    /// `next_epoch` after [`Task::restore`] draw the interrupted epoch's batches again.
    fn replays_sampler(&self) -> bool {
        true
    }

    /// The ids of a batch, for the fingerprint of an epoch.
    fn batch_ids(batch: &Self::Batch) -> Vec<usize>;

    /// One optimisation step; returns the loss value. With `dist` (the trainer's data-parallel
    /// group), this process computes its shard of the batch, the loss reads the gathered
    /// global batch, and the model's gradients are summed over the group (`xrisk::dist`).
    fn step(&mut self, batch: &Self::Batch, dist: Option<&mut dyn Collective>) -> Result<f64>;

    /// Evaluates the model after epoch `epoch` (counting from 1) whose mean training loss
    /// was `train_loss`: the epoch's `metrics.jsonl` line and its summary.
    fn evaluate(&mut self, epoch: usize, train_loss: f64) -> Result<(serde_json::Value, String)>;

    /// Metrics of the model on the run's validation rows (`[data] validation`; the keys of the
    /// epoch line's `test`), or `None` when the run has none.
    fn validate(&mut self) -> Result<Option<serde_json::Value>> {
        Ok(None)
    }

    /// Whether the epoch just evaluated may be kept by model selection (default: every epoch;
    /// two-stage runs select among their fine-tuning epochs).
    fn selectable(&self) -> bool {
        true
    }

    /// Stores the training state (see the trait's contract).
    fn save(&self, s: &mut Snapshot) -> Result<()>;

    /// Restores what [`Task::save`] stored.
    fn restore(&mut self, s: &Snapshot) -> Result<()>;
}

/// When the learning rate decays, and how long a run is.
///
/// The step schedule divides the learning rate by `decay_factor` at the start of every epoch
/// in `decay_epochs`. The cosine and warm-up schedules scale it every step: step `g` of the
/// `T` scheduled steps (counted from `start_epoch`) trains at `lr·m(g)` with
/// `m(g) = (g + 1)/W` during a warm-up of `W` steps, then `½(1 + cos(π·(g − W)/(T − W)))`
/// for [`LrSchedule::Cosine`] or 1. The trainer applies it as the ratio `m(g)/m(g − 1)`
/// ([`Task::scale_lr`]), so the learning rate lives in the task's optimizer and its
/// checkpoint alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Epochs to train.
    pub epochs: usize,
    /// Epochs (0-based) at whose start the learning rate is divided by `decay_factor`.
    pub decay_epochs: Vec<usize>,
    /// The divisor of every decay.
    pub decay_factor: f64,
    /// At most this many steps per epoch.
    pub max_steps_per_epoch: Option<usize>,
    /// The shape of the learning rate over the scheduled steps.
    pub lr_schedule: LrSchedule,
    /// Steps of linear warm-up at the start of the scheduled part.
    pub warmup_steps: usize,
    /// The first scheduled epoch: epochs before it (a two-stage run's first stage, ranking's
    /// ListwiseCE warm-up) train at their own optimizer's constant learning rate.
    pub start_epoch: usize,
}

impl Schedule {
    /// The schedule of `[train]`, the same for every family: `lr_schedule` (default `step`,
    /// decaying at `decay_epochs`, by default at 50 % and 75 % of the epochs) after
    /// `lr_warmup_steps` of warm-up.
    pub fn of(t: &TrainConfig) -> Self {
        Schedule {
            epochs: t.epochs,
            decay_epochs: t.decay_epochs(),
            decay_factor: t.decay_factor,
            max_steps_per_epoch: t.max_steps_per_epoch,
            lr_schedule: t.lr_schedule,
            warmup_steps: t.lr_warmup_steps,
            start_epoch: 0,
        }
    }

    /// This schedule after `first` epochs of a first stage: the run grows by them, and the
    /// decays, the warm-up and the cosine count from the end of that stage.
    pub fn after(mut self, first: usize) -> Self {
        self.epochs += first;
        self.decay_epochs.iter_mut().for_each(|e| *e += first);
        self.start_epoch += first;
        self
    }

    /// Steps per epoch of a task with `batches` batches per epoch.
    pub fn steps_per_epoch(&self, batches: usize) -> usize {
        self.max_steps_per_epoch.map_or(batches, |c| c.min(batches))
    }

    /// The multiplier `m(g)` of scheduled step `g` of `total` (see the type's docs); 1 for a
    /// step schedule without warm-up.
    pub fn multiplier(&self, g: usize, total: usize) -> f64 {
        let w = self.warmup_steps;
        if g < w {
            return (g + 1) as f64 / w as f64;
        }
        match self.lr_schedule {
            LrSchedule::Cosine => {
                let p = ((g - w) as f64 / total.saturating_sub(w).max(1) as f64).min(1.0);
                0.5 * (1.0 + (std::f64::consts::PI * p).cos())
            }
            LrSchedule::Step | LrSchedule::Constant => 1.0,
        }
    }

    /// The factor that takes the learning rate of scheduled step `g − 1` (the optimizer's own
    /// before step 0) to that of step `g`; `None` when it does not change.
    fn ratio(&self, g: usize, total: usize) -> Option<f64> {
        let now = self.multiplier(g, total);
        let before = if g == 0 {
            1.0
        } else {
            self.multiplier(g - 1, total)
        };
        (now != before && before > 0.0).then(|| now / before)
    }
}

/// Model selection: which validation metric picks the kept epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// A key of the validation metrics (`auprc`, `ndcg@10`, `top1`, `ce`, …).
    pub key: String,
    /// Whether smaller is better (losses and calibration errors).
    pub lower_is_better: bool,
}

impl Selection {
    /// The selection of `[train] select`, if any (`ce`, `nll`, `ece`, `bits_per_char` are
    /// minimised, every other metric maximised).
    pub fn of(t: &TrainConfig) -> Option<Self> {
        t.select.as_ref().map(|key| Selection {
            lower_is_better: matches!(key.as_str(), "ce" | "nll" | "ece" | "bits_per_char"),
            key: key.clone(),
        })
    }
}

/// The epoch that model selection kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Best {
    /// The epoch (counting from 1).
    pub epoch: usize,
    /// Its validation metric.
    pub value: f64,
    /// Its epoch line, evaluated again on the kept model (test and validation metrics).
    pub line: serde_json::Value,
}

/// The kept epoch while the run goes on: its number, validation value, training loss and
/// state.
struct Kept {
    epoch: usize,
    value: f64,
    loss: f64,
    state: Snapshot,
}

/// Drives a [`Task`] through its epochs.
///
/// The strategy: alone on the task's device (the default), or as one member of a
/// data-parallel group ([`Trainer::with_collective`]) — peers over the network
/// (`xrisk-dist`, one process each) or peers on several devices of one process
/// ([`crate::peers::on_devices`] with an in-process `xrisk::dist::LocalGroup`).
pub struct Trainer<'a> {
    /// The schedule.
    pub schedule: Schedule,
    /// Where checkpoints go and what the run resumes from; `None` trains without them.
    pub persist: Option<&'a Persistence>,
    /// Model selection on the validation rows; `None` keeps the last epoch.
    pub select: Option<Selection>,
    /// The data-parallel group this trainer's steps run in; `None` trains alone.
    collective: Option<&'a mut dyn Collective>,
}

impl<'a> Trainer<'a> {
    /// A trainer without checkpoints.
    pub fn new(schedule: Schedule) -> Self {
        Trainer {
            schedule,
            persist: None,
            select: None,
            collective: None,
        }
    }

    /// Trains as one member of the data-parallel group `collective` (when given): every
    /// member runs the same schedule on its shard of every batch ([`Task::step`]).
    pub fn with_collective<'c: 'a>(
        mut self,
        collective: Option<&'a mut (dyn Collective + 'c)>,
    ) -> Self {
        self.collective = collective.map(|c| {
            let c: &'a mut (dyn Collective + 'a) = c;
            c
        });
        self
    }

    /// Keeps the epoch with the best validation metric of `select` (when given): after the
    /// last epoch the task holds that epoch's state, and [`Trainer::fit`] returns it.
    pub fn with_selection(mut self, select: Option<Selection>) -> Self {
        self.select = select;
        self
    }

    /// Checkpoints into (and resumes from) `persist`.
    pub fn with_checkpoints(mut self, persist: Option<&'a Persistence>) -> Self {
        self.persist = persist;
        self
    }

    /// The group `collective` (a trainer's), borrowed for one step.
    fn member<'s>(
        collective: &'s mut Option<&'a mut dyn Collective>,
    ) -> Option<&'s mut dyn Collective> {
        match collective {
            Some(c) => {
                let c: &mut dyn Collective = &mut **c;
                Some(c)
            }
            None => None,
        }
    }

    /// Trains `task` for the schedule's epochs, reporting to `observer`. With a selection,
    /// returns the kept epoch (the task then holds its state); else `None`.
    pub fn fit<T: Task>(
        &mut self,
        task: &mut T,
        observer: &mut dyn Observer,
    ) -> Result<Option<Best>> {
        let result = self.run(task, observer);
        observer.end();
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn checkpoint<T: Task>(
        &self,
        task: &T,
        epoch: usize,
        step: usize,
        total: f64,
        fingerprint: &str,
        kept: Option<&Kept>,
    ) -> Result<()> {
        let Some(p) = self.persist.filter(|p| p.writes) else {
            return Ok(());
        };
        let mut s = Snapshot::new();
        task.save(&mut s)?;
        if let Some(k) = kept {
            s.put_scalar("select.epoch", k.epoch as f64);
            s.put_scalar("select.value", k.value);
            s.put_scalar("select.loss", k.loss);
            crate::checkpoint::nest(&mut s, "best/", &k.state);
        }
        s.put_scalar("run.epoch", epoch as f64);
        s.put_scalar("run.step", step as f64);
        s.put_scalar("run.epoch_loss_sum", total);
        s.put_text("run.batches", fingerprint);
        p.write(s)
    }

    fn run<T: Task>(&mut self, task: &mut T, observer: &mut dyn Observer) -> Result<Option<Best>> {
        let sched = &self.schedule;
        let mut kept: Option<Kept> = None;
        let per_epoch = sched.steps_per_epoch(task.batches_per_epoch());
        // Where to start: epoch, step within it, and the running loss sum of that epoch.
        let (mut first_epoch, mut first_step, mut resumed_total) = (0usize, 0usize, 0.0);
        let mut expected = None;
        if let Some(s) = self.persist.and_then(|p| p.resume.as_ref()) {
            task.restore(s)?;
            if let Ok(epoch) = s.count("select.epoch") {
                kept = Some(Kept {
                    epoch: epoch as usize,
                    value: s.scalar("select.value")?,
                    loss: s.scalar("select.loss")?,
                    state: crate::checkpoint::unnest(s, "best/"),
                });
            }
            first_epoch = s.count("run.epoch")? as usize;
            first_step = s.count("run.step").unwrap_or(0) as usize;
            resumed_total = s.scalar("run.epoch_loss_sum").unwrap_or(0.0);
            if first_step > 0 {
                expected = Some(s.text("run.batches")?.to_string());
            }
            // The sampler is a function of its seed and position: replay the finished epochs.
            if task.replays_sampler() {
                for _ in 0..first_epoch {
                    task.next_epoch()?;
                }
            }
        }
        observer.start(
            (per_epoch * sched.epochs) as u64,
            (first_epoch * per_epoch + first_step) as u64,
        );
        let every = self.persist.and_then(|p| p.every_steps).unwrap_or(0) as usize;
        let scheduled = per_epoch * sched.epochs.saturating_sub(sched.start_epoch);
        for epoch in first_epoch..sched.epochs {
            let resumed_mid_epoch = epoch == first_epoch && first_step > 0;
            task.begin_epoch(epoch)?;
            // A mid-epoch checkpoint already holds this epoch's decayed learning rate.
            if sched.decay_epochs.contains(&epoch) && !resumed_mid_epoch {
                task.decay(sched.decay_factor)?;
            }
            let start = Instant::now();
            let mut batches = task.next_epoch()?;
            if let Some(n) = sched.max_steps_per_epoch {
                batches.truncate(n);
            }
            let fingerprint = if every > 0 || resumed_mid_epoch {
                crate::checkpoint::batches_hash(
                    &batches.iter().map(T::batch_ids).collect::<Vec<_>>(),
                )
            } else {
                String::new()
            };
            let (skip, mut total) = if resumed_mid_epoch {
                if expected.as_deref() != Some(fingerprint.as_str()) {
                    bail!(
                        "the resumed run does not replay the interrupted epoch's batches (the data or the sampler changed since the checkpoint)"
                    );
                }
                (first_step, resumed_total)
            } else {
                (0, 0.0)
            };
            for (step, batch) in batches.iter().enumerate().skip(skip) {
                if epoch >= sched.start_epoch {
                    let g = (epoch - sched.start_epoch) * per_epoch + step;
                    if let Some(r) = sched.ratio(g, scheduled) {
                        task.scale_lr(r)?;
                    }
                }
                let value = task.step(batch, Self::member(&mut self.collective))?;
                if !value.is_finite() {
                    bail!(
                        "epoch {} step {}: the loss is {value}; training diverged — lower the learning rate",
                        epoch + 1,
                        step + 1
                    );
                }
                total += value;
                observer.step();
                if every > 0 && (step + 1) % every == 0 && step + 1 < batches.len() {
                    self.checkpoint(task, epoch, step + 1, total, &fingerprint, kept.as_ref())?;
                }
            }
            // Training time only: the evaluation below is reported, not timed.
            let seconds = start.elapsed().as_secs_f64();
            let train_loss = total / batches.len().max(1) as f64;
            let (mut line, mut summary) = task.evaluate(epoch + 1, train_loss)?;
            let validation = task.validate()?;
            if let (Some(sel), None) = (&self.select, &validation) {
                bail!(
                    "[train] select = \"{}\": this run has no validation rows ([data] validation)",
                    sel.key
                );
            }
            if let Some(v) = validation {
                if let Some(sel) = self.select.as_ref().filter(|_| task.selectable()) {
                    let value = v
                        .get(&sel.key)
                        .and_then(serde_json::Value::as_f64)
                        .ok_or_else(|| {
                            let keys: Vec<&str> = v
                                .as_object()
                                .map(|o| o.keys().map(String::as_str).collect())
                                .unwrap_or_default();
                            anyhow::anyhow!(
                                "[train] select = \"{}\": this run's validation metrics are {}",
                                sel.key,
                                keys.join(", ")
                            )
                        })?;
                    summary.push_str(&format!("  validation {} {value:.4}", sel.key));
                    let better = match &kept {
                        None => true,
                        Some(k) if sel.lower_is_better => value < k.value,
                        Some(k) => value > k.value,
                    };
                    if better {
                        let mut state = Snapshot::new();
                        task.save(&mut state)?;
                        kept = Some(Kept {
                            epoch: epoch + 1,
                            value,
                            loss: train_loss,
                            state,
                        });
                    }
                }
                line["validation"] = v;
            }
            observer.epoch(&EpochRecord {
                epoch: epoch + 1,
                train_loss,
                line,
                summary,
                seconds,
                steps: batches.len(),
            })?;
            self.checkpoint(task, epoch + 1, 0, 0.0, "", kept.as_ref())?;
        }
        let Some(k) = kept else { return Ok(None) };
        task.restore(&k.state)?;
        let (mut line, _) = task.evaluate(k.epoch, k.loss)?;
        if let Some(v) = task.validate()? {
            line["validation"] = v;
        }
        Ok(Some(Best {
            epoch: k.epoch,
            value: k.value,
            line,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observer::Records;

    /// A task whose "model" is a running sum of the batch ids it saw: any step run twice or
    /// skipped changes the final value.
    struct Counting {
        epoch_pos: usize,
        sum: f64,
        lr: f64,
        fail_at: Option<usize>,
        steps: usize,
        /// The learning rate of every step.
        lrs: Vec<f64>,
    }

    impl Task for Counting {
        type Batch = Vec<usize>;
        fn batches_per_epoch(&self) -> usize {
            4
        }
        fn decay(&mut self, factor: f64) -> Result<()> {
            self.lr /= factor;
            Ok(())
        }
        fn scale_lr(&mut self, ratio: f64) -> Result<()> {
            self.lr *= ratio;
            Ok(())
        }
        fn next_epoch(&mut self) -> Result<Vec<Vec<usize>>> {
            self.epoch_pos += 1;
            let e = self.epoch_pos;
            Ok((0..4).map(|b| vec![e * 10 + b]).collect())
        }
        fn batch_ids(batch: &Vec<usize>) -> Vec<usize> {
            batch.clone()
        }
        fn step(&mut self, batch: &Vec<usize>, _: Option<&mut dyn Collective>) -> Result<f64> {
            self.steps += 1;
            self.lrs.push(self.lr);
            if self.fail_at == Some(self.steps) {
                bail!("killed");
            }
            self.sum += self.lr * batch[0] as f64;
            Ok(batch[0] as f64)
        }
        fn evaluate(&mut self, epoch: usize, loss: f64) -> Result<(serde_json::Value, String)> {
            Ok((
                serde_json::json!({"epoch": epoch, "loss": loss, "sum": self.sum}),
                String::new(),
            ))
        }
        fn save(&self, s: &mut Snapshot) -> Result<()> {
            s.put_scalar("t.sum", self.sum);
            s.put_scalar("t.lr", self.lr);
            Ok(())
        }
        fn restore(&mut self, s: &Snapshot) -> Result<()> {
            self.sum = s.scalar("t.sum")?;
            self.lr = s.scalar("t.lr")?;
            Ok(())
        }
    }

    fn counting(fail_at: Option<usize>) -> Counting {
        Counting {
            epoch_pos: 0,
            sum: 0.0,
            lr: 1.0,
            fail_at,
            steps: 0,
            lrs: Vec::new(),
        }
    }

    fn schedule() -> Schedule {
        Schedule {
            epochs: 4,
            decay_epochs: vec![2],
            decay_factor: 10.0,
            max_steps_per_epoch: None,
            lr_schedule: LrSchedule::Step,
            warmup_steps: 0,
            start_epoch: 0,
        }
    }

    /// Cosine after 3 warm-up steps, from the end of a 1-epoch first stage.
    fn cosine() -> Schedule {
        Schedule {
            epochs: 3,
            decay_epochs: vec![],
            lr_schedule: LrSchedule::Cosine,
            warmup_steps: 3,
            ..schedule()
        }
        .after(1)
    }

    /// The learning rate of every step of a counting task under `schedule`.
    fn lrs(schedule: Schedule) -> Vec<f64> {
        let mut t = counting(None);
        Trainer::new(schedule)
            .fit(&mut t, &mut Records::default())
            .unwrap();
        t.lrs
    }

    #[test]
    fn warm_up_then_cosine_scales_the_learning_rate_of_every_step_after_the_first_stage() {
        let seen = lrs(cosine());
        let pi = std::f64::consts::PI;
        // 4 steps of the first stage at the optimizer's rate; 12 scheduled steps: 3 of
        // warm-up, then cosine over the other 9.
        let mut expected = vec![1.0; 4];
        expected.extend([1.0 / 3.0, 2.0 / 3.0, 1.0]);
        expected.extend((0..9).map(|k| 0.5 * (1.0 + (pi * k as f64 / 9.0).cos())));
        assert_eq!(seen.len(), expected.len());
        for (g, (a, b)) in seen.iter().zip(&expected).enumerate() {
            assert!((a - b).abs() < 1e-12, "step {g}: lr {a}, expected {b}");
        }
        // The step schedule without warm-up never touches the rate between its decays.
        let seen = lrs(schedule());
        assert_eq!(seen, [vec![1.0; 8], vec![0.1; 8]].concat());
        // Warm-up with the step schedule: the decay divides the warmed-up rate.
        let warm = Schedule {
            warmup_steps: 2,
            ..schedule()
        };
        let seen = lrs(warm);
        assert_eq!(seen[..3], [0.5, 1.0, 1.0]);
        assert!(seen[8..].iter().all(|&x| (x - 0.1).abs() < 1e-15));
    }

    #[test]
    fn a_run_stopped_mid_epoch_resumes_to_the_same_records() {
        for sched in [schedule(), cosine()] {
            resumes_to_the_same_records(sched);
        }
    }

    fn resumes_to_the_same_records(sched: Schedule) {
        let schedule = || sched.clone();
        let whole = {
            let mut r = Records::default();
            Trainer::new(schedule())
                .fit(&mut counting(None), &mut r)
                .unwrap();
            r.0
        };
        let dir = std::env::temp_dir().join(format!("xrisk-train-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut p = Persistence::new(dir.clone(), Some(1), Snapshot::new(), None);
        // Dies at the 11th step: epoch 3 (the decayed one; mid-cosine in the other), step 3.
        let mut first = Records::default();
        let died = Trainer::new(schedule())
            .with_checkpoints(Some(&p))
            .fit(&mut counting(Some(11)), &mut first);
        assert!(died.is_err());
        assert_eq!(first.0.len(), 2);
        let (s, _) = crate::checkpoint::load_checkpoint(&dir).unwrap();
        assert_eq!(
            (s.count("run.epoch").unwrap(), s.count("run.step").unwrap()),
            (2, 2)
        );
        p.resume = Some(s);
        let mut rest = Records::default();
        Trainer::new(schedule())
            .with_checkpoints(Some(&p))
            .fit(&mut counting(None), &mut rest)
            .unwrap();
        let lines = |r: &[EpochRecord]| r.iter().map(|e| e.line.clone()).collect::<Vec<_>>();
        let mut joined = lines(&first.0);
        joined.extend(lines(&rest.0));
        assert_eq!(joined, lines(&whole));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_non_finite_loss_stops_the_run_with_its_epoch_and_step() {
        struct Nan(Counting);
        impl Task for Nan {
            type Batch = Vec<usize>;
            fn batches_per_epoch(&self) -> usize {
                4
            }
            fn decay(&mut self, f: f64) -> Result<()> {
                self.0.decay(f)
            }
            fn scale_lr(&mut self, r: f64) -> Result<()> {
                self.0.scale_lr(r)
            }
            fn next_epoch(&mut self) -> Result<Vec<Vec<usize>>> {
                self.0.next_epoch()
            }
            fn batch_ids(b: &Vec<usize>) -> Vec<usize> {
                b.clone()
            }
            fn step(&mut self, b: &Vec<usize>, _: Option<&mut dyn Collective>) -> Result<f64> {
                Ok(if b[0] == 22 { f64::NAN } else { 1.0 })
            }
            fn evaluate(&mut self, e: usize, l: f64) -> Result<(serde_json::Value, String)> {
                self.0.evaluate(e, l)
            }
            fn save(&self, s: &mut Snapshot) -> Result<()> {
                self.0.save(s)
            }
            fn restore(&mut self, s: &Snapshot) -> Result<()> {
                self.0.restore(s)
            }
        }
        let e = Trainer::new(schedule())
            .fit(&mut Nan(counting(None)), &mut Records::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("epoch 2 step 3: the loss is NaN"), "{e}");
    }
}
