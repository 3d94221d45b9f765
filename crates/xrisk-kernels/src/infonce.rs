//! The mini-batch contrastive baselines the global contrastive losses are measured against
//! (spec `tempnet_isogclr_spec.md` §1.1–1.2): SimCLR's NT-Xent for two views and CLIP's
//! symmetric cross-entropy for pairs, at a fixed temperature τ. The framework forms the
//! similarity matrices of L2-normalised rows; the kernels return the value and the gradient
//! with respect to them. Stateless.
//!
//! ```text
//! unimodal (z = [a; b], 2B rows):  value = mean_k −ln( exp(z_k·z_k⁺/τ) / Σ_{l≠k} exp(z_k·z_l/τ) )
//!                                  from ab = a·bᵀ, aa = a·aᵀ, bb = b·bᵀ (B × B each)
//! bimodal  (S = a·bᵀ):             value = ½ [ mean_i CE(S_i·/τ, i) + mean_j CE(S_·j/τ, j) ]
//! ```
//!
//! Unlike the global contrastive losses, the positive is in the denominator and the normaliser
//! is the batch's: its gradient is the biased mini-batch estimator SogCLR corrects. Cost: one
//! pass (two for the column softmax of CLIP) over the similarities.

use crate::check;
use crate::error::{KernelError, Result};

fn check_tau(tau: f64) -> Result<()> {
    check::positive("tau", tau, "the temperature must be > 0")
}

fn check_square(mats: &[&[f32]], grads: &[usize]) -> Result<usize> {
    let n = mats[0].len();
    let b = (n as f64).sqrt().round() as usize;
    if b < 2 || b * b != n {
        return Err(KernelError::InvalidConfig {
            name: "batch size",
            value: b as f64,
            reason: "the similarity matrices must be B × B with B ≥ 2 (every other sample is a negative)",
        });
    }
    for m in mats {
        if m.len() != n {
            return Err(KernelError::LengthMismatch {
                scores: m.len(),
                labels: n,
                ids: b,
            });
        }
        check::finite("InfoNceLoss", m)?;
    }
    for &g in grads {
        check::grad_len("grad", g, n)?;
    }
    Ok(b)
}

/// `(log Σ_k exp(x_k), softmax)` of one row written into `p`.
fn log_softmax_row(x: impl Iterator<Item = f64> + Clone, p: &mut Vec<f64>) -> f64 {
    let m = x.clone().fold(f64::NEG_INFINITY, f64::max);
    p.clear();
    p.extend(x.map(|v| (v - m).exp()));
    let s: f64 = p.iter().sum();
    p.iter_mut().for_each(|v| *v /= s);
    s.ln() + m
}

/// NT-Xent of two views from `ab`, `aa`, `bb` (`B × B` row-major); writes the gradients.
pub fn nt_xent(
    tau: f64,
    ab: &[f32],
    aa: &[f32],
    bb: &[f32],
    grads: (&mut [f32], &mut [f32], &mut [f32]),
) -> Result<f64> {
    check_tau(tau)?;
    let (g_ab, g_aa, g_bb) = grads;
    let b = check_square(&[ab, aa, bb], &[g_ab.len(), g_aa.len(), g_bb.len()])?;
    for g in [&mut *g_ab, &mut *g_aa, &mut *g_bb] {
        g.iter_mut().for_each(|x| *x = 0.0);
    }
    let scale = 1.0 / (2 * b) as f64;
    let mut p = Vec::with_capacity(2 * b);
    let mut value = 0.0;
    for view in 0..2 {
        for i in 0..b {
            // Row k of z·zᵀ: view 0 → [aa_i·, ab_i·], view 1 → [ab_·i, bb_i·]; positive ab_ii.
            let x = |k: usize| -> f64 {
                let (same, j) = (k < b, k % b);
                let v = match (view, same) {
                    (0, true) => aa[i * b + j],
                    (0, false) => ab[i * b + j],
                    (_, true) => ab[j * b + i],
                    (_, false) => bb[i * b + j],
                };
                f64::from(v) / tau
            };
            // Exclude self: view 0 skips aa_ii (k = i), view 1 skips bb_ii (k = b + i).
            let own = if view == 0 { i } else { b + i };
            let lse = log_softmax_row((0..2 * b).filter(|&k| k != own).map(x), &mut p);
            let pos_k = if view == 0 { b + i } else { i };
            value += lse - x(pos_k);
            for (pi, k) in p.iter().zip((0..2 * b).filter(|&k| k != own)) {
                let d = (pi - if k == pos_k { 1.0 } else { 0.0 }) * scale / tau;
                let (same, j) = (k < b, k % b);
                let g = match (view, same) {
                    (0, true) => &mut g_aa[i * b + j],
                    (0, false) => &mut g_ab[i * b + j],
                    (_, true) => &mut g_ab[j * b + i],
                    (_, false) => &mut g_bb[i * b + j],
                };
                *g = (f64::from(*g) + d) as f32;
            }
        }
    }
    Ok(value * scale)
}

/// CLIP's symmetric cross-entropy of `S = a·bᵀ` (`B × B` row-major); writes `∂value/∂S`.
pub fn clip(tau: f64, s: &[f32], grad: &mut [f32]) -> Result<f64> {
    check_tau(tau)?;
    let b = check_square(&[s], &[grad.len()])?;
    grad.iter_mut().for_each(|x| *x = 0.0);
    let scale = 1.0 / (2 * b) as f64;
    let mut p = Vec::with_capacity(b);
    let mut value = 0.0;
    for dir in 0..2 {
        for i in 0..b {
            let at = |j: usize| if dir == 0 { i * b + j } else { j * b + i };
            let lse = log_softmax_row((0..b).map(|j| f64::from(s[at(j)]) / tau), &mut p);
            value += lse - f64::from(s[at(i)]) / tau;
            for (j, pj) in p.iter().enumerate() {
                let d = (pj - if j == i { 1.0 } else { 0.0 }) * scale / tau;
                grad[at(j)] = (f64::from(grad[at(j)]) + d) as f32;
            }
        }
    }
    Ok(value * scale)
}
