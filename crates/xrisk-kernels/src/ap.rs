//! SOAP — the AP loss (`APLoss` / `AveragePrecisionLoss`, spec `libauc_spec.md` §2.4).
//!
//! Objective: `−(1/n+) Σ_i u_pos_i / u_all_i`, a smooth AP surrogate where, for a positive
//! anchor `i`, `u_all_i ≈ mean_j ℓ(m, h_i − h_j)` over all samples and
//! `u_pos_i ≈ mean_j ℓ(m, h_i − h_j)·1[y_j = 1]`.
//!
//! State: `u_all`, `u_pos`, one entry per sample id (`data_len`), moving averages with weight
//! `γ` on the batch estimate, both 0 at the start. For a batch with `P` positives of `B`:
//!
//! ```text
//! ℓ_ij     = ℓ(m, h_i − h_j)                  i ∈ positives, j ∈ batch (i itself included)
//! u_all_i ← (1−γ)·u_all_i + γ·(1/B) Σ_j ℓ_ij
//! u_pos_i ← (1−γ)·u_pos_i + γ·(1/B) Σ_j ℓ_ij·y_j
//! p_ij     = (u_pos_i − u_all_i·y_j) / u_all_i²        (constant)
//! value    = (1/(P·B)) Σ_ij p_ij·ℓ_ij,   ∂value/∂h = Σ p_ij·∂ℓ_ij/∂h / (P·B)
//! ```
//!
//! The value is not the AP (it is 0 whenever the state equals the batch estimate); its gradient
//! is SOAP's. Duplicate ids (tiled positives): every occurrence updates from the old entry, the
//! last occurrence is kept, and every occurrence's weights read the kept value (LibAUC's
//! scatter-then-gather). Cost: two passes over the `P × B` pairs, rows in parallel above
//! [`crate::par::PARALLEL_PAIRS`]; no allocation after the first call.

use crate::check::{self, Split};
use crate::error::Result;
use crate::par::rows_cols;
use crate::simd::{row_sums, row_sums_col};
use crate::surrogate::{Surr, Surrogate};
use crate::with_surrogate;

/// Settings of the AP loss (LibAUC defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApConfig {
    /// Number of samples (ids must be below it).
    pub data_len: usize,
    /// Moving-average weight on the batch estimate (default 0.9).
    pub gamma: f64,
    /// Surrogate margin (default 1.0).
    pub margin: f64,
    /// Surrogate (default squared hinge).
    pub surrogate: Surrogate,
}

impl ApConfig {
    /// Defaults for a data set of `data_len` samples.
    pub fn new(data_len: usize) -> Self {
        ApConfig {
            data_len,
            gamma: 0.9,
            margin: 1.0,
            surrogate: Surrogate::SquaredHinge,
        }
    }

    /// Checks the settings: `0 < gamma ≤ 1`, a finite margin.
    pub fn validate(&self) -> Result<()> {
        check::in_range(
            "gamma",
            self.gamma,
            f64::MIN_POSITIVE,
            1.0,
            "must be in (0, 1]",
        )?;
        check::finite_setting("margin", self.margin)
    }
}

/// The SOAP kernel with its two state tables.
#[derive(Debug, Clone)]
pub struct ApKernel {
    config: ApConfig,
    u_all: Vec<f32>,
    u_pos: Vec<f32>,
    split: Split,
    scratch: SoapScratch,
}

impl ApKernel {
    /// A kernel with zeroed state; errors on a bad setting or a table that cannot be allocated.
    pub fn new(config: ApConfig) -> Result<Self> {
        config.validate()?;
        Ok(ApKernel {
            config,
            u_all: check::table("data_len", config.data_len, 0.0)?,
            u_pos: check::table("data_len", config.data_len, 0.0)?,
            split: Split::default(),
            scratch: SoapScratch::default(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &ApConfig {
        &self.config
    }

    /// `u_all` per sample id.
    pub fn u_all(&self) -> &[f32] {
        &self.u_all
    }

    /// `u_pos` per sample id.
    pub fn u_pos(&self) -> &[f32] {
        &self.u_pos
    }

    /// Replaces the state (a checkpoint): both tables must have `data_len` entries.
    pub fn load_state(&mut self, u_all: &[f32], u_pos: &[f32]) -> Result<()> {
        check::load("u_all", &mut self.u_all, u_all)?;
        check::load("u_pos", &mut self.u_pos, u_pos)
    }

    /// One SOAP step on a batch of scores (probabilities), 0/1 labels and sample ids: updates
    /// the state of the batch's positives, writes `∂value/∂scores` into `grad` (one entry per
    /// score) and returns the value.
    pub fn forward(
        &mut self,
        scores: &[f32],
        labels: &[f32],
        ids: &[usize],
        grad: &mut [f32],
    ) -> Result<f64> {
        check::lengths(scores.len(), labels.len(), Some(ids.len()))?;
        check::grad_len("grad", grad.len(), scores.len())?;
        self.split.fill("ApLoss", labels, false)?;
        check::finite("ApLoss", scores)?;
        check::ids(ids, self.config.data_len)?;
        let c = self.config;
        let state_ids = &mut self.scratch.state_ids;
        state_ids.clear();
        state_ids.extend(self.split.pos.iter().map(|&i| ids[i]));
        let tables = SoapTables {
            u_all: &mut self.u_all,
            u_pos: &mut self.u_pos,
        };
        Ok(soap_step(
            tables,
            scores,
            labels,
            &self.split.pos,
            None,
            SoapSettings {
                gamma: c.gamma,
                margin: c.margin,
                surrogate: c.surrogate,
                top_k: None,
            },
            grad,
            &mut self.scratch,
        ))
    }
}

/// The two tables one SOAP step updates.
pub(crate) struct SoapTables<'a> {
    pub u_all: &'a mut [f32],
    pub u_pos: &'a mut [f32],
}

/// The settings of one SOAP step.
#[derive(Clone, Copy)]
pub(crate) struct SoapSettings {
    pub gamma: f64,
    pub margin: f64,
    pub surrogate: Surrogate,
    /// mAP@k: weights times `σ(k − Σ_i ℓ_ij)`.
    pub top_k: Option<f64>,
}

/// Buffers reused by [`soap_step`].
#[derive(Debug, Clone, Default)]
pub(crate) struct SoapScratch {
    /// Table index of each positive (the caller fills it before the step).
    pub state_ids: Vec<usize>,
    rows: Vec<Row>,
    cols: Vec<f64>,
    col_factor: Vec<f32>,
    par: Vec<f64>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Row {
    /// The batch estimates `(1/B) Σ_j ℓ_ij` and `(1/B) Σ_j ℓ_ij·y_j`.
    batch_all: f64,
    batch_pos: f64,
    /// The weights' parts in f64 (the value is formed from them and the row sums: it is a
    /// difference of two terms that cancel on a first visit).
    a64: f64,
    b64: f64,
    /// The weights' two parts: p_ij = a − b·y_j.
    a: f32,
    b: f32,
    grad: f64,
    value: f64,
}

/// One SOAP step on one task: `h`, `y` the batch's scores and labels (`B`), `pos` the batch
/// positions of the positives, `scratch.state_ids` their table indices. Writes the gradient
/// into `grad` (`B`, overwritten) scaled by `scale`, returns the value.
#[allow(clippy::too_many_arguments)]
pub(crate) fn soap_step(
    tables: SoapTables,
    h: &[f32],
    y: &[f32],
    pos: &[usize],
    scale: Option<f64>,
    s: SoapSettings,
    grad: &mut [f32],
    scratch: &mut SoapScratch,
) -> f64 {
    let (b, p) = (h.len(), pos.len());
    let SoapScratch {
        state_ids,
        rows,
        cols,
        col_factor,
        par,
    } = scratch;
    rows.clear();
    rows.resize(p, Row::default());
    let top_k = s.top_k.is_some();
    with_surrogate!(s.surrogate, s.margin, |f| {
        // Pass 1: the batch estimates (row sums), and for mAP@k the column sums of ℓ.
        rows_cols(rows, b, par, cols, |k, r, col| {
            let hi = h[pos[k]];
            let (mut all, mut with_pos) = (0.0f64, 0.0f64);
            if top_k {
                for j in 0..b {
                    let l = f.value(hi - h[j]);
                    all += f64::from(l);
                    with_pos += f64::from(l * y[j]);
                    col[j] += f64::from(l);
                }
            } else {
                [all, with_pos] = row_sums(
                    h,
                    y,
                    #[inline(always)]
                    |hj, yj| {
                        let l = f.value(hi - hj);
                        [l, l * yj]
                    },
                );
            }
            r.batch_all = all / b as f64;
            r.batch_pos = with_pos / b as f64;
        });
        // The state: every occurrence from the old entry, the last one kept, then read back.
        let g = s.gamma;
        for (r, &id) in rows.iter_mut().zip(state_ids.iter()) {
            // Borrow a64/b64 to carry the new entries until every occurrence has read the old.
            r.a64 = (1.0 - g) * f64::from(tables.u_all[id]) + g * r.batch_all;
            r.b64 = (1.0 - g) * f64::from(tables.u_pos[id]) + g * r.batch_pos;
        }
        for (r, &id) in rows.iter().zip(state_ids.iter()) {
            tables.u_all[id] = r.a64 as f32;
            tables.u_pos[id] = r.b64 as f32;
        }
        for (r, &id) in rows.iter_mut().zip(state_ids.iter()) {
            let (ua, up) = (f64::from(tables.u_all[id]), f64::from(tables.u_pos[id]));
            r.a64 = up / (ua * ua);
            r.b64 = 1.0 / ua;
            r.a = r.a64 as f32;
            r.b = r.b64 as f32;
        }
        col_factor.clear();
        match s.top_k {
            Some(k) => col_factor.extend(cols.iter().map(|&c| sigmoid(k - c) as f32)),
            None => col_factor.resize(b, 1.0),
        }
        // Pass 2: the weighted pairs' value and gradient.
        let cf = &col_factor[..];
        rows_cols(rows, b, par, cols, |k, r, col| {
            let hi = h[pos[k]];
            let (mut gi, mut s1, mut s2) = (0.0f64, 0.0f64, 0.0f64);
            if top_k {
                for j in 0..b {
                    let (l, dl) = f.both(hi - h[j]);
                    let w = (r.a - r.b * y[j]) * cf[j];
                    let wd = w * dl;
                    gi += f64::from(wd);
                    s1 += f64::from(cf[j] * l);
                    s2 += f64::from(cf[j] * l * y[j]);
                    col[j] += f64::from(wd);
                }
            } else {
                let (a, bk) = (r.a, r.b);
                [gi] = row_sums_col(
                    h,
                    y,
                    col,
                    #[inline(always)]
                    |hj, yj| {
                        let (_, dl) = f.both(hi - hj);
                        let wd = (a - bk * yj) * dl;
                        ([wd], wd)
                    },
                );
                s1 = r.batch_all * b as f64;
                s2 = r.batch_pos * b as f64;
            }
            r.grad = gi;
            // Σ_j (a − b·y_j)·c_j·ℓ_ij in f64.
            r.value = r.a64 * s1 - r.b64 * s2;
        });
    });
    let norm = scale.unwrap_or(1.0) / (p * b) as f64;
    for (g, c) in grad.iter_mut().zip(cols.iter()) {
        *g = (-c * norm) as f32;
    }
    let mut value = 0.0;
    for (r, &i) in rows.iter().zip(pos) {
        grad[i] = (f64::from(grad[i]) + r.grad * norm) as f32;
        value += r.value;
    }
    value * norm
}

fn sigmoid(x: f64) -> f64 {
    crate::surrogate::sigmoid(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: [f32; 8] = [0.8, 0.3, 0.6, 0.4, 0.5, 0.2, 0.7, 0.35];
    const Y: [f32; 8] = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

    #[test]
    fn spec_appendix_a_first_call() {
        let mut k = ApKernel::new(ApConfig::new(8)).unwrap();
        let ids: Vec<usize> = (0..8).collect();
        let mut g = [0.0f32; 8];
        let v = k.forward(&S, &Y, &ids, &mut g).unwrap();
        assert!(v.abs() < 1e-6, "first-call value cancels: {v}");
        for (i, want_all, want_pos) in [
            (0, 0.451406, 0.2025),
            (2, 0.732656, 0.315),
            (5, 1.511156, 0.621),
        ] {
            assert!((f64::from(k.u_all()[i]) - want_all).abs() < 1e-5);
            assert!((f64::from(k.u_pos()[i]) - want_pos).abs() < 1e-5);
        }
        assert_eq!(k.u_all()[1], 0.0, "negatives keep no state");
        assert!(
            k.forward(&S, &Y, &[0, 1, 2, 3, 4, 5, 6, 8], &mut g)
                .is_err()
        );
    }

    /// The gradient is the derivative of the value with the weights held fixed: a finite
    /// difference on a second call, with the state put back before each evaluation.
    #[test]
    fn gradient_is_the_slope_of_the_value_at_fixed_weights() {
        let cfg = ApConfig {
            gamma: 0.5,
            ..ApConfig::new(8)
        };
        let ids: Vec<usize> = (0..8).collect();
        let mut base = ApKernel::new(cfg).unwrap();
        let mut g = [0.0f32; 8];
        base.forward(&S, &Y, &ids, &mut g).unwrap();
        // With γ → the weights depend on h through the state; compare with γ-free weights:
        // fix the state to the batch estimate by a γ = 1 kernel on the same scores.
        let mut k1 = ApKernel::new(ApConfig { gamma: 1.0, ..cfg }).unwrap();
        let mut g1 = [0.0f32; 8];
        k1.forward(&S, &Y, &ids, &mut g1).unwrap();
        let (ua, up) = (k1.u_all().to_vec(), k1.u_pos().to_vec());
        let value_at = |h: &[f32]| -> f64 {
            let mut v = 0.0;
            let pos: Vec<usize> = (0..8).filter(|&i| Y[i] == 1.0).collect();
            for &i in &pos {
                for j in 0..8 {
                    let l = Surrogate::SquaredHinge.value(1.0, f64::from(h[i] - h[j]));
                    let p = (f64::from(up[i]) - f64::from(ua[i]) * f64::from(Y[j]))
                        / f64::from(ua[i]).powi(2);
                    v += p * l;
                }
            }
            v / (pos.len() * 8) as f64
        };
        for i in 0..8 {
            let mut hp = S;
            let mut hm = S;
            hp[i] += 1e-3;
            hm[i] -= 1e-3;
            let fd = (value_at(&hp) - value_at(&hm)) / 2e-3;
            assert!(
                (f64::from(g1[i]) - fd).abs() < 1e-3,
                "{i}: {} vs {fd}",
                g1[i]
            );
        }
    }

    #[test]
    fn duplicate_ids_keep_the_last_occurrence() {
        let mut k = ApKernel::new(ApConfig::new(4)).unwrap();
        let mut g = [0.0f32; 4];
        // positions 0 and 2 are positives sharing id 1.
        k.forward(
            &[0.9, 0.1, 0.6, 0.2],
            &[1.0, 0.0, 1.0, 0.0],
            &[1, 0, 1, 3],
            &mut g,
        )
        .unwrap();
        // The kept value is the second positive's (score 0.6) batch estimate × γ.
        let l = |t: f64| Surrogate::SquaredHinge.value(1.0, t);
        let est: f64 = [0.9, 0.1, 0.6, 0.2]
            .iter()
            .map(|&x| l(0.6 - x))
            .sum::<f64>()
            / 4.0;
        assert!((f64::from(k.u_all()[1]) - 0.9 * est).abs() < 1e-6);
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut k = ApKernel::new(ApConfig::new(4)).unwrap();
        let mut g = [0.0f32; 2];
        assert!(
            k.forward(&[0.5, f32::NAN], &[1.0, 0.0], &[0, 1], &mut g)
                .is_err()
        );
        assert!(
            k.forward(&[0.5, 0.2], &[0.0, 0.0], &[0, 1], &mut g)
                .is_err()
        );
        assert!(k.forward(&[0.5, 0.2], &[1.0, 0.0], &[0], &mut g).is_err());
        assert!(
            k.forward(&[0.5, 0.2], &[1.0, 0.0], &[0, 1], &mut [0.0; 3])
                .is_err()
        );
        assert!(
            ApKernel::new(ApConfig {
                gamma: 0.0,
                ..ApConfig::new(4)
            })
            .is_err()
        );
        assert!(
            ApKernel::new(ApConfig {
                gamma: f64::NAN,
                ..ApConfig::new(4)
            })
            .is_err()
        );
    }
}
