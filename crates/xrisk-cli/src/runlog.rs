//! What every run of `xrisk train` shows and writes: the run folder (`config.toml`,
//! `metrics.jsonl`, `timing.jsonl`, checkpoints), the step progress bar and the epoch lines —
//! the command line's [`Observer`] of `xrisk_train`'s [`xrisk_train::Trainer`].

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use xrisk_data::snapshot::Snapshot;
use xrisk_train::observer::{EpochRecord, Observer};
use xrisk_train::{Config, Persistence};

/// A progress bar over `len` units called `unit` (steps, epochs).
pub fn progress(len: usize, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:30}} {{pos}}/{{len}} {unit} {{elapsed}} {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Appends `line` to metrics.jsonl and the epoch's training seconds and step count to
/// timing.jsonl, when the run has a folder.
pub fn append_epoch(
    logs: &mut Option<(File, File)>,
    line: &Value,
    epoch: usize,
    seconds: f64,
    steps: usize,
) -> Result<()> {
    if let Some((metrics, timing)) = logs.as_mut() {
        writeln!(metrics, "{line}").context("cannot append to metrics.jsonl")?;
        writeln!(
            timing,
            "{}",
            json!({"epoch": epoch, "seconds": seconds, "steps": steps})
        )
        .context("cannot append to timing.jsonl")?;
    }
    Ok(())
}

/// Keeps the first `lines` lines of a per-epoch log (written again atomically), so that a
/// resumed run appends after the epochs its checkpoint holds.
fn truncate_log(path: &Path, lines: usize) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let kept: String = text.lines().take(lines).map(|l| format!("{l}\n")).collect();
    if kept != text {
        xrisk_data::snapshot::write_atomic(path, |f| f.write_all(kept.as_bytes()))?;
    }
    Ok(())
}

fn append(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Prepares the output folder of a new run (refusing one that holds a run already) or of a
/// resumed one; returns the metrics and timing logs, opened for appending.
pub fn open_run_folder(
    dir: &Path,
    config_text: &str,
    resume: Option<&Snapshot>,
) -> Result<(std::fs::File, std::fs::File)> {
    let metrics = dir.join("metrics.jsonl");
    let timing = dir.join("timing.jsonl");
    match resume {
        None => {
            if xrisk_train::checkpoint::checkpoint_path(dir).exists() || metrics.exists() {
                bail!(
                    "{} already holds a run (checkpoint.bin or metrics.jsonl); continue it with `xrisk train --resume {}` or choose another --out folder",
                    dir.display(),
                    dir.display()
                );
            }
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the output folder {}", dir.display()))?;
            xrisk_data::snapshot::write_atomic(&dir.join("config.toml"), |f| {
                f.write_all(config_text.as_bytes())
            })
            .with_context(|| format!("cannot write into the output folder {}", dir.display()))?;
            std::fs::File::create(&metrics)
                .with_context(|| format!("cannot write {}", metrics.display()))?;
            std::fs::File::create(&timing)
                .with_context(|| format!("cannot write {}", timing.display()))?;
        }
        Some(s) => {
            let done = s.count("run.epoch")? as usize;
            truncate_log(&metrics, done)?;
            truncate_log(&timing, done)?;
        }
    }
    Ok((append(&metrics)?, append(&timing)?))
}

/// Where a run writes and what it continues from, as `xrisk train`'s arguments give it.
pub struct RunOutput<'a> {
    /// The run folder (`--out`, or the `--resume` folder).
    pub dir: Option<&'a Path>,
    /// The config as written.
    pub config_text: &'a str,
    /// Where the config was read from.
    pub config_path: &'a Path,
    /// The checkpoint to continue from.
    pub resume: Option<Snapshot>,
    /// `--checkpoint-every N`.
    pub checkpoint_every: Option<u64>,
}

impl RunOutput<'_> {
    /// Opens the run folder ([`RunOutput::open`]) and trains `task` on the Trainer with
    /// `schedule`, its checkpoints and `[train] select`, data-parallel in the group `dist`
    /// when given; a failure names the checkpoint it keeps. Returns the observer (for the
    /// last epoch line) and the kept epoch.
    pub fn train<T: xrisk_train::Task>(
        self,
        cfg: &Config,
        data: Snapshot,
        schedule: xrisk_train::Schedule,
        task: &mut T,
        dist: Option<&mut dyn xrisk::dist::Collective>,
    ) -> Result<(CliObserver, Option<xrisk_train::Best>)> {
        let (mut observer, persist) = self.open(cfg, data)?;
        let best = xrisk_train::Trainer::new(schedule)
            .with_collective(dist)
            .with_checkpoints(persist.as_ref())
            .with_selection(xrisk_train::Selection::of(&cfg.train))
            .fit(task, &mut observer)
            .map_err(|e| observer.explain(e))?;
        Ok((observer, best))
    }

    /// Prepares the run folder and the checkpoints of a run of `cfg` whose checkpoints also
    /// carry `data` (`data.*` counts a resume checks). Returns the observer that draws the
    /// progress bar and writes the logs, and the checkpoint settings.
    pub fn open(self, cfg: &Config, data: Snapshot) -> Result<(CliObserver, Option<Persistence>)> {
        if self.checkpoint_every.is_some() && self.dir.is_none() {
            bail!("--checkpoint-every needs --out DIR (the folder that receives the checkpoints)");
        }
        if let Some(s) = &self.resume {
            for key in data.scalar_names() {
                let (then, now) = (s.scalar(key)?, data.scalar(key)?);
                if then != now {
                    bail!(
                        "cannot resume: {key} was {then} when the checkpoint was written and is {now} now; the data files changed"
                    );
                }
            }
        }
        let logs = match self.dir {
            Some(d) => Some(open_run_folder(d, self.config_text, self.resume.as_ref())?),
            None => None,
        };
        // A resumed run keeps checkpointing as often as the interrupted one did.
        let every_steps = self.checkpoint_every.or_else(|| {
            self.resume
                .as_ref()
                .and_then(|s| s.count("run.checkpoint_every").ok())
                .filter(|&n| n > 0)
        });
        let persist = match (self.dir, self.resume) {
            (Some(dir), resume) => {
                let mut meta =
                    xrisk_train::checkpoint::run_meta(cfg, self.config_text, self.config_path);
                for name in data.scalar_names() {
                    meta.put_scalar(name, data.scalar(name).unwrap_or(f64::NAN));
                }
                meta.put_scalar("run.checkpoint_every", every_steps.unwrap_or(0) as f64);
                Some(Persistence::new(
                    dir.to_path_buf(),
                    every_steps,
                    meta,
                    resume,
                ))
            }
            // A data-parallel rank other than 0: resumes from rank 0's checkpoint.
            (None, Some(resume)) => Some(Persistence::resume_only(resume)),
            (None, None) => None,
        };
        Ok((
            CliObserver {
                bar: progress(0, "steps"),
                logs,
                dir: self.dir.map(Path::to_path_buf),
                steps: 0,
                abort_at: abort_at_step(),
                last: None,
            },
            persist,
        ))
    }
}

/// The command line's [`Observer`]: a step progress bar, one line per epoch on standard
/// error, `metrics.jsonl` and `timing.jsonl` in the run folder.
pub struct CliObserver {
    bar: indicatif::ProgressBar,
    logs: Option<(File, File)>,
    dir: Option<PathBuf>,
    steps: u64,
    abort_at: Option<u64>,
    last: Option<Value>,
}

/// Test hook of the kill-and-resume tests: with `XRISK_FAULT_ABORT_AT_STEP=N` in the
/// environment, the process aborts (no unwinding, no clean-up — as under SIGKILL) right after
/// the N-th training step this process runs, at a position the test chooses instead of one a
/// timer races for. Unset (or not a number), nothing changes.
fn abort_at_step() -> Option<u64> {
    std::env::var("XRISK_FAULT_ABORT_AT_STEP")
        .ok()
        .and_then(|v| v.trim().parse().ok())
}

impl CliObserver {
    /// The last epoch line of this process (`None` before the first epoch).
    pub fn last_line(&self) -> Option<&Value> {
        self.last.as_ref()
    }

    /// Adds the checkpoint the run stopped at to the error of a failed run.
    pub fn explain(&self, e: anyhow::Error) -> anyhow::Error {
        let Some(dir) = &self.dir else { return e };
        let path = xrisk_train::checkpoint::checkpoint_path(dir);
        match Snapshot::read(&path) {
            Ok(s) => e.context(format!(
                "training stopped; the last good checkpoint (epochs done: {}, steps into the next: {}) is kept in {}",
                s.count("run.epoch").unwrap_or(0),
                s.count("run.step").unwrap_or(0),
                path.display()
            )),
            Err(_) => e,
        }
    }
}

impl Observer for CliObserver {
    fn start(&mut self, total: u64, done: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
    }

    fn step(&mut self) {
        self.bar.inc(1);
        self.steps += 1;
        if self.abort_at == Some(self.steps) {
            // Test hook (see `abort_at_step`): stop as a SIGKILL would, without unwinding.
            std::process::abort();
        }
    }

    fn epoch(&mut self, r: &EpochRecord) -> Result<()> {
        self.bar
            .suspend(|| eprintln!("epoch {:>3}  {}  {:.1}s", r.epoch, r.summary, r.seconds));
        self.last = Some(r.line.clone());
        append_epoch(&mut self.logs, &r.line, r.epoch, r.seconds, r.steps)
    }

    fn end(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Prints which epoch model selection kept, and adds it and the last epoch's test metrics to
/// the run's JSON (`out["test"]` already holds the kept model's).
pub fn report_selection(
    cfg: &Config,
    best: &xrisk_train::Best,
    last: Option<&Value>,
    out: &mut Value,
) {
    let key = cfg.train.select.as_deref().unwrap_or("");
    eprintln!(
        "kept epoch {} (best validation {key} {:.4}); the test metrics below are that model's",
        best.epoch, best.value
    );
    if let Some(t) = last.and_then(|l| l.get("test")) {
        eprintln!("last epoch's test metrics: {t}");
        out["last_epoch"] = json!({"epoch": last.and_then(|l| l.get("epoch")), "test": t});
    }
    out["selected"] = json!({"epoch": best.epoch, "metric": key, "validation": best.value});
}
