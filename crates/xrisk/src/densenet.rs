//! DenseNet121 (Huang et al. 2017; torchvision's layout, LibAUC's CheXpert model) scoring images
//! with one logit: a 7×7/2 stem convolution with batch norm, ReLU and a 3×3/2 max-pool; four dense
//! blocks of 6, 12, 24 and 16 layers (each BN → ReLU → 1×1 conv to 4·32 channels → BN → ReLU →
//! 3×3 conv to 32 channels, its output concatenated to its input); a transition between blocks
//! (BN → ReLU → 1×1 conv halving the channels → 2×2 average pool); a final batch norm, ReLU,
//! global average pooling and a linear head. About 7.0 M parameters. Convolutions run xrisk's
//! kernels on `flex` ([`crate::conv`]).

use crate::conv::forward as conv2d;
use crate::norm::forward_relu as batch_norm_relu;
use crate::resnet::{pooled_logits, unflatten};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

/// Channels each dense layer adds.
const GROWTH: usize = 32;
/// Width of a dense layer's bottleneck, in multiples of [`GROWTH`].
const BOTTLENECK: usize = 4;

fn conv(in_c: usize, out_c: usize, k: usize, stride: usize, pad: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([in_c, out_c], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .init(device)
}

/// BN → ReLU → 1×1 conv → BN → ReLU → 3×3 conv, `GROWTH` new channels.
#[derive(Module, Debug)]
struct DenseLayer {
    bn1: BatchNorm,
    conv1: Conv2d,
    bn2: BatchNorm,
    conv2: Conv2d,
}

impl DenseLayer {
    fn new(in_c: usize, device: &Device) -> Self {
        let mid = BOTTLENECK * GROWTH;
        DenseLayer {
            bn1: BatchNormConfig::new(in_c).init(device),
            conv1: conv(in_c, mid, 1, 1, 0, device),
            bn2: BatchNormConfig::new(mid).init(device),
            conv2: conv(mid, GROWTH, 3, 1, 1, device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = conv2d(&self.conv1, batch_norm_relu(&self.bn1, x));
        conv2d(&self.conv2, batch_norm_relu(&self.bn2, h))
    }
}

/// BN → ReLU → 1×1 conv (channels halved) → 2×2 average pool.
#[derive(Module, Debug)]
struct Transition {
    bn: BatchNorm,
    conv: Conv2d,
    pool: AvgPool2d,
}

/// One dense block and the transition after it (none after the last block).
#[derive(Module, Debug)]
struct Stage {
    layers: Vec<DenseLayer>,
    transition: Option<Transition>,
}

/// DenseNet121 scoring `[batch, channels·height·width]` images (row-major pixels).
#[derive(Module, Debug)]
pub struct DenseNet {
    stem: Conv2d,
    stem_bn: BatchNorm,
    pool: MaxPool2d,
    stages: Vec<Stage>,
    final_bn: BatchNorm,
    pub(crate) head: Linear,
    channels: usize,
    height: usize,
    width: usize,
}

impl DenseNet {
    /// DenseNet121 (blocks of 6, 12, 24, 16 layers, growth 32, 64 stem channels) for
    /// `[channels, height, width]` input; images of at least 32 × 32 keep every stage non-empty.
    pub fn densenet121(input: [usize; 3], device: &Device) -> Self {
        let mut c = 64;
        let blocks = [6, 12, 24, 16];
        let mut stages = Vec::with_capacity(blocks.len());
        for (i, &n) in blocks.iter().enumerate() {
            let layers = (0..n)
                .map(|l| DenseLayer::new(c + l * GROWTH, device))
                .collect();
            c += n * GROWTH;
            let transition = (i + 1 < blocks.len()).then(|| {
                let t = Transition {
                    bn: BatchNormConfig::new(c).init(device),
                    conv: conv(c, c / 2, 1, 1, 0, device),
                    pool: AvgPool2dConfig::new([2, 2]).init(),
                };
                c /= 2;
                t
            });
            stages.push(Stage { layers, transition });
        }
        DenseNet {
            stem: conv(input[0], 64, 7, 2, 3, device),
            stem_bn: BatchNormConfig::new(64).init(device),
            pool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            stages,
            final_bn: BatchNormConfig::new(c).init(device),
            head: LinearConfig::new(c, 1).init(device),
            channels: input[0],
            height: input[1],
            width: input[2],
        }
    }

    /// Logits `[batch]` of images `[batch, channels, height, width]`.
    pub fn forward_images(&self, x: Tensor<4>) -> Tensor<1> {
        let mut h = self
            .pool
            .forward(batch_norm_relu(&self.stem_bn, conv2d(&self.stem, x)));
        for stage in &self.stages {
            for layer in &stage.layers {
                let new = layer.forward(h.clone());
                h = Tensor::cat(vec![h, new], 1);
            }
            if let Some(t) = &stage.transition {
                h = t.pool.forward(conv2d(&t.conv, batch_norm_relu(&t.bn, h)));
            }
        }
        let h = batch_norm_relu(&self.final_bn, h);
        pooled_logits(&self.head, h)
    }

    /// Logits of flattened images `[batch, channels·height·width]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<1> {
        self.forward_images(unflatten(x, [self.channels, self.height, self.width]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn densenet121_has_torchvisions_size_and_scores_a_batch() {
        let d = Device::flex();
        let m = DenseNet::densenet121([3, 32, 32], &d);
        // torchvision's densenet121 has 7,978,856 parameters with its 1000-class head
        // (1024·1000 + 1000); with one logit: 7,978,856 − 1,025,000 + 1,025 = 6,954,881.
        // burn also counts each batch norm's running mean and variance: 2 × 41,824 channels
        // over the 121 layers' 120 batch norms.
        assert_eq!(m.num_params(), 6_954_881 + 2 * 41_824);
        let x = Tensor::<2>::zeros([2, 3 * 32 * 32], &d);
        assert_eq!(m.forward(x).dims(), [2]);
    }
}
