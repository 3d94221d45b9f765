//! Multiple-instance learning: LibAUC's `FFNN_stoc_att` instance model and the bag poolings
//! (spec `libauc_spec.md` §2.16, §6.1, §7.8).
//!
//! The model maps each instance `x` to a hidden vector `e = tanh(W₀x + b₀)` followed by
//! `[Linear → ReLU]*`, a score `φ = w_cᵀe + b_c` and an attention weight
//! `w = exp(w_2ᵀ tanh(W_1 e + b_1) + b_2)`. Weights are Xavier-normal (biases PyTorch's
//! uniform default), as LibAUC initialises them.
//!
//! Poolings of a bag's scores over *all* its instances (LibAUC's `MIL_aggregation`, used for
//! evaluation) and over a sampled few (its `MIL_sampling`, the inputs of
//! [`crate::loss::MidamLoss`]) are in [`Pooling`].

use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::{relu, tanh};
use burn::tensor::{Device, Tensor};

/// LibAUC's `FFNN_stoc_att`: instance scores and attention weights.
#[derive(Module, Debug)]
pub struct AttentionMil {
    input: Linear,
    hidden: Vec<Linear>,
    classifier: Linear,
    att1: Linear,
    att2: Linear,
}

fn linear(i: usize, o: usize, device: &Device) -> Linear {
    LinearConfig::new(i, o)
        .with_initializer(Initializer::XavierNormal { gain: 1.0 })
        .init(device)
}

impl AttentionMil {
    /// A model for `input` features with hidden widths `hidden` (LibAUC default `[16]`).
    pub fn new(input: usize, hidden: &[usize], device: &Device) -> Self {
        let widths: Vec<usize> = if hidden.is_empty() {
            vec![16]
        } else {
            hidden.to_vec()
        };
        let last = *widths.last().unwrap_or(&16);
        AttentionMil {
            input: linear(input, widths[0], device),
            hidden: widths
                .windows(2)
                .map(|w| linear(w[0], w[1], device))
                .collect(),
            classifier: linear(last, 1, device),
            att1: linear(last, last, device),
            att2: linear(last, 1, device),
        }
    }

    /// The model with its score layer (`w_c`, `b_c`) drawn again (two-stage training's
    /// `reset_last_layer`); the attention layers keep what they learned.
    pub fn reset_head(mut self, device: &Device) -> Self {
        let [inputs, outputs] = self.classifier.weight.dims();
        self.classifier = linear(inputs, outputs, device);
        self
    }

    /// Scores `φ` and attention weights `w` (both `[n]`) of instances `[n, input]`.
    pub fn forward(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<1>) {
        let mut h = tanh(self.input.forward(x));
        for l in &self.hidden {
            h = relu(l.forward(h));
        }
        let n = h.dims()[0];
        let w = self.att2.forward(tanh(self.att1.forward(h.clone()))).exp();
        (self.classifier.forward(h).reshape([n]), w.reshape([n]))
    }
}

/// How a bag's instance scores become one score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pooling {
    /// Mean of the scores.
    Mean,
    /// Maximum of the scores.
    Max,
    /// Smoothed max `τ·ln mean exp(φ/τ)`.
    Softmax {
        /// τ.
        tau: f64,
    },
    /// Attention `Σ φ·w / Σ w`.
    Attention,
}

impl Pooling {
    /// The pooled score of one bag from its instances' scores and weights (`[n]` each).
    pub fn pool(self, phi: Tensor<1>, w: Tensor<1>) -> Tensor<1> {
        match self {
            Pooling::Mean => phi.mean(),
            Pooling::Max => phi.max(),
            Pooling::Softmax { tau } => ((phi / tau).exp().mean().log()) * tau,
            Pooling::Attention => (phi * w.clone()).sum() / w.sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32]) -> Tensor<1> {
        Tensor::from_floats(v, &Device::flex())
    }

    #[test]
    fn poolings_by_hand() {
        let phi = [0.2f32, -0.4, 1.0];
        let w = [1.0f32, 3.0, 0.5];
        let v = |p: Pooling| f64::from(p.pool(t(&phi), t(&w)).into_scalar::<f32>());
        assert!((v(Pooling::Mean) - 0.8 / 3.0).abs() < 1e-6);
        assert!((v(Pooling::Max) - 1.0).abs() < 1e-6);
        let smx = 0.5 * ((0.4f64.exp() + (-0.8f64).exp() + 2.0f64.exp()) / 3.0).ln();
        assert!((v(Pooling::Softmax { tau: 0.5 }) - smx).abs() < 1e-6);
        assert!((v(Pooling::Attention) - (0.2 - 1.2 + 0.5) / 4.5).abs() < 1e-6);
    }

    #[test]
    fn model_shapes_and_positive_weights() {
        let d = Device::flex();
        let m = AttentionMil::new(5, &[8, 4], &d);
        let (phi, w) = m.forward(Tensor::zeros([3, 5], &d));
        assert_eq!((phi.dims(), w.dims()), ([3], [3]));
        assert!(w.greater_elem(0.0).all().into_scalar::<bool>());
    }
}
