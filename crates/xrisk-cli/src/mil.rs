//! `xrisk train` on multiple-instance data (`[data] format = "mil"`): the run of
//! [`xrisk_train::mil::MilTask`] with the command line's progress, logs, checkpoints and
//! report.

use crate::runlog::RunOutput;
use anyhow::Result;
use serde_json::json;
use xrisk_data::snapshot::Snapshot;
use xrisk_train::Config;
use xrisk_train::mil::{MilData, MilTask};

/// Runs a MIL config; with `o.dir`, writes config.toml, metrics.jsonl, timing.jsonl, the
/// checkpoints and report.html there, and continues from `o.resume` when given.
pub fn run(
    cfg: &Config,
    o: RunOutput,
    json_out: bool,
    dist: Option<&mut dyn xrisk::dist::Collective>,
) -> Result<()> {
    let data = MilData::load(cfg)?;
    let (dir, config_text, config_path) = (o.dir, o.config_text, o.config_path);
    let mut task = MilTask::from_data(cfg, data)?;
    let (train, test) = (task.train_labels().clone(), task.test_labels().clone());
    eprintln!(
        "data: {} training bags ({} positive), {} test bags ({} positive)",
        train.len(),
        train.positives(),
        test.len(),
        test.positives(),
    );
    let mut counts = Snapshot::new();
    counts.put_scalar("data.train_bags", train.len() as f64);
    counts.put_scalar("data.train_positives", train.positives() as f64);
    counts.put_scalar("data.test_bags", test.len() as f64);
    let (observer, best) = o.train(cfg, counts, MilTask::schedule(cfg), &mut task, dist)?;
    let max_fpr = cfg.train.max_fpr;
    let scores = task.test_scores();
    let m = xrisk_train::data::evaluate(&test, &scores, max_fpr)?;
    if let Some(d) = dir {
        let report = crate::report::write(&crate::report::RunReport {
            dir: d,
            config_text,
            config_path,
            train: &train,
            test: &test,
            scores: &scores,
            name: &task.method_name(),
            max_fpr,
            final_auroc: m.auroc,
            final_auprc: m.auprc,
            final_pauc: m.pauc,
        })?;
        eprintln!("report: {}", report.display());
    }
    let mut out = json!({"test": {"auroc": m.auroc, "auprc": m.auprc, "pauc": m.pauc, "pauc_max_fpr": max_fpr}});
    if let Some(b) = &best {
        crate::runlog::report_selection(cfg, b, observer.last_line(), &mut out);
    }
    if json_out {
        println!("{out}");
    } else {
        println!(
            "test: AUROC {:.4}  AUPRC {:.4}  pAUC(FPR≤{max_fpr}) {:.4}",
            m.auroc, m.auprc, m.pauc
        );
    }
    Ok(())
}
