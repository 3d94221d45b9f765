//! xrisk's training-mode batch norm for the `flex` backend (issue 22, the item after the
//! convolutions in the ResNet20 profile): per-channel statistics, normalisation and gradients
//! straight on NCHW planes ([`kernel`]), where burn-backend's generic rule transposes the
//! activations into a contiguous copy and reduces them with generic `sum_dim`s, forward and
//! backward. Registered like [`crate::conv`]: a backend extension routed to `Flex` and to
//! `Autodiff<B, C>`, whose backward step calls the gradient kernels.
//!
//! [`forward`] is a drop-in for `burn::nn::BatchNorm::forward` on 4-D input, and
//! [`forward_relu`] for `relu(bn.forward(x))` (one pass instead of two, forward and backward):
//! in training (an autodiff device and the layer's training flag) on `flex` with `f32` they
//! compute the batch statistics and the output with xrisk's kernels and update the running
//! statistics as burn does; otherwise, or with `XRISK_CONV=burn`, they call burn's
//! `BatchNorm::forward` (and `relu`).
//!
//! The backward step computes `∂L/∂γ`, `∂L/∂β` and `∂L/∂x` from one pass of per-channel sums
//! over `x` and `∂L/∂y` and one pass writing `∂L/∂x` (spec: [`kernel`]'s formulas).
//!
//! ```
//! use burn::nn::BatchNormConfig;
//! use burn::tensor::{Device, Distribution, Tensor};
//! let device = Device::flex().autodiff();
//! let bn = BatchNormConfig::new(4).init(&device);
//! let x = Tensor::<4>::random([2, 4, 5, 5], Distribution::Default, &device).require_grad();
//! let y = xrisk::norm::forward(&bn, x.clone());
//! let theirs = BatchNormConfig::new(4).init(&device).forward(x.clone());
//! assert!((y.clone() - theirs).abs().max().into_scalar::<f32>() < 1e-4);
//! let grads = (y * x.clone()).sum().backward();
//! assert_eq!(x.grad(&grads).map(|g| g.dims()), Some([2, 4, 5, 5]));
//! ```

pub mod kernel;

use crate::conv::{ConvKernels, is_flex, kernels};
use crate::flex_tensor::{contiguous, dims, new_tensor, slice};
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::nn::BatchNorm;
use burn::tensor::activation::relu;
use burn::tensor::{DType, Tensor};
use burn_flex::FlexTensor;
use kernel::{NormParams, NormShape};

/// The batch-norm kernels xrisk provides for a backend (`x [B, C, H, W]`; `stats [2C]`: the
/// per-channel means, then the biased variances; `relu`: a ReLU follows the normalisation).
#[backend_extension(Flex, Autodiff)]
pub trait NormBackend: Backend {
    /// Per-channel batch mean and biased variance, `[2C]` (no gradient).
    fn xrisk_batch_stats(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// `y = γ·(x − μ)/√(σ² + ε) + β` (then `max(y, 0)` if `relu`) with `stats = [μ; σ²]`
    /// computed from `x`.
    fn xrisk_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> FloatTensor<Self>;
    /// `(∂L/∂x, ∂L/∂γ, ∂L/∂β)` given `∂L/∂y` (through the batch statistics and the ReLU too).
    fn xrisk_batch_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

fn shape(t: &FlexTensor) -> NormShape {
    let d = dims(t);
    NormShape {
        batch: d.first().copied().unwrap_or(0),
        channels: d.get(1).copied().unwrap_or(0),
        plane: d.iter().skip(2).product(),
    }
}

/// A layer's `γ`, `β` and batch statistics as contiguous `f32` tensors.
struct Layer {
    gamma: FlexTensor,
    beta: FlexTensor,
    stats: FlexTensor,
}

impl Layer {
    fn new(gamma: FlexTensor, beta: FlexTensor, stats: FlexTensor) -> Self {
        Layer {
            gamma: contiguous(gamma),
            beta: contiguous(beta),
            stats: contiguous(stats),
        }
    }

    fn params(&self, eps: f64, relu: bool) -> NormParams<'_> {
        NormParams {
            gamma: slice(&self.gamma),
            beta: slice(&self.beta),
            stats: slice(&self.stats),
            eps,
            relu,
        }
    }
}

impl NormBackend for Flex {
    fn xrisk_batch_stats(x: FlexTensor) -> FlexTensor {
        let s = shape(&x);
        let x = contiguous(x);
        let mut st = vec![0.0f32; 2 * s.channels];
        kernel::stats(&s, slice(&x), &mut st);
        new_tensor(st, vec![2 * s.channels])
    }

    fn xrisk_batch_norm(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        stats: FlexTensor,
        epsilon: f64,
        relu: bool,
    ) -> FlexTensor {
        let (s, d) = (shape(&x), dims(&x));
        let x = contiguous(x);
        let layer = Layer::new(gamma, beta, stats);
        let p = layer.params(epsilon, relu);
        let mut y = vec![0.0f32; slice(&x).len()];
        kernel::forward(&s, &p, slice(&x), &mut y);
        new_tensor(y, d)
    }

    fn xrisk_batch_norm_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        stats: FlexTensor,
        output_grad: FlexTensor,
        epsilon: f64,
        relu: bool,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (s, d) = (shape(&x), dims(&x));
        let (x, dy) = (contiguous(x), contiguous(output_grad));
        let layer = Layer::new(gamma, beta, stats);
        let p = layer.params(epsilon, relu);
        let mut g = vec![0.0f32; 2 * s.channels];
        kernel::param_grads(&s, &p, slice(&x), slice(&dy), &mut g);
        let mut dx = vec![0.0f32; slice(&x).len()];
        kernel::input_grad(&s, &p, slice(&x), slice(&dy), &g, &mut dx);
        let dbeta = g.split_off(s.channels);
        (
            new_tensor(dx, d),
            new_tensor(g, vec![s.channels]),
            new_tensor(dbeta, vec![s.channels]),
        )
    }
}

/// The backward step of [`NormBackend::xrisk_batch_norm`]: the three gradients from `B`'s kernel.
#[derive(Debug)]
struct NormStep;

impl<B: Backend + NormBackend> Backward<B, 3> for NormStep {
    /// The checkpointed `x`, `γ`, `β`, then the statistics, `ε` and the ReLU flag.
    type State = (NodeId, NodeId, NodeId, FloatTensor<B>, f64, bool);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, gamma_state, beta_state, stats, eps, relu) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
        let gamma = checkpointer.retrieve_node_output::<FloatTensor<B>>(gamma_state);
        let beta = checkpointer.retrieve_node_output::<FloatTensor<B>>(beta_state);
        let (dx, dgamma, dbeta) =
            B::xrisk_batch_norm_backward(x, gamma, beta, stats, grad, eps, relu);
        for (node, g) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, g);
            }
        }
    }
}

impl<B: Backend + NormBackend, C: CheckpointStrategy> NormBackend for Autodiff<B, C> {
    fn xrisk_batch_stats(x: FloatTensor<Self>) -> FloatTensor<Self> {
        FloatTensor::<Self>::new(B::xrisk_batch_stats(x.into_primitive()))
    }

    fn xrisk_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> FloatTensor<Self> {
        let stats = stats.into_primitive();
        match NormStep
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let gamma_state = prep.checkpoint(&gamma);
                let beta_state = prep.checkpoint(&beta);
                let out = B::xrisk_batch_norm(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    stats.clone(),
                    epsilon,
                    relu,
                );
                prep.finish(
                    (x_state, gamma_state, beta_state, stats, epsilon, relu),
                    out,
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(B::xrisk_batch_norm(
                x.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
                stats,
                epsilon,
                relu,
            )),
        }
    }

    /// Only the backward step calls this, on `B`; here it is `B`'s, without a graph.
    fn xrisk_batch_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (dx, dgamma, dbeta) = B::xrisk_batch_norm_backward(
            x.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
            stats.into_primitive(),
            output_grad.into_primitive(),
            epsilon,
            relu,
        );
        (
            FloatTensor::<Self>::new(dx),
            FloatTensor::<Self>::new(dgamma),
            FloatTensor::<Self>::new(dbeta),
        )
    }
}

/// `bn.forward(x)` with xrisk's kernels in training on `flex` (see the module docs).
pub fn forward(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    batch_norm(bn, x, false)
}

/// `relu(bn.forward(x))` in one kernel in training on `flex` (see the module docs).
pub fn forward_relu(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    batch_norm(bn, x, true)
}

fn batch_norm(bn: &BatchNorm, x: Tensor<4>, with_relu: bool) -> Tensor<4> {
    let device = x.device();
    let ours = kernels() == ConvKernels::Xrisk
        && device.is_autodiff()
        && bn.training.is_enabled()
        && is_flex(&device)
        && x.dtype() == DType::F32
        && x.dims()[1] == bn.gamma.dims()[0];
    if !ours {
        let y = bn.forward(x);
        return if with_relu { relu(y) } else { y };
    }
    let c = x.dims()[1];
    let stats = Tensor::<1>::from_dispatch(<Dispatch as NormBackend>::xrisk_batch_stats(
        x.clone().inner().into_dispatch(),
    ));
    let stats = Tensor::<1>::from_inner(stats);
    let (mean, var) = (stats.clone().narrow(0, 0, c), stats.clone().narrow(0, c, c));
    let m = bn.momentum;
    let running_mean = bn.running_mean.value_sync().to_device(&device);
    let running_var = bn.running_var.value_sync().to_device(&device);
    bn.running_mean.update(
        running_mean
            .mul_scalar(1.0 - m)
            .add(mean.mul_scalar(m))
            .detach(),
    );
    bn.running_var.update(
        running_var
            .mul_scalar(1.0 - m)
            .add(var.mul_scalar(m))
            .detach(),
    );
    Tensor::from_dispatch(<Dispatch as NormBackend>::xrisk_batch_norm(
        x.into_dispatch(),
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
        stats.into_dispatch(),
        bn.epsilon,
        with_relu,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::BatchNormConfig;
    use burn::tensor::{Device, Distribution};

    /// Output, input/γ/β gradients and running statistics equal burn's `BatchNorm` (training),
    /// alone and followed by a ReLU; the largest shape runs the kernels on the thread pool.
    #[test]
    fn training_step_matches_burns_batch_norm() {
        let device = Device::flex().autodiff();
        device.seed(5);
        let cases = [[4, 3, 5, 5], [2, 16, 7, 7], [1, 2, 3, 4], [8, 16, 16, 16]];
        for (dims, with_relu) in cases.into_iter().flat_map(|d| [(d, false), (d, true)]) {
            let xv = Tensor::<4>::random(dims, Distribution::Normal(0.5, 2.0), &device);
            let w = Tensor::<4>::random(dims, Distribution::Default, &device);
            let run = |ours: bool| {
                let bn = BatchNormConfig::new(dims[1]).init(&device);
                let x = xv.clone().require_grad();
                let y = match (ours, with_relu) {
                    (true, false) => forward(&bn, x.clone()),
                    (true, true) => forward_relu(&bn, x.clone()),
                    (false, false) => bn.forward(x.clone()),
                    (false, true) => relu(bn.forward(x.clone())),
                };
                let grads = (y.clone() * w.clone()).sum().backward();
                let v = |t: Option<Tensor<1>>| {
                    t.map(|t| t.into_data().iter::<f32>().collect::<Vec<f32>>())
                        .unwrap_or_default()
                };
                let v4 = |t: Option<Tensor<4>>| {
                    t.map(|t| t.into_data().iter::<f32>().collect::<Vec<f32>>())
                        .unwrap_or_default()
                };
                (
                    v4(Some(y)),
                    v4(x.grad(&grads)),
                    v(bn.gamma.val().grad(&grads)),
                    v(bn.beta.val().grad(&grads)),
                    v(Some(bn.running_mean.value())),
                    v(Some(bn.running_var.value())),
                )
            };
            let (a, b) = (run(true), run(false));
            let close = |p: &[f32], q: &[f32], what: &str| {
                assert_eq!(p.len(), q.len(), "{what}");
                assert!(!p.is_empty(), "{what}");
                let scale = q.iter().fold(1.0f32, |m, v| m.max(v.abs()));
                for (i, (u, v)) in p.iter().zip(q).enumerate() {
                    assert!(
                        (u - v).abs() <= 1e-4 * scale,
                        "{what} {dims:?} relu {with_relu} [{i}]: {u} vs {v}"
                    );
                }
            };
            close(&a.0, &b.0, "output");
            close(&a.1, &b.1, "input gradient");
            close(&a.2, &b.2, "gamma gradient");
            close(&a.3, &b.3, "beta gradient");
            close(&a.4, &b.4, "running mean");
            close(&a.5, &b.5, "running variance");
        }
    }
}
