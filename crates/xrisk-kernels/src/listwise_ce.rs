//! Listwise cross-entropy (ListNet's top-one probability) as a finite-sum coupled
//! compositional objective — the warm-up loss of SONG (`ListwiseCELoss`, spec
//! `libauc_spec.md` §2.13, `bilevel_ndcg_spec.md` §3.6).
//!
//! `F(w) = mean_{(q,i)} log mean_j exp(h_qj − h_qi)` over relevant pairs `(q, i)` and the
//! sampled negatives `j` of query `q`. State: `ln u` per relevant pair (−∞ before the first
//! visit), `u_qi ← (1−γ)·u_qi + γ·mean_j exp(h_qj − h_qi)` computed in log space. Returned:
//! `Σ_{(q,i),j} (h_qj − h_qi)·exp(h_qj − h_qi)/u_qi / B` (weights constant), whose gradient is
//! the compositional estimator.
//!
//! Difference from LibAUC 2.0.1: LibAUC shifts the exponents by the batch-wide maximum margin,
//! so consecutive batches add terms of different scales into the same `u`. xrisk keeps `u` on
//! one scale and stores `ln u` (no overflow for any margin); on a first call from a zero state
//! both give the same value and gradient. A pair id repeated in one batch keeps its last update;
//! each row uses its own. Cost: two passes over the `B·num_pos × num_neg` margins.

use crate::check;
use crate::error::{KernelError, Result};

/// Settings of the listwise CE loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ListwiseCeConfig {
    /// Number of relevant (query, item) pairs: the size of the state table.
    pub n_pairs: usize,
    /// Positives per query in a batch (the first `num_pos` columns of the scores).
    pub num_pos: usize,
    /// Moving-average weight γ (LibAUC tutorial: 0.1).
    pub gamma: f64,
}

impl ListwiseCeConfig {
    /// γ = 0.1, the LibAUC tutorial's warm-up setting.
    pub fn new(n_pairs: usize, num_pos: usize) -> Self {
        ListwiseCeConfig {
            n_pairs,
            num_pos,
            gamma: 0.1,
        }
    }

    /// Checks the settings: `0 < gamma ≤ 1`, `num_pos ≥ 1`.
    pub fn validate(&self) -> Result<()> {
        check::in_range(
            "gamma",
            self.gamma,
            f64::MIN_POSITIVE,
            1.0,
            "must be in (0, 1]",
        )?;
        check::in_range(
            "num_pos",
            self.num_pos as f64,
            1.0,
            f64::MAX,
            "must be at least 1",
        )
    }
}

/// The listwise CE kernel with one state entry per relevant pair.
#[derive(Debug, Clone)]
pub struct ListwiseCeKernel {
    config: ListwiseCeConfig,
    log_u: Vec<f32>,
    new: Vec<f64>,
}

impl ListwiseCeKernel {
    /// A kernel with empty state; errors on a bad setting or a table that cannot be allocated.
    pub fn new(config: ListwiseCeConfig) -> Result<Self> {
        config.validate()?;
        Ok(ListwiseCeKernel {
            config,
            log_u: check::table("n_pairs", config.n_pairs, f32::NEG_INFINITY)?,
            new: Vec::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &ListwiseCeConfig {
        &self.config
    }

    /// `ln u` per relevant pair (−∞ before the first visit).
    pub fn log_u(&self) -> &[f32] {
        &self.log_u
    }

    /// Replaces the state (a checkpoint).
    pub fn load_state(&mut self, log_u: &[f32]) -> Result<()> {
        check::load("log_u", &mut self.log_u, log_u)
    }

    /// Updates the batch's relevant pairs and returns the surrogate. `scores` is `[B, L]`
    /// row-major with `L = width` (first `num_pos` columns: the query's sampled relevant items,
    /// the rest its sampled negatives); `pair_ids` holds the relevant-pair id of each positive
    /// column, row by row. Writes `∂value/∂scores` into `grad`.
    pub fn forward(
        &mut self,
        scores: &[f32],
        width: usize,
        pair_ids: &[usize],
        grad: &mut [f32],
    ) -> Result<f64> {
        let c = self.config;
        let p = c.num_pos;
        let (b, l) =
            crate::ranking::check_scores("ListwiseCeLoss", scores, width, p, pair_ids, grad.len())?;
        if l <= p {
            return Err(KernelError::InvalidConfig {
                name: "ListwiseCeLoss columns",
                value: l as f64,
                reason: "needs negatives after the num_pos positive columns",
            });
        }
        check::ids(pair_ids, c.n_pairs)?;
        let nneg = (l - p) as f64;
        let (lg1, lg) = ((1.0 - c.gamma).ln(), c.gamma.ln());
        self.new.clear();
        // ln u_new = logaddexp(ln u_old + ln(1−γ), ln mean_j exp(margin) + ln γ)
        for (r, &id) in pair_ids.iter().enumerate() {
            let row = &scores[(r / p) * l..(r / p + 1) * l];
            let hi = f64::from(row[r % p]);
            let mx = row[p..]
                .iter()
                .fold(f64::NEG_INFINITY, |m, &x| m.max(f64::from(x) - hi));
            let s: f64 = row[p..]
                .iter()
                .map(|&x| (f64::from(x) - hi - mx).exp())
                .sum();
            let lme = (s / nneg).ln() + mx;
            let (x, y) = (f64::from(self.log_u[id]) + lg1, lme + lg);
            let m = x.max(y);
            self.new.push(((x - m).exp() + (y - m).exp()).ln() + m);
        }
        for (&id, &v) in pair_ids.iter().zip(&self.new) {
            self.log_u[id] = v as f32;
        }
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut value = 0.0;
        let inv_b = 1.0 / b as f64;
        for (r, &lu) in self.new.iter().enumerate() {
            let base = (r / p) * l;
            let i = base + r % p;
            let hi = f64::from(scores[i]);
            let mut gi = 0.0;
            for j in base + p..base + l {
                let margin = f64::from(scores[j]) - hi;
                let w = (margin - lu).exp();
                value += margin * w;
                grad[j] = (f64::from(grad[j]) + w * inv_b) as f32;
                gi += w;
            }
            grad[i] = (f64::from(grad[i]) - gi * inv_b) as f32;
        }
        Ok(value * inv_b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_margins_do_not_overflow_and_the_state_stays_on_one_scale() {
        let mut k = ListwiseCeKernel::new(ListwiseCeConfig::new(2, 1)).unwrap();
        let mut g = [0.0f32; 6];
        let v = k
            .forward(&[0.0, 200.0, 150.0, 0.0, -3.0, 1.0], 3, &[0, 1], &mut g)
            .unwrap();
        assert!(v.is_finite(), "{v}");
        // ln(0.1 · mean(e^200, e^150)) ≈ 200 − ln 2 + ln 0.1
        assert!((k.log_u()[0] - (200.0 - 2f32.ln() + 0.1f32.ln())).abs() < 1e-3);
        assert!(g.iter().all(|x| x.is_finite()));
    }
}
