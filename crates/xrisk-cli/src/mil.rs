//! `xrisk train` on multiple-instance data (`[data] format = "mil"`): bags of instances with
//! one 0/1 label per bag, LibAUC's `FFNN_stoc_att` instance model, and either MIDAM (stochastic
//! softmax or attention pooling, `[loss] kind = "midam"`, `[optimizer] kind = "midam"`) or the
//! usual deep-MIL baseline: binary cross-entropy on the bag score pooled over *all* the bag's
//! instances (`[loss] kind = "ce"`, `pooling = "mean" | "max" | "softmax" | "attention"`, any
//! plain optimizer). Spec `libauc_spec.md` §2.16, §3.7, §7.8.
//!
//! Bags come from `[data] train` (a MIL CSV) or `dataset` (one of `xrisk data fetch mil`); the
//! test bags from `[data] test`, or else a stratified, seeded `test_fraction` of them;
//! batches come from the DualSampler over bag labels; MIDAM samples `[sampler] instances`
//! instances per bag (default 4, fewer when a bag is smaller) with a seeded RNG. Evaluation
//! pools every instance of each test bag with the loss's pooling (LibAUC's `MIL_aggregation`)
//! and reports AUROC, AUPRC and pAUC per epoch, like the binary runs, into `metrics.jsonl`
//! and `report.html` with `--out`.

use crate::config::Config;
use anyhow::{Result, bail};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::path::Path;
use std::time::Instant;
use xrisk::loss::{CrossEntropyLoss, MidamConfig, MidamInput, MidamLoss, MidamPooling};
use xrisk::mil::{AttentionMil, Pooling};
use xrisk::optim::{Midam, MidamConfig as MidamOptConfig};
use xrisk_data::Dataset;
use xrisk_data::readers::mil::{Bag, MilDataset};
use xrisk_data::registry::{fetched_file, paths};

/// Data sets of the `mil` package (`xrisk data fetch mil`) by name.
const MIL_SETS: &[&str] = &[
    "musk1",
    "musk2",
    "elephant",
    "fox",
    "tiger",
    "corel_dogs",
    "protein",
    "ucsb_breast_cancer",
    "web_recommendation_1",
];

fn load(cfg: &Config) -> Result<MilDataset> {
    let path = match (&cfg.data.dataset, &cfg.data.train) {
        (Some(name), None) => {
            let p = fetched_file("mil", paths::MIL_CSV)?.join(format!("{name}.csv"));
            if !p.exists() {
                bail!(
                    "[data] dataset = \"{name}\": no {} (known: {})",
                    p.display(),
                    MIL_SETS.join(", ")
                );
            }
            p
        }
        (None, Some(p)) => p.clone(),
        (Some(_), Some(_)) => bail!("[data] give either `dataset` or `train`, not both"),
        (None, None) => {
            bail!("[data] format = \"mil\" needs `dataset` (e.g. musk1) or `train` (a MIL CSV)")
        }
    };
    Ok(xrisk_data::readers::mil::read_mil(&path)?)
}

/// Fits `[data] normalize` on the training bags' instances and applies it to every bag.
fn normalize(cfg: &Config, train: &mut [Bag], test: &mut [Bag], dim: usize) -> Result<()> {
    let Some(how) = crate::train::normalize_kind(&cfg.data)? else {
        return Ok(());
    };
    let instances: Vec<f32> = train
        .iter()
        .flat_map(|b| b.instances.iter().copied())
        .collect();
    if let Some(s) = xrisk_data::scaler::FeatureScaler::fit_rows(&instances, dim, how) {
        for b in train.iter_mut().chain(test.iter_mut()) {
            s.apply_rows(&mut b.instances, dim)?;
        }
    }
    Ok(())
}

/// What trains the model.
// One value per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum Method {
    Midam(MidamLoss, Midam),
    Ce(Pooling, xrisk::optim::ProximalOptimizer),
}

fn pooling_name(p: Pooling) -> &'static str {
    match p {
        Pooling::Mean => "mean",
        Pooling::Max => "max",
        Pooling::Softmax { .. } => "softmax",
        Pooling::Attention => "attention",
    }
}

fn method(cfg: &Config, n_bags: usize, device: &Device) -> Result<Method> {
    let l = &cfg.loss;
    let tau = l.tau.unwrap_or(0.1);
    let pooling = match l.pooling.as_deref() {
        None | Some("attention") => Pooling::Attention,
        Some("softmax") => Pooling::Softmax { tau },
        Some("mean") if l.kind == "ce" => Pooling::Mean,
        Some("max") if l.kind == "ce" => Pooling::Max,
        Some(other) => bail!(
            "[loss] pooling = \"{other}\": MIDAM pools by softmax or attention; ce also by mean or max"
        ),
    };
    match l.kind.as_str() {
        "midam" => {
            if cfg.optimizer.kind != "midam" {
                bail!(
                    "[optimizer] kind = \"{}\": the midam loss is optimized by kind = \"midam\"",
                    cfg.optimizer.kind
                );
            }
            let mp = match pooling {
                Pooling::Softmax { tau } => MidamPooling::Softmax { tau },
                _ => MidamPooling::Attention,
            };
            let loss = MidamLoss::new(
                MidamConfig {
                    margin: l.margin.unwrap_or(1.0),
                    gamma: l.gamma.unwrap_or(0.9),
                    ..MidamConfig::new(n_bags, mp)
                },
                device,
            )?;
            let o = &cfg.optimizer;
            let d = MidamOptConfig::default();
            let opt = MidamOptConfig {
                lr: o.lr.unwrap_or(d.lr),
                momentum: o.momentum.unwrap_or(d.momentum),
                weight_decay: o.weight_decay.unwrap_or(d.weight_decay),
            }
            .init();
            Ok(Method::Midam(loss, opt))
        }
        "ce" => Ok(Method::Ce(
            pooling,
            crate::train::build_plain_optimizer(
                &cfg.optimizer,
                "MIL cross-entropy uses a plain optimizer (adam, sgd, adamw)",
            )?,
        )),
        other => bail!(
            "[loss] kind = \"{other}\": MIL data trains with midam (MIDAM) or ce (pooled cross-entropy)"
        ),
    }
}

/// The `[B, Σn]` averaging matrix of bags with `sizes` instances (row b: 1/n_b on its block).
fn averaging(sizes: &[usize], device: &Device) -> Tensor<2> {
    let total: usize = sizes.iter().sum();
    let mut m = vec![0f32; sizes.len() * total];
    let mut at = 0;
    for (b, &n) in sizes.iter().enumerate() {
        for j in at..at + n {
            m[b * total + j] = 1.0 / n as f32;
        }
        at += n;
    }
    Tensor::from_data(TensorData::new(m, [sizes.len(), total]), device)
}

fn instances_tensor(rows: Vec<f32>, dim: usize, device: &Device) -> Tensor<2> {
    let n = rows.len() / dim;
    Tensor::from_data(TensorData::new(rows, [n, dim]), device)
}

/// Bag scores of `bags` pooled over all their instances, on the host.
fn scores(
    model: &AttentionMil,
    bags: &[Bag],
    dim: usize,
    pooling: Pooling,
    device: &Device,
) -> Vec<f64> {
    let inference = device.clone().without_autodiff();
    let model = model.valid();
    bags.iter()
        .map(|b| {
            let x = instances_tensor(b.instances.clone(), dim, &inference);
            let (phi, w) = model.forward(x);
            f64::from(pooling.pool(phi, w).into_scalar::<f32>())
        })
        .collect()
}

fn bag_labels(bags: &[Bag]) -> Dataset {
    Dataset {
        features: Vec::new(),
        dim: 0,
        labels: bags.iter().map(|b| b.label).collect(),
        n_tasks: 1,
        groups: None,
    }
}

/// Runs a MIL config; with `dir`, writes config.toml, metrics.jsonl, timing.jsonl and
/// report.html there.
pub fn run(
    cfg: &Config,
    dir: Option<&Path>,
    config_text: &str,
    config_path: &Path,
    json_out: bool,
) -> Result<()> {
    let data = load(cfg)?;
    let dim = data.dim;
    let (mut train, mut test): (Vec<Bag>, Vec<Bag>) = match &cfg.data.test {
        Some(path) => {
            let t = xrisk_data::readers::mil::read_mil(path)?;
            if t.dim != dim {
                bail!(
                    "{}: {} features per instance, the training bags have {dim}",
                    path.display(),
                    t.dim
                );
            }
            (data.bags, t.bags)
        }
        None => {
            let labels: Vec<f32> = data.bags.iter().map(|b| b.label).collect();
            let (tr, te) = xrisk_data::train_test_split(
                &labels,
                cfg.data.test_fraction.unwrap_or(0.3),
                cfg.train.seed,
            )?;
            (
                tr.iter().map(|&i| data.bags[i].clone()).collect(),
                te.iter().map(|&i| data.bags[i].clone()).collect(),
            )
        }
    };
    normalize(cfg, &mut train, &mut test, dim)?;
    let (train_set, test_set) = (bag_labels(&train), bag_labels(&test));
    eprintln!(
        "data: {} training bags ({} positive), {} test bags ({} positive), {} features per instance",
        train.len(),
        train_set.positives(),
        test.len(),
        test_set.positives(),
        dim
    );
    if !matches!(cfg.model.kind.as_str(), "ffnn_att") {
        bail!(
            "[model] kind = \"{}\": MIL data trains LibAUC's FFNN_stoc_att, kind = \"ffnn_att\" (with `hidden`)",
            cfg.model.kind
        );
    }
    let device = cfg.train.device()?;
    device.seed(cfg.train.seed);
    let hidden = cfg.model.hidden.as_deref().unwrap_or(&[16]);
    crate::train::check_dense_memory(cfg, "[model] hidden", dim, hidden, 1)?;
    let mut model = AttentionMil::new(dim, hidden, &device);
    let mut method = method(cfg, train.len(), &device)?;
    let eval_pooling = match &method {
        Method::Midam(l, _) => match l.config().pooling {
            MidamPooling::Softmax { tau } => Pooling::Softmax { tau },
            MidamPooling::Attention => Pooling::Attention,
        },
        Method::Ce(p, _) => *p,
    };
    let per_bag = cfg.sampler.instances.unwrap_or(4);
    let mut sampler = xrisk_data::sampler::DualSampler::new(
        &train_set.labels,
        cfg.sampler.batch_size,
        cfg.sampler.sampling_rate,
        cfg.train.seed,
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.train.seed ^ 0x6d69_6c00);
    let mut logs = match dir {
        Some(d) => Some(crate::train::open_run_folder(d, config_text, None)?),
        None => None,
    };
    let decay = cfg.train.decay_epochs();
    let max_fpr = cfg.train.max_fpr;
    let bar = crate::runlog::progress(sampler.num_batches() * cfg.train.epochs, "steps");
    let mut final_scores = Vec::new();
    for epoch in 0..cfg.train.epochs {
        if decay.contains(&epoch) {
            match &mut method {
                Method::Midam(loss, opt) => {
                    opt.update_lr(cfg.train.decay_factor);
                    loss.update_smoothing(2.0)?;
                }
                Method::Ce(_, opt) => opt.update_lr(cfg.train.decay_factor),
            }
        }
        let start = Instant::now();
        let (mut total, mut steps) = (0.0, 0usize);
        for ids in cfg.train.cap(sampler.next_epoch()) {
            let bl: Vec<f32> = ids.iter().map(|&i| train_set.labels[i]).collect();
            let value = match &mut method {
                Method::Midam(loss, _) => {
                    let (mut rows, mut sizes) = (Vec::new(), Vec::new());
                    for &i in &ids {
                        let b = &train[i];
                        let n = b.instances.len() / dim;
                        let k = per_bag.min(n);
                        for j in index::sample(&mut rng, n, k) {
                            rows.extend_from_slice(&b.instances[j * dim..(j + 1) * dim]);
                        }
                        sizes.push(k);
                    }
                    let (phi, w) = model.forward(instances_tensor(rows, dim, &device));
                    let avg = averaging(&sizes, &device);
                    let col = |t: Tensor<1>| {
                        let n = t.dims()[0];
                        avg.clone().matmul(t.reshape([n, 1])).reshape([ids.len()])
                    };
                    let input = match loss.config().pooling {
                        MidamPooling::Softmax { tau } => {
                            MidamInput::Softmax(col((phi / tau).exp()))
                        }
                        MidamPooling::Attention => MidamInput::Attention {
                            sn: col(phi * w.clone()),
                            sd: col(w),
                        },
                    };
                    loss.forward(input, &bl, &ids)?
                }
                Method::Ce(pooling, _) => {
                    let pooled: Vec<Tensor<1>> = ids
                        .iter()
                        .map(|&i| {
                            let (phi, w) = model.forward(instances_tensor(
                                train[i].instances.clone(),
                                dim,
                                &device,
                            ));
                            pooling.pool(phi, w)
                        })
                        .collect();
                    CrossEntropyLoss.forward(Tensor::cat(pooled, 0), &bl)?
                }
            };
            let v = crate::runlog::loss_value(&value, epoch)?;
            total += v;
            steps += 1;
            let grads = value.backward();
            model = match &mut method {
                Method::Midam(loss, opt) => opt.step(model, loss, grads),
                Method::Ce(_, opt) => {
                    let mut g = GradientsParams::from_grads(grads, &model);
                    opt.step(model, &mut g)
                }
            };
            bar.inc(1);
        }
        let seconds = start.elapsed().as_secs_f64();
        let s = scores(&model, &test, dim, eval_pooling, &device);
        let m = crate::train::evaluate(&test_set, &s, max_fpr)?;
        let loss_mean = total / steps.max(1) as f64;
        let lr = match &method {
            Method::Midam(_, o) => o.inner.config.lr,
            Method::Ce(_, o) => o.config.lr,
        };
        bar.suspend(|| {
            eprintln!(
                "epoch {:>3}  loss {loss_mean:>9.5}  lr {lr:.2e}  test AUROC {:.4}  AUPRC {:.4}  pAUC(FPR≤{max_fpr}) {:.4}  {seconds:.1}s",
                epoch + 1,
                m.auroc,
                m.auprc,
                m.pauc
            )
        });
        let line = json!({"epoch": epoch + 1, "train_loss": loss_mean, "objective": null, "lr": lr,
                          "test": {"auroc": m.auroc, "auprc": m.auprc, "pauc": m.pauc, "pauc_max_fpr": max_fpr}});
        crate::runlog::append_epoch(&mut logs, &line, epoch + 1, seconds, steps)?;
        final_scores = s;
    }
    bar.finish_and_clear();
    if final_scores.is_empty() {
        final_scores = scores(&model, &test, dim, eval_pooling, &device);
    }
    let m = crate::train::evaluate(&test_set, &final_scores, max_fpr)?;
    if let Some(d) = dir {
        let name = match &method {
            Method::Midam(..) => format!("midam ({})", pooling_name(eval_pooling)),
            Method::Ce(p, _) => format!("ce ({} pooling)", pooling_name(*p)),
        };
        let report = crate::report::write(&crate::report::RunReport {
            dir: d,
            config_text,
            config_path,
            train: &train_set,
            test: &test_set,
            scores: &final_scores,
            name: &name,
            max_fpr,
            final_auroc: m.auroc,
            final_auprc: m.auprc,
            final_pauc: m.pauc,
        })?;
        eprintln!("report: {}", report.display());
    }
    if json_out {
        println!(
            "{}",
            json!({"test": {"auroc": m.auroc, "auprc": m.auprc, "pauc": m.pauc, "pauc_max_fpr": max_fpr}})
        );
    } else {
        println!(
            "test: AUROC {:.4}  AUPRC {:.4}  pAUC(FPR≤{max_fpr}) {:.4}",
            m.auroc, m.auprc, m.pauc
        );
    }
    Ok(())
}
