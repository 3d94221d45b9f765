//! `xrisk train` on multi-label tables: several 0/1 label columns per row (`[data]
//! label_columns = [...]` or `label_prefix = "Class"`, or `dataset = "yeast"`), an MLP with one
//! logit per task, and `MultiLabelAucmLoss` + PESG (`[loss] kind = "multilabel_aucm"`),
//! `MapLoss` + SOAP (`kind = "map"`), the one-way pAUC per task + SOPA-s
//! (`kind = "multilabel_pauc"`) or per-task binary cross-entropy (`kind = "ce"`) with a plain
//! optimizer. Spec `libauc_spec.md` §2.2, §2.5, §4.4, §7.5.
//!
//! The X-risk losses draw batches from the TriSampler in classification mode (`[sampler]
//! batch_size` ids per task — positives at `sampling_rate` — over `tasks_per_batch` tasks, all
//! by default); the loss averages over the batch's tasks. CE uses shuffled batches. Rows are
//! split by a seeded `test_fraction` (default 0.3) unless `[data] test` is given. Each epoch
//! reports the test AUROC and AP of every task and their means; `--out` writes
//! `metrics.jsonl` and `timing.jsonl`.

use crate::config::Config;
use anyhow::{Result, bail};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::json;
use std::path::Path;
use std::time::Instant;
use xrisk::loss::{
    AucmConfig, MapConfig, MapLoss, MultiLabelAucmLoss, MultiLabelPAucLoss, PAucBackend,
    PAucDroConfig,
};
use xrisk::model::Mlp;
use xrisk::optim::{Pesg, PesgConfig, ProximalOptimizer};
use xrisk_data::Dataset;
use xrisk_data::registry::{fetched_file, paths};
use xrisk_data::sampler::{RandomSampler, TriBatch, TriSampler, TriSamplerConfig};

fn read(cfg: &Config, path: &Path) -> Result<Dataset> {
    let delimiter = match cfg.data.format.as_str() {
        "csv" => b',',
        "tsv" => b'\t',
        other => bail!("[data] format = \"{other}\": multi-label data is read from csv or tsv"),
    };
    let t = xrisk_data::readers::table::read_table(path, delimiter, true)?;
    let cols: Vec<usize> = match (&cfg.data.label_columns, &cfg.data.label_prefix) {
        (Some(names), None) => names
            .iter()
            .map(|n| t.column_index(n))
            .collect::<std::result::Result<_, _>>()?,
        (None, prefix) => {
            let p = prefix.as_deref().unwrap_or("Class");
            let c: Vec<usize> = (0..t.columns.len())
                .filter(|&i| t.columns[i].starts_with(p))
                .collect();
            if c.is_empty() {
                bail!(
                    "{}: no column starts with \"{p}\" (label_prefix); the columns are: {}",
                    path.display(),
                    t.columns.join(", ")
                );
            }
            c
        }
        (Some(_), Some(_)) => bail!("[data] give label_columns or label_prefix, not both"),
    };
    let d = t.into_dataset(&cols)?;
    if let Some(i) = d.labels.iter().position(|&v| v != 0.0 && v != 1.0) {
        bail!(
            "{}: row {}, label column {}: {} is not 0 or 1",
            path.display(),
            i / d.n_tasks + 1,
            i % d.n_tasks + 1,
            d.labels[i]
        );
    }
    Ok(d)
}

fn load(cfg: &Config) -> Result<(Dataset, Dataset)> {
    let train_path = match (&cfg.data.dataset, &cfg.data.train) {
        (Some(name), None) if name == "yeast" => fetched_file("yeast", paths::YEAST)?,
        (Some(name), None) => bail!("[data] dataset = \"{name}\": multi-label runs know yeast"),
        (None, Some(p)) => p.clone(),
        (Some(_), Some(_)) => bail!("[data] give either `dataset` or `train`, not both"),
        (None, None) => bail!("[data] needs `train` (a csv/tsv file) or dataset = \"yeast\""),
    };
    let all = read(cfg, &train_path)?;
    let (mut train, mut test) = match &cfg.data.test {
        Some(p) => (all, read(cfg, p)?),
        None => {
            // A seeded random split (stratifying on one of many tasks would favour it).
            let (tr, te) = xrisk_data::train_test_split(
                &vec![0.0; all.len()],
                cfg.data.test_fraction.unwrap_or(0.3),
                cfg.train.seed,
            )?;
            (all.select(&tr), all.select(&te))
        }
    };
    if train.dim != test.dim || train.n_tasks != test.n_tasks {
        bail!(
            "train has {} features and {} labels per row, test {} and {}",
            train.dim,
            train.n_tasks,
            test.dim,
            test.n_tasks
        );
    }
    crate::train::normalize_features(&cfg.data, &mut train, &mut test)?;
    Ok((train, test))
}

// One value per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum Method {
    Aucm(MultiLabelAucmLoss, Pesg),
    Map(MapLoss, ProximalOptimizer),
    PAuc(MultiLabelPAucLoss, ProximalOptimizer),
    Ce(ProximalOptimizer),
}

fn method(cfg: &Config, train: &Dataset, device: &Device) -> Result<Method> {
    let l = &cfg.loss;
    let plain = || {
        crate::train::build_plain_optimizer(
            &cfg.optimizer,
            &format!(
                "loss `{}` uses a plain optimizer here (soap for map; adam, sgd, adamw for ce)",
                l.kind
            ),
        )
    };
    Ok(match l.kind.as_str() {
        "multilabel_aucm" => {
            if cfg.optimizer.kind != "pesg" {
                bail!(
                    "[optimizer] kind = \"{}\": multilabel_aucm is optimized by pesg",
                    cfg.optimizer.kind
                );
            }
            let version = match l.version.as_deref() {
                None | Some("v1") => xrisk::loss::AucmVersion::V1,
                Some("v2") => xrisk::loss::AucmVersion::V2,
                Some(v) => bail!("[loss] version = \"{v}\": use v1 or v2"),
            };
            let loss = MultiLabelAucmLoss::new(
                AucmConfig {
                    margin: l.margin.unwrap_or(1.0),
                    version,
                },
                train.n_tasks,
                device,
            )?;
            let o = &cfg.optimizer;
            let d = PesgConfig::default();
            let pesg = PesgConfig {
                lr: o.lr.unwrap_or(d.lr),
                momentum: o.momentum.unwrap_or(d.momentum),
                clip_value: o.clip_value.unwrap_or(d.clip_value),
                weight_decay: o.weight_decay.unwrap_or(d.weight_decay),
                epoch_decay: o.epoch_decay.unwrap_or(d.epoch_decay),
                compat_2_0_1: o.compat_2_0_1.unwrap_or(false),
            }
            .init();
            Method::Aucm(loss, pesg)
        }
        "map" => {
            let loss = MapLoss::new(
                MapConfig {
                    gamma: l.gamma.unwrap_or(0.9),
                    margin: l.margin.unwrap_or(1.0),
                    top_k: l.k.map(|k| k as f64),
                    ..MapConfig::new(train.len(), train.n_tasks)
                },
                device,
            )?;
            Method::Map(loss, plain()?)
        }
        "multilabel_pauc" => {
            let d = PAucDroConfig::new(train.len());
            let loss = MultiLabelPAucLoss::new(
                PAucBackend::OneWay(PAucDroConfig {
                    gamma: l.gamma.unwrap_or(d.gamma),
                    margin: l.margin.unwrap_or(d.margin),
                    lambda: l.lambda.unwrap_or(d.lambda),
                    ..d
                }),
                train.n_tasks,
                device,
            )?;
            Method::PAuc(loss, plain()?)
        }
        "ce" => Method::Ce(plain()?),
        other => bail!(
            "[loss] kind = \"{other}\": multi-label data trains with multilabel_aucm (+ pesg), map (+ soap), multilabel_pauc (+ sopas) or ce"
        ),
    })
}

/// One batch: row ids and the batch's task ids (empty = all tasks).
type Batch = (Vec<usize>, Vec<usize>);

/// Per-task test AUROC and AP (tasks with a single class in the test part are skipped).
struct TaskMetrics {
    auroc: Vec<Option<f64>>,
    ap: Vec<Option<f64>>,
}

impl TaskMetrics {
    fn mean(v: &[Option<f64>]) -> f64 {
        let s: Vec<f64> = v.iter().flatten().copied().collect();
        s.iter().sum::<f64>() / s.len().max(1) as f64
    }
}

fn evaluate(model: &Mlp, test: &Dataset, device: &Device) -> Result<TaskMetrics> {
    use burn::module::Module;
    let eval = model.valid();
    let inference = device.clone().without_autodiff();
    let x = Tensor::<2>::from_data(
        TensorData::new(test.features.clone(), [test.len(), test.dim]),
        &inference,
    );
    let z: Vec<f32> = eval
        .forward_all(x)
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    let t = test.n_tasks;
    if let Some(i) = z.iter().position(|v| !v.is_finite()) {
        bail!(
            "the model's test score {} (task {}) is {}: training diverged; lower the learning rate",
            i / t,
            i % t,
            z[i]
        );
    }
    let (mut auroc, mut ap) = (Vec::new(), Vec::new());
    for k in 0..t {
        let y: Vec<f64> = (0..test.len())
            .map(|i| f64::from(test.labels[i * t + k]))
            .collect();
        let s: Vec<f64> = (0..test.len()).map(|i| f64::from(z[i * t + k])).collect();
        let both = y.contains(&1.0) && y.contains(&0.0);
        auroc.push(both.then(|| xrisk_metrics::auroc(&y, &s)).transpose()?);
        ap.push(
            both.then(|| xrisk_metrics::average_precision(&y, &s))
                .transpose()?,
        );
    }
    Ok(TaskMetrics { auroc, ap })
}

/// Runs a multi-label config; with `dir`, writes config.toml, metrics.jsonl and timing.jsonl.
pub fn run(cfg: &Config, dir: Option<&Path>, config_text: &str, json_out: bool) -> Result<()> {
    let (train, test) = load(cfg)?;
    let t = train.n_tasks;
    let positives: Vec<usize> = (0..t)
        .map(|k| {
            (0..train.len())
                .filter(|&i| train.labels[i * t + k] == 1.0)
                .count()
        })
        .collect();
    eprintln!(
        "data: train {} rows, test {} rows, {} features, {t} tasks (training positives per task: {positives:?})",
        train.len(),
        test.len(),
        train.dim
    );
    if !matches!(cfg.model.kind.as_str(), "mlp" | "linear") {
        bail!(
            "[model] kind = \"{}\": multi-label tables train an mlp or linear model",
            cfg.model.kind
        );
    }
    let device = cfg.train.device()?;
    device.seed(cfg.train.seed);
    let hidden = cfg.model.dense_hidden();
    crate::train::check_dense_memory(cfg, "[model] hidden", train.dim, &hidden, t)?;
    let mut model = Mlp::with_outputs(train.dim, &hidden, t, &device);
    let mut method = method(cfg, &train, &device)?;
    // Batches: (row ids, task ids of the batch — empty = all).
    let mut next_epoch: Box<dyn FnMut() -> Vec<Batch>> = match &method {
        Method::Ce(_) => {
            let mut s =
                RandomSampler::new(train.len(), cfg.sampler.batch_size, true, cfg.train.seed)?;
            Box::new(move || {
                s.next_epoch()
                    .into_iter()
                    .map(|b| (b, Vec::new()))
                    .collect()
            })
        }
        _ => {
            let mut s = TriSampler::classification(
                &train.labels,
                t,
                TriSamplerConfig {
                    batch_size_per_task: cfg.sampler.batch_size,
                    num_sampled_tasks: cfg.sampler.tasks_per_batch,
                    sampling_rate: Some(cfg.sampler.sampling_rate),
                    num_pos: None,
                    seed: cfg.train.seed,
                },
            )?;
            Box::new(move || {
                s.next_epoch()
                    .into_iter()
                    .filter_map(|b| match b {
                        TriBatch::Classification(pairs) => {
                            let (ids, mut tasks): (Vec<usize>, Vec<usize>) =
                                pairs.into_iter().unzip();
                            tasks.dedup();
                            Some((ids, tasks))
                        }
                        TriBatch::Ranking(_) => None,
                    })
                    .collect()
            })
        }
    };
    let mut logs = match dir {
        Some(d) => Some(crate::train::open_run_folder(d, config_text, None)?),
        None => None,
    };
    let decay = cfg.train.decay_epochs();
    let bar = crate::runlog::progress(cfg.train.epochs, "epochs");
    let mut last = None;
    for epoch in 0..cfg.train.epochs {
        if decay.contains(&epoch) {
            match &mut method {
                Method::Aucm(_, o) => o.inner.update_regularizer(Some(cfg.train.decay_factor)),
                Method::Map(_, o) | Method::PAuc(_, o) | Method::Ce(o) => {
                    o.update_lr(cfg.train.decay_factor)
                }
            }
        }
        let start = Instant::now();
        let (mut total, mut steps) = (0.0, 0usize);
        for (ids, tasks) in cfg.train.cap(next_epoch()) {
            let x: Vec<f32> = ids.iter().flat_map(|&i| train.row(i).to_vec()).collect();
            let x = Tensor::<2>::from_data(TensorData::new(x, [ids.len(), train.dim]), &device);
            let labels: Vec<f32> = ids
                .iter()
                .flat_map(|&i| train.labels[i * t..(i + 1) * t].to_vec())
                .collect();
            let z = model.forward_all(x);
            let value = match &mut method {
                Method::Aucm(loss, _) => {
                    loss.forward(burn::tensor::activation::sigmoid(z), &labels, &tasks)?
                }
                Method::Map(loss, _) => {
                    loss.forward(burn::tensor::activation::sigmoid(z), &labels, &ids, &tasks)?
                }
                Method::PAuc(loss, _) => {
                    loss.forward(burn::tensor::activation::sigmoid(z), &labels, &ids, &tasks)?
                }
                Method::Ce(_) => {
                    let y = Tensor::<2>::from_data(
                        TensorData::new(labels.clone(), [ids.len(), t]),
                        &device,
                    );
                    (burn::tensor::activation::softplus(z.clone(), 1.0) - z * y).mean()
                }
            };
            let v = crate::runlog::loss_value(&value, epoch)?;
            total += v;
            steps += 1;
            let grads = value.backward();
            model = match &mut method {
                Method::Aucm(loss, o) => o.step_multilabel(model, loss, grads),
                Method::Map(_, o) | Method::PAuc(_, o) | Method::Ce(o) => {
                    let mut g = GradientsParams::from_grads(grads, &model);
                    o.step(model, &mut g)
                }
            };
        }
        let seconds = start.elapsed().as_secs_f64();
        let m = evaluate(&model, &test, &device)?;
        let loss_mean = total / steps.max(1) as f64;
        let (ma, mp) = (TaskMetrics::mean(&m.auroc), TaskMetrics::mean(&m.ap));
        bar.inc(1);
        bar.suspend(|| {
            eprintln!(
                "epoch {:>3}  loss {loss_mean:>9.5}  test mean AUROC {ma:.4}  mean AP {mp:.4}  {seconds:.1}s",
                epoch + 1
            )
        });
        let line = json!({"epoch": epoch + 1, "train_loss": loss_mean,
                          "test": {"mean_auroc": ma, "mean_ap": mp, "auroc": m.auroc, "ap": m.ap}});
        crate::runlog::append_epoch(&mut logs, &line, epoch + 1, seconds, steps)?;
        last = Some(m);
    }
    bar.finish_and_clear();
    let m = match last {
        Some(m) => m,
        None => evaluate(&model, &test, &device)?,
    };
    let (ma, mp) = (TaskMetrics::mean(&m.auroc), TaskMetrics::mean(&m.ap));
    if json_out {
        println!(
            "{}",
            json!({"test": {"mean_auroc": ma, "mean_ap": mp, "auroc": m.auroc, "ap": m.ap}})
        );
    } else {
        let per: Vec<String> = m
            .auroc
            .iter()
            .map(|v| v.map_or("-".into(), |v| format!("{v:.3}")))
            .collect();
        println!(
            "test: mean AUROC {ma:.4}  mean AP {mp:.4}  (AUROC per task: {})",
            per.join(" ")
        );
    }
    Ok(())
}
