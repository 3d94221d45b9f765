//! Pairwise surrogate losses `ℓ(m, t)` of `t = h_anchor − h_other` (spec `libauc_spec.md` §1.4).

use burn::tensor::Tensor;
use burn::tensor::activation::{relu, softplus};

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
    /// Applies the surrogate element-wise; `param` is the margin `m` (the scale `s` for
    /// `Logistic`).
    pub fn apply<const D: usize>(self, param: f64, t: Tensor<D>) -> Tensor<D> {
        match self {
            Surrogate::SquaredHinge => relu(t.neg() + param).square(),
            Surrogate::Squared => (t.neg() + param).square(),
            Surrogate::Hinge => relu(t.neg() + param),
            Surrogate::Logistic => softplus(t * (-param), 1.0),
            Surrogate::BarrierHinge { scale } => {
                let left = (t.clone() + param) * (-scale) + param;
                let mid = t.clone().neg() + param;
                let right = (t - param) * scale;
                left.max_pair(mid.max_pair(right))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn values_match_the_formulas() {
        let d = Device::flex();
        let t = Tensor::<1>::from_data(TensorData::new(vec![-1.0f32, 0.5, 2.0], [3]), &d);
        let v = |s: Surrogate, p: f64| {
            s.apply(p, t.clone())
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(v(Surrogate::SquaredHinge, 1.0), vec![4.0, 0.25, 0.0]);
        assert_eq!(v(Surrogate::Squared, 1.0), vec![4.0, 0.25, 1.0]);
        assert_eq!(v(Surrogate::Hinge, 1.0), vec![2.0, 0.5, 0.0]);
        // m = 1, s = 2: max(-2(1+t)+1, max(1-t, 2(t-1))) at t = -1, 0.5, 2 -> 2, 0.5, 2
        assert_eq!(
            v(Surrogate::BarrierHinge { scale: 2.0 }, 1.0),
            vec![2.0, 0.5, 2.0]
        );
        let l = v(Surrogate::Logistic, 1.0);
        for (got, x) in l.iter().zip([-1.0f64, 0.5, 2.0]) {
            assert!((*got as f64 - (1.0 + (-x).exp()).ln()).abs() < 1e-6);
        }
    }
}
