//! AUC-margin min-max loss (`AUCMLoss`, optimized by PESG; spec `libauc_spec.md` §2.1).
//!
//! v1 (class prior `p` = positive share of the batch, means over all `n` samples):
//!
//! ```text
//! V = (1−p)·mean((h−a)²·y) + p·mean((h−b)²·(1−y))
//!     + 2α·(p(1−p)m + mean(p·h·(1−y) − (1−p)·h·y)) − p(1−p)α²
//! ```
//!
//! v2 (no prior; class means over the class counts, fixing LibAUC 2.0.1's issue #74 and its
//! `count_nonzero` denominators, spec §11 #1, #4):
//! `V = mean_pos(h−a)² + mean_neg(h−b)² + 2α(m + mean_neg h − mean_pos h) − α²`.
//!
//! No per-sample state: `a`, `b` (minimised with the model) and the dual `α ≥ 0` (maximised)
//! are inputs, held by the framework. The kernel returns `V`, `∂V/∂h` and `∂V/∂a`, `∂V/∂b`,
//! `∂V/∂α`. `V` can be negative and is not an AUC estimate. Cost: one pass over the batch.

use crate::check::{self, Split};
use crate::error::Result;

/// Which AUCM objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AucmVersion {
    /// With the batch class prior (LibAUC's default).
    V1,
    /// Without the prior (recommended with a DualSampler).
    V2,
}

/// Settings of the AUCM loss (LibAUC defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AucmConfig {
    /// Margin `m` (default 1.0).
    pub margin: f64,
    /// Objective version (default v1).
    pub version: AucmVersion,
}

impl Default for AucmConfig {
    fn default() -> Self {
        AucmConfig {
            margin: 1.0,
            version: AucmVersion::V1,
        }
    }
}

impl AucmConfig {
    /// Checks the settings: a finite margin.
    pub fn validate(&self) -> Result<()> {
        check::finite_setting("margin", self.margin)
    }
}

/// The value of the AUCM objective and its derivatives with respect to `a`, `b` and `α`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AucmOutput {
    /// The objective `V`.
    pub value: f64,
    /// `∂V/∂a`.
    pub d_a: f64,
    /// `∂V/∂b`.
    pub d_b: f64,
    /// `∂V/∂α`.
    pub d_alpha: f64,
}

/// The AUCM objective of scores `h` (probabilities) with 0/1 labels (both classes) at
/// `(a, b, α)`; writes `∂V/∂h`, scaled by `scale`, into `grad` (one entry per score).
pub fn aucm_objective(
    config: &AucmConfig,
    h: &[f32],
    labels: &[f32],
    (a, b, alpha): (f64, f64, f64),
    grad: &mut [f32],
) -> Result<AucmOutput> {
    let mut split = Split::default();
    aucm_checked(
        config,
        h,
        labels,
        (a, b, alpha),
        grad,
        1.0,
        &mut split,
        "AucmLoss",
    )
}

/// [`aucm_objective`] with reused buffers and a scale on every output (a mean over tasks).
#[allow(clippy::too_many_arguments)]
pub(crate) fn aucm_checked(
    config: &AucmConfig,
    h: &[f32],
    labels: &[f32],
    (a, b, alpha): (f64, f64, f64),
    grad: &mut [f32],
    scale: f64,
    split: &mut Split,
    loss: &'static str,
) -> Result<AucmOutput> {
    config.validate()?;
    check::lengths(h.len(), labels.len(), None)?;
    check::grad_len("grad", grad.len(), h.len())?;
    split.fill(loss, labels, true)?;
    check::finite(loss, h)?;
    let n = h.len() as f64;
    let np = split.pos.len() as f64;
    let nn = n - np;
    let m = config.margin;
    // Class sums: Σ(h−a)² over positives, Σ(h−b)² over negatives, Σh per class.
    let (mut sq_a, mut sq_b, mut sum_pos, mut sum_neg) = (0.0f64, 0.0, 0.0, 0.0);
    for (&hi, &yi) in h.iter().zip(labels) {
        let hi = f64::from(hi);
        if yi == 1.0 {
            sq_a += (hi - a).powi(2);
            sum_pos += hi;
        } else {
            sq_b += (hi - b).powi(2);
            sum_neg += hi;
        }
    }
    let out = match config.version {
        AucmVersion::V1 => {
            let p = np / n;
            let cross = (p * sum_neg - (1.0 - p) * sum_pos) / n + p * (1.0 - p) * m;
            for ((g, &hi), &yi) in grad.iter_mut().zip(h).zip(labels) {
                let hi = f64::from(hi);
                let d = if yi == 1.0 {
                    2.0 * (1.0 - p) * (hi - a) - 2.0 * alpha * (1.0 - p)
                } else {
                    2.0 * p * (hi - b) + 2.0 * alpha * p
                };
                *g = (d / n * scale) as f32;
            }
            AucmOutput {
                value: (1.0 - p) * sq_a / n + p * sq_b / n + 2.0 * alpha * cross
                    - p * (1.0 - p) * alpha * alpha,
                d_a: -2.0 * (1.0 - p) * (sum_pos - np * a) / n,
                d_b: -2.0 * p * (sum_neg - nn * b) / n,
                d_alpha: 2.0 * cross - 2.0 * p * (1.0 - p) * alpha,
            }
        }
        AucmVersion::V2 => {
            let (mean_pos, mean_neg) = (sum_pos / np, sum_neg / nn);
            for ((g, &hi), &yi) in grad.iter_mut().zip(h).zip(labels) {
                let hi = f64::from(hi);
                let d = if yi == 1.0 {
                    2.0 * (hi - a) / np - 2.0 * alpha / np
                } else {
                    2.0 * (hi - b) / nn + 2.0 * alpha / nn
                };
                *g = (d * scale) as f32;
            }
            AucmOutput {
                value: sq_a / np + sq_b / nn + 2.0 * alpha * (m + mean_neg - mean_pos)
                    - alpha * alpha,
                d_a: -2.0 * (mean_pos - a),
                d_b: -2.0 * (mean_neg - b),
                d_alpha: 2.0 * (m + mean_neg - mean_pos) - 2.0 * alpha,
            }
        }
    };
    Ok(AucmOutput {
        value: out.value * scale,
        d_a: out.d_a * scale,
        d_b: out.d_b * scale,
        d_alpha: out.d_alpha * scale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: [f32; 8] = [0.8, 0.3, 0.6, 0.4, 0.5, 0.2, 0.7, 0.35];
    const Y: [f32; 8] = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

    fn value(version: AucmVersion, s: &[f32], y: &[f32], abc: (f64, f64, f64)) -> AucmOutput {
        let mut g = vec![0.0; s.len()];
        let c = AucmConfig {
            margin: 1.0,
            version,
        };
        aucm_objective(&c, s, y, abc, &mut g).unwrap()
    }

    #[test]
    fn spec_appendix_a_values() {
        let v = |ver, abc| value(ver, &S, &Y, abc).value;
        assert!((v(AucmVersion::V1, (0.0, 0.0, 0.0)) - 0.133398).abs() < 1e-5);
        assert!((v(AucmVersion::V1, (0.3, 0.2, 0.5)) - 0.202930).abs() < 1e-5);
        assert!((v(AucmVersion::V2, (0.3, 0.2, 0.5)) - 0.865833).abs() < 1e-5);
        let i74 = value(
            AucmVersion::V2,
            &[0.1, 0.4, 0.35, 0.8],
            &[0.0, 0.0, 1.0, 1.0],
            (0.3, 0.2, 0.5),
        );
        assert!((i74.value - 0.57625).abs() < 1e-5, "{}", i74.value);
    }

    /// Every derivative is the slope of the value (central differences in f64 inputs).
    #[test]
    fn derivatives_are_the_slopes() {
        for ver in [AucmVersion::V1, AucmVersion::V2] {
            let abc = (0.3, 0.2, 0.5);
            let out = value(ver, &S, &Y, abc);
            let eps = 1e-4;
            let d = |f: &dyn Fn(f64) -> AucmOutput| (f(eps).value - f(-eps).value) / (2.0 * eps);
            let da = d(&|e| value(ver, &S, &Y, (abc.0 + e, abc.1, abc.2)));
            let db = d(&|e| value(ver, &S, &Y, (abc.0, abc.1 + e, abc.2)));
            let dal = d(&|e| value(ver, &S, &Y, (abc.0, abc.1, abc.2 + e)));
            assert!(
                (out.d_a - da).abs() < 1e-6 && (out.d_b - db).abs() < 1e-6,
                "{ver:?}"
            );
            assert!((out.d_alpha - dal).abs() < 1e-6, "{ver:?}");
            let mut g = [0.0f32; 8];
            aucm_objective(
                &AucmConfig {
                    margin: 1.0,
                    version: ver,
                },
                &S,
                &Y,
                abc,
                &mut g,
            )
            .unwrap();
            for i in 0..8 {
                let (mut a, mut b) = (S, S);
                a[i] += 1e-3;
                b[i] -= 1e-3;
                let fd = (value(ver, &a, &Y, abc).value - value(ver, &b, &Y, abc).value) / 2e-3;
                assert!((f64::from(g[i]) - fd).abs() < 1e-4, "{ver:?} {i}");
            }
        }
    }

    #[test]
    fn bad_batches_are_errors() {
        let c = AucmConfig::default();
        let mut g = [0.0f32; 2];
        assert!(aucm_objective(&c, &[0.1, 0.2], &[0.0, 0.0], (0.0, 0.0, 0.0), &mut g).is_err());
        assert!(aucm_objective(&c, &[0.1, 0.2], &[1.0, 2.0], (0.0, 0.0, 0.0), &mut g).is_err());
        assert!(aucm_objective(&c, &[0.1], &[1.0, 0.0], (0.0, 0.0, 0.0), &mut g).is_err());
    }
}
