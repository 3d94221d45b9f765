//! Residual networks for image scores (spec `libauc_spec.md` §6.1): the CIFAR-style ResNet20
//! (3 stages of 3 basic blocks, 16/32/64 channels, option-A shortcuts: strided identity with
//! zero-padded channels) and ResNet18 (7×7 stem, max-pool, 4 stages of 2 blocks,
//! 64–512 channels, 1×1-convolution shortcuts). Both end in global average pooling and one
//! logit; input with 1 or 3 channels. The convolutions run xrisk's kernels on `flex`
//! ([`crate::conv`]) and burn's elsewhere.

use crate::conv::forward as conv2d;
use crate::norm::{forward as batch_norm, forward_relu as batch_norm_relu};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};

fn conv(in_c: usize, out_c: usize, k: usize, stride: usize, pad: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([in_c, out_c], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .init(device)
}

/// A 1×1 convolution and batch norm (ResNet18's downsampling shortcut).
#[derive(Module, Debug)]
struct Projection {
    conv: Conv2d,
    bn: BatchNorm,
}

/// Two 3×3 convolutions with batch norm and a shortcut.
#[derive(Module, Debug)]
struct BasicBlock {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    /// Option B: a projection; `None` with `pad_channels == 0`: identity.
    projection: Option<Projection>,
    /// Option A: channels to add on each side after taking every other pixel.
    pad_channels: usize,
}

impl BasicBlock {
    fn new(in_c: usize, out_c: usize, stride: usize, option_a: bool, device: &Device) -> Self {
        let reshape = stride != 1 || in_c != out_c;
        BasicBlock {
            conv1: conv(in_c, out_c, 3, stride, 1, device),
            bn1: BatchNormConfig::new(out_c).init(device),
            conv2: conv(out_c, out_c, 3, 1, 1, device),
            bn2: BatchNormConfig::new(out_c).init(device),
            projection: (reshape && !option_a).then(|| Projection {
                conv: conv(in_c, out_c, 1, stride, 0, device),
                bn: BatchNormConfig::new(out_c).init(device),
            }),
            pad_channels: if reshape && option_a {
                (out_c - in_c) / 2
            } else {
                0
            },
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = batch_norm_relu(&self.bn1, conv2d(&self.conv1, x.clone()));
        let out = batch_norm(&self.bn2, conv2d(&self.conv2, out));
        let shortcut = if let Some(p) = &self.projection {
            batch_norm(&p.bn, conv2d(&p.conv, x))
        } else if self.pad_channels > 0 {
            let [b, _, h, w] = x.dims();
            let device = x.device();
            let even = |n: usize| -> Tensor<1, Int> {
                let v: Vec<i64> = (0..n as i64).step_by(2).collect();
                let len = v.len();
                Tensor::from_data(TensorData::new(v, [len]), &device)
            };
            let x = x.select(2, even(h)).select(3, even(w));
            let [_, _, h2, w2] = x.dims();
            let zeros = Tensor::<4>::zeros([b, self.pad_channels, h2, w2], &device);
            Tensor::cat(vec![zeros.clone(), x, zeros], 1)
        } else {
            x
        };
        relu(out + shortcut)
    }
}

/// ResNet20 or ResNet18 scoring `[batch, channels·height·width]` images (row-major pixels).
#[derive(Module, Debug)]
pub struct ResNet {
    stem: Conv2d,
    stem_bn: BatchNorm,
    pool: Option<MaxPool2d>,
    blocks: Vec<BasicBlock>,
    pub(crate) head: Linear,
    channels: usize,
    height: usize,
    width: usize,
}

impl ResNet {
    /// CIFAR-style ResNet20 (≈0.27 M parameters) for `[channels, height, width]` input.
    pub fn resnet20(input: [usize; 3], device: &Device) -> Self {
        let mut blocks = Vec::new();
        let mut in_c = 16;
        for (out_c, stride) in [(16, 1), (32, 2), (64, 2)] {
            for i in 0..3 {
                blocks.push(BasicBlock::new(
                    in_c,
                    out_c,
                    if i == 0 { stride } else { 1 },
                    true,
                    device,
                ));
                in_c = out_c;
            }
        }
        ResNet {
            stem: conv(input[0], 16, 3, 1, 1, device),
            stem_bn: BatchNormConfig::new(16).init(device),
            pool: None,
            blocks,
            head: LinearConfig::new(64, 1).init(device),
            channels: input[0],
            height: input[1],
            width: input[2],
        }
    }

    /// ResNet18 (≈11 M parameters) for `[channels, height, width]` input.
    pub fn resnet18(input: [usize; 3], device: &Device) -> Self {
        let mut blocks = Vec::new();
        let mut in_c = 64;
        for (out_c, stride) in [(64, 1), (128, 2), (256, 2), (512, 2)] {
            for i in 0..2 {
                blocks.push(BasicBlock::new(
                    in_c,
                    out_c,
                    if i == 0 { stride } else { 1 },
                    false,
                    device,
                ));
                in_c = out_c;
            }
        }
        ResNet {
            stem: conv(input[0], 64, 7, 2, 3, device),
            stem_bn: BatchNormConfig::new(64).init(device),
            pool: Some(
                MaxPool2dConfig::new([3, 3])
                    .with_strides([2, 2])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init(),
            ),
            blocks,
            head: LinearConfig::new(512, 1).init(device),
            channels: input[0],
            height: input[1],
            width: input[2],
        }
    }

    /// Logits `[batch]` of images `[batch, channels, height, width]`.
    pub fn forward_images(&self, x: Tensor<4>) -> Tensor<1> {
        let mut h = batch_norm_relu(&self.stem_bn, conv2d(&self.stem, x));
        if let Some(p) = &self.pool {
            h = p.forward(h);
        }
        for b in &self.blocks {
            h = b.forward(h);
        }
        pooled_logits(&self.head, h)
    }

    /// Logits of flattened images `[batch, channels·height·width]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<1> {
        self.forward_images(unflatten(x, [self.channels, self.height, self.width]))
    }
}

/// The image models' head: global average pooling of `h [B, C, H, W]`, then `head` (C → 1).
pub(crate) fn pooled_logits(head: &Linear, h: Tensor<4>) -> Tensor<1> {
    let [batch, c, _, _] = h.dims();
    let pooled: Tensor<2> = h.mean_dim(3).mean_dim(2).reshape([batch, c]);
    head.forward(pooled).squeeze_dim::<1>(1)
}

/// Flattened images `[B, C·H·W]` (row-major pixels) as `[B, C, H, W]`.
pub(crate) fn unflatten(x: Tensor<2>, [c, h, w]: [usize; 3]) -> Tensor<4> {
    let [batch, _] = x.dims();
    x.reshape([batch, c, h, w])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_parameter_counts() {
        let d = Device::flex();
        let r20 = ResNet::resnet20([1, 28, 28], &d);
        let x = Tensor::<2>::zeros([2, 784], &d);
        assert_eq!(r20.forward(x).dims(), [2]);
        // The CIFAR ResNet20 has ~0.27 M weights (3-channel input); with 1 channel 288 fewer.
        let n = r20.num_params();
        assert!((260_000..280_000).contains(&n), "{n}");
        let r18 = ResNet::resnet18([3, 32, 32], &d);
        assert_eq!(r18.forward(Tensor::<2>::zeros([1, 3072], &d)).dims(), [1]);
        let n = r18.num_params();
        assert!((11_000_000..11_300_000).contains(&n), "{n}");
    }
}
