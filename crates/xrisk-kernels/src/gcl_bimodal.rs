//! The two-way global contrastive loss for paired modalities (image–text, title–body), LibAUC
//! `GCLoss_v2` (spec `libauc_spec.md` §2.15; `tempnet_isogclr_spec.md` §1.4, §3.3), with a
//! global constant temperature (SogCLR), one per sample and modality (iSogCLR,
//! `individual_learnable`), a learnable global one (`global_learnable`, FastCLIP-v3's form) or
//! temperatures from networks (TempNet).
//!
//! The framework forms `S = I·Tᵀ` (`B × B`, row-major; features normalised by the caller). Row
//! `i` of the image side is `D_img_i· = S_i· − S_ii`, of the text side `D_txt_i· = S_·i − S_ii`.
//! Per side, with `Z = D/τ_i`, a running maximum `b_i` (overflow guard for small τ) and
//! `N_ij = exp(Z_ij − b_i)` over the negatives `j ≠ i`:
//!
//! ```text
//! b_i ← max(b_i, max_j Z_ij)
//! u_i ← max((1−γ)·u_i·exp(b_old − b_i) + γ·Σ_j N_ij/(B−1), 1e-20)
//! value = ½ [ mean_i Σ_j (N_ij/u_i)·D_img_ij + (same for text) ]      (weights constant)
//! ```
//!
//! (LibAUC's scale, which is `B−1` times the unimodal loss's.) The τ-gradient of the robust
//! loss per side is `G_i = ln u_i + ρ + b_i − Σ_j (N_ij/u_i)·Z_ij/(B−1)` (≈ ρ − KL): iSogCLR
//! steps its table with it (momentum β, step η, clipped to `[τ_min, τ_max]`); with TempNet the
//! value adds `½·mean_i G_i·τ_i` per side and the kernel returns `∂/∂τ_i = G_i/(2B)`;
//! `global_learnable` returns `value·τ + ρτ + mean(u_img + u_txt)/2·τ` with
//! `∂/∂τ = ρ + mean(u_img + u_txt)/2` (LibAUC's estimator). State per side: `u`, `b` per pair
//! (0), iSogCLR's `τ` and its gradient average. Cost: one pass over the `2·B²` similarities.

use crate::check;
use crate::error::{KernelError, Result};
use crate::gcl::{GammaSchedule, IsogclrConfig, check_sims};

/// Settings of the bimodal loss (LibAUC GCLoss_v2 defaults: τ 0.01, γ 0.9; iSogCLR
/// τ ∈ [0.005, 0.05], ρ 6, η 0.01, β 0.9).
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
    /// SogCLR with LibAUC's GCLoss_v2 defaults for `data_len` pairs.
    pub fn new(data_len: usize) -> Self {
        GclBimodalConfig {
            data_len,
            tau: 0.01,
            gamma: 0.9,
            isogclr: None,
            gamma_schedule: GammaSchedule::Constant,
        }
    }

    /// iSogCLR's bimodal defaults (LibAUC GCLoss_v2).
    pub fn isogclr_defaults() -> IsogclrConfig {
        IsogclrConfig {
            tau_min: 0.005,
            tau_max: 0.05,
            rho: 6.0,
            eta: 0.01,
            beta: 0.9,
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        check::positive("tau", self.tau, "the temperature must be > 0")?;
        check::in_range(
            "gamma",
            self.gamma,
            f64::MIN_POSITIVE,
            1.0,
            "must be in (0, 1]",
        )?;
        if let GammaSchedule::Cosine { decay_epochs: 0 } = self.gamma_schedule {
            return Err(KernelError::InvalidConfig {
                name: "gamma_decay_epochs",
                value: 0.0,
                reason: "the cosine schedule needs at least one epoch",
            });
        }
        self.isogclr.map_or(Ok(()), |c| c.validate())
    }
}

/// Where a call's temperatures come from.
#[derive(Debug, Clone, Copy)]
pub enum Temperatures<'a> {
    /// The configuration's: the global `tau`, or iSogCLR's tables.
    Config,
    /// A learnable global τ (`global_learnable`) with its ρ.
    GlobalLearnable {
        /// The current τ.
        tau: f64,
        /// ρ.
        rho: f64,
    },
    /// One τ per pair and side from networks (TempNet), with ρ.
    Networks {
        /// The image side's `B` temperatures.
        image: &'a [f32],
        /// The text side's `B` temperatures.
        text: &'a [f32],
        /// ρ.
        rho: f64,
    },
}

/// The value and the temperature derivatives of one call.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GclBimodalOutput {
    /// The value.
    pub value: f64,
    /// `∂value/∂τ` with [`Temperatures::GlobalLearnable`] (0 otherwise).
    pub d_tau: f64,
    /// The mean image-side τ of the batch.
    pub mean_tau_image: f64,
    /// The mean text-side τ of the batch.
    pub mean_tau_text: f64,
}

#[derive(Debug, Clone, Default)]
struct Side {
    u: Vec<f32>,
    b: Vec<f32>,
    tau: Vec<f32>,
    grad_tau: Vec<f32>,
}

/// The bimodal kernel with its per-pair state.
#[derive(Debug, Clone)]
pub struct GclBimodalKernel {
    config: GclBimodalConfig,
    img: Side,
    txt: Side,
    gamma: f64,
    rows: Vec<Row>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Row {
    tau: f64,
    b_new: f64,
    u: f64,
}

impl GclBimodalKernel {
    /// A kernel with zeroed state (iSogCLR: every τ = `tau`); errors on a bad setting or tables
    /// that cannot be allocated.
    pub fn new(config: GclBimodalConfig) -> Result<Self> {
        config.validate()?;
        let n = config.data_len;
        let iso = if config.isogclr.is_some() { n } else { 0 };
        let side = || -> Result<Side> {
            Ok(Side {
                u: check::table("N", n, 0.0)?,
                b: check::table("N", n, 0.0)?,
                tau: check::table("N", iso, config.tau as f32)?,
                grad_tau: check::table("N", iso, 0.0)?,
            })
        };
        Ok(GclBimodalKernel {
            config,
            img: side()?,
            txt: side()?,
            gamma: 1.0,
            rows: Vec::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &GclBimodalConfig {
        &self.config
    }

    /// `(u, b)` per pair id, for the image side and the text side.
    pub fn state(&self) -> [(&[f32], &[f32]); 2] {
        [(&self.img.u, &self.img.b), (&self.txt.u, &self.txt.b)]
    }

    /// iSogCLR's `(τ, τ-gradient average)` per pair id, image side then text side.
    pub fn temperatures(&self) -> Option<[(&[f32], &[f32]); 2]> {
        self.config.isogclr.map(|_| {
            [
                (self.img.tau.as_slice(), self.img.grad_tau.as_slice()),
                (self.txt.tau.as_slice(), self.txt.grad_tau.as_slice()),
            ]
        })
    }

    /// The scheduled γ.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// Replaces one side's state (0: image, 1: text; a checkpoint); `tau`, `grad_tau` are empty
    /// without iSogCLR.
    pub fn load_side(
        &mut self,
        side: usize,
        u: &[f32],
        b: &[f32],
        tau: &[f32],
        grad_tau: &[f32],
    ) -> Result<()> {
        let s = if side == 0 {
            &mut self.img
        } else {
            &mut self.txt
        };
        check::load("u", &mut s.u, u)?;
        check::load("b", &mut s.b, b)?;
        check::load("tau", &mut s.tau, tau)?;
        check::load("grad_tau", &mut s.grad_tau, grad_tau)
    }

    /// Sets the scheduled γ (a checkpoint).
    pub fn set_gamma(&mut self, gamma: f64) {
        self.gamma = gamma;
    }

    /// Sets γ for `epoch` by the schedule (call at the start of every epoch).
    pub fn adjust_gamma(&mut self, epoch: usize) {
        self.gamma = self.config.gamma_schedule.at(epoch, self.config.gamma);
    }

    /// The loss of a batch of pairs from `S = I·Tᵀ` (`B × B` row-major) and distinct pair ids;
    /// updates the state, writes `∂value/∂S` into `grad_s` and, for
    /// [`Temperatures::Networks`], `∂value/∂τ` into `grad_tau` (image, text).
    pub fn forward(
        &mut self,
        s: &[f32],
        ids: &[usize],
        temps: Temperatures,
        grad_s: &mut [f32],
        grad_tau: Option<(&mut [f32], &mut [f32])>,
    ) -> Result<GclBimodalOutput> {
        let c = self.config;
        let b = check_sims("GclBimodalLoss", &[s], &[grad_s.len()], ids, c.data_len)?;
        let rho = match temps {
            Temperatures::Config => None,
            Temperatures::GlobalLearnable { tau, rho } => {
                check::positive("tau", tau, "the temperature must be > 0")?;
                check::finite_setting("rho", rho)?;
                if c.isogclr.is_some() {
                    return Err(KernelError::InvalidConfig {
                        name: "temperature_scheme",
                        value: tau,
                        reason: "a learnable global temperature does not combine with individual ones",
                    });
                }
                Some(rho)
            }
            Temperatures::Networks { image, text, rho } => {
                for t in [image, text] {
                    if t.len() != b {
                        return Err(KernelError::LengthMismatch {
                            scores: b,
                            labels: image.len(),
                            ids: text.len(),
                        });
                    }
                    if t.iter().any(|&x| !(x.is_finite() && x > 0.0)) {
                        return Err(KernelError::NonFinite {
                            loss: "GclBimodalLoss temperatures",
                        });
                    }
                }
                check::finite_setting("rho", rho)?;
                if c.isogclr.is_some() {
                    return Err(KernelError::InvalidConfig {
                        name: "temperature_scheme",
                        value: rho,
                        reason: "network temperatures do not combine with iSogCLR's tables",
                    });
                }
                match &grad_tau {
                    Some((gi, gt)) if gi.len() == b && gt.len() == b => {}
                    _ => {
                        return Err(KernelError::InvalidConfig {
                            name: "grad_tau",
                            value: b as f64,
                            reason: "network temperatures need two gradient buffers of one entry per pair",
                        });
                    }
                }
                Some(rho)
            }
        };
        grad_s.iter_mut().for_each(|g| *g = 0.0);
        let scale = match temps {
            Temperatures::GlobalLearnable { tau, .. } => tau,
            _ => 1.0,
        };
        let mut out = GclBimodalOutput::default();
        let mut g_tau = grad_tau;
        let mut u_means = 0.0;
        for side in 0..2 {
            let net = match temps {
                Temperatures::Networks { image, text, .. } => {
                    Some(if side == 0 { image } else { text })
                }
                _ => None,
            };
            let st = if side == 0 {
                &mut self.img
            } else {
                &mut self.txt
            };
            // D_ij = x(i, j) − S_ii with x(i, j) = S_ij (image) or S_ji (text).
            let at = |i: usize, j: usize| if side == 0 { i * b + j } else { j * b + i };
            self.rows.clear();
            for (i, &id) in ids.iter().enumerate() {
                let tau = match (net, c.isogclr) {
                    (Some(t), _) => f64::from(t[i]),
                    (None, Some(_)) => f64::from(st.tau[id]),
                    (None, None) => match temps {
                        Temperatures::GlobalLearnable { tau, .. } => tau,
                        _ => c.tau,
                    },
                };
                let diag = f64::from(s[i * b + i]);
                let zmax = (0..b).fold(f64::NEG_INFINITY, |m, j| {
                    m.max((f64::from(s[at(i, j)]) - diag) / tau)
                });
                self.rows.push(Row {
                    tau,
                    b_new: zmax.max(f64::from(st.b[id])),
                    u: 0.0,
                });
            }
            let g = c.gamma_schedule.batch_gamma(self.gamma, c.gamma, || {
                ids.iter().all(|&id| st.u[id] == 0.0)
            });
            let norm = b as f64 - 1.0;
            for (i, r) in self.rows.iter_mut().enumerate() {
                let id = ids[i];
                let diag = f64::from(s[i * b + i]);
                let sum: f64 = (0..b)
                    .filter(|&j| j != i)
                    .map(|j| ((f64::from(s[at(i, j)]) - diag) / r.tau - r.b_new).exp())
                    .sum();
                let old_b = f64::from(st.b[id]);
                r.u = ((1.0 - g) * f64::from(st.u[id]) * (old_b - r.b_new).exp() + g * sum / norm)
                    .max(1e-20);
            }
            for (r, &id) in self.rows.iter().zip(ids) {
                st.b[id] = r.b_new as f32;
                st.u[id] = r.u as f32;
            }
            let mut side_value = 0.0;
            let mut tau_sum = 0.0;
            for (i, r) in self.rows.iter().enumerate() {
                let diag = f64::from(s[i * b + i]);
                let (mut pd, mut pz, mut psum) = (0.0f64, 0.0f64, 0.0f64);
                for j in (0..b).filter(|&j| j != i) {
                    let d = f64::from(s[at(i, j)]) - diag;
                    let z = d / r.tau;
                    let p = (z - r.b_new).exp() / r.u;
                    pd += p * d;
                    pz += p * z;
                    psum += p;
                    let k = at(i, j);
                    grad_s[k] = (f64::from(grad_s[k]) + p * scale / (2.0 * b as f64)) as f32;
                }
                grad_s[i * b + i] =
                    (f64::from(grad_s[i * b + i]) - psum * scale / (2.0 * b as f64)) as f32;
                side_value += pd;
                tau_sum += r.tau;
                let gtau = |rho: f64| r.u.ln() + rho + r.b_new - pz / norm;
                if let (Some(rho), Some(_)) = (rho, net) {
                    let gi = gtau(rho);
                    side_value += gi * r.tau;
                    if let Some((gimg, gtxt)) = g_tau.as_mut() {
                        let buf = if side == 0 { &mut **gimg } else { &mut **gtxt };
                        buf[i] = (gi / (2.0 * b as f64)) as f32;
                    }
                }
                if let Some(iso) = c.isogclr {
                    let id = ids[i];
                    let avg =
                        f64::from(st.grad_tau[id]) * (1.0 - iso.beta) + gtau(iso.rho) * iso.beta;
                    st.grad_tau[id] = avg as f32;
                    st.tau[id] = (r.tau - avg * iso.eta).clamp(iso.tau_min, iso.tau_max) as f32;
                }
                u_means += r.u;
            }
            out.value += side_value / b as f64 / 2.0;
            if side == 0 {
                out.mean_tau_image = tau_sum / b as f64;
            } else {
                out.mean_tau_text = tau_sum / b as f64;
            }
        }
        if let (Temperatures::GlobalLearnable { tau, .. }, Some(rho)) = (temps, rho) {
            let mean_u = u_means / (2.0 * b as f64);
            out.value = out.value * tau + rho * tau + mean_u * tau;
            out.d_tau = rho + mean_u;
        }
        Ok(out)
    }
}
