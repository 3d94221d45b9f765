//! NDCG surrogates: SONG (full-list NDCG) and K-SONG (top-K NDCG) — `NDCGLoss`, spec
//! `libauc_spec.md` §2.14 and `bilevel_ndcg_spec.md` §3.2–§3.9.
//!
//! Per relevant pair `(q, i)` the rank surrogate `g_qi = mean_j ℓ(m, h_qi − h_qj)` over the
//! batch's items `j` of query `q` (its sampled positives included, as in LibAUC) is tracked by
//! `u_qi ← (1−γ₀)·u_qi + γ₀·g_qi`, and the outer function `f(u) = −(2^y − 1)/log₂(1 + n·u)`
//! (n = number of items) has the derivative
//! `f′(u) = (2^y − 1)·n / (ln 2 · (1 + n·u) · log₂²(1 + n·u))`. SONG returns
//! `mean_q[ N_q⁺ · mean_i(f′(u_qi)·g_qi) / IDCG_q ]` (the weights constant), whose gradient is
//! the compositional estimator.
//!
//! K-SONG (`topk = Some(K)`) also tracks a per-query threshold `λ_q` by one gradient step on
//! the smoothed top-K problem, `∇λ = K/n + τ₂·λ − mean_j σ((h_j − λ)/τ₁)`, with
//! `d = sg(h) − λ_old`, and weights every positive by `ψ = c_ψ·σ(α·d_i)`:
//! * `Prac`: ψ as a constant weight on SONG's gradient;
//! * `Theo`: adds the implicit-gradient term `ψ′·f(u)·(h_i − H_q)` with
//!   `ψ′ = c_ψ·σ(α d)(1 − σ(α d))` (LibAUC's form, without the factor α),
//!   `H_q = mean_j(c_j·h_j)/s_q`, `c_j = σ(d_j/τ₁)(1−σ(d_j/τ₁))/τ₁` and the scalar Hessian
//!   tracker `s_q ← γ₁·(τ₂ + mean_j c_j) + (1−γ₁)·s_q` (read back after the batch's writes).
//!
//! The items `j` are every column of the batch row by default (LibAUC); with
//! [`InnerSample::AfterPositives`] only the columns after the positives (the papers'
//! estimator). Defaults are LibAUC 2.0.1's. Differences: `n·u` is floored at 1e-12 before the
//! logarithm (1 with the uniform sample), and `c_ψ` (the paper's ψ scale) defaults to 1.
//! State: `u` per relevant pair, `λ_q` and `s_q` per query (`num_users + 1` entries, as
//! LibAUC), all 0; repeated ids keep their last write. Cost: one pass over the
//! `B × num_pos × J` rank pairs plus `O(B·J)` for K-SONG.

use crate::check;
use crate::error::{KernelError, Result};
use crate::surrogate::{Surr, Surrogate, sigmoid};
use crate::with_surrogate;

/// Which K-SONG estimator to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopkVersion {
    /// The full bilevel gradient with the scalar Hessian tracker (LibAUC's default).
    Theo,
    /// The stop-gradient variant: ψ is a constant weight per positive.
    Prac,
}

/// Which score columns of a batch row estimate the rank surrogate `g_qi` and the top-K
/// statistics (λ step, Hessian tracker) — spec `bilevel_ndcg_spec.md` §3.9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InnerSample {
    /// Every column, the sampled positives included (LibAUC 2.0.1).
    AllColumns,
    /// Only the columns after the `num_pos` positives, drawn uniformly from the query's items.
    AfterPositives,
}

/// Settings of the NDCG loss (LibAUC 2.0.1 names and defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NdcgConfig {
    /// Number of relevant (query, item) pairs: the size of `u`.
    pub n_pairs: usize,
    /// Number of queries (users); `λ_q` and `s_q` have `num_users + 1` entries, as in LibAUC.
    pub num_users: usize,
    /// Number of items n (the rank is extrapolated to the whole catalogue as `n·u`).
    pub num_items: usize,
    /// Positives per query in a batch (the first `num_pos` score columns).
    pub num_pos: usize,
    /// Moving-average weight γ₀ of `u` (0.9).
    pub gamma0: f64,
    /// Moving-average weight γ₁ of `s_q` (0.9).
    pub gamma1: f64,
    /// Step size η₀ of `λ_q` (0.01).
    pub eta0: f64,
    /// Surrogate margin (1.0).
    pub margin: f64,
    /// K of NDCG@K; `None` is SONG.
    pub topk: Option<usize>,
    /// K-SONG estimator (theo).
    pub version: TopkVersion,
    /// Softplus temperature τ₁ (0.01).
    pub tau_1: f64,
    /// Strong-convexity weight τ₂ (1e-4).
    pub tau_2: f64,
    /// Slope α of ψ (2.0).
    pub sigmoid_alpha: f64,
    /// Scale c_ψ of ψ (1.0; the paper's code uses 2.0).
    pub psi_scale: f64,
    /// Rank surrogate ℓ (squared hinge).
    pub surrogate: Surrogate,
    /// Columns that estimate `g` and the top-K statistics (all columns, as LibAUC).
    pub inner_sample: InnerSample,
}

impl NdcgConfig {
    /// SONG with LibAUC's defaults.
    pub fn new(n_pairs: usize, num_users: usize, num_items: usize, num_pos: usize) -> Self {
        NdcgConfig {
            n_pairs,
            num_users,
            num_items,
            num_pos,
            gamma0: 0.9,
            gamma1: 0.9,
            eta0: 0.01,
            margin: 1.0,
            topk: None,
            version: TopkVersion::Theo,
            tau_1: 0.01,
            tau_2: 1e-4,
            sigmoid_alpha: 2.0,
            psi_scale: 1.0,
            surrogate: Surrogate::SquaredHinge,
            inner_sample: InnerSample::AllColumns,
        }
    }

    /// Checks the settings: both γ in `(0, 1]`, `eta0 ≥ 0`, `tau_1 > 0`, `tau_2 ≥ 0`, finite
    /// margin, slope and scale, `num_pos ≥ 1`, `num_items ≥ 1`, `topk ≥ 1`.
    pub fn validate(&self) -> Result<()> {
        let unit = "must be in (0, 1]";
        check::in_range("gamma0", self.gamma0, f64::MIN_POSITIVE, 1.0, unit)?;
        check::in_range("gamma1", self.gamma1, f64::MIN_POSITIVE, 1.0, unit)?;
        check::in_range(
            "eta0",
            self.eta0,
            0.0,
            f64::MAX,
            "the threshold step must be ≥ 0",
        )?;
        check::positive("tau_1", self.tau_1, "the smoothing temperature must be > 0")?;
        check::in_range("tau_2", self.tau_2, 0.0, f64::MAX, "must be ≥ 0")?;
        check::finite_setting("margin", self.margin)?;
        check::finite_setting("sigmoid_alpha", self.sigmoid_alpha)?;
        check::finite_setting("psi_scale", self.psi_scale)?;
        check::in_range(
            "num_pos",
            self.num_pos as f64,
            1.0,
            f64::MAX,
            "must be at least 1",
        )?;
        check::in_range(
            "num_items",
            self.num_items as f64,
            1.0,
            f64::MAX,
            "must be at least 1",
        )?;
        if self.topk == Some(0) {
            return Err(KernelError::InvalidConfig {
                name: "topk",
                value: 0.0,
                reason: "K of NDCG@K must be at least 1 (leave it unset for SONG)",
            });
        }
        Ok(())
    }
}

/// What a ranking batch carries besides its scores (LibAUC's batch dict), row-major.
#[derive(Debug, Clone, Copy)]
pub struct RankingBatch<'a> {
    /// Ratings of the positive columns, `B·num_pos` (gains are `2^rating − 1`).
    pub ratings: &'a [f32],
    /// Query (user) id of each row, `B`.
    pub user_ids: &'a [usize],
    /// Relevant-pair id of each positive column, `B·num_pos`.
    pub pair_ids: &'a [usize],
    /// `N_q⁺`: the number of relevant items of each row's query, `B`.
    pub num_pos_items: &'a [f32],
    /// Ideal DCG of each row's query (of its top K for K-SONG, if the data was built so), `B`.
    pub ideal_dcg: &'a [f32],
    /// `N_q`, the number of candidate items of each row's query, `B` (learning to rank);
    /// `None` uses the config's `num_items` for every query (recommendation).
    pub items_per_query: Option<&'a [f32]>,
}

/// The SONG / K-SONG kernel with its per-pair and per-query state.
#[derive(Debug, Clone)]
pub struct NdcgKernel {
    config: NdcgConfig,
    u: Vec<f32>,
    lambda_q: Vec<f32>,
    s_q: Vec<f32>,
    rows: Vec<Row>,
    pos: Vec<Pos>,
    /// The gradient summed in f64 (a positive column's entry is a difference of its own row
    /// term and the other positives' column terms), written to the caller's f32 at the end.
    acc: Vec<f64>,
}

/// Per batch row (query).
#[derive(Debug, Clone, Copy, Default)]
struct Row {
    lam: f64,
    lam_new: f64,
    h_q: f64,
    s_new: f64,
    /// `∂value/∂H_q`.
    d_hq: f64,
}

/// Per positive column.
#[derive(Debug, Clone, Copy, Default)]
struct Pos {
    g: f64,
    u: f64,
    sum_dl: f64,
}

impl NdcgKernel {
    /// A kernel with zero state; errors on a bad setting or tables that cannot be allocated.
    pub fn new(config: NdcgConfig) -> Result<Self> {
        config.validate()?;
        let users = config.num_users.saturating_add(1);
        Ok(NdcgKernel {
            config,
            u: check::table("n_pairs", config.n_pairs, 0.0)?,
            lambda_q: check::table("num_users", users, 0.0)?,
            s_q: check::table("num_users", users, 0.0)?,
            rows: Vec::new(),
            pos: Vec::new(),
            acc: Vec::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &NdcgConfig {
        &self.config
    }

    /// The state `(u per pair, λ per query, s per query)`.
    pub fn state(&self) -> (&[f32], &[f32], &[f32]) {
        (&self.u, &self.lambda_q, &self.s_q)
    }

    /// Replaces the state (a checkpoint).
    pub fn load_state(&mut self, u: &[f32], lambda_q: &[f32], s_q: &[f32]) -> Result<()> {
        check::load("u", &mut self.u, u)?;
        check::load("lambda_q", &mut self.lambda_q, lambda_q)?;
        check::load("s_q", &mut self.s_q, s_q)
    }

    /// Sets the thresholds `λ_q` of `users` (e.g. to the warm-up model's K-th scores).
    pub fn set_thresholds(&mut self, users: &[usize], values: &[f32]) -> Result<()> {
        check::ids(users, self.lambda_q.len())?;
        if users.len() != values.len() {
            return Err(KernelError::LengthMismatch {
                scores: values.len(),
                labels: values.len(),
                ids: users.len(),
            });
        }
        for (&u, &v) in users.iter().zip(values) {
            self.lambda_q[u] = v;
        }
        Ok(())
    }

    /// Updates the state of the batch's pairs and queries and returns the surrogate; `scores`
    /// is `[B, width]` row-major. Writes `∂value/∂scores` into `grad`.
    pub fn forward(
        &mut self,
        scores: &[f32],
        width: usize,
        batch: &RankingBatch,
        grad: &mut [f32],
    ) -> Result<f64> {
        let c = self.config;
        let p = c.num_pos;
        let (b, l) =
            crate::ranking::check_scores("NdcgLoss", scores, width, p, batch.pair_ids, grad.len())?;
        for (name, len, want) in [
            ("ratings", batch.ratings.len(), b * p),
            ("user_ids", batch.user_ids.len(), b),
            ("num_pos_items", batch.num_pos_items.len(), b),
            ("ideal_dcg", batch.ideal_dcg.len(), b),
            (
                "items_per_query",
                batch.items_per_query.map_or(b, <[f32]>::len),
                b,
            ),
        ] {
            if len != want {
                return Err(KernelError::InvalidConfig {
                    name,
                    value: len as f64,
                    reason: "wrong length for the batch (ratings, pair ids: B·num_pos; the rest: B)",
                });
            }
        }
        if let Some(&v) = batch
            .ideal_dcg
            .iter()
            .find(|v| !(v.is_finite() && **v > 0.0))
        {
            return Err(KernelError::InvalidConfig {
                name: "ideal_dcg",
                value: f64::from(v),
                reason: "every query needs a positive ideal DCG (a query without relevant items cannot be trained on)",
            });
        }
        if let Some(&v) = batch
            .ratings
            .iter()
            .find(|v| !(v.is_finite() && **v >= 0.0))
        {
            return Err(KernelError::InvalidConfig {
                name: "ratings",
                value: f64::from(v),
                reason: "ratings must be finite and ≥ 0",
            });
        }
        if let Some(&v) = batch
            .items_per_query
            .and_then(|n| n.iter().find(|v| !(v.is_finite() && **v >= 1.0)))
        {
            return Err(KernelError::InvalidConfig {
                name: "items_per_query",
                value: f64::from(v),
                reason: "every query needs at least one candidate item",
            });
        }
        check::ids(batch.pair_ids, c.n_pairs)?;
        check::ids(batch.user_ids, self.lambda_q.len())?;
        let first = match c.inner_sample {
            InnerSample::AllColumns => 0,
            InnerSample::AfterPositives if l > p => p,
            InnerSample::AfterPositives => {
                return Err(KernelError::InvalidConfig {
                    name: "inner_sample",
                    value: l as f64,
                    reason: "estimating from the columns after the positives needs more than num_pos columns",
                });
            }
        };
        let nj = (l - first) as f64;
        let floor = match c.inner_sample {
            InnerSample::AllColumns => 1e-12,
            InnerSample::AfterPositives => 1.0,
        };
        // The rank surrogates g and their slopes; the new u (no read back, as LibAUC).
        self.pos.clear();
        with_surrogate!(c.surrogate, c.margin, |f| {
            for q in 0..b {
                let row = &scores[q * l..(q + 1) * l];
                for i in 0..p {
                    let (mut g, mut sdl) = (0.0f64, 0.0f64);
                    for &x in &row[first..] {
                        let (v, dv) = f.both(row[i] - x);
                        g += f64::from(v);
                        sdl += f64::from(dv);
                    }
                    let g = g / nj;
                    let id = batch.pair_ids[q * p + i];
                    self.pos.push(Pos {
                        g,
                        u: f64::from(self.u[id]) * (1.0 - c.gamma0) + g * c.gamma0,
                        sum_dl: sdl,
                    });
                }
            }
        });
        for (k, &id) in batch.pair_ids.iter().enumerate() {
            self.u[id] = self.pos[k].u as f32;
        }
        // K-SONG's per-query statistics with the old λ.
        self.rows.clear();
        self.rows.resize(b, Row::default());
        if let Some(k) = c.topk {
            for q in 0..b {
                let n = batch
                    .items_per_query
                    .map_or(c.num_items as f64, |v| f64::from(v[q]));
                let user = batch.user_ids[q];
                let lam = f64::from(self.lambda_q[user]);
                let inner = &scores[q * l + first..(q + 1) * l];
                let mean_sig = inner
                    .iter()
                    .map(|&x| sigmoid((f64::from(x) - lam) / c.tau_1))
                    .sum::<f64>()
                    / nj;
                let mut hess = 0.0;
                let mut weighted = 0.0;
                for &x in inner {
                    let t = sigmoid((f64::from(x) - lam) / c.tau_1);
                    let temp = t * (1.0 - t) / c.tau_1;
                    hess += temp;
                    weighted += temp * f64::from(x);
                }
                let r = &mut self.rows[q];
                r.lam = lam;
                r.s_new =
                    (hess / nj + c.tau_2) * c.gamma1 + f64::from(self.s_q[user]) * (1.0 - c.gamma1);
                r.h_q = weighted / nj; // divided by the read-back s below
                let grad_lam = lam * c.tau_2 + k as f64 / n - mean_sig;
                r.lam_new = lam - grad_lam * c.eta0;
            }
            for (r, &user) in self.rows.iter().zip(batch.user_ids) {
                self.lambda_q[user] = r.lam_new as f32;
            }
            if c.version == TopkVersion::Theo {
                for (r, &user) in self.rows.iter().zip(batch.user_ids) {
                    self.s_q[user] = r.s_new as f32;
                }
                for (r, &user) in self.rows.iter_mut().zip(batch.user_ids) {
                    r.h_q /= f64::from(self.s_q[user]);
                }
            }
        }
        // Value and gradient.
        let acc = &mut self.acc;
        acc.clear();
        acc.resize(grad.len(), 0.0);
        let mut value = 0.0;
        let ln2 = std::f64::consts::LN_2;
        with_surrogate!(c.surrogate, c.margin, |f| {
            for q in 0..b {
                let n = batch
                    .items_per_query
                    .map_or(c.num_items as f64, |v| f64::from(v[q]));
                let coef = f64::from(batch.num_pos_items[q])
                    / f64::from(batch.ideal_dcg[q])
                    / (b * p) as f64;
                let row = &scores[q * l..(q + 1) * l];
                let lam = self.rows[q].lam;
                let mut d_hq = 0.0;
                for i in 0..p {
                    let pk = self.pos[q * p + i];
                    let gain = 2f64.powf(f64::from(batch.ratings[q * p + i])) - 1.0;
                    let nu = (pk.u * n).max(floor);
                    let log2 = (nu + 1.0).ln() / ln2;
                    let mut nabla = gain * n / (log2 * log2 * (nu + 1.0) * ln2);
                    let mut term = 0.0;
                    if c.topk.is_some() {
                        let sig = sigmoid((f64::from(row[i]) - lam) * c.sigmoid_alpha);
                        nabla *= sig * c.psi_scale;
                        if c.version == TopkVersion::Theo {
                            let d_psi = sig * (1.0 - sig) * c.psi_scale;
                            let f_u = -gain / log2;
                            let e = d_psi * f_u;
                            term = e * (f64::from(row[i]) - self.rows[q].h_q);
                            acc[q * l + i] += coef * e;
                            d_hq -= coef * e;
                        }
                    }
                    value += coef * (nabla * pk.g + term);
                    // ∂g/∂h_i = mean_j dℓ_ij, ∂g/∂h_j = −dℓ_ij / J.
                    let w = coef * nabla / nj;
                    acc[q * l + i] += w * pk.sum_dl;
                    for (j, &x) in row[first..].iter().enumerate() {
                        let (_, dv) = f.both(row[i] - x);
                        acc[q * l + first + j] -= w * f64::from(dv);
                    }
                }
                self.rows[q].d_hq = d_hq;
            }
        });
        if c.topk.is_some() && c.version == TopkVersion::Theo {
            for (q, (r, &user)) in self.rows.iter().zip(batch.user_ids).enumerate() {
                let s = f64::from(self.s_q[user]);
                let lam = r.lam;
                for j in first..l {
                    let x = f64::from(scores[q * l + j]);
                    let t = sigmoid((x - lam) / c.tau_1);
                    let temp = t * (1.0 - t) / c.tau_1;
                    acc[q * l + j] += r.d_hq * temp / (nj * s);
                }
            }
        }
        for (g, a) in grad.iter_mut().zip(acc.iter()) {
            *g = *a as f32;
        }
        Ok(value)
    }
}
