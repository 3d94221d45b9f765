//! xrisk's convolution as a burn backend extension: the trait [`ConvBackend`] is routed by
//! `#[backend_extension(Flex, Autodiff)]` to the `Flex` implementation below (the kernels of
//! [`super::kernel`] on the tensors' `f32` storage) and to the `Autodiff<B, C>` implementation,
//! which records the forward on the graph with its own backward step: the input gradient and the
//! weight gradient from the same kernels (burn's autodiff would call burn-backend's generic
//! `conv2d_x_backward` / `conv2d_weight_backward` instead). The trait's default bodies are
//! burn's own module operations, so a backend without an override computes what `Conv2d` does.

use super::kernel::{self, ConvShape};
use crate::flex_tensor::{contiguous, dims, new_tensor, slice};
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::{ConvOptions, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, backend_extension};
use burn::tensor::DType;
use burn_flex::FlexTensor;

/// The convolution kernels xrisk provides for a backend (spec: the forward pass and the two
/// gradients of `y = W ⋆ x + b`, see [`super::kernel`]).
#[backend_extension(Flex, Autodiff)]
pub trait ConvBackend: Backend {
    /// `y = W ⋆ x` for `x [B, C, H, W]`, `weight [O, C, kh, kw]` (a bias is added by the
    /// caller, [`super::conv2d`], as an ordinary differentiable addition).
    fn xrisk_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, None, options)
    }

    /// `∂L/∂x` given `∂L/∂y`.
    fn xrisk_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_x_backward(x, weight, output_grad, options)
    }

    /// `∂L/∂W` given `∂L/∂y`.
    fn xrisk_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, output_grad, options)
    }
}

/// Whether xrisk's kernels compute a convolution with these operands: `f32`, one group, no
/// dilation, a kernel that fits the padded input. The tensor adapter ([`super::conv2d`]) checks
/// this before it routes a call here; the `Flex` methods fall back to burn's kernels otherwise.
pub(crate) fn supported(
    x_dtype: DType,
    x: &[usize],
    w: &[usize],
    options: &ConvOptions<2>,
) -> bool {
    x_dtype == DType::F32
        && options.groups == 1
        && options.dilation == [1, 1]
        && x.len() == 4
        && w.len() == 4
        && x[1] == w[1]
        && shape_of(x, w, options).out_hw().is_some()
}

fn shape_of(x: &[usize], w: &[usize], options: &ConvOptions<2>) -> ConvShape {
    ConvShape {
        batch: x[0],
        in_c: x[1],
        h: x[2],
        w: x[3],
        out_c: w[0],
        kh: w[2],
        kw: w[3],
        stride: options.stride,
        pad: options.padding,
    }
}

impl ConvBackend for Flex {
    fn xrisk_conv2d(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        let (xd, wd) = (dims(&x), dims(&weight));
        if !supported(x.dtype(), &xd, &wd, &options) || weight.dtype() != DType::F32 {
            return Self::conv2d(x, weight, None, options);
        }
        let s = shape_of(&xd, &wd, &options);
        let (x, weight) = (contiguous(x), contiguous(weight));
        let (ho, wo) = s.out_hw().unwrap_or((0, 0));
        let mut y = vec![0.0f32; s.sizes().2];
        kernel::forward(&s, slice(&x), slice(&weight), None, &mut y);
        new_tensor(y, vec![s.batch, s.out_c, ho, wo])
    }

    fn xrisk_conv2d_x_backward(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let (xd, wd) = (dims(&x), dims(&weight));
        if !supported(x.dtype(), &xd, &wd, &options) || output_grad.dtype() != DType::F32 {
            return Self::conv2d_x_backward(x, weight, output_grad, options);
        }
        let s = shape_of(&xd, &wd, &options);
        let (weight, dy) = (contiguous(weight), contiguous(output_grad));
        let mut dx = vec![0.0f32; s.sizes().0];
        kernel::input_grad(&s, slice(&weight), slice(&dy), &mut dx);
        new_tensor(dx, xd)
    }

    fn xrisk_conv2d_weight_backward(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let (xd, wd) = (dims(&x), dims(&weight));
        if !supported(x.dtype(), &xd, &wd, &options) || output_grad.dtype() != DType::F32 {
            return Self::conv2d_weight_backward(x, weight, output_grad, options);
        }
        let s = shape_of(&xd, &wd, &options);
        let (x, dy) = (contiguous(x), contiguous(output_grad));
        let mut dw = vec![0.0f32; s.sizes().1];
        kernel::weight_grad(&s, slice(&x), slice(&dy), &mut dw);
        new_tensor(dw, wd)
    }
}

/// The backward step of xrisk's convolution: both gradients from `B`'s kernels.
#[derive(Debug)]
struct ConvStep;

impl<B: Backend + ConvBackend> Backward<B, 2> for ConvStep {
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, options) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_state);
        if let Some(node) = node_x {
            let g = B::xrisk_conv2d_x_backward(
                x.clone(),
                weight.clone(),
                grad.clone(),
                options.clone(),
            );
            grads.register::<B>(node.id, g);
        }
        if let Some(node) = node_weight {
            grads.register::<B>(
                node.id,
                B::xrisk_conv2d_weight_backward(x, weight, grad, options),
            );
        }
    }
}

impl<B: Backend + ConvBackend, C: CheckpointStrategy> ConvBackend for Autodiff<B, C> {
    fn xrisk_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match ConvStep
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                let out =
                    B::xrisk_conv2d(x.into_primitive(), weight.into_primitive(), options.clone());
                prep.finish((x_state, weight_state, options), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::xrisk_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                options,
            )),
        }
    }
}
