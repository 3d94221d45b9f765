//! `xrisk train` for a character-level language model with a fixed temperature or TempNet
//! (`[loss] kind = "robust_lm"`, spec `tempnet_isogclr_spec.md` §3.2–3.6), and `xrisk
//! generate`, which samples from a trained one.
//!
//! Data: `[data] format = "text"` with `dataset = "moby-dick"` (Moby Dick from `xrisk data
//! fetch text-corpora`) or `train = FILE` (UTF-8). The last `test_fraction` (default 0.1) of the
//! text is held out. Steps draw `batch_size` windows of `seq_len` characters (default 64) at
//! random offsets; an epoch is `len / (batch_size·seq_len)` steps unless
//! `[train] max_steps_per_epoch` caps it.
//!
//! `[loss] temperature = "fixed"` trains with `τ·CE(z/τ, y)` at `tau` (default 1; that is the
//! plain cross-entropy when `rho = ln V`); `"tempnet"` trains a TempNet jointly (its own Adam at
//! `tempnet_lr`, default 1e-3; with `[model] init_from = "RUN_DIR"` and `[train] freeze_model =
//! true` only TempNet trains, on the fixed language model of that run) with the robust loss `τ·CE(z/τ, y) + (ρ − ln V)·τ` (default
//! `rho = ln V − 1.5`: TempNet aims at 1.5 nats per character), τ predicted
//! per position from the detached logits in `[tau_min, tau_max]` (default [0.05, 5]). Each epoch
//! reports, on held-out windows, the NLL of `softmax(z/τ)` in nats and bits per character, the
//! top-1 accuracy, the expected calibration error (15 bins) and the mean τ.

use crate::config::Config;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use clap::Args;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;
use xrisk::charlm::{CharLm, CharLmConfig, CharVocab, ids_tensor, sample_tempered, windows};
use xrisk::persist::{restore_module, save_module};
use xrisk::tempnet::{TempNetLlm, TempNetLlmConfig, robust_lm_loss};
use xrisk_data::registry::{fetched_file, paths};
use xrisk_data::snapshot::Snapshot;

/// Is this a language-model config?
pub fn is_lm(cfg: &Config) -> bool {
    cfg.loss.kind == "robust_lm"
}

/// The text of the run: Moby Dick or a UTF-8 file.
fn load_text(cfg: &Config) -> Result<String> {
    let d = &cfg.data;
    match (d.dataset.as_deref(), d.format.as_str(), &d.train) {
        (Some("moby-dick"), _, _) => {
            let p = fetched_file("text-corpora", paths::MOBY_DICK_TEXT)?;
            std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))
        }
        (Some(other), _, _) => {
            bail!("[data] dataset = \"{other}\": language-model runs know moby-dick")
        }
        (None, "text", Some(p)) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read {} as UTF-8 text", p.display())),
        _ => bail!(
            "[data] a language-model run needs dataset = \"moby-dick\" or format = \"text\" with train = FILE"
        ),
    }
}

struct Settings {
    seq_len: usize,
    rho: f64,
    tau: f64,
    tempnet: Option<TempNetLlmConfig>,
    tempnet_lr: f64,
}

fn settings(cfg: &Config, vocab: usize) -> Result<Settings> {
    let l = &cfg.loss;
    let ln_v = (vocab as f64).ln();
    let tempnet = match l.temperature.as_deref() {
        None | Some("fixed") => {
            if l.tau_min.is_some()
                || l.tau_max.is_some()
                || l.tempnet_lr.is_some()
                || l.rho.is_some()
            {
                bail!(
                    "[loss] rho, tau_min, tau_max and tempnet_lr are for temperature = \"tempnet\""
                );
            }
            None
        }
        Some("tempnet") => {
            if l.tau.is_some() {
                bail!(
                    "[loss] tau is the fixed temperature; with temperature = \"tempnet\" set tau_min and tau_max"
                );
            }
            Some(TempNetLlmConfig {
                tau_min: l.tau_min.unwrap_or(0.05),
                tau_max: l.tau_max.unwrap_or(5.0),
                ..TempNetLlmConfig::new(vocab)
            })
        }
        Some(other) => bail!(
            "[loss] temperature = \"{other}\": a language model takes \"fixed\" or \"tempnet\""
        ),
    };
    let s = Settings {
        seq_len: cfg.data.seq_len.unwrap_or(64),
        rho: l.rho.unwrap_or((ln_v - 1.5).max(0.0)),
        tau: l.tau.unwrap_or(1.0),
        tempnet,
        tempnet_lr: l.tempnet_lr.unwrap_or(1e-3),
    };
    if s.seq_len == 0 {
        bail!("[data] seq_len must be ≥ 1");
    }
    if s.tau.is_nan() || s.tau <= 0.0 {
        bail!("[loss] tau = {}: must be > 0", s.tau);
    }
    if s.tempnet.is_some() && !(s.rho >= 0.0 && s.rho < ln_v) {
        bail!(
            "[loss] rho = {}: must be in [0, ln V) = [0, {ln_v:.3}) for this vocabulary of {vocab} characters (the target entropy ln V − ρ must be positive)",
            s.rho
        );
    }
    Ok(s)
}

/// Held-out metrics: NLL (nats/char), top-1 accuracy, ECE, mean τ.
struct Eval {
    nll: f64,
    acc: f64,
    ece: f64,
    tau: f64,
}

fn evaluate(
    lm: &CharLm,
    net: Option<&TempNetLlm>,
    tau: f64,
    text: &[usize],
    seq_len: usize,
    device: &Device,
) -> Result<Eval> {
    let dev = device.clone().without_autodiff();
    let lm = lm.clone().valid();
    let net = net.map(|n| n.clone().valid());
    let windows = (text.len().saturating_sub(1) / seq_len).min(256);
    if windows == 0 {
        bail!("the held-out text is shorter than one window of seq_len characters");
    }
    let (mut nll, mut conf, mut correct, mut taus) = (0.0, Vec::new(), Vec::new(), 0.0);
    for chunk in (0..windows).collect::<Vec<_>>().chunks(32) {
        let x: Vec<i64> = chunk
            .iter()
            .flat_map(|&w| {
                text[w * seq_len..(w + 1) * seq_len]
                    .iter()
                    .map(|&c| c as i64)
            })
            .collect();
        let y: Vec<usize> = chunk
            .iter()
            .flat_map(|&w| text[w * seq_len + 1..(w + 1) * seq_len + 1].to_vec())
            .collect();
        let logits = lm.forward(ids_tensor(x, chunk.len(), seq_len, &dev));
        let n = y.len();
        let t = match &net {
            Some(net) => net.forward(logits.clone()),
            None => Tensor::<1>::ones([n], &dev) * tau,
        };
        let lp = log_softmax(logits / t.clone().unsqueeze_dim::<2>(1), 1);
        let lp: Vec<f32> = lp
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let tv: Vec<f32> = t
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let v = lp.len() / n.max(1);
        for (i, &yi) in y.iter().enumerate() {
            let row = &lp[i * v..(i + 1) * v];
            nll -= row[yi] as f64;
            let (arg, best) = row
                .iter()
                .enumerate()
                .fold((0, f32::MIN), |a, (k, &p)| if p > a.1 { (k, p) } else { a });
            conf.push((best as f64).exp().min(1.0));
            correct.push(arg == yi);
            taus += tv[i] as f64;
        }
    }
    let n = correct.len() as f64;
    Ok(Eval {
        nll: nll / n,
        acc: correct.iter().filter(|&&c| c).count() as f64 / n,
        ece: xrisk_metrics::expected_calibration_error(&conf, &correct, 15)?,
        tau: taus / n,
    })
}

/// Trains a language-model config; with `dir`, writes config.toml, metrics.jsonl, timing.jsonl
/// and `charlm.bin` (vocabulary, model, TempNet) for `xrisk generate`.
pub fn run(cfg: &Config, dir: Option<&Path>, config_text: &str, json_out: bool) -> Result<()> {
    let text = load_text(cfg)?;
    let vocab = CharVocab::from_text(&text)?;
    let ids = vocab.encode(&text)?;
    let s = settings(cfg, vocab.len())?;
    let held = cfg.data.test_fraction.unwrap_or(0.1);
    if !(held > 0.0 && held < 1.0) {
        bail!("[data] test_fraction = {held}: must be in (0, 1)");
    }
    let cut = ((ids.len() as f64) * (1.0 - held)) as usize;
    let (train, test) = ids.split_at(cut);
    if cfg.model.kind != "char_gru" {
        bail!(
            "[model] kind = \"{}\": a language-model run uses kind = \"char_gru\"",
            cfg.model.kind
        );
    }
    let lm_cfg = CharLmConfig {
        vocab: vocab.len(),
        emb: cfg.model.emb_size.unwrap_or(32),
        hidden: cfg
            .model
            .hidden
            .as_ref()
            .and_then(|h| h.first().copied())
            .unwrap_or(256),
    };
    eprintln!(
        "data: {} characters ({} train, {} held out), vocabulary {}; temperature {}",
        ids.len(),
        train.len(),
        test.len(),
        vocab.len(),
        if s.tempnet.is_some() {
            format!("TempNet, ρ = {:.3}", s.rho)
        } else {
            format!("fixed τ = {}", s.tau)
        }
    );
    let device = cfg.train.device()?;
    device.seed(cfg.train.seed);
    let mut lm = lm_cfg.init(&device);
    if let Some(from) = &cfg.model.init_from {
        lm = load_model(from, &vocab, &lm_cfg, lm)?;
        eprintln!("language model: starting from {}", from.display());
    }
    let frozen = cfg.train.freeze_model;
    if frozen && s.tempnet.is_none() {
        bail!("[train] freeze_model trains only TempNet: set [loss] temperature = \"tempnet\"");
    }
    if frozen && cfg.model.init_from.is_none() {
        bail!(
            "[train] freeze_model keeps the language model as it starts: give [model] init_from = \"RUN_DIR\" (a trained run), or it stays random"
        );
    }
    let mut net = match &s.tempnet {
        Some(c) => Some(c.init(&device)?),
        None => None,
    };
    let mut opt = crate::train::build_plain_optimizer(
        &cfg.optimizer,
        "language-model runs use a plain optimizer (adam, adamw, sgd)",
    )?;
    let mut net_opt = xrisk::optim::ProximalOptimizer::new(xrisk::optim::adam(s.tempnet_lr));
    let inner = device.clone().without_autodiff();
    let fixed_lm = frozen.then(|| lm.clone().valid());
    let batch = cfg.sampler.batch_size;
    let natural = (train.len() / (batch * s.seq_len)).max(1);
    let steps = cfg
        .train
        .max_steps_per_epoch
        .map_or(natural, |m| m.min(natural));
    // A fixed τ trains the plain tempered cross-entropy: ρ = ln V makes the τ term vanish.
    let rho = if s.tempnet.is_some() {
        s.rho
    } else {
        (vocab.len() as f64).ln()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.train.seed);
    let mut logs = match dir {
        Some(d) => Some(crate::train::open_run_folder(d, config_text, None)?),
        None => None,
    };
    let bar = crate::runlog::progress(steps * cfg.train.epochs, "steps");
    let mut last = None;
    for epoch in 0..cfg.train.epochs {
        let start = Instant::now();
        let mut loss_sum = 0.0;
        for _ in 0..steps {
            let (x, y) = windows(train, batch, s.seq_len, &mut rng)?;
            // A frozen model runs without autodiff (a detached graph would still be recorded
            // and kept); its logits enter the loss as constants, and only TempNet learns.
            let logits = match &fixed_lm {
                Some(f) => Tensor::from_inner(f.forward(ids_tensor(x, batch, s.seq_len, &inner))),
                None => lm.forward(ids_tensor(x, batch, s.seq_len, &device)),
            };
            let n = y.len();
            let tau = match &net {
                Some(net) => net.forward(logits.clone()),
                None => Tensor::<1>::ones([n], &device) * s.tau,
            };
            let loss = robust_lm_loss(logits, tau, &y, rho)?;
            loss_sum += crate::runlog::loss_value(&loss, epoch)?;
            let mut grads = loss.backward();
            let mut g_lm = GradientsParams::from_module(&mut grads, &lm);
            if let Some(n) = net.take() {
                let mut g_net = GradientsParams::from_module(&mut grads, &n);
                net = Some(net_opt.step(n, &mut g_net));
            }
            if !frozen {
                lm = opt.step(lm, &mut g_lm);
            }
            bar.inc(1);
        }
        let seconds = start.elapsed().as_secs_f64();
        let e = evaluate(&lm, net.as_ref(), s.tau, test, s.seq_len, &device)?;
        bar.suspend(|| {
            eprintln!(
                "epoch {:>3}: train loss {:.4}  held-out NLL {:.4} nats/char ({:.3} bits)  acc {:.4}  ECE {:.4}  mean τ {:.3}  ({seconds:.1}s)",
                epoch + 1,
                loss_sum / steps as f64,
                e.nll,
                e.nll / std::f64::consts::LN_2,
                e.acc,
                e.ece,
                e.tau
            )
        });
        let line = json!({"epoch": epoch + 1, "train_loss": loss_sum / steps as f64,
            "test": {"nll": e.nll, "bits_per_char": e.nll / std::f64::consts::LN_2,
                     "accuracy": e.acc, "ece": e.ece, "mean_tau": e.tau}});
        crate::runlog::append_epoch(&mut logs, &line, epoch + 1, seconds, steps)?;
        last = Some(e);
    }
    bar.finish_and_clear();
    if let Some(d) = dir {
        let mut snap = Snapshot::new();
        snap.put_text("vocab", vocab.as_string());
        snap.put_scalar("emb", lm_cfg.emb as f64);
        snap.put_scalar("hidden", lm_cfg.hidden as f64);
        snap.put_scalar("tau", s.tau);
        save_module(&lm, "model", &mut snap);
        if let (Some(n), Some(c)) = (&net, &s.tempnet) {
            snap.put_scalar("tempnet.tau_min", c.tau_min);
            snap.put_scalar("tempnet.tau_max", c.tau_max);
            snap.put_scalar("tempnet.hidden", c.hidden as f64);
            save_module(n, "tempnet", &mut snap);
        }
        let p = d.join("charlm.bin");
        snap.write_atomic(&p)
            .with_context(|| format!("cannot write {}", p.display()))?;
        eprintln!(
            "wrote {} (sample from it with `xrisk generate --model {}`)",
            p.display(),
            d.display()
        );
    }
    if json_out && let Some(e) = last {
        println!(
            "{}",
            json!({"test": {"nll": e.nll, "accuracy": e.acc, "ece": e.ece, "mean_tau": e.tau}})
        );
    }
    Ok(())
}

/// The model of a run folder's charlm.bin into `fresh`, after checking that its vocabulary and
/// shape are the ones of this run.
fn load_model(dir: &Path, vocab: &CharVocab, c: &CharLmConfig, fresh: CharLm) -> Result<CharLm> {
    let path = dir.join("charlm.bin");
    let snap = Snapshot::read(&path)
        .with_context(|| format!("[model] init_from: cannot read {}", path.display()))?;
    let stored = CharVocab::from_string(snap.text("vocab")?)?;
    if &stored != vocab {
        bail!(
            "[model] init_from: {} was trained on another vocabulary ({} characters, this text has {})",
            path.display(),
            stored.len(),
            vocab.len()
        );
    }
    let (emb, hidden) = (snap.count("emb")? as usize, snap.count("hidden")? as usize);
    if (emb, hidden) != (c.emb, c.hidden) {
        bail!(
            "[model] init_from: {} has emb_size {emb} and hidden [{hidden}]; this config asks for {} and [{}]",
            path.display(),
            c.emb,
            c.hidden
        );
    }
    Ok(restore_module(fresh, "model", &snap)?)
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
