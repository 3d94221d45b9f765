//! xrisk's 2-D convolution for the `flex` backend (issue 22): the forward pass as im2col + one
//! gemm, the input gradient as one gemm + col2im, and the weight gradient as one gemm of the
//! output gradient against the input's im2col matrix over all B·Ho·Wo positions
//! ([`kernel`]), registered with burn through its backend-extension mechanism under autodiff
//! with its own backward step ([`extension`]).
//!
//! [`conv2d`] is a drop-in for `burn::tensor::module::conv2d` and [`forward`] for
//! `burn::nn::conv::Conv2d::forward`: on a `flex` device (with or without autodiff), for `f32`
//! tensors, one group and no dilation, they run xrisk's kernels; on any other device or case they
//! call burn's. Set the environment variable `XRISK_CONV=burn` to run burn's kernels everywhere,
//! for the convolutions and for batch norm ([`crate::norm`]) (for comparison: `bench/conv.sh`,
//! `bench/models.sh`).
//!
//! ```
//! use burn::tensor::{Device, Distribution, Tensor};
//! use burn::nn::conv::Conv2dConfig;
//! use burn::nn::PaddingConfig2d;
//! let device = Device::flex().autodiff();
//! let conv = Conv2dConfig::new([3, 8], [3, 3])
//!     .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
//!     .init(&device);
//! let x = Tensor::<4>::random([2, 3, 8, 8], Distribution::Default, &device).require_grad();
//! let y = xrisk::conv::forward(&conv, x.clone());
//! assert_eq!(y.dims(), [2, 8, 8, 8]);
//! // Same values as burn's kernel, and gradients through xrisk's backward step.
//! let burn_y = conv.forward(x.clone());
//! assert!((y.clone() - burn_y).abs().max().into_scalar::<f32>() < 1e-4);
//! let grads = y.sum().backward();
//! assert_eq!(x.grad(&grads).map(|g| g.dims()), Some([2, 3, 8, 8]));
//! ```

pub mod extension;
pub mod kernel;

use burn::backend::Dispatch;
use burn::backend::DispatchDevice;
use burn::backend::DispatchTensor;
use burn::backend::ops::{ConvOptions, ModuleOps};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use extension::ConvBackend;
use std::sync::OnceLock;

/// Which kernels compute the convolutions and batch norms of xrisk's models on `flex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvKernels {
    /// xrisk's kernels ([`kernel`]), the default.
    Xrisk,
    /// burn-flex's `conv2d` and burn-backend's generic gradient rules (`XRISK_CONV=burn`).
    Burn,
}

/// The kernels chosen by the environment variable `XRISK_CONV` (`burn` or `xrisk`; unset:
/// xrisk), read once per process.
pub fn kernels() -> ConvKernels {
    static CHOICE: OnceLock<ConvKernels> = OnceLock::new();
    *CHOICE.get_or_init(|| match std::env::var("XRISK_CONV") {
        Ok(v) if v.trim().eq_ignore_ascii_case("burn") => ConvKernels::Burn,
        _ => ConvKernels::Xrisk,
    })
}

/// Whether the device is `flex`, with or without autodiff.
pub(crate) fn is_flex(device: &burn::tensor::Device) -> bool {
    matches!(
        device.clone().inner().as_dispatch(),
        DispatchDevice::Flex(_)
    )
}

/// Whether [`conv2d`] and the gradient functions run xrisk's kernels for these operands.
fn ours(x: &Tensor<4>, weight: &Tensor<4>, options: &ConvOptions<2>) -> bool {
    kernels() == ConvKernels::Xrisk
        && is_flex(&x.device())
        && is_flex(&weight.device())
        && weight.dtype() == x.dtype()
        && extension::supported(x.dtype(), &x.dims(), &weight.dims(), options)
}

/// `y = W ⋆ x + bias` for `x [B, C, H, W]` and `weight [O, C, kh, kw]`: xrisk's kernels where they
/// apply (see the module docs), burn's `conv2d` otherwise. Same contract as
/// `burn::tensor::module::conv2d`.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    if !ours(&x, &weight, &options) {
        return burn::tensor::module::conv2d(x, weight, bias, options);
    }
    let out =
        <Dispatch as ConvBackend>::xrisk_conv2d(x.into_dispatch(), weight.into_dispatch(), options);
    let y = Tensor::<4>::from_dispatch(out);
    match bias {
        Some(b) => {
            let o = b.dims()[0];
            y + b.reshape([1, o, 1, 1])
        }
        None => y,
    }
}

/// A gradient kernel's signature on dispatch tensors: `(x, weight, ∂L/∂y, options)`.
type GradKernel =
    fn(DispatchTensor, DispatchTensor, DispatchTensor, ConvOptions<2>) -> DispatchTensor;

/// `ours` where xrisk's kernels apply to the operands, `burns` otherwise.
fn gradient(
    (ours_kernel, burns): (GradKernel, GradKernel),
    x: Tensor<4>,
    weight: Tensor<4>,
    output_grad: Tensor<4>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    let kernel = if ours(&x, &weight, &options) {
        ours_kernel
    } else {
        burns
    };
    Tensor::from_dispatch(kernel(
        x.into_dispatch(),
        weight.into_dispatch(),
        output_grad.into_dispatch(),
        options,
    ))
}

/// `∂L/∂x` of [`conv2d`] given `∂L/∂y` (no autodiff graph: the kernel the backward step calls).
pub fn conv2d_x_backward(
    x: Tensor<4>,
    weight: Tensor<4>,
    output_grad: Tensor<4>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    let kernels: (GradKernel, GradKernel) = (
        <Dispatch as ConvBackend>::xrisk_conv2d_x_backward,
        <Dispatch as ModuleOps<Dispatch>>::conv2d_x_backward,
    );
    gradient(kernels, x, weight, output_grad, options)
}

/// `∂L/∂W` of [`conv2d`] given `∂L/∂y` (no autodiff graph: the kernel the backward step calls).
pub fn conv2d_weight_backward(
    x: Tensor<4>,
    weight: Tensor<4>,
    output_grad: Tensor<4>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    let kernels: (GradKernel, GradKernel) = (
        <Dispatch as ConvBackend>::xrisk_conv2d_weight_backward,
        <Dispatch as ModuleOps<Dispatch>>::conv2d_weight_backward,
    );
    gradient(kernels, x, weight, output_grad, options)
}

/// `conv.forward(x)` through [`conv2d`]: the module's weight, bias, stride and padding (`Valid`
/// or `Explicit`; `Same` padding goes to burn's `Conv2d::forward`).
pub fn forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        PaddingConfig2d::Same => return conv.forward(x),
    };
    let options = ConvOptions::new_with_padding(conv.stride, padding, conv.dilation, conv.groups);
    conv2d(
        x,
        conv.weight.val(),
        conv.bias.as_ref().map(|b| b.val()),
        options,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    /// Forward values and both gradients (of `Σ y ⊙ r` for a random `r`) through xrisk's
    /// kernels and through burn's `conv2d`, on flex with autodiff.
    fn compare(x: [usize; 4], out_c: usize, k: usize, stride: usize, pad: usize, bias: bool) {
        let device = Device::flex().autodiff();
        device.seed(11);
        let normal = Distribution::Normal(0.0, 1.0);
        let xv = Tensor::<4>::random(x, normal, &device);
        let wv = Tensor::<4>::random([out_c, x[1], k, k], normal, &device);
        let bv = Tensor::<1>::random([out_c], normal, &device);
        let options = ConvOptions::new([stride, stride], [pad, pad], [1, 1], 1);
        let run = |ours: bool| {
            let (x, w, b) = (
                xv.clone().require_grad(),
                wv.clone().require_grad(),
                bv.clone().require_grad(),
            );
            let bias_t = bias.then(|| b.clone());
            let y = if ours {
                assert!(super::ours(&x, &w, &options));
                conv2d(x.clone(), w.clone(), bias_t, options.clone())
            } else {
                burn::tensor::module::conv2d(x.clone(), w.clone(), bias_t, options.clone())
            };
            let weights = Tensor::<4>::ones(y.dims(), &device) * 0.5 + y.clone().detach().sin();
            let grads = (y.clone() * weights).sum().backward();
            let gx = x
                .grad(&grads)
                .map(|g| g.into_data().iter::<f32>().collect::<Vec<f32>>());
            let gw = w
                .grad(&grads)
                .map(|g| g.into_data().iter::<f32>().collect::<Vec<f32>>());
            let gb = bias.then(|| {
                b.grad(&grads)
                    .map(|g| g.into_data().iter::<f32>().collect::<Vec<f32>>())
            });
            (
                y.into_data().iter::<f32>().collect::<Vec<f32>>(),
                gx,
                gw,
                gb,
            )
        };
        let (ours, theirs) = (run(true), run(false));
        let close = |a: &[f32], b: &[f32], what: &str| {
            assert_eq!(a.len(), b.len(), "{what}");
            let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            for (i, (p, q)) in a.iter().zip(b).enumerate() {
                assert!(
                    (p - q).abs() <= 2e-5 * scale,
                    "{what} {x:?} k{k} s{stride}: element {i}: {p} vs {q}"
                );
            }
        };
        close(&ours.0, &theirs.0, "forward");
        close(&ours.1.unwrap(), &theirs.1.unwrap(), "input gradient");
        close(&ours.2.unwrap(), &theirs.2.unwrap(), "weight gradient");
        if bias {
            close(
                &ours.3.unwrap().unwrap(),
                &theirs.3.unwrap().unwrap(),
                "bias gradient",
            );
        }
    }

    #[test]
    fn resnet20_stage_shapes_match_burn() {
        compare([2, 1, 28, 28], 16, 3, 1, 1, false); // stem
        compare([2, 16, 28, 28], 16, 3, 1, 1, false); // stage 1
        compare([2, 16, 28, 28], 32, 3, 2, 1, false); // into stage 2, stride 2
        compare([2, 32, 14, 14], 32, 3, 1, 1, false); // stage 2
        compare([2, 32, 14, 14], 64, 3, 2, 1, false); // into stage 3
        compare([2, 64, 7, 7], 64, 3, 1, 1, false); // stage 3
        compare([2, 3, 32, 32], 16, 3, 1, 1, false); // CIFAR stem
    }

    #[test]
    fn resnet18_and_odd_shapes_match_burn() {
        compare([1, 3, 32, 32], 64, 7, 2, 3, false); // stem 7×7/2
        compare([2, 64, 8, 8], 64, 3, 1, 1, false); // stage 1
        compare([2, 64, 8, 8], 128, 3, 2, 1, false); // into stage 2
        compare([2, 64, 8, 8], 128, 1, 2, 0, false); // 1×1/2 projection
        compare([2, 256, 2, 2], 512, 3, 2, 1, false); // into stage 4
        compare([1, 5, 9, 6], 3, 3, 1, 1, true); // batch 1, non-square, bias
        compare([3, 4, 5, 5], 2, 1, 1, 0, true); // 1×1, bias
    }

    #[test]
    fn other_cases_fall_back_to_burn() {
        let device = Device::flex();
        let x = Tensor::<4>::ones([1, 4, 5, 5], &device);
        let w = Tensor::<4>::ones([4, 2, 3, 3], &device);
        // Two groups: not xrisk's kernel, but the same call works through burn's.
        let grouped = ConvOptions::new([1, 1], [1, 1], [1, 1], 2);
        assert!(!ours(&x, &w, &grouped));
        assert_eq!(conv2d(x.clone(), w, None, grouped).dims(), [1, 4, 5, 5]);
        let dilated = ConvOptions::new([1, 1], [2, 2], [2, 2], 1);
        let w = Tensor::<4>::ones([4, 4, 3, 3], &device);
        assert!(!ours(&x, &w, &dilated));
        assert!(ours(&x, &w, &ConvOptions::new([1, 1], [1, 1], [1, 1], 1)));
    }
}
