//! `xrisk bilevel`: the BSVRB paper's hyper-parameter-optimization experiment (spec
//! `bilevel_ndcg_spec.md` §2.1) — m logistic models on re-weighted a8a, the weights learned
//! on validation data — with BSVRB v1, v2 and RSVRB side by side. Writes learning curves as
//! JSONL and PNG.

use crate::output::table;
use crate::plot::{Series, lines_png};
use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;
use xrisk::bilevel::hyperopt::default_scales;
use xrisk::bilevel::{
    Bilevel, BilevelConfig, DataReweighting, Estimator, LowerUpdate, Method, ReweightingData,
};
use xrisk_data::Dataset;
use xrisk_data::readers::svmlight::{SvmlightOptions, read_svmlight};

/// Algorithms selectable on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// BSVRB v1 (Hessian tracking).
    V1,
    /// BSVRB v2 (Hessian-inverse-vector tracking).
    V2,
    /// The RSVRB baseline.
    Rsvrb,
    /// BSVRB v1 with plain moving averages (no variance reduction).
    V1Ma,
    /// BSVRB v2 with plain moving averages.
    V2Ma,
}

impl MethodArg {
    fn method(self) -> (Method, Estimator) {
        match self {
            MethodArg::V1 => (Method::BsvrbV1, Estimator::Msvr),
            MethodArg::V2 => (Method::BsvrbV2, Estimator::Msvr),
            MethodArg::Rsvrb => (Method::Rsvrb, Estimator::Msvr),
            MethodArg::V1Ma => (Method::BsvrbV1, Estimator::MovingAverage),
            MethodArg::V2Ma => (Method::BsvrbV2, Estimator::MovingAverage),
        }
    }
    fn name(self) -> &'static str {
        match self {
            MethodArg::V1 => "v1",
            MethodArg::V2 => "v2",
            MethodArg::Rsvrb => "rsvrb",
            MethodArg::V1Ma => "v1-ma",
            MethodArg::V2Ma => "v2-ma",
        }
    }
}

/// Which lower-level iterates move each iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LowerArg {
    /// Only the sampled blocks.
    Sampled,
    /// Every block, with its latest (stale) estimate.
    All,
}

/// Arguments of `xrisk bilevel`.
#[derive(Args, Debug)]
#[command(
    after_help = "Example (the paper's setting, 5 epochs, about a minute):\n  xrisk bilevel --out runs/bilevel\n\nWrites curves.jsonl, summary.json and PNG curves of the upper-level (validation) loss and\nthe test accuracy against iterations and against samples."
)]
pub struct BilevelArgs {
    /// Training file (svmlight, ±1 labels); its last rows become the validation set.
    /// Default: the embedded a8a.
    #[arg(long, requires = "test")]
    train: Option<PathBuf>,
    /// Test file (svmlight, ±1 labels).
    #[arg(long, requires = "train")]
    test: Option<PathBuf>,
    /// Share of the training file held out as validation data (its last rows; disjoint from
    /// the training rows, unlike the released script).
    #[arg(long, default_value_t = 0.2)]
    val_fraction: f64,
    /// Algorithms to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "v1,v2,rsvrb")]
    methods: Vec<MethodArg>,
    /// Epochs: one epoch is ⌈n_train / (I·B)⌉ iterations.
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Iterations (overrides --epochs).
    #[arg(long)]
    iters: Option<usize>,
    /// m: lower-level problems (models with scales spread over [1.16, 10.95]).
    #[arg(long, default_value_t = 100)]
    blocks: usize,
    /// I: blocks sampled per iteration.
    #[arg(long, default_value_t = 10)]
    blocks_per_iter: usize,
    /// B: samples per sampled block and level.
    #[arg(long, default_value_t = 32)]
    samples_per_block: usize,
    /// η: upper-level step.
    #[arg(long, default_value_t = 1e-3)]
    eta: f64,
    /// τ: lower-level step (default 0.5 for v1/RSVRB, 1 for v2).
    #[arg(long)]
    tau: Option<f64>,
    /// τ_u: step of v2's u.
    #[arg(long, default_value_t = 1.0)]
    tau_u: f64,
    /// α: weight of fresh values in the block estimators.
    #[arg(long, default_value_t = 0.9)]
    alpha: f64,
    /// β: STORM weight of the upper-level estimator.
    #[arg(long, default_value_t = 0.9)]
    beta: f64,
    /// γ: MSVR correction weight.
    #[arg(long, default_value_t = 1.0)]
    gamma: f64,
    /// Lower bound on the Hessian estimates' eigenvalues (v1, RSVRB).
    #[arg(long, default_value_t = 0.05)]
    hessian_floor: f64,
    /// Radius of the ball v2's u is projected on.
    #[arg(long, default_value_t = 10.0)]
    u_radius: f64,
    /// Ridge λ of the lower-level problems.
    #[arg(long, default_value_t = 1e-5)]
    lambda: f64,
    /// Which lower-level iterates move each iteration.
    #[arg(long, value_enum, default_value = "sampled")]
    lower_update: LowerArg,
    /// With --lower-update all, move by τ instead of the default τ·I/m.
    #[arg(long)]
    no_stale_scaling: bool,
    /// Seed of the blocks, samples and initial weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Evaluate (validation and test loss/accuracy of all m models) every this many iterations.
    #[arg(long, default_value_t = 10)]
    eval_every: usize,
    /// Output folder.
    #[arg(long, default_value = "runs/bilevel")]
    out: PathBuf,
    /// Replace the files of an earlier run in the output folder (refused otherwise).
    #[arg(long)]
    force: bool,
    /// Print the summary as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One evaluation point of a run (a line of curves.jsonl).
#[derive(Debug, Clone, Serialize)]
struct Point {
    method: &'static str,
    iteration: u64,
    samples: u64,
    seconds: f64,
    upper_loss: f64,
    val_accuracy: f64,
    test_loss: f64,
    test_accuracy: f64,
}

/// The end of one run (an entry of summary.json).
#[derive(Debug, Clone, Serialize)]
struct Summary {
    method: &'static str,
    blocks: usize,
    blocks_per_iter: usize,
    samples_per_block: usize,
    iterations: u64,
    samples: u64,
    seconds_per_iteration: f64,
    initial_upper_loss: f64,
    final_upper_loss: f64,
    final_test_loss: f64,
    final_test_accuracy: f64,
}

fn to_data(d: &Dataset, origin: &str) -> Result<ReweightingData> {
    if d.n_tasks != 1 {
        bail!("{origin}: expected one label per row, found {}", d.n_tasks);
    }
    if let Some((row, y)) = d
        .labels
        .iter()
        .enumerate()
        .find(|(_, y)| **y != 1.0 && **y != -1.0)
    {
        bail!(
            "{origin}: row {} has label {y}; the data-reweighting problem needs ±1 labels",
            row + 1
        );
    }
    Ok(ReweightingData {
        features: d.features.iter().map(|&v| f64::from(v)).collect(),
        labels: d.labels.iter().map(|&v| f64::from(v)).collect(),
        dim: d.dim,
    })
}

fn load(args: &BilevelArgs) -> Result<(ReweightingData, ReweightingData, ReweightingData)> {
    let (train, test) = match (&args.train, &args.test) {
        (Some(tr), Some(te)) => {
            let train = read_svmlight(tr, SvmlightOptions::default())?;
            let opts = SvmlightOptions {
                n_features: Some(train.dim),
            };
            (train, read_svmlight(te, opts)?)
        }
        _ => xrisk_data::embedded::a8a()?,
    };
    let all = to_data(&train, "training file")?;
    let test = to_data(&test, "test file")?;
    if !(args.val_fraction > 0.0 && args.val_fraction < 1.0) {
        bail!(
            "--val-fraction {} must be strictly between 0 and 1",
            args.val_fraction
        );
    }
    let n = all.len();
    let n_train = ((1.0 - args.val_fraction) * n as f64).floor() as usize;
    if n_train == 0 || n_train == n {
        bail!(
            "the training file has {n} rows: too few to hold out {} as validation",
            args.val_fraction
        );
    }
    let split = |lo: usize, hi: usize| ReweightingData {
        features: all.features[lo * all.dim..hi * all.dim].to_vec(),
        labels: all.labels[lo..hi].to_vec(),
        dim: all.dim,
    };
    Ok((split(0, n_train), split(n_train, n), test))
}

fn config(args: &BilevelArgs, arg: MethodArg) -> BilevelConfig {
    let (method, estimator) = arg.method();
    let mut cfg = BilevelConfig::new(method);
    cfg.estimator = estimator;
    cfg.lower_update = match args.lower_update {
        LowerArg::Sampled => LowerUpdate::SampledBlocks,
        LowerArg::All => LowerUpdate::AllBlocks,
    };
    cfg.scale_stale_step = !args.no_stale_scaling;
    (cfg.blocks_per_iter, cfg.samples_per_block) = (args.blocks_per_iter, args.samples_per_block);
    (cfg.eta, cfg.tau_u, cfg.alpha, cfg.beta, cfg.gamma) =
        (args.eta, args.tau_u, args.alpha, args.beta, args.gamma);
    if let Some(tau) = args.tau {
        cfg.tau = tau;
    }
    (cfg.hessian_floor, cfg.u_radius, cfg.seed) = (args.hessian_floor, args.u_radius, args.seed);
    cfg
}

/// Runs `xrisk bilevel`.
pub fn run(args: BilevelArgs) -> Result<()> {
    if args.methods.is_empty() {
        bail!("--methods is empty; give one or more of v1, v2, rsvrb, v1-ma, v2-ma");
    }
    if args.eval_every == 0 {
        bail!("--eval-every must be at least 1");
    }
    let earlier = std::fs::metadata(args.out.join("curves.jsonl")).map_or(0, |m| m.len());
    if !args.force && earlier > 0 {
        bail!(
            "{} already holds a bilevel run (curves.jsonl); choose another --out folder or pass --force to replace it",
            args.out.display()
        );
    }
    let (train, val, test) = load(&args)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output folder {}", args.out.display()))?;
    let curves_path = args.out.join("curves.jsonl");
    let mut curves = BufWriter::new(
        File::create(&curves_path)
            .with_context(|| format!("cannot write {}", curves_path.display()))?,
    );
    let per_epoch = train
        .len()
        .div_ceil(args.blocks_per_iter * args.samples_per_block)
        .max(1);
    let iters = args.iters.unwrap_or(args.epochs * per_epoch);
    eprintln!(
        "bilevel: {} training, {} validation, {} test rows, {} features; m = {}, I = {}, B = {}, {iters} iterations ({per_epoch} per epoch)",
        train.len(),
        val.len(),
        test.len(),
        train.dim,
        args.blocks,
        args.blocks_per_iter,
        args.samples_per_block
    );
    let device = Device::flex().autodiff();
    let mut all_points: Vec<Point> = Vec::new();
    let mut summaries = Vec::new();
    for &arg in &args.methods {
        let problem = DataReweighting::new(
            &train,
            &val,
            &test,
            default_scales(args.blocks),
            args.lambda,
            &device,
        )?;
        let mut solver = Bilevel::new(problem, config(&args, arg))?;
        let bar = ProgressBar::new(iters as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>6} [{bar:30}] {pos}/{len} it  {msg}  ({elapsed}<{eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(arg.name());
        let mut seconds = 0.0;
        let mut points = Vec::new();
        let mut record = |solver: &Bilevel<DataReweighting>, seconds: f64| -> Result<Point> {
            let (upper_loss, val_accuracy) = solver.problem().validation(solver.y());
            let (test_loss, test_accuracy) = solver.problem().test(solver.y());
            let p = Point {
                method: arg.name(),
                iteration: solver.iteration(),
                samples: solver.samples(),
                seconds,
                upper_loss,
                val_accuracy,
                test_loss,
                test_accuracy,
            };
            serde_json::to_writer(&mut curves, &p)?;
            writeln!(curves)?;
            curves
                .flush()
                .with_context(|| format!("cannot write {}", curves_path.display()))?;
            Ok(p)
        };
        points.push(record(&solver, 0.0)?);
        for k in 1..=iters {
            let t = Instant::now();
            solver
                .step()
                .with_context(|| format!("{} diverged", arg.name()))?;
            seconds += t.elapsed().as_secs_f64();
            if k % args.eval_every == 0 || k == iters {
                let p = record(&solver, seconds)?;
                bar.set_message(format!(
                    "upper loss {:.4}  test acc {:.4}",
                    p.upper_loss, p.test_accuracy
                ));
                points.push(p);
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        let (first, last) = (&points[0], &points[points.len() - 1]);
        summaries.push(Summary {
            method: arg.name(),
            blocks: args.blocks,
            blocks_per_iter: args.blocks_per_iter,
            samples_per_block: args.samples_per_block,
            iterations: last.iteration,
            samples: last.samples,
            seconds_per_iteration: seconds / iters.max(1) as f64,
            initial_upper_loss: first.upper_loss,
            final_upper_loss: last.upper_loss,
            final_test_loss: last.test_loss,
            final_test_accuracy: last.test_accuracy,
        });
        all_points.extend(points);
    }
    plots(&args.out, &args.methods, &all_points)?;
    let summary_path = args.out.join("summary.json");
    std::fs::write(
        &summary_path,
        serde_json::to_string_pretty(&summaries)? + "\n",
    )
    .with_context(|| format!("cannot write {}", summary_path.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summaries)?);
    } else {
        let rows: Vec<Vec<String>> = summaries
            .iter()
            .map(|s| {
                vec![
                    s.method.to_string(),
                    s.iterations.to_string(),
                    format!("{:.2}", s.seconds_per_iteration * 1e3),
                    format!("{:.4} → {:.4}", s.initial_upper_loss, s.final_upper_loss),
                    format!("{:.4}", s.final_test_loss),
                    format!("{:.4}", s.final_test_accuracy),
                ]
            })
            .collect();
        println!(
            "{}",
            table(
                &[
                    "method",
                    "iterations",
                    "ms/iter",
                    "upper loss (val)",
                    "test loss",
                    "test acc"
                ],
                &rows
            )
        );
    }
    eprintln!("curves and plots in {}", args.out.display());
    Ok(())
}

fn plots(out: &Path, methods: &[MethodArg], points: &[Point]) -> Result<()> {
    type Axis = (&'static str, &'static str, fn(&Point) -> f64);
    let xs: [Axis; 2] = [
        ("iterations", "iterations", |p| p.iteration as f64),
        ("samples", "samples drawn", |p| p.samples as f64),
    ];
    let ys: [Axis; 2] = [
        (
            "upper_loss",
            "upper-level loss (mean validation loss)",
            |p| p.upper_loss,
        ),
        ("test_accuracy", "test accuracy (mean over models)", |p| {
            p.test_accuracy
        }),
    ];
    for (xname, xlabel, fx) in xs {
        for (yname, ylabel, fy) in ys {
            let series: Vec<Series> = methods
                .iter()
                .map(|m| Series {
                    name: m.name(),
                    points: points
                        .iter()
                        .filter(|p| p.method == m.name())
                        .map(|p| (fx(p), fy(p)))
                        .collect(),
                })
                .collect();
            let path = out.join(format!("{yname}_vs_{xname}.png"));
            lines_png(
                &path,
                &format!("a8a hyper-parameter optimization: {yname} vs {xname}"),
                xlabel,
                ylabel,
                &series,
            )?;
        }
    }
    Ok(())
}
