//! `xrisk train` for contrastive representation learning (issue 5; spec
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

use crate::config::Config;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;
use xrisk::encoder::{BagEncoder, ConvEncoder, bag_batch};
use xrisk::loss::{
    GclBimodalConfig, GclBimodalLoss, GclConfig, GclLoss, InfoNceLoss, IsogclrConfig,
};
use xrisk::optim::{ProximalOptimizer, adam};
use xrisk::tempnet::{TempNetClip, TempNetClipConfig};
use xrisk_data::Dataset;
use xrisk_data::augment::Augment;
use xrisk_data::hashing::{SparseText, hash_text};
use xrisk_data::registry::{fetched_file, paths};

/// Is this a contrastive config?
pub fn is_contrastive(cfg: &Config) -> bool {
    matches!(cfg.loss.kind.as_str(), "gcl" | "infonce")
}

fn bimodal(cfg: &Config) -> Result<bool> {
    match cfg.loss.mode.as_deref() {
        None | Some("unimodal") => Ok(false),
        Some("bimodal") => Ok(true),
        Some(other) => bail!("[loss] mode = \"{other}\": use unimodal or bimodal"),
    }
}

/// The temperature scheme of a gcl config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Global,
    Individual,
    TempNet,
}

fn scheme(cfg: &Config) -> Result<Scheme> {
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
fn isogclr(cfg: &Config, bimodal: bool) -> Result<IsogclrConfig> {
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

fn image_data(cfg: &Config) -> Result<(Dataset, Dataset)> {
    let d = &cfg.data;
    let (train, test) = match (d.format.as_str(), d.dataset.as_deref()) {
        ("embedded-fashion-mnist", None) => {
            let all = crate::embedded::fashion_mnist()?;
            crate::train::random_split(&all, d.test_fraction.unwrap_or(0.3), cfg.train.seed)?
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
fn long_tail(cfg: &Config, train: &Dataset) -> Result<Dataset> {
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

fn classes(d: &Dataset) -> usize {
    d.labels.iter().fold(0f32, |a, &b| a.max(b)) as usize + 1
}

struct Pairs {
    subject: Vec<SparseText>,
    body: Vec<SparseText>,
}

/// `(subject, body)` texts from a file of tab-separated pairs, one per line (blank lines
/// skipped); a line without exactly one tab is an error naming it.
fn read_tsv_pairs(path: &Path) -> Result<Vec<(String, String)>> {
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

fn pair_data(cfg: &Config) -> Result<(Pairs, Pairs, usize)> {
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
enum UniLoss {
    Gcl(GclLoss),
    InfoNce(InfoNceLoss),
}

#[allow(clippy::large_enum_variant)]
enum BiLoss {
    Gcl(GclBimodalLoss),
    TempNet(GclBimodalLoss, f64),
    InfoNce(InfoNceLoss),
}

#[derive(Module, Debug)]
struct TwoTowers {
    subject: BagEncoder,
    body: BagEncoder,
}

#[derive(Module, Debug)]
struct TwoTempNets {
    subject: TempNetClip,
    body: TempNetClip,
}

fn widths(cfg: &Config) -> (usize, usize) {
    let width = cfg
        .model
        .hidden
        .as_ref()
        .and_then(|h| h.first().copied())
        .unwrap_or(128);
    (width, cfg.model.emb_size.unwrap_or(64))
}

fn check_batch(cfg: &Config, n: usize) -> Result<usize> {
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
fn batches(n: usize, b: usize, cap: Option<usize>, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut ids: Vec<usize> = (0..n).collect();
    ids.shuffle(rng);
    let mut out: Vec<Vec<usize>> = ids.chunks_exact(b).map(<[usize]>::to_vec).collect();
    if let Some(c) = cap {
        out.truncate(c);
    }
    out
}

/// Runs a contrastive config; with `dir`, writes config.toml, metrics.jsonl and timing.jsonl.
pub fn run(cfg: &Config, dir: Option<&Path>, config_text: &str, json_out: bool) -> Result<()> {
    let bi = bimodal(cfg)?;
    let s = scheme(cfg)?;
    let device = cfg.train.device()?;
    device.seed(cfg.train.seed);
    let mut logs = match dir {
        Some(d) => Some(crate::runlog::open_run_folder(d, config_text, None)?),
        None => None,
    };
    let opt = crate::train::build_plain_optimizer(
        &cfg.optimizer,
        "contrastive runs use sogclr, isogclr, lars or a plain optimizer (sgd, adam, adamw)",
    )?;
    let result = if bi {
        if cfg.model.kind != "bag" {
            bail!(
                "[model] kind = \"{}\": bimodal runs use kind = \"bag\"",
                cfg.model.kind
            );
        }
        run_bimodal(cfg, s, opt, &device, &mut logs)?
    } else {
        if cfg.model.kind != "conv" {
            bail!(
                "[model] kind = \"{}\": unimodal runs use kind = \"conv\"",
                cfg.model.kind
            );
        }
        if s == Scheme::TempNet {
            bail!(
                "[loss] temperature = \"tempnet\" is implemented for mode = \"bimodal\"; unimodal runs take global or individual"
            );
        }
        run_unimodal(cfg, s, opt, &device, &mut logs)?
    };
    if json_out {
        println!("{}", json!({ "test": result }));
    }
    Ok(())
}

/// Prints the epoch's mean training loss and appends it to metrics.jsonl / timing.jsonl.
fn end_epoch(
    bar: &indicatif::ProgressBar,
    logs: &mut Option<(std::fs::File, std::fs::File)>,
    epoch: usize,
    total: f64,
    steps: usize,
    start: Instant,
) -> Result<()> {
    let secs = start.elapsed().as_secs_f64();
    let mean = total / steps.max(1) as f64;
    bar.suspend(|| eprintln!("epoch {:>3}: train loss {mean:.4} ({secs:.1}s)", epoch + 1));
    let line = json!({"epoch": epoch + 1, "train_loss": mean});
    crate::runlog::append_epoch(logs, &line, epoch + 1, secs, steps)
}

fn run_unimodal(
    cfg: &Config,
    s: Scheme,
    mut opt: ProximalOptimizer,
    device: &Device,
    logs: &mut Option<(std::fs::File, std::fs::File)>,
) -> Result<Value> {
    let (train, test) = image_data(cfg)?;
    let k = classes(&train).max(classes(&test));
    let mut counts = vec![0usize; k];
    for &y in &train.labels {
        counts[y as usize] += 1;
    }
    eprintln!(
        "data: {} training images (per class {:?}), {} test images",
        train.len(),
        counts,
        test.len()
    );
    let b = check_batch(cfg, train.len())?;
    let (width, out) = widths(cfg);
    let mut enc = ConvEncoder::new(width, out, device);
    let l = &cfg.loss;
    let mut loss = if l.kind == "infonce" {
        UniLoss::InfoNce(InfoNceLoss {
            tau: l.tau.unwrap_or(0.1),
            bimodal: false,
        })
    } else {
        UniLoss::Gcl(GclLoss::new(
            GclConfig {
                tau: l.tau.unwrap_or(0.1),
                gamma: l.gamma.unwrap_or(0.9),
                isogclr: (s == Scheme::Individual)
                    .then(|| isogclr(cfg, false))
                    .transpose()?,
                ..GclConfig::new(train.len())
            },
            device,
        )?)
    };
    let aug = Augment::default();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.train.seed);
    let steps = train.len() / b;
    let steps = cfg
        .train
        .max_steps_per_epoch
        .map_or(steps, |m| m.min(steps));
    let bar = crate::runlog::progress(steps * cfg.train.epochs, "steps");
    for epoch in 0..cfg.train.epochs {
        if let UniLoss::Gcl(g) = &mut loss {
            g.adjust_gamma(epoch);
        }
        let start = Instant::now();
        let mut total = 0.0;
        let plan = batches(train.len(), b, Some(steps), &mut rng);
        for ids in &plan {
            let views = |rng: &mut ChaCha8Rng| -> Tensor<2> {
                let v: Vec<f32> = ids
                    .iter()
                    .flat_map(|&i| aug.view(train.row(i), 28, 28, rng))
                    .collect();
                Tensor::from_data(TensorData::new(v, [ids.len(), 784]), device)
            };
            let (v1, v2) = (views(&mut rng), views(&mut rng));
            let (_, z1) = enc.forward(v1);
            let (_, z2) = enc.forward(v2);
            let value = match &mut loss {
                UniLoss::Gcl(g) => g.forward(z1, z2, ids)?,
                UniLoss::InfoNce(f) => f.forward(z1, z2)?,
            };
            total += crate::runlog::loss_value(&value, epoch)?;
            let mut grads = GradientsParams::from_grads(value.backward(), &enc);
            enc = opt.step(enc, &mut grads);
            bar.inc(1);
        }
        end_epoch(&bar, logs, epoch, total, plan.len(), start)?;
    }
    bar.finish_and_clear();
    // Linear evaluation on the frozen representation.
    let reps = |d: &Dataset| -> Vec<f32> {
        let e = enc.clone().valid();
        let dev = device.clone().without_autodiff();
        let mut out = Vec::with_capacity(d.len() * width);
        for start in (0..d.len()).step_by(512) {
            let end = (start + 512).min(d.len());
            let x = Tensor::<2>::from_data(
                TensorData::new(
                    d.features[start * 784..end * 784].to_vec(),
                    [end - start, 784],
                ),
                &dev,
            );
            out.extend(
                e.forward(x)
                    .0
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .unwrap_or_default(),
            );
        }
        out
    };
    let (htr, hte) = (reps(&train), reps(&test));
    let pred = linear_eval(&htr, &train.labels, &hte, width, k, cfg.train.seed, device)?;
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by_key(|&c| counts[c]);
    let rare: Vec<usize> = order[..k / 2].to_vec();
    let acc = |keep: &dyn Fn(usize) -> bool| {
        let (mut n, mut hit) = (0usize, 0usize);
        for (p, &y) in pred.iter().zip(&test.labels) {
            if keep(y as usize) {
                n += 1;
                hit += usize::from(*p == y as usize);
            }
        }
        hit as f64 / n.max(1) as f64
    };
    let overall = acc(&|_| true);
    let rare_acc = acc(&|c| rare.contains(&c));
    let per_class: Vec<f64> = (0..k).map(|c| acc(&|y| y == c)).collect();
    let mut result = json!({"linear_top1": overall, "rare_top1": rare_acc,
        "rare_classes": rare, "per_class_top1": per_class, "train_per_class": counts});
    eprintln!("linear evaluation: top-1 {overall:.4}, rare half {rare_acc:.4}");
    if let UniLoss::Gcl(g) = &loss
        && let Some((tau, _)) = g.temperatures()
    {
        let mut sum = vec![0.0; k];
        for (i, &y) in train.labels.iter().enumerate() {
            sum[y as usize] += tau[i] as f64;
        }
        let per: Vec<f64> = (0..k).map(|c| sum[c] / counts[c].max(1) as f64).collect();
        eprintln!("mean learned τ per class: {per:.3?}");
        result["tau_per_class"] = json!(per);
    }
    Ok(result)
}

/// A softmax linear classifier on frozen features (standardised with the training rows'
/// mean and spread), Adam lr 0.01, 200 full-batch epochs; returns test predictions.
fn linear_eval(
    train: &[f32],
    labels: &[f32],
    test: &[f32],
    d: usize,
    k: usize,
    seed: u64,
    device: &Device,
) -> Result<Vec<usize>> {
    let n = labels.len();
    let (mut mean, mut var) = (vec![0f64; d], vec![0f64; d]);
    for r in train.chunks(d) {
        for (j, &v) in r.iter().enumerate() {
            mean[j] += v as f64 / n as f64;
        }
    }
    for r in train.chunks(d) {
        for (j, &v) in r.iter().enumerate() {
            var[j] += (v as f64 - mean[j]).powi(2) / n as f64;
        }
    }
    let scale = |x: &[f32]| -> Vec<f32> {
        x.chunks(d)
            .flat_map(|r| {
                r.iter()
                    .enumerate()
                    .map(|(j, &v)| ((v as f64 - mean[j]) / (var[j].sqrt() + 1e-6)) as f32)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    device.seed(seed);
    let mut head: Linear = LinearConfig::new(d, k).init(device);
    let x = Tensor::<2>::from_data(TensorData::new(scale(train), [n, d]), device);
    let y = Tensor::<2, Int>::from_data(
        TensorData::new(labels.iter().map(|&v| v as i64).collect(), [n, 1]),
        device,
    );
    let mut opt = ProximalOptimizer::new(adam(0.01));
    for _ in 0..200 {
        let loss = (-log_softmax(head.forward(x.clone()), 1).gather(1, y.clone())).mean();
        let mut g = GradientsParams::from_grads(loss.backward(), &head);
        head = opt.step(head, &mut g);
    }
    let m = test.len() / d;
    let logits = head.valid().forward(Tensor::<2>::from_data(
        TensorData::new(scale(test), [m, d]),
        &device.clone().without_autodiff(),
    ));
    let v: Vec<f32> = logits
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    Ok(v.chunks(k)
        .map(|r| {
            r.iter()
                .enumerate()
                .fold((0, f32::MIN), |a, (c, &s)| if s > a.1 { (c, s) } else { a })
                .0
        })
        .collect())
}

fn run_bimodal(
    cfg: &Config,
    s: Scheme,
    mut opt: ProximalOptimizer,
    device: &Device,
    logs: &mut Option<(std::fs::File, std::fs::File)>,
) -> Result<Value> {
    let (train, test, buckets) = pair_data(cfg)?;
    let n = train.subject.len();
    eprintln!(
        "data: {n} training pairs, {} held-out pairs (mail subject ↔ body), {buckets} hash slots",
        test.subject.len()
    );
    let b = check_batch(cfg, n)?;
    let (width, out) = widths(cfg);
    let mut towers = TwoTowers {
        subject: BagEncoder::new(buckets, width, out, device),
        body: BagEncoder::new(buckets, width, out, device),
    };
    let l = &cfg.loss;
    let gcl_cfg = |iso| GclBimodalConfig {
        tau: l.tau.unwrap_or(0.01),
        gamma: l.gamma.unwrap_or(0.9),
        isogclr: iso,
        ..GclBimodalConfig::new(n)
    };
    let mut nets = None;
    let mut loss = match (l.kind.as_str(), s) {
        ("infonce", _) => BiLoss::InfoNce(InfoNceLoss {
            tau: l.tau.unwrap_or(0.01),
            bimodal: true,
        }),
        (_, Scheme::Global) => BiLoss::Gcl(GclBimodalLoss::new(gcl_cfg(None), device)?),
        (_, Scheme::Individual) => BiLoss::Gcl(GclBimodalLoss::new(
            gcl_cfg(Some(isogclr(cfg, true)?)),
            device,
        )?),
        (_, Scheme::TempNet) => {
            let iso = isogclr(cfg, true)?;
            let c = TempNetClipConfig {
                tau_min: iso.tau_min,
                tau_max: iso.tau_max,
                ..TempNetClipConfig::new(out)
            };
            nets = Some(TwoTempNets {
                subject: c.init(device)?,
                body: c.init(device)?,
            });
            BiLoss::TempNet(GclBimodalLoss::new(gcl_cfg(None), device)?, iso.rho)
        }
    };
    let mut net_opt = ProximalOptimizer::new(adam(l.tempnet_lr.unwrap_or(1e-3)));
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.train.seed);
    let steps = n / b;
    let steps = cfg
        .train
        .max_steps_per_epoch
        .map_or(steps, |m| m.min(steps));
    let bar = crate::runlog::progress(steps * cfg.train.epochs, "steps");
    for epoch in 0..cfg.train.epochs {
        match &mut loss {
            BiLoss::Gcl(g) | BiLoss::TempNet(g, _) => g.adjust_gamma(epoch),
            BiLoss::InfoNce(_) => {}
        }
        let start = Instant::now();
        let mut total = 0.0;
        let plan = batches(n, b, Some(steps), &mut rng);
        for ids in &plan {
            let side = |texts: &[SparseText]| {
                let refs: Vec<&SparseText> = ids.iter().map(|&i| &texts[i]).collect();
                bag_batch(&refs, device)
            };
            let (ss, sw) = side(&train.subject);
            let (bs, bw) = side(&train.body);
            let (_, zs) = towers.subject.forward(ss, sw);
            let (_, zb) = towers.body.forward(bs, bw);
            let value = match &mut loss {
                BiLoss::Gcl(g) => g.forward(zs, zb, ids)?,
                BiLoss::InfoNce(f) => f.forward(zs, zb)?,
                BiLoss::TempNet(g, rho) => {
                    let t = nets.as_ref().context("TempNets")?;
                    let (ts, tb) = (t.subject.forward(zs.clone()), t.body.forward(zb.clone()));
                    g.forward_tempnet(zs, zb, ids, ts, tb, *rho)?
                }
            };
            total += crate::runlog::loss_value(&value, epoch)?;
            let mut grads = value.backward();
            let mut g_enc = GradientsParams::from_module(&mut grads, &towers);
            if let Some(t) = nets.take() {
                let mut g_net = GradientsParams::from_module(&mut grads, &t);
                nets = Some(net_opt.step(t, &mut g_net));
            }
            towers = opt.step(towers, &mut g_enc);
            bar.inc(1);
        }
        end_epoch(&bar, logs, epoch, total, plan.len(), start)?;
    }
    bar.finish_and_clear();
    // Retrieval on the held-out pairs.
    let dev = device.clone().without_autodiff();
    let t = towers.valid();
    let project = |enc: &BagEncoder, texts: &[SparseText]| -> Vec<f32> {
        let mut out = Vec::with_capacity(texts.len() * cfg.model.emb_size.unwrap_or(64));
        for chunk in texts.chunks(256) {
            let refs: Vec<&SparseText> = chunk.iter().collect();
            let (s, w) = bag_batch(&refs, &dev);
            out.extend(
                enc.forward(s, w)
                    .1
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .unwrap_or_default(),
            );
        }
        out
    };
    let (ps, pb) = (
        project(&t.subject, &test.subject),
        project(&t.body, &test.body),
    );
    let m = test.subject.len();
    let mut sim = vec![0f64; m * m];
    for i in 0..m {
        for j in 0..m {
            sim[i * m + j] = ps[i * out..(i + 1) * out]
                .iter()
                .zip(&pb[j * out..(j + 1) * out])
                .map(|(a, b)| (*a as f64) * (*b as f64))
                .sum();
        }
    }
    let (s2b, b2s) = xrisk_metrics::recall_at_k_both(&sim, m, &[1, 5, 10])?;
    eprintln!(
        "retrieval on {m} held-out pairs: subject→body R@1 {:.4} R@5 {:.4} R@10 {:.4}; body→subject R@1 {:.4} R@5 {:.4} R@10 {:.4}",
        s2b[0], s2b[1], s2b[2], b2s[0], b2s[1], b2s[2]
    );
    let mut result = json!({"subject_to_body": {"r1": s2b[0], "r5": s2b[1], "r10": s2b[2]},
        "body_to_subject": {"r1": b2s[0], "r5": b2s[1], "r10": b2s[2]}, "pairs": m});
    if let BiLoss::Gcl(g) = &loss
        && let Some([(ti, _), (tt, _)]) = g.temperatures()
    {
        let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64;
        result["mean_tau"] = json!({"subject": mean(&ti), "body": mean(&tt)});
    }
    if let Some(nets) = &nets {
        let tn = nets.clone().valid();
        // TempNet reads the projections already computed for retrieval (first 512 pairs).
        let rows = m.min(512);
        let mean_tau = |net: &TempNetClip, p: &[f32]| -> f64 {
            let z = Tensor::<2>::from_data(
                TensorData::new(p[..rows * out].to_vec(), [rows, out]),
                &dev,
            );
            let tau: Vec<f32> = net
                .forward(z)
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap_or_default();
            tau.iter().map(|&x| x as f64).sum::<f64>() / tau.len().max(1) as f64
        };
        result["mean_tau"] = json!({"subject": mean_tau(&tn.subject, &ps),
            "body": mean_tau(&tn.body, &pb)});
    }
    Ok(result)
}
