//! `GclBimodalLoss` — the two-way global contrastive loss for paired modalities (image–text,
//! title–body), LibAUC GCLoss_v2 (spec `libauc_spec.md` §2.15; `tempnet_isogclr_spec.md` §1.4),
//! with a global constant temperature (SogCLR) or one per sample and modality (iSogCLR).
//!
//! For a batch of `B` pairs with features `I`, `T` (`[B, d]`, normalised by the caller),
//! `D_img = I·Tᵀ − diag` (row `i`: every text against image `i`'s own text) and
//! `D_txt = T·Iᵀ − diag`. Per side, with `Z = sg(D/τ)`, a running maximum `b_i` (overflow guard
//! for small τ) and `N_ij = exp(Z_ij − b_i)` over the negatives:
//!
//! ```text
//! b_i ← max(b_i, max_j Z_ij)
//! u_i ← max((1−γ)·u_i·exp(b_old − b_i) + γ·Σ_j N_ij/(B−1), 1e-20)
//! loss = ½ [ mean_i Σ_j sg(N_ij/u_i)·D_img_ij + (same for text) ]
//! ```
//!
//! (LibAUC's scale, which is `B−1` times the unimodal loss's: the weights are not divided by
//! `B−1`.) iSogCLR's τ step per side: `g_i = ln u_i + ρ + b_i − Σ_j (N_ij/u_i)·Z_ij/(B−1)`,
//! averaged with momentum β, `τ_i ← clip(τ_i − η·ḡ_i, τ_min, τ_max)`.

use super::gcl::{GammaSchedule, IsogclrConfig, check_views, eye};
use crate::error::Result;
use crate::state::StateTable;
use burn::tensor::{Device, Tensor};

/// Settings of [`GclBimodalLoss`] (LibAUC GCLoss_v2 defaults: τ 0.01, γ 0.9; iSogCLR τ ∈
/// [0.005, 0.05], ρ 6, η 0.01, β 0.9).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GclBimodalConfig {
    /// Number of pairs (ids must be below it).
    pub data_len: usize,
    /// The temperature (iSogCLR: every τ_i's start).
    pub tau: f64,
    /// Moving-average weight on the batch estimate (the schedule's floor).
    pub gamma: f64,
    /// Individual temperatures per sample and modality (iSogCLR) when set.
    pub isogclr: Option<IsogclrConfig>,
    /// The γ schedule.
    pub gamma_schedule: GammaSchedule,
}

impl GclBimodalConfig {
    /// A global constant temperature with LibAUC's defaults for `data_len` pairs.
    pub fn new(data_len: usize) -> Self {
        GclBimodalConfig {
            data_len,
            tau: 0.01,
            gamma: 0.9,
            isogclr: None,
            gamma_schedule: GammaSchedule::Constant,
        }
    }

    /// iSogCLR's bimodal defaults (τ ∈ [0.005, 0.05], ρ 6, η 0.01, β 0.9).
    pub fn isogclr_defaults() -> IsogclrConfig {
        IsogclrConfig {
            tau_min: 0.005,
            tau_max: 0.05,
            rho: 6.0,
            eta: 0.01,
            beta: 0.9,
        }
    }
}

/// One side's state: `u`, the running maximum `b`, iSogCLR's τ and its gradient average.
#[derive(Debug, Clone)]
struct Side {
    u: StateTable,
    b: StateTable,
    tau: Option<StateTable>,
    grad_tau: Option<StateTable>,
}

/// The bimodal global contrastive loss with its per-pair state.
#[derive(Debug, Clone)]
pub struct GclBimodalLoss {
    /// Settings.
    pub config: GclBimodalConfig,
    img: Side,
    txt: Side,
    gamma: f64,
}

impl GclBimodalLoss {
    /// A loss with zeroed state on `device` (iSogCLR: every τ = `tau`).
    pub fn new(config: GclBimodalConfig, device: &Device) -> Self {
        let n = config.data_len;
        let iso = config.isogclr.is_some();
        let side = || Side {
            u: StateTable::new(n, 0.0, device),
            b: StateTable::new(n, 0.0, device),
            tau: iso.then(|| StateTable::new(n, config.tau as f32, device)),
            grad_tau: iso.then(|| StateTable::new(n, 0.0, device)),
        };
        GclBimodalLoss {
            config,
            img: side(),
            txt: side(),
            gamma: 1.0,
        }
    }

    /// `(u, b)` per pair id, for the image side and the text side.
    pub fn state(&self) -> [(Vec<f32>, Vec<f32>); 2] {
        [
            (self.img.u.to_vec(), self.img.b.to_vec()),
            (self.txt.u.to_vec(), self.txt.b.to_vec()),
        ]
    }

    /// iSogCLR's `(τ, τ-gradient average)` per pair id, image side then text side.
    pub fn temperatures(&self) -> Option<[(Vec<f32>, Vec<f32>); 2]> {
        let t = |s: &Side| Some((s.tau.as_ref()?.to_vec(), s.grad_tau.as_ref()?.to_vec()));
        Some([t(&self.img)?, t(&self.txt)?])
    }

    /// Sets γ for `epoch` by the schedule (call at the start of every epoch).
    pub fn adjust_gamma(&mut self, epoch: usize) {
        self.gamma = self.config.gamma_schedule.at(epoch, self.config.gamma);
    }

    /// The loss of a batch of pairs (`image`, `text`: `[B, d]`) with distinct pair ids; updates
    /// the state (and iSogCLR's temperatures).
    pub fn forward(
        &mut self,
        image: Tensor<2>,
        text: Tensor<2>,
        ids: &[usize],
    ) -> Result<Tensor<1>> {
        self.forward_impl(image, text, ids, None)
    }

    /// The robust loss with temperatures from networks (TempNet for CLIP, spec
    /// `tempnet_isogclr_spec.md` §3.3): `tau_image`, `tau_text` `[B]` carry the networks'
    /// graphs. The contrastive part uses them detached; the returned loss adds
    /// `mean_i sg(G_i)·τ_i` per side with `G_i = ln u_i + ρ + b_i − Σ_j (N_ij/u_i)·Z_ij/(B−1)`
    /// (≈ ρ − KL, iSogCLR's τ-gradient), so one backward pass moves the encoders by the GCL
    /// estimator and the networks by the DRO τ-gradient. Use with iSogCLR off
    /// (`config.isogclr = None`).
    pub fn forward_tempnet(
        &mut self,
        image: Tensor<2>,
        text: Tensor<2>,
        ids: &[usize],
        tau_image: Tensor<1>,
        tau_text: Tensor<1>,
        rho: f64,
    ) -> Result<Tensor<1>> {
        let n = image.dims()[0];
        if tau_image.dims()[0] != n || tau_text.dims()[0] != n {
            return Err(crate::error::XriskError::LengthMismatch {
                scores: n,
                labels: tau_image.dims()[0],
                ids: tau_text.dims()[0],
            });
        }
        self.forward_impl(image, text, ids, Some((tau_image, tau_text, rho)))
    }

    fn forward_impl(
        &mut self,
        image: Tensor<2>,
        text: Tensor<2>,
        ids: &[usize],
        networks: Option<(Tensor<1>, Tensor<1>, f64)>,
    ) -> Result<Tensor<1>> {
        let b = check_views(
            "GclBimodalLoss",
            &image,
            &text,
            ids,
            "the contrastive loss needs at least 2 pairs per batch (every other pair is a negative)",
        )?;
        self.img.u.check_ids(ids)?;
        let device = image.device();
        let per_image = image.matmul(text.transpose());
        let per_text = per_image.clone().transpose();
        let eye = eye(b, &device);
        let neg = eye.clone().neg() + 1.0;
        let centre = |l: Tensor<2>| {
            let diag = (l.clone() * eye.clone()).sum_dim(1);
            l - diag
        };
        let (d_img, d_txt) = (centre(per_image), centre(per_text));
        let cfg = self.config;
        let scheduled = self.gamma;
        let norm = b as f64 - 1.0;
        let side = |s: &mut Side, dm: Tensor<2>, net: Option<(Tensor<1>, f64)>| -> Tensor<1> {
            let state_dev = s.u.device();
            let tau: Tensor<2> = match (&net, &s.tau) {
                (Some((t, _)), _) => t.clone().detach().unsqueeze_dim::<2>(1),
                (None, Some(t)) => t.get(ids).to_device(&device).unsqueeze_dim::<2>(1),
                (None, None) => Tensor::full([b, 1], cfg.tau, &device),
            };
            let z = (dm.clone() / tau.clone()).detach();
            let old_b = s.b.get(ids).to_device(&device);
            let new_b = z
                .clone()
                .max_dim(1)
                .squeeze_dim::<1>(1)
                .max_pair(old_b.clone());
            s.b.set(ids, new_b.clone().to_device(&state_dev));
            let n = (z.clone() - new_b.clone().unsqueeze_dim::<2>(1)).exp() * neg.clone();
            let u_old = s.u.get(ids).to_device(&device);
            let g = cfg.gamma_schedule.batch_gamma(scheduled, cfg.gamma, || {
                u_old.clone().sum().into_scalar::<f32>() == 0.0
            });
            let u = (u_old * (old_b - new_b.clone()).exp() * (1.0 - g)
                + n.clone().sum_dim(1).squeeze_dim::<1>(1) * (g / norm))
                .clamp_min(1e-20);
            s.u.set(ids, u.clone().to_device(&state_dev));
            let p = n / u.clone().unsqueeze_dim::<2>(1);
            let temp_loss = net.map(|(t, rho)| {
                let inner = (p.clone() * z.clone()).sum_dim(1).squeeze_dim::<1>(1) / norm;
                let g = (u.clone().log() + rho + new_b.clone() - inner).detach();
                (g * t).mean()
            });
            if let (Some(iso), Some(t), Some(gt)) =
                (cfg.isogclr, s.tau.as_mut(), s.grad_tau.as_mut())
            {
                let inner = (p.clone() * z).sum_dim(1).squeeze_dim::<1>(1) / norm;
                let grad = u.log() + iso.rho + new_b - inner;
                let avg = gt.get(ids) * (1.0 - iso.beta) + grad.to_device(&state_dev) * iso.beta;
                gt.set(ids, avg.clone());
                t.set(
                    ids,
                    (t.get(ids) - avg * iso.eta).clamp(iso.tau_min, iso.tau_max),
                );
            }
            let loss = (p * dm).sum_dim(1).mean().reshape([1]);
            match temp_loss {
                Some(t) => loss + t.reshape([1]),
                None => loss,
            }
        };
        let (ni, nt) = match networks {
            Some((ti, tt, rho)) => (Some((ti, rho)), Some((tt, rho))),
            None => (None, None),
        };
        let img_loss = side(&mut self.img, d_img, ni);
        let txt_loss = side(&mut self.txt, d_txt, nt);
        Ok((img_loss + txt_loss) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::IsogclrConfig;
    use burn::tensor::{Distribution, TensorData};

    /// `forward_tempnet` sends iSogCLR's τ-gradient `G_i` into the temperature networks
    /// (∂loss/∂τ_i = G_i/(2B), halved with the rest) and its contrastive part equals the
    /// global-temperature loss at the same τ.
    #[test]
    fn tempnet_gradient_is_isogclr_tau_gradient() {
        let device = Device::flex().autodiff();
        let (b, d, tau0) = (6, 5, 0.05);
        let feats = |seed| {
            let mut x: Vec<f32> =
                Tensor::<2>::random([b, d], Distribution::Normal(0.0, 1.0), &Device::flex())
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap();
            x.rotate_left(seed);
            crate::encoder::normalize_rows(Tensor::<2>::from_data(
                TensorData::new(x, [b, d]),
                &device,
            ))
        };
        device.seed(3);
        let (img, txt) = (feats(0), feats(7));
        let ids: Vec<usize> = (10..10 + b).collect();
        let rho = 2.0;
        let mut iso = GclBimodalLoss::new(
            GclBimodalConfig {
                tau: tau0,
                isogclr: Some(IsogclrConfig {
                    tau_min: 0.001,
                    tau_max: 1.0,
                    rho,
                    eta: 0.0,
                    beta: 1.0,
                }),
                ..GclBimodalConfig::new(20)
            },
            &device,
        );
        let iso_loss = iso.forward(img.clone(), txt.clone(), &ids).unwrap();
        let [(_, g_img), (_, g_txt)] = iso.temperatures().unwrap();
        let mut net = GclBimodalLoss::new(
            GclBimodalConfig {
                tau: tau0,
                ..GclBimodalConfig::new(20)
            },
            &device,
        );
        let ti = Tensor::<1>::full([b], tau0, &device).require_grad();
        let tt = Tensor::<1>::full([b], tau0, &device).require_grad();
        let loss = net
            .forward_tempnet(img, txt, &ids, ti.clone(), tt.clone(), rho)
            .unwrap();
        let host = |t: Tensor<1>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        // Value: the contrastive part plus ½·(mean G_img·τ + mean G_txt·τ).
        let extra: f64 =
            (ids.iter().map(|&i| g_img[i] + g_txt[i]).sum::<f32>() as f64) * tau0 / b as f64 / 2.0;
        let (lv, iv) = (host(loss.clone())[0] as f64, host(iso_loss)[0] as f64);
        assert!((lv - (iv + extra)).abs() < 1e-4, "{lv} vs {iv} + {extra}");
        let grads = loss.backward();
        let (gi, gt) = (
            host(ti.grad(&grads).unwrap()),
            host(tt.grad(&grads).unwrap()),
        );
        for (k, &i) in ids.iter().enumerate() {
            let scale = 2.0 * b as f32;
            assert!(
                (gi[k] * scale - g_img[i]).abs() < 1e-3,
                "{} vs {}",
                gi[k] * scale,
                g_img[i]
            );
            assert!(
                (gt[k] * scale - g_txt[i]).abs() < 1e-3,
                "{} vs {}",
                gt[k] * scale,
                g_txt[i]
            );
        }
    }
}
