//! The unimodal global contrastive loss of SogCLR and its individually tempered, robust form of
//! iSogCLR (`GCLoss_v1`, spec `libauc_spec.md` §2.15; `tempnet_isogclr_spec.md` §1–2).
//!
//! Objective (SogCLR): `F(w) = (1/n) Σ_i τ·log E_{z∈S_i⁻} exp((e_i·e_z − e_i·e_i⁺)/τ)`;
//! iSogCLR adds one learnable `τ_i` per sample and a `τ_i·ρ` term. The framework normalises the
//! two views' rows and forms the similarity matrices `ab = e1·e2ᵀ`, `aa = e1·e1ᵀ`,
//! `bb = e2·e2ᵀ` (`B × B` each, row-major); the kernel returns the gradient with respect to
//! them. Anchor `i` of view 1 has the logits `X1_i = [ab_i· | aa_i·]` with its positive at
//! `ab_ii` and its own `aa_ii` excluded; view 2 has `X2_i = [ab_·i | bb_i·]` (`ba = abᵀ`). With
//! `N1_ij = exp(X1_ij/τ_i)` over the `2(B−1)` negatives:
//!
//! ```text
//! u1_i = (1−γ)·u_i + γ·Σ_j N1_ij/(2(B−1))        (u2 likewise; u_i ← (u1_i + u2_i)/2)
//! w1_ij = N1_ij / max(u1_i, ε)                   (constant)
//! value = mean_i [ −ab_ii + Σ_j w1_ij·X1_ij/(2(B−1)) ] + [same for view 2]
//! ```
//!
//! iSogCLR then moves each `τ_i` along `½Σ_views [ln u_i + ρ − Σ_j w_ij·X_ij/τ_i/(2(B−1))]`
//! with momentum β, step η, clipped to `[τ_min, τ_max]`. LibAUC's γ rule is kept: with the
//! constant schedule and before `adjust_gamma(epoch ≥ 1)`, a batch whose `u` entries are all
//! zero uses γ = 1 (the first visit). State: `u` per sample (0), iSogCLR's `τ` (`tau`) and its
//! gradient average (0); ids must be distinct within a batch (a repeated id keeps its last
//! write). Cost: one pass over the `3·B²` similarities (`2·B²` exponentials).

use crate::check;
use crate::error::{KernelError, Result};

/// iSogCLR's temperature settings (LibAUC defaults: τ ∈ [0.05, 0.7], ρ 0.3, η 0.01, β 0.9).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IsogclrConfig {
    /// Lower bound of every τ_i.
    pub tau_min: f64,
    /// Upper bound of every τ_i.
    pub tau_max: f64,
    /// The DRO radius ρ.
    pub rho: f64,
    /// Step size of the τ update.
    pub eta: f64,
    /// Momentum weight of the τ-gradient moving average (on the new gradient).
    pub beta: f64,
}

impl Default for IsogclrConfig {
    fn default() -> Self {
        IsogclrConfig {
            tau_min: 0.05,
            tau_max: 0.7,
            rho: 0.3,
            eta: 0.01,
            beta: 0.9,
        }
    }
}

impl IsogclrConfig {
    /// Checks the settings: `0 < tau_min ≤ tau_max`, finite ρ, `eta ≥ 0`, `0 < beta ≤ 1`.
    pub fn validate(&self) -> Result<()> {
        check::positive("tau_min", self.tau_min, "the temperatures must be > 0")?;
        check::in_range(
            "tau_max",
            self.tau_max,
            self.tau_min,
            f64::MAX,
            "must be ≥ tau_min",
        )?;
        check::finite_setting("rho", self.rho)?;
        check::in_range(
            "eta",
            self.eta,
            0.0,
            f64::MAX,
            "the temperature step must be ≥ 0",
        )?;
        check::in_range(
            "beta",
            self.beta,
            f64::MIN_POSITIVE,
            1.0,
            "must be in (0, 1]",
        )
    }
}

/// How γ changes over epochs (`adjust_gamma`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GammaSchedule {
    /// γ = 1 in epoch 0, then `gamma`.
    Constant,
    /// `γ(e) = (1 − γ_min)·½(1 + cos(π e/E)) + γ_min` for `e < E`, then `γ_min`.
    Cosine {
        /// `E`, the epochs of the decay.
        decay_epochs: usize,
    },
}

impl GammaSchedule {
    /// γ at the start of `epoch`, with floor `min`.
    pub fn at(self, epoch: usize, min: f64) -> f64 {
        match self {
            GammaSchedule::Constant if epoch == 0 => 1.0,
            GammaSchedule::Constant => min,
            GammaSchedule::Cosine { decay_epochs } if epoch < decay_epochs => {
                (1.0 - min)
                    * 0.5
                    * (1.0 + (std::f64::consts::PI * epoch as f64 / decay_epochs as f64).cos())
                    + min
            }
            GammaSchedule::Cosine { .. } => min,
        }
    }

    /// The γ of one batch (LibAUC's rule): with the constant schedule while the scheduled γ is
    /// still above its floor `min` (before `adjust_gamma(epoch ≥ 1)`), 1 for a batch whose state
    /// is all unvisited and `min` otherwise; the scheduled γ in every other case.
    pub fn batch_gamma(self, scheduled: f64, min: f64, unvisited: impl FnOnce() -> bool) -> f64 {
        if self == GammaSchedule::Constant && scheduled > min {
            if unvisited() { 1.0 } else { min }
        } else {
            scheduled
        }
    }
}

/// Settings of the unimodal loss (LibAUC GCLoss_v1 defaults: τ 0.1, γ 0.9, ε 1e-8).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GclConfig {
    /// Number of samples (ids must be below it).
    pub data_len: usize,
    /// The temperature (iSogCLR: every τ_i's start).
    pub tau: f64,
    /// Moving-average weight on the batch estimate (the schedule's floor).
    pub gamma: f64,
    /// Floor of `u` in the weights.
    pub eps: f64,
    /// Individual temperatures (iSogCLR) when set.
    pub isogclr: Option<IsogclrConfig>,
    /// The γ schedule.
    pub gamma_schedule: GammaSchedule,
}

impl GclConfig {
    /// SogCLR with LibAUC's defaults for `data_len` samples.
    pub fn new(data_len: usize) -> Self {
        GclConfig {
            data_len,
            tau: 0.1,
            gamma: 0.9,
            eps: 1e-8,
            isogclr: None,
            gamma_schedule: GammaSchedule::Constant,
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
        check::in_range("eps", self.eps, 0.0, f64::MAX, "must be ≥ 0")?;
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

/// Checks a batch of `B × B` similarity matrices for `B` distinct-by-contract ids and returns
/// `B` (at least 2).
pub(crate) fn check_sims(
    loss: &'static str,
    mats: &[&[f32]],
    grads: &[usize],
    ids: &[usize],
    table: usize,
) -> Result<usize> {
    let b = ids.len();
    if b < 2 {
        return Err(KernelError::InvalidConfig {
            name: "batch size",
            value: b as f64,
            reason: "the contrastive loss needs at least 2 samples per batch (every other sample is a negative)",
        });
    }
    for m in mats {
        if m.len() != b * b {
            return Err(KernelError::LengthMismatch {
                scores: m.len(),
                labels: b * b,
                ids: b,
            });
        }
        check::finite(loss, m)?;
    }
    for &g in grads {
        check::grad_len("grad", g, b * b)?;
    }
    check::ids(ids, table).map(|()| b)
}

/// The SogCLR / iSogCLR kernel with its per-sample state.
#[derive(Debug, Clone)]
pub struct GclKernel {
    config: GclConfig,
    u: Vec<f32>,
    tau: Vec<f32>,
    grad_tau: Vec<f32>,
    gamma: f64,
    rows: Vec<Row>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Row {
    tau: f64,
    u1: f64,
    u2: f64,
}

impl GclKernel {
    /// A kernel with zeroed state (iSogCLR: every τ_i = `tau`); errors on a bad setting or
    /// tables that cannot be allocated.
    pub fn new(config: GclConfig) -> Result<Self> {
        config.validate()?;
        let n = config.data_len;
        let iso = config.isogclr.is_some();
        Ok(GclKernel {
            config,
            u: check::table("N", n, 0.0)?,
            tau: check::table("N", if iso { n } else { 0 }, config.tau as f32)?,
            grad_tau: check::table("N", if iso { n } else { 0 }, 0.0)?,
            gamma: 1.0,
            rows: Vec::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &GclConfig {
        &self.config
    }

    /// `u` per sample id.
    pub fn u(&self) -> &[f32] {
        &self.u
    }

    /// iSogCLR's `(τ, τ-gradient average)` per sample id.
    pub fn temperatures(&self) -> Option<(&[f32], &[f32])> {
        self.config
            .isogclr
            .map(|_| (self.tau.as_slice(), self.grad_tau.as_slice()))
    }

    /// The scheduled γ.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// Replaces the state (a checkpoint); `tau`, `grad_tau` are empty without iSogCLR.
    pub fn load_state(
        &mut self,
        u: &[f32],
        tau: &[f32],
        grad_tau: &[f32],
        gamma: f64,
    ) -> Result<()> {
        check::load("u", &mut self.u, u)?;
        check::load("tau", &mut self.tau, tau)?;
        check::load("grad_tau", &mut self.grad_tau, grad_tau)?;
        self.gamma = gamma;
        Ok(())
    }

    /// Sets γ for `epoch` by the schedule (call at the start of every epoch).
    pub fn adjust_gamma(&mut self, epoch: usize) {
        self.gamma = self.config.gamma_schedule.at(epoch, self.config.gamma);
    }

    /// The loss of a batch from its similarity matrices `ab`, `aa`, `bb` (`B × B`, row-major,
    /// of L2-normalised rows) and the samples' ids; updates `u` (and iSogCLR's τ) and writes
    /// the gradients with respect to the three matrices.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &mut self,
        ab: &[f32],
        aa: &[f32],
        bb: &[f32],
        ids: &[usize],
        g_ab: &mut [f32],
        g_aa: &mut [f32],
        g_bb: &mut [f32],
    ) -> Result<f64> {
        let c = self.config;
        let b = check_sims(
            "GclLoss",
            &[ab, aa, bb],
            &[g_ab.len(), g_aa.len(), g_bb.len()],
            ids,
            c.data_len,
        )?;
        let iso = c.isogclr;
        self.rows.clear();
        self.rows.extend(ids.iter().map(|&id| Row {
            tau: if iso.is_some() {
                f64::from(self.tau[id])
            } else {
                c.tau
            },
            ..Row::default()
        }));
        let gamma = c.gamma_schedule.batch_gamma(self.gamma, c.gamma, || {
            ids.iter().all(|&id| self.u[id] == 0.0)
        });
        let norm = 2.0 * (b as f64 - 1.0);
        // Batch estimates of both views.
        for (i, r) in self.rows.iter_mut().enumerate() {
            let t = r.tau;
            let (mut s1, mut s2) = (0.0f64, 0.0f64);
            for j in (0..b).filter(|&j| j != i) {
                s1 += (f64::from(ab[i * b + j]) / t).exp() + (f64::from(aa[i * b + j]) / t).exp();
                s2 += (f64::from(ab[j * b + i]) / t).exp() + (f64::from(bb[i * b + j]) / t).exp();
            }
            let old = f64::from(self.u[ids[i]]);
            r.u1 = (1.0 - gamma) * old + gamma * s1 / norm;
            r.u2 = (1.0 - gamma) * old + gamma * s2 / norm;
        }
        for (r, &id) in self.rows.iter().zip(ids) {
            self.u[id] = ((r.u1 + r.u2) / 2.0) as f32;
        }
        // Value, gradients and (iSogCLR) the τ-gradients.
        g_ab.iter_mut().for_each(|g| *g = 0.0);
        g_aa.iter_mut().for_each(|g| *g = 0.0);
        g_bb.iter_mut().for_each(|g| *g = 0.0);
        let scale = 1.0 / (norm * b as f64);
        let mut value = 0.0;
        for (i, r) in self.rows.iter().enumerate() {
            let t = r.tau;
            let (d1, d2) = (r.u1.max(c.eps), r.u2.max(c.eps));
            let (mut wx1, mut wx2) = (0.0f64, 0.0f64);
            let add = |x: f32, g: &mut f32, d: f64, wx: &mut f64| {
                let x = f64::from(x);
                let w = (x / t).exp() / d;
                *wx += w * x;
                *g = (f64::from(*g) + w * scale) as f32;
            };
            for j in (0..b).filter(|&j| j != i) {
                add(ab[i * b + j], &mut g_ab[i * b + j], d1, &mut wx1);
                add(aa[i * b + j], &mut g_aa[i * b + j], d1, &mut wx1);
                add(ab[j * b + i], &mut g_ab[j * b + i], d2, &mut wx2);
                add(bb[i * b + j], &mut g_bb[i * b + j], d2, &mut wx2);
            }
            let pos = f64::from(ab[i * b + i]);
            value += (wx1 + wx2) / norm - 2.0 * pos;
            g_ab[i * b + i] = (f64::from(g_ab[i * b + i]) - 2.0 / b as f64) as f32;
            if let Some(iso) = iso {
                let g = ((r.u1.ln() + iso.rho - wx1 / t / norm)
                    + (r.u2.ln() + iso.rho - wx2 / t / norm))
                    / 2.0;
                let id = ids[i];
                let avg = f64::from(self.grad_tau[id]) * (1.0 - iso.beta) + g * iso.beta;
                self.grad_tau[id] = avg as f32;
                self.tau[id] = (t - avg * iso.eta).clamp(iso.tau_min, iso.tau_max) as f32;
            }
        }
        Ok(value / b as f64)
    }
}
