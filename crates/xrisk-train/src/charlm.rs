//! The character language-model family: a fixed temperature or TempNet (`[loss] kind =
//! "robust_lm"`, spec `tempnet_isogclr_spec.md` §3.2–3.6).
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

//!
//! A checkpoint holds the language model, TempNet, both optimizers' buffers, the window
//! stream's position and the step count. TempNet's dropout draws from burn's device RNG, whose
//! state cannot be saved: runs that train TempNet seed it at every step from the run's seed
//! and the step's number, so a resumed run draws the masks the uninterrupted one drew.
//!
//! ```
//! use xrisk_train::{Trainer, charlm::CharLmTask, observer::Records};
//!
//! let dir = std::env::temp_dir().join(format!("xrisk-doc-lm-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(dir.join("book.txt"), "the whale swims. ".repeat(300))?;
//! let cfg = xrisk_train::config::parse(
//!     r#"
//!     [data]
//!     format = "text"
//!     train = "book.txt"
//!     seq_len = 16
//!     [model]
//!     kind = "char_gru"
//!     hidden = [32]
//!     emb_size = 8
//!     [loss]
//!     kind = "robust_lm"
//!     temperature = "tempnet"
//!     rho = 1.5
//!     [optimizer]
//!     kind = "adam"
//!     lr = 0.01
//!     [sampler]
//!     batch_size = 16
//!     [train]
//!     epochs = 3
//!     max_steps_per_epoch = 30
//!     lr_schedule = "constant"   # short runs: the default step schedule would divide lr by 100
//!     "#,
//!     &dir.join("run.toml"), // relative paths are read next to the config
//! )?;
//! let mut task = CharLmTask::new(&cfg)?;
//! let mut records = Records::default();
//! Trainer::new(CharLmTask::schedule(&cfg)).fit(&mut task, &mut records)?;
//! let e = task.test_metrics()?;
//! assert!(e.nll < 0.5 * (10f64).ln(), "held-out NLL {}", e.nll); // 10 distinct characters
//! task.export().write_atomic(&dir.join("charlm.bin"))?; // what `xrisk generate` reads
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), anyhow::Error>(())
//! ```

use crate::config::Config;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::path::Path;
use xrisk::charlm::{CharLm, CharLmConfig, CharVocab, ids_tensor, windows};
use xrisk::dist::{Collective, gather_rows, shard};
use xrisk::optim::ProximalOptimizer;
use xrisk::persist::{restore_module, save_module};
use xrisk::tempnet::{TempNetLlm, TempNetLlmConfig, robust_lm_loss};
use xrisk_data::registry::{fetched_file, paths};
use xrisk_data::snapshot::Snapshot;

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
/// Held-out metrics of a language model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eval {
    /// Negative log-likelihood, nats per character.
    pub nll: f64,
    /// Top-1 accuracy of the next character.
    pub acc: f64,
    /// Expected calibration error (15 bins).
    pub ece: f64,
    /// Mean temperature.
    pub tau: f64,
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

/// The model of a run folder's charlm.bin into `fresh`, after checking that its vocabulary and
/// shape are the ones of this run.
pub fn load_model(
    dir: &Path,
    vocab: &CharVocab,
    c: &CharLmConfig,
    fresh: CharLm,
) -> Result<CharLm> {
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

/// The per-step seed of burn's device RNG in runs that train TempNet (its dropout).
fn step_seed(seed: u64, step: u64) -> u64 {
    seed ^ (step + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A language-model run as a [`crate::Task`].
///
/// Data-parallel ([`crate::Trainer::with_collective`]): every process draws every window, runs the
/// model on its shard of them, and the loss (and TempNet) read the gathered logits; the language
/// model's gradients are summed over the group (`xrisk::dist`).
pub struct CharLmTask {
    train: Vec<usize>,
    test: Vec<usize>,
    vocab: CharVocab,
    lm_cfg: CharLmConfig,
    s: Settings,
    device: Device,
    lm: CharLm,
    net: Option<TempNetLlm>,
    opt: ProximalOptimizer,
    net_opt: ProximalOptimizer,
    fixed_lm: Option<CharLm>,
    frozen: bool,
    batch: usize,
    natural: usize,
    rho: f64,
    rng: ChaCha8Rng,
    seed: u64,
    steps_done: u64,
    last: Option<Eval>,
}

impl CharLmTask {
    /// Reads the text of `cfg`, holds out its last `test_fraction` (default 0.1) and builds
    /// the run (with `[model] init_from`, from that run's language model).
    pub fn new(cfg: &Config) -> Result<Self> {
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
        let device = cfg.train.device()?;
        device.seed(cfg.train.seed);
        let mut lm = lm_cfg.init(&device);
        if let Some(from) = &cfg.model.init_from {
            lm = load_model(from, &vocab, &lm_cfg, lm)?;
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
        let net = match &s.tempnet {
            Some(c) => Some(c.init(&device)?),
            None => None,
        };
        let opt = crate::builder::build_plain_optimizer(
            &cfg.optimizer,
            "language-model runs use a plain optimizer (adam, adamw, sgd)",
        )?;
        let net_opt = ProximalOptimizer::new(xrisk::optim::adam(s.tempnet_lr));
        let fixed_lm = frozen.then(|| lm.clone().valid());
        let batch = cfg.sampler.batch_size;
        let natural = (train.len() / (batch * s.seq_len)).max(1);
        // A fixed τ trains the plain tempered cross-entropy: ρ = ln V makes the τ term vanish.
        let rho = if s.tempnet.is_some() {
            s.rho
        } else {
            (vocab.len() as f64).ln()
        };
        Ok(CharLmTask {
            train: train.to_vec(),
            test: test.to_vec(),
            vocab,
            lm_cfg,
            s,
            device,
            lm,
            net,
            opt,
            net_opt,
            fixed_lm,
            frozen,
            batch,
            natural,
            rho,
            rng: ChaCha8Rng::seed_from_u64(cfg.train.seed),
            seed: cfg.train.seed,
            steps_done: 0,
            last: None,
        })
    }

    /// The schedule of a language-model run: `[train]`'s, as for every family.
    pub fn schedule(cfg: &Config) -> crate::Schedule {
        crate::Schedule::of(&cfg.train)
    }

    /// A line for the log: characters, split, vocabulary and temperature.
    pub fn describe(&self) -> String {
        format!(
            "{} characters ({} train, {} held out), vocabulary {}; temperature {}",
            self.train.len() + self.test.len(),
            self.train.len(),
            self.test.len(),
            self.vocab.len(),
            match &self.s.tempnet {
                Some(_) => format!("TempNet, ρ = {:.3}", self.s.rho),
                None => format!("fixed τ = {}", self.s.tau),
            }
        )
    }

    /// Held-out metrics of the current model (those of the last evaluation when no step ran
    /// since).
    pub fn test_metrics(&mut self) -> Result<Eval> {
        match self.last {
            Some(e) => Ok(e),
            None => evaluate(
                &self.lm,
                self.net.as_ref(),
                self.s.tau,
                &self.test,
                self.s.seq_len,
                &self.device,
            ),
        }
    }

    /// The trained model as `xrisk generate` reads it (`charlm.bin`): vocabulary, shape, the
    /// language model and TempNet.
    pub fn export(&self) -> Snapshot {
        let mut snap = Snapshot::new();
        snap.put_text("vocab", self.vocab.as_string());
        snap.put_scalar("emb", self.lm_cfg.emb as f64);
        snap.put_scalar("hidden", self.lm_cfg.hidden as f64);
        snap.put_scalar("tau", self.s.tau);
        save_module(&self.lm, "model", &mut snap);
        if let (Some(n), Some(c)) = (&self.net, &self.s.tempnet) {
            snap.put_scalar("tempnet.tau_min", c.tau_min);
            snap.put_scalar("tempnet.tau_max", c.tau_max);
            snap.put_scalar("tempnet.hidden", c.hidden as f64);
            save_module(n, "tempnet", &mut snap);
        }
        snap
    }

    fn lm_ids(&self) -> Vec<burn::module::ParamId> {
        xrisk::persist::param_ids(&self.lm)
    }
}

impl crate::Task for CharLmTask {
    type Batch = ();

    fn batches_per_epoch(&self) -> usize {
        self.natural
    }

    fn decay(&mut self, factor: f64) -> Result<()> {
        self.opt.update_lr(factor);
        Ok(())
    }

    fn scale_lr(&mut self, ratio: f64) -> Result<()> {
        self.opt.scale_lr(ratio);
        Ok(())
    }

    fn next_epoch(&mut self) -> Result<Vec<()>> {
        // Windows are drawn at random offsets inside each step (the stream is checkpointed).
        Ok(vec![(); self.natural])
    }

    fn batch_ids(_: &()) -> Vec<usize> {
        Vec::new()
    }

    fn step(&mut self, _: &(), mut dist: Option<&mut dyn Collective>) -> Result<f64> {
        self.last = None;
        if self.net.is_some() {
            self.device.seed(step_seed(self.seed, self.steps_done));
        }
        self.steps_done += 1;
        let (batch, seq_len) = (self.batch, self.s.seq_len);
        // Every process draws every window (one stream for the group).
        let (x, y) = windows(&self.train, batch, seq_len, &mut self.rng)?;
        // This rank's windows of the global batch (all of them in one process), and the labels
        // in the order of the rows the loss sees: after `gather_rows`, row g is row g / W of
        // rank g % W, whose rows are its windows' positions, window after window.
        let (mine, y) = match dist.as_deref() {
            None => ((0..batch).collect::<Vec<_>>(), y),
            Some(c) => {
                let w = c.world_size();
                let ranks: Vec<Vec<usize>> = (0..w)
                    .map(|r| shard(batch, r, w))
                    .collect::<xrisk::Result<_>>()?;
                let rows = batch * seq_len;
                let y_gathered: Vec<usize> = (0..rows)
                    .map(|g| {
                        let k = g / w;
                        y[ranks[g % w][k / seq_len] * seq_len + k % seq_len]
                    })
                    .collect();
                (ranks[c.rank()].clone(), y_gathered)
            }
        };
        let x: Vec<i64> = mine
            .iter()
            .flat_map(|&b| x[b * seq_len..(b + 1) * seq_len].iter().copied())
            .collect();
        // A frozen model runs without autodiff (a detached graph would still be recorded and
        // kept); its logits enter the loss as constants, and only TempNet learns.
        let logits = match &self.fixed_lm {
            Some(f) => {
                let inner = self.device.clone().without_autodiff();
                Tensor::from_inner(f.forward(ids_tensor(x, mine.len(), seq_len, &inner)))
            }
            None => self
                .lm
                .forward(ids_tensor(x, mine.len(), seq_len, &self.device)),
        };
        let logits = match dist.as_deref_mut() {
            None => logits,
            Some(c) => gather_rows(logits, c)?,
        };
        let n = y.len();
        let tau = match &self.net {
            Some(net) => net.forward(logits.clone()),
            None => Tensor::<1>::ones([n], &self.device) * self.s.tau,
        };
        let loss = robust_lm_loss(logits, tau, &y, self.rho)?;
        let v = crate::gradients::value(&loss);
        if !v.is_finite() {
            return Ok(v);
        }
        // A frozen model has no gradients to sum; TempNet's are complete on every process (it
        // reads every row).
        let dist = dist.filter(|_| !self.frozen);
        let (mut g_lm, mut grads) = crate::gradients::backward(loss, &self.lm, dist)?;
        if let Some(n) = self.net.take() {
            let mut g_net = GradientsParams::from_module(&mut grads, &n);
            self.net = Some(self.net_opt.step(n, &mut g_net));
        }
        if !self.frozen {
            self.lm = self.opt.step(self.lm.clone(), &mut g_lm);
        }
        Ok(v)
    }

    fn evaluate(&mut self, epoch: usize, loss: f64) -> Result<(serde_json::Value, String)> {
        let e = evaluate(
            &self.lm,
            self.net.as_ref(),
            self.s.tau,
            &self.test,
            self.s.seq_len,
            &self.device,
        )?;
        self.last = Some(e);
        let bits = e.nll / std::f64::consts::LN_2;
        let line = json!({"epoch": epoch, "train_loss": loss,
            "test": {"nll": e.nll, "bits_per_char": bits,
                     "accuracy": e.acc, "ece": e.ece, "mean_tau": e.tau}});
        let summary = format!(
            "train loss {loss:.4}  held-out NLL {:.4} nats/char ({bits:.3} bits)  acc {:.4}  ECE {:.4}  mean τ {:.3}",
            e.nll, e.acc, e.ece, e.tau
        );
        Ok((line, summary))
    }

    fn save(&self, s: &mut Snapshot) -> Result<()> {
        save_module(&self.lm, "model", s);
        self.opt.save_state("optimizer", &self.lm_ids(), s)?;
        if let Some(n) = &self.net {
            save_module(n, "tempnet", s);
            self.net_opt
                .save_state("tempnet_optimizer", &xrisk::persist::param_ids(n), s)?;
        }
        s.put_text("lm.rng_word_pos", self.rng.get_word_pos().to_string());
        s.put_scalar("lm.steps_done", self.steps_done as f64);
        Ok(())
    }

    fn restore(&mut self, s: &Snapshot) -> Result<()> {
        self.lm = restore_module(self.lm.clone(), "model", s)?;
        if self.frozen {
            self.fixed_lm = Some(self.lm.clone().valid());
        }
        let ids = self.lm_ids();
        self.opt.restore_state("optimizer", &ids, s, &self.device)?;
        if let Some(n) = self.net.take() {
            let n = restore_module(n, "tempnet", s)?;
            self.net_opt.restore_state(
                "tempnet_optimizer",
                &xrisk::persist::param_ids(&n),
                s,
                &self.device,
            )?;
            self.net = Some(n);
        }
        let pos: u128 = s.text("lm.rng_word_pos")?.parse().map_err(|e| {
            anyhow::anyhow!("checkpoint entry lm.rng_word_pos is not a number: {e}")
        })?;
        self.rng.set_word_pos(pos);
        self.steps_done = s.count("lm.steps_done")?;
        self.last = None;
        Ok(())
    }
}
