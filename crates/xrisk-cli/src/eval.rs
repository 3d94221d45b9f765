//! `xrisk eval`: metrics of a prediction file.

use crate::output::table;
use anyhow::{Result, bail};
use clap::Args;
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use xrisk_data::readers::predictions::{Predictions, read_predictions};
use xrisk_metrics::MetricError;

/// Arguments of `xrisk eval`.
#[derive(Args, Debug)]
#[command(
    after_help = "The file is CSV with a header naming `label` (0/1; graded relevance ≥ 0 when a `query` column \
exists, counted positive when > 0 for AUROC/AUPRC) and `score`, optionally `query`.\n\nExamples:\n  \
xrisk eval --pred preds.csv\n  xrisk eval --pred preds.csv --max-fpr 0.3 --json\n  \
xrisk eval --pred preds.csv --max-fpr 0.5 --min-tpr 0.3\n  xrisk eval --pred letor.csv --k 5,10,20"
)]
pub struct EvalArgs {
    /// Prediction CSV (plain or .gz).
    #[arg(long, value_name = "FILE")]
    pred: PathBuf,
    /// Partial AUC over FPR ≤ B (McClish-standardised, as scikit-learn's max_fpr).
    #[arg(long, value_name = "B")]
    max_fpr: Option<f64>,
    /// With --max-fpr: two-way partial AUC with TPR ≥ A (LibAUC's definition).
    #[arg(long, value_name = "A", requires = "max_fpr")]
    min_tpr: Option<f64>,
    /// NDCG cut-offs (needs a query column); default 5,10,20.
    #[arg(long, value_name = "K1,K2,…", value_delimiter = ',')]
    k: Option<Vec<usize>>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Turns a metric error's row position into the file line.
fn locate(e: MetricError, p: &Predictions, file: &str) -> anyhow::Error {
    let at = |index: usize| p.lines.get(index).copied().unwrap_or(0);
    match e {
        MetricError::InvalidLabel { index, value } => {
            anyhow::anyhow!(
                "{file}:{}: column \"label\": {value} is not a valid label (0 or 1; graded ≥ 0 with a query column)",
                at(index)
            )
        }
        MetricError::NonFiniteScore { index, value } => anyhow::anyhow!(
            "{file}:{}: column \"score\": {value} is not finite",
            at(index)
        ),
        other => anyhow::anyhow!("{file}: {other}"),
    }
}

/// Computes the metrics object of `xrisk eval --json`.
pub fn metrics(p: &Predictions, args: &EvalArgs, file: &str) -> Result<Map<String, Value>> {
    let graded = p.queries.is_some();
    if !graded && args.k.is_some() {
        bail!("--k needs a \"query\" column in {file}");
    }
    if let Some(i) = p.labels.iter().position(|&l| {
        if graded {
            l < 0.0
        } else {
            l != 0.0 && l != 1.0
        }
    }) {
        return Err(locate(
            MetricError::InvalidLabel {
                index: i,
                value: p.labels[i],
            },
            p,
            file,
        ));
    }
    let binary: Vec<f64> = p
        .labels
        .iter()
        .map(|&l| if l > 0.0 { 1.0 } else { 0.0 })
        .collect();
    let loc = |e| locate(e, p, file);
    let mut out = Map::new();
    out.insert("n".into(), json!(p.labels.len()));
    out.insert(
        "positives".into(),
        json!(binary.iter().filter(|&&l| l == 1.0).count()),
    );
    out.insert(
        "auroc".into(),
        json!(xrisk_metrics::auroc(&binary, &p.scores).map_err(loc)?),
    );
    out.insert(
        "auprc".into(),
        json!(xrisk_metrics::average_precision(&binary, &p.scores).map_err(loc)?),
    );
    if let Some(b) = args.max_fpr {
        let v = match args.min_tpr {
            Some(a) => xrisk_metrics::pauc_two_way(&binary, &p.scores, b, a),
            None => xrisk_metrics::pauc_one_way(&binary, &p.scores, b),
        };
        out.insert("pauc".into(), json!(v.map_err(loc)?));
    }
    if let Some(q) = &p.queries {
        let ks = args.k.clone().unwrap_or_else(|| vec![5, 10, 20]);
        let values = xrisk_metrics::ndcg_by_query(q, &p.labels, &p.scores, &ks).map_err(loc)?;
        for (k, v) in ks.iter().zip(values) {
            out.insert(format!("ndcg@{k}"), json!(v));
        }
    }
    Ok(out)
}

/// Runs `xrisk eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let file = args.pred.display().to_string();
    let p = read_predictions(&args.pred)?;
    let m = metrics(&p, &args, &file)?;
    if args.json {
        println!("{}", Value::Object(m));
    } else {
        let rows: Vec<Vec<String>> = m
            .iter()
            .map(|(k, v)| {
                let shown = match v.as_f64() {
                    Some(x) if v.is_f64() => format!("{x:.6}"),
                    _ => v.to_string(),
                };
                let name = match (k.as_str(), args.max_fpr, args.min_tpr) {
                    ("pauc", Some(b), Some(a)) => format!("pauc (FPR ≤ {b}, TPR ≥ {a})"),
                    ("pauc", Some(b), None) => format!("pauc (FPR ≤ {b})"),
                    _ => k.clone(),
                };
                vec![name, shown]
            })
            .collect();
        println!("{}", table(&["metric", "value"], &rows));
    }
    Ok(())
}
