//! The optimizer skeleton of LibAUC's optimizers (spec `libauc_spec.md` §3.0) as one pass over
//! a parameter's slices, for frameworks whose per-operation overhead dominates small updates
//! (the Python package runs it on CPU `float32` parameters instead of ten torch operations).
//! Per element, with `g` the gradient:
//!
//! ```text
//! AdamW:   w ← w·(1 − lr·wd)                                  (decoupled decay first)
//! g ← clamp(g, −c, c)                                         (when clip is set)
//! g ← g + wd·w                                                (coupled decay; not AdamW)
//! g ← g + λ0·(w − w_ref)                                      (epoch_decay > 0)
//! SGD:     buf ← μ·buf + (1−d)·g (first step: buf = g); step = g + μ·buf (Nesterov) or buf
//! PESG:    buf ← (1−μ)·buf + μ·g (first step: buf = g)        (LibAUC 2.0.1's momentum)
//! Adam:    m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  v̂ = max(v̂, v) (AMSGrad)
//!          w ← w − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε)
//! w ← w − lr·step;   acc ← acc + w                            (epoch_decay > 0)
//! ```
//!
//! The state buffers belong to the caller (the framework's tensors), updated in place; `step`
//! is the 1-based count of this parameter's updates (Adam's bias correction uses it) and
//! `Buffers::fresh` says that the momentum buffers are not initialised yet.

use crate::error::{KernelError, Result};

/// The update rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// PyTorch's SGD momentum (`momentum = 0`: plain SGD).
    Sgd {
        /// μ.
        momentum: f32,
        /// Dampening.
        dampening: f32,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// LibAUC 2.0.1's PESG / PDSCA momentum `buf = (1−μ)·buf + μ·g`.
    Pesg {
        /// μ (the weight of the current gradient).
        momentum: f32,
    },
    /// Adam (decoupled weight decay when `decoupled`).
    Adam {
        /// β1.
        beta1: f32,
        /// β2.
        beta2: f32,
        /// ε.
        eps: f32,
        /// AMSGrad (keeps the running maximum of `v`).
        amsgrad: bool,
        /// AdamW: the weight decay multiplies `w` before the step instead of adding to `g`.
        decoupled: bool,
    },
}

/// The settings of one update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepSettings {
    /// Learning rate.
    pub lr: f32,
    /// Element-wise clipping bound.
    pub clip: Option<f32>,
    /// Weight decay (coupled, or decoupled for AdamW).
    pub weight_decay: f32,
    /// Epoch-level proximal strength λ0 (needs `reference` and `acc`).
    pub epoch_decay: f32,
    /// The rule.
    pub rule: Rule,
}

/// A parameter's buffers, owned by the caller; those the rule does not use may be empty.
#[derive(Debug)]
pub struct Buffers<'a> {
    /// Momentum buffer (SGD, PESG) or Adam's first moment.
    pub first: &'a mut [f32],
    /// Adam's second moment.
    pub second: &'a mut [f32],
    /// AMSGrad's running maximum of the second moment.
    pub max_second: &'a mut [f32],
    /// The reference point of the epoch-level term.
    pub reference: &'a [f32],
    /// The running sum of the iterates since the last reference reset.
    pub acc: &'a mut [f32],
    /// The momentum / moment buffers hold nothing yet (this parameter's first update, or a
    /// rule switched on later): SGD and PESG start their buffer at `g`, Adam its moments at 0.
    pub fresh: bool,
}

fn check_len(name: &'static str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(KernelError::StateLength { name, got, want });
    }
    Ok(())
}

/// One skeleton update of the parameter `w` with gradient `g` (`step` ≥ 1 counts this
/// parameter's updates, this one included).
pub fn update(w: &mut [f32], g: &[f32], b: Buffers<'_>, s: &StepSettings, step: u64) -> Result<()> {
    let n = w.len();
    check_len("grad", g.len(), n)?;
    if step == 0 {
        return Err(KernelError::InvalidConfig {
            name: "step",
            value: 0.0,
            reason: "the update count starts at 1",
        });
    }
    let uses_first = match s.rule {
        Rule::Sgd { momentum, .. } | Rule::Pesg { momentum } => momentum != 0.0,
        Rule::Adam { .. } => true,
    };
    if uses_first {
        check_len("momentum_buffer", b.first.len(), n)?;
    }
    if let Rule::Adam { amsgrad, .. } = s.rule {
        check_len("exp_avg_sq", b.second.len(), n)?;
        if amsgrad {
            check_len("max_exp_avg_sq", b.max_second.len(), n)?;
        }
    }
    if s.epoch_decay > 0.0 {
        check_len("ref", b.reference.len(), n)?;
        check_len("acc", b.acc.len(), n)?;
    }
    let Buffers {
        first,
        second,
        max_second,
        reference,
        acc,
        fresh,
    } = b;
    let c = Consts::new(s, step, fresh);
    // Every slice is cut to `n`, so the loops carry no bounds checks and vectorise; the rule and
    // the proximal term are fixed per call, so each combination is its own loop.
    let (w, g) = (&mut w[..n], &g[..n]);
    let first = if uses_first {
        &mut first[..n]
    } else {
        &mut first[..0]
    };
    let (second, max_second) = match s.rule {
        Rule::Adam { amsgrad, .. } => (
            &mut second[..n],
            if amsgrad {
                &mut max_second[..n]
            } else {
                &mut max_second[..0]
            },
        ),
        _ => (&mut second[..0], &mut max_second[..0]),
    };
    crate::simd::dispatch(
        #[inline(always)]
        || {
            if s.epoch_decay > 0.0 {
                rule_loop::<true>(w, g, &reference[..n], first, second, max_second, &c);
            } else {
                rule_loop::<false>(w, g, &[], first, second, max_second, &c);
            }
        },
    );
    if s.epoch_decay > 0.0 {
        for (a, wi) in acc[..n].iter_mut().zip(w.iter()) {
            *a += *wi;
        }
    }
    Ok(())
}

/// The loop-invariant numbers of one update.
struct Consts {
    rule: Rule,
    lr: f32,
    clip: f32,
    shrink: f32,
    coupled: f32,
    ed: f32,
    fresh: bool,
    step_size: f32,
    sqrt_bc2: f32,
}

impl Consts {
    fn new(s: &StepSettings, step: u64, fresh: bool) -> Self {
        let decoupled = matches!(
            s.rule,
            Rule::Adam {
                decoupled: true,
                ..
            }
        );
        let (step_size, sqrt_bc2) = match s.rule {
            Rule::Adam { beta1, beta2, .. } => {
                let t = step.min(i32::MAX as u64) as i32;
                let bc1 = 1.0 - f64::from(beta1).powi(t);
                let bc2 = 1.0 - f64::from(beta2).powi(t);
                ((f64::from(s.lr) / bc1) as f32, bc2.sqrt() as f32)
            }
            _ => (s.lr, 1.0),
        };
        Consts {
            rule: s.rule,
            lr: s.lr,
            clip: s.clip.unwrap_or(f32::INFINITY),
            shrink: if decoupled {
                1.0 - s.lr * s.weight_decay
            } else {
                1.0
            },
            coupled: if decoupled { 0.0 } else { s.weight_decay },
            ed: s.epoch_decay,
            fresh,
            step_size,
            sqrt_bc2,
        }
    }
}

/// The rule's loop over slices of one length; `ED`: the proximal term is on (`reference` has
/// the parameter's length).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // one index over several slices of one length, in every rule alike
fn rule_loop<const ED: bool>(
    w: &mut [f32],
    g: &[f32],
    reference: &[f32],
    first: &mut [f32],
    second: &mut [f32],
    max_second: &mut [f32],
    c: &Consts,
) {
    let n = w.len();
    let g = &g[..n];
    let reference = if ED { &reference[..n] } else { reference };
    let (lr, fresh) = (c.lr, c.fresh);
    let pre = |i: usize, wi: f32| -> (f32, f32) {
        let wi = wi * c.shrink;
        let mut gi = g[i].clamp(-c.clip, c.clip) + c.coupled * wi;
        if ED {
            gi += c.ed * (wi - reference[i]);
        }
        (wi, gi)
    };
    match c.rule {
        Rule::Sgd {
            momentum,
            dampening,
            nesterov,
        } if momentum != 0.0 => {
            let first = &mut first[..n];
            for i in 0..n {
                let (wi, gi) = pre(i, w[i]);
                let buf = if fresh {
                    gi
                } else {
                    momentum * first[i] + (1.0 - dampening) * gi
                };
                first[i] = buf;
                let stepv = if nesterov { gi + momentum * buf } else { buf };
                w[i] = wi - lr * stepv;
            }
        }
        Rule::Pesg { momentum } if momentum != 0.0 => {
            let first = &mut first[..n];
            for i in 0..n {
                let (wi, gi) = pre(i, w[i]);
                let buf = if fresh {
                    gi
                } else {
                    (1.0 - momentum) * first[i] + momentum * gi
                };
                first[i] = buf;
                w[i] = wi - lr * buf;
            }
        }
        Rule::Sgd { .. } | Rule::Pesg { .. } => {
            for i in 0..n {
                let (wi, gi) = pre(i, w[i]);
                w[i] = wi - lr * gi;
            }
        }
        Rule::Adam {
            beta1,
            beta2,
            eps,
            amsgrad,
            ..
        } => {
            let (first, second) = (&mut first[..n], &mut second[..n]);
            let (step_size, sqrt_bc2) = (c.step_size, c.sqrt_bc2);
            if amsgrad {
                let max_second = &mut max_second[..n];
                for i in 0..n {
                    let (wi, gi) = pre(i, w[i]);
                    let (m0, v0) = if fresh {
                        (0.0, 0.0)
                    } else {
                        (first[i], second[i])
                    };
                    let m = beta1 * m0 + (1.0 - beta1) * gi;
                    let v = beta2 * v0 + (1.0 - beta2) * gi * gi;
                    first[i] = m;
                    second[i] = v;
                    let mx = if fresh { v } else { max_second[i].max(v) };
                    max_second[i] = mx;
                    w[i] = wi - step_size * m / (mx.sqrt() / sqrt_bc2 + eps);
                }
            } else {
                for i in 0..n {
                    let (wi, gi) = pre(i, w[i]);
                    let (m0, v0) = if fresh {
                        (0.0, 0.0)
                    } else {
                        (first[i], second[i])
                    };
                    let m = beta1 * m0 + (1.0 - beta1) * gi;
                    let v = beta2 * v0 + (1.0 - beta2) * gi * gi;
                    first[i] = m;
                    second[i] = v;
                    w[i] = wi - step_size * m / (v.sqrt() / sqrt_bc2 + eps);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rule: Rule, clip: Option<f32>, wd: f32, steps: &[[f32; 2]]) -> [f32; 2] {
        let mut w = [0.5f32, -0.25];
        let (mut first, mut second, mut mx, mut acc) = ([0.0; 2], [0.0; 2], [0.0; 2], [0.0; 2]);
        let reference = [0.5f32, -0.25];
        for (t, g) in steps.iter().enumerate() {
            let s = StepSettings {
                lr: 0.1,
                clip,
                weight_decay: wd,
                epoch_decay: 0.01,
                rule,
            };
            let b = Buffers {
                first: &mut first,
                second: &mut second,
                max_second: &mut mx,
                reference: &reference,
                acc: &mut acc,
                fresh: t == 0,
            };
            update(&mut w, g, b, &s, t as u64 + 1).unwrap();
        }
        w
    }

    /// The rules by hand on two steps of one element (the skeleton's formulas above).
    #[test]
    fn rules_follow_their_formulas() {
        let g = [[2.0f32, 0.5], [-1.0, 0.25]];
        // SGD μ = 0.9, clip 1: step 1 g = 1 → w = 0.4; step 2 g = −1 + 0.01·(0.4 − 0.5) = −1.001,
        // buf = 0.9·1 − 1.001 = −0.101, w = 0.4 + 0.0101.
        let sgd = Rule::Sgd {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
        };
        let w = run(sgd, Some(1.0), 0.0, &g);
        assert!((w[0] - 0.4101).abs() < 1e-6, "{w:?}");
        // PESG μ = 0.9: buf = 0.1·1 + 0.9·(−1.001) = −0.8009, w = 0.4 + 0.08009.
        let w = run(Rule::Pesg { momentum: 0.9 }, Some(1.0), 0.0, &g);
        assert!((w[0] - 0.48009).abs() < 1e-6, "{w:?}");
        // Adam's first step moves every coordinate by lr·sign(g) (up to ε).
        let adam = Rule::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            amsgrad: false,
            decoupled: false,
        };
        let w = run(adam, None, 0.0, &g[..1]);
        assert!(
            (w[0] - 0.4).abs() < 1e-6 && (w[1] + 0.35).abs() < 1e-6,
            "{w:?}"
        );
    }

    #[test]
    fn wrong_buffer_sizes_are_errors() {
        let mut w = [0.0f32; 3];
        let s = StepSettings {
            lr: 0.1,
            clip: None,
            weight_decay: 0.0,
            epoch_decay: 0.0,
            rule: Rule::Sgd {
                momentum: 0.9,
                dampening: 0.0,
                nesterov: false,
            },
        };
        let b = Buffers {
            first: &mut [0.0; 2],
            second: &mut [],
            max_second: &mut [],
            reference: &[],
            acc: &mut [],
            fresh: true,
        };
        assert!(update(&mut w, &[1.0; 3], b, &s, 1).is_err());
    }
}
