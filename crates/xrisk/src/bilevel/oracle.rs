//! Derivative oracles for a [`MultiBlockProblem`], all from burn autodiff (spec
//! `bilevel_ndcg_spec.md` §1.5–§1.6).
//!
//! burn 0.22 has no double backward, so every second-order quantity is a central difference of
//! *autodiff gradients* in `f64` along one direction, with displacement [`FD_STEP`]:
//!
//! ```text
//! ∇²_yy g · w ≈ [∇_y g(x, y + h w) − ∇_y g(x, y − h w)] / 2h,     h = FD_STEP / ‖w‖
//! ∇²_xy g · w ≈ ∇_x [g(x, y + h w) − g(x, y − h w)] / 2h
//! ```
//!
//! This is exact (up to rounding, ~1e-12) when g is quadratic in y, and has error
//! O(FD_STEP² · ∂³g) otherwise. The Hessian of v1 takes the d_y unit directions. All directions
//! of all sampled blocks go through **one** backward pass (the rows of `ys`), so the cost per
//! call is one batched forward/backward, not one per block or direction.

use super::problem::MultiBlockProblem;
use burn::tensor::{DType, Device, Tensor, TensorCreationOptions, TensorData};

/// Displacement of the central differences (in units of y).
pub const FD_STEP: f64 = 1e-4;

/// An `f64` tensor of `shape` on `device`.
pub(crate) fn tensor<const D: usize>(
    values: Vec<f64>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(
        TensorData::new(values, shape),
        TensorCreationOptions::new(device.clone()).with_dtype(DType::F64),
    )
}

/// The values of a tensor as `f64`.
pub(crate) fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().iter::<f64>().collect()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

/// Lower-level gradient and a second-order quantity for each sampled block.
pub struct LowerEval {
    /// ∇_y g_i(x, y_i; ξ), block after block (`I·d_y`).
    pub grad: Vec<f64>,
    /// Either the Hessians ∇²_yy g_i (`I·d_y²`, row-major, symmetrised) or the products
    /// ∇²_yy g_i · u_i (`I·d_y`), depending on the call.
    pub second: Vec<f64>,
}

/// Stacks, per block, `rows(block)` lower-level points into a `[I, k, d_y]` tensor.
fn stack(rows: Vec<f64>, blocks: usize, k: usize, dy: usize, device: &Device) -> Tensor<3> {
    tensor(rows, [blocks, k, dy], device).require_grad()
}

/// ∇_y g and the full Hessian ∇²_yy g (v1, RSVRB) at `(x, ys)` for `blocks`.
pub fn lower_hessian<P: MultiBlockProblem>(
    p: &P,
    blocks: &[usize],
    x: &[f64],
    ys: &[f64],
    sample: &P::Sample,
) -> LowerEval {
    let (dy, n, device) = (p.dim_y(), blocks.len(), p.device());
    let k = 1 + 2 * dy;
    let mut rows = Vec::with_capacity(n * k * dy);
    for b in 0..n {
        let y = &ys[b * dy..(b + 1) * dy];
        rows.extend_from_slice(y);
        for sign in [1.0, -1.0] {
            for j in 0..dy {
                rows.extend(y.iter().enumerate().map(
                    |(c, &v)| {
                        if c == j { v + sign * FD_STEP } else { v }
                    },
                ));
            }
        }
    }
    let yt = stack(rows, n, k, dy, &device);
    let xt = tensor(x.to_vec(), [x.len()], &device);
    let grads = p.lower(blocks, xt, yt.clone(), sample).sum().backward();
    let g = yt
        .grad(&grads)
        .map(values)
        .unwrap_or_else(|| vec![0.0; n * k * dy]);
    let mut grad = Vec::with_capacity(n * dy);
    let mut hess = vec![0.0; n * dy * dy];
    for b in 0..n {
        let base = b * k * dy;
        grad.extend_from_slice(&g[base..base + dy]);
        let h = &mut hess[b * dy * dy..(b + 1) * dy * dy];
        for j in 0..dy {
            let plus = &g[base + (1 + j) * dy..base + (2 + j) * dy];
            let minus = &g[base + (1 + dy + j) * dy..base + (2 + dy + j) * dy];
            for r in 0..dy {
                // column j of the Hessian
                h[r * dy + j] = (plus[r] - minus[r]) / (2.0 * FD_STEP);
            }
        }
        for r in 0..dy {
            for c in r + 1..dy {
                let s = 0.5 * (h[r * dy + c] + h[c * dy + r]);
                h[r * dy + c] = s;
                h[c * dy + r] = s;
            }
        }
    }
    LowerEval { grad, second: hess }
}

/// ∇_y g and the Hessian-vector products ∇²_yy g_i · u_i (v2) at `(x, ys)` for `blocks`.
pub fn lower_hvp<P: MultiBlockProblem>(
    p: &P,
    blocks: &[usize],
    x: &[f64],
    ys: &[f64],
    us: &[f64],
    sample: &P::Sample,
) -> LowerEval {
    let (dy, n, device) = (p.dim_y(), blocks.len(), p.device());
    let mut rows = Vec::with_capacity(n * 3 * dy);
    let mut steps = Vec::with_capacity(n);
    for b in 0..n {
        let (y, u) = (&ys[b * dy..(b + 1) * dy], &us[b * dy..(b + 1) * dy]);
        let un = norm(u);
        let h = if un > 0.0 { FD_STEP / un } else { 0.0 };
        steps.push(h);
        rows.extend_from_slice(y);
        rows.extend(y.iter().zip(u).map(|(a, d)| a + h * d));
        rows.extend(y.iter().zip(u).map(|(a, d)| a - h * d));
    }
    let yt = stack(rows, n, 3, dy, &device);
    let xt = tensor(x.to_vec(), [x.len()], &device);
    let grads = p.lower(blocks, xt, yt.clone(), sample).sum().backward();
    let g = yt
        .grad(&grads)
        .map(values)
        .unwrap_or_else(|| vec![0.0; n * 3 * dy]);
    let mut grad = Vec::with_capacity(n * dy);
    let mut hvp = Vec::with_capacity(n * dy);
    for (b, &h) in steps.iter().enumerate() {
        let base = b * 3 * dy;
        grad.extend_from_slice(&g[base..base + dy]);
        for r in 0..dy {
            hvp.push(if h > 0.0 {
                (g[base + dy + r] - g[base + 2 * dy + r]) / (2.0 * h)
            } else {
                0.0
            });
        }
    }
    LowerEval { grad, second: hvp }
}

/// Σ_i ∇_x f_i (length d_x) and ∇_y f_i per block (`I·d_y`) at `(x, ys)`.
pub fn upper_grads<P: MultiBlockProblem>(
    p: &P,
    blocks: &[usize],
    x: &[f64],
    ys: &[f64],
    sample: &P::Sample,
) -> (Vec<f64>, Vec<f64>) {
    let (dy, n, device) = (p.dim_y(), blocks.len(), p.device());
    let yt = stack(ys.to_vec(), n, 1, dy, &device);
    let xt = tensor(x.to_vec(), [x.len()], &device).require_grad();
    let grads = p
        .upper(blocks, xt.clone(), yt.clone(), sample)
        .sum()
        .backward();
    let gx = xt
        .grad(&grads)
        .map(values)
        .unwrap_or_else(|| vec![0.0; x.len()]);
    let gy = yt
        .grad(&grads)
        .map(values)
        .unwrap_or_else(|| vec![0.0; n * dy]);
    (gx, gy)
}

/// Σ_i ∇²_xy g_i(x, y_i; ξ) · w_i (length d_x), the cross-Jacobian–vector products.
pub fn cross_jvp<P: MultiBlockProblem>(
    p: &P,
    blocks: &[usize],
    x: &[f64],
    ys: &[f64],
    ws: &[f64],
    sample: &P::Sample,
) -> Vec<f64> {
    let (dy, n, device) = (p.dim_y(), blocks.len(), p.device());
    let mut rows = Vec::with_capacity(n * 2 * dy);
    let mut coef = Vec::with_capacity(n);
    for b in 0..n {
        let (y, w) = (&ys[b * dy..(b + 1) * dy], &ws[b * dy..(b + 1) * dy]);
        let wn = norm(w);
        let h = if wn > 0.0 { FD_STEP / wn } else { 0.0 };
        coef.push(if h > 0.0 { 1.0 / (2.0 * h) } else { 0.0 });
        rows.extend(y.iter().zip(w).map(|(a, d)| a + h * d));
        rows.extend(y.iter().zip(w).map(|(a, d)| a - h * d));
    }
    let yt = tensor(rows, [n, 2, dy], &device);
    let xt = tensor(x.to_vec(), [x.len()], &device).require_grad();
    let g = p.lower(blocks, xt.clone(), yt, sample);
    let diff = g.clone().narrow(1, 0, 1) - g.narrow(1, 1, 1);
    let weighted = diff.reshape([n]) * tensor(coef, [n], &device);
    let grads = weighted.sum().backward();
    xt.grad(&grads)
        .map(values)
        .unwrap_or_else(|| vec![0.0; x.len()])
}
