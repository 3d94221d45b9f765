//! The contrastive family: representation learning (spec
//! `tempnet_isogclr_spec.md`): `[loss] kind = "gcl"` (SogCLR / iSogCLR / TempNet, LibAUC's
//! GCLoss_v1 and _v2) or `kind = "infonce"` (the mini-batch baselines: SimCLR's NT-Xent, CLIP's
//! symmetric cross-entropy), `mode = "unimodal" | "bimodal"`.
//!
//! **Unimodal** (`[model] kind = "conv"`): images as two augmented views (crop after 4-pixel
//! padding, flip, noise σ 0.1, erase with p 0.5), the 28×28 CNN encoder. Data:
//! `format = "embedded-fashion-mnist"` (the 10,000 images in the binary, split by
//! `test_fraction`) or `dataset = "fashion-mnist"` (fetched: 60,000 train / 10,000 test);
//! `max_per_class` caps each training class, `long_tail = r` then keeps
//! `⌈n·r^(−k/(K−1))⌉` rows of class k (class 0 the head, class K−1 the tail, `r` the
//! head-to-tail ratio); the test set stays balanced. Evaluation: the frozen representation,
//! a softmax linear classifier trained on it (Adam, 200 full-batch epochs), test top-1
//! accuracy overall and on the rare half of the classes; iSogCLR also reports the mean learned
//! τ per class.
//!
//! **Bimodal** (`[model] kind = "bag"`): mail subject ↔ body pairs from SpamAssassin
//! (`dataset = "spam-assassin"`, `xrisk data fetch text-corpora`) or any text pairs
//! (`format = "tsv-pairs"`, `train = FILE`, one tab-separated pair per line), each side hashed into
//! `n_features` slots (default 2¹⁴) and encoded by its own bag encoder. `temperature =
//! "global"` (SogCLR), `"individual"` (iSogCLR, per pair and side) or `"tempnet"` (one
//! TempNet per side, its own Adam at `tempnet_lr`). Evaluation: recall@1/5/10 of the held-out
//! pairs, subject → body and body → subject.

//!
//! Epoch lines hold the mean training loss; the evaluation (linear probe or retrieval) runs
//! once at the end ([`UnimodalTask::final_evaluation`], [`BimodalTask::final_evaluation`]). One
//! seeded stream draws each epoch's batch order and the steps' augmentations; a checkpoint
//! keeps its position at the epoch's start and now, with the encoders, the optimizers' buffers
//! and the loss's state tables. TempNet's dropout draws from burn's device RNG, which runs
//! that train TempNet seed at every step from the run's seed and the step's number.
//!
//! iSogCLR on text pairs (subject ↔ body), then retrieval of the held-out pairs:
//!
//! ```
//! use xrisk_train::contrastive::BimodalTask;
//! use xrisk_train::{Schedule, Trainer, observer::Records};
//!
//! let dir = std::env::temp_dir().join(format!("xrisk-doc-pairs-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let words = ["whale", "ship", "sea", "sail", "storm", "rope", "deck", "oil", "wave", "moon"];
//! let pairs: String = (0..300usize)
//!     .map(|i| {
//!         let (a, b, id) = (words[i % 10], words[(i * 7 + 3) % 10], i % 37);
//!         format!("{a} {b} n{id}\tthe {b} and the {a} near n{id}\n")
//!     })
//!     .collect();
//! std::fs::write(dir.join("pairs.tsv"), pairs)?;
//! let cfg = xrisk_train::config::parse(
//!     r#"
//!     [data]
//!     format = "tsv-pairs"
//!     train = "pairs.tsv"
//!     n_features = 1024
//!     [model]
//!     kind = "bag"
//!     hidden = [32]
//!     emb_size = 16
//!     [loss]
//!     kind = "gcl"
//!     mode = "bimodal"
//!     temperature = "individual"
//!     [optimizer]
//!     kind = "adam"
//!     lr = 0.01
//!     [sampler]
//!     batch_size = 32
//!     [train]
//!     epochs = 6
//!     "#,
//!     &dir.join("run.toml"), // relative paths are read next to the config
//! )?;
//! let mut task = BimodalTask::new(&cfg)?;
//! let mut records = Records::default();
//! Trainer::new(Schedule::of(&cfg.train)).fit(&mut task, &mut records)?;
//! let r = task.final_evaluation()?;
//! let r10 = r["subject_to_body"]["r10"].as_f64().unwrap_or(0.0);
//! assert!(r10 > 10.0 / 60.0, "R@10 {r10} on 60 held-out pairs"); // chance: 10 / 60
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), anyhow::Error>(())
//! ```

use crate::config::Config;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use xrisk::encoder::BagEncoder;
use xrisk::loss::{GclBimodalConfig, GclBimodalLoss, GclLoss, InfoNceLoss, IsogclrConfig};
use xrisk::tempnet::TempNetClip;
use xrisk_data::Dataset;
use xrisk_data::hashing::{SparseText, hash_text};
use xrisk_data::registry::{fetched_file, paths};

mod bimodal;
mod stream;
mod unimodal;

pub use bimodal::BimodalTask;
pub use unimodal::UnimodalTask;

/// Is this a contrastive config?
pub fn is_contrastive(cfg: &Config) -> bool {
    matches!(cfg.loss.kind.as_str(), "gcl" | "infonce")
}

pub(crate) fn bimodal(cfg: &Config) -> Result<bool> {
    match cfg.loss.mode.as_deref() {
        None | Some("unimodal") => Ok(false),
        Some("bimodal") => Ok(true),
        Some(other) => bail!("[loss] mode = \"{other}\": use unimodal or bimodal"),
    }
}

/// The temperature scheme of a gcl config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Global,
    Individual,
    TempNet,
}

pub(crate) fn scheme(cfg: &Config) -> Result<Scheme> {
    let l = &cfg.loss;
    let s = match l.temperature.as_deref() {
        None | Some("global") => Scheme::Global,
        Some("individual") => Scheme::Individual,
        Some("tempnet") => Scheme::TempNet,
        Some(other) => {
            bail!("[loss] temperature = \"{other}\": use global, individual or tempnet")
        }
    };
    if s == Scheme::Global
        && (l.rho.is_some() || l.eta.is_some() || l.tau_min.is_some() || l.tau_max.is_some())
    {
        bail!(
            "[loss] rho, eta, tau_min and tau_max are for temperature = \"individual\" or \"tempnet\""
        );
    }
    if s != Scheme::TempNet && l.tempnet_lr.is_some() {
        bail!("[loss] tempnet_lr is for temperature = \"tempnet\"");
    }
    if s == Scheme::TempNet && l.tau.is_some() {
        bail!(
            "[loss] tau: with temperature = \"tempnet\" the networks set τ within tau_min, tau_max"
        );
    }
    if s == Scheme::TempNet && l.eta.is_some() {
        bail!("[loss] eta is iSogCLR's τ step; TempNet learns at tempnet_lr");
    }
    Ok(s)
}

/// iSogCLR's settings from `[loss]` over LibAUC's defaults for the mode.
pub(crate) fn isogclr(cfg: &Config, bimodal: bool) -> Result<IsogclrConfig> {
    let d = if bimodal {
        GclBimodalConfig::isogclr_defaults()
    } else {
        IsogclrConfig::default()
    };
    let l = &cfg.loss;
    let c = IsogclrConfig {
        tau_min: l.tau_min.unwrap_or(d.tau_min),
        tau_max: l.tau_max.unwrap_or(d.tau_max),
        rho: l.rho.unwrap_or(d.rho),
        eta: l.eta.unwrap_or(d.eta),
        beta: l.beta.unwrap_or(d.beta),
    };
    if !(c.tau_min > 0.0 && c.tau_min < c.tau_max) {
        bail!(
            "[loss] tau_min = {}, tau_max = {}: need 0 < tau_min < tau_max",
            c.tau_min,
            c.tau_max
        );
    }
    if c.rho.is_nan()
        || c.rho < 0.0
        || c.eta.is_nan()
        || c.eta < 0.0
        || !(0.0..=1.0).contains(&c.beta)
    {
        bail!("[loss] need rho ≥ 0, eta ≥ 0 and beta in [0, 1]");
    }
    Ok(c)
}

// ---------------------------------------------------------------- data

pub(crate) fn image_data(cfg: &Config) -> Result<(Dataset, Dataset)> {
    let d = &cfg.data;
    let (train, test) = match (d.format.as_str(), d.dataset.as_deref()) {
        ("embedded-fashion-mnist", None) => {
            let all = xrisk_data::embedded::fashion_mnist().context("embedded Fashion-MNIST")?;
            crate::data::random_split(&all, d.test_fraction.unwrap_or(0.3), cfg.train.seed)?
        }
        (_, Some("fashion-mnist")) => {
            let root = fetched_file("fashion-mnist", paths::FASHION_MNIST)?;
            let read = |i: &str, l: &str| {
                xrisk_data::readers::idx::read_idx_images(&root.join(i), &root.join(l))
            };
            (
                read("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")?,
                read("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")?,
            )
        }
        _ => bail!(
            "[data] unimodal contrastive runs read format = \"embedded-fashion-mnist\" or dataset = \"fashion-mnist\""
        ),
    };
    if train.dim != 784 {
        bail!("the contrastive image encoder reads 28×28 images (784 features)");
    }
    Ok((long_tail(cfg, &train)?, test))
}

/// Applies `max_per_class` and `long_tail` to the training rows (seeded order within a class).
pub(crate) fn long_tail(cfg: &Config, train: &Dataset) -> Result<Dataset> {
    let d = &cfg.data;
    if d.max_per_class.is_none() && d.long_tail.is_none() {
        return Ok(train.clone());
    }
    if let Some(r) = d.long_tail
        && (r.is_nan() || r < 1.0)
    {
        bail!("[data] long_tail = {r}: the head-to-tail ratio must be ≥ 1");
    }
    let k = classes(train);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &y) in train.labels.iter().enumerate() {
        by_class[y as usize].push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.train.seed ^ 0x5eed);
    let mut keep = Vec::new();
    for (c, rows) in by_class.iter_mut().enumerate() {
        rows.shuffle(&mut rng);
        let mut n = d.max_per_class.unwrap_or(rows.len()).min(rows.len());
        if let Some(r) = d.long_tail {
            let frac = r.powf(-(c as f64) / (k.max(2) - 1) as f64);
            n = ((n as f64 * frac).ceil() as usize).max(1);
        }
        keep.extend_from_slice(&rows[..n.min(rows.len())]);
    }
    keep.sort_unstable();
    Ok(train.select(&keep))
}

pub(crate) fn classes(d: &Dataset) -> usize {
    d.labels.iter().fold(0f32, |a, &b| a.max(b)) as usize + 1
}

pub(crate) struct Pairs {
    pub(crate) subject: Vec<SparseText>,
    pub(crate) body: Vec<SparseText>,
}

/// `(subject, body)` texts from a file of tab-separated pairs, one per line (blank lines
/// skipped); a line without exactly one tab is an error naming it.
pub(crate) fn read_tsv_pairs(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {} as UTF-8 text", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split('\t').collect();
        if parts.len() != 2 || parts.iter().any(|p| p.trim().is_empty()) {
            bail!(
                "{}:{}: expected two non-empty texts separated by one tab",
                path.display(),
                i + 1
            );
        }
        out.push((parts[0].to_string(), parts[1].to_string()));
    }
    Ok(out)
}

pub(crate) fn pair_data(cfg: &Config) -> Result<(Pairs, Pairs, usize)> {
    let d = &cfg.data;
    let pairs: Vec<(String, String)> = match (d.dataset.as_deref(), d.format.as_str(), &d.train) {
        (Some("spam-assassin"), _, _) => {
            let root = fetched_file("text-corpora", paths::SPAM_ASSASSIN)?;
            xrisk_data::readers::mail::read_mail_pairs(&root, 1000)?
                .into_iter()
                .map(|p| (p.subject, p.body))
                .collect()
        }
        (None, "tsv-pairs", Some(p)) => read_tsv_pairs(p)?,
        _ => bail!(
            "[data] bimodal contrastive runs read dataset = \"spam-assassin\" (mail subject ↔ body; xrisk data fetch text-corpora) or format = \"tsv-pairs\" with train = FILE"
        ),
    };
    let buckets = d.n_features.unwrap_or(1 << 14);
    if !(16..=1 << 22).contains(&buckets) {
        bail!("[data] n_features = {buckets}: hash buckets must be in [16, 4194304]");
    }
    let (tr, te) = xrisk_data::train_test_split(
        &vec![0.0; pairs.len()],
        d.test_fraction.unwrap_or(0.2),
        cfg.train.seed,
    )?;
    let hash = |ids: &[usize]| Pairs {
        subject: ids
            .iter()
            .map(|&i| hash_text(&pairs[i].0, buckets as u32, 256))
            .collect(),
        body: ids
            .iter()
            .map(|&i| hash_text(&pairs[i].1, buckets as u32, 512))
            .collect(),
    };
    Ok((hash(&tr), hash(&te), buckets))
}

// ---------------------------------------------------------------- losses

// One value per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum UniLoss {
    Gcl(GclLoss),
    InfoNce(InfoNceLoss),
}

#[allow(clippy::large_enum_variant)]
pub(crate) enum BiLoss {
    Gcl(GclBimodalLoss),
    TempNet(GclBimodalLoss, f64),
    InfoNce(InfoNceLoss),
}

#[derive(Module, Debug)]
pub(crate) struct TwoTowers {
    pub(crate) subject: BagEncoder,
    pub(crate) body: BagEncoder,
}

#[derive(Module, Debug)]
pub(crate) struct TwoTempNets {
    pub(crate) subject: TempNetClip,
    pub(crate) body: TempNetClip,
}

pub(crate) fn widths(cfg: &Config) -> (usize, usize) {
    let width = cfg
        .model
        .hidden
        .as_ref()
        .and_then(|h| h.first().copied())
        .unwrap_or(128);
    (width, cfg.model.emb_size.unwrap_or(64))
}

pub(crate) fn check_batch(cfg: &Config, n: usize) -> Result<usize> {
    let b = cfg.sampler.batch_size;
    if b < 2 || b > n {
        bail!(
            "[sampler] batch_size = {b}: a contrastive batch needs 2 to {n} samples (every other sample is a negative)"
        );
    }
    Ok(b)
}

/// Seeded shuffled batches of `b` ids from `0..n` (the last, short one dropped), at most
/// `cap` of them.
pub(crate) fn batches(
    n: usize,
    b: usize,
    cap: Option<usize>,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<usize>> {
    let mut ids: Vec<usize> = (0..n).collect();
    ids.shuffle(rng);
    let mut out: Vec<Vec<usize>> = ids.chunks_exact(b).map(<[usize]>::to_vec).collect();
    if let Some(c) = cap {
        out.truncate(c);
    }
    out
}

/// The encoder's optimizer: SogCLR, iSogCLR, LARS or a plain one.
pub(crate) fn plain_optimizer(cfg: &Config) -> Result<xrisk::optim::ProximalOptimizer> {
    crate::builder::build_plain_optimizer(
        &cfg.optimizer,
        "contrastive runs use sogclr, isogclr, lars or a plain optimizer (sgd, adam, adamw)",
    )
}

/// Whether `cfg` trains bimodal pairs (`[loss] mode = "bimodal"`) rather than images.
pub fn is_bimodal(cfg: &Config) -> Result<bool> {
    bimodal(cfg)
}
