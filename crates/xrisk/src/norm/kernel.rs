//! Training-mode batch norm on plain `f32` NCHW slices, with no tensor framework: the
//! per-channel batch statistics, the normalisation, and its gradients.
//!
//! With `M = B·H·W` values per channel, `μ_c = Σ x / M`, `σ²_c = Σ (x − μ_c)² / M` (biased, as
//! burn's `batch_norm_train`), `x̂ = (x − μ_c) / √(σ²_c + ε)` and `y = γ_c·x̂ + β_c`:
//!
//! - `∂L/∂β_c = Σ dy`, `∂L/∂γ_c = Σ dy·x̂`;
//! - `∂L/∂x = γ_c / √(σ²_c + ε) · (dy − ∂L/∂β_c / M − x̂ · ∂L/∂γ_c / M)`.
//!
//! Sums run over each `H·W` plane in 16 `f32` lanes and across planes in `f64`; every loop is
//! compiled for the best instruction set of the CPU at run time (`pulp`: AVX-512, AVX2, or the
//! baseline), so the lanes become vector code.

/// Runs `f` compiled for the best instruction set of this CPU.
#[inline(always)]
fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// `[batch, channels, plane]` of an NCHW tensor (`plane = H·W`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormShape {
    /// Samples.
    pub batch: usize,
    /// Channels.
    pub channels: usize,
    /// Values per channel and sample (`H·W`).
    pub plane: usize,
}

impl NormShape {
    fn len(&self) -> usize {
        self.batch * self.channels * self.plane
    }

    fn count(&self) -> f64 {
        (self.batch * self.plane).max(1) as f64
    }

    /// The `(sample, channel)` planes of channel `c` in `data`.
    fn planes<'a>(&self, data: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> {
        (0..self.batch).map(move |b| &data[(b * self.channels + c) * self.plane..][..self.plane])
    }
}

const LANES: usize = 16;

/// `(Σ a, Σ a·b)` over a plane, in 16 lanes of `f32`, returned in `f64`.
#[inline(always)]
fn sums(a: &[f32], b: &[f32]) -> (f64, f64) {
    let (mut s, mut p) = ([0.0f32; LANES], [0.0f32; LANES]);
    let ((ac, ar), (bc, br)) = (a.as_chunks::<LANES>(), b.as_chunks::<LANES>());
    for (x, y) in ac.iter().zip(bc) {
        for l in 0..LANES {
            s[l] += x[l];
            p[l] += x[l] * y[l];
        }
    }
    let mut s: f64 = s.iter().map(|&v| v as f64).sum();
    let mut p: f64 = p.iter().map(|&v| v as f64).sum();
    for (x, y) in ar.iter().zip(br) {
        s += *x as f64;
        p += (*x as f64) * (*y as f64);
    }
    (s, p)
}

/// Per-channel batch mean and biased variance: `stats[..C]` the means, `stats[C..]` the
/// variances (`σ² = E[x²] − μ²`, summed in `f64`, clamped at 0).
pub fn stats(s: &NormShape, x: &[f32], stats: &mut [f32]) {
    dispatch(|| {
        assert!(
            x.len() == s.len() && stats.len() == 2 * s.channels,
            "batch norm: slice sizes"
        );
        let m = s.count();
        for c in 0..s.channels {
            let (sum, sq) = s.planes(x, c).fold((0.0, 0.0), |(a, b), p| {
                let (u, v) = sums(p, p);
                (a + u, b + v)
            });
            let mean = sum / m;
            stats[c] = mean as f32;
            stats[s.channels + c] = (sq / m - mean * mean).max(0.0) as f32;
        }
    })
}

/// `y = γ·(x − μ)/√(σ² + ε) + β` with the statistics of [`stats`].
pub fn forward(
    s: &NormShape,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    st: &[f32],
    eps: f64,
    y: &mut [f32],
) {
    dispatch(|| {
        assert!(
            x.len() == s.len() && y.len() == s.len(),
            "batch norm: slice sizes"
        );
        let c_n = s.channels;
        for (p, (src, dst)) in x
            .chunks(s.plane.max(1))
            .zip(y.chunks_mut(s.plane.max(1)))
            .enumerate()
        {
            let c = p % c_n;
            let inv = 1.0 / (st[c_n + c] as f64 + eps).sqrt();
            let a = (gamma[c] as f64 * inv) as f32;
            let b = (beta[c] as f64 - st[c] as f64 * gamma[c] as f64 * inv) as f32;
            for (d, v) in dst.iter_mut().zip(src) {
                *d = v * a + b;
            }
        }
    })
}

/// `Σ dy` per channel (`∂L/∂β`).
pub fn beta_grad(s: &NormShape, dy: &[f32], grads: &mut [f32]) {
    dispatch(|| {
        assert!(
            dy.len() == s.len() && grads.len() == s.channels,
            "batch norm: slice sizes"
        );
        for (c, g) in grads.iter_mut().enumerate() {
            *g = s.planes(dy, c).map(|p| sums(p, p).0).sum::<f64>() as f32;
        }
    })
}

/// `(∂L/∂γ, ∂L/∂β)` as `grads[..C]`, `grads[C..]`, given `dy`.
pub fn param_grads(s: &NormShape, x: &[f32], dy: &[f32], st: &[f32], eps: f64, grads: &mut [f32]) {
    dispatch(|| {
        assert!(grads.len() == 2 * s.channels, "batch norm: slice sizes");
        let c_n = s.channels;
        for c in 0..c_n {
            let (sdy, sdyx) = channel_sums(s, x, dy, c);
            let inv = 1.0 / (st[c_n + c] as f64 + eps).sqrt();
            grads[c] = ((sdyx - st[c] as f64 * sdy) * inv) as f32;
            grads[c_n + c] = sdy as f32;
        }
    })
}

/// `(Σ dy, Σ dy·x)` over channel `c`.
#[inline(always)]
fn channel_sums(s: &NormShape, x: &[f32], dy: &[f32], c: usize) -> (f64, f64) {
    s.planes(dy, c)
        .zip(s.planes(x, c))
        .fold((0.0, 0.0), |(a, b), (g, v)| {
            let (u, w) = sums(g, v);
            (a + u, b + w)
        })
}

/// `∂L/∂x` given `dy`.
pub fn input_grad(
    s: &NormShape,
    x: &[f32],
    gamma: &[f32],
    dy: &[f32],
    st: &[f32],
    eps: f64,
    dx: &mut [f32],
) {
    dispatch(|| {
        assert!(
            x.len() == s.len() && dy.len() == s.len() && dx.len() == s.len(),
            "batch norm: slice sizes"
        );
        let (c_n, m) = (s.channels, s.count());
        // Per channel: dx = k·(dy − x·q − r) with k = γ·inv, q = dγ·inv / M, r = dβ/M − μ·q.
        let coef: Vec<(f32, f32, f32)> = (0..c_n)
            .map(|c| {
                let (sdy, sdyx) = channel_sums(s, x, dy, c);
                let (mean, inv) = (st[c] as f64, 1.0 / (st[c_n + c] as f64 + eps).sqrt());
                let dgamma = (sdyx - mean * sdy) * inv;
                let q = dgamma * inv / m;
                let r = sdy / m - mean * q;
                ((gamma[c] as f64 * inv) as f32, q as f32, r as f32)
            })
            .collect();
        let plane = s.plane.max(1);
        for (p, ((g, v), d)) in dy
            .chunks(plane)
            .zip(x.chunks(plane))
            .zip(dx.chunks_mut(plane))
            .enumerate()
        {
            let (k, q, r) = coef[p % c_n];
            for ((o, gy), xv) in d.iter_mut().zip(g).zip(v) {
                *o = k * (gy - xv * q - r);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 1.5
            })
            .collect()
    }

    /// The loss `Σ y ⊙ w` in f64 for a direct check of the gradients by central differences.
    fn loss(s: &NormShape, x: &[f64], gamma: &[f64], beta: &[f64], w: &[f32], eps: f64) -> f64 {
        let m = s.count();
        let mut total = 0.0;
        for c in 0..s.channels {
            let idx: Vec<usize> = (0..s.batch)
                .flat_map(|b| (0..s.plane).map(move |i| (b * s.channels + c) * s.plane + i))
                .collect();
            let mean = idx.iter().map(|&i| x[i]).sum::<f64>() / m;
            let var = idx.iter().map(|&i| (x[i] - mean).powi(2)).sum::<f64>() / m;
            for &i in &idx {
                total += (gamma[c] * (x[i] - mean) / (var + eps).sqrt() + beta[c]) * w[i] as f64;
            }
        }
        total
    }

    #[test]
    fn forward_and_gradients_match_the_definition() {
        let s = NormShape {
            batch: 3,
            channels: 2,
            plane: 21,
        };
        let eps = 1e-5;
        let (x, w) = (values(s.len(), 1), values(s.len(), 2));
        let (gamma, beta) = (vec![0.7f32, -1.3], vec![0.2f32, 0.5]);
        let mut st = vec![0.0; 4];
        stats(&s, &x, &mut st);
        let mut y = vec![0.0; s.len()];
        forward(&s, &x, &gamma, &beta, &st, eps, &mut y);
        let xd: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let (gd, bd): (Vec<f64>, Vec<f64>) = (
            gamma.iter().map(|&v| v as f64).collect(),
            beta.iter().map(|&v| v as f64).collect(),
        );
        let got: f64 = y.iter().zip(&w).map(|(a, b)| *a as f64 * *b as f64).sum();
        assert!(
            (got - loss(&s, &xd, &gd, &bd, &w, eps)).abs() < 1e-3,
            "forward"
        );
        let mut dx = vec![0.0; s.len()];
        input_grad(&s, &x, &gamma, &w, &st, eps, &mut dx);
        let h = 1e-4;
        for i in [0, 5, 22, 40, s.len() - 1] {
            let (mut p, mut q) = (xd.clone(), xd.clone());
            p[i] += h;
            q[i] -= h;
            let num =
                (loss(&s, &p, &gd, &bd, &w, eps) - loss(&s, &q, &gd, &bd, &w, eps)) / (2.0 * h);
            assert!(
                (dx[i] as f64 - num).abs() < 2e-3 * num.abs().max(1.0),
                "dx[{i}] {} vs {num}",
                dx[i]
            );
        }
        let mut g = vec![0.0; 4];
        param_grads(&s, &x, &w, &st, eps, &mut g);
        for c in 0..2 {
            let (mut p, mut q) = (gd.clone(), gd.clone());
            p[c] += h;
            q[c] -= h;
            let num =
                (loss(&s, &xd, &p, &bd, &w, eps) - loss(&s, &xd, &q, &bd, &w, eps)) / (2.0 * h);
            assert!(
                (g[c] as f64 - num).abs() < 2e-3 * num.abs().max(1.0),
                "dgamma[{c}]"
            );
            let want: f64 = (0..s.batch)
                .flat_map(|b| (0..s.plane).map(move |i| (b * 2 + c) * 21 + i))
                .map(|i| w[i] as f64)
                .sum();
            assert!((g[2 + c] as f64 - want).abs() < 1e-3, "dbeta[{c}]");
        }
    }
}
