//! Bimodal contrastive learning on text pairs (mail subject ↔ body, or any TSV pairs): two
//! hashed-bag towers, SogCLR / iSogCLR / TempNet (`gcl`) or CLIP's symmetric cross-entropy
//! (`infonce`); recall@1/5/10 of the held-out pairs at the end.

use super::stream::Stream;
use super::{
    BiLoss, Pairs, Scheme, TwoTempNets, TwoTowers, check_batch, isogclr, pair_data, widths,
};
use crate::config::Config;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::{Value, json};
use xrisk::dist::{Collective, gather_rows, shard};
use xrisk::encoder::{BagEncoder, bag_batch};
use xrisk::loss::{GclBimodalConfig, GclBimodalLoss, InfoNceLoss};
use xrisk::optim::{ProximalOptimizer, adam};
use xrisk::persist::Persist;
use xrisk::tempnet::{TempNetClip, TempNetClipConfig};
use xrisk_data::hashing::SparseText;
use xrisk_data::snapshot::Snapshot;

/// The per-step seed of burn's device RNG in runs that train TempNet (its dropout).
fn step_seed(seed: u64, step: u64) -> u64 {
    seed ^ (step + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A bimodal contrastive run as a [`crate::Task`].
///
/// Data-parallel ([`crate::Trainer::with_collective`]): this process encodes its shard of every
/// batch's pairs, the loss reads the gathered embeddings (`gather_rows`), the towers' gradients
/// are summed.
pub struct BimodalTask {
    train: Pairs,
    test: Pairs,
    buckets: usize,
    out: usize,
    batch: usize,
    device: Device,
    towers: TwoTowers,
    nets: Option<TwoTempNets>,
    loss: BiLoss,
    opt: ProximalOptimizer,
    net_opt: ProximalOptimizer,
    stream: Stream,
    seed: u64,
    steps_done: u64,
}

impl BimodalTask {
    /// Reads and hashes the pairs of `cfg` and builds the run (the device seeded, the towers
    /// and TempNets drawn).
    pub fn new(cfg: &Config) -> Result<Self> {
        let s = super::scheme(cfg)?;
        let device = cfg.train.device()?;
        device.seed(cfg.train.seed);
        let opt = super::plain_optimizer(cfg)?;
        if cfg.model.kind != "bag" {
            bail!(
                "[model] kind = \"{}\": bimodal runs use kind = \"bag\"",
                cfg.model.kind
            );
        }
        let (train, test, buckets) = pair_data(cfg)?;
        let n = train.subject.len();
        let batch = check_batch(cfg, n)?;
        let (width, out) = widths(cfg);
        let towers = TwoTowers {
            subject: BagEncoder::new(buckets, width, out, &device),
            body: BagEncoder::new(buckets, width, out, &device),
        };
        let l = &cfg.loss;
        let gcl_cfg = |iso| GclBimodalConfig {
            tau: l.tau.unwrap_or(0.01),
            gamma: l.gamma.unwrap_or(0.9),
            isogclr: iso,
            ..GclBimodalConfig::new(n)
        };
        let mut nets = None;
        let loss = match (l.kind.as_str(), s) {
            ("infonce", _) => BiLoss::InfoNce(InfoNceLoss {
                tau: l.tau.unwrap_or(0.01),
                bimodal: true,
            }),
            (_, Scheme::Global) => BiLoss::Gcl(GclBimodalLoss::new(gcl_cfg(None), &device)?),
            (_, Scheme::Individual) => BiLoss::Gcl(GclBimodalLoss::new(
                gcl_cfg(Some(isogclr(cfg, true)?)),
                &device,
            )?),
            (_, Scheme::TempNet) => {
                let iso = isogclr(cfg, true)?;
                let c = TempNetClipConfig {
                    tau_min: iso.tau_min,
                    tau_max: iso.tau_max,
                    ..TempNetClipConfig::new(out)
                };
                nets = Some(TwoTempNets {
                    subject: c.init(&device)?,
                    body: c.init(&device)?,
                });
                BiLoss::TempNet(GclBimodalLoss::new(gcl_cfg(None), &device)?, iso.rho)
            }
        };
        Ok(BimodalTask {
            train,
            test,
            buckets,
            out,
            batch,
            device,
            towers,
            nets,
            loss,
            opt,
            net_opt: ProximalOptimizer::new(adam(l.tempnet_lr.unwrap_or(1e-3))),
            stream: Stream::new(cfg.train.seed),
            seed: cfg.train.seed,
            steps_done: 0,
        })
    }

    /// A line for the log: training and held-out pairs, hash slots.
    pub fn describe(&self) -> String {
        format!(
            "{} training pairs, {} held-out pairs (mail subject ↔ body), {} hash slots",
            self.train.subject.len(),
            self.test.subject.len(),
            self.buckets
        )
    }

    /// Retrieval on the held-out pairs: recall@1/5/10 subject → body and body → subject, and
    /// the mean temperature of each side (iSogCLR's learned τ or TempNet's).
    pub fn final_evaluation(&self) -> Result<Value> {
        let (test, out) = (&self.test, self.out);
        let dev = self.device.clone().without_autodiff();
        let t = self.towers.valid();
        let project = |enc: &BagEncoder, texts: &[SparseText]| -> Vec<f32> {
            let mut v = Vec::with_capacity(texts.len() * out);
            for chunk in texts.chunks(256) {
                let refs: Vec<&SparseText> = chunk.iter().collect();
                let (s, w) = bag_batch(&refs, &dev);
                v.extend(
                    enc.forward(s, w)
                        .1
                        .into_data()
                        .convert::<f32>()
                        .try_to_vec::<f32>()
                        .unwrap_or_default(),
                );
            }
            v
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
        let mut result = json!({"subject_to_body": {"r1": s2b[0], "r5": s2b[1], "r10": s2b[2]},
            "body_to_subject": {"r1": b2s[0], "r5": b2s[1], "r10": b2s[2]}, "pairs": m});
        if let BiLoss::Gcl(g) = &self.loss
            && let Some([(ti, _), (tt, _)]) = g.temperatures()
        {
            let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64;
            result["mean_tau"] = json!({"subject": mean(&ti), "body": mean(&tt)});
        }
        if let Some(nets) = &self.nets {
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
}

impl crate::Task for BimodalTask {
    type Batch = Vec<usize>;

    fn batches_per_epoch(&self) -> usize {
        self.train.subject.len() / self.batch
    }

    fn begin_epoch(&mut self, epoch: usize) -> Result<()> {
        match &mut self.loss {
            BiLoss::Gcl(g) | BiLoss::TempNet(g, _) => g.adjust_gamma(epoch),
            BiLoss::InfoNce(_) => {}
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
        Ok(self.stream.plan(self.train.subject.len(), self.batch))
    }

    fn replays_sampler(&self) -> bool {
        false
    }

    fn batch_ids(batch: &Vec<usize>) -> Vec<usize> {
        batch.clone()
    }

    fn step(&mut self, ids: &Vec<usize>, mut dist: Option<&mut dyn Collective>) -> Result<f64> {
        if self.nets.is_some() {
            self.device.seed(step_seed(self.seed, self.steps_done));
        }
        self.steps_done += 1;
        let device = &self.device;
        // This rank's rows of the global batch (all of them in one process).
        let mine: Vec<usize> = match dist.as_deref() {
            None => ids.clone(),
            Some(c) => shard(ids.len(), c.rank(), c.world_size())?
                .into_iter()
                .map(|p| ids[p])
                .collect(),
        };
        let side = |texts: &[SparseText]| {
            let refs: Vec<&SparseText> = mine.iter().map(|&i| &texts[i]).collect();
            bag_batch(&refs, device)
        };
        let (ss, sw) = side(&self.train.subject);
        let (bs, bw) = side(&self.train.body);
        let (_, zs) = self.towers.subject.forward(ss, sw);
        let (_, zb) = self.towers.body.forward(bs, bw);
        // The loss (and TempNet) read the gathered global batch.
        let (zs, zb) = match dist.as_deref_mut() {
            None => (zs, zb),
            Some(c) => (gather_rows(zs, c)?, gather_rows(zb, c)?),
        };
        let value = match &mut self.loss {
            BiLoss::Gcl(g) => g.forward(zs, zb, ids)?,
            BiLoss::InfoNce(f) => f.forward(zs, zb)?,
            BiLoss::TempNet(g, rho) => {
                let t = self.nets.as_ref().context("TempNets")?;
                let (ts, tb) = (t.subject.forward(zs.clone()), t.body.forward(zb.clone()));
                g.forward_tempnet(zs, zb, ids, ts, tb, *rho)?
            }
        };
        let v = crate::gradients::value(&value);
        if !v.is_finite() {
            return Ok(v);
        }
        let towers = self.towers.clone();
        // TempNet's gradients are complete on every process (it reads every row).
        let (mut g_enc, mut grads) = crate::gradients::backward(value, &towers, dist)?;
        if let Some(t) = self.nets.take() {
            let mut g_net = GradientsParams::from_module(&mut grads, &t);
            self.nets = Some(self.net_opt.step(t, &mut g_net));
        }
        self.towers = self.opt.step(towers, &mut g_enc);
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
        xrisk::persist::save_module(&self.towers, "model", s);
        match &self.loss {
            BiLoss::Gcl(g) | BiLoss::TempNet(g, _) => g.save("loss", s),
            BiLoss::InfoNce(_) => {}
        }
        self.opt
            .save_state("optimizer", &xrisk::persist::param_ids(&self.towers), s)?;
        if let Some(n) = &self.nets {
            xrisk::persist::save_module(n, "tempnet", s);
            self.net_opt
                .save_state("tempnet_optimizer", &xrisk::persist::param_ids(n), s)?;
        }
        self.stream.save("contrastive.rng", s);
        s.put_scalar("contrastive.steps_done", self.steps_done as f64);
        Ok(())
    }

    fn restore(&mut self, s: &Snapshot) -> Result<()> {
        self.towers = xrisk::persist::restore_module(self.towers.clone(), "model", s)?;
        match &mut self.loss {
            BiLoss::Gcl(g) | BiLoss::TempNet(g, _) => g.restore("loss", s)?,
            BiLoss::InfoNce(_) => {}
        }
        let ids = xrisk::persist::param_ids(&self.towers);
        self.opt.restore_state("optimizer", &ids, s, &self.device)?;
        if let Some(n) = self.nets.take() {
            let n = xrisk::persist::restore_module(n, "tempnet", s)?;
            self.net_opt.restore_state(
                "tempnet_optimizer",
                &xrisk::persist::param_ids(&n),
                s,
                &self.device,
            )?;
            self.nets = Some(n);
        }
        self.steps_done = s.count("contrastive.steps_done")?;
        self.stream.restore("contrastive.rng", s)
    }
}
