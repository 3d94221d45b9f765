//! `PairwiseAucLoss` (spec `libauc_spec.md` §2.11): the plain pairwise AUC surrogate
//! `mean_{i∈pos, j∈neg} ℓ(h_i − h_j)` over the batch's P×N grid — the burn adapter of
//! [`xrisk_kernels::pairwise`]. Stateless; works with any optimizer. Default surrogate:
//! logistic with scale 1 (LibAUC's code default; its docstring says squared hinge, spec §11 #11).

use super::{host, inject};
use crate::error::Result;
use crate::surrogate::Surrogate;
use burn::tensor::Tensor;
use xrisk_kernels::pairwise::{PairwiseAucConfig, PairwiseAucKernel};

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
        let c = PairwiseAucConfig::default();
        PairwiseAucLoss {
            surrogate: c.surrogate,
            hparam: c.hparam,
        }
    }
}

impl PairwiseAucLoss {
    /// Mean surrogate over all positive–negative pairs of the batch.
    pub fn forward(&self, h: Tensor<1>, labels: &[f32]) -> Result<Tensor<1>> {
        let mut kernel = PairwiseAucKernel::new(PairwiseAucConfig {
            surrogate: self.surrogate,
            hparam: self.hparam,
        })?;
        let hv = host(&h);
        let mut g = vec![0.0f32; hv.len()];
        let v = kernel.forward(&hv, labels, &mut g)?;
        Ok(inject(h, g, v))
    }
}
