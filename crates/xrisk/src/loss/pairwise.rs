//! `PairwiseAucLoss` (spec `libauc_spec.md` §2.11): the plain pairwise AUC surrogate
//! `mean_{i∈pos, j∈neg} ℓ(h_i − h_j)` over the batch's P×N grid. Stateless; works with any
//! optimizer. Default surrogate: logistic with scale 1 (LibAUC's code default; its docstring
//! says squared hinge, spec §11 #11).

use super::pairs;
use crate::error::Result;
use crate::surrogate::Surrogate;
use burn::tensor::Tensor;

/// Pairwise AUC surrogate loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairwiseAucLoss {
    /// Surrogate.
    pub surrogate: Surrogate,
    /// Margin (scale for the logistic surrogate).
    pub hparam: f64,
}

impl Default for PairwiseAucLoss {
    fn default() -> Self {
        PairwiseAucLoss {
            surrogate: Surrogate::Logistic,
            hparam: 1.0,
        }
    }
}

impl PairwiseAucLoss {
    /// Mean surrogate over all positive–negative pairs of the batch.
    pub fn forward(&self, h: Tensor<1>, labels: &[f32]) -> Result<Tensor<1>> {
        Ok(pairs(
            "PairwiseAucLoss",
            h,
            labels,
            None,
            self.surrogate,
            self.hparam,
        )?
        .l
        .mean())
    }
}
