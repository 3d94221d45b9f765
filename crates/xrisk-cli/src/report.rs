//! The run report of `xrisk train --out DIR`: `report.html` beside its PNG curves and the
//! run's logs, so that the folder is self-contained. It shows the config, versions, a data
//! summary (counts, imbalance), learning curves per epoch (mean surrogate loss, the X-risk
//! objective estimated from the state tables, test metrics), ROC and precision–recall curves
//! and the final metrics. Curves are drawn from `metrics.jsonl`, so a resumed run's report
//! covers the epochs before the interruption too.

use crate::plot::{Series, lines_png, unit_square_png};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use xrisk_data::Dataset;

/// What the report needs from a finished run.
pub struct RunReport<'a> {
    /// The run folder (holds metrics.jsonl; receives the report).
    pub dir: &'a Path,
    /// The config as the user wrote it.
    pub config_text: &'a str,
    /// Where the config was read from.
    pub config_path: &'a Path,
    /// Training data (after binarization).
    pub train: &'a Dataset,
    /// Test data.
    pub test: &'a Dataset,
    /// Final test scores (logits).
    pub scores: &'a [f64],
    /// The loss's name (legend of the curves).
    pub name: &'a str,
    /// FPR bound of the partial AUC.
    pub max_fpr: f64,
    /// Final test AUROC.
    pub final_auroc: f64,
    /// Final test AUPRC.
    pub final_auprc: f64,
    /// Final test partial AUC.
    pub final_pauc: f64,
}

/// One line of metrics.jsonl, as far as the report uses it.
struct EpochLine {
    epoch: f64,
    train_loss: f64,
    objective: Option<(String, f64)>,
    auroc: f64,
    auprc: f64,
    pauc: f64,
}

/// The lines of a JSON-lines file (metrics.jsonl), each parsed; errors name the file and line.
pub(crate) fn read_jsonl(path: &Path) -> Result<Vec<serde_json::Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a JSON line", path.display(), i + 1))
        })
        .collect()
}

fn read_epochs(path: &Path) -> Result<Vec<EpochLine>> {
    let mut out = Vec::new();
    for (i, v) in read_jsonl(path)?.into_iter().enumerate() {
        let num = |p: &str| v.pointer(p).and_then(serde_json::Value::as_f64);
        let objective = match (
            v.pointer("/objective/name")
                .and_then(serde_json::Value::as_str),
            num("/objective/value"),
        ) {
            (Some(n), Some(x)) => Some((n.to_string(), x)),
            _ => None,
        };
        out.push(EpochLine {
            epoch: num("/epoch").unwrap_or((i + 1) as f64),
            train_loss: num("/train_loss").unwrap_or(f64::NAN),
            objective,
            auroc: num("/test/auroc").unwrap_or(f64::NAN),
            auprc: num("/test/auprc").unwrap_or(f64::NAN),
            pauc: num("/test/pauc").unwrap_or(f64::NAN),
        });
    }
    Ok(out)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The opening of a report page with its style, titled `title`.
fn html_head(title: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{padding:0 1em;text-align:right}}\
th:first-child,td:first-child{{text-align:left}}img{{max-width:100%}}pre{{background:#f4f4f4;padding:1em}}</style>\
</head><body>\n<h1>{t}</h1>\n",
        t = escape(title)
    )
}

/// The end of a report page: the config (with where it came from, if known), the versions,
/// a line about the folder's files; then writes `report.html` into `dir`.
fn finish_html(
    dir: &Path,
    mut h: String,
    config_path: Option<&Path>,
    config_text: &str,
    files: &str,
) -> Result<PathBuf> {
    h.push_str("<h2>Configuration</h2>\n");
    if let Some(p) = config_path {
        let _ = writeln!(h, "<p>{}</p>", escape(&p.display().to_string()));
    }
    let _ = write!(
        h,
        "<pre>{}</pre>\n<h2>Versions</h2>\n<p>xrisk {} (burn {}, flex CPU backend), {} {}</p>\n<p>Files: {}</p>\n</body></html>\n",
        escape(config_text),
        env!("CARGO_PKG_VERSION"),
        BURN_VERSION,
        std::env::consts::OS,
        std::env::consts::ARCH,
        escape(files)
    );
    let path = dir.join("report.html");
    std::fs::write(&path, h).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// `curve_train_loss.png`: the mean mini-batch loss per epoch.
fn train_loss_png(dir: &Path, name: &str, points: Vec<(f64, f64)>) -> Result<()> {
    lines_png(
        &dir.join("curve_train_loss.png"),
        "Mean mini-batch surrogate loss per epoch (not the objective)",
        "epoch",
        "loss",
        &[Series { name, points }],
    )
}

/// Draws the curves and writes `report.html`; returns its path.
pub fn write(r: &RunReport) -> Result<PathBuf> {
    let dir = r.dir;
    let epochs = read_epochs(&dir.join("metrics.jsonl"))?;
    let y: Vec<f64> = r.test.labels.iter().map(|&l| f64::from(l)).collect();
    let roc = xrisk_metrics::roc_curve(&y, r.scores)?;
    let pr = xrisk_metrics::precision_recall_curve(&y, r.scores)?;
    let title = format!("{} test rows", r.test.len());
    unit_square_png(
        &dir.join("roc.png"),
        &format!("ROC — {title}"),
        "false-positive rate",
        "true-positive rate",
        &[Series {
            name: r.name,
            points: roc.iter().map(|q| (q.fpr, q.tpr)).collect(),
        }],
        true,
    )?;
    unit_square_png(
        &dir.join("pr.png"),
        &format!("Precision–recall — {title}"),
        "recall",
        "precision",
        &[Series {
            name: r.name,
            points: pr.iter().map(|q| (q.recall, q.precision)).collect(),
        }],
        false,
    )?;
    let per_epoch = |f: fn(&EpochLine) -> f64| -> Vec<(f64, f64)> {
        epochs.iter().map(|e| (e.epoch, f(e))).collect()
    };
    train_loss_png(dir, r.name, per_epoch(|e| e.train_loss))?;
    let objective_name = epochs
        .iter()
        .find_map(|e| e.objective.as_ref().map(|o| o.0.clone()));
    if let Some(name) = &objective_name {
        lines_png(
            &dir.join("curve_objective.png"),
            "X-risk objective estimated from the state tables",
            "epoch",
            name,
            &[Series {
                name,
                points: per_epoch(|e| e.objective.as_ref().map_or(f64::NAN, |o| o.1)),
            }],
        )?;
    }
    let pauc_name = format!("pAUC (FPR ≤ {})", r.max_fpr);
    lines_png(
        &dir.join("curve_test.png"),
        "Test metrics per epoch",
        "epoch",
        "metric",
        &[
            Series {
                name: "AUROC",
                points: per_epoch(|e| e.auroc),
            },
            Series {
                name: "AUPRC",
                points: per_epoch(|e| e.auprc),
            },
            Series {
                name: &pauc_name,
                points: per_epoch(|e| e.pauc),
            },
        ],
    )?;

    let mut h = html_head(&format!("xrisk run — {}", r.name));
    let pct = |p: usize, n: usize| 100.0 * p as f64 / n.max(1) as f64;
    let _ = write!(
        h,
        "<h2>Final test metrics</h2>\n<table><tr><th>AUROC</th><th>AUPRC</th><th>pAUC (FPR ≤ {})</th></tr>\
<tr><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr></table>\n",
        r.max_fpr, r.final_auroc, r.final_auprc, r.final_pauc
    );
    let _ = write!(
        h,
        "<h2>Data</h2>\n<table><tr><th>part</th><th>rows</th><th>positives</th><th>positive share</th><th>features</th></tr>\
<tr><td>train</td><td>{}</td><td>{}</td><td>{:.2} %</td><td>{}</td></tr>\
<tr><td>test</td><td>{}</td><td>{}</td><td>{:.2} %</td><td>{}</td></tr></table>\n",
        r.train.len(),
        r.train.positives(),
        pct(r.train.positives(), r.train.len()),
        r.train.dim,
        r.test.len(),
        r.test.positives(),
        pct(r.test.positives(), r.test.len()),
        r.test.dim
    );
    h.push_str("<h2>Learning curves</h2>\n");
    h.push_str(
        "<p>The mini-batch loss of an X-risk loss is a gradient device, not the objective: it can \
be negative or flat while the model improves. The objective curve is estimated from the \
per-sample state tables (spec §1.1) where the loss keeps them.</p>\n",
    );
    h.push_str("<img src=\"curve_test.png\" alt=\"test metrics per epoch\">\n");
    if objective_name.is_some() {
        h.push_str("<img src=\"curve_objective.png\" alt=\"objective estimate per epoch\">\n");
    }
    h.push_str("<img src=\"curve_train_loss.png\" alt=\"training loss per epoch\">\n");
    h.push_str("<h2>ROC and precision–recall (final model, test set)</h2>\n");
    h.push_str("<img src=\"roc.png\" alt=\"ROC curve\"> <img src=\"pr.png\" alt=\"PR curve\">\n");
    h.push_str(
        "<h2>Per epoch</h2>\n<table><tr><th>epoch</th><th>loss</th><th>objective estimate</th>\
<th>AUROC</th><th>AUPRC</th><th>pAUC</th></tr>\n",
    );
    for e in &epochs {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{:.5}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr>",
            e.epoch,
            e.train_loss,
            e.objective
                .as_ref()
                .map_or("—".to_string(), |o| format!("{:.5}", o.1)),
            e.auroc,
            e.auprc,
            e.pauc
        );
    }
    h.push_str("</table>\n");
    finish_html(
        dir,
        h,
        Some(r.config_path),
        r.config_text,
        "metrics.jsonl (per epoch), timing.jsonl (training seconds per epoch), model.bpk, checkpoint.bin, config.toml.",
    )
}

/// One ranking metric of an evaluation.
type RankMetric = fn(&xrisk_train::rank::RankMetrics) -> f64;

/// The per-epoch test metrics drawn in `curve_ranking.png`.
const RANKING_CURVES: [(&str, RankMetric); 5] = [
    ("NDCG@5", |m| m.ndcg5),
    ("NDCG@10", |m| m.ndcg10),
    ("NDCG@20", |m| m.ndcg20),
    ("MAP@10", |m| m.map10),
    ("P@10", |m| m.p10),
];

/// The report of a ranking run (`report.html` with `curve_ranking.png` and
/// `curve_train_loss.png`): final and per-epoch NDCG@{5,10,20}, MAP@10, P@10, the config and
/// the versions. `history` holds (epoch, mean batch loss, test metrics).
pub fn write_ranking(
    dir: &Path,
    cfg: &crate::config::Config,
    config_text: &str,
    warmup: usize,
    history: &[(usize, f64, xrisk_train::rank::RankMetrics)],
) -> Result<PathBuf> {
    let pts = |f: RankMetric| -> Vec<(f64, f64)> {
        history.iter().map(|h| (h.0 as f64, f(&h.2))).collect()
    };
    lines_png(
        &dir.join("curve_ranking.png"),
        "Test ranking metrics per epoch",
        "epoch",
        "metric",
        &RANKING_CURVES.map(|(name, f)| Series {
            name,
            points: pts(f),
        }),
    )?;
    train_loss_png(
        dir,
        &cfg.loss.kind,
        history.iter().map(|h| (h.0 as f64, h.1)).collect(),
    )?;
    let mut h = html_head(&format!("xrisk ranking run — {}", cfg.loss.kind));
    if warmup > 0 {
        let _ = writeln!(
            h,
            "<p>Epochs 1–{warmup}: ListwiseCE warm-up; then the prediction layer was re-initialised.</p>"
        );
    }
    h.push_str("<img src=\"curve_ranking.png\" alt=\"ranking metrics per epoch\">\n");
    h.push_str("<img src=\"curve_train_loss.png\" alt=\"training loss per epoch\">\n");
    h.push_str("<table><tr><th>epoch</th><th>loss</th><th>NDCG@5</th><th>NDCG@10</th><th>NDCG@20</th><th>MAP@10</th><th>P@10</th></tr>\n");
    for (e, l, m) in history {
        let _ = writeln!(
            h,
            "<tr><td>{e}</td><td>{l:.5}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr>",
            m.ndcg5, m.ndcg10, m.ndcg20, m.map10, m.p10
        );
    }
    h.push_str("</table>\n");
    finish_html(
        dir,
        h,
        None,
        config_text,
        "metrics.jsonl (per epoch), timing.jsonl (training seconds per epoch), checkpoint.bin, config.toml.",
    )
}

/// The burn release xrisk is built against (pinned `=0.22.1` in the workspace manifest).
const BURN_VERSION: &str = "0.22.1";
