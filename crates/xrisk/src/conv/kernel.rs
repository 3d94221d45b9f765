//! The three kernels of a 2-D convolution on plain `f32` slices (NCHW input, OIHW weight), with
//! no tensor framework: the forward pass as im2col + one gemm, the input gradient as one gemm +
//! col2im, the weight gradient as one gemm of the output gradient against the input's im2col
//! matrix over all B·Ho·Wo output positions, and the bias gradient as a sum. The gemm is the
//! `gemm` crate's (the one burn-flex uses; AVX-512 kernels where the CPU has them).
//!
//! With `K = C·kh·kw`, `N = Ho·Wo` and the batch cut into chunks of `b` samples (one chunk unless
//! the im2col matrix would pass [`COL_FLOATS`]):
//!
//! - forward: `col[K, b·N] = im2col(x)`, `Y[O, b·N] = W[O, K] · col`, `y[s, o, n] = Y[o, s·N + n] + bias[o]`;
//! - input gradient: `dY[O, b·N]` from `dy`, `dcol[K, b·N] = Wᵀ · dY`, `dx = col2im(dcol)`;
//! - weight gradient: `dW[O, K] = Σ_chunks dY · colᵀ` (a single gemm of depth B·N when the
//!   batch is one chunk);
//! - bias gradient: `db[o] = Σ_{s,n} dy[s, o, n]`.
//!
//! Threads: the batch is cut into at most [`PARTS`] parts of whole samples (one part below
//! [`PARALLEL_MACS`] multiply-adds), processed on rayon's pool when it has more than one thread;
//! each part runs its chunks serially with its own scratch buffers. The weight gradient sums the
//! parts' partial gradients in part order. The parts depend on the problem's size only, never on
//! the thread count, so one thread and several give bit-identical results. Buffers are kept per
//! thread and reused across calls. Stride, asymmetric padding and any kernel size are supported;
//! dilation and groups are not (the caller falls back to burn's kernel for those).

use rayon::prelude::*;
use std::cell::RefCell;

/// Largest im2col matrix, in floats, built at once (1 MiB, about a core's L2 cache): the batch is
/// cut into chunks of samples whose im2col matrix fits, so the gemm reads it from cache.
/// Measured with `xrisk bench conv` at ResNet20's stage shapes: 1 MiB chunks were faster than one
/// matrix for the whole batch (which goes to memory) and than one sample per chunk.
pub const COL_FLOATS: usize = 1 << 18;

/// [`COL_FLOATS`], or 64 Ki floats in this module's tests so that small cases are chunked.
const fn col_floats() -> usize {
    if cfg!(test) { 1 << 16 } else { COL_FLOATS }
}

/// Multiply-adds per convolution from which the batch is cut into [`PARTS`] parts.
pub const PARALLEL_MACS: usize = 1 << 22;

/// Parts of the batch of a large convolution (a multiple of common core counts).
pub const PARTS: usize = 4;

/// The geometry of one convolution: input `[batch, in_c, h, w]`, weight
/// `[out_c, in_c, kh, kw]`, stride `[sh, sw]`, padding `[(top, bottom), (left, right)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Samples in the batch.
    pub batch: usize,
    /// Input channels.
    pub in_c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub out_c: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Vertical and horizontal stride (non-zero).
    pub stride: [usize; 2],
    /// `(before, after)` padding of the height and of the width.
    pub pad: [(usize, usize); 2],
}

impl ConvShape {
    /// Output height and width, `(h + top + bottom − kh) / sh + 1` and likewise; `None` when the
    /// kernel is larger than the padded input or a stride is zero.
    pub fn out_hw(&self) -> Option<(usize, usize)> {
        let [sh, sw] = self.stride;
        let ph = self.h + self.pad[0].0 + self.pad[0].1;
        let pw = self.w + self.pad[1].0 + self.pad[1].1;
        if sh == 0 || sw == 0 || self.kh == 0 || self.kw == 0 || ph < self.kh || pw < self.kw {
            return None;
        }
        Some(((ph - self.kh) / sh + 1, (pw - self.kw) / sw + 1))
    }

    /// Rows of the im2col matrix, `in_c · kh · kw`.
    pub fn k(&self) -> usize {
        self.in_c * self.kh * self.kw
    }

    fn n(&self) -> usize {
        self.out_hw().map_or(0, |(ho, wo)| ho * wo)
    }

    /// Samples per chunk: as many as keep the im2col matrix under [`COL_FLOATS`], at least 1.
    fn chunk(&self) -> usize {
        let per_sample = (self.k() * self.n()).max(1);
        (col_floats() / per_sample).clamp(1, self.batch.max(1))
    }

    /// Element counts of input, weight and output.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            self.batch * self.in_c * self.h * self.w,
            self.out_c * self.k(),
            self.batch * self.out_c * self.n(),
        )
    }
}

thread_local! {
    static COL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static MAT: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's two scratch buffers, grown to `a` and `b` floats (contents
/// unspecified).
fn with_buffers<R>(a: usize, b: usize, f: impl FnOnce(&mut [f32], &mut [f32]) -> R) -> R {
    COL.with(|col| {
        MAT.with(|mat| {
            let (mut col, mut mat) = (col.borrow_mut(), mat.borrow_mut());
            if col.len() < a {
                col.resize(a, 0.0);
            }
            if mat.len() < b {
                mat.resize(b, 0.0);
            }
            f(&mut col[..a], &mut mat[..b])
        })
    })
}

/// Runs `f` compiled for the best instruction set of this CPU (`pulp`: AVX-512, AVX2, or the
/// baseline), so the copy and add loops it inlines become vector code.
#[inline(always)]
fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// `f(index, chunk)` for every `len`-element chunk of `data`.
#[inline(always)]
fn rows<F>(data: &mut [f32], len: usize, f: F)
where
    F: Fn(usize, &mut [f32]),
{
    if len > 0 {
        data.chunks_mut(len).enumerate().for_each(|(i, c)| f(i, c));
    }
}

/// Samples per part: the batch in [`PARTS`] parts for a convolution of at least
/// [`PARALLEL_MACS`] multiply-adds, else in one.
fn part_len(s: &ConvShape) -> usize {
    let macs = s.batch * s.out_c * s.k() * s.n();
    let parts = if macs >= PARALLEL_MACS {
        PARTS.min(s.batch)
    } else {
        1
    };
    s.batch.div_ceil(parts.max(1)).max(1)
}

/// `f(part, first sample, chunk)` for the `per`-sample parts of `data` (`stride` values per
/// sample), on the pool when there are several parts and the pool has several threads.
fn parts<F>(data: &mut [f32], per: usize, stride: usize, f: F)
where
    F: Fn(usize, usize, &mut [f32]) + Sync + Send,
{
    let len = (per * stride).max(1);
    if data.len() > len && rayon::current_num_threads() > 1 {
        data.par_chunks_mut(len)
            .enumerate()
            .for_each(|(i, c)| f(i, i * per, c));
    } else {
        data.chunks_mut(len)
            .enumerate()
            .for_each(|(i, c)| f(i, i * per, c));
    }
}

/// `dst[m, n] (+)= lhs[m, k] · rhs[k, n]` with element strides `(row, column)` for each operand.
#[allow(clippy::too_many_arguments)]
fn gemm(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    lhs: &[f32],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[f32],
    (rhs_rs, rhs_cs): (usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                dst[r * dst_rs..r * dst_rs + n].fill(0.0);
            }
        }
        return;
    }
    // The last element each operand's strides reach must lie inside its slice.
    assert!(
        (m - 1) * dst_rs + n <= dst.len(),
        "gemm: destination too small"
    );
    assert!(
        (m - 1) * lhs_rs + (k - 1) * lhs_cs < lhs.len(),
        "gemm: lhs too small"
    );
    assert!(
        (k - 1) * rhs_rs + (n - 1) * rhs_cs < rhs.len(),
        "gemm: rhs too small"
    );
    // SAFETY: the asserts above keep every element the strides address inside its slice;
    // `dst` is borrowed mutably and does not alias `lhs` or `rhs`.
    unsafe {
        ::gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            ::gemm::Parallelism::None,
        );
    }
}

/// The range of output columns `ow` whose input column `ow·sw + kj − left` lies in `[0, w)`.
fn valid_cols(wo: usize, w: usize, sw: usize, kj: usize, left: usize) -> (usize, usize) {
    // ow·sw + kj ≥ left  ⇔  ow ≥ ceil((left − kj) / sw)
    let lo = left.saturating_sub(kj).div_ceil(sw).min(wo);
    // ow·sw + kj < w + left  ⇔  ow < ceil((w + left − kj) / sw)
    let hi = (w + left).saturating_sub(kj).div_ceil(sw).min(wo);
    (lo, hi.max(lo))
}

/// Fills `col[K, cb·N]` with the im2col matrix of samples `s0 .. s0 + cb`.
fn im2col(s: &ConvShape, x: &[f32], s0: usize, cb: usize, col: &mut [f32]) {
    dispatch(|| {
        let (ho, wo) = s.out_hw().unwrap_or((0, 0));
        let n = ho * wo;
        let (h, w, [sh, sw]) = (s.h, s.w, s.stride);
        let (top, left) = (s.pad[0].0, s.pad[1].0);
        rows(col, cb * n, |r, row| {
            let c = r / (s.kh * s.kw);
            let ki = (r / s.kw) % s.kh;
            let kj = r % s.kw;
            let (lo, hi) = valid_cols(wo, w, sw, kj, left);
            for (bi, out) in row.chunks_mut(n).enumerate() {
                let plane = &x[((s0 + bi) * s.in_c + c) * h * w..][..h * w];
                for (oh, dst) in out.chunks_mut(wo).enumerate() {
                    let ih = oh * sh + ki;
                    if ih < top || ih - top >= h {
                        dst.fill(0.0);
                        continue;
                    }
                    let src = &plane[(ih - top) * w..][..w];
                    dst[..lo].fill(0.0);
                    dst[hi..].fill(0.0);
                    if sw == 1 {
                        let start = lo + kj - left;
                        dst[lo..hi].copy_from_slice(&src[start..start + hi - lo]);
                    } else {
                        for (ow, d) in dst[lo..hi].iter_mut().enumerate() {
                            *d = src[(lo + ow) * sw + kj - left];
                        }
                    }
                }
            }
        });
    })
}

/// Adds the im2col-shaped gradient `dcol[K, cb·N]` of `cb` samples into `dx`, their
/// `[cb, C, H, W]` block.
fn col2im(s: &ConvShape, dcol: &[f32], cb: usize, dx: &mut [f32]) {
    dispatch(|| {
        let (ho, wo) = s.out_hw().unwrap_or((0, 0));
        let n = ho * wo;
        let (h, w, [sh, sw]) = (s.h, s.w, s.stride);
        let (top, left) = (s.pad[0].0, s.pad[1].0);
        let ld = cb * n;
        rows(&mut dx[..cb * s.in_c * h * w], h * w, |p, plane| {
            let (bi, c) = (p / s.in_c, p % s.in_c);
            for ki in 0..s.kh {
                for kj in 0..s.kw {
                    let r = (c * s.kh + ki) * s.kw + kj;
                    let src_row = &dcol[r * ld + bi * n..][..n];
                    let (lo, hi) = valid_cols(wo, w, sw, kj, left);
                    for (oh, src) in src_row.chunks(wo).enumerate() {
                        let ih = oh * sh + ki;
                        if ih < top || ih - top >= h {
                            continue;
                        }
                        let dst = &mut plane[(ih - top) * w..][..w];
                        if sw == 1 {
                            let start = lo + kj - left;
                            for (d, v) in dst[start..start + hi - lo].iter_mut().zip(&src[lo..hi]) {
                                *d += v;
                            }
                        } else {
                            for ow in lo..hi {
                                dst[ow * sw + kj - left] += src[ow];
                            }
                        }
                    }
                }
            }
        });
    })
}

/// Copies `dy[s0 .. s0 + cb, O, N]` into the matrix `mat[O, cb·N]`.
fn gather_out(s: &ConvShape, dy: &[f32], s0: usize, cb: usize, mat: &mut [f32]) {
    let n = s.n();
    rows(mat, cb * n, |o, row| {
        for (bi, dst) in row.chunks_mut(n).enumerate() {
            dst.copy_from_slice(&dy[((s0 + bi) * s.out_c + o) * n..][..n]);
        }
    });
}

/// The forward pass: `y[B, O, Ho, Wo] = W ⋆ x + bias`. Panics if a slice's length does not match
/// `s` (the tensor adapter checks shapes first).
pub fn forward(s: &ConvShape, x: &[f32], weight: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let (nx, nw, ny) = s.sizes();
    assert!(
        x.len() == nx && weight.len() == nw && y.len() == ny,
        "conv2d: slice sizes"
    );
    let on = s.out_c * s.n();
    parts(y, part_len(s), on, |_, first, y| {
        forward_part(s, x, weight, bias, first, y)
    });
}

/// [`forward`] for the samples `first ..` whose outputs `y` holds.
fn forward_part(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    first: usize,
    y: &mut [f32],
) {
    let (k, n, o) = (s.k(), s.n(), s.out_c);
    let count = y.len() / (o * n).max(1);
    let cb = s.chunk();
    with_buffers(k * cb * n, o * cb * n, |col, mat| {
        let mut done = 0;
        while done < count {
            let cb = cb.min(count - done);
            let (col, mat) = (&mut col[..k * cb * n], &mut mat[..o * cb * n]);
            im2col(s, x, first + done, cb, col);
            let out = &mut y[done * o * n..(done + cb) * o * n];
            if cb == 1 && bias.is_none() {
                // One sample: Y[O, N] is the sample's output block itself.
                gemm(o, n, k, out, n, false, weight, (k, 1), col, (n, 1));
            } else {
                gemm(
                    o,
                    cb * n,
                    k,
                    mat,
                    cb * n,
                    false,
                    weight,
                    (k, 1),
                    col,
                    (cb * n, 1),
                );
                rows(out, n, |p, dst| {
                    let (bi, oc) = (p / o, p % o);
                    let src = &mat[oc * cb * n + bi * n..][..n];
                    match bias {
                        Some(b) => dst.iter_mut().zip(src).for_each(|(d, v)| *d = v + b[oc]),
                        None => dst.copy_from_slice(src),
                    }
                });
            }
            done += cb;
        }
    });
}

/// `dY[O, cb·N]` of samples `s0 .. s0 + cb`: for one sample its block of `dy` itself, else
/// gathered into `mat`.
fn out_matrix<'a>(
    s: &ConvShape,
    dy: &'a [f32],
    s0: usize,
    cb: usize,
    mat: &'a mut [f32],
) -> &'a [f32] {
    let on = s.out_c * s.n();
    if cb == 1 {
        &dy[s0 * on..(s0 + 1) * on]
    } else {
        gather_out(s, dy, s0, cb, mat);
        mat
    }
}

/// The input gradient `dx[B, C, H, W]` of the forward pass, given the output gradient `dy`.
pub fn input_grad(s: &ConvShape, weight: &[f32], dy: &[f32], dx: &mut [f32]) {
    let (nx, nw, ny) = s.sizes();
    assert!(
        dx.len() == nx && weight.len() == nw && dy.len() == ny,
        "conv2d: slice sizes"
    );
    let (k, n, o) = (s.k(), s.n(), s.out_c);
    let image = s.in_c * s.h * s.w;
    let cb = s.chunk();
    parts(dx, part_len(s), image, |_, first, dx| {
        dx.fill(0.0);
        let count = dx.len() / image.max(1);
        with_buffers(k * cb * n, o * cb * n, |dcol, mat| {
            let mut done = 0;
            while done < count {
                let cb = cb.min(count - done);
                let (dcol, mat) = (&mut dcol[..k * cb * n], &mut mat[..o * cb * n]);
                let dy_mat = out_matrix(s, dy, first + done, cb, mat);
                // dcol[K, cb·N] = Wᵀ[K, O] · dY[O, cb·N]
                gemm(
                    k,
                    cb * n,
                    o,
                    dcol,
                    cb * n,
                    false,
                    weight,
                    (1, k),
                    dy_mat,
                    (cb * n, 1),
                );
                col2im(s, dcol, cb, &mut dx[done * image..]);
                done += cb;
            }
        });
    });
}

/// The weight gradient `dw[O, C, kh, kw]` of the forward pass, given its input `x` and the
/// output gradient `dy`: each part of the batch sums its chunks' `col · dYᵀ` into a partial
/// `dWᵀ[K, O]`, and the partials are added in part order and transposed into `dw`. (Computing
/// `dWᵀ` lets the gemm pack the small `dY` instead of gathering the im2col matrix across rows;
/// measured 10–40 % faster at ResNet20's shapes.)
pub fn weight_grad(s: &ConvShape, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    let (nx, nw, ny) = s.sizes();
    assert!(
        x.len() == nx && dw.len() == nw && dy.len() == ny,
        "conv2d: slice sizes"
    );
    let per = part_len(s);
    let n_parts = s.batch.div_ceil(per).max(1);
    let mut partials = vec![0.0f32; n_parts * nw];
    parts(&mut partials, 1, nw, |p, _, dwt| {
        let first = p * per;
        weight_grad_part(s, x, dy, first, per.min(s.batch.saturating_sub(first)), dwt);
    });
    let (mut parts_iter, k, o) = (partials.chunks(nw.max(1)), s.k(), s.out_c);
    let mut dwt = parts_iter.next().map(<[f32]>::to_vec).unwrap_or_default();
    for part in parts_iter {
        dwt.iter_mut().zip(part).for_each(|(d, p)| *d += p);
    }
    for (r, row) in dwt.chunks(o.max(1)).enumerate().take(k) {
        for (oc, v) in row.iter().enumerate() {
            dw[oc * k + r] = *v;
        }
    }
}

/// `dwt = Σ col · dYᵀ` (`[K, O]`) over the samples `first .. first + count`, one gemm per chunk.
fn weight_grad_part(
    s: &ConvShape,
    x: &[f32],
    dy: &[f32],
    first: usize,
    count: usize,
    dwt: &mut [f32],
) {
    let (k, n, o) = (s.k(), s.n(), s.out_c);
    let cb = s.chunk();
    dwt.fill(0.0);
    with_buffers(k * cb * n, o * cb * n, |col, mat| {
        let mut done = 0;
        while done < count {
            let cb = cb.min(count - done);
            let (col, mat) = (&mut col[..k * cb * n], &mut mat[..o * cb * n]);
            im2col(s, x, first + done, cb, col);
            let dy_mat = out_matrix(s, dy, first + done, cb, mat);
            // dWᵀ[K, O] += col[K, cb·N] · dYᵀ[cb·N, O]
            gemm(
                k,
                o,
                cb * n,
                dwt,
                o,
                done > 0,
                col,
                (cb * n, 1),
                dy_mat,
                (1, cb * n),
            );
            done += cb;
        }
    });
}

/// The bias gradient `db[O] = Σ_{b, n} dy[b, o, n]`.
pub fn bias_grad(s: &ConvShape, dy: &[f32], db: &mut [f32]) {
    let n = s.n();
    db.fill(0.0);
    for (p, plane) in dy.chunks(n.max(1)).enumerate().take(s.batch * s.out_c) {
        db[p % s.out_c] += plane.iter().sum::<f32>();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Direct f64 convolution, the definition: y[b,o,i,j] = Σ_{c,ki,kj} w[o,c,ki,kj]·x[b,c,i·sh+ki−top, j·sw+kj−left].
    fn naive(s: &ConvShape, x: &[f32], w: &[f32]) -> Vec<f64> {
        let (ho, wo) = s.out_hw().unwrap();
        let mut y = vec![0.0f64; s.batch * s.out_c * ho * wo];
        for b in 0..s.batch {
            for o in 0..s.out_c {
                for i in 0..ho {
                    for j in 0..wo {
                        let mut acc = 0.0f64;
                        for c in 0..s.in_c {
                            for ki in 0..s.kh {
                                for kj in 0..s.kw {
                                    let ih = (i * s.stride[0] + ki) as isize - s.pad[0].0 as isize;
                                    let iw = (j * s.stride[1] + kj) as isize - s.pad[1].0 as isize;
                                    if ih < 0 || iw < 0 || ih >= s.h as isize || iw >= s.w as isize
                                    {
                                        continue;
                                    }
                                    let xv = x[((b * s.in_c + c) * s.h + ih as usize) * s.w
                                        + iw as usize];
                                    let wv = w[((o * s.in_c + c) * s.kh + ki) * s.kw + kj];
                                    acc += xv as f64 * wv as f64;
                                }
                            }
                        }
                        y[((b * s.out_c + o) * ho + i) * wo + j] = acc;
                    }
                }
            }
        }
        y
    }

    /// Deterministic test values in [-1, 1) from a small LCG.
    pub(crate) fn values(len: usize, seed: u64) -> Vec<f32> {
        // A small LCG: deterministic values in [-1, 1).
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn close(a: &[f32], b: &[f64], scale: f64) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (*x as f64 - y).abs() <= 1e-4 * scale.max(1.0),
                "element {i}: {x} vs {y}"
            );
        }
    }

    /// Checks all three kernels against the naive convolution: the gradients through the
    /// identity ⟨dy, conv(x, w)⟩, whose derivatives are dx and dw, by finite sums in f64.
    fn check(s: ConvShape, seed: u64) {
        let (nx, nw, ny) = s.sizes();
        let (x, w, dy) = (values(nx, seed), values(nw, seed + 1), values(ny, seed + 2));
        let bias = values(s.out_c, seed + 3);
        let mut y = vec![0.0; ny];
        forward(&s, &x, &w, Some(&bias), &mut y);
        let n = s.n();
        let mut want = naive(&s, &x, &w);
        for (p, plane) in want.chunks_mut(n).enumerate() {
            plane
                .iter_mut()
                .for_each(|v| *v += bias[p % s.out_c] as f64);
        }
        close(&y, &want, s.k() as f64);
        // dw[o,c,ki,kj] = Σ dy·x-shifted: the naive conv with x and a one-hot weight.
        let mut dw = vec![0.0; nw];
        weight_grad(&s, &x, &dy, &mut dw);
        let mut dx = vec![0.0; nx];
        input_grad(&s, &w, &dy, &mut dx);
        let mut onehot = vec![0.0f32; nw];
        let mut want_dw = vec![0.0f64; nw];
        for (e, slot) in want_dw.iter_mut().enumerate() {
            onehot[e] = 1.0;
            let ye = naive(&s, &x, &onehot);
            *slot = ye.iter().zip(&dy).map(|(a, b)| a * *b as f64).sum();
            onehot[e] = 0.0;
        }
        close(&dw, &want_dw, (s.batch * n) as f64);
        let mut xe = vec![0.0f32; nx];
        let mut want_dx = vec![0.0f64; nx];
        for (e, slot) in want_dx.iter_mut().enumerate() {
            xe[e] = 1.0;
            let ye = naive(&s, &xe, &w);
            *slot = ye.iter().zip(&dy).map(|(a, b)| a * *b as f64).sum();
            xe[e] = 0.0;
        }
        close(&dx, &want_dx, (s.out_c * s.kh * s.kw) as f64);
        let mut db = vec![0.0; s.out_c];
        bias_grad(&s, &dy, &mut db);
        for (o, v) in db.iter().enumerate() {
            let want: f64 = (0..s.batch)
                .map(|b| {
                    dy[(b * s.out_c + o) * n..][..n]
                        .iter()
                        .map(|&d| d as f64)
                        .sum::<f64>()
                })
                .sum();
            assert!((*v as f64 - want).abs() < 1e-3, "db[{o}]");
        }
    }

    fn shape(
        batch: usize,
        in_c: usize,
        hw: [usize; 2],
        out_c: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> ConvShape {
        ConvShape {
            batch,
            in_c,
            h: hw[0],
            w: hw[1],
            out_c,
            kh: k,
            kw: k,
            stride: [stride, stride],
            pad: [(pad, pad); 2],
        }
    }

    #[test]
    fn resnet_cases_match_the_definition() {
        check(shape(2, 3, [8, 8], 4, 3, 1, 1), 1); // stem
        check(shape(2, 4, [8, 8], 6, 3, 2, 1), 2); // strided 3×3
        check(shape(2, 4, [8, 8], 6, 1, 2, 0), 3); // strided 1×1 projection
        check(shape(1, 3, [9, 9], 4, 7, 2, 3), 4); // ResNet18 stem 7×7/2, odd size
        check(shape(1, 2, [5, 7], 3, 3, 1, 1), 5); // batch 1, non-square
        check(shape(3, 2, [4, 4], 2, 1, 1, 0), 6); // 1×1 stride 1
    }

    #[test]
    fn asymmetric_padding_and_chunked_batches_match_the_definition() {
        let mut s = shape(3, 2, [6, 5], 3, 3, 2, 0);
        s.pad = [(0, 2), (1, 0)];
        check(s, 7);
        // A batch of 5 cut into chunks of 2, 2 and 1 samples (72 × 400 im2col rows each).
        let big = shape(5, 8, [20, 20], 3, 3, 1, 1);
        assert_eq!(big.chunk(), 2);
        let (nx, nw, ny) = big.sizes();
        let (x, w, dy) = (values(nx, 8), values(nw, 9), values(ny, 10));
        let mut y = vec![0.0; ny];
        forward(&big, &x, &w, None, &mut y);
        close(&y, &naive(&big, &x, &w), big.k() as f64);
        // The weight gradient accumulates over chunks: equal to the per-sample sum.
        let mut dw = vec![0.0; nw];
        weight_grad(&big, &x, &dy, &mut dw);
        let mut sum = vec![0.0f32; nw];
        let per = ConvShape { batch: 1, ..big };
        let (px, _, py) = per.sizes();
        for b in 0..big.batch {
            let mut part = vec![0.0; nw];
            weight_grad(&per, &x[b * px..][..px], &dy[b * py..][..py], &mut part);
            sum.iter_mut().zip(&part).for_each(|(s, p)| *s += p);
        }
        for (a, b) in dw.iter().zip(&sum) {
            assert!((a - b).abs() <= 1e-3 * b.abs().max(1.0), "{a} vs {b}");
        }
    }

    #[test]
    fn impossible_shapes_have_no_output() {
        assert_eq!(shape(1, 1, [2, 2], 1, 3, 1, 0).out_hw(), None);
        assert_eq!(shape(1, 1, [2, 2], 1, 3, 0, 1).out_hw(), None);
        assert_eq!(shape(1, 1, [2, 2], 1, 3, 1, 1).out_hw(), Some((2, 2)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn random_shapes_match_the_definition(
            batch in 1usize..4, in_c in 1usize..4, out_c in 1usize..5,
            h in 1usize..9, w in 1usize..9, kh in 1usize..4, kw in 1usize..4,
            sh in 1usize..3, sw in 1usize..3, pt in 0usize..2, pb in 0usize..2,
            pl in 0usize..2, pr in 0usize..2, seed in 0u64..1000,
        ) {
            let s = ConvShape { batch, in_c, h, w, out_c, kh, kw, stride: [sh, sw], pad: [(pt, pb), (pl, pr)] };
            prop_assume!(s.out_hw().is_some());
            check(s, seed);
        }
    }
}
