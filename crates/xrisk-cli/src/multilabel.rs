//! `xrisk train` on multi-label tables: the run of
//! [`xrisk_train::multilabel::MultiLabelTask`] with the command line's progress, logs and
//! checkpoints.

use crate::runlog::RunOutput;
use anyhow::Result;
use serde_json::json;
use xrisk_data::snapshot::Snapshot;
use xrisk_train::Config;
use xrisk_train::multilabel::{MultiLabelTask, TaskMetrics};

/// Runs a multi-label config; with `o.dir`, writes config.toml, metrics.jsonl, timing.jsonl
/// and the checkpoints there, and continues from `o.resume` when given. With `dist`, trains
/// data-parallel: this process computes its shard of every batch.
pub fn run(
    cfg: &Config,
    o: RunOutput,
    json_out: bool,
    dist: Option<&mut dyn xrisk::dist::Collective>,
) -> Result<()> {
    let mut task = MultiLabelTask::new(cfg)?;
    let (train, test) = (task.train_data(), task.test_data());
    let t = train.n_tasks;
    let positives: Vec<usize> = (0..t)
        .map(|k| {
            (0..train.len())
                .filter(|&i| train.labels[i * t + k] == 1.0)
                .count()
        })
        .collect();
    eprintln!(
        "data: train {} rows, test {} rows, {} features, {t} tasks (training positives per task: {positives:?})",
        train.len(),
        test.len(),
        train.dim
    );
    let mut counts = Snapshot::new();
    counts.put_scalar("data.train_len", train.len() as f64);
    counts.put_scalar("data.dim", train.dim as f64);
    counts.put_scalar("data.tasks", t as f64);
    counts.put_scalar("data.test_len", test.len() as f64);
    let (observer, best) = o.train(cfg, counts, MultiLabelTask::schedule(cfg), &mut task, dist)?;
    let m = task.test_metrics()?;
    let (ma, mp) = (TaskMetrics::mean(&m.auroc), TaskMetrics::mean(&m.ap));
    let mut out = json!({"test": {"mean_auroc": ma, "mean_ap": mp, "auroc": m.auroc, "ap": m.ap}});
    if let Some(b) = &best {
        crate::runlog::report_selection(cfg, b, observer.last_line(), &mut out);
    }
    if json_out {
        println!("{out}");
    } else {
        let per: Vec<String> = m
            .auroc
            .iter()
            .map(|v| v.map_or("-".into(), |v| format!("{v:.3}")))
            .collect();
        println!(
            "test: mean AUROC {ma:.4}  mean AP {mp:.4}  (AUROC per task: {})",
            per.join(" ")
        );
    }
    Ok(())
}
