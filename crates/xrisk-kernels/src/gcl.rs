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
//! write). Cost: two passes over the rows of `ab`, `aa`, `abᵀ`, `bb` (`8·B²` exponentials in `f64`,
//! vectorised; the sums of iSogCLR's τ-gradient cancel, so `f32` exponentials are not enough).

use crate::check;
use crate::error::{KernelError, Result};
use crate::simd::{dispatch, exp64};
use rayon::prelude::*;

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

/// Lanes of the `f64` row loops below (one AVX-512 register) and the columns evaluated per
/// block: each block is an element-wise loop into an array (which vectorises), then summed.
const L64: usize = 8;
const B64: usize = 64;
/// The similarity that pads a row's last block: `exp(PAD/τ)` is exactly 0 for any `τ ≤ 1e20`
/// (and `0·PAD` is 0), so padded columns add nothing.
const PAD: f32 = -1e30;

/// Calls `f(i, j)` for every `(i, j)` of a `b × b` matrix in 32 × 32 tiles, so that a transposed
/// access stays within a few cache lines (a plain double loop misses the cache on every
/// strided access once `b²` floats exceed it).
#[inline(always)]
fn transpose_tiles(b: usize, mut f: impl FnMut(usize, usize)) {
    const T: usize = 32;
    for i0 in (0..b).step_by(T) {
        for j0 in (0..b).step_by(T) {
            for i in i0..(i0 + T).min(b) {
                for j in j0..(j0 + T).min(b) {
                    f(i, j);
                }
            }
        }
    }
}

/// `Σ_j exp(x_j·inv_t)` in `f64`, vectorised (blocks, lanes, tail: a fixed order).
#[inline(always)]
fn exp_sum(x: &[f32], inv_t: f64) -> f64 {
    dispatch(
        #[inline(always)]
        || {
            let (blocks, tail) = x.as_chunks::<B64>();
            let mut acc = [0.0f64; L64];
            let mut e = [0.0f64; B64];
            for blk in blocks {
                for j in 0..B64 {
                    e[j] = exp64(f64::from(blk[j]) * inv_t);
                }
                for c in e.as_chunks::<L64>().0 {
                    for l in 0..L64 {
                        acc[l] += c[l];
                    }
                }
            }
            // The tail as one more block padded with a similarity whose term is exactly 0.
            let mut pad = [PAD; B64];
            pad[..tail.len()].copy_from_slice(tail);
            for j in 0..B64 {
                e[j] = exp64(f64::from(pad[j]) * inv_t);
            }
            for c in e.as_chunks::<L64>().0 {
                for l in 0..L64 {
                    acc[l] += c[l];
                }
            }
            acc.iter().sum::<f64>()
        },
    )
}

/// `g_j = exp(x_j·inv_t)·g_scale` (as `f32`) for every column and `Σ_j exp(x_j·inv_t)·w_scale·x_j`,
/// in `f64`, vectorised as [`exp_sum`].
#[inline(always)]
fn exp_grad(x: &[f32], g: &mut [f32], inv_t: f64, g_scale: f64, w_scale: f64) -> f64 {
    dispatch(
        #[inline(always)]
        || {
            let n = x.len().min(g.len());
            let (xb, xt) = x[..n].as_chunks::<B64>();
            let (gb, gt) = g[..n].as_chunks_mut::<B64>();
            let mut acc = [0.0f64; L64];
            let mut wx = [0.0f64; B64];
            for (xb, gb) in xb.iter().zip(gb.iter_mut()) {
                for j in 0..B64 {
                    let xv = f64::from(xb[j]);
                    let e = exp64(xv * inv_t);
                    gb[j] = (e * g_scale) as f32;
                    wx[j] = e * w_scale * xv;
                }
                for c in wx.as_chunks::<L64>().0 {
                    for l in 0..L64 {
                        acc[l] += c[l];
                    }
                }
            }
            let mut pad = [PAD; B64];
            pad[..xt.len()].copy_from_slice(xt);
            let mut gpad = [0.0f32; B64];
            for j in 0..B64 {
                let xv = f64::from(pad[j]);
                let e = exp64(xv * inv_t);
                gpad[j] = (e * g_scale) as f32;
                wx[j] = e * w_scale * xv;
            }
            gt.copy_from_slice(&gpad[..gt.len()]);
            for c in wx.as_chunks::<L64>().0 {
                for l in 0..L64 {
                    acc[l] += c[l];
                }
            }
            acc.iter().sum::<f64>()
        },
    )
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
    /// `abᵀ` and the gradient of the second view's terms with respect to it (reused buffers):
    /// every pass then reads rows, which vectorise.
    abt: Vec<f32>,
    gt: Vec<f32>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Row {
    tau: f64,
    u1: f64,
    u2: f64,
    /// `Σ_j w_ij·x_ij` of the two views (the value and iSogCLR's τ-gradient read them).
    wx1: f64,
    wx2: f64,
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
            abt: Vec::new(),
            gt: Vec::new(),
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
        // x_ji of the second view read as rows of abᵀ.
        self.abt.clear();
        self.abt.resize(b * b, 0.0);
        transpose_tiles(b, |i, j| self.abt[j * b + i] = ab[i * b + j]);
        let abt = &self.abt[..];
        let parallel = 4 * b * b >= crate::par::PARALLEL_PAIRS && rayon::current_num_threads() > 1;
        // Batch estimates of both views: Σ_{j≠i} exp(x_ij/τ_i) over two rows each.
        let estimate = |i: usize, r: &mut Row| {
            let inv_t = 1.0 / r.tau;
            let sum = |m: &[f32]| {
                let row = &m[i * b..(i + 1) * b];
                let e = |x: &[f32]| exp_sum(x, inv_t);
                e(&row[..i]) + e(&row[i + 1..])
            };
            let (s1, s2) = (sum(ab) + sum(aa), sum(abt) + sum(bb));
            r.u1 = s1;
            r.u2 = s2;
        };
        if parallel {
            self.rows
                .par_iter_mut()
                .enumerate()
                .for_each(|(i, r)| estimate(i, r));
        } else {
            for (i, r) in self.rows.iter_mut().enumerate() {
                estimate(i, r);
            }
        }
        for (r, &id) in self.rows.iter_mut().zip(ids) {
            let old = f64::from(self.u[id]);
            r.u1 = (1.0 - gamma) * old + gamma * r.u1 / norm;
            r.u2 = (1.0 - gamma) * old + gamma * r.u2 / norm;
        }
        for (r, &id) in self.rows.iter().zip(ids) {
            self.u[id] = ((r.u1 + r.u2) / 2.0) as f32;
        }
        // Gradients: row i of ab, aa (first view) and of abᵀ, bb (second view), each weight
        // w_ij = exp(x_ij/τ_i)/u_i; the diagonal is not a negative.
        self.gt.clear();
        self.gt.resize(b * b, 0.0);
        let scale = 1.0 / (norm * b as f64);
        let eps = c.eps;
        let grads = |i: usize,
                     r: &mut Row,
                     gab: &mut [f32],
                     gaa: &mut [f32],
                     gbb: &mut [f32],
                     gt: &mut [f32]| {
            let inv_t = 1.0 / r.tau;
            let (inv_d1, inv_d2) = (1.0 / r.u1.max(eps), 1.0 / r.u2.max(eps));
            let fill = |m: &[f32], g: &mut [f32], inv_d: f64| {
                let row = &m[i * b..(i + 1) * b];
                g[i] = 0.0;
                let (gl, gr) = g.split_at_mut(i);
                exp_grad(&row[..i], gl, inv_t, inv_d * scale, inv_d)
                    + exp_grad(&row[i + 1..], &mut gr[1..], inv_t, inv_d * scale, inv_d)
            };
            r.wx1 = fill(ab, gab, inv_d1) + fill(aa, gaa, inv_d1);
            r.wx2 = fill(abt, gt, inv_d2) + fill(bb, gbb, inv_d2);
        };
        if parallel {
            self.rows
                .par_iter_mut()
                .zip(g_ab.par_chunks_mut(b))
                .zip(g_aa.par_chunks_mut(b))
                .zip(g_bb.par_chunks_mut(b))
                .zip(self.gt.par_chunks_mut(b))
                .enumerate()
                .for_each(|(i, ((((r, gab), gaa), gbb), gt))| grads(i, r, gab, gaa, gbb, gt));
        } else {
            let rows = self.rows.iter_mut().zip(g_ab.chunks_mut(b));
            let rows = rows.zip(g_aa.chunks_mut(b)).zip(g_bb.chunks_mut(b));
            for (i, ((((r, gab), gaa), gbb), gt)) in rows.zip(self.gt.chunks_mut(b)).enumerate() {
                grads(i, r, gab, gaa, gbb, gt);
            }
        }
        // ∂/∂ab_ij gets the first view's term of row i and the second view's of row j.
        let gt = &self.gt;
        transpose_tiles(b, |i, j| g_ab[i * b + j] += gt[j * b + i]);
        let mut value = 0.0;
        for (i, r) in self.rows.iter().enumerate() {
            let t = r.tau;
            let pos = f64::from(ab[i * b + i]);
            value += (r.wx1 + r.wx2) / norm - 2.0 * pos;
            g_ab[i * b + i] = (f64::from(g_ab[i * b + i]) - 2.0 / b as f64) as f32;
            if let Some(iso) = iso {
                let g = ((r.u1.ln() + iso.rho - r.wx1 / t / norm)
                    + (r.u2.ln() + iso.rho - r.wx2 / t / norm))
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
