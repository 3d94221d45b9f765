//! `xrisk train --config FILE.toml`: any data × model × loss × optimizer × sampler.

use crate::config::Config;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use xrisk::densenet::DenseNet;
use xrisk::dist::{Collective, gather_logits, shard};
use xrisk::model::{Mlp, Scorer};
use xrisk::resnet::ResNet;
use xrisk::train::{Objective, Optimizer, predict};
use xrisk_data::Dataset;
use xrisk_data::snapshot::Snapshot;
pub use xrisk_train::builder::*;
use xrisk_train::checkpoint::{
    Persistence, batches_hash, checkpoint_path, load_checkpoint, run_meta,
};
pub use xrisk_train::data::*;

/// Arguments of `xrisk train`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  xrisk train --config examples/ap_soap.toml\n  \
xrisk train --config examples/aucm_pesg.toml --out runs/aucm --json\n  \
xrisk train --resume runs/aucm   # after an interruption\n  \
xrisk train --config examples/ap_soap.toml --world-size 2 --rank 0 --coordinator 127.0.0.1:29500 --out runs/ap2\n  \
xrisk train --config examples/ap_soap.toml --world-size 2 --rank 1 --coordinator 127.0.0.1:29500\n\nSee examples/ for a config per loss; docs/distributed.md for data-parallel runs."
)]
pub struct TrainArgs {
    /// The run's TOML configuration.
    #[arg(long, value_name = "FILE", required_unless_present = "resume")]
    config: Option<PathBuf>,
    /// Folder for the run: metrics.jsonl (one line per epoch), checkpoint.bin (after every
    /// epoch), the final model, the report (report.html with curves) and a copy of the config.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the run in DIR from its last checkpoint (same config, data and seed); the
    /// result equals an uninterrupted run bit for bit.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "epochs"])]
    resume: Option<PathBuf>,
    /// Also write a checkpoint every N training steps (default: only at the end of each epoch).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: Option<u64>,
    /// Override `[train] epochs`.
    #[arg(long)]
    epochs: Option<usize>,
    /// Override `[train] max_steps_per_epoch`: stop every epoch after N steps (smoke tests,
    /// timing).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_steps_per_epoch: Option<u64>,
    /// Print the final test metrics as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Data-parallel training (binary AUC-family, CE and focal runs).
    #[command(flatten)]
    dist: crate::distributed::DistArgs,
}

/// What one epoch did.
#[derive(Debug, Clone, Copy)]
pub struct EpochReport {
    pub epoch: usize,
    pub train_loss: f64,
    /// The X-risk objective estimated from the loss's state tables (name, value), if any.
    pub objective: Option<(&'static str, f64)>,
    pub lr: f64,
    pub test: Metrics,
    /// Seconds spent training (sampling, forward, backward, update), evaluation excluded.
    pub seconds: f64,
}

/// Trains the `[model]` of `cfg` (see [`fit`]); with `persist`, checkpoints the run, resumes
/// it, and saves the final model as `model.bpk`.
pub fn fit_configured(
    cfg: &Config,
    train: &Dataset,
    test: &Dataset,
    bar: &ProgressBar,
    on_epoch: impl FnMut(&EpochReport) -> Result<()>,
    persist: Option<&Persistence>,
    dist: Option<&mut dyn Collective>,
) -> Result<Vec<f64>> {
    fn save<M: Module>(model: M, persist: Option<&Persistence>) -> Result<()> {
        if let Some(p) = persist {
            let dir = &p.dir;
            model.save_file(dir.join("model")).map_err(|e| {
                anyhow::anyhow!("cannot save the model into {}: {e:?}", dir.display())
            })?;
        }
        Ok(())
    }
    let dim = train.dim;
    match cfg.model.kind.as_str() {
        "linear" | "mlp" => {
            let hidden = cfg.model.dense_hidden();
            check_dense_memory(cfg, "[model] hidden", dim, &hidden, 1)?;
            let (m, s) = fit(
                cfg,
                train,
                test,
                bar,
                |d| Ok(Mlp::new(dim, &hidden, d)),
                on_epoch,
                persist,
                dist,
            )?;
            save(m, persist)?;
            Ok(s)
        }
        "densenet121" => {
            let shape = image_shape(cfg, dim)?;
            let build = |d: &Device| Ok(DenseNet::densenet121(shape, d));
            let (m, s) = fit(cfg, train, test, bar, build, on_epoch, persist, dist)?;
            save(m, persist)?;
            Ok(s)
        }
        "resnet20" | "resnet18" => {
            let shape = image_shape(cfg, dim)?;
            let r18 = cfg.model.kind == "resnet18";
            let build = |d: &Device| {
                Ok(if r18 {
                    ResNet::resnet18(shape, d)
                } else {
                    ResNet::resnet20(shape, d)
                })
            };
            let (m, s) = fit(cfg, train, test, bar, build, on_epoch, persist, dist)?;
            save(m, persist)?;
            Ok(s)
        }
        other => {
            bail!(
                "[model] kind = \"{other}\" is not known; use linear, mlp, resnet20, resnet18 or densenet121"
            )
        }
    }
}

/// [`fit_configured`] with one data-parallel peer per device of `devices`, each on its own
/// thread, exchanging through an in-process [`xrisk::dist::LocalGroup`]; peer 0 reports the
/// epochs and keeps the run folder.
fn fit_local_peers(
    cfg: &Config,
    devices: &[String],
    train: &Dataset,
    test: &Dataset,
    bar: &ProgressBar,
    on_epoch: impl FnMut(&EpochReport) -> Result<()>,
    persist: Option<&Persistence>,
) -> Result<Vec<f64>> {
    let on = |name: &str| {
        let mut c = cfg.clone();
        c.train.device = Some(name.to_string());
        c.train.devices = None;
        c
    };
    let mut group =
        xrisk::dist::LocalGroup::new(devices.len(), std::time::Duration::from_secs(600));
    std::thread::scope(|s| {
        let quiet = ProgressBar::hidden();
        let others: Vec<_> = group
            .drain(1..)
            .zip(&devices[1..])
            .map(|(mut comm, name)| {
                let c = on(name);
                let quiet = quiet.clone();
                s.spawn(move || {
                    fit_configured(&c, train, test, &quiet, |_| Ok(()), None, Some(&mut comm))
                })
            })
            .collect();
        let mut first = group.remove(0);
        let result = fit_configured(
            &on(&devices[0]),
            train,
            test,
            bar,
            on_epoch,
            persist,
            Some(&mut first),
        );
        // A failed peer 0 leaves the group, which stops the others.
        drop(first);
        for (k, h) in others.into_iter().enumerate() {
            match h.join() {
                Ok(Ok(_)) => {}
                Ok(Err(e)) if result.is_ok() => {
                    return Err(e.context(format!("peer {} ({})", k + 1, devices[k + 1])));
                }
                Ok(Err(_)) => {}
                Err(_) => bail!("peer {} ({}) panicked", k + 1, devices[k + 1]),
            }
        }
        result
    })
}

fn batch_tensor(data: &Dataset, ids: &[usize], device: &Device) -> Tensor<2> {
    let mut x = Vec::with_capacity(ids.len() * data.dim);
    for &i in ids {
        x.extend_from_slice(data.row(i));
    }
    Tensor::from_data(TensorData::new(x, [ids.len(), data.dim]), device)
}

/// Trains per `cfg` and reports every epoch; returns the model and its final test scores.
/// With `persist`, writes a checkpoint after every epoch (and every `every_steps` steps) and
/// starts from `persist.resume` when given. With `dist`, trains data-parallel: this process
/// runs the model on its shard of every global batch (`xrisk::dist`).
#[allow(clippy::too_many_arguments)]
pub fn fit<M: Scorer>(
    cfg: &Config,
    train: &Dataset,
    test: &Dataset,
    bar: &ProgressBar,
    build: impl FnOnce(&Device) -> Result<M>,
    mut on_epoch: impl FnMut(&EpochReport) -> Result<()>,
    persist: Option<&Persistence>,
    mut dist: Option<&mut dyn Collective>,
) -> Result<(M, Vec<f64>)> {
    let device = cfg.train.device()?;
    // The CPU backend's RNG is process-wide: peers in one process (`[train] devices`) build
    // their models one at a time so that each starts from the seed's weights.
    static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let mut model = {
        let _one_at_a_time = INIT.lock().unwrap_or_else(|p| p.into_inner());
        device.seed(cfg.train.seed);
        let model = build(&device)?;
        // burn initialises parameters lazily, at first use: draw them now, under the lock.
        struct Touch;
        impl burn::module::ModuleVisitor for Touch {
            fn visit_float<const D: usize>(
                &mut self,
                p: &burn::module::Param<burn::tensor::Tensor<D>>,
            ) {
                let _ = p.val();
            }
        }
        model.visit(&mut Touch);
        model
    };
    let mut objective = build_objective(&cfg.loss, train.len(), &device)?;
    let mut optimizer = build_optimizer(&cfg.optimizer)?;
    if !optimizer.compatible(&objective) {
        bail!(
            "[optimizer] kind = \"{}\" cannot train [loss] kind = \"{}\" (pesg ↔ aucm, pdsca ↔ compositional_auc)",
            cfg.optimizer.kind,
            cfg.loss.kind
        );
    }
    let mut sampler = build_sampler(cfg, train)?;
    let decay_epochs = cfg.train.decay_epochs();
    let ids = |m: &M, o: &Objective| {
        let mut v = xrisk::persist::param_ids(m);
        v.extend(o.param_ids());
        v
    };
    // Where to start: epoch, step within it, and the running loss sum of that epoch.
    let (mut first_epoch, mut first_step, mut resumed_total) = (0usize, 0usize, 0.0);
    let mut expected_hash = None;
    if let Some(s) = persist.and_then(|p| p.resume.as_ref()) {
        model = xrisk::persist::restore_module(model, "model", s)?;
        objective.restore_state(s)?;
        optimizer.restore_state(&ids(&model, &objective), s, &device)?;
        first_epoch = s.count("run.epoch")? as usize;
        first_step = s.count("run.step")? as usize;
        resumed_total = s.scalar("run.epoch_loss_sum")?;
        if first_step > 0 {
            expected_hash = Some(s.text("run.batches")?.to_string());
        }
        // The sampler is a function of its seed and position: replay the finished epochs.
        for _ in 0..first_epoch {
            sampler.next_epoch();
        }
        bar.set_position((first_epoch * sampler.num_batches() + first_step) as u64);
    }
    let checkpoint = |model: &M,
                      objective: &Objective,
                      optimizer: &Optimizer,
                      epoch: usize,
                      step: usize,
                      total: f64,
                      batches: &[Vec<usize>]|
     -> Result<()> {
        let Some(p) = persist else { return Ok(()) };
        let mut s = Snapshot::new();
        xrisk::persist::save_module(model, "model", &mut s);
        objective.save_state(&mut s);
        optimizer.save_state(&ids(model, objective), &mut s)?;
        s.put_scalar("run.epoch", epoch as f64);
        s.put_scalar("run.step", step as f64);
        s.put_scalar("run.epoch_loss_sum", total);
        s.put_text("run.batches", batches_hash(batches));
        p.write(s)
    };
    let every = persist.and_then(|p| p.every_steps).unwrap_or(0) as usize;
    // Test scores of the latest evaluation (each epoch ends with one).
    let mut scores = None;
    for epoch in first_epoch..cfg.train.epochs {
        let start = Instant::now();
        let resumed_mid_epoch = epoch == first_epoch && first_step > 0;
        // A mid-epoch checkpoint already holds this epoch's decayed learning rate.
        if decay_epochs.contains(&epoch) && !resumed_mid_epoch {
            optimizer.decay(cfg.train.decay_factor);
        }
        let batches = cfg.train.cap(sampler.next_epoch());
        let (skip, mut total) = if resumed_mid_epoch {
            let hash = batches_hash(&batches);
            if expected_hash.as_deref() != Some(hash.as_str()) {
                bail!(
                    "the resumed run does not replay the interrupted epoch's batches (the data or the sampler changed since the checkpoint)"
                );
            }
            (first_step, resumed_total)
        } else {
            (0, 0.0)
        };
        for (step, ids) in batches.iter().enumerate().skip(skip) {
            let y: Vec<f32> = ids.iter().map(|&i| train.labels[i]).collect();
            let z = match dist.as_deref_mut() {
                None => model.score(batch_tensor(train, ids, &device)),
                Some(c) => {
                    // This rank's rows of the global batch; the loss sees all of them.
                    let mine: Vec<usize> = shard(ids.len(), c.rank(), c.world_size())?
                        .into_iter()
                        .map(|p| ids[p])
                        .collect();
                    gather_logits(model.score(batch_tensor(train, &mine, &device)), c)?
                }
            };
            let loss = objective.forward(z, &y, ids)?;
            let value = loss.clone().into_scalar::<f32>() as f64;
            if !value.is_finite() {
                bail!(
                    "epoch {} step {}: the loss is {value}; training diverged — lower the learning rate",
                    epoch + 1,
                    step + 1
                );
            }
            total += value;
            model = match dist.as_deref_mut() {
                None => optimizer.step(model, &mut objective, loss),
                Some(c) => {
                    optimizer
                        .step_distributed(model, &mut objective, loss, c)?
                        .0
                }
            };
            bar.inc(1);
            if every > 0 && (step + 1) % every == 0 && step + 1 < batches.len() {
                checkpoint(
                    &model,
                    &objective,
                    &optimizer,
                    epoch,
                    step + 1,
                    total,
                    &batches,
                )?;
            }
        }
        // Training time only: the evaluation below is reported, not timed.
        let seconds = start.elapsed().as_secs_f64();
        let epoch_scores = predict(&model, &test.features, test.dim, &device);
        let report = EpochReport {
            epoch: epoch + 1,
            train_loss: total / batches.len().max(1) as f64,
            objective: objective.state_estimate(),
            lr: optimizer.lr(),
            test: evaluate(test, &epoch_scores, cfg.train.max_fpr)?,
            seconds,
        };
        on_epoch(&report)?;
        checkpoint(&model, &objective, &optimizer, epoch + 1, 0, 0.0, &[])?;
        scores = Some(epoch_scores);
    }
    let scores = scores.unwrap_or_else(|| predict(&model, &test.features, test.dim, &device));
    Ok((model, scores))
}

fn metrics_json(m: &Metrics, max_fpr: f64) -> serde_json::Value {
    json!({"auroc": m.auroc, "auprc": m.auprc, "pauc": m.pauc, "pauc_max_fpr": max_fpr})
}

/// [`run_meta`] plus the data counts that a resume checks the data against.
fn run_meta_with_data(
    cfg: &Config,
    config_text: &str,
    config_path: &Path,
    train: &Dataset,
    test: &Dataset,
) -> Snapshot {
    let mut m = run_meta(cfg, config_text, config_path);
    m.put_scalar("data.train_len", train.len() as f64);
    m.put_scalar("data.train_positives", train.positives() as f64);
    m.put_scalar("data.dim", train.dim as f64);
    m.put_scalar("data.test_len", test.len() as f64);
    m
}

/// Runs `xrisk train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let (mut cfg, config_text, config_path, resume) = match &args.resume {
        Some(dir) => {
            let (snap, notice) = load_checkpoint(dir)?;
            if let Some(n) = notice {
                eprintln!("{n}");
            }
            let text = snap.text("run.config")?.to_string();
            let origin = PathBuf::from(snap.text("run.config_path")?);
            let mut cfg = crate::config::parse(&text, &origin)
                .context("the config stored in the checkpoint")?;
            cfg.train.epochs = snap.count("run.epochs")? as usize;
            eprintln!(
                "resuming {} at epoch {} step {} of {} epochs",
                dir.display(),
                snap.count("run.epoch")? + u64::from(snap.count("run.step")? > 0),
                snap.count("run.step")?,
                cfg.train.epochs
            );
            (cfg, text, origin, Some(snap))
        }
        None => {
            let path = args
                .config
                .as_ref()
                .context("give --config FILE (a new run) or --resume DIR")?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the config {}", path.display()))?;
            let cfg = crate::config::parse(&text, path)?;
            let abs = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            (cfg, text, abs, None)
        }
    };
    if let Some(e) = args.epochs {
        cfg.train.epochs = e;
    }
    if let Some(n) = args.max_steps_per_epoch {
        cfg.train.max_steps_per_epoch = Some(n as usize);
    }
    let local_peers = cfg.train.devices.clone().filter(|d| d.len() > 1);
    if args.dist.enabled() && local_peers.is_some() {
        bail!(
            "give either --world-size (one peer per process) or [train] devices (one peer per device in this process), not both"
        );
    }
    if args.dist.enabled() || local_peers.is_some() {
        if resume.is_some() || args.checkpoint_every.is_some() {
            bail!(
                "data-parallel runs do not checkpoint yet: drop --resume / --checkpoint-every, or train in one process"
            );
        }
        if cfg.is_many_class() || cfg.is_multilabel() || cfg.is_mil() || crate::charlm::is_lm(&cfg)
        {
            bail!(
                "data-parallel training (--world-size, [train] devices) covers the binary AUC-family, CE, focal and ranking runs; this config (multi-label, many-class or MIL) trains with one peer for now"
            );
        }
        if local_peers.is_some() && crate::rank::is_ranking(&cfg) {
            bail!(
                "[train] devices (peers within one process) covers the binary runs; train ranking data-parallel with --world-size (one process per peer)"
            );
        }
    }
    if let Some(t) = cfg.train.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .context("cannot set [train] threads")?;
    }
    if crate::rank::is_ranking(&cfg) {
        if args.checkpoint_every.is_some() {
            bail!(
                "ranking runs checkpoint at the end of every epoch; --checkpoint-every is for the AUC-family losses"
            );
        }
        let (mut peer, dir) = args.dist.join(
            cfg.sampler.batch_size,
            &config_text,
            args.resume.clone().or(args.out.clone()),
        )?;
        return crate::rank::run(
            &cfg,
            crate::rank::Output {
                dir: dir.as_deref(),
                config_text: &config_text,
                config_path: &config_path,
                resume,
            },
            args.json,
            peer.as_mut().map(|p| p as &mut dyn Collective),
        );
    }
    if crate::contrastive::is_contrastive(&cfg) {
        if resume.is_some() || args.checkpoint_every.is_some() {
            bail!(
                "contrastive runs do not checkpoint yet: --resume and --checkpoint-every are for the AUC-family and ranking runs"
            );
        }
        return crate::contrastive::run(&cfg, args.out.as_deref(), &config_text, args.json);
    }
    if crate::charlm::is_lm(&cfg) {
        return crate::charlm::run(
            &cfg,
            crate::runlog::RunOutput {
                dir: args.resume.as_deref().or(args.out.as_deref()),
                config_text: &config_text,
                config_path: &config_path,
                resume,
                checkpoint_every: args.checkpoint_every,
            },
            args.json,
        );
    }
    if cfg.is_many_class() {
        return crate::multiclass::run(
            &cfg,
            crate::runlog::RunOutput {
                dir: args.resume.as_deref().or(args.out.as_deref()),
                config_text: &config_text,
                config_path: &config_path,
                resume,
                checkpoint_every: args.checkpoint_every,
            },
            args.json,
        );
    }
    if cfg.is_multilabel() {
        return crate::multilabel::run(
            &cfg,
            crate::runlog::RunOutput {
                dir: args.resume.as_deref().or(args.out.as_deref()),
                config_text: &config_text,
                config_path: &config_path,
                resume,
                checkpoint_every: args.checkpoint_every,
            },
            args.json,
        );
    }
    if cfg.is_mil() {
        return crate::mil::run(
            &cfg,
            crate::runlog::RunOutput {
                dir: args.resume.as_deref().or(args.out.as_deref()),
                config_text: &config_text,
                config_path: &config_path,
                resume,
                checkpoint_every: args.checkpoint_every,
            },
            args.json,
        );
    }
    let (train, test) = prepare_data(&cfg.data, cfg.train.seed)?;
    eprintln!(
        "data: train {} ({} positive), test {} ({} positive), {} features",
        train.len(),
        train.positives(),
        test.len(),
        test.positives(),
        train.dim
    );
    let meta = run_meta_with_data(&cfg, &config_text, &config_path, &train, &test);
    if let Some(s) = &resume {
        for key in [
            "data.train_len",
            "data.train_positives",
            "data.dim",
            "data.test_len",
        ] {
            let (then, now) = (s.scalar(key)?, meta.scalar(key)?);
            if then != now {
                bail!(
                    "cannot resume: {key} was {then} when the checkpoint was written and is {now} now; the data files changed"
                );
            }
        }
    }
    let (mut peer, out_dir) = args.dist.join(
        cfg.sampler.batch_size,
        &config_text,
        args.resume.clone().or(args.out.clone()),
    )?;
    if args.checkpoint_every.is_some() && out_dir.is_none() {
        bail!("--checkpoint-every needs --out DIR (the folder that receives the checkpoints)");
    }
    let mut logs = match &out_dir {
        Some(dir) => Some(crate::runlog::open_run_folder(
            dir,
            &config_text,
            resume.as_ref(),
        )?),
        None => None,
    };
    // A resumed run keeps checkpointing as often as the interrupted one did.
    let every_steps = args.checkpoint_every.or_else(|| {
        resume
            .as_ref()
            .and_then(|s| s.count("run.checkpoint_every").ok())
            .filter(|&n| n > 0)
    });
    let mut meta = meta;
    meta.put_scalar("run.checkpoint_every", every_steps.unwrap_or(0) as f64);
    let persist = out_dir.as_ref().map(|dir| Persistence {
        dir: dir.clone(),
        every_steps,
        meta,
        resume,
    });
    let steps = steps_per_epoch(&cfg, &train)?;
    let bar = ProgressBar::new((steps * cfg.train.epochs) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {elapsed} {msg}")
            .expect("static template"),
    );
    let max_fpr = cfg.train.max_fpr;
    let on_epoch = |r: &EpochReport| {
        let objective = r
            .objective
            .map(|(name, value)| json!({"name": name, "value": value}));
        let line = json!({"epoch": r.epoch, "train_loss": r.train_loss, "objective": objective,
                          "lr": r.lr, "test": metrics_json(&r.test, max_fpr)});
        let estimate = r
            .objective
            .map(|(name, v)| format!("  {name} {v:.5}"))
            .unwrap_or_default();
        bar.suspend(|| {
            eprintln!(
                "epoch {:>3}  loss {:>9.5}{estimate}  lr {:.2e}  test AUROC {:.4}  AUPRC {:.4}  pAUC(FPR≤{max_fpr}) {:.4}  {:.1}s",
                r.epoch, r.train_loss, r.lr, r.test.auroc, r.test.auprc, r.test.pauc, r.seconds
            )
        });
        if let Some((metrics, timing)) = logs.as_mut() {
            writeln!(metrics, "{line}").context("cannot append to metrics.jsonl")?;
            writeln!(
                timing,
                "{}",
                json!({"epoch": r.epoch, "seconds": r.seconds, "steps": steps})
            )
            .context("cannot append to timing.jsonl")?;
        }
        Ok(())
    };
    let dist = peer.as_mut().map(|p| p as &mut dyn Collective);
    let train_start = Instant::now();
    let fitted = match &local_peers {
        None => fit_configured(&cfg, &train, &test, &bar, on_epoch, persist.as_ref(), dist),
        Some(devices) => fit_local_peers(
            &cfg,
            devices,
            &train,
            &test,
            &bar,
            on_epoch,
            persist.as_ref(),
        ),
    };
    let scores = fitted.map_err(
        |e| match out_dir.as_ref().map(|d| Snapshot::read(&checkpoint_path(d))) {
            Some(Ok(s)) => e.context(format!(
                "training stopped; the last good checkpoint (epochs done: {}, steps into the next: {}) is kept in {}",
                s.count("run.epoch").unwrap_or(0),
                s.count("run.step").unwrap_or(0),
                checkpoint_path(out_dir.as_deref().unwrap_or(Path::new("."))).display()
            )),
            _ => e,
        },
    )?;
    bar.finish_and_clear();
    let final_metrics = evaluate(&test, &scores, max_fpr)?;
    if let Some(dir) = &out_dir {
        let report = crate::report::write(&crate::report::RunReport {
            dir,
            config_text: &config_text,
            config_path: &config_path,
            train: &train,
            test: &test,
            scores: &scores,
            name: &cfg.loss.kind,
            max_fpr,
            final_auroc: final_metrics.auroc,
            final_auprc: final_metrics.auprc,
            final_pauc: final_metrics.pauc,
        })?;
        eprintln!("report: {}", report.display());
    }
    let mut out = json!({"test": metrics_json(&final_metrics, max_fpr)});
    if let Some(p) = &peer {
        let total_steps = (steps * cfg.train.epochs).max(1) as f64;
        let d = json!({
            "world_size": p.world_size(),
            "rank": p.rank(),
            "steps": steps * cfg.train.epochs,
            "seconds": train_start.elapsed().as_secs_f64(),
            "bytes_sent_per_step": p.bytes_sent as f64 / total_steps,
            "bytes_received_per_step": p.bytes_received as f64 / total_steps,
        });
        eprintln!(
            "rank {} of {}: {:.0} bytes sent and {:.0} received per step",
            p.rank(),
            p.world_size(),
            d["bytes_sent_per_step"].as_f64().unwrap_or(0.0),
            d["bytes_received_per_step"].as_f64().unwrap_or(0.0)
        );
        out["distributed"] = d;
    }
    if args.json {
        println!("{out}");
    } else {
        println!(
            "test: AUROC {:.4}  AUPRC {:.4}  pAUC(FPR≤{max_fpr}) {:.4}",
            final_metrics.auroc, final_metrics.auprc, final_metrics.pauc
        );
    }
    Ok(())
}
