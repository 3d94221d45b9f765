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
    /// Time the X-risk loss + optimizer step alone: the "model" is one score per batch row
    /// (a parameter vector), so the time is the loss's state reads/writes, its surrogate, the
    /// backward pass and the optimizer update. Reports the median time per step and the peak
    /// resident memory.
    #[command(
        after_help = "Example:\n  xrisk bench steps --loss ap --batch 256 --data-len 1000000 --json"
    )]
    Steps {
        /// aucm, compositional_auc, ap, pauc_dro, pauc_cvar, tpauc_kl or tpauc_cvar.
        #[arg(long)]
        loss: String,
        /// The optimizer (default: the loss's LibAUC pairing).
        #[arg(long)]
        optimizer: Option<String>,
        /// Rows per step.
        #[arg(long, default_value_t = 256)]
        batch: usize,
        /// Samples with per-sample state (ids are drawn from 0..N).
        #[arg(long, default_value_t = 100_000)]
        data_len: usize,
        /// Timed steps (after 20 warm-up steps).
        #[arg(long, default_value_t = 200)]
        steps: usize,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Time one 3×3 convolution (stride 1, padding 1, no bias) on the `flex` backend, as in a
    /// ResNet20 stage: its forward pass, the gradient with respect to the input and the
    /// gradient with respect to the weight (the three kernels of a training step's
    /// convolutions). Reports the median time of each.
    #[command(
        after_help = "Example:\n  xrisk bench conv --channels 16 --size 28 --batch 64 --threads 1 --json"
    )]
    Conv {
        /// Input and output channels.
        #[arg(long, default_value_t = 16)]
        channels: usize,
        /// Image height and width.
        #[arg(long, default_value_t = 28)]
        size: usize,
        /// Images per batch.
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Timed repetitions of each kernel (after one warm-up); the median is reported.
        #[arg(long, default_value_t = 10)]
        repeat: usize,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Whose kernels: `xrisk` (xrisk's im2col + gemm kernels, what the models use on flex)
        /// or `burn` (burn-flex's conv2d and burn-backend's generic gradient rules).
        #[arg(long, default_value = "xrisk", value_parser = ["xrisk", "burn"])]
        kernels: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Median seconds of `repeat` calls of `f` after one warm-up call; each call's result is read
/// back to the host so a lazy backend has finished it.
fn median_kernel(repeat: usize, mut f: impl FnMut() -> burn::tensor::Tensor<4>) -> Result<f64> {
    let _ = f().into_data();
    let (t, _) = median_seconds(repeat, || {
        let _ = f().into_data();
        Ok(0.0)
    })?;
    Ok(t)
}

/// Forward, input-gradient and weight-gradient seconds of a 3×3 convolution (`Conv` above):
/// y = W ⋆ x, ∂L/∂x and ∂L/∂W. `burn`: the kernels burn's autodiff calls for `Conv2d`
/// (burn-flex's conv2d, conv_transpose2d for burn-backend's `conv2d_x_backward`, and
/// `conv2d_weight_backward`); `xrisk`: the kernels of `xrisk::conv`.
fn conv(
    channels: usize,
    size: usize,
    batch: usize,
    repeat: usize,
    burn_kernels: bool,
) -> Result<[f64; 3]> {
    use burn::tensor::module::{conv_transpose2d, conv2d, conv2d_weight_backward};
    use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
    use burn::tensor::{Device, Distribution, Tensor};
    if channels == 0 || size == 0 || batch == 0 {
        bail!("--channels, --size and --batch must be at least 1");
    }
    let device = Device::flex();
    device.seed(7);
    let normal = Distribution::Normal(0.0, 1.0);
    let x = Tensor::<4>::random([batch, channels, size, size], normal, &device);
    let w = Tensor::<4>::random([channels, channels, 3, 3], normal, &device);
    let dy = Tensor::<4>::random([batch, channels, size, size], normal, &device);
    let opt = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let topt = ConvTransposeOptions::new([1, 1], [1, 1], [0, 0], [1, 1], 1);
    if !burn_kernels {
        return Ok([
            median_kernel(repeat, || {
                xrisk::conv::conv2d(x.clone(), w.clone(), None, opt.clone())
            })?,
            median_kernel(repeat, || {
                xrisk::conv::conv2d_x_backward(x.clone(), w.clone(), dy.clone(), opt.clone())
            })?,
            median_kernel(repeat, || {
                xrisk::conv::conv2d_weight_backward(x.clone(), w.clone(), dy.clone(), opt.clone())
            })?,
        ]);
    }
    Ok([
        median_kernel(repeat, || conv2d(x.clone(), w.clone(), None, opt.clone()))?,
        median_kernel(repeat, || {
            conv_transpose2d(dy.clone(), w.clone(), None, topt.clone())
        })?,
        median_kernel(repeat, || {
            conv2d_weight_backward(x.clone(), w.clone(), dy.clone(), opt.clone())
        })?,
    ])
}

/// The optimizer LibAUC pairs with each X-risk loss (spec §3.10).
fn paired(loss: &str) -> Result<&'static str> {
    Ok(match loss {
        "aucm" => "pesg",
        "compositional_auc" => "pdsca",
        "ap" => "soap",
        "pauc_dro" => "sopas",
        "pauc_cvar" => "sopa",
        "tpauc_kl" => "sotas",
        "tpauc_cvar" => "staco",
        other => bail!(
            "--loss {other}: use aucm, compositional_auc, ap, pauc_dro, pauc_cvar, tpauc_kl or tpauc_cvar"
        ),
    })
}

/// One score per batch row, as a module so the optimizer updates it.
#[derive(burn::module::Module, Debug)]
struct Scores {
    z: burn::module::Param<burn::tensor::Tensor<1>>,
}

/// Peak resident memory of this process in MiB (Linux), if known.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn steps(
    loss: &str,
    optimizer: Option<&str>,
    batch: usize,
    data_len: usize,
    n_steps: usize,
) -> Result<(f64, Option<f64>)> {
    use burn::tensor::{Device, Distribution, Tensor};
    use rand::{RngExt, SeedableRng};
    if batch < 2 || data_len == 0 {
        bail!("--batch must be at least 2 and --data-len at least 1");
    }
    let device = Device::flex().autodiff();
    device.seed(7);
    let lc = crate::config::LossConfig {
        kind: loss.to_string(),
        ..Default::default()
    };
    let oc = crate::config::OptimizerConfig {
        kind: optimizer.unwrap_or(paired(loss)?).to_string(),
        lr: Some(0.01),
        ..Default::default()
    };
    let mut objective = crate::train::build_objective(&lc, data_len, &device)?;
    let mut opt = crate::train::build_optimizer(&oc)?;
    if !opt.compatible(&objective) {
        bail!("--optimizer {} does not optimize --loss {loss}", oc.kind);
    }
    let mut model = Scores {
        z: burn::module::Param::from_tensor(Tensor::random(
            [batch],
            Distribution::Normal(0.0, 1.0),
            &device,
        )),
    };
    let labels: Vec<f32> = (0..batch)
        .map(|i| f32::from(u8::from(i % 2 == 0)))
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut times = Vec::with_capacity(n_steps);
    for step in 0..n_steps + 20 {
        let ids: Vec<usize> = (0..batch).map(|_| rng.random_range(0..data_len)).collect();
        let t = Instant::now();
        let value = objective.forward(model.z.val(), &labels, &ids)?;
        model = opt.step(model, &mut objective, value);
        // Wait for the update (the backend may be lazy) before stopping the clock.
        let _ = model.z.val().narrow(0, 0, 1).into_scalar::<f32>();
        if step >= 20 {
            times.push(t.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], peak_rss_mib()))
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

fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(t) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .context("cannot set the thread count")?;
    }
    Ok(())
}

/// Runs `xrisk bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    let (labels, scores, repeat, threads, json) = match args.command {
        BenchCommand::Metrics {
            labels,
            scores,
            repeat,
            threads,
            json,
        } => (labels, scores, repeat, threads, json),
        BenchCommand::Steps {
            loss,
            optimizer,
            batch,
            data_len,
            steps: n,
            threads,
            json,
        } => {
            set_threads(threads)?;
            let (t, rss) = steps(&loss, optimizer.as_deref(), batch, data_len, n.max(1))?;
            if json {
                println!(
                    "{}",
                    json!({"loss": loss, "batch": batch, "data_len": data_len, "step_seconds": t,
                           "steps_per_second": 1.0 / t, "peak_rss_mib": rss})
                );
            } else {
                println!(
                    "{loss}: batch {batch}, N = {data_len}: {:.1} µs per step (median of {n}), {:.0} steps/s, peak RSS {}",
                    t * 1e6,
                    1.0 / t,
                    rss.map_or("unknown".into(), |m| format!("{m:.0} MiB"))
                );
            }
            return Ok(());
        }
        BenchCommand::Conv {
            channels,
            size,
            batch,
            repeat,
            threads,
            kernels,
            json,
        } => {
            set_threads(threads)?;
            let [f, xg, wg] = conv(channels, size, batch, repeat, kernels == "burn")?;
            if json {
                println!(
                    "{}",
                    json!({"channels": channels, "size": size, "batch": batch, "kernels": kernels,
                           "threads": rayon::current_num_threads(), "forward_seconds": f,
                           "input_grad_seconds": xg, "weight_grad_seconds": wg})
                );
            } else {
                println!(
                    "3×3 conv ({kernels} kernels), {channels} channels, {size}×{size}, batch {batch}: forward {:.2} ms, input gradient {:.2} ms, weight gradient {:.2} ms (median of {repeat})",
                    f * 1e3,
                    xg * 1e3,
                    wg * 1e3
                );
            }
            return Ok(());
        }
    };
    set_threads(threads)?;
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
