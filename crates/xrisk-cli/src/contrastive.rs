//! `xrisk train` for contrastive representation learning (`[loss] kind = "gcl" | "infonce"`):
//! the runs of [`xrisk_train::contrastive::UnimodalTask`] (images) and
//! [`xrisk_train::contrastive::BimodalTask`] (text pairs) with the command line's progress,
//! logs and checkpoints, then the final evaluation (linear probe or retrieval).

use crate::runlog::RunOutput;
use anyhow::Result;
use serde_json::{Value, json};
use xrisk_data::snapshot::Snapshot;
use xrisk_train::contrastive::{BimodalTask, UnimodalTask, is_bimodal};
use xrisk_train::{Config, Schedule, Task};

pub use xrisk_train::contrastive::is_contrastive;

/// Trains `task` on the Trainer with the command line's observer (data-parallel in `dist`).
fn fit<T: Task>(
    cfg: &Config,
    task: &mut T,
    o: RunOutput,
    dist: Option<&mut dyn xrisk::dist::Collective>,
) -> Result<()> {
    o.train(cfg, Snapshot::new(), Schedule::of(&cfg.train), task, dist)?;
    Ok(())
}

fn f(v: &Value, p: &str) -> f64 {
    v.pointer(p).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

/// Runs a contrastive config; with `o.dir`, writes config.toml, metrics.jsonl, timing.jsonl
/// and the checkpoints there, and continues from `o.resume` when given. With `dist`, trains
/// data-parallel: this process encodes its shard of every batch.
pub fn run(
    cfg: &Config,
    o: RunOutput,
    json_out: bool,
    dist: Option<&mut dyn xrisk::dist::Collective>,
) -> Result<()> {
    let result = if is_bimodal(cfg)? {
        let mut task = BimodalTask::new(cfg)?;
        eprintln!("data: {}", task.describe());
        fit(cfg, &mut task, o, dist)?;
        let r = task.final_evaluation()?;
        eprintln!(
            "retrieval on {} held-out pairs: subject→body R@1 {:.4} R@5 {:.4} R@10 {:.4}; body→subject R@1 {:.4} R@5 {:.4} R@10 {:.4}",
            r["pairs"],
            f(&r, "/subject_to_body/r1"),
            f(&r, "/subject_to_body/r5"),
            f(&r, "/subject_to_body/r10"),
            f(&r, "/body_to_subject/r1"),
            f(&r, "/body_to_subject/r5"),
            f(&r, "/body_to_subject/r10")
        );
        r
    } else {
        let mut task = UnimodalTask::new(cfg)?;
        eprintln!("data: {}", task.describe());
        fit(cfg, &mut task, o, dist)?;
        let r = task.final_evaluation()?;
        eprintln!(
            "linear evaluation: top-1 {:.4}, rare half {:.4}",
            f(&r, "/linear_top1"),
            f(&r, "/rare_top1")
        );
        if let Some(per) = r.get("tau_per_class") {
            eprintln!("mean learned τ per class: {per}");
        }
        r
    };
    if json_out {
        println!("{}", json!({ "test": result }));
    }
    Ok(())
}
