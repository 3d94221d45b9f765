//! The plain pairwise AUC surrogate (`PairwiseAUCLoss`, spec `libauc_spec.md` §2.11):
//! `value = mean_{i∈pos, j∈neg} ℓ(h_i − h_j)` over the batch's `P × N` grid. Stateless; any
//! optimizer. Default surrogate: logistic with scale 1 (LibAUC's code default; its docstring
//! says squared hinge, spec §11 #11). Cost: one pass over the pairs.

use crate::check;
use crate::error::Result;
use crate::pairs::PairBatch;
use crate::par::rows_cols;
use crate::simd::row_sums_col;
use crate::surrogate::{Surr, Surrogate};
use crate::with_surrogate;

/// Settings of the pairwise AUC loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairwiseAucConfig {
    /// Surrogate.
    pub surrogate: Surrogate,
    /// Margin (scale for the logistic surrogate).
    pub hparam: f64,
}

impl Default for PairwiseAucConfig {
    fn default() -> Self {
        PairwiseAucConfig {
            surrogate: Surrogate::Logistic,
            hparam: 1.0,
        }
    }
}

impl PairwiseAucConfig {
    /// Checks the settings: a finite parameter.
    pub fn validate(&self) -> Result<()> {
        check::finite_setting("hparam", self.hparam)
    }
}

/// The pairwise AUC kernel (buffers only; no state).
#[derive(Debug, Clone, Default)]
pub struct PairwiseAucKernel {
    config: PairwiseAucConfig,
    batch: PairBatch,
    rows: Vec<(f64, f64)>,
}

impl PairwiseAucKernel {
    /// A kernel; errors on a bad setting.
    pub fn new(config: PairwiseAucConfig) -> Result<Self> {
        config.validate()?;
        Ok(PairwiseAucKernel {
            config,
            ..Default::default()
        })
    }

    /// The settings.
    pub fn config(&self) -> &PairwiseAucConfig {
        &self.config
    }

    /// The mean surrogate over the batch's positive–negative pairs; writes `∂value/∂scores`.
    pub fn forward(&mut self, scores: &[f32], labels: &[f32], grad: &mut [f32]) -> Result<f64> {
        let c = self.config;
        let b = &mut self.batch;
        b.prepare("PairwiseAucLoss", scores, labels, None, grad.len())?;
        let (p, n) = (b.hp.len(), b.hn.len());
        self.rows.clear();
        self.rows.resize(p, (0.0, 0.0));
        let (hp, hn) = (&b.hp, &b.hn);
        with_surrogate!(c.surrogate, c.hparam, |f| {
            rows_cols(&mut self.rows, n, &mut b.par, &mut b.cols, |k, r, col| {
                let hk = hp[k];
                let [gi, v] = row_sums_col(
                    hn,
                    hn,
                    col,
                    #[inline(always)]
                    |hj, _| {
                        let (l, dl) = f.both(hk - hj);
                        ([dl, l], dl)
                    },
                );
                *r = (gi, v);
            });
        });
        let norm = 1.0 / (p * n) as f64;
        b.scatter(self.rows.iter().map(|r| r.0), norm, grad);
        Ok(self.rows.iter().map(|r| r.1).sum::<f64>() * norm)
    }
}
