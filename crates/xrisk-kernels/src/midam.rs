//! MIDAM — multiple-instance AUC with stochastic pooling (`MIDAMLoss`, spec `libauc_spec.md`
//! §2.16, §3.7). A bag's score is a pooling of its instances' scores; MIDAM samples a few
//! instances per bag and keeps a per-bag moving average of the pooling's inner mean, so that
//! the AUC min-max objective of the pooled scores `v` gets a consistent gradient. The kernel
//! takes the pooled statistics of the sampled instances (one value per bag, computed by the
//! framework with gradient) and returns the gradient with respect to them.
//!
//! **Softmax (smoothed-max) pooling**, `v = τ·ln mean_x exp(φ(x)/τ)`. Input per bag:
//! `y = mean_{sampled x} exp(φ(x)/τ)` (> 0). State `s` (0 at the start):
//! `s ← (1−γ)s + γ·y`, `v = τ·ln s`, `r = y/s`.
//!
//! **Attention pooling**, `v = σ(Σ w(x)φ(x) / Σ w(x))`. Input per bag: `sn = mean w·φ`,
//! `sd = mean w` over the sampled instances. State `s_n`, `s_d` (1 at the start), moving
//! averages of them; `d = max(s_d, 1e-8)`, `v = σ(s_n/d)`, `r = v(1−v)·(sn/d − s_n·sd/d²)`.
//!
//! Then, with `c = τ` (softmax) or 1 (attention), `a`, `b` primal and `α` dual (inputs):
//!
//! ```text
//! value = mean_pos[2c(v − a)·r] + mean_neg[2c(v − b)·r] + α·c·(mean_neg r − mean_pos r)
//!       + mean_pos(v − a)² + mean_neg(v − b)²          (v and the weights constant)
//! ```
//!
//! A bag id repeated in one batch keeps its last update and every row reads the kept value.
//! The margin enters only the optimizer's α step. `update_smoothing(f)` divides γ by `f`.

use crate::check::{self, Split};
use crate::error::{KernelError, Result};

/// Which stochastic pooling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MidamPooling {
    /// Smoothed-max pooling with temperature τ (LibAUC default 0.1).
    Softmax {
        /// τ.
        tau: f64,
    },
    /// Attention pooling.
    Attention,
}

/// Settings of the MIDAM loss (LibAUC 2.0.1 defaults: margin 1, γ 0.9).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MidamConfig {
    /// Number of training bags (the size of the state).
    pub data_len: usize,
    /// AUC margin `m` (1.0), used by the optimizer's α step.
    pub margin: f64,
    /// Moving-average weight γ (0.9).
    pub gamma: f64,
    /// The pooling.
    pub pooling: MidamPooling,
}

impl MidamConfig {
    /// LibAUC's defaults for `data_len` bags and `pooling`.
    pub fn new(data_len: usize, pooling: MidamPooling) -> Self {
        MidamConfig {
            data_len,
            margin: 1.0,
            gamma: 0.9,
            pooling,
        }
    }

    /// Checks the settings: `0 < gamma ≤ 1`, a finite margin, `tau > 0`.
    pub fn validate(&self) -> Result<()> {
        check::in_range(
            "gamma",
            self.gamma,
            f64::MIN_POSITIVE,
            1.0,
            "must be in (0, 1]",
        )?;
        check::finite_setting("margin", self.margin)?;
        if let MidamPooling::Softmax { tau } = self.pooling {
            check::positive("tau", tau, "the pooling temperature must be > 0")?;
        }
        Ok(())
    }
}

/// A batch of bags' pooled statistics (one entry per bag).
#[derive(Debug, Clone, Copy)]
pub enum MidamInput<'a> {
    /// Softmax pooling: `mean_{sampled x} exp(φ(x)/τ)` per bag.
    Softmax(&'a [f32]),
    /// Attention pooling: `sn = mean w·φ` and `sd = mean w` per bag.
    Attention {
        /// Weighted score means.
        sn: &'a [f32],
        /// Weight means (> 0).
        sd: &'a [f32],
    },
}

/// Where the gradient goes: `∂value/∂y` (softmax), or `∂value/∂sn` and `∂value/∂sd`.
#[derive(Debug)]
pub enum MidamGrad<'a> {
    /// Softmax pooling.
    Softmax(&'a mut [f32]),
    /// Attention pooling.
    Attention {
        /// `∂value/∂sn`.
        sn: &'a mut [f32],
        /// `∂value/∂sd`.
        sd: &'a mut [f32],
    },
}

/// The value and the derivatives with respect to `a` and `b`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MidamOutput {
    /// The value.
    pub value: f64,
    /// `∂value/∂a`.
    pub d_a: f64,
    /// `∂value/∂b`.
    pub d_b: f64,
}

/// The MIDAM kernel with its per-bag moving averages.
#[derive(Debug, Clone)]
pub struct MidamKernel {
    config: MidamConfig,
    /// Softmax: `s`; attention: `s_n`.
    num: Vec<f32>,
    /// Attention: `s_d`; empty for softmax.
    den: Vec<f32>,
    split: Split,
    rows: Vec<Row>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Row {
    /// The EMA of the first input (softmax: `s`; attention: `s_n`), then the value read back.
    num: f64,
    /// The EMA of `sd` (attention).
    den: f64,
    /// The pooled score `v`.
    v: f64,
    /// `r`.
    r: f64,
    /// `∂r/∂y` (softmax) or `∂r/∂sn` (attention).
    dr1: f64,
    /// `∂r/∂sd` (attention).
    dr2: f64,
}

impl MidamKernel {
    /// A kernel with LibAUC's initial state; errors on a bad setting or tables that cannot be
    /// allocated.
    pub fn new(config: MidamConfig) -> Result<Self> {
        config.validate()?;
        let n = config.data_len;
        let (num, den) = match config.pooling {
            MidamPooling::Softmax { .. } => (check::table("data_len", n, 0.0)?, Vec::new()),
            MidamPooling::Attention => (
                check::table("data_len", n, 1.0)?,
                check::table("data_len", n, 1.0)?,
            ),
        };
        Ok(MidamKernel {
            config,
            num,
            den,
            split: Split::default(),
            rows: Vec::new(),
        })
    }

    /// The settings (γ changes with [`MidamKernel::update_smoothing`]).
    pub fn config(&self) -> &MidamConfig {
        &self.config
    }

    /// Divides γ by `decay_factor` (LibAUC's `update_smoothing`, at the decay epochs).
    pub fn update_smoothing(&mut self, decay_factor: f64) -> Result<()> {
        check::positive("decay_factor", decay_factor, "must be > 0")?;
        self.config.gamma /= decay_factor;
        Ok(())
    }

    /// Sets γ (a checkpoint).
    pub fn set_gamma(&mut self, gamma: f64) -> Result<()> {
        let c = MidamConfig {
            gamma,
            ..self.config
        };
        c.validate()?;
        self.config = c;
        Ok(())
    }

    /// The per-bag state: softmax `(s, [])`, attention `(s_n, s_d)`.
    pub fn state(&self) -> (&[f32], &[f32]) {
        (&self.num, &self.den)
    }

    /// Replaces the state (a checkpoint).
    pub fn load_state(&mut self, num: &[f32], den: &[f32]) -> Result<()> {
        check::load("num", &mut self.num, num)?;
        check::load("den", &mut self.den, den)
    }

    /// Updates the batch's bag state and returns the value whose gradient is MIDAM's. `labels`
    /// are 0/1 per bag (both classes), `ids` the bags' indices, `(a, b, α)` the loss's scalars;
    /// the gradient with respect to the input goes into `grad` (same variant as `input`).
    pub fn forward(
        &mut self,
        input: MidamInput,
        labels: &[f32],
        ids: &[usize],
        (a, b, alpha): (f64, f64, f64),
        grad: MidamGrad,
    ) -> Result<MidamOutput> {
        let c = self.config;
        let (x1, x2) = match input {
            MidamInput::Softmax(y) => (y, None),
            MidamInput::Attention { sn, sd } => (sn, Some(sd)),
        };
        let n = x1.len();
        if x2.is_some_and(|sd| sd.len() != n) {
            return Err(KernelError::LengthMismatch {
                scores: n,
                labels: labels.len(),
                ids: x2.map_or(n, <[f32]>::len),
            });
        }
        check::lengths(n, labels.len(), Some(ids.len()))?;
        self.split.fill("MidamLoss", labels, true)?;
        check::ids(ids, c.data_len)?;
        check::finite("MidamLoss", x1)?;
        if let Some(sd) = x2 {
            check::finite("MidamLoss", sd)?;
        }
        let tau = match (c.pooling, x2, &grad) {
            (MidamPooling::Softmax { tau }, None, MidamGrad::Softmax(g)) => {
                check::grad_len("grad", g.len(), n)?;
                if x1.iter().any(|&x| x <= 0.0) {
                    return Err(KernelError::InvalidConfig {
                        name: "y_pred",
                        value: 0.0,
                        reason: "softmax pooling takes mean exp(φ/τ) per bag, which must be > 0",
                    });
                }
                Some(tau)
            }
            (MidamPooling::Attention, Some(_), MidamGrad::Attention { sn, sd }) => {
                check::grad_len("grad", sn.len().min(sd.len()), n)?;
                None
            }
            _ => {
                return Err(KernelError::InvalidConfig {
                    name: "pooling",
                    value: 0.0,
                    reason: "the input does not match the loss's pooling (softmax takes one array per bag, attention sn and sd)",
                });
            }
        };
        // The moving averages: every occurrence from the old entry, the last kept, read back.
        let g = c.gamma;
        self.rows.clear();
        self.rows.extend(ids.iter().enumerate().map(|(k, &id)| Row {
            num: (1.0 - g) * f64::from(self.num[id]) + g * f64::from(x1[k]),
            den: x2.map_or(0.0, |sd| {
                (1.0 - g) * f64::from(self.den[id]) + g * f64::from(sd[k])
            }),
            ..Row::default()
        }));
        for (r, &id) in self.rows.iter().zip(ids) {
            self.num[id] = r.num as f32;
            if x2.is_some() {
                self.den[id] = r.den as f32;
            }
        }
        for (k, (r, &id)) in self.rows.iter_mut().zip(ids).enumerate() {
            let s = f64::from(self.num[id]);
            match (tau, x2) {
                (Some(tau), _) => {
                    r.v = tau * s.ln();
                    r.r = f64::from(x1[k]) / s;
                    r.dr1 = 1.0 / s;
                }
                (None, Some(sd)) => {
                    let d = f64::from(self.den[id]).max(1e-8);
                    let v = crate::surrogate::sigmoid(s / d);
                    let gv = v * (1.0 - v);
                    r.v = v;
                    r.r = gv * (f64::from(x1[k]) / d - s / (d * d) * f64::from(sd[k]));
                    r.dr1 = gv / d;
                    r.dr2 = -gv * s / (d * d);
                }
                (None, None) => unreachable!("checked above"),
            }
        }
        let scale = tau.unwrap_or(1.0);
        let (np, nn) = (self.split.pos.len() as f64, self.split.neg.len() as f64);
        let mut out = MidamOutput::default();
        let mut d_r = |k: usize, r: &Row| {
            let y = labels[k];
            if y == 1.0 {
                out.value +=
                    (2.0 * scale * (r.v - a) * r.r - alpha * scale * r.r + (r.v - a).powi(2)) / np;
                out.d_a -= 2.0 * (r.v - a) / np;
                (2.0 * scale * (r.v - a) - alpha * scale) / np
            } else {
                out.value +=
                    (2.0 * scale * (r.v - b) * r.r + alpha * scale * r.r + (r.v - b).powi(2)) / nn;
                out.d_b -= 2.0 * (r.v - b) / nn;
                (2.0 * scale * (r.v - b) + alpha * scale) / nn
            }
        };
        match grad {
            MidamGrad::Softmax(gy) => {
                for (k, (r, gk)) in self.rows.iter().zip(gy.iter_mut()).enumerate() {
                    *gk = (d_r(k, r) * r.dr1) as f32;
                }
            }
            MidamGrad::Attention { sn, sd } => {
                for (k, r) in self.rows.iter().enumerate() {
                    let d = d_r(k, r);
                    sn[k] = (d * r.dr1) as f32;
                    sd[k] = (d * r.dr2) as f32;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-computed softmax-pooling step: with a = b = α = 0, γ = 1 the state is y,
    /// v = τ ln y, r = 1 and the value is `mean_pos(2τv + v²) + mean_neg(2τv + v²)`.
    #[test]
    fn softmax_pooling_value_by_hand() {
        let cfg = MidamConfig {
            gamma: 1.0,
            ..MidamConfig::new(4, MidamPooling::Softmax { tau: 0.5 })
        };
        let mut k = MidamKernel::new(cfg).unwrap();
        let y = [2.0f32, 0.5, 1.5, 3.0];
        let mut g = [0.0f32; 4];
        let out = k
            .forward(
                MidamInput::Softmax(&y),
                &[1.0, 0.0, 1.0, 0.0],
                &[0, 1, 2, 3],
                (0.0, 0.0, 0.0),
                MidamGrad::Softmax(&mut g),
            )
            .unwrap();
        let term = |y: f64| {
            let h = 0.5 * y.ln();
            2.0 * 0.5 * h + h * h
        };
        let want = (term(2.0) + term(1.5)) / 2.0 + (term(0.5) + term(3.0)) / 2.0;
        assert!((out.value - want).abs() < 1e-6, "{} vs {want}", out.value);
        assert_eq!(k.state().0, &[2.0, 0.5, 1.5, 3.0]);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let mut k = MidamKernel::new(MidamConfig::new(3, MidamPooling::Attention)).unwrap();
        let (mut g1, mut g2) = ([0.0f32; 2], [0.0f32; 2]);
        let zero = (0.0, 0.0, 0.0);
        let mut att = |sn: &[f32], labels: &[f32], ids: &[usize]| {
            k.forward(
                MidamInput::Attention {
                    sn,
                    sd: &[1.0, 1.0],
                },
                labels,
                ids,
                zero,
                MidamGrad::Attention {
                    sn: &mut g1,
                    sd: &mut g2,
                },
            )
        };
        assert!(
            att(&[0.1, 0.2], &[1.0, 0.0], &[0, 3]).is_err(),
            "id out of range"
        );
        assert!(att(&[0.1, 0.2], &[1.0, 1.0], &[0, 1]).is_err(), "one class");
        assert!(att(&[0.1, f32::NAN], &[1.0, 0.0], &[0, 1]).is_err(), "NaN");
        assert!(att(&[0.1, 0.2], &[1.0, 0.0], &[0, 1]).is_ok());
        let mut s =
            MidamKernel::new(MidamConfig::new(3, MidamPooling::Softmax { tau: 0.1 })).unwrap();
        let mut g = [0.0f32; 2];
        let soft = MidamInput::Softmax(&[1.0, 0.0]);
        assert!(
            s.forward(soft, &[1.0, 0.0], &[0, 1], zero, MidamGrad::Softmax(&mut g))
                .is_err()
        );
        let wrong = MidamInput::Attention {
            sn: &[1.0, 1.0],
            sd: &[1.0, 1.0],
        };
        assert!(
            s.forward(
                wrong,
                &[1.0, 0.0],
                &[0, 1],
                zero,
                MidamGrad::Softmax(&mut g)
            )
            .is_err()
        );
    }
}
