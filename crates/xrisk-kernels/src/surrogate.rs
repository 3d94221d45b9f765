//! Pairwise surrogate losses `ℓ(m, t)` of `t = h_anchor − h_other` and their derivatives
//! (spec `libauc_spec.md` §1.4). The kernels pick the surrogate once per call and run a loop
//! monomorphised for it ([`with_surrogate!`](crate::with_surrogate)), so the pair loops inline
//! `ℓ` and `dℓ/dt`.

/// Which surrogate a loss uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Surrogate {
    /// `max(m − t, 0)²` (LibAUC's default everywhere).
    SquaredHinge,
    /// `(m − t)²`.
    Squared,
    /// `max(m − t, 0)`.
    Hinge,
    /// `log(1 + exp(−s·t))`, computed stably as `softplus(−s·t)` (LibAUC's is naive).
    Logistic,
    /// `max(−s(m + t) + m, max(m − t, s(t − m)))` (Charoenphakdee et al., 2019); the margin
    /// `m` is the parameter, `s` the scale here (LibAUC's tuple is `(m, s)`, spec §11 #12).
    BarrierHinge {
        /// Scale `s`.
        scale: f64,
    },
}

impl Surrogate {
    /// `ℓ(param, t)`; `param` is the margin `m` (the scale `s` for `Logistic`).
    pub fn value(self, param: f64, t: f64) -> f64 {
        match self {
            Surrogate::SquaredHinge => (param - t).max(0.0).powi(2),
            Surrogate::Squared => (param - t).powi(2),
            Surrogate::Hinge => (param - t).max(0.0),
            Surrogate::Logistic => softplus(-param * t),
            Surrogate::BarrierHinge { scale } => {
                let m = param;
                (-scale * (m + t) + m).max((m - t).max(scale * (t - m)))
            }
        }
    }

    /// `dℓ/dt` at `t` (at a kink, the derivative of the branch PyTorch's autograd takes: 0 for
    /// the hinges at `t = m`).
    pub fn derivative(self, param: f64, t: f64) -> f64 {
        match self {
            Surrogate::SquaredHinge => -2.0 * (param - t).max(0.0),
            Surrogate::Squared => -2.0 * (param - t),
            Surrogate::Hinge => {
                if param - t > 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Surrogate::Logistic => -param * sigmoid(-param * t),
            Surrogate::BarrierHinge { scale } => {
                let m = param;
                let (left, mid, right) = (-scale * (m + t) + m, m - t, scale * (t - m));
                if left >= mid && left >= right {
                    -scale
                } else if mid >= right {
                    -1.0
                } else {
                    scale
                }
            }
        }
    }
}

/// `ln(1 + e^x)` without overflow.
pub(crate) fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// The logistic function.
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// A surrogate with its parameters fixed, evaluated in f32 inside the pair loops.
pub(crate) trait Surr: Copy + Send + Sync {
    /// `ℓ(t)`.
    fn value(self, t: f32) -> f32;
    /// `(ℓ(t), dℓ/dt)`.
    fn both(self, t: f32) -> (f32, f32);
}

/// `max(m − t, 0)²`.
#[derive(Clone, Copy)]
pub(crate) struct SqHinge(pub f32);
/// `(m − t)²`.
#[derive(Clone, Copy)]
pub(crate) struct Sq(pub f32);
/// `max(m − t, 0)`.
#[derive(Clone, Copy)]
pub(crate) struct Hinge(pub f32);
/// `softplus(−s·t)`.
#[derive(Clone, Copy)]
pub(crate) struct Logistic(pub f32);
/// Barrier hinge with margin and scale.
#[derive(Clone, Copy)]
pub(crate) struct Barrier(pub f32, pub f32);

impl Surr for SqHinge {
    #[inline(always)]
    fn value(self, t: f32) -> f32 {
        let d = (self.0 - t).max(0.0);
        d * d
    }
    #[inline(always)]
    fn both(self, t: f32) -> (f32, f32) {
        let d = (self.0 - t).max(0.0);
        (d * d, -2.0 * d)
    }
}

impl Surr for Sq {
    #[inline(always)]
    fn value(self, t: f32) -> f32 {
        let d = self.0 - t;
        d * d
    }
    #[inline(always)]
    fn both(self, t: f32) -> (f32, f32) {
        let d = self.0 - t;
        (d * d, -2.0 * d)
    }
}

impl Surr for Hinge {
    #[inline(always)]
    fn value(self, t: f32) -> f32 {
        (self.0 - t).max(0.0)
    }
    #[inline(always)]
    fn both(self, t: f32) -> (f32, f32) {
        let d = self.0 - t;
        if d > 0.0 { (d, -1.0) } else { (0.0, 0.0) }
    }
}

impl Surr for Logistic {
    // The pair loops' exp and ln(1 + e) (crate::simd): no calls, so the loops vectorise.
    #[inline(always)]
    fn value(self, t: f32) -> f32 {
        let x = -self.0 * t;
        x.max(0.0) + crate::simd::ln_1p_unit(crate::simd::exp(-x.abs()))
    }
    #[inline(always)]
    fn both(self, t: f32) -> (f32, f32) {
        let x = -self.0 * t;
        let e = crate::simd::exp(-x.abs());
        let inv = 1.0 / (1.0 + e);
        let sig = if x >= 0.0 { inv } else { e * inv };
        (x.max(0.0) + crate::simd::ln_1p_unit(e), -self.0 * sig)
    }
}

impl Surr for Barrier {
    #[inline(always)]
    fn value(self, t: f32) -> f32 {
        let (m, s) = (self.0, self.1);
        (-s * (m + t) + m).max((m - t).max(s * (t - m)))
    }
    #[inline(always)]
    fn both(self, t: f32) -> (f32, f32) {
        let (m, s) = (self.0, self.1);
        let (left, mid, right) = (-s * (m + t) + m, m - t, s * (t - m));
        if left >= mid && left >= right {
            (left, -s)
        } else if mid >= right {
            (mid, -1.0)
        } else {
            (right, s)
        }
    }
}

/// Runs `$body` with `$s` bound to the monomorphic surrogate for `($surrogate, $param)`.
#[macro_export]
#[doc(hidden)]
macro_rules! with_surrogate {
    ($surrogate:expr, $param:expr, |$s:ident| $body:expr) => {{
        use $crate::surrogate::{Barrier, Hinge, Logistic, Sq, SqHinge, Surrogate};
        let p = $param as f32;
        match $surrogate {
            Surrogate::SquaredHinge => {
                let $s = SqHinge(p);
                $body
            }
            Surrogate::Squared => {
                let $s = Sq(p);
                $body
            }
            Surrogate::Hinge => {
                let $s = Hinge(p);
                $body
            }
            Surrogate::Logistic => {
                let $s = Logistic(p);
                $body
            }
            Surrogate::BarrierHinge { scale } => {
                let $s = Barrier(p, scale as f32);
                $body
            }
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Surrogate; 5] = [
        Surrogate::SquaredHinge,
        Surrogate::Squared,
        Surrogate::Hinge,
        Surrogate::Logistic,
        Surrogate::BarrierHinge { scale: 2.0 },
    ];

    #[test]
    fn values_match_the_formulas() {
        let v = |s: Surrogate, p: f64| [-1.0, 0.5, 2.0].map(|t| s.value(p, t));
        assert_eq!(v(Surrogate::SquaredHinge, 1.0), [4.0, 0.25, 0.0]);
        assert_eq!(v(Surrogate::Squared, 1.0), [4.0, 0.25, 1.0]);
        assert_eq!(v(Surrogate::Hinge, 1.0), [2.0, 0.5, 0.0]);
        // m = 1, s = 2: max(-2(1+t)+1, max(1-t, 2(t-1))) at t = -1, 0.5, 2 -> 2, 0.5, 2
        assert_eq!(
            v(Surrogate::BarrierHinge { scale: 2.0 }, 1.0),
            [2.0, 0.5, 2.0]
        );
        for (got, x) in v(Surrogate::Logistic, 1.0).iter().zip([-1.0f64, 0.5, 2.0]) {
            assert!((got - (1.0 + (-x).exp()).ln()).abs() < 1e-12);
        }
        assert!(Surrogate::Logistic.value(1.0, -1000.0).is_finite());
    }

    /// The f64 derivative is the finite difference of the value, and the f32 loop form agrees
    /// with both, for every surrogate, away from the kinks.
    #[test]
    fn derivatives_are_the_slopes_and_the_loop_forms_agree() {
        for s in ALL {
            for &t in &[-1.3, -0.4, 0.2, 0.7, 1.6, 2.9] {
                let h = 1e-6;
                let fd = (s.value(0.8, t + h) - s.value(0.8, t - h)) / (2.0 * h);
                assert!((s.derivative(0.8, t) - fd).abs() < 1e-5, "{s:?} at {t}");
                let (v, d) = with_surrogate!(s, 0.8, |f| f.both(t as f32));
                let v2 = with_surrogate!(s, 0.8, |f| f.value(t as f32));
                assert!(
                    (f64::from(v) - s.value(0.8, t)).abs() < 1e-5,
                    "{s:?} at {t}"
                );
                assert_eq!(v, v2);
                assert!(
                    (f64::from(d) - s.derivative(0.8, t)).abs() < 1e-5,
                    "{s:?} at {t}"
                );
            }
        }
    }
}
