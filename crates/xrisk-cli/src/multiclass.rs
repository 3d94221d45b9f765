//! `xrisk train` on many-class data: the run of
//! [`xrisk_train::multiclass::ManyClassTask`] with the command line's progress, logs and
//! checkpoints.

use crate::runlog::RunOutput;
use anyhow::Result;
use serde_json::json;
use xrisk_data::snapshot::Snapshot;
use xrisk_train::multiclass::ManyClassTask;
use xrisk_train::{Config, Schedule};

/// Runs a many-class config; with `o.dir`, writes config.toml, metrics.jsonl, timing.jsonl
/// and the checkpoints there, and continues from `o.resume` when given. With `dist`, trains
/// data-parallel: this process computes its shard of every batch.
pub fn run(
    cfg: &Config,
    o: RunOutput,
    json_out: bool,
    dist: Option<&mut dyn xrisk::dist::Collective>,
) -> Result<()> {
    let mut task = ManyClassTask::new(cfg)?;
    let (train, test) = (task.train_data(), task.test_data());
    eprintln!(
        "data: train {} rows, test {} rows, {} features, {} classes",
        train.len(),
        test.len(),
        train.dim,
        task.n_classes()
    );
    let mut counts = Snapshot::new();
    counts.put_scalar("data.train_len", train.len() as f64);
    counts.put_scalar("data.dim", train.dim as f64);
    counts.put_scalar("data.classes", task.n_classes() as f64);
    counts.put_scalar("data.test_len", test.len() as f64);
    let (observer, best) = o.train(cfg, counts, Schedule::of(&cfg.train), &mut task, dist)?;
    let (t1, t5, ce) = task.test_metrics()?;
    let mut out = json!({"test": {"top1": t1, "top5": t5, "ce": ce}});
    if let Some(b) = &best {
        crate::runlog::report_selection(cfg, b, observer.last_line(), &mut out);
    }
    if json_out {
        println!("{out}");
    } else {
        println!("test: top-1 {t1:.4}  top-5 {t5:.4}  CE {ce:.4}");
    }
    Ok(())
}
