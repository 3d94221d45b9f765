//! What every epoch loop of `xrisk train` shares: the step progress bar, the host value of a
//! step's loss with the divergence check, and the per-epoch lines of `metrics.jsonl` and
//! `timing.jsonl`.

use anyhow::{Context, Result, bail};
use burn::tensor::Tensor;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::fs::File;
use std::io::Write;

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

/// The loss value of a step, or an error when it is not finite (`epoch` counts from 0).
pub fn loss_value(value: &Tensor<1>, epoch: usize) -> Result<f64> {
    let v = f64::from(value.clone().into_scalar::<f32>());
    if !v.is_finite() {
        bail!(
            "epoch {}: the loss is {v}; lower the learning rate",
            epoch + 1
        );
    }
    Ok(v)
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
