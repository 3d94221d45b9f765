//! TempNet's robust (KL-DRO) language-model loss (spec `tempnet_isogclr_spec.md` §3.2, §3.4):
//! for logits `z_i ∈ R^V`, target `y_i` and temperature `τ_i`,
//!
//! ```text
//! ℓ_i = τ_i·CE(z_i/τ_i, y_i) + (ρ − ln V)·τ_i,      value = mean_i ℓ_i
//! ∂ℓ_i/∂z_i = softmax(z_i/τ_i) − e_{y_i}            ∂ℓ_i/∂τ_i = ρ − KL(softmax(z_i/τ_i) ‖ U_V)
//! ```
//!
//! so the language model sees a cross-entropy at temperature τ and the temperature's gradient
//! does not depend on the label. With `τ ≡ 1` and `ρ = ln V` this is the plain cross-entropy.
//! Stateless. Cost: two passes over the `N × V` logits.

use crate::check;
use crate::error::{KernelError, Result};

/// The robust LM loss of `logits` (`N × V` row-major) with per-position temperatures `tau`
/// (`N`, > 0) and targets; writes `∂value/∂logits` and `∂value/∂τ`.
pub fn robust_lm_loss(
    logits: &[f32],
    tau: &[f32],
    targets: &[usize],
    rho: f64,
    grad_logits: &mut [f32],
    grad_tau: &mut [f32],
) -> Result<f64> {
    let n = targets.len();
    if n == 0 || tau.len() != n || !logits.len().is_multiple_of(n) {
        return Err(KernelError::LengthMismatch {
            scores: logits.len(),
            labels: n,
            ids: tau.len(),
        });
    }
    let v = logits.len() / n;
    check::grad_len("grad_logits", grad_logits.len(), logits.len())?;
    check::grad_len("grad_tau", grad_tau.len(), n)?;
    check::finite("robust_lm_loss", logits)?;
    check::finite_setting("rho", rho)?;
    if let Some(&t) = tau.iter().find(|t| !(t.is_finite() && **t > 0.0)) {
        return Err(KernelError::InvalidConfig {
            name: "tau",
            value: f64::from(t),
            reason: "every temperature must be finite and > 0",
        });
    }
    check::ids(targets, v)?;
    let ln_v = (v as f64).ln();
    let inv_n = 1.0 / n as f64;
    let mut value = 0.0;
    for (i, ((z, g), &y)) in logits
        .chunks(v)
        .zip(grad_logits.chunks_mut(v))
        .zip(targets)
        .enumerate()
    {
        let t = f64::from(tau[i]);
        let m = z
            .iter()
            .fold(f64::NEG_INFINITY, |a, &x| a.max(f64::from(x)))
            / t;
        let s: f64 = z.iter().map(|&x| (f64::from(x) / t - m).exp()).sum();
        let lse = s.ln() + m;
        let mut pz = 0.0;
        for (k, (&x, gk)) in z.iter().zip(g.iter_mut()).enumerate() {
            let p = (f64::from(x) / t - m).exp() / s;
            pz += p * f64::from(x);
            *gk = ((p - if k == y { 1.0 } else { 0.0 }) * inv_n) as f32;
        }
        let ce = lse - f64::from(z[y]) / t;
        value += t * ce + (rho - ln_v) * t;
        grad_tau[i] = ((lse - pz / t + rho - ln_v) * inv_n) as f32;
    }
    Ok(value * inv_n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_are_the_slopes_and_tau_one_is_cross_entropy() {
        let z = [0.3f32, -1.0, 2.0, 0.5, 0.1, -0.4];
        let (tau, y, rho) = ([0.7f32, 1.3], [2usize, 0], 0.4);
        let (mut gz, mut gt) = ([0.0f32; 6], [0.0f32; 2]);
        let v = robust_lm_loss(&z, &tau, &y, rho, &mut gz, &mut gt).unwrap();
        let f = |z: &[f32], t: &[f32]| {
            let (mut a, mut b) = ([0.0f32; 6], [0.0f32; 2]);
            robust_lm_loss(z, t, &y, rho, &mut a, &mut b).unwrap()
        };
        for k in 0..6 {
            let (mut a, mut b) = (z, z);
            a[k] += 1e-3;
            b[k] -= 1e-3;
            assert!((f64::from(gz[k]) - (f(&a, &tau) - f(&b, &tau)) / 2e-3).abs() < 1e-4);
        }
        for i in 0..2 {
            let (mut a, mut b) = (tau, tau);
            a[i] += 1e-3;
            b[i] -= 1e-3;
            assert!((f64::from(gt[i]) - (f(&z, &a) - f(&z, &b)) / 2e-3).abs() < 1e-4);
        }
        // τ = 1, ρ = ln V: the mean cross-entropy.
        let ce = robust_lm_loss(&z, &[1.0, 1.0], &y, 3f64.ln(), &mut gz, &mut gt).unwrap();
        let lse = |r: &[f32]| r.iter().map(|&x| f64::from(x).exp()).sum::<f64>().ln();
        let want = ((lse(&z[..3]) - 2.0) + (lse(&z[3..]) - 0.5)) / 2.0;
        assert!((ce - want).abs() < 1e-9 && v.is_finite());
        assert!(robust_lm_loss(&z, &tau, &[2, 3], rho, &mut gz, &mut gt).is_err());
        assert!(robust_lm_loss(&z, &[0.0, 1.0], &y, rho, &mut gz, &mut gt).is_err());
    }
}
