//! NDCG surrogates: SONG (full-list NDCG) and K-SONG (top-K NDCG), spec `libauc_spec.md`
//! §2.14 and `bilevel_ndcg_spec.md` §3.2–§3.9.
//!
//! Per relevant pair `(q, i)` the rank surrogate `g_qi = mean_j ℓ(m, h_qi − h_qj)` over the
//! batch's items `j` of query `q` (its sampled positives included, as in LibAUC) is tracked by
//! `u_qi ← (1−γ₀)·u_qi + γ₀·g_qi`, and the outer function
//! `f(u) = −(2^y − 1)/log₂(1 + n·u)` (n = number of items) has the derivative
//! `f′(u) = (2^y − 1)·n / (ln 2 · (1 + n·u) · log₂²(1 + n·u))`. SONG returns
//! `mean_q[ N_q⁺ · mean_i(f′(u_qi)·g_qi) / IDCG_q ]`, whose gradient is the compositional
//! estimator.
//!
//! K-SONG (`topk = Some(K)`) also tracks a per-query threshold `λ_q` by one gradient step on
//! the smoothed top-K problem, `∇λ = K/n + τ₂·λ − mean_j σ((h_j − λ)/τ₁)`, with the scores'
//! differences `d = sg(h) − λ_old`, and weights every positive by `ψ = c_ψ·σ(α·d_i)`:
//! * `Prac`: ψ as a constant weight on SONG's gradient (stop-gradient);
//! * `Theo`: adds the implicit-gradient term `ψ′·f(u)·(h_i − H_q)` with
//!   `ψ′ = c_ψ·σ(α d)(1 − σ(α d))` (LibAUC's form, without the factor α),
//!   `H_q = mean_j(c_j·h_j)/s_q`, `c_j = σ(d_j/τ₁)(1−σ(d_j/τ₁))/τ₁` and the scalar Hessian
//!   tracker `s_q ← γ₁·(τ₂ + mean_j c_j) + (1−γ₁)·s_q`.
//!
//! The items `j` are every column of the batch row by default (LibAUC); with
//! [`InnerSample::AfterPositives`] they are only the columns after the positives, a uniform
//! sample of the query's items (the papers' estimator), and the λ step and Hessian tracker use
//! the same columns.
//!
//! Defaults are LibAUC 2.0.1's. Differences: `n·u` is floored at 1e-12 before the logarithm
//! (LibAUC divides by zero when a pair's `u` is 0, which its self-pair term prevents only for
//! margins > 0; with the uniform sample, which has no self term, the floor is rank 1), and `c_ψ` (the paper's ψ scale, absent in LibAUC) defaults to 1.

use super::check_ranking_scores;
use crate::error::{Result, XriskError};
use crate::state::StateTable;
use crate::surrogate::Surrogate;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};

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
    /// Every column, the sampled positives included (LibAUC 2.0.1). Positives are
    /// over-represented relative to the catalogue, which also biases λ_q's quantile upward.
    AllColumns,
    /// Only the columns after the `num_pos` positives, which the caller draws uniformly from
    /// the query's items (the papers' estimator: `B_q` uniform from `S_q`).
    AfterPositives,
}

/// Settings of [`NdcgLoss`] (LibAUC 2.0.1 names and defaults).
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
    /// `N_q`, the number of candidate items of each row's query, `B` (learning to rank, where
    /// every query has its own list); `None` uses the config's `num_items` for every query
    /// (recommendation: the catalogue).
    pub items_per_query: Option<&'a [f32]>,
}

/// SONG / K-SONG with their per-pair and per-query state.
#[derive(Debug, Clone)]
pub struct NdcgLoss {
    /// Settings.
    pub config: NdcgConfig,
    u: StateTable,
    lambda_q: StateTable,
    s_q: StateTable,
}

fn host(v: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v.to_vec(), shape), device)
}

impl NdcgLoss {
    /// A loss with zero state on `device`.
    pub fn new(config: NdcgConfig, device: &Device) -> Self {
        NdcgLoss {
            config,
            u: StateTable::new(config.n_pairs, 0.0, device),
            lambda_q: StateTable::new(config.num_users + 1, 0.0, device),
            s_q: StateTable::new(config.num_users + 1, 0.0, device),
        }
    }

    /// The state `(u per pair, λ per query, s per query)`.
    pub fn state(&self) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        (self.u.to_vec(), self.lambda_q.to_vec(), self.s_q.to_vec())
    }

    /// Sets the thresholds `λ_q` of `users` (e.g. to the warm-up model's K-th scores).
    pub fn set_thresholds(&mut self, users: &[usize], values: &[f32]) -> Result<()> {
        self.lambda_q.check_ids(users)?;
        if users.len() != values.len() {
            return Err(XriskError::LengthMismatch {
                scores: values.len(),
                labels: values.len(),
                ids: users.len(),
            });
        }
        let device = self.lambda_q.device();
        self.lambda_q.set(
            users,
            Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), &device),
        );
        Ok(())
    }

    /// Updates the state of the batch's pairs and queries and returns the surrogate.
    pub fn forward(&mut self, scores: Tensor<2>, batch: &RankingBatch) -> Result<Tensor<1>> {
        let c = self.config;
        let [b, _] = scores.dims();
        let p = c.num_pos;
        check_ranking_scores("NdcgLoss", &scores, p, batch.pair_ids)?;
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
                return Err(XriskError::InvalidConfig {
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
            return Err(XriskError::InvalidConfig {
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
            return Err(XriskError::InvalidConfig {
                name: "ratings",
                value: f64::from(v),
                reason: "ratings must be finite and ≥ 0",
            });
        }
        self.u.check_ids(batch.pair_ids)?;
        self.lambda_q.check_ids(batch.user_ids)?;
        let device = scores.device();
        let pos = scores.clone().slice([0..b, 0..p]);
        let width = scores.dims()[1];
        let inner = match c.inner_sample {
            InnerSample::AllColumns => scores.clone(),
            InnerSample::AfterPositives if width > p => scores.clone().slice([0..b, p..width]),
            InnerSample::AfterPositives => {
                return Err(XriskError::InvalidConfig {
                    name: "inner_sample",
                    value: width as f64,
                    reason: "estimating from the columns after the positives needs more than num_pos columns",
                });
            }
        };
        let diff = pos.clone().unsqueeze_dim::<3>(2) - inner.clone().unsqueeze_dim::<3>(1);
        let g = c
            .surrogate
            .apply(c.margin, diff)
            .mean_dim(2)
            .squeeze_dim::<2>(2);
        let gains: Vec<f32> = batch.ratings.iter().map(|r| 2f32.powf(*r) - 1.0).collect();
        let gain = host(&gains, [b, p], &device);
        let old = self
            .u
            .get(batch.pair_ids)
            .to_device(&device)
            .reshape([b, p]);
        let u = old * (1.0 - c.gamma0) + g.clone().detach() * c.gamma0;
        self.u.set(batch.pair_ids, u.clone().reshape([b * p]));
        // n per row: the catalogue, or each query's own list length.
        let n: Tensor<2> = match batch.items_per_query {
            Some(v) => host(v, [b, 1], &device),
            None => Tensor::full([b, 1], c.num_items as f32, &device),
        };
        // The rank counts the item itself (r ≥ 1). LibAUC's columns include the positive, so
        // its self term ℓ(0) keeps n·u away from 0 for margins > 0; the uniform sample does
        // not, so there the floor is the self term's rank, 1.
        let floor = match c.inner_sample {
            InnerSample::AllColumns => 1e-12,
            InnerSample::AfterPositives => 1.0,
        };
        let nu = (u * n.clone()).clamp_min(floor);
        let log2 = (nu.clone() + 1.0).log() / std::f64::consts::LN_2;
        let mut nabla = gain.clone() * n.clone()
            / (log2.clone().square() * (nu + 1.0) * std::f64::consts::LN_2);
        let npi = host(batch.num_pos_items, [b, 1], &device).squeeze_dim::<1>(1);
        let idcg = host(batch.ideal_dcg, [b, 1], &device).squeeze_dim::<1>(1);
        let finish = |per_row: Tensor<1>| (npi.clone() * per_row / idcg.clone()).mean();
        let Some(k) = c.topk else {
            return Ok(finish((nabla * g).mean_dim(1).squeeze_dim::<1>(1)));
        };
        let lam = self
            .lambda_q
            .get(batch.user_ids)
            .to_device(&device)
            .unsqueeze_dim::<2>(1);
        let dpos = scores.clone().detach().slice([0..b, 0..p]) - lam.clone();
        let d = inner.clone().detach() - lam.clone();
        let grad_lam =
            lam.clone() * c.tau_2 + n.recip() * k as f64 - sigmoid(d.clone() / c.tau_1).mean_dim(1);
        self.lambda_q.set(
            batch.user_ids,
            (lam - grad_lam * c.eta0).squeeze_dim::<1>(1),
        );
        let sig = sigmoid(dpos * c.sigmoid_alpha);
        nabla = nabla * sig.clone() * c.psi_scale;
        if c.version == TopkVersion::Prac {
            return Ok(finish((nabla * g).mean_dim(1).squeeze_dim::<1>(1)));
        }
        let d_psi = sig.clone() * (sig.neg() + 1.0) * c.psi_scale;
        let f_u = gain.neg() / log2;
        let t = sigmoid(d / c.tau_1);
        let temp = t.clone() * (t.neg() + 1.0) / c.tau_1;
        let hess = temp.clone().mean_dim(1) + c.tau_2;
        let s_old = self
            .s_q
            .get(batch.user_ids)
            .to_device(&device)
            .unsqueeze_dim::<2>(1);
        let s_new = hess * c.gamma1 + s_old * (1.0 - c.gamma1);
        self.s_q.set(batch.user_ids, s_new.squeeze_dim::<1>(1));
        // Read back: with a repeated query every row sees the value that was kept (LibAUC).
        let s_read = self
            .s_q
            .get(batch.user_ids)
            .to_device(&device)
            .unsqueeze_dim::<2>(1);
        let h_q = (temp * inner).mean_dim(1) / s_read;
        let term = nabla * g + d_psi * f_u * (pos - h_q);
        Ok(finish(term.mean_dim(1).squeeze_dim::<1>(1)))
    }
}

crate::persist::persist_fields!(NdcgLoss; tables: u, lambda_q, s_q; scalars: );

#[cfg(test)]
mod tests {
    use super::*;

    /// One query with 2 relevant pairs.
    const ONE_ROW: RankingBatch<'static> = RankingBatch {
        ratings: &[2.0, 1.0],
        user_ids: &[0],
        pair_ids: &[0, 1],
        num_pos_items: &[2.0],
        ideal_dcg: &[3.5],
        items_per_query: None,
    };

    fn one_call(inner_sample: InnerSample) -> Vec<f32> {
        let device = Device::flex();
        let config = NdcgConfig {
            gamma0: 1.0,
            inner_sample,
            ..NdcgConfig::new(2, 1, 10, 2)
        };
        let mut loss = NdcgLoss::new(config, &device);
        // One row: 2 positives, then 3 items.
        let scores = host(&[0.5, -0.2, 0.1, 0.9, -1.0], [1, 5], &device);
        loss.forward(scores, &ONE_ROW).unwrap();
        loss.state().0
    }

    /// `u` after one call with γ₀ = 1 is the surrogate mean over the chosen columns.
    #[test]
    fn inner_sample_picks_the_columns_of_the_rank_estimate() {
        let h = [0.5f64, -0.2, 0.1, 0.9, -1.0];
        let sq = |hi: f64, hj: f64| (1.0 - (hi - hj)).max(0.0).powi(2);
        let mean = |i: usize, cols: std::ops::Range<usize>| {
            let n = cols.len() as f64;
            cols.map(|j| sq(h[i], h[j])).sum::<f64>() / n
        };
        for (inner, cols) in [
            (InnerSample::AllColumns, 0..5),
            (InnerSample::AfterPositives, 2..5),
        ] {
            let u = one_call(inner);
            for (i, got) in u.iter().enumerate() {
                let want = mean(i, cols.clone());
                assert!(
                    (f64::from(*got) - want).abs() < 1e-6,
                    "{inner:?} pair {i}: u {got} want {want}"
                );
            }
        }
    }

    #[test]
    fn after_positives_needs_columns_after_the_positives() {
        let device = Device::flex();
        let config = NdcgConfig {
            inner_sample: InnerSample::AfterPositives,
            ..NdcgConfig::new(2, 1, 10, 2)
        };
        let mut loss = NdcgLoss::new(config, &device);
        let err = loss
            .forward(host(&[0.5, -0.2], [1, 2], &device), &ONE_ROW)
            .unwrap_err();
        assert!(err.to_string().contains("inner_sample"), "{err}");
    }
}
