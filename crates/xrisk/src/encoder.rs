//! Small encoders for the contrastive experiments (issue 5): a convolutional encoder for 28×28
//! grey images and a bag encoder for hashed text features
//! ([`xrisk_data::hashing::SparseText`]). Both return the representation (what linear
//! evaluation reads) and an L2-normalised projection (what the contrastive loss reads), as in
//! SimCLR's "encoder + projection head".
//!
//! - [`ConvEncoder`]: conv 3×3 (1→16) → ReLU → max-pool 2 → conv 3×3 (16→32) → ReLU → max-pool
//!   2 → linear (32·7·7 → `width`) → ReLU = representation; linear (`width` → `out`) →
//!   normalise = projection.
//! - [`BagEncoder`]: `Σ_k w_k·E[slot_k]` (an embedding bag over the text's hashed slots) → ReLU
//!   = representation; linear → normalise = projection.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};
use xrisk_data::hashing::SparseText;

/// Rows divided by their L2 norm (floored at 1e-12, as PyTorch's `F.normalize`).
pub fn normalize_rows(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

/// The convolutional encoder for `1 × 28 × 28` images.
#[derive(Module, Debug)]
pub struct ConvEncoder {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    fc: Linear,
    proj: Linear,
}

impl ConvEncoder {
    /// A fresh encoder with a `width`-wide representation and an `out`-wide projection.
    pub fn new(width: usize, out: usize, device: &Device) -> Self {
        let conv = |i, o| {
            Conv2dConfig::new([i, o], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        ConvEncoder {
            conv1: conv(1, 16),
            conv2: conv(16, 32),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            fc: LinearConfig::new(32 * 7 * 7, width).init(device),
            proj: LinearConfig::new(width, out).init(device),
        }
    }

    /// `(representation [B, width], projection [B, out])` of images given as rows `[B, 784]`.
    pub fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let b = x.dims()[0];
        let x = x.reshape([b, 1, 28, 28]);
        let x = self
            .pool
            .forward(relu(crate::conv::forward(&self.conv1, x)));
        let x = self
            .pool
            .forward(relu(crate::conv::forward(&self.conv2, x)));
        let h = relu(self.fc.forward(x.reshape([b, 32 * 7 * 7])));
        let z = normalize_rows(self.proj.forward(h.clone()));
        (h, z)
    }
}

/// The bag encoder for hashed text.
#[derive(Module, Debug)]
pub struct BagEncoder {
    emb: Embedding,
    proj: Linear,
}

impl BagEncoder {
    /// A fresh encoder over `buckets` hashed slots, `width`-wide representation, `out`-wide
    /// projection.
    pub fn new(buckets: usize, width: usize, out: usize, device: &Device) -> Self {
        BagEncoder {
            emb: EmbeddingConfig::new(buckets, width).init(device),
            proj: LinearConfig::new(width, out).init(device),
        }
    }

    /// `(representation, projection)` of a batch from [`bag_batch`]'s slots and weights.
    pub fn forward(&self, slots: Tensor<2, Int>, weights: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let [b, _] = slots.dims();
        let e = self.emb.forward(slots); // [B, L, width]
        let d = e.dims()[2];
        let h = relu(
            (e * weights.unsqueeze_dim::<3>(2))
                .sum_dim(1)
                .reshape([b, d]),
        );
        let z = normalize_rows(self.proj.forward(h.clone()));
        (h, z)
    }
}

/// Pads the texts' slots and weights to the longest (slot 0 with weight 0 fills) — the inputs
/// of [`BagEncoder::forward`]. An empty text gets one zero-weight slot.
pub fn bag_batch(texts: &[&SparseText], device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
    let l = texts
        .iter()
        .map(|t| t.slots.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let (mut s, mut w) = (vec![0i64; texts.len() * l], vec![0f32; texts.len() * l]);
    for (i, t) in texts.iter().enumerate() {
        for (k, (&slot, &wt)) in t.slots.iter().zip(&t.weights).enumerate() {
            s[i * l + k] = i64::from(slot);
            w[i * l + k] = wt;
        }
    }
    (
        Tensor::from_data(TensorData::new(s, [texts.len(), l]), device),
        Tensor::from_data(TensorData::new(w, [texts.len(), l]), device),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(t: Tensor<2>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn shapes_and_unit_projections() {
        let device = Device::flex();
        let conv = ConvEncoder::new(16, 8, &device);
        let (h, z) = conv.forward(Tensor::ones([3, 784], &device));
        assert_eq!((h.dims(), z.dims()), ([3, 16], [3, 8]));
        for r in host(z).chunks(8) {
            let n: f32 = r.iter().map(|v| v * v).sum();
            assert!((n - 1.0).abs() < 1e-4);
        }
        let bag = BagEncoder::new(64, 16, 8, &device);
        let a = xrisk_data::hashing::hash_text("cheap watches", 64, 32);
        let b = xrisk_data::hashing::hash_text("", 64, 32);
        let (s, w) = bag_batch(&[&a, &b], &device);
        let (h, z) = bag.forward(s, w);
        assert_eq!((h.dims(), z.dims()), ([2, 16], [2, 8]));
        // The empty text's bag is zero: its representation is ReLU(0) = 0.
        assert!(host(h)[16..].iter().all(|v| *v == 0.0));
    }

    #[test]
    fn the_bag_is_the_weighted_sum_of_embedding_rows() {
        let device = Device::flex();
        let bag = BagEncoder::new(10, 4, 2, &device);
        let t = SparseText {
            slots: vec![2, 7],
            weights: vec![0.6, 0.8],
        };
        let (s, w) = bag_batch(&[&t], &device);
        let (h, _) = bag.forward(s, w);
        let e = host(bag.emb.weight.val());
        let want: Vec<f32> = (0..4)
            .map(|k| (0.6 * e[2 * 4 + k] + 0.8 * e[7 * 4 + k]).max(0.0))
            .collect();
        for (g, w) in host(h).iter().zip(&want) {
            assert!((g - w).abs() < 1e-5, "{g} vs {w}");
        }
    }
}
