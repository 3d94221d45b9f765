//! Unimodal contrastive learning on images: two augmented views per image, the 28×28 CNN
//! encoder, SogCLR / iSogCLR (`gcl`) or SimCLR's NT-Xent (`infonce`); a linear probe on the
//! frozen representation at the end.

use super::stream::Stream;
use super::{Scheme, UniLoss, check_batch, classes, image_data, isogclr, widths};
use crate::config::Config;
use anyhow::{Result, bail};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde_json::{Value, json};
use xrisk::dist::{Collective, gather_rows, shard};
use xrisk::encoder::ConvEncoder;
use xrisk::loss::{GclConfig, GclLoss, InfoNceLoss};
use xrisk::optim::{ProximalOptimizer, adam};
use xrisk::persist::Persist;
use xrisk_data::Dataset;
use xrisk_data::augment::Augment;
use xrisk_data::snapshot::Snapshot;

/// A unimodal contrastive run as a [`crate::Task`].
///
/// Data-parallel ([`crate::Trainer::with_collective`]): this process encodes its shard of every
/// batch, the loss reads the gathered embeddings (`gather_rows`), the encoder's gradients are
/// summed.
pub struct UnimodalTask {
    train: Dataset,
    test: Dataset,
    k: usize,
    counts: Vec<usize>,
    width: usize,
    batch: usize,
    device: Device,
    enc: ConvEncoder,
    loss: UniLoss,
    opt: ProximalOptimizer,
    aug: Augment,
    stream: Stream,
    seed: u64,
}

impl UnimodalTask {
    /// Reads the images of `cfg` and builds the run (the device seeded, the encoder drawn).
    pub fn new(cfg: &Config) -> Result<Self> {
        let s = super::scheme(cfg)?;
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
        let device = cfg.train.device()?;
        device.seed(cfg.train.seed);
        let opt = super::plain_optimizer(cfg)?;
        let (train, test) = image_data(cfg)?;
        let k = classes(&train).max(classes(&test));
        let mut counts = vec![0usize; k];
        for &y in &train.labels {
            counts[y as usize] += 1;
        }
        let batch = check_batch(cfg, train.len())?;
        let (width, out) = widths(cfg);
        let enc = ConvEncoder::new(width, out, &device);
        let l = &cfg.loss;
        let loss = if l.kind == "infonce" {
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
                &device,
            )?)
        };
        Ok(UnimodalTask {
            train,
            test,
            k,
            counts,
            width,
            batch,
            device,
            enc,
            loss,
            opt,
            aug: Augment::default(),
            stream: Stream::new(cfg.train.seed),
            seed: cfg.train.seed,
        })
    }

    /// A line for the log: the training images per class and the test images.
    pub fn describe(&self) -> String {
        format!(
            "{} training images (per class {:?}), {} test images",
            self.train.len(),
            self.counts,
            self.test.len()
        )
    }

    /// The linear probe: a softmax classifier on the frozen representation (Adam, 200
    /// full-batch epochs); test top-1 overall, on the rare half of the classes and per class;
    /// iSogCLR's mean learned τ per class.
    pub fn final_evaluation(&self) -> Result<Value> {
        let (train, test, width, k, device) =
            (&self.train, &self.test, self.width, self.k, &self.device);
        let reps = |d: &Dataset| -> Vec<f32> {
            let e = self.enc.clone().valid();
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
        let (htr, hte) = (reps(train), reps(test));
        let pred = linear_eval(&htr, &train.labels, &hte, width, k, self.seed, device)?;
        let counts = &self.counts;
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
        if let UniLoss::Gcl(g) = &self.loss
            && let Some((tau, _)) = g.temperatures()
        {
            let mut sum = vec![0.0; k];
            for (i, &y) in train.labels.iter().enumerate() {
                sum[y as usize] += tau[i] as f64;
            }
            let per: Vec<f64> = (0..k).map(|c| sum[c] / counts[c].max(1) as f64).collect();
            result["tau_per_class"] = json!(per);
        }
        Ok(result)
    }
}

impl crate::Task for UnimodalTask {
    type Batch = Vec<usize>;

    fn batches_per_epoch(&self) -> usize {
        self.train.len() / self.batch
    }

    fn begin_epoch(&mut self, epoch: usize) -> Result<()> {
        if let UniLoss::Gcl(g) = &mut self.loss {
            g.adjust_gamma(epoch);
        }
        Ok(())
    }

    fn decay(&mut self, factor: f64) -> Result<()> {
        self.opt.update_lr(factor);
        Ok(())
    }

    fn scale_lr(&mut self, ratio: f64) -> Result<()> {
        self.opt.scale_lr(ratio);
        Ok(())
    }

    fn next_epoch(&mut self) -> Result<Vec<Vec<usize>>> {
        Ok(self.stream.plan(self.train.len(), self.batch))
    }

    fn replays_sampler(&self) -> bool {
        false
    }

    fn batch_ids(batch: &Vec<usize>) -> Vec<usize> {
        batch.clone()
    }

    fn step(&mut self, ids: &Vec<usize>, mut dist: Option<&mut dyn Collective>) -> Result<f64> {
        let (train, aug, device) = (&self.train, &self.aug, &self.device);
        // This rank's positions of the global batch (all of them in one process).
        let mine: Vec<usize> = match dist.as_deref() {
            None => (0..ids.len()).collect(),
            Some(c) => shard(ids.len(), c.rank(), c.world_size())?,
        };
        let rng = self.stream.rng();
        // Every process draws every image's views (one stream for the group) and encodes its
        // own rows.
        let mut views = || -> Tensor<2> {
            let all: Vec<Vec<f32>> = ids
                .iter()
                .map(|&i| aug.view(train.row(i), 28, 28, rng))
                .collect();
            let v: Vec<f32> = mine.iter().flat_map(|&p| all[p].iter().copied()).collect();
            Tensor::from_data(TensorData::new(v, [mine.len(), 784]), device)
        };
        let (v1, v2) = (views(), views());
        let (_, z1) = self.enc.forward(v1);
        let (_, z2) = self.enc.forward(v2);
        let (z1, z2) = match dist.as_deref_mut() {
            None => (z1, z2),
            Some(c) => (gather_rows(z1, c)?, gather_rows(z2, c)?),
        };
        let value = match &mut self.loss {
            UniLoss::Gcl(g) => g.forward(z1, z2, ids)?,
            UniLoss::InfoNce(f) => f.forward(z1, z2)?,
        };
        let v = crate::gradients::value(&value);
        if !v.is_finite() {
            return Ok(v);
        }
        let enc = self.enc.clone();
        let (mut grads, _) = crate::gradients::backward(value, &enc, dist)?;
        self.enc = self.opt.step(enc, &mut grads);
        Ok(v)
    }

    fn evaluate(&mut self, epoch: usize, loss: f64) -> Result<(Value, String)> {
        self.stream.end_epoch();
        Ok((
            json!({"epoch": epoch, "train_loss": loss}),
            format!("train loss {loss:.4}"),
        ))
    }

    fn save(&self, s: &mut Snapshot) -> Result<()> {
        xrisk::persist::save_module(&self.enc, "model", s);
        if let UniLoss::Gcl(g) = &self.loss {
            g.save("loss", s);
        }
        self.opt
            .save_state("optimizer", &xrisk::persist::param_ids(&self.enc), s)?;
        self.stream.save("contrastive.rng", s);
        Ok(())
    }

    fn restore(&mut self, s: &Snapshot) -> Result<()> {
        self.enc = xrisk::persist::restore_module(self.enc.clone(), "model", s)?;
        if let UniLoss::Gcl(g) = &mut self.loss {
            g.restore("loss", s)?;
        }
        let ids = xrisk::persist::param_ids(&self.enc);
        self.opt.restore_state("optimizer", &ids, s, &self.device)?;
        self.stream.restore("contrastive.rng", s)
    }
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
