//! `xrisk demo`: CE versus the AUC, AP and partial-AUC losses on embedded real data.
//!
//! Data: Fashion-MNIST's 10,000 test images (embedded in the binary), one class made
//! positive at a 2 % share (all other classes negative), a stratified 70/30 train/test
//! split, the same MLP (784→128→1) from the same seeded initialisation for every method,
//! and four trainings through `xrisk train`'s Trainer: cross-entropy (Adam), AUCM + PESG,
//! AP + SOAP, pAUC-DRO + SOPA-s. Reported on the held-out part: AUROC, AUPRC and the
//! one-way partial AUC at FPR ≤ 0.3, and which method wins on each.
//!
//! Protocol `tutorial` (the default, as LibAUC's tutorials do it): a fifth of the training
//! rows is held out for validation; the X-risk methods first pretrain the model with CE
//! (Adam, `--pretrain-epochs`), then fine-tune it with their own loss; every method keeps
//! the epoch with the best validation value of its target metric (CE and AUCM: AUROC, AP:
//! AUPRC, pAUC-DRO: pAUC). Protocol `scratch`: every method trains from the initialisation on
//! all training rows and keeps its last epoch (the side-by-side benchmark with LibAUC).

use crate::config::{
    Config, DataConfig, LossConfig, ModelConfig, OptimizerConfig, PretrainConfig, SamplerConfig,
    TrainConfig, Validation,
};
use crate::output::table;
use crate::plot::{Series, unit_square_png};
use crate::train::{evaluate, fit_configured, prepare_data_with_validation};
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;
use std::path::PathBuf;
use xrisk_data::embedded::FASHION_MNIST_CLASSES as CLASS_NAMES;

/// Arguments of `xrisk demo`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  xrisk demo\n  xrisk demo --positive-class 4 --epochs 10 --json\n  xrisk demo --out my-report"
)]
pub struct DemoArgs {
    /// Fashion-MNIST class used as the positive class (0–9; 6 = Shirt).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(0..10))]
    positive_class: u8,
    /// Share of positives after subsampling.
    #[arg(long, default_value_t = 0.02)]
    imratio: f64,
    /// Training epochs per method.
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Seed of the subsampling, split, initialisation and samplers.
    #[arg(long, default_value_t = 2023)]
    seed: u64,
    /// Report folder (metrics.json, curves).
    #[arg(long, default_value = "xrisk-demo-report")]
    out: PathBuf,
    /// Print the results table as JSON.
    #[arg(long)]
    json: bool,
    /// `tutorial`: CE pretraining for the X-risk methods and validation selection;
    /// `scratch`: every method from the initialisation, last epoch kept.
    #[arg(long, value_enum, default_value_t = Protocol::Tutorial)]
    protocol: Protocol,
    /// CE epochs before the X-risk methods fine-tune (protocol `tutorial`).
    #[arg(long, default_value_t = 10)]
    pretrain_epochs: usize,
    /// Also write the task's train/test split as raw little-endian f32 files
    /// (`{train,test}_{x,y}.f32`, `meta.json`) into DIR, for the side-by-side benchmark.
    #[arg(long, value_name = "DIR")]
    export: Option<PathBuf>,
}

/// How the demo trains its methods (see the module's docs).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Tutorial,
    Scratch,
}

/// Writes the split as raw f32 files for `bench/demo_side_by_side.py`.
fn export(
    dir: &std::path::Path,
    train: &xrisk_data::Dataset,
    test: &xrisk_data::Dataset,
    args: &DemoArgs,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let raw = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    for (name, v) in [
        ("train_x", &train.features),
        ("train_y", &train.labels),
        ("test_x", &test.features),
        ("test_y", &test.labels),
    ] {
        let p = dir.join(format!("{name}.f32"));
        std::fs::write(&p, raw(v)).with_context(|| format!("cannot write {}", p.display()))?;
    }
    let meta = json!({"dim": train.dim, "train": train.len(), "test": test.len(), "seed": args.seed, "epochs": args.epochs,
                      "batch_size": args.batch_size, "positive_class": args.positive_class, "imratio": args.imratio});
    std::fs::write(dir.join("meta.json"), meta.to_string())
        .with_context(|| format!("cannot write into {}", dir.display()))
}

/// The four methods: (name, loss, optimizer, sampler kind, sampling rate).
fn methods(args: &DemoArgs) -> Vec<(&'static str, Config)> {
    let tutorial = args.protocol == Protocol::Tutorial;
    let base = |loss: LossConfig, optimizer: OptimizerConfig, sampler: &str, rate: f64| Config {
        data: DataConfig {
            format: "embedded-fashion-mnist".into(),
            positive_class: Some(args.positive_class as f32),
            imratio: Some(args.imratio),
            test_fraction: Some(0.3),
            validation: tutorial.then_some(Validation::Fraction(0.2)),
            ..DataConfig::default()
        },
        model: ModelConfig {
            kind: "mlp".into(),
            hidden: Some(vec![128]),
            ..ModelConfig::default()
        },
        loss,
        optimizer,
        sampler: SamplerConfig {
            kind: Some(sampler.into()),
            batch_size: args.batch_size,
            sampling_rate: rate,
            ..SamplerConfig::default()
        },
        train: TrainConfig {
            epochs: args.epochs,
            seed: args.seed,
            ..TrainConfig::default()
        },
        pretrain: None,
    };
    // Tutorial protocol: each method keeps its best validation epoch of its target metric;
    // the X-risk methods start from a CE-pretrained model.
    let tutorial_setup = |mut c: Config, select: &str, pretrain: bool| {
        if tutorial {
            c.train.select = Some(select.into());
            if pretrain && args.pretrain_epochs > 0 {
                c.pretrain = Some(PretrainConfig {
                    loss: "ce".into(),
                    epochs: args.pretrain_epochs,
                    optimizer: OptimizerConfig {
                        kind: "adam".into(),
                        lr: Some(1e-3),
                        ..OptimizerConfig::default()
                    },
                    sampler: None,
                    reset_last_layer: false,
                });
            }
        }
        c
    };
    let loss = |kind: &str| LossConfig {
        kind: kind.into(),
        ..LossConfig::default()
    };
    let opt = |kind: &str, lr: f64| OptimizerConfig {
        kind: kind.into(),
        lr: Some(lr),
        ..OptimizerConfig::default()
    };
    let runs = vec![
        (
            "CE (Adam)",
            base(loss("ce"), opt("adam", 1e-3), "random", 0.5),
        ),
        // LibAUC tutorial 02's settings with LibAUC's momentum convention, so that the
        // side-by-side benchmark runs the same algorithm on both sides.
        (
            "AUCM + PESG",
            base(
                loss("aucm"),
                OptimizerConfig {
                    compat_2_0_1: Some(true),
                    ..opt("pesg", 0.1)
                },
                "dual",
                0.2,
            ),
        ),
        (
            "AP + SOAP",
            base(
                LossConfig {
                    gamma: Some(0.1),
                    ..loss("ap")
                },
                opt("soap", 1e-3),
                "dual",
                0.5,
            ),
        ),
        (
            "pAUC-DRO + SOPA-s",
            base(
                LossConfig {
                    gamma: Some(0.1),
                    margin: Some(0.6),
                    ..loss("pauc_dro")
                },
                opt("sopas", 1e-3),
                "dual",
                0.5,
            ),
        ),
    ];
    let target = ["auroc", "auroc", "auprc", "pauc"];
    runs.into_iter()
        .zip(target)
        .enumerate()
        .map(|(i, ((name, c), select))| (name, tutorial_setup(c, select, i > 0)))
        .collect()
}

/// Runs `xrisk demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    let runs = methods(&args);
    let (train_set, validation, test_set) =
        prepare_data_with_validation(&runs[0].1.data, args.seed)?;
    let class = CLASS_NAMES[args.positive_class as usize];
    if let Some(dir) = &args.export {
        export(dir, &train_set, &test_set, &args)?;
    }
    if !args.json {
        println!(
            "Fashion-MNIST (embedded test set): \"{class}\" vs rest at {:.1} % positives — train {} ({} positive), {}test {} ({} positive)",
            args.imratio * 100.0,
            train_set.len(),
            train_set.positives(),
            validation
                .as_ref()
                .map(|v| format!("validation {} ({} positive), ", v.len(), v.positives()))
                .unwrap_or_default(),
            test_set.len(),
            test_set.positives()
        );
        if args.protocol == Protocol::Tutorial {
            println!(
                "protocol: the X-risk methods fine-tune a model pretrained with CE for {} epochs; every method keeps its best validation epoch (CE, AUCM: AUROC; AP: AUPRC; pAUC-DRO: pAUC)",
                args.pretrain_epochs
            );
        }
    }
    let multi = MultiProgress::new();
    if args.json {
        multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template("{prefix:>18} {bar:30} {pos}/{len} steps {elapsed}")
        .expect("static template");
    let mut outcomes = Vec::new();
    let mut kept = Vec::new();
    for (name, cfg) in &runs {
        let bar = multi.add(ProgressBar::new(0));
        bar.set_style(style.clone());
        bar.set_prefix(*name);
        let mut seen = DemoObserver {
            bar: bar.clone(),
            seconds: 0.0,
            epochs: 0,
        };
        let data = crate::train::Parts {
            train: &train_set,
            validation: validation.as_ref(),
            test: &test_set,
        };
        let fitted =
            fit_configured(cfg, data, &mut seen, None, None).with_context(|| name.to_string())?;
        bar.finish();
        let m = evaluate(&test_set, &fitted.scores, 0.3)?;
        kept.push(fitted.best.map(|b| b.epoch));
        outcomes.push((
            *name,
            m,
            seen.seconds / seen.epochs.max(1) as f64,
            fitted.scores,
        ));
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the report folder {}", args.out.display()))?;
    let rows: Vec<serde_json::Value> = outcomes
        .iter()
        .zip(&kept)
        .map(|((n, m, s, _), k)| {
            let mut r = json!({"method": n, "auroc": m.auroc, "auprc": m.auprc, "pauc_fpr_0.3": m.pauc, "seconds_per_epoch": s});
            if let Some(k) = k {
                r["kept_epoch"] = json!(k);
            }
            r
        })
        .collect();
    // Which method wins on each metric.
    let winner = |f: &dyn Fn(&xrisk_train::data::Metrics) -> f64| {
        outcomes
            .iter()
            .max_by(|a, b| f(&a.1).total_cmp(&f(&b.1)))
            .map(|(n, m, _, _)| (*n, f(m)))
            .unwrap_or(("", f64::NAN))
    };
    let winners = [
        ("AUROC", winner(&|m| m.auroc)),
        ("AUPRC", winner(&|m| m.auprc)),
        ("pAUC(FPR≤0.3)", winner(&|m| m.pauc)),
    ];
    let report = json!({
        "data": {"dataset": "fashion-mnist t10k (embedded)", "positive_class": args.positive_class, "class_name": class,
                 "imratio": args.imratio, "train": train_set.len(), "train_positives": train_set.positives(),
                 "test": test_set.len(), "test_positives": test_set.positives()},
        "model": "MLP 784-128-1", "epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
        "protocol": format!("{:?}", args.protocol).to_lowercase(),
        "pretrain_epochs": (args.protocol == Protocol::Tutorial).then_some(args.pretrain_epochs),
        "results": rows,
        "best": winners.iter().map(|(k, (n, v))| json!({"metric": k, "method": n, "value": v})).collect::<Vec<_>>(),
    });
    let write = |name: &str, text: String| -> Result<()> {
        let p = args.out.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))
    };
    write("metrics.json", serde_json::to_string_pretty(&report)?)?;
    let y: Vec<f64> = test_set.labels.iter().map(|&l| f64::from(l)).collect();
    let mut roc = String::from("method,fpr,tpr\n");
    let mut pr = String::from("method,recall,precision\n");
    let mut roc_series = Vec::new();
    let mut pr_series = Vec::new();
    for (name, _, _, scores) in &outcomes {
        let r = xrisk_metrics::roc_curve(&y, scores)?;
        let p = xrisk_metrics::precision_recall_curve(&y, scores)?;
        for q in &r {
            roc.push_str(&format!("{name},{},{}\n", q.fpr, q.tpr));
        }
        for q in &p {
            pr.push_str(&format!("{name},{},{}\n", q.recall, q.precision));
        }
        roc_series.push(Series {
            name,
            points: r.iter().map(|q| (q.fpr, q.tpr)).collect(),
        });
        pr_series.push(Series {
            name,
            points: p.iter().map(|q| (q.recall, q.precision)).collect(),
        });
    }
    write("roc_curve.csv", roc)?;
    write("pr_curve.csv", pr)?;
    let title = format!("\"{class}\" vs rest, {} test images", test_set.len());
    unit_square_png(
        &args.out.join("roc.png"),
        &format!("ROC — {title}"),
        "false-positive rate",
        "true-positive rate",
        &roc_series,
        true,
    )?;
    unit_square_png(
        &args.out.join("pr.png"),
        &format!("Precision–recall — {title}"),
        "recall",
        "precision",
        &pr_series,
        false,
    )?;
    if args.json {
        println!("{}", serde_json::Value::Array(rows));
    } else {
        let table_rows: Vec<Vec<String>> = outcomes
            .iter()
            .zip(&kept)
            .map(|((n, m, s, _), k)| {
                vec![
                    n.to_string(),
                    format!("{:.4}", m.auroc),
                    format!("{:.4}", m.auprc),
                    format!("{:.4}", m.pauc),
                    k.map_or("last".into(), |k| k.to_string()),
                    format!("{s:.2}"),
                ]
            })
            .collect();
        println!(
            "\n{}",
            table(
                &[
                    "method",
                    "AUROC",
                    "AUPRC",
                    "pAUC(FPR≤0.3)",
                    "kept epoch",
                    "s/epoch"
                ],
                &table_rows
            )
        );
        for (metric, (name, value)) in &winners {
            println!("best {metric}: {name} ({value:.4})");
        }
        println!("\nreport: {}", args.out.display());
    }
    Ok(())
}

/// Advances a demo method's bar and adds up its training seconds and epochs.
struct DemoObserver {
    bar: ProgressBar,
    seconds: f64,
    epochs: usize,
}

impl xrisk_train::Observer for DemoObserver {
    fn start(&mut self, total: u64, done: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
    }

    fn step(&mut self) {
        self.bar.inc(1);
    }

    fn epoch(&mut self, r: &xrisk_train::EpochRecord) -> Result<()> {
        self.seconds += r.seconds;
        self.epochs += 1;
        Ok(())
    }
}
