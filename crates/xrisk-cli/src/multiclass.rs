//! `xrisk train` on many-class data with the compositional entropic loss (SCENT or SOX,
//! `[loss] kind = "entropic"`, `estimator = "scent" | "sox"`) or the full softmax
//! cross-entropy baseline (`kind = "softmax_ce"`). Spec `libauc_spec.md` §2.17, §3.8.
//!
//! Data: `dataset = "letter"` (UCI Letter Recognition, 26 classes, `xrisk data fetch
//! letter`), `format = "synthetic_classes"` (`n_classes` Gaussian prototypes, `rows_per_class`
//! rows each, `n_features`, `noise`; for showing scale), or csv/tsv/svmlight files whose label
//! column holds class indices 0…K−1. Rows are split by a seeded `test_fraction` (default 0.3)
//! unless `[data] test` is given. Batches are shuffled rows; the entropic loss scores each
//! batch against its distinct labels plus `[sampler] num_neg` random other classes (LibAUC's
//! tutorial uses the batch's labels), so its step cost does not grow with K; the softmax
//! baseline scores every class. The optimizer is `scent` (SGD whose momentum moves only in
//! the class rows a batch touched) or any plain one. Each epoch reports test top-1 and top-5
//! accuracy and the test cross-entropy; `--out` writes `metrics.jsonl` and `timing.jsonl`.

use crate::config::Config;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::seq::index;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::path::Path;
use std::time::Instant;
use xrisk::loss::{EntConfig, EntEstimator, EntLossClassification};
use xrisk::optim::{ProximalOptimizer, ScentConfig};
use xrisk::xc::XcClassifier;
use xrisk_data::Dataset;
use xrisk_data::registry::{fetched_file, paths};

fn load(cfg: &Config) -> Result<(Dataset, Dataset)> {
    let d = &cfg.data;
    let all = match (d.format.as_str(), d.dataset.as_deref()) {
        (_, Some("letter")) => {
            xrisk_data::readers::letter::read_letter(&fetched_file("letter", paths::LETTER)?)?
        }
        (_, Some(other)) => bail!("[data] dataset = \"{other}\": many-class runs know letter"),
        ("synthetic_classes", None) => {
            let (n, r, f) = (
                d.n_classes.unwrap_or(10_000),
                d.rows_per_class.unwrap_or(10),
                d.n_features.unwrap_or(32),
            );
            xrisk::resources::MemoryPlan::new()
                .table(
                    "the generated rows",
                    "[data] n_classes / rows_per_class / n_features",
                    n as f64 * (r as f64 + 1.0) * f as f64,
                )
                .check_available()?;
            xrisk_data::synthetic::gaussian_classes(
                n,
                r,
                f,
                d.noise.unwrap_or(0.5),
                cfg.train.seed,
            )?
        }
        (_, None) => {
            let path = d.train.as_ref().context(
                "[data] needs `train`, dataset = \"letter\" or format = \"synthetic_classes\"",
            )?;
            crate::train::read(d, "train", path, d.train_labels.as_ref(), d.n_features)?
        }
    };
    let (mut train, mut test) = match (&d.test, d.format.as_str()) {
        (Some(p), f) if f != "synthetic_classes" => {
            let t = crate::train::read(d, "test", p, d.test_labels.as_ref(), Some(all.dim))?;
            (all, t)
        }
        _ => crate::train::random_split(&all, d.test_fraction.unwrap_or(0.3), cfg.train.seed)?,
    };
    for (name, part) in [("train", &train), ("test", &test)] {
        if let Some(i) = part
            .labels
            .iter()
            .position(|&v| v < 0.0 || v.fract() != 0.0 || v > 1e7)
        {
            bail!(
                "[data] {name} row {}: label {} is not a class index 0, 1, 2, …",
                i + 1,
                part.labels[i]
            );
        }
    }
    crate::train::normalize_features(d, &mut train, &mut test)?;
    Ok((train, test))
}

// One value per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum Loss {
    Entropic(EntLossClassification),
    Softmax,
}

fn optimizer(cfg: &Config) -> Result<ProximalOptimizer> {
    let o = &cfg.optimizer;
    if o.kind == "scent" {
        let d = ScentConfig::default();
        return Ok(ScentConfig {
            lr: o.lr.unwrap_or(d.lr),
            momentum: o.momentum.unwrap_or(d.momentum),
            dampening: o.dampening.unwrap_or(d.dampening),
            nesterov: o.nesterov.unwrap_or(d.nesterov),
            weight_decay: o.weight_decay.unwrap_or(d.weight_decay),
        }
        .init());
    }
    crate::train::build_plain_optimizer(
        o,
        "many-class runs use scent or a plain optimizer (sgd, adam, adamw)",
    )
}

/// Test top-1 and top-5 accuracy and mean cross-entropy over all classes.
fn evaluate(model: &XcClassifier, test: &Dataset, device: &Device) -> Result<(f64, f64, f64)> {
    let eval = model.valid();
    let inference = device.clone().without_autodiff();
    let (mut top1, mut top5, mut ce) = (0usize, 0usize, 0f64);
    for start in (0..test.len()).step_by(512) {
        let end = (start + 512).min(test.len());
        let x = Tensor::<2>::from_data(
            TensorData::new(
                test.features[start * test.dim..end * test.dim].to_vec(),
                [end - start, test.dim],
            ),
            &inference,
        );
        let z: Vec<f32> = eval
            .logits(x)
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let k = eval.n_classes();
        for (r, row) in z.chunks(k).enumerate() {
            let y = test.labels[start + r] as usize;
            if y >= k {
                bail!(
                    "test row {}: class {y} but the model has {k} classes",
                    start + r + 1
                );
            }
            if row.iter().any(|v| !v.is_finite()) {
                bail!(
                    "test row {}: a score is not finite; training diverged, lower the learning rate",
                    start + r + 1
                );
            }
            let above = row.iter().filter(|&&v| v > row[y]).count();
            top1 += usize::from(above == 0);
            top5 += usize::from(above < 5);
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = f64::from(m)
                + row
                    .iter()
                    .map(|&v| f64::from(v - m).exp())
                    .sum::<f64>()
                    .ln();
            ce += lse - f64::from(row[y]);
        }
    }
    let n = test.len().max(1) as f64;
    Ok((top1 as f64 / n, top5 as f64 / n, ce / n))
}

/// Runs a many-class config; with `dir`, writes config.toml, metrics.jsonl and timing.jsonl.
pub fn run(cfg: &Config, dir: Option<&Path>, config_text: &str, json_out: bool) -> Result<()> {
    let (train, test) = load(cfg)?;
    let n_classes = train
        .labels
        .iter()
        .chain(&test.labels)
        .fold(0f32, |a, &b| a.max(b)) as usize
        + 1;
    eprintln!(
        "data: train {} rows, test {} rows, {} features, {n_classes} classes",
        train.len(),
        test.len(),
        train.dim
    );
    if !matches!(cfg.model.kind.as_str(), "mlp" | "linear") {
        bail!(
            "[model] kind = \"{}\": many-class runs train a linear or mlp encoder with a class matrix",
            cfg.model.kind
        );
    }
    let hidden = cfg.model.dense_hidden();
    let device = cfg.train.device()?;
    device.seed(cfg.train.seed);
    crate::train::check_dense_memory(
        cfg,
        "[model] hidden (or the number of classes)",
        train.dim,
        &hidden,
        n_classes,
    )?;
    let mut model = XcClassifier::new(train.dim, &hidden, n_classes, &device);
    let l = &cfg.loss;
    let mut loss = if l.kind == "entropic" {
        let estimator = match l.estimator.as_deref() {
            None | Some("scent") => EntEstimator::Scent,
            Some("sox") => EntEstimator::Sox,
            Some(o) => bail!("[loss] estimator = \"{o}\": use scent or sox"),
        };
        let d = EntConfig::new(train.len());
        Loss::Entropic(EntLossClassification::new(
            EntConfig {
                alpha: l.alpha.unwrap_or(d.alpha),
                gamma: l.gamma.unwrap_or(d.gamma),
                estimator,
                alpha_multiplier: l.alpha_multiplier.unwrap_or(d.alpha_multiplier),
                ..d
            },
            &device,
        )?)
    } else {
        Loss::Softmax
    };
    let mut opt = optimizer(cfg)?;
    let mut sampler = xrisk_data::sampler::RandomSampler::new(
        train.len(),
        cfg.sampler.batch_size,
        true,
        cfg.train.seed,
    )?;
    let extra = cfg.sampler.num_neg.unwrap_or(0).min(n_classes);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.train.seed ^ 0x7863_0000);
    let mut logs = match dir {
        Some(d) => Some(crate::train::open_run_folder(d, config_text, None)?),
        None => None,
    };
    let decay = cfg.train.decay_epochs();
    let bar = crate::runlog::progress(sampler.num_batches() * cfg.train.epochs, "steps");
    let mut last = None;
    for epoch in 0..cfg.train.epochs {
        if decay.contains(&epoch) {
            opt.update_lr(cfg.train.decay_factor);
        }
        if let Loss::Entropic(e) = &mut loss {
            e.adjust_gamma(epoch, cfg.train.epochs);
        }
        let start = Instant::now();
        let (mut total, mut steps) = (0.0, 0usize);
        for ids in cfg.train.cap(sampler.next_epoch()) {
            let x: Vec<f32> = ids.iter().flat_map(|&i| train.row(i).to_vec()).collect();
            let x = Tensor::<2>::from_data(TensorData::new(x, [ids.len(), train.dim]), &device);
            let y: Vec<usize> = ids.iter().map(|&i| train.labels[i] as usize).collect();
            let value = match &mut loss {
                Loss::Entropic(e) => {
                    let mut classes = y.clone();
                    classes.extend(index::sample(&mut rng, n_classes, extra));
                    classes.sort_unstable();
                    classes.dedup();
                    if classes.len() < 2 {
                        // One class in the batch: score it against one random other class.
                        classes.push((y[0] + 1 + rng.random_range(0..n_classes - 1)) % n_classes);
                        classes.sort_unstable();
                    }
                    let lg = model.relative_logits(x, &y, &classes)?;
                    e.forward(lg, &ids)?
                }
                Loss::Softmax => {
                    let z = model.logits(x);
                    let yi = Tensor::<2, Int>::from_data(
                        TensorData::new(
                            y.iter().map(|&v| v as i64).collect::<Vec<_>>(),
                            [y.len(), 1],
                        ),
                        &device,
                    );
                    let own = z.clone().gather(1, yi);
                    let m = z.clone().detach().max_dim(1);
                    let lse = (z - m.clone()).exp().sum_dim(1).log() + m;
                    (lse - own).mean()
                }
            };
            let v = crate::runlog::loss_value(&value, epoch)?;
            total += v;
            steps += 1;
            let mut g = GradientsParams::from_grads(value.backward(), &model);
            model = opt.step(model, &mut g);
            bar.inc(1);
        }
        let seconds = start.elapsed().as_secs_f64();
        let (t1, t5, ce) = evaluate(&model, &test, &device)?;
        let loss_mean = total / steps.max(1) as f64;
        bar.suspend(|| {
            eprintln!(
                "epoch {:>3}  loss {loss_mean:>9.5}  test top-1 {t1:.4}  top-5 {t5:.4}  CE {ce:.4}  {seconds:.2}s",
                epoch + 1
            )
        });
        let line = json!({"epoch": epoch + 1, "train_loss": loss_mean,
                          "test": {"top1": t1, "top5": t5, "ce": ce}});
        crate::runlog::append_epoch(&mut logs, &line, epoch + 1, seconds, steps)?;
        last = Some((t1, t5, ce));
    }
    bar.finish_and_clear();
    let (t1, t5, ce) = match last {
        Some(v) => v,
        None => evaluate(&model, &test, &device)?,
    };
    if json_out {
        println!("{}", json!({"test": {"top1": t1, "top5": t5, "ce": ce}}));
    } else {
        println!("test: top-1 {t1:.4}  top-5 {t5:.4}  CE {ce:.4}");
    }
    Ok(())
}
