//! Many-class ("extreme") classification models for the compositional entropic loss
//! ([`crate::loss::EntLossClassification`], spec `libauc_spec.md` §2.17): an optional ReLU MLP
//! encoder `e(x)` and a class matrix `W` `[K, d]`, scored only against the classes a batch
//! samples, so a step costs O(B·C·d) for C sampled classes instead of O(B·K·d).

use crate::error::{Result, XriskError};
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Bool, Device, Distribution, Int, Tensor, TensorData};

/// Encoder + class matrix.
#[derive(Module, Debug)]
pub struct XcClassifier {
    hidden: Vec<Linear>,
    /// Class vectors `w_k`, `[K, d]`.
    pub w: Param<Tensor<2>>,
}

impl XcClassifier {
    /// `input` features → `hidden` ReLU layers → `n_classes` class vectors, initialised
    /// N(0, 1/d).
    pub fn new(input: usize, hidden: &[usize], n_classes: usize, device: &Device) -> Self {
        let mut layers = Vec::with_capacity(hidden.len());
        let mut width = input;
        for &h in hidden {
            layers.push(LinearConfig::new(width, h).init(device));
            width = h;
        }
        let std = 1.0 / (width.max(1) as f64).sqrt();
        XcClassifier {
            hidden: layers,
            w: Param::from_tensor(Tensor::random(
                [n_classes, width],
                Distribution::Normal(0.0, std),
                device,
            )),
        }
    }

    /// Number of classes K.
    pub fn n_classes(&self) -> usize {
        self.w.dims()[0]
    }

    /// Embeddings `[B, d]` of inputs `[B, input]`.
    pub fn embed(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = x;
        for l in &self.hidden {
            h = relu(l.forward(h));
        }
        h
    }

    /// Scores against every class, `[B, K]`.
    pub fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        self.embed(x).matmul(self.w.val().transpose())
    }

    /// The entropic loss's input: `ℓ_ic = e(x_i)ᵀ(w_c − w_{y_i})` over the sampled `classes`
    /// (distinct ids, each row's own class among them), with the own class at −∞, `[B, C]`.
    pub fn relative_logits(
        &self,
        x: Tensor<2>,
        labels: &[usize],
        classes: &[usize],
    ) -> Result<Tensor<2>> {
        let device = x.device();
        let (b, c) = (labels.len(), classes.len());
        let k = self.n_classes();
        if let Some(&bad) = classes.iter().chain(labels).find(|&&v| v >= k) {
            return Err(XriskError::IdOutOfRange {
                index: 0,
                id: bad,
                len: k,
            });
        }
        let mut own = Vec::with_capacity(b);
        for &y in labels {
            let pos = classes
                .iter()
                .position(|&v| v == y)
                .ok_or(XriskError::InvalidConfig {
                    name: "classes",
                    value: y as f64,
                    reason: "every row's own class must be among the sampled classes",
                })?;
            own.push(pos as i64);
        }
        let idx = Tensor::<1, Int>::from_data(
            TensorData::new(classes.iter().map(|&v| v as i64).collect::<Vec<_>>(), [c]),
            &device,
        );
        let sc = self
            .embed(x)
            .matmul(self.w.val().select(0, idx).transpose());
        let own_t = Tensor::<2, Int>::from_data(TensorData::new(own.clone(), [b, 1]), &device);
        let own_score = sc.clone().gather(1, own_t);
        let mask: Vec<bool> = (0..b * c).map(|i| own[i / c] as usize == i % c).collect();
        let mask = Tensor::<2, Bool>::from_data(TensorData::new(mask, [b, c]), &device);
        Ok((sc - own_score).mask_fill(mask, f32::NEG_INFINITY))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_logits_by_hand() {
        let d = Device::flex();
        let mut m = XcClassifier::new(2, &[], 3, &d);
        m.w = Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0], [3, 2]),
            &d,
        ));
        let x = Tensor::<2>::from_data(TensorData::new(vec![2.0f32, 3.0], [1, 2]), &d);
        // scores: class0 2, class1 3, class2 5; own class 1 → [2−3, −∞, 5−3] over classes [0,1,2]
        let l: Vec<f32> = m
            .relative_logits(x.clone(), &[1], &[0, 1, 2])
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(l, vec![-1.0, f32::NEG_INFINITY, 2.0]);
        assert!(m.relative_logits(x.clone(), &[1], &[0, 2]).is_err());
        assert!(m.relative_logits(x, &[1], &[1, 7]).is_err());
    }
}
