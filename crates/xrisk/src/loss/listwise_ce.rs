//! Listwise cross-entropy (ListNet's top-one probability) as a finite-sum coupled
//! compositional objective — the warm-up loss of SONG (spec `libauc_spec.md` §2.13,
//! `bilevel_ndcg_spec.md` §3.6):
//!
//! `F(w) = mean_{(q,i)} log mean_{j} exp(h_qj − h_qi)` over relevant pairs `(q, i)` and the
//! sampled items `j` of query `q`, with one moving average per relevant pair
//! `u_qi ← (1−γ)·u_qi + γ·mean_j exp(h_qj − h_qi)`; the returned surrogate
//! `Σ_{(q,i),j} (h_qj − h_qi) · sg(exp(h_qj − h_qi) / u_qi) / B` has the compositional
//! gradient `Σ_j (∇h_j − ∇h_i)·exp(h_j − h_i)/u_qi`.
//!
//! Difference from LibAUC 2.0.1: LibAUC shifts the exponents by the batch-wide maximum
//! margin, so consecutive batches add terms of different scales into the same `u`. xrisk keeps
//! `u` on one scale and stores `ln u` (no overflow for any margin); on a first call from a
//! zero state both give the same value and gradient. LibAUC's `eps` is not needed.

use super::check_ranking_scores;
use crate::error::{Result, XriskError};
use crate::state::StateTable;
use burn::tensor::{Device, Tensor};

/// Settings of [`ListwiseCeLoss`].
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
}

/// The listwise cross-entropy loss with one state entry per relevant pair.
#[derive(Debug, Clone)]
pub struct ListwiseCeLoss {
    /// Settings.
    pub config: ListwiseCeConfig,
    /// `ln u` per relevant pair (−∞ before the first visit).
    log_u: StateTable,
}

impl ListwiseCeLoss {
    /// A loss with empty state on `device`.
    pub fn new(config: ListwiseCeConfig, device: &Device) -> Self {
        ListwiseCeLoss {
            config,
            log_u: StateTable::new(config.n_pairs, f32::NEG_INFINITY, device),
        }
    }

    /// The moving averages `u` per relevant pair (0 before the first visit).
    pub fn state(&self) -> Vec<f32> {
        self.log_u.to_vec().into_iter().map(f32::exp).collect()
    }

    /// Updates the state of the batch's relevant pairs and returns the surrogate.
    ///
    /// `scores` is `[B, num_pos + num_neg]` (first `num_pos` columns: the sampled relevant
    /// items of each query, the rest: its sampled negatives); `pair_ids` holds the
    /// relevant-pair id of each positive column, row by row (`B·num_pos` ids).
    pub fn forward(&mut self, scores: Tensor<2>, pair_ids: &[usize]) -> Result<Tensor<1>> {
        let [b, l] = scores.dims();
        let p = self.config.num_pos;
        check_ranking_scores("ListwiseCeLoss", &scores, p, pair_ids)?;
        if l <= p {
            return Err(XriskError::InvalidConfig {
                name: "ListwiseCeLoss columns",
                value: l as f64,
                reason: "needs negatives after the num_pos positive columns",
            });
        }
        self.log_u.check_ids(pair_ids)?;
        let device = scores.device();
        let pos = scores.clone().slice([0..b, 0..p]).reshape([b * p, 1]);
        let neg = scores
            .slice([0..b, p..l])
            .unsqueeze_dim::<3>(1)
            .expand([b, p, l - p])
            .reshape([b * p, l - p]);
        let margin = neg - pos;
        let md = margin.clone().detach();
        // ln mean_j exp(margin_ij), computed stably.
        let mx = md.clone().max_dim(1);
        let lme = (md.clone() - mx.clone()).exp().mean_dim(1).log() + mx;
        let g = self.config.gamma;
        let old = self
            .log_u
            .get(pair_ids)
            .to_device(&device)
            .unsqueeze_dim::<2>(1);
        let a = old + (1.0 - g).ln();
        let c = lme + g.ln();
        let m = a.clone().max_pair(c.clone());
        let new = ((a - m.clone()).exp() + (c - m.clone()).exp()).log() + m;
        self.log_u.set(pair_ids, new.clone().squeeze_dim::<1>(1));
        let w = (md - new).exp().detach();
        Ok((margin * w).sum() / b as f64)
    }
}

crate::persist::persist_fields!(ListwiseCeLoss; tables: log_u; scalars: );

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_margins_do_not_overflow_and_the_state_stays_on_one_scale() {
        let d = Device::flex();
        let mut l = ListwiseCeLoss::new(ListwiseCeConfig::new(2, 1), &d);
        let s = Tensor::<2>::from_floats([[0.0, 200.0, 150.0], [0.0, -3.0, 1.0]], &d);
        let v = l.forward(s, &[0, 1]).unwrap().into_scalar::<f32>();
        assert!(v.is_finite(), "{v}");
        let log_u = l.log_u.to_vec();
        // ln(0.1 · mean(e^200, e^150)) ≈ 200 − ln 2 + ln 0.1
        assert!(
            (log_u[0] - (200.0 - 2f32.ln() + 0.1f32.ln())).abs() < 1e-3,
            "{log_u:?}"
        );
    }
}
