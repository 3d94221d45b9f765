//! The optimizers LibAUC pairs with the global contrastive losses (spec `libauc_spec.md`
//! §3.4–3.5): `SogCLR` and `iSogCLR` (modes `'lars'` and `'adamw'`) and MoCo-v3's `LARS`.
//! All three are the shared skeleton ([`ProximalOptimizer`]):
//!
//! - LARS mode ([`UpdateRule::Lars`]), no clipping: for matrices `g = ∇ + wd·w (+ λ0(w − w_ref))`,
//!   `g ← (trust·‖w‖/‖g‖)·g` (1 when a norm is 0); vectors take `∇` as is; `buf = μ·buf + g`,
//!   `w ← w − lr·buf`.
//! - AdamW mode: `w ← w·(1 − lr·wd)`, `g = clamp(∇, ±clip) (+ λ0(w − w_ref))`, Adam.
//!
//! The temperatures of iSogCLR are not touched here: they live in the loss
//! ([`crate::loss::GclLoss`]), as in LibAUC. The two LibAUC classes differ only in the default
//! momentum (SogCLR 0.9, iSogCLR 0).

use super::{ProximalOptimizer, SkeletonConfig, UpdateRule};
use crate::error::{Result, XriskError};

/// The update mode of [`SogClrConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SogClrMode {
    /// Layer-wise trust-ratio SGD with momentum (LibAUC's default).
    Lars,
    /// Adam with decoupled weight decay and element-wise clipping.
    AdamW,
}

/// Settings of LibAUC's `SogCLR` / `iSogCLR` optimizers (names and defaults as there).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SogClrConfig {
    /// Learning rate (LibAUC requires it; SogCLR's recipe uses `0.075·√batch` with LARS).
    pub lr: f64,
    /// LARS or AdamW.
    pub mode: SogClrMode,
    /// Element-wise gradient clip, AdamW mode only (10.0).
    pub clip_value: f64,
    /// Weight decay (1e-6): coupled in LARS mode (matrices only), decoupled in AdamW mode.
    pub weight_decay: f64,
    /// Epoch-level proximal strength λ0 (0).
    pub epoch_decay: f64,
    /// LARS momentum μ (SogCLR 0.9, iSogCLR 0).
    pub momentum: f64,
    /// LARS trust coefficient (0.001).
    pub trust_coefficient: f64,
    /// Adam β1, β2 ((0.9, 0.999)).
    pub betas: (f64, f64),
    /// Adam ε (1e-8).
    pub eps: f64,
}

impl SogClrConfig {
    /// LibAUC's `SogCLR(params, lr)` defaults: LARS, momentum 0.9.
    pub fn sogclr(lr: f64) -> Self {
        SogClrConfig {
            lr,
            mode: SogClrMode::Lars,
            clip_value: 10.0,
            weight_decay: 1e-6,
            epoch_decay: 0.0,
            momentum: 0.9,
            trust_coefficient: 0.001,
            betas: (0.9, 0.999),
            eps: 1e-8,
        }
    }

    /// LibAUC's `iSogCLR(params, lr)` defaults: as SogCLR with momentum 0.
    pub fn isogclr(lr: f64) -> Self {
        SogClrConfig {
            momentum: 0.0,
            ..Self::sogclr(lr)
        }
    }

    /// MoCo-v3's `LARS(params, lr, weight_decay=0, momentum=0.9, trust_coefficient=0.001)`.
    pub fn lars(lr: f64) -> Self {
        SogClrConfig {
            weight_decay: 0.0,
            ..Self::sogclr(lr)
        }
    }

    /// The skeleton with this mode; errors on a non-positive trust coefficient or learning
    /// rate, a negative weight decay, or β outside `[0, 1)`.
    pub fn init(self) -> Result<ProximalOptimizer> {
        let check = |name, value: f64, ok: bool, reason| {
            if ok {
                Ok(())
            } else {
                Err(XriskError::InvalidConfig {
                    name,
                    value,
                    reason,
                })
            }
        };
        check("lr", self.lr, self.lr >= 0.0, "must be ≥ 0")?;
        check(
            "weight_decay",
            self.weight_decay,
            self.weight_decay >= 0.0,
            "must be ≥ 0",
        )?;
        check(
            "momentum",
            self.momentum,
            (0.0..1.0).contains(&self.momentum),
            "must be in [0, 1)",
        )?;
        let rule = match self.mode {
            SogClrMode::Lars => {
                check(
                    "trust_coefficient",
                    self.trust_coefficient,
                    self.trust_coefficient > 0.0,
                    "must be > 0",
                )?;
                UpdateRule::Lars {
                    momentum: self.momentum,
                    trust_coefficient: self.trust_coefficient,
                }
            }
            SogClrMode::AdamW => {
                for (name, b) in [("beta1", self.betas.0), ("beta2", self.betas.1)] {
                    check(name, b, (0.0..1.0).contains(&b), "must be in [0, 1)")?;
                }
                UpdateRule::Adam {
                    beta1: self.betas.0,
                    beta2: self.betas.1,
                    eps: self.eps,
                }
            }
        };
        let lars = self.mode == SogClrMode::Lars;
        ProximalOptimizer::try_new(SkeletonConfig {
            lr: self.lr,
            rule,
            clip_value: if lars { None } else { Some(self.clip_value) },
            weight_decay: if lars { self.weight_decay } else { 0.0 },
            decoupled_weight_decay: if lars { 0.0 } else { self.weight_decay },
            epoch_decay: self.epoch_decay,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::{Module, Param};
    use burn::optim::GradientsParams;
    use burn::tensor::{Device, Tensor, TensorData};

    #[derive(Module, Debug)]
    struct Two {
        w: Param<Tensor<2>>,
        b: Param<Tensor<1>>,
    }

    #[test]
    fn lars_scales_matrices_by_the_trust_ratio_and_leaves_vectors_alone() {
        let dev = Device::flex();
        let m = Two {
            w: Param::from_tensor(Tensor::from_data(
                TensorData::new(vec![3.0f32, 4.0], [1, 2]),
                &dev,
            )),
            b: Param::from_tensor(Tensor::from_data(TensorData::new(vec![1.0f32], [1]), &dev)),
        };
        let mut grads = GradientsParams::new();
        grads.register(
            m.w.id,
            Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 1.0], [1, 2]), &dev),
        );
        grads.register(
            m.b.id,
            Tensor::<1>::from_data(TensorData::new(vec![2.0f32], [1]), &dev),
        );
        let mut opt = SogClrConfig {
            weight_decay: 0.5,
            ..SogClrConfig::sogclr(0.1)
        }
        .init()
        .unwrap();
        let m = opt.step(m, &mut grads);
        // g = (0,1) + 0.5·(3,4) = (1.5, 3); ‖w‖ = 5, ‖g‖ = √11.25; q = 0.001·5/√11.25.
        let q = 0.001 * 5.0 / 11.25f64.sqrt();
        let w: Vec<f32> = m.w.val().into_data().try_to_vec::<f32>().unwrap();
        assert!((w[0] as f64 - (3.0 - 0.1 * q * 1.5)).abs() < 1e-6, "{w:?}");
        assert!((w[1] as f64 - (4.0 - 0.1 * q * 3.0)).abs() < 1e-6, "{w:?}");
        // The bias: raw gradient, no decay: 1 − 0.1·2.
        let b: Vec<f32> = m.b.val().into_data().try_to_vec::<f32>().unwrap();
        assert!((b[0] - 0.8).abs() < 1e-6, "{b:?}");
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(
            SogClrConfig {
                trust_coefficient: 0.0,
                ..SogClrConfig::lars(0.1)
            }
            .init()
            .is_err()
        );
        assert!(SogClrConfig::isogclr(-1.0).init().is_err());
    }
}
