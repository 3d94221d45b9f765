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
        let side = |s: &mut Side, dm: Tensor<2>| -> Tensor<1> {
            let state_dev = s.u.device();
            let tau: Tensor<2> = match &s.tau {
                Some(t) => t.get(ids).to_device(&device).unsqueeze_dim::<2>(1),
                None => Tensor::full([b, 1], cfg.tau, &device),
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
            (p * dm).sum_dim(1).mean().reshape([1])
        };
        let img_loss = side(&mut self.img, d_img);
        let txt_loss = side(&mut self.txt, d_txt);
        Ok((img_loss + txt_loss) / 2.0)
    }
}
