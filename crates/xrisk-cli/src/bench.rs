//! `xrisk bench`: timings for the benchmark scripts under `bench/`.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `xrisk bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Time AUROC and AP on raw score/label files (as written by bench/metrics.py).
    #[command(
        after_help = "Example:\n  xrisk bench metrics --labels y.u8 --scores s.f64 --repeat 5 --json"
    )]
    Metrics {
        /// Labels, one byte per sample (0 or 1).
        #[arg(long, value_name = "FILE")]
        labels: PathBuf,
        /// Scores, little-endian f64 per sample.
        #[arg(long, value_name = "FILE")]
        scores: PathBuf,
        /// Timed repetitions; the median is reported.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn median_seconds(repeat: usize, mut f: impl FnMut() -> Result<f64>) -> Result<(f64, f64)> {
    let mut times = Vec::with_capacity(repeat);
    let mut value = f64::NAN;
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        value = f()?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], value))
}

/// Runs `xrisk bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    let BenchCommand::Metrics {
        labels,
        scores,
        repeat,
        threads,
        json,
    } = args.command;
    if let Some(t) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .context("cannot set the thread count")?;
    }
    let y: Vec<f64> = read(&labels)?.into_iter().map(f64::from).collect();
    let raw = read(&scores)?;
    if raw.len() != y.len() * 8 {
        bail!(
            "{} holds {} bytes; expected 8 per label ({} labels)",
            scores.display(),
            raw.len(),
            y.len()
        );
    }
    let s: Vec<f64> = raw
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    let (t_auc, auc) = median_seconds(repeat, || Ok(xrisk_metrics::auroc(&y, &s)?))?;
    let (t_ap, ap) = median_seconds(repeat, || Ok(xrisk_metrics::average_precision(&y, &s)?))?;
    if json {
        println!(
            "{}",
            json!({"n": y.len(), "threads": rayon::current_num_threads(), "auroc": auc, "auprc": ap,
                   "auroc_seconds": t_auc, "auprc_seconds": t_ap})
        );
    } else {
        println!(
            "n = {}, threads = {}",
            y.len(),
            rayon::current_num_threads()
        );
        println!("AUROC {auc:.6} in {t_auc:.4} s (median of {repeat})");
        println!("AP    {ap:.6} in {t_ap:.4} s (median of {repeat})");
    }
    Ok(())
}
