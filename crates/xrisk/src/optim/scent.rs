//! SCENT's optimizer (spec `libauc_spec.md` §3.8): PyTorch's SGD (lr, momentum, dampening,
//! Nesterov, weight decay) for large sparse classifier matrices, where a batch touches only
//! a few rows — weight decay is added only when the gradient tensor has a non-zero entry,
//! the momentum buffer moves only in rows with a non-zero gradient, and the step uses the
//! whole buffer (so rows outside the batch keep moving with their stale momentum, as in
//! LibAUC 2.0.1). Pairs with [`crate::loss::EntLossClassification`].

use super::{ProximalOptimizer, SkeletonConfig, UpdateRule};

/// Settings of the SCENT optimizer (torch SGD's argument names; lr has no default there, the
/// LibAUC example uses 0.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScentConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum μ (0).
    pub momentum: f64,
    /// Dampening (0).
    pub dampening: f64,
    /// Nesterov (false).
    pub nesterov: bool,
    /// L2 weight decay (0).
    pub weight_decay: f64,
}

impl Default for ScentConfig {
    fn default() -> Self {
        ScentConfig {
            lr: 0.1,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

impl ScentConfig {
    /// Checks every setting against its domain ([`super::SkeletonConfig::validate`]); the
    /// error names the field.
    pub fn validate(&self) -> crate::error::Result<()> {
        self.init().config.validate()
    }

    /// The skeleton with the sparse-row SGD rule.
    pub fn init(self) -> ProximalOptimizer {
        ProximalOptimizer::new(SkeletonConfig {
            lr: self.lr,
            rule: UpdateRule::SparseRowSgd {
                momentum: self.momentum,
                dampening: self.dampening,
                nesterov: self.nesterov,
            },
            clip_value: None,
            weight_decay: self.weight_decay,
            decoupled_weight_decay: 0.0,
            epoch_decay: 0.0,
        })
    }
}
