//! Models that turn a batch of feature rows into one logit per row: [`Mlp`] and the
//! residual networks of [`crate::resnet`] and DenseNet121 of [`crate::densenet`], behind the [`Scorer`] trait.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// `input → [Linear → ReLU]* → Linear → 1 logit`.
#[derive(Module, Debug)]
pub struct Mlp {
    hidden: Vec<Linear>,
    head: Linear,
}

impl Mlp {
    /// An MLP with the given hidden widths (empty: a linear model).
    pub fn new(input: usize, hidden: &[usize], device: &Device) -> Self {
        let mut layers = Vec::with_capacity(hidden.len());
        let mut width = input;
        for &h in hidden {
            layers.push(LinearConfig::new(width, h).init(device));
            width = h;
        }
        Mlp {
            hidden: layers,
            head: LinearConfig::new(width, 1).init(device),
        }
    }

    /// Re-initialises the output layer (the warm-up hand-off of SONG, spec
    /// `bilevel_ndcg_spec.md` §3.6); build a new optimizer after it.
    pub fn reset_last_layer(mut self, device: &Device) -> Self {
        self.head = fresh_like(&self.head, device);
        self
    }

    /// An MLP with `outputs` logits per row (one per task of a multi-label problem).
    pub fn with_outputs(input: usize, hidden: &[usize], outputs: usize, device: &Device) -> Self {
        let mut m = Mlp::new(input, hidden, device);
        let width = m.head.weight.dims()[0];
        m.head = LinearConfig::new(width, outputs.max(1)).init(device);
        m
    }

    /// Logits `[batch]` of inputs `[batch, input]` (the first output).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<1> {
        let z = self.forward_all(x);
        let [n, _] = z.dims();
        z.slice([0..n, 0..1]).squeeze_dim::<1>(1)
    }

    /// Logits `[batch, outputs]` of inputs `[batch, input]`.
    pub fn forward_all(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = x;
        for l in &self.hidden {
            h = relu(l.forward(h));
        }
        self.head.forward(h)
    }
}

/// A freshly initialised linear layer of `layer`'s shape (inputs × outputs), drawn from the
/// device's RNG.
pub(crate) fn fresh_like(layer: &Linear, device: &Device) -> Linear {
    let [inputs, outputs] = layer.weight.dims();
    LinearConfig::new(inputs, outputs).init(device)
}

/// A model that scores `[batch, features]` rows with one logit each.
pub trait Scorer: Module {
    /// Logits `[batch]`.
    fn score(&self, x: Tensor<2>) -> Tensor<1>;

    /// The model with its output layer re-initialised (two-stage training's
    /// `reset_last_layer`, LibAUC's tutorials: pretrain, reset the head, fine-tune).
    fn reset_head(self, device: &Device) -> Self;
}

impl Scorer for Mlp {
    fn score(&self, x: Tensor<2>) -> Tensor<1> {
        self.forward(x)
    }

    fn reset_head(self, device: &Device) -> Self {
        self.reset_last_layer(device)
    }
}

impl Scorer for crate::densenet::DenseNet {
    fn score(&self, x: Tensor<2>) -> Tensor<1> {
        self.forward(x)
    }

    fn reset_head(mut self, device: &Device) -> Self {
        self.head = fresh_like(&self.head, device);
        self
    }
}

impl Scorer for crate::resnet::ResNet {
    fn score(&self, x: Tensor<2>) -> Tensor<1> {
        self.forward(x)
    }

    fn reset_head(mut self, device: &Device) -> Self {
        self.head = fresh_like(&self.head, device);
        self
    }
}
