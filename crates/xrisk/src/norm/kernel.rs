//! Training-mode batch norm on plain `f32` NCHW slices, with no tensor framework: the
//! per-channel batch statistics, the normalisation (optionally followed by a ReLU), and its
//! gradients.
//!
//! With `M = B·H·W` values per channel, `μ_c = Σ x / M`, `σ²_c = Σ (x − μ_c)² / M` (biased, as
//! burn's `batch_norm_train`), `x̂ = (x − μ_c) / √(σ²_c + ε)`, `z = γ_c·x̂ + β_c` and
//! `y = z` (or `y = max(z, 0)` with the fused ReLU), let `g = ∂L/∂z` (`= ∂L/∂y`, or `∂L/∂y`
//! where `z > 0` and 0 elsewhere with the ReLU). Then
//!
//! - `∂L/∂β_c = Σ g`, `∂L/∂γ_c = Σ g·x̂`;
//! - `∂L/∂x = γ_c / √(σ²_c + ε) · (g − ∂L/∂β_c / M − x̂ · ∂L/∂γ_c / M)`.
//!
//! The backward pass reads `x` and `∂L/∂y` twice: once for the per-channel sums (which give
//! `∂L/∂γ` and `∂L/∂β`), once to write `∂L/∂x`; the ReLU's mask is recomputed from `x` with the
//! forward's own operations, so it equals the forward's bit for bit and nothing extra is stored.
//!
//! Sums run over each `H·W` plane in 16 `f32` lanes and across planes in `f64`, one channel at a
//! time, so the result does not depend on the number of threads: channels (statistics, sums) and
//! samples (normalisation, input gradient) are spread over rayon's pool when the tensor is large
//! enough to pay for it. Every loop is compiled for the best instruction set of the CPU at run
//! time (`pulp`: AVX-512, AVX2, or the baseline), so the lanes become vector code.

use rayon::prelude::*;

/// Runs `f` compiled for the best instruction set of this CPU.
#[inline(always)]
fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// Tensors with fewer elements stay on the calling thread (the pool's start-up would cost more
/// than the work); the results are the same either way.
const PARALLEL_LEN: usize = 1 << 15;

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

    fn parallel(&self) -> bool {
        self.len() >= PARALLEL_LEN && rayon::current_num_threads() > 1
    }

    /// `f(c)` for every channel, in order, on the pool when the tensor is large.
    fn per_channel<T: Send>(&self, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
        if self.parallel() {
            (0..self.channels).into_par_iter().map(f).collect()
        } else {
            (0..self.channels).map(f).collect()
        }
    }

    /// `f(x, dy, out)` on the matching samples (`C·H·W` values each) of the three slices, for
    /// every sample, on the pool when the tensor is large.
    fn per_sample(
        &self,
        x: &[f32],
        dy: &[f32],
        out: &mut [f32],
        f: impl Fn(&[f32], &[f32], &mut [f32]) + Sync,
    ) {
        let len = (self.channels * self.plane).max(1);
        if self.parallel() {
            out.par_chunks_mut(len)
                .zip(x.par_chunks(len).zip(dy.par_chunks(len)))
                .for_each(|(o, (x, g))| f(x, g, o));
        } else {
            for (o, (x, g)) in out.chunks_mut(len).zip(x.chunks(len).zip(dy.chunks(len))) {
                f(x, g, o)
            }
        }
    }
}

/// The layer's parameters and batch statistics for one call.
#[derive(Debug, Clone, Copy)]
pub struct NormParams<'a> {
    /// `γ`, one per channel.
    pub gamma: &'a [f32],
    /// `β`, one per channel.
    pub beta: &'a [f32],
    /// `[μ; σ²]` from [`stats`] (`2C` values).
    pub stats: &'a [f32],
    /// `ε`.
    pub eps: f64,
    /// Whether a ReLU follows the normalisation (`y = max(z, 0)`).
    pub relu: bool,
}

impl NormParams<'_> {
    /// `1 / √(σ²_c + ε)`.
    fn inv(&self, c: usize) -> f64 {
        1.0 / (self.stats[self.gamma.len() + c] as f64 + self.eps).sqrt()
    }

    /// `(a, b)` with `z = a·x + b` on channel `c`.
    fn affine(&self, c: usize) -> (f32, f32) {
        let (g, inv) = (self.gamma[c] as f64, self.inv(c));
        (
            (g * inv) as f32,
            (self.beta[c] as f64 - self.stats[c] as f64 * g * inv) as f32,
        )
    }

    fn check(&self, s: &NormShape) {
        assert!(
            self.gamma.len() == s.channels
                && self.beta.len() == s.channels
                && self.stats.len() == 2 * s.channels,
            "batch norm: parameter sizes"
        );
    }
}

const LANES: usize = 16;

/// `(Σ a, Σ a·b)` over a plane, in 16 lanes of `f32`, returned in `f64`.
fn sums(a: &[f32], b: &[f32]) -> (f64, f64) {
    dispatch(
        #[inline(always)]
        || sums_here(a, b),
    )
}

/// [`sums`] for the instruction set of the caller.
#[inline(always)]
fn sums_here(a: &[f32], b: &[f32]) -> (f64, f64) {
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

/// `g` where `z > 0`, else 0: a bitwise select (`g`'s bits and-ed with an all-ones or all-zeros
/// mask), which vectorises where a branch may not.
#[inline(always)]
fn keep(g: f32, z: f32) -> f32 {
    f32::from_bits(g.to_bits() & ((z > 0.0) as u32).wrapping_neg())
}

/// `(Σ g, Σ g·x)` over a plane with `g = dy` where `a·x + b > 0` and 0 elsewhere (the ReLU's
/// gradient), in 16 lanes of `f32`, returned in `f64`.
fn masked_sums(dy: &[f32], x: &[f32], a: f32, b: f32) -> (f64, f64) {
    dispatch(
        #[inline(always)]
        || masked_sums_here(dy, x, a, b),
    )
}

/// [`masked_sums`] for the instruction set of the caller.
#[inline(always)]
fn masked_sums_here(dy: &[f32], x: &[f32], a: f32, b: f32) -> (f64, f64) {
    let (mut s, mut p) = ([0.0f32; LANES], [0.0f32; LANES]);
    let ((gc, gr), (xc, xr)) = (dy.as_chunks::<LANES>(), x.as_chunks::<LANES>());
    for (g, v) in gc.iter().zip(xc) {
        for l in 0..LANES {
            let m = keep(g[l], v[l] * a + b);
            s[l] += m;
            p[l] += m * v[l];
        }
    }
    let mut s: f64 = s.iter().map(|&v| v as f64).sum();
    let mut p: f64 = p.iter().map(|&v| v as f64).sum();
    for (g, v) in gr.iter().zip(xr) {
        let m = if v * a + b > 0.0 { *g as f64 } else { 0.0 };
        s += m;
        p += m * (*v as f64);
    }
    (s, p)
}

/// `dst = a·src + b` over a plane, then `max(·, 0)` if `relu`.
fn affine_plane(src: &[f32], dst: &mut [f32], a: f32, b: f32, relu: bool) {
    dispatch(
        #[inline(always)]
        || {
            if relu {
                for (d, v) in dst.iter_mut().zip(src) {
                    *d = (v * a + b).max(0.0);
                }
            } else {
                for (d, v) in dst.iter_mut().zip(src) {
                    *d = v * a + b;
                }
            }
        },
    )
}

/// `dx = k·(g − x·q − r)` over a plane, with `g = dy` masked by `a·x + b > 0` if `relu`.
fn grad_plane(x: &[f32], dy: &[f32], dx: &mut [f32], &[k, q, r, a, b]: &[f32; 5], relu: bool) {
    dispatch(
        #[inline(always)]
        || {
            if relu {
                for ((o, gy), xv) in dx.iter_mut().zip(dy).zip(x) {
                    let g = keep(*gy, xv * a + b);
                    *o = k * (g - xv * q - r);
                }
            } else {
                for ((o, gy), xv) in dx.iter_mut().zip(dy).zip(x) {
                    *o = k * (gy - xv * q - r);
                }
            }
        },
    )
}

/// Per-channel batch mean and biased variance: `stats[..C]` the means, `stats[C..]` the
/// variances (`σ² = E[x²] − μ²`, summed in `f64`, clamped at 0).
pub fn stats(s: &NormShape, x: &[f32], stats: &mut [f32]) {
    assert!(
        x.len() == s.len() && stats.len() == 2 * s.channels,
        "batch norm: slice sizes"
    );
    let m = s.count();
    let sums = s.per_channel(|c| {
        s.planes(x, c).fold((0.0, 0.0), |(a, b), p| {
            let (u, v) = sums(p, p);
            (a + u, b + v)
        })
    });
    for (c, (sum, sq)) in sums.into_iter().enumerate() {
        let mean = sum / m;
        stats[c] = mean as f32;
        stats[s.channels + c] = (sq / m - mean * mean).max(0.0) as f32;
    }
}

/// `y = γ·(x − μ)/√(σ² + ε) + β`, then `max(y, 0)` if `p.relu`.
pub fn forward(s: &NormShape, p: &NormParams, x: &[f32], y: &mut [f32]) {
    assert!(
        x.len() == s.len() && y.len() == s.len(),
        "batch norm: slice sizes"
    );
    p.check(s);
    let coef: Vec<(f32, f32)> = (0..s.channels).map(|c| p.affine(c)).collect();
    let plane = s.plane.max(1);
    s.per_sample(x, x, y, |x, _, y| {
        for ((src, dst), &(a, b)) in x.chunks(plane).zip(y.chunks_mut(plane)).zip(&coef) {
            affine_plane(src, dst, a, b, p.relu);
        }
    });
}

/// `(∂L/∂γ, ∂L/∂β)` as `grads[..C]`, `grads[C..]`, given `dy = ∂L/∂y`.
pub fn param_grads(s: &NormShape, p: &NormParams, x: &[f32], dy: &[f32], grads: &mut [f32]) {
    assert!(
        x.len() == s.len() && dy.len() == s.len() && grads.len() == 2 * s.channels,
        "batch norm: slice sizes"
    );
    p.check(s);
    let c_n = s.channels;
    let sums = s.per_channel(|c| {
        let (a, b) = p.affine(c);
        s.planes(dy, c)
            .zip(s.planes(x, c))
            .fold((0.0, 0.0), |(u, w), (g, v)| {
                let (du, dw) = if p.relu {
                    masked_sums(g, v, a, b)
                } else {
                    sums(g, v)
                };
                (u + du, w + dw)
            })
    });
    for (c, (sg, sgx)) in sums.into_iter().enumerate() {
        grads[c] = ((sgx - p.stats[c] as f64 * sg) * p.inv(c)) as f32;
        grads[c_n + c] = sg as f32;
    }
}

/// `∂L/∂x` given `dy = ∂L/∂y` and `grads` from [`param_grads`].
pub fn input_grad(
    s: &NormShape,
    p: &NormParams,
    x: &[f32],
    dy: &[f32],
    grads: &[f32],
    dx: &mut [f32],
) {
    assert!(
        x.len() == s.len()
            && dy.len() == s.len()
            && dx.len() == s.len()
            && grads.len() == 2 * s.channels,
        "batch norm: slice sizes"
    );
    p.check(s);
    let (c_n, m) = (s.channels, s.count());
    // Per channel: dx = k·(g − x·q − r) with k = γ·inv, q = dγ·inv / M, r = dβ/M − μ·q.
    let coef: Vec<[f32; 5]> = (0..c_n)
        .map(|c| {
            let inv = p.inv(c);
            let q = grads[c] as f64 * inv / m;
            let r = grads[c_n + c] as f64 / m - p.stats[c] as f64 * q;
            let (a, b) = p.affine(c);
            [(p.gamma[c] as f64 * inv) as f32, q as f32, r as f32, a, b]
        })
        .collect();
    let plane = s.plane.max(1);
    s.per_sample(x, dy, dx, |x, g, d| {
        for (((v, gy), o), c) in x
            .chunks(plane)
            .zip(g.chunks(plane))
            .zip(d.chunks_mut(plane))
            .zip(&coef)
        {
            grad_plane(v, gy, o, c, p.relu);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: u64) -> Vec<f32> {
        // The convolution tests' generator, in [-1.5, 2.5): skewed, so channels have a mean.
        crate::conv::kernel::tests::values(len, seed)
            .into_iter()
            .map(|v| v * 2.0 + 0.5)
            .collect()
    }

    /// The loss `Σ y ⊙ w` in f64 for a direct check of the gradients by central differences.
    fn loss(s: &NormShape, x: &[f64], gamma: &[f64], beta: &[f64], w: &[f32], relu: bool) -> f64 {
        let (m, eps) = (s.count(), 1e-5);
        let mut total = 0.0;
        for c in 0..s.channels {
            let idx: Vec<usize> = (0..s.batch)
                .flat_map(|b| (0..s.plane).map(move |i| (b * s.channels + c) * s.plane + i))
                .collect();
            let mean = idx.iter().map(|&i| x[i]).sum::<f64>() / m;
            let var = idx.iter().map(|&i| (x[i] - mean).powi(2)).sum::<f64>() / m;
            for &i in &idx {
                let z = gamma[c] * (x[i] - mean) / (var + eps).sqrt() + beta[c];
                total += if relu { z.max(0.0) } else { z } * w[i] as f64;
            }
        }
        total
    }

    fn check_definition(relu: bool) {
        let s = NormShape {
            batch: 3,
            channels: 2,
            plane: 21,
        };
        let (x, w) = (values(s.len(), 1), values(s.len(), 2));
        let (gamma, beta) = (vec![0.7f32, -1.3], vec![0.2f32, 0.5]);
        let mut st = vec![0.0; 4];
        stats(&s, &x, &mut st);
        let p = NormParams {
            gamma: &gamma,
            beta: &beta,
            stats: &st,
            eps: 1e-5,
            relu,
        };
        let mut y = vec![0.0; s.len()];
        forward(&s, &p, &x, &mut y);
        let xd: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let (gd, bd): (Vec<f64>, Vec<f64>) = (
            gamma.iter().map(|&v| v as f64).collect(),
            beta.iter().map(|&v| v as f64).collect(),
        );
        let got: f64 = y.iter().zip(&w).map(|(a, b)| *a as f64 * *b as f64).sum();
        let want = loss(&s, &xd, &gd, &bd, &w, relu);
        assert!((got - want).abs() < 1e-3, "forward {got} vs {want}");
        if relu {
            assert!(y.contains(&0.0) && y.iter().all(|&v| v >= 0.0));
        }
        let mut g = vec![0.0; 4];
        param_grads(&s, &p, &x, &w, &mut g);
        let mut dx = vec![0.0; s.len()];
        input_grad(&s, &p, &x, &w, &g, &mut dx);
        let h = 1e-4;
        let mut checked = 0;
        for i in 0..s.len() {
            let (mut a, mut b) = (xd.clone(), xd.clone());
            a[i] += h;
            b[i] -= h;
            // Central differences across the ReLU's kink say nothing: skip those points.
            let z = |x: &[f64]| {
                let c = (i / s.plane) % s.channels;
                let (mut m, mut v) = (0.0, 0.0);
                let idx: Vec<usize> = (0..s.batch)
                    .flat_map(|b| (0..s.plane).map(move |j| (b * s.channels + c) * s.plane + j))
                    .collect();
                for &j in &idx {
                    m += x[j] / s.count();
                }
                for &j in &idx {
                    v += (x[j] - m).powi(2) / s.count();
                }
                gd[c] * (x[i] - m) / (v + 1e-5).sqrt() + bd[c]
            };
            if relu && z(&a).signum() != z(&b).signum() {
                continue;
            }
            let num =
                (loss(&s, &a, &gd, &bd, &w, relu) - loss(&s, &b, &gd, &bd, &w, relu)) / (2.0 * h);
            assert!(
                (dx[i] as f64 - num).abs() < 2e-3 * num.abs().max(1.0),
                "relu {relu}: dx[{i}] {} vs {num}",
                dx[i]
            );
            checked += 1;
        }
        assert!(checked > s.len() / 2, "{checked} points checked");
        for c in 0..2 {
            for (k, what) in [(0, "dgamma"), (1, "dbeta")] {
                let (mut a, mut b) = ([gd.clone(), bd.clone()], [gd.clone(), bd.clone()]);
                a[k][c] += h;
                b[k][c] -= h;
                let num = (loss(&s, &xd, &a[0], &a[1], &w, relu)
                    - loss(&s, &xd, &b[0], &b[1], &w, relu))
                    / (2.0 * h);
                let got = g[k * 2 + c] as f64;
                assert!(
                    (got - num).abs() < 2e-3 * num.abs().max(1.0),
                    "relu {relu}: {what}[{c}] {got} vs {num}"
                );
            }
        }
    }

    #[test]
    fn forward_and_gradients_match_the_definition() {
        check_definition(false);
    }

    #[test]
    fn fused_relu_forward_and_gradients_match_the_definition() {
        check_definition(true);
    }

    /// Channels and samples on two threads give the same bits as one thread.
    #[test]
    fn two_threads_give_the_bits_of_one() {
        let s = NormShape {
            batch: 8,
            channels: 16,
            plane: 300,
        };
        assert!(s.len() >= PARALLEL_LEN);
        let (x, dy) = (values(s.len(), 3), values(s.len(), 4));
        let (gamma, beta) = (values(16, 5), values(16, 6));
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool");
            pool.install(|| {
                let mut st = vec![0.0; 32];
                stats(&s, &x, &mut st);
                let p = NormParams {
                    gamma: &gamma,
                    beta: &beta,
                    stats: &st,
                    eps: 1e-5,
                    relu: true,
                };
                let (mut y, mut g, mut dx) =
                    (vec![0.0; s.len()], vec![0.0; 32], vec![0.0; s.len()]);
                forward(&s, &p, &x, &mut y);
                param_grads(&s, &p, &x, &dy, &mut g);
                input_grad(&s, &p, &x, &dy, &g, &mut dx);
                (st, y, g, dx)
            })
        };
        assert_eq!(run(1), run(2));
    }
}
