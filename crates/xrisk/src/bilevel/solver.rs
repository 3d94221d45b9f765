//! The multi-block bilevel algorithms: BSVRB v1 and v2, their moving-average ablation, and the
//! RSVRB baseline (spec `bilevel_ndcg_spec.md` §1.4–§1.7, §1.10–§1.11).
//!
//! One iteration of BSVRB samples I of the m blocks and B lower- and B upper-level samples per
//! block, then
//!
//! ```text
//! v_i ← (1−α)v_i + α∇_y g_i(t) + γ(∇_y g_i(t) − ∇_y g_i(t−1))                 (MSVR, sampled i)
//! v1: H_i ← Π_{⪰floor}[MSVR of ∇²_yy g_i],       w_i = H_i⁻¹ ∇_y f_i
//! v2: r_i ← MSVR of (∇²_yy g_i u_i − ∇_y f_i),   u_i ← Π_{‖u‖≤C}(u_i − τ_u r_i),  w_i = u_i
//! Δ = (1/I) Σ_i [∇_x f_i − ∇²_xy g_i w_i]
//! z ← (1−β)(z − Δ(t−1)) + Δ(t)                                                  (STORM)
//! x ← x − η z,      y_i ← y_i − τ v_i   (sampled blocks, or all blocks with stale v_i)
//! ```
//!
//! "(t−1)" is the same sample evaluated at the previous iterate (x, y_i, H_i/u_i as they were one
//! iteration earlier). With [`Estimator::MovingAverage`] every γ-correction is dropped and z is a
//! plain moving average `z ← (1−β)z + βΔ` (the "BSVRB-MA" ablation of §1.10).
//!
//! RSVRB (§1.10) keeps STORM estimators of ∇_y g_i, ∇²_yy g_i and ∇_y f_i for **every** block,
//! scaled by m/I for the sampled ones and decayed by (1−β) for the rest, inverts its Hessian
//! estimate, and forms Δ on a second, independent block sample. Its cross-Jacobian is the fresh
//! stochastic one of that second sample (tracking a d_x × d_y matrix per block would take
//! 2.2 M numbers per block on a8a); Δ(t−1) reuses the current estimators at the previous iterate.

use super::linalg::{clip_eigenvalues, project_ball, solve_spd};
use super::oracle::{cross_jvp, lower_hessian, lower_hvp, upper_grads};
use super::problem::{Level, MultiBlockProblem};
use crate::error::{Result, XriskError};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Which algorithm runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// BSVRB v1: per-block Hessian estimates, inverted (small d_y; §1.5).
    BsvrbV1,
    /// BSVRB v2: per-block Hessian-inverse-vector estimates by a projected quadratic step (§1.6).
    BsvrbV2,
    /// The RSVRB baseline (§1.10).
    Rsvrb,
}

impl Method {
    /// Short name for logs and reports (`v1`, `v2`, `rsvrb`).
    pub fn name(self) -> &'static str {
        match self {
            Method::BsvrbV1 => "v1",
            Method::BsvrbV2 => "v2",
            Method::Rsvrb => "rsvrb",
        }
    }
}

/// How the estimators are updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Estimator {
    /// MSVR per block and STORM for the hypergradient (the paper's variance reduction).
    Msvr,
    /// Plain moving averages (γ = 0, no STORM correction): the MA ablation.
    MovingAverage,
}

/// Which lower-level iterates move each iteration (§1.5 step 5, §1.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowerUpdate {
    /// Only the sampled blocks move (the more stable mode).
    SampledBlocks,
    /// Every block that has an estimate moves, with its latest (possibly stale) v_i. Stale
    /// moves act like a step ≈ τ·m/I between refreshes (stable roughly while τ·(m/I)·L < 2, L
    /// the lower-level smoothness), so by default the step is scaled to τ·I/m; see
    /// [`BilevelConfig::scale_stale_step`].
    AllBlocks,
}

/// Hyper-parameters of a run. [`BilevelConfig::new`] gives the released a8a settings (§1.7).
#[derive(Debug, Clone, PartialEq)]
pub struct BilevelConfig {
    /// Algorithm.
    pub method: Method,
    /// MSVR/STORM or moving averages.
    pub estimator: Estimator,
    /// Which lower-level iterates move.
    pub lower_update: LowerUpdate,
    /// With [`LowerUpdate::AllBlocks`], move by τ·I/m instead of τ (default true, spec §1.11).
    pub scale_stale_step: bool,
    /// I: blocks sampled per iteration (1 ≤ I ≤ m).
    pub blocks_per_iter: usize,
    /// B: samples per sampled block and level.
    pub samples_per_block: usize,
    /// η: upper-level step.
    pub eta: f64,
    /// τ: lower-level step.
    pub tau: f64,
    /// τ_u: step of v2's u_i.
    pub tau_u: f64,
    /// α ∈ (0, 1]: weight of the fresh value in the block estimators.
    pub alpha: f64,
    /// β ∈ (0, 1]: STORM/momentum weight of the upper-level estimator.
    pub beta: f64,
    /// γ ≥ 0: MSVR correction weight (1 in the released runs; see [`theory_gamma`]).
    pub gamma: f64,
    /// Lower bound on the eigenvalues of the Hessian estimates (v1, RSVRB).
    pub hessian_floor: f64,
    /// C: radius of the ball v2's u_i is projected on.
    pub u_radius: f64,
    /// Seed of every random choice (blocks, samples, initial points).
    pub seed: u64,
}

impl BilevelConfig {
    /// The released hyper-optimization settings (§1.7): I = 10, B = 32, η = 1e-3, α = β = 0.9,
    /// γ = 1, τ = 0.5 for v1 and RSVRB, τ = τ_u = 1 for v2, ‖u‖ ≤ 10, Hessian floor 0.05,
    /// sampled-block lower-level moves, seed 0.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            estimator: Estimator::Msvr,
            lower_update: LowerUpdate::SampledBlocks,
            scale_stale_step: true,
            blocks_per_iter: 10,
            samples_per_block: 32,
            eta: 1e-3,
            tau: if method == Method::BsvrbV2 { 1.0 } else { 0.5 },
            tau_u: 1.0,
            alpha: 0.9,
            beta: 0.9,
            gamma: 1.0,
            hessian_floor: 0.05,
            u_radius: 10.0,
            seed: 0,
        }
    }

    /// Checks every field against the problem's block count `m`.
    pub fn validate(&self, m: usize) -> Result<()> {
        let bad = |name, value: f64, reason| {
            Err(XriskError::InvalidConfig {
                name,
                value,
                reason,
            })
        };
        if self.blocks_per_iter == 0 || self.blocks_per_iter > m {
            return bad(
                "blocks_per_iter",
                self.blocks_per_iter as f64,
                "must be between 1 and the number of blocks m",
            );
        }
        if self.samples_per_block == 0 {
            return bad("samples_per_block", 0.0, "must be at least 1");
        }
        for (name, v) in [
            ("eta", self.eta),
            ("tau", self.tau),
            ("tau_u", self.tau_u),
            ("hessian_floor", self.hessian_floor),
            ("u_radius", self.u_radius),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(name, v, "must be a positive number");
            }
        }
        for (name, v) in [("alpha", self.alpha), ("beta", self.beta)] {
            if !(v > 0.0 && v <= 1.0) {
                return bad(name, v, "must be in (0, 1]");
            }
        }
        if !(self.gamma.is_finite() && self.gamma >= 0.0) {
            return bad("gamma", self.gamma, "must be a non-negative number");
        }
        Ok(())
    }
}

/// The MSVR correction weight of the theory (§1.4): γ = (m − I)/(I(1 − α)) + (1 − α), which
/// reduces to STORM's 1 − α when I = m. (α = 1 gives +∞: no averaging leaves nothing to correct.)
pub fn theory_gamma(m: usize, i: usize, alpha: f64) -> f64 {
    (m - i.min(m)) as f64 / (i as f64 * (1.0 - alpha)) + (1.0 - alpha)
}

/// What one iteration did.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInfo {
    /// Iterations done, this one included.
    pub iteration: u64,
    /// Data samples drawn so far (lower and upper level, all blocks).
    pub samples: u64,
    /// ‖Δ‖ of this iteration's hypergradient sample.
    pub hypergradient_norm: f64,
}

/// A bilevel run: the problem, its configuration and every estimator.
pub struct Bilevel<P: MultiBlockProblem> {
    problem: P,
    cfg: BilevelConfig,
    rng: ChaCha8Rng,
    t: u64,
    samples: u64,
    x: Vec<f64>,
    x_prev: Vec<f64>,
    z: Vec<f64>,
    y: Vec<f64>,
    y_prev: Vec<f64>,
    y_moved: Vec<Option<u64>>,
    v: Vec<f64>,
    visited: Vec<bool>,
    due: Vec<usize>,
    h: Vec<f64>,
    u: Vec<f64>,
    u_prev: Vec<f64>,
    u_moved: Vec<Option<u64>>,
    r: Vec<f64>,
    w: Vec<f64>,
}

/// The `width`-long rows of `src` for `blocks`, concatenated.
fn gather(src: &[f64], blocks: &[usize], width: usize) -> Vec<f64> {
    blocks
        .iter()
        .flat_map(|&i| src[i * width..(i + 1) * width].iter().copied())
        .collect()
}

/// MSVR (or moving-average) update of one block estimate (§1.4).
fn track(e: &mut [f64], fresh: &[f64], old: Option<&[f64]>, alpha: f64, gamma: f64, first: bool) {
    if first {
        e.copy_from_slice(fresh);
        return;
    }
    for (k, e) in e.iter_mut().enumerate() {
        let correction = old.map_or(0.0, |o| gamma * (fresh[k] - o[k]));
        *e = (1.0 - alpha) * *e + alpha * fresh[k] + correction;
    }
}

/// Row `slot` (of width `w`) of a fresh value and of its previous-iterate twin.
fn rows<'a>(
    slot: Option<usize>,
    w: usize,
    fresh: &'a [f64],
    prev: Option<&'a [f64]>,
) -> Option<(&'a [f64], Option<&'a [f64]>)> {
    slot.map(|b| {
        (
            &fresh[b * w..(b + 1) * w],
            prev.map(|p| &p[b * w..(b + 1) * w]),
        )
    })
}

/// One hypergradient sample Δ = (1/I) Σ_i [∇_x f_i − ∇²_xy g_i · w_i], from the summed
/// upper-level gradient `fx` and the per-block vectors `ws`.
fn hypergradient<P: MultiBlockProblem>(
    p: &P,
    blocks: &[usize],
    x: &[f64],
    ys: &[f64],
    fx: &[f64],
    ws: &[f64],
    sample: &P::Sample,
) -> Vec<f64> {
    let jx = cross_jvp(p, blocks, x, ys, ws, sample);
    let n = blocks.len() as f64;
    fx.iter().zip(&jx).map(|(a, b)| (a - b) / n).collect()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

impl<P: MultiBlockProblem> Bilevel<P> {
    /// Starts a run at the problem's initial points; u and every estimator start at zero.
    pub fn new(problem: P, cfg: BilevelConfig) -> Result<Self> {
        let (m, dx, dy) = (problem.blocks(), problem.dim_x(), problem.dim_y());
        cfg.validate(m)?;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let x = problem.initial_x(&mut rng);
        let y = problem.initial_y(&mut rng);
        if x.len() != dx || y.len() != m * dy {
            return Err(XriskError::InvalidConfig {
                name: "initial point",
                value: x.len() as f64,
                reason: "the problem's initial_x/initial_y lengths do not match dim_x and blocks·dim_y",
            });
        }
        let hess = matches!(cfg.method, Method::BsvrbV1 | Method::Rsvrb);
        Ok(Self {
            rng,
            t: 0,
            samples: 0,
            x_prev: x.clone(),
            z: vec![0.0; dx],
            y_prev: y.clone(),
            y_moved: vec![None; m],
            v: vec![0.0; m * dy],
            visited: vec![false; m],
            due: Vec::new(),
            h: if hess {
                vec![0.0; m * dy * dy]
            } else {
                Vec::new()
            },
            u: vec![0.0; m * dy],
            u_prev: vec![0.0; m * dy],
            u_moved: vec![None; m],
            r: vec![0.0; m * dy],
            w: if cfg.method == Method::Rsvrb {
                vec![0.0; m * dy]
            } else {
                Vec::new()
            },
            x,
            y,
            problem,
            cfg,
        })
    }

    /// The problem.
    pub fn problem(&self) -> &P {
        &self.problem
    }
    /// The configuration.
    pub fn config(&self) -> &BilevelConfig {
        &self.cfg
    }
    /// The upper-level iterate x.
    pub fn x(&self) -> &[f64] {
        &self.x
    }
    /// The lower-level iterates, block after block (m·d_y).
    pub fn y(&self) -> &[f64] {
        &self.y
    }
    /// Iterations done.
    pub fn iteration(&self) -> u64 {
        self.t
    }
    /// Data samples drawn so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Lower-level iterate of block `i` at the start of the previous iteration.
    fn y_before(&self, i: usize) -> &[f64] {
        let dy = self.problem.dim_y();
        let src = if self.t > 0 && self.y_moved[i] == Some(self.t - 1) {
            &self.y_prev
        } else {
            &self.y
        };
        &src[i * dy..(i + 1) * dy]
    }

    /// v2's u_i at the start of the previous iteration.
    fn u_before(&self, i: usize) -> &[f64] {
        let dy = self.problem.dim_y();
        let src = if self.t > 0 && self.u_moved[i] == Some(self.t - 1) {
            &self.u_prev
        } else {
            &self.u
        };
        &src[i * dy..(i + 1) * dy]
    }

    fn draw_blocks(&mut self) -> Vec<usize> {
        rand::seq::index::sample(
            &mut self.rng,
            self.problem.blocks(),
            self.cfg.blocks_per_iter,
        )
        .into_vec()
    }

    /// Runs one iteration.
    pub fn step(&mut self) -> Result<StepInfo> {
        let (delta, delta_prev) = match self.cfg.method {
            Method::BsvrbV1 => self.bsvrb_v1(),
            Method::BsvrbV2 => self.bsvrb_v2(),
            Method::Rsvrb => self.rsvrb(),
        };
        let beta = self.cfg.beta;
        match (&delta_prev, self.t) {
            (_, 0) => self.z.copy_from_slice(&delta),
            (Some(dp), _) => {
                for ((z, d), p) in self.z.iter_mut().zip(&delta).zip(dp) {
                    *z = (1.0 - beta) * (*z - p) + d;
                }
            }
            (None, _) => {
                for (z, d) in self.z.iter_mut().zip(&delta) {
                    *z = (1.0 - beta) * *z + beta * d;
                }
            }
        }
        self.x_prev.copy_from_slice(&self.x);
        for (x, z) in self.x.iter_mut().zip(&self.z) {
            *x -= self.cfg.eta * z;
        }
        self.move_lower();
        let info = StepInfo {
            iteration: self.t + 1,
            samples: self.samples,
            hypergradient_norm: norm(&delta),
        };
        if !self.x.iter().chain(&self.y).all(|a| a.is_finite()) {
            return Err(XriskError::Diverged {
                what: "the iterates x, y",
                iteration: self.t + 1,
            });
        }
        self.t += 1;
        Ok(info)
    }

    fn move_lower(&mut self) {
        let dy = self.problem.dim_y();
        let all = self.cfg.lower_update == LowerUpdate::AllBlocks;
        let tau = if all && self.cfg.scale_stale_step {
            self.cfg.tau * self.cfg.blocks_per_iter as f64 / self.problem.blocks() as f64
        } else {
            self.cfg.tau
        };
        let moving: Vec<usize> = match self.cfg.lower_update {
            LowerUpdate::AllBlocks => (0..self.problem.blocks())
                .filter(|&i| self.visited[i])
                .collect(),
            LowerUpdate::SampledBlocks => std::mem::take(&mut self.due),
        };
        self.due.clear();
        for i in moving {
            let (y, yp, v) = (
                &mut self.y[i * dy..(i + 1) * dy],
                &mut self.y_prev[i * dy..(i + 1) * dy],
                &self.v[i * dy..(i + 1) * dy],
            );
            yp.copy_from_slice(y);
            for (a, d) in y.iter_mut().zip(v) {
                *a -= tau * d;
            }
            self.y_moved[i] = Some(self.t);
        }
    }

    /// Marks the sampled blocks as visited and due to move this iteration.
    fn visit(&mut self, blocks: &[usize]) {
        for &i in blocks {
            self.visited[i] = true;
        }
        self.due.extend_from_slice(blocks);
    }

    fn sample_pair(&mut self, blocks: &[usize]) -> (P::Sample, P::Sample) {
        let b = self.cfg.samples_per_block;
        let lo = self.problem.sample(Level::Lower, blocks, b, &mut self.rng);
        let up = self.problem.sample(Level::Upper, blocks, b, &mut self.rng);
        self.samples += 2 * (blocks.len() * b) as u64;
        (lo, up)
    }

    fn use_correction(&self) -> bool {
        self.cfg.estimator == Estimator::Msvr && self.t > 0
    }

    fn previous_ys(&self, blocks: &[usize]) -> Vec<f64> {
        blocks
            .iter()
            .flat_map(|&i| self.y_before(i).iter().copied())
            .collect()
    }

    fn bsvrb_v1(&mut self) -> (Vec<f64>, Option<Vec<f64>>) {
        let p = &self.problem;
        let (dy, n) = (p.dim_y(), self.cfg.blocks_per_iter);
        let blocks = self.draw_blocks();
        let (s_lo, s_up) = self.sample_pair(&blocks);
        let p = &self.problem;
        let vr = self.use_correction();
        let gamma = if vr { self.cfg.gamma } else { 0.0 };
        let ys = gather(&self.y, &blocks, dy);
        let ys_p = if vr {
            self.previous_ys(&blocks)
        } else {
            Vec::new()
        };
        let cur = lower_hessian(p, &blocks, &self.x, &ys, &s_lo);
        let prev = vr.then(|| lower_hessian(p, &blocks, &self.x_prev, &ys_p, &s_lo));
        let (fx, fy) = upper_grads(p, &blocks, &self.x, &ys, &s_up);
        let up_prev = vr.then(|| upper_grads(p, &blocks, &self.x_prev, &ys_p, &s_up));
        let (d2, alpha, floor) = (dy * dy, self.cfg.alpha, self.cfg.hessian_floor);
        let mut ws = Vec::with_capacity(n * dy);
        let mut ws_prev = Vec::with_capacity(n * dy);
        for (b, &i) in blocks.iter().enumerate() {
            let first = !self.visited[i];
            let old = |e: &Vec<f64>, w: usize| e[b * w..(b + 1) * w].to_vec();
            track(
                &mut self.v[i * dy..(i + 1) * dy],
                &cur.grad[b * dy..(b + 1) * dy],
                prev.as_ref().map(|e| old(&e.grad, dy)).as_deref(),
                alpha,
                gamma,
                first,
            );
            let h_old = self.h[i * d2..(i + 1) * d2].to_vec();
            let h = &mut self.h[i * d2..(i + 1) * d2];
            track(
                h,
                &cur.second[b * d2..(b + 1) * d2],
                prev.as_ref().map(|e| old(&e.second, d2)).as_deref(),
                alpha,
                gamma,
                first,
            );
            clip_eigenvalues(h, dy, floor);
            ws.extend(solve_spd(h, dy, &fy[b * dy..(b + 1) * dy], floor));
            if let Some((_, fyp)) = &up_prev {
                let h_then = if first { h.to_vec() } else { h_old };
                ws_prev.extend(solve_spd(&h_then, dy, &fyp[b * dy..(b + 1) * dy], floor));
            }
        }
        let p = &self.problem;
        let delta = hypergradient(p, &blocks, &self.x, &ys, &fx, &ws, &s_lo);
        let delta_prev = up_prev
            .map(|(fxp, _)| hypergradient(p, &blocks, &self.x_prev, &ys_p, &fxp, &ws_prev, &s_lo));
        self.visit(&blocks);
        (delta, delta_prev)
    }

    fn bsvrb_v2(&mut self) -> (Vec<f64>, Option<Vec<f64>>) {
        let dy = self.problem.dim_y();
        let blocks = self.draw_blocks();
        let (s_lo, s_up) = self.sample_pair(&blocks);
        let p = &self.problem;
        let vr = self.use_correction();
        let gamma = if vr { self.cfg.gamma } else { 0.0 };
        let ys = gather(&self.y, &blocks, dy);
        let us = gather(&self.u, &blocks, dy);
        let (ys_p, us_p) = if vr {
            let up: Vec<f64> = blocks
                .iter()
                .flat_map(|&i| self.u_before(i).iter().copied())
                .collect();
            (self.previous_ys(&blocks), up)
        } else {
            (Vec::new(), Vec::new())
        };
        let cur = lower_hvp(p, &blocks, &self.x, &ys, &us, &s_lo);
        let (fx, fy) = upper_grads(p, &blocks, &self.x, &ys, &s_up);
        let prev = vr.then(|| {
            (
                lower_hvp(p, &blocks, &self.x_prev, &ys_p, &us_p, &s_lo),
                upper_grads(p, &blocks, &self.x_prev, &ys_p, &s_up),
            )
        });
        let alpha = self.cfg.alpha;
        for (b, &i) in blocks.iter().enumerate() {
            let first = !self.visited[i];
            let sl = b * dy..(b + 1) * dy;
            let old_g = prev.as_ref().map(|(l, _)| l.grad[sl.clone()].to_vec());
            track(
                &mut self.v[i * dy..(i + 1) * dy],
                &cur.grad[sl.clone()],
                old_g.as_deref(),
                alpha,
                gamma,
                first,
            );
            let q: Vec<f64> = cur.second[sl.clone()]
                .iter()
                .zip(&fy[sl.clone()])
                .map(|(a, b)| a - b)
                .collect();
            let q_old = prev.as_ref().map(|(l, (_, fyp))| {
                l.second[sl.clone()]
                    .iter()
                    .zip(&fyp[sl.clone()])
                    .map(|(a, b)| a - b)
                    .collect::<Vec<_>>()
            });
            track(
                &mut self.r[i * dy..(i + 1) * dy],
                &q,
                q_old.as_deref(),
                alpha,
                gamma,
                first,
            );
            let (u, up, r) = (
                &mut self.u[i * dy..(i + 1) * dy],
                &mut self.u_prev[i * dy..(i + 1) * dy],
                &self.r[i * dy..(i + 1) * dy],
            );
            up.copy_from_slice(u);
            for (a, d) in u.iter_mut().zip(r) {
                *a -= self.cfg.tau_u * d;
            }
            project_ball(u, self.cfg.u_radius);
            self.u_moved[i] = Some(self.t);
        }
        let ws = gather(&self.u, &blocks, dy);
        let p = &self.problem;
        let delta = hypergradient(p, &blocks, &self.x, &ys, &fx, &ws, &s_lo);
        let delta_prev = prev.map(|(_, (fxp, _))| {
            // u as it was at the end of the previous iteration: before this update
            hypergradient(p, &blocks, &self.x_prev, &ys_p, &fxp, &us, &s_lo)
        });
        self.visit(&blocks);
        (delta, delta_prev)
    }

    fn rsvrb(&mut self) -> (Vec<f64>, Option<Vec<f64>>) {
        let (m, dy, n) = (
            self.problem.blocks(),
            self.problem.dim_y(),
            self.cfg.blocks_per_iter,
        );
        let d2 = dy * dy;
        let blocks = self.draw_blocks();
        let (s_lo, s_up) = self.sample_pair(&blocks);
        let vr = self.use_correction();
        let p = &self.problem;
        let ys = gather(&self.y, &blocks, dy);
        let ys_p = if vr {
            self.previous_ys(&blocks)
        } else {
            Vec::new()
        };
        let cur = lower_hessian(p, &blocks, &self.x, &ys, &s_lo);
        let (_, fy) = upper_grads(p, &blocks, &self.x, &ys, &s_up);
        let prev = vr.then(|| {
            (
                lower_hessian(p, &blocks, &self.x_prev, &ys_p, &s_lo),
                upper_grads(p, &blocks, &self.x_prev, &ys_p, &s_up).1,
            )
        });
        let (beta, scale) = (self.cfg.beta, m as f64 / n as f64);
        // unsampled blocks decay, sampled ones take the scaled STORM step
        let mut slot = vec![None; m];
        for (b, &i) in blocks.iter().enumerate() {
            slot[i] = Some(b);
        }
        let storm = |e: &mut [f64], fresh: Option<(&[f64], Option<&[f64]>)>| match fresh {
            None => e.iter_mut().for_each(|a| *a *= 1.0 - beta),
            Some((f, Some(o))) => {
                for ((a, f), o) in e.iter_mut().zip(f).zip(o) {
                    *a = (1.0 - beta) * (*a - scale * o) + scale * f;
                }
            }
            Some((f, None)) => {
                for (a, f) in e.iter_mut().zip(f) {
                    *a = (1.0 - beta) * *a + beta * scale * f;
                }
            }
        };
        for (i, s) in slot.iter().enumerate() {
            let pg = prev.as_ref().map(|(l, _)| l.grad.as_slice());
            let ph = prev.as_ref().map(|(l, _)| l.second.as_slice());
            let pf = prev.as_ref().map(|(_, f)| f.as_slice());
            storm(
                &mut self.v[i * dy..(i + 1) * dy],
                rows(*s, dy, &cur.grad, pg),
            );
            storm(
                &mut self.h[i * d2..(i + 1) * d2],
                rows(*s, d2, &cur.second, ph),
            );
            storm(&mut self.w[i * dy..(i + 1) * dy], rows(*s, dy, &fy, pf));
        }
        self.visit(&blocks);
        // hypergradient on a second, independent block sample
        let second = self.draw_blocks();
        let (s_lo2, s_up2) = self.sample_pair(&second);
        let p = &self.problem;
        let ys2 = gather(&self.y, &second, dy);
        let floor = self.cfg.hessian_floor;
        let mut ws = Vec::with_capacity(n * dy);
        for &i in &second {
            let mut h = self.h[i * d2..(i + 1) * d2].to_vec();
            clip_eigenvalues(&mut h, dy, floor);
            ws.extend(solve_spd(&h, dy, &self.w[i * dy..(i + 1) * dy], floor));
        }
        let (fx, _) = upper_grads(p, &second, &self.x, &ys2, &s_up2);
        let delta = hypergradient(p, &second, &self.x, &ys2, &fx, &ws, &s_lo2);
        let delta_prev = vr.then(|| {
            let ys2_p = self.previous_ys(&second);
            let (fxp, _) = upper_grads(p, &second, &self.x_prev, &ys2_p, &s_up2);
            hypergradient(p, &second, &self.x_prev, &ys2_p, &fxp, &ws, &s_lo2)
        });
        (delta, delta_prev)
    }
}
