//! `xrisk train` for a character-level language model (`[loss] kind = "robust_lm"`): the run
//! of [`xrisk_train::charlm::CharLmTask`] with the command line's progress, logs and
//! checkpoints, and `xrisk generate`, which samples from a trained one.

use crate::config::Config;
use crate::runlog::RunOutput;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use clap::Args;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::path::PathBuf;
use xrisk::charlm::{CharLmConfig, CharVocab, sample_tempered};
use xrisk::persist::restore_module;
use xrisk::tempnet::TempNetLlmConfig;
use xrisk_data::snapshot::Snapshot;
use xrisk_train::charlm::CharLmTask;

/// Is this a language-model config?
pub fn is_lm(cfg: &Config) -> bool {
    cfg.loss.kind == "robust_lm"
}

/// Trains a language-model config; with `o.dir`, writes config.toml, metrics.jsonl,
/// timing.jsonl, the checkpoints and `charlm.bin` (vocabulary, model, TempNet) for
/// `xrisk generate`, and continues from `o.resume` when given.
pub fn run(
    cfg: &Config,
    o: RunOutput,
    json_out: bool,
    dist: Option<&mut dyn xrisk::dist::Collective>,
) -> Result<()> {
    let dir = o.dir.map(PathBuf::from);
    let mut task = CharLmTask::new(cfg)?;
    eprintln!("data: {}", task.describe());
    if let Some(from) = &cfg.model.init_from {
        eprintln!("language model: starting from {}", from.display());
    }
    o.train(
        cfg,
        Snapshot::new(),
        CharLmTask::schedule(cfg),
        &mut task,
        dist,
    )?;
    if let Some(d) = &dir {
        let p = d.join("charlm.bin");
        task.export()
            .write_atomic(&p)
            .with_context(|| format!("cannot write {}", p.display()))?;
        eprintln!(
            "wrote {} (sample from it with `xrisk generate --model {}`)",
            p.display(),
            d.display()
        );
    }
    if json_out {
        let e = task.test_metrics()?;
        println!(
            "{}",
            json!({"test": {"nll": e.nll, "accuracy": e.acc, "ece": e.ece, "mean_tau": e.tau}})
        );
    }
    Ok(())
}

/// `xrisk generate`.
#[derive(Args)]
pub struct GenerateArgs {
    /// The run folder of a language-model run (holds charlm.bin).
    #[arg(long)]
    pub model: PathBuf,
    /// Text to continue.
    #[arg(long, default_value = "Call me Ishmael. ")]
    pub prompt: String,
    /// Characters to generate.
    #[arg(long, default_value_t = 300)]
    pub length: usize,
    /// Sample at this fixed temperature instead of the run's (TempNet's per-step τ, or the
    /// fixed τ it trained with).
    #[arg(long)]
    pub tau: Option<f64>,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object (text, mean τ) instead of the text.
    #[arg(long)]
    pub json: bool,
}

/// Samples `length` characters after `prompt`.
pub fn generate(args: GenerateArgs) -> Result<()> {
    let path = args.model.join("charlm.bin");
    let snap = Snapshot::read(&path).with_context(|| {
        format!(
            "cannot read {}; train with [loss] kind = \"robust_lm\" and --out first",
            path.display()
        )
    })?;
    let vocab = CharVocab::from_string(snap.text("vocab")?)?;
    if let Some(t) = args.tau
        && (t.is_nan() || t <= 0.0)
    {
        bail!("--tau {t}: must be > 0");
    }
    let device = Device::flex();
    let lm = CharLmConfig {
        vocab: vocab.len(),
        emb: snap.count("emb")? as usize,
        hidden: snap.count("hidden")? as usize,
    }
    .init(&device);
    let lm = restore_module(lm, "model", &snap)?;
    let net = if snap.array_names("tempnet.").next().is_some() {
        let c = TempNetLlmConfig {
            tau_min: snap.scalar("tempnet.tau_min")?,
            tau_max: snap.scalar("tempnet.tau_max")?,
            hidden: snap.count("tempnet.hidden")? as usize,
            ..TempNetLlmConfig::new(vocab.len())
        };
        Some(restore_module(c.init(&device)?, "tempnet", &snap)?.valid())
    } else {
        None
    };
    let trained_tau = snap.scalar("tau")?;
    let prompt = vocab
        .encode(&args.prompt)
        .context("--prompt uses a character the model never saw")?;
    if prompt.is_empty() {
        bail!("--prompt must hold at least one character");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut state = None;
    let mut logits = None;
    for &c in &prompt {
        let (l, h) = lm.step(
            Tensor::<1, Int>::from_data(TensorData::new(vec![c as i64], [1]), &device),
            state,
        );
        state = Some(h);
        logits = Some(l);
    }
    let (mut out, mut taus) = (Vec::with_capacity(args.length), Vec::new());
    for _ in 0..args.length {
        let l = logits.take().context("no logits")?;
        let tau = match (args.tau, &net) {
            (Some(t), _) => t,
            (None, Some(n)) => f64::from(n.forward(l.clone()).into_scalar::<f32>()),
            (None, None) => trained_tau,
        };
        let row: Vec<f32> = l
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let next = sample_tempered(&row, tau, rng.random_range(0.0..1.0));
        taus.push(tau);
        out.push(next);
        let (l, h) = lm.step(
            Tensor::<1, Int>::from_data(TensorData::new(vec![next as i64], [1]), &device),
            state,
        );
        state = Some(h);
        logits = Some(l);
    }
    let text = vocab.decode(&out);
    let mean_tau = taus.iter().sum::<f64>() / taus.len().max(1) as f64;
    if args.json {
        println!(
            "{}",
            json!({"prompt": args.prompt, "text": text, "mean_tau": mean_tau,
                   "tempnet": net.is_some() && args.tau.is_none()})
        );
    } else {
        println!("{}{}", args.prompt, text);
        eprintln!("mean τ {mean_tau:.3}");
    }
    Ok(())
}
