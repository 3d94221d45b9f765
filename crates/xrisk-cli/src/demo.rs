//! `xrisk demo`: CE versus the AUC, AP and partial-AUC losses on embedded real data.
//!
//! Protocol: Fashion-MNIST's 10,000 test images (embedded in the binary), one class made
//! positive at a 2 % share (all other classes negative), a stratified 70/30 train/test
//! split, the same MLP (784→128→1) from the same seeded initialisation for every method,
//! and four trainings: cross-entropy (Adam), AUCM + PESG, AP + SOAP, pAUC-DRO + SOPA-s.
//! Reported on the held-out part: AUROC, AUPRC and the one-way partial AUC at FPR ≤ 0.3.

use crate::output::table;
use anyhow::{Context, Result};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
use xrisk::loss::{
    ApConfig, ApLoss, AucmConfig, AucmLoss, AucmVersion, CrossEntropyLoss, PAucDroConfig,
    PAucDroLoss,
};
use xrisk::model::Mlp;
use xrisk::optim::{PesgConfig, ProximalOptimizer, adam, soap, sopa_s};
use xrisk_data::Dataset;
use xrisk_data::sampler::{DualSampler, RandomSampler};

const IMAGES: &[u8] = include_bytes!("../data/t10k-images-idx3-ubyte.gz");
const LABELS: &[u8] = include_bytes!("../data/t10k-labels-idx1-ubyte.gz");
const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

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
}

/// A trained method's results.
struct Outcome {
    name: &'static str,
    auroc: f64,
    auprc: f64,
    pauc: f64,
    seconds: f64,
    scores: Vec<f64>,
}

fn batch_tensor(data: &Dataset, ids: &[usize], device: &Device) -> Tensor<2> {
    let mut x = Vec::with_capacity(ids.len() * data.dim);
    for &i in ids {
        x.extend_from_slice(data.row(i));
    }
    Tensor::from_data(TensorData::new(x, [ids.len(), data.dim]), device)
}

fn scores(model: &Mlp, data: &Dataset, device: &Device) -> Vec<f64> {
    let ids: Vec<usize> = (0..data.len()).collect();
    let mut out = Vec::with_capacity(data.len());
    for chunk in ids.chunks(1024) {
        let z = model.forward(batch_tensor(data, chunk, device)).detach();
        out.extend(
            z.into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .unwrap_or_default()
                .into_iter()
                .map(f64::from),
        );
    }
    out
}

#[derive(Clone, Copy)]
enum Method {
    Ce,
    AucmPesg,
    ApSoap,
    PaucSopaS,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Ce => "CE (Adam)",
            Method::AucmPesg => "AUCM + PESG",
            Method::ApSoap => "AP + SOAP",
            Method::PaucSopaS => "pAUC-DRO + SOPA-s",
        }
    }
}

fn train(
    method: Method,
    args: &DemoArgs,
    train: &Dataset,
    test: &Dataset,
    bar: &ProgressBar,
) -> Result<Outcome> {
    let device = Device::flex().autodiff();
    device.seed(args.seed);
    let mut model = Mlp::new(train.dim, &[128], &device);
    let labels = &train.labels;
    let n = train.len();
    let start = Instant::now();
    // Samplers: CE sees the natural distribution; the X-risk losses a controlled share of positives.
    enum Sampler {
        Random(RandomSampler),
        Dual(DualSampler),
    }
    let mut sampler = match method {
        Method::Ce => Sampler::Random(RandomSampler::new(n, args.batch_size, true, args.seed)?),
        Method::AucmPesg => {
            Sampler::Dual(DualSampler::new(labels, args.batch_size, 0.2, args.seed)?)
        }
        Method::ApSoap | Method::PaucSopaS => {
            Sampler::Dual(DualSampler::new(labels, args.batch_size, 0.5, args.seed)?)
        }
    };
    let mut aucm = AucmLoss::new(
        AucmConfig {
            margin: 1.0,
            version: AucmVersion::V1,
        },
        &device,
    );
    let mut pesg = PesgConfig {
        lr: 0.01,
        ..PesgConfig::default()
    }
    .init();
    let mut ap = ApLoss::new(
        ApConfig {
            gamma: 0.1,
            ..ApConfig::new(n)
        },
        &device,
    );
    let mut pauc = PAucDroLoss::new(
        PAucDroConfig {
            gamma: 0.1,
            margin: 0.6,
            ..PAucDroConfig::new(n)
        },
        &device,
    );
    let mut opt = ProximalOptimizer::new(match method {
        Method::Ce => adam(1e-3),
        Method::ApSoap => soap(1e-3),
        _ => sopa_s(1e-3),
    });
    for epoch in 0..args.epochs {
        // LibAUC's schedule: at 50 % and 75 % of training, lr /= 10 and the PESG reference
        // point moves to the average iterate.
        if epoch > 0 && (epoch == args.epochs / 2 || epoch == args.epochs * 3 / 4) {
            pesg.inner.update_regularizer(Some(10.0));
            opt.update_lr(10.0);
        }
        let batches = match &mut sampler {
            Sampler::Random(s) => s.next_epoch(),
            Sampler::Dual(s) => s.next_epoch(),
        };
        for ids in batches {
            let x = batch_tensor(train, &ids, &device);
            let y: Vec<f32> = ids.iter().map(|&i| labels[i]).collect();
            let z = model.forward(x);
            let loss = match method {
                Method::Ce => CrossEntropyLoss.forward(z, &y)?,
                Method::AucmPesg => aucm.forward(sigmoid(z), &y)?,
                Method::ApSoap => ap.forward(sigmoid(z), &y, &ids)?,
                Method::PaucSopaS => pauc.forward(sigmoid(z), &y, &ids)?,
            };
            let grads = loss.backward();
            model = match method {
                Method::AucmPesg => pesg.step(model, &mut aucm, grads),
                _ => {
                    let mut g = GradientsParams::from_grads(grads, &model);
                    opt.step(model, &mut g)
                }
            };
            bar.inc(1);
        }
    }
    let s = scores(&model.valid(), test, &device.clone().without_autodiff());
    let y: Vec<f64> = test.labels.iter().map(|&l| f64::from(l)).collect();
    if let Some(i) = s.iter().position(|v| !v.is_finite()) {
        anyhow::bail!(
            "{}: training diverged (test score {i} is {}); lower the learning rate",
            method.name(),
            s[i]
        );
    }
    Ok(Outcome {
        name: method.name(),
        auroc: xrisk_metrics::auroc(&y, &s)?,
        auprc: xrisk_metrics::average_precision(&y, &s)?,
        pauc: xrisk_metrics::pauc_one_way(&y, &s, 0.3)?,
        seconds: start.elapsed().as_secs_f64(),
        scores: s,
    })
}

fn steps_per_epoch(method: Method, args: &DemoArgs, labels: &[f32]) -> Result<usize> {
    Ok(match method {
        Method::Ce => labels.len() / args.batch_size,
        Method::AucmPesg => {
            DualSampler::new(labels, args.batch_size, 0.2, args.seed)?.num_batches()
        }
        _ => DualSampler::new(labels, args.batch_size, 0.5, args.seed)?.num_batches(),
    })
}

/// Runs `xrisk demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    let all = xrisk_data::readers::idx::idx_images_from_bytes(IMAGES, LABELS)
        .context("embedded Fashion-MNIST")?;
    let task = xrisk_data::one_vs_rest(&all, args.positive_class as f32, args.imratio, args.seed)?;
    let (train_ids, test_ids) = xrisk_data::train_test_split(&task.labels, 0.3, args.seed)?;
    let (train_set, test_set) = (task.select(&train_ids), task.select(&test_ids));
    let class = CLASS_NAMES[args.positive_class as usize];
    if !args.json {
        println!(
            "Fashion-MNIST (embedded test set): \"{class}\" vs rest at {:.1} % positives — train {} ({} positive), test {} ({} positive)",
            args.imratio * 100.0,
            train_set.len(),
            train_set.positives(),
            test_set.len(),
            test_set.positives()
        );
    }
    let methods = [
        Method::Ce,
        Method::AucmPesg,
        Method::ApSoap,
        Method::PaucSopaS,
    ];
    let multi = MultiProgress::new();
    if args.json {
        multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template("{prefix:>18} {bar:30} {pos}/{len} steps {elapsed}")
        .expect("static template");
    let mut outcomes = Vec::new();
    for m in methods {
        let bar = multi.add(ProgressBar::new(
            (steps_per_epoch(m, &args, &train_set.labels)? * args.epochs) as u64,
        ));
        bar.set_style(style.clone());
        bar.set_prefix(m.name());
        outcomes.push(train(m, &args, &train_set, &test_set, &bar)?);
        bar.finish();
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the report folder {}", args.out.display()))?;
    let rows: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| json!({"method": o.name, "auroc": o.auroc, "auprc": o.auprc, "pauc_fpr_0.3": o.pauc, "seconds": o.seconds}))
        .collect();
    let report = json!({
        "data": {"dataset": "fashion-mnist t10k (embedded)", "positive_class": args.positive_class, "class_name": class,
                 "imratio": args.imratio, "train": train_set.len(), "train_positives": train_set.positives(),
                 "test": test_set.len(), "test_positives": test_set.positives()},
        "model": "MLP 784-128-1", "epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
        "results": rows,
    });
    let write = |name: &str, text: String| -> Result<()> {
        let p = args.out.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))
    };
    write("metrics.json", serde_json::to_string_pretty(&report)?)?;
    let y: Vec<f64> = test_set.labels.iter().map(|&l| f64::from(l)).collect();
    let mut roc = String::from("method,fpr,tpr\n");
    let mut pr = String::from("method,recall,precision\n");
    for o in &outcomes {
        for p in xrisk_metrics::roc_curve(&y, &o.scores)? {
            roc.push_str(&format!("{},{},{}\n", o.name, p.fpr, p.tpr));
        }
        for p in xrisk_metrics::precision_recall_curve(&y, &o.scores)? {
            pr.push_str(&format!("{},{},{}\n", o.name, p.recall, p.precision));
        }
    }
    write("roc_curve.csv", roc)?;
    write("pr_curve.csv", pr)?;
    if args.json {
        println!("{}", serde_json::Value::Array(rows));
    } else {
        let table_rows: Vec<Vec<String>> = outcomes
            .iter()
            .map(|o| {
                vec![
                    o.name.into(),
                    format!("{:.4}", o.auroc),
                    format!("{:.4}", o.auprc),
                    format!("{:.4}", o.pauc),
                    format!("{:.1}", o.seconds),
                ]
            })
            .collect();
        println!(
            "\n{}",
            table(
                &["method", "AUROC", "AUPRC", "pAUC(FPR≤0.3)", "seconds"],
                &table_rows
            )
        );
        println!("\nreport: {}", args.out.display());
    }
    Ok(())
}
