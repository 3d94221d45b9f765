//! Checkpoints of a run folder: atomic writes that keep the previous checkpoint, the read
//! that a resume starts from (falling back to an interrupted replacement), the run-level
//! entries every checkpoint carries, and the fingerprint of an epoch's batches that a
//! mid-epoch resume checks its replayed sampler against.
//!
//! A checkpoint is one [`Snapshot`]: `run.*` entries written by the [`crate::Trainer`]
//! (`run.epoch`, `run.step`, `run.epoch_loss_sum`, `run.batches`), `run.*`/`data.*` entries of
//! [`Persistence::meta`], and whatever the family's [`crate::Task::save`] stores.

use crate::config::Config;
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use xrisk_data::snapshot::Snapshot;

/// Where a run keeps its checkpoints and final model, and what it resumes from.
pub struct Persistence {
    /// The run's output folder (`checkpoint.bin`, `checkpoint.prev.bin`, `model.bpk`).
    pub dir: PathBuf,
    /// Also checkpoint every this many steps within an epoch.
    pub every_steps: Option<u64>,
    /// Run-level entries (`run.*`, `data.*`) copied into every checkpoint.
    pub meta: Snapshot,
    /// The checkpoint to continue from.
    pub resume: Option<Snapshot>,
    /// Whether this process writes the checkpoints (`false`: it only resumes, see
    /// [`Persistence::resume_only`]).
    pub writes: bool,
}

/// The checkpoint file of a run folder.
pub fn checkpoint_path(dir: &Path) -> PathBuf {
    dir.join("checkpoint.bin")
}

/// The previous checkpoint, kept when a new one is written.
pub fn previous_checkpoint_path(dir: &Path) -> PathBuf {
    dir.join("checkpoint.prev.bin")
}

/// Test hook of the reliability tests: with `XRISK_FAULT_FULL_DISK_AFTER=N` in the environment,
/// the checkpoint writes of this process after the first `N` fail as on a full disk — the bytes
/// go to `/dev/full`, which the kernel answers with "No space left on device" — through the same
/// atomic-write path (temporary file created, then removed), so a test fills the disk at a
/// chosen checkpoint instead of racing the run. Unset (or not a number), nothing changes.
fn disk_full_now() -> bool {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let after = std::env::var("XRISK_FAULT_FULL_DISK_AFTER")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok());
    let n = WRITES.fetch_add(1, Ordering::SeqCst);
    after.is_some_and(|a| n >= a)
}

impl Persistence {
    /// Checkpoints into `dir` (and resumes from `resume`, when given).
    pub fn new(
        dir: PathBuf,
        every_steps: Option<u64>,
        meta: Snapshot,
        resume: Option<Snapshot>,
    ) -> Self {
        Persistence {
            dir,
            every_steps,
            meta,
            resume,
            writes: true,
        }
    }

    /// Resumes from `resume` and writes nothing: a member of a data-parallel group other than
    /// rank 0 (peer 0 in one process). Rank 0's checkpoint holds every member's state — every
    /// member applies the same summed update to the same model and computes the loss, its
    /// state tables and the random streams on the same global batch — so every member resumes
    /// from it.
    pub fn resume_only(resume: Snapshot) -> Self {
        Persistence {
            resume: Some(resume),
            writes: false,
            ..Persistence::new(PathBuf::new(), None, Snapshot::new(), None)
        }
    }

    /// Writes a checkpoint atomically; the one it replaces becomes `checkpoint.prev.bin`.
    /// Nothing when this process does not write ([`Persistence::resume_only`]).
    pub fn write(&self, mut state: Snapshot) -> Result<()> {
        if !self.writes {
            return Ok(());
        }
        for name in self.meta.scalar_names() {
            state.put_scalar(name, self.meta.scalar(name)?);
        }
        for name in self.meta.text_names() {
            state.put_text(name, self.meta.text(name)?);
        }
        // The new checkpoint is complete on disk before the old one moves: a failure at any
        // point (full disk, kill -9) leaves checkpoint.bin or checkpoint.prev.bin whole.
        let path = checkpoint_path(&self.dir);
        let fresh = self.dir.join("checkpoint.new.bin");
        let written = if disk_full_now() {
            xrisk_data::snapshot::write_atomic(&fresh, |_| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")?
                    .write_all(&state.encode())
            })
        } else {
            state.write_atomic(&fresh)
        };
        written.with_context(|| {
            format!(
                "cannot write a checkpoint into {}; the last good one is kept",
                self.dir.display()
            )
        })?;
        if path.exists() {
            std::fs::rename(&path, previous_checkpoint_path(&self.dir)).with_context(|| {
                format!("cannot keep the previous checkpoint {}", path.display())
            })?;
        }
        std::fs::rename(&fresh, &path)
            .with_context(|| format!("cannot move the new checkpoint to {}", path.display()))?;
        Ok(())
    }
}

/// A fingerprint of an epoch's batches: a resumed run checks that its replayed sampler
/// reproduces the interrupted epoch.
pub fn batches_hash(batches: &[Vec<usize>]) -> String {
    use std::hash::{Hash, Hasher};
    // FNV-1a over the ids: stable across Rust versions, unlike DefaultHasher's keys.
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100000001b3);
            }
        }
    }
    let mut h = Fnv(0xcbf29ce484222325);
    for b in batches {
        b.len().hash(&mut h);
        for id in b {
            (*id as u64).hash(&mut h);
        }
    }
    format!("{:016x}", h.finish())
}

/// Reads the checkpoint of the run folder `dir`, explaining what to do when it is missing or
/// damaged. The second value is a notice for the user when the checkpoint came from an
/// interrupted replacement (`checkpoint.new.bin` or `checkpoint.prev.bin`).
pub fn load_checkpoint(dir: &Path) -> Result<(Snapshot, Option<String>)> {
    let path = checkpoint_path(dir);
    let prev = previous_checkpoint_path(dir);
    let describe = |s: &Snapshot| {
        format!(
            "epoch {} step {}",
            s.count("run.epoch").unwrap_or(0),
            s.count("run.step").unwrap_or(0)
        )
    };
    if !path.exists() {
        // Interrupted between the two renames of `Persistence::write`: the new checkpoint
        // is whole if it exists, else the previous one is.
        for other in [dir.join("checkpoint.new.bin"), prev.clone()] {
            if let Ok(s) = Snapshot::read(&other) {
                let notice = format!(
                    "{} is missing (interrupted while being replaced); resuming from {} ({})",
                    path.display(),
                    other.display(),
                    describe(&s)
                );
                return Ok((s, Some(notice)));
            }
        }
        bail!(
            "{} has no checkpoint.bin: it is not the --out folder of an `xrisk train` run, or the run stopped before its first checkpoint; start it again with --config",
            dir.display()
        );
    }
    let s = Snapshot::read(&path).map_err(|e| match Snapshot::read(&prev) {
        Ok(p) => anyhow::anyhow!(
            "cannot resume: {e}\nthe previous checkpoint {} ({}) is intact: move it to {} to resume from there",
            prev.display(),
            describe(&p),
            path.display()
        ),
        Err(_) => anyhow::anyhow!("cannot resume: {e}"),
    })?;
    Ok((s, None))
}

/// Run-level facts stored in every checkpoint: the config (text and origin, which a resume
/// parses again), the xrisk version and the epoch count.
pub fn run_meta(cfg: &Config, config_text: &str, config_path: &Path) -> Snapshot {
    let mut m = Snapshot::new();
    m.put_text("run.config", config_text);
    m.put_text("run.config_path", config_path.display().to_string());
    m.put_text("run.xrisk_version", env!("CARGO_PKG_VERSION"));
    m.put_scalar("run.epochs", cfg.train.epochs as f64);
    m
}

/// Copies every entry of `src` into `dst` under `prefix` (a snapshot inside a checkpoint).
pub fn nest(dst: &mut Snapshot, prefix: &str, src: &Snapshot) {
    for name in src.scalar_names() {
        if let Ok(v) = src.scalar(name) {
            dst.put_scalar(format!("{prefix}{name}"), v);
        }
    }
    for name in src.text_names() {
        if let Ok(v) = src.text(name) {
            dst.put_text(format!("{prefix}{name}"), v);
        }
    }
    for name in src.array_names("") {
        if let Ok(v) = src.array(name) {
            dst.put_array(format!("{prefix}{name}"), v.to_vec());
        }
    }
}

/// The entries of `src` under `prefix`, without it ([`nest`] undone).
pub fn unnest(src: &Snapshot, prefix: &str) -> Snapshot {
    let mut out = Snapshot::new();
    for name in src.scalar_names().filter(|n| n.starts_with(prefix)) {
        if let Ok(v) = src.scalar(name) {
            out.put_scalar(&name[prefix.len()..], v);
        }
    }
    for name in src.text_names().filter(|n| n.starts_with(prefix)) {
        if let Ok(v) = src.text(name) {
            out.put_text(&name[prefix.len()..], v);
        }
    }
    for name in src.array_names(prefix) {
        if let Ok(v) = src.array(name) {
            out.put_array(&name[prefix.len()..], v.to_vec());
        }
    }
    out
}
