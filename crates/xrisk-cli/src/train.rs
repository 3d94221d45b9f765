//! `xrisk train --config FILE.toml`: any data × model × loss × optimizer × sampler.

use crate::config::Config;
use crate::runlog::RunOutput;
use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::Args;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
use xrisk::densenet::DenseNet;
use xrisk::dist::Collective;
use xrisk::model::{Mlp, Scorer};
use xrisk::resnet::ResNet;
use xrisk_data::Dataset;
use xrisk_data::snapshot::Snapshot;
use xrisk_train::binary::BinaryTask;
pub use xrisk_train::builder::*;
use xrisk_train::checkpoint::{Persistence, load_checkpoint};
pub use xrisk_train::data::*;
use xrisk_train::observer::{Observer, Silent};
use xrisk_train::{Best, Selection, Trainer};

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

/// The data of a binary run: training rows, the validation rows of model selection, test
/// rows.
#[derive(Clone, Copy)]
pub struct Parts<'a> {
    pub train: &'a Dataset,
    pub validation: Option<&'a Dataset>,
    pub test: &'a Dataset,
}

/// What a binary run ends with: the test scores of the kept model (the last epoch's, or the
/// selected one's) and the selected epoch.
pub struct Fitted {
    pub scores: Vec<f64>,
    pub best: Option<Best>,
}

/// Trains the `[model]` of `cfg` on the [`Trainer`] ([`BinaryTask`]); with `persist`,
/// checkpoints the run, resumes it, and saves the kept model as `model.bpk`.
pub fn fit_configured(
    cfg: &Config,
    data: Parts,
    observer: &mut dyn Observer,
    persist: Option<&Persistence>,
    dist: Option<&mut dyn Collective>,
) -> Result<Fitted> {
    fn fit<M: Scorer>(
        cfg: &Config,
        data: Parts,
        build: impl FnOnce(&Device) -> Result<M>,
        observer: &mut dyn Observer,
        persist: Option<&Persistence>,
        dist: Option<&mut dyn Collective>,
    ) -> Result<Fitted> {
        let mut task =
            BinaryTask::new(cfg, data.train, data.test, build)?.with_validation(data.validation);
        let best = Trainer::new(BinaryTask::<M>::schedule(cfg))
            .with_collective(dist)
            .with_checkpoints(persist)
            .with_selection(Selection::of(&cfg.train))
            .fit(&mut task, observer)?;
        let (model, scores) = task.into_parts();
        if let Some(p) = persist.filter(|p| p.writes) {
            let dir = &p.dir;
            model.save_file(dir.join("model")).map_err(|e| {
                anyhow::anyhow!("cannot save the model into {}: {e:?}", dir.display())
            })?;
        }
        Ok(Fitted { scores, best })
    }
    let train = data.train;
    let dim = train.dim;
    match cfg.model.kind.as_str() {
        "linear" | "mlp" => {
            let hidden = cfg.model.dense_hidden();
            check_dense_memory(cfg, "[model] hidden", dim, &hidden, 1)?;
            let build = |d: &Device| Ok(Mlp::new(dim, &hidden, d));
            fit(cfg, data, build, observer, persist, dist)
        }
        "densenet121" => {
            let shape = image_shape(cfg, dim)?;
            let build = |d: &Device| Ok(DenseNet::densenet121(shape, d));
            fit(cfg, data, build, observer, persist, dist)
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
            fit(cfg, data, build, observer, persist, dist)
        }
        other => {
            bail!(
                "[model] kind = \"{other}\" is not known; use linear, mlp, resnet20, resnet18 or densenet121"
            )
        }
    }
}

/// [`fit_configured`] with one data-parallel peer per device of `devices`
/// ([`xrisk_train::peers::on_devices`]); peer 0 reports the epochs and keeps the run folder.
fn fit_local_peers(
    cfg: &Config,
    devices: &[String],
    data: Parts,
    observer: &mut dyn Observer,
    persist: Option<&Persistence>,
) -> Result<Fitted> {
    let on = |name: &str| {
        let mut c = cfg.clone();
        c.train.device = Some(name.to_string());
        c.train.devices = None;
        c
    };
    xrisk_train::peers::on_devices(
        devices,
        |member| fit_configured(&on(&devices[0]), data, observer, persist, Some(member)),
        |_, name, member| {
            // Peer 0 writes the checkpoints; the others resume from them.
            let resume = persist.and_then(|p| p.resume.clone());
            let reader = resume.map(Persistence::resume_only);
            fit_configured(&on(name), data, &mut Silent, reader.as_ref(), Some(member)).map(|_| ())
        },
    )
}

fn metrics_json(m: &Metrics, max_fpr: f64) -> serde_json::Value {
    json!({"auroc": m.auroc, "auprc": m.auprc, "pauc": m.pauc, "pauc_max_fpr": max_fpr})
}

/// The data counts that a resume checks the data against.
fn data_counts(train: &Dataset, validation: Option<&Dataset>, test: &Dataset) -> Snapshot {
    let mut m = Snapshot::new();
    m.put_scalar("data.train_len", train.len() as f64);
    m.put_scalar("data.train_positives", train.positives() as f64);
    m.put_scalar("data.dim", train.dim as f64);
    m.put_scalar("data.test_len", test.len() as f64);
    if let Some(v) = validation {
        m.put_scalar("data.validation_len", v.len() as f64);
    }
    m
}

/// `--checkpoint-every` of this process: rank 0 writes a data-parallel run's checkpoints, the
/// other ranks resume from them (`Persistence::resume_only`).
fn checkpoint_every_of(peer: Option<&impl Collective>, every: Option<u64>) -> Option<u64> {
    every.filter(|_| peer.is_none_or(|p| p.rank() == 0))
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
    if local_peers.is_some()
        && (crate::rank::is_ranking(&cfg)
            || cfg.is_multilabel()
            || cfg.is_many_class()
            || cfg.is_mil()
            || crate::contrastive::is_contrastive(&cfg)
            || crate::charlm::is_lm(&cfg))
    {
        bail!(
            "[train] devices (peers within one process) covers the binary runs, whose models are drawn under one lock (xrisk_train::peers::seeded); the other families draw weights and dropout masks from the CPU backend's process-wide random stream as they train, so peers on threads of one process would not start from one model — train ranking, MIL, multi-label, many-class, contrastive and language-model runs data-parallel with --world-size (one process per peer)"
        );
    }
    if let Some(t) = cfg.train.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .context("cannot set [train] threads")?;
    }
    if crate::rank::is_ranking(&cfg) && args.checkpoint_every.is_some() {
        bail!(
            "ranking runs checkpoint at the end of every epoch only: their device RNG (dropout, the warm-up hand-off) is seeded per epoch, so a resume starts at an epoch boundary; drop --checkpoint-every"
        );
    }
    // Every family but the binary one: the same run folder, group and entry point.
    type FamilyRun = fn(&Config, RunOutput, bool, Option<&mut dyn Collective>) -> Result<()>;
    let family: Option<FamilyRun> = if crate::rank::is_ranking(&cfg) {
        Some(crate::rank::run)
    } else if crate::contrastive::is_contrastive(&cfg) {
        Some(crate::contrastive::run)
    } else if crate::charlm::is_lm(&cfg) {
        Some(crate::charlm::run)
    } else if cfg.is_many_class() {
        Some(crate::multiclass::run)
    } else if cfg.is_multilabel() {
        Some(crate::multilabel::run)
    } else if cfg.is_mil() {
        Some(crate::mil::run)
    } else {
        None
    };
    if let Some(run) = family {
        let (mut peer, dir) = args.dist.join(
            cfg.sampler.batch_size,
            &config_text,
            args.resume.clone().or(args.out.clone()),
        )?;
        let o = RunOutput {
            dir: dir.as_deref(),
            config_text: &config_text,
            config_path: &config_path,
            resume,
            checkpoint_every: checkpoint_every_of(peer.as_ref(), args.checkpoint_every),
        };
        return run(
            &cfg,
            o,
            args.json,
            peer.as_mut().map(|p| p as &mut dyn Collective),
        );
    }
    let (train, validation, test) = prepare_data_with_validation(&cfg.data, cfg.train.seed)?;
    eprintln!(
        "data: train {} ({} positive), {}test {} ({} positive), {} features",
        train.len(),
        train.positives(),
        validation
            .as_ref()
            .map(|v| format!("validation {} ({} positive), ", v.len(), v.positives()))
            .unwrap_or_default(),
        test.len(),
        test.positives(),
        train.dim
    );
    let data = Parts {
        train: &train,
        validation: validation.as_ref(),
        test: &test,
    };
    let (mut peer, out_dir) = args.dist.join(
        cfg.sampler.batch_size,
        &config_text,
        args.resume.clone().or(args.out.clone()),
    )?;
    let (mut observer, persist) = RunOutput {
        dir: out_dir.as_deref(),
        config_text: &config_text,
        config_path: &config_path,
        resume,
        checkpoint_every: checkpoint_every_of(peer.as_ref(), args.checkpoint_every),
    }
    .open(&cfg, data_counts(&train, validation.as_ref(), &test))?;
    let max_fpr = cfg.train.max_fpr;
    let dist = peer.as_mut().map(|p| p as &mut dyn Collective);
    let train_start = Instant::now();
    let steps = steps_per_epoch(&cfg, &train)?;
    let fitted = match &local_peers {
        None => fit_configured(&cfg, data, &mut observer, persist.as_ref(), dist),
        Some(devices) => fit_local_peers(&cfg, devices, data, &mut observer, persist.as_ref()),
    };
    let Fitted { scores, best } = fitted.map_err(|e| observer.explain(e))?;
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
    if let Some(b) = &best {
        crate::runlog::report_selection(&cfg, b, observer.last_line(), &mut out);
    }
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
