//! The hyper-parameter-optimization problem of the BSVRB paper (spec `bilevel_ndcg_spec.md`
//! §2.1): learn one weight per training example so that m temperature-scaled logistic models
//! trained on the weighted data do well on validation data.
//!
//! ```text
//! x = p ∈ ℝⁿ (one logit per training example), weight σ(p_j)
//! g_i(p, w) = (1/n) Σ_j σ(p_j) · log(1 + exp(−y_j wᵀx̃_j / s_i)) + (λ/2)‖w‖²       (w ∈ ℝ^{d+1}, bias included)
//! f_i(p, w) = mean over validation examples of log(1 + exp(−y wᵀx̃ / s_i))
//! ```
//!
//! The m scale factors s_i are spread evenly over [1.16, 10.95] (the released list is "roughly
//! uniform on [1, 11]" and is not reproduced here; see [`default_scales`]). ∇_p f_i = 0, so the
//! hypergradient is purely the implicit term.

use super::oracle::tensor;
use super::problem::{Level, MultiBlockProblem};
use crate::error::{Result, XriskError};
use burn::tensor::activation::{sigmoid, softplus};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Labelled examples: `features` row-major `n × dim` (no bias column), `labels` ±1.
#[derive(Debug, Clone, PartialEq)]
pub struct ReweightingData {
    /// Row-major features.
    pub features: Vec<f64>,
    /// Labels, −1 or +1.
    pub labels: Vec<f64>,
    /// Features per row.
    pub dim: usize,
}

impl ReweightingData {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    fn with_bias(&self) -> Vec<f64> {
        self.features
            .chunks(self.dim.max(1))
            .flat_map(|r| r.iter().copied().chain(std::iter::once(1.0)))
            .collect()
    }
}

/// m scale factors spread evenly over [1.16, 10.95].
pub fn default_scales(m: usize) -> Vec<f64> {
    (0..m)
        .map(|i| 1.16 + (10.95 - 1.16) * i as f64 / (m.max(2) - 1) as f64)
        .collect()
}

/// The data re-weighting problem on tensors.
pub struct DataReweighting {
    device: Device,
    dim: usize,
    scales: Vec<f64>,
    lambda: f64,
    train_x: Tensor<2>,
    train_y: Tensor<1>,
    val_x: Tensor<2>,
    val_y: Tensor<1>,
    n_train: usize,
    n_val: usize,
    host_val: (Vec<f64>, Vec<f64>),
    host_test: (Vec<f64>, Vec<f64>),
}

/// One sample: B example indices per sampled block and their rows.
pub struct ReweightingSample {
    ids: Tensor<1, Int>,
    feats: Tensor<3>,
    labels: Tensor<3>,
    scales: Tensor<3>,
}

/// Mean logistic loss and accuracy of each model in `ws` on `(x, y)`.
fn loss_and_accuracy(
    ws: &[f64],
    dim: usize,
    scales: &[f64],
    data: &(Vec<f64>, Vec<f64>),
) -> (f64, f64) {
    let (x, y) = data;
    let per_model: Vec<(f64, f64)> = ws
        .par_chunks(dim)
        .zip(scales.par_iter())
        .map(|(w, &s)| {
            let (mut loss, mut hits) = (0.0, 0usize);
            for (row, &label) in x.chunks(dim).zip(y) {
                let score: f64 = row.iter().zip(w).map(|(a, b)| a * b).sum();
                let z = -label * score / s;
                loss += if z > 0.0 {
                    z + (-z).exp().ln_1p()
                } else {
                    z.exp().ln_1p()
                };
                hits += usize::from((score >= 0.0) == (label > 0.0));
            }
            (
                loss / y.len().max(1) as f64,
                hits as f64 / y.len().max(1) as f64,
            )
        })
        .collect();
    let m = per_model.len().max(1) as f64;
    (
        per_model.iter().map(|p| p.0).sum::<f64>() / m,
        per_model.iter().map(|p| p.1).sum::<f64>() / m,
    )
}

impl DataReweighting {
    /// Builds the problem with one lower-level model per entry of `scales` and ridge `lambda`.
    pub fn new(
        train: &ReweightingData,
        val: &ReweightingData,
        test: &ReweightingData,
        scales: Vec<f64>,
        lambda: f64,
        device: &Device,
    ) -> Result<Self> {
        let dim = train.dim;
        for (name, d) in [("validation", val), ("test", test), ("train", train)] {
            if d.dim != dim || d.features.len() != d.len() * d.dim || d.is_empty() {
                return Err(XriskError::InvalidConfig {
                    name: "data",
                    value: d.len() as f64,
                    reason: match name {
                        "train" => {
                            "the training set is empty or its features do not match its labels"
                        }
                        "validation" => {
                            "the validation set is empty or has another feature count than the training set"
                        }
                        _ => {
                            "the test set is empty or has another feature count than the training set"
                        }
                    },
                });
            }
        }
        if scales.is_empty() || scales.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(XriskError::InvalidConfig {
                name: "scales",
                value: scales.len() as f64,
                reason: "need at least one block, and every scale must be positive",
            });
        }
        let d1 = dim + 1;
        let (n_train, n_val) = (train.len(), val.len());
        Ok(Self {
            train_x: tensor(train.with_bias(), [n_train, d1], device),
            train_y: tensor(train.labels.clone(), [n_train], device),
            val_x: tensor(val.with_bias(), [n_val, d1], device),
            val_y: tensor(val.labels.clone(), [n_val], device),
            host_val: (val.with_bias(), val.labels.clone()),
            host_test: (test.with_bias(), test.labels.clone()),
            device: device.clone(),
            dim,
            scales,
            lambda,
            n_train,
            n_val,
        })
    }

    /// Mean over the m models of (validation logistic loss, validation accuracy) — the
    /// upper-level objective at the lower-level iterates `ys`.
    pub fn validation(&self, ys: &[f64]) -> (f64, f64) {
        loss_and_accuracy(ys, self.dim + 1, &self.scales, &self.host_val)
    }

    /// Mean over the m models of (test logistic loss, test accuracy).
    pub fn test(&self, ys: &[f64]) -> (f64, f64) {
        loss_and_accuracy(ys, self.dim + 1, &self.scales, &self.host_test)
    }

    fn draw(
        &self,
        blocks: &[usize],
        batch: usize,
        n: usize,
        x: &Tensor<2>,
        y: &Tensor<1>,
        rng: &mut ChaCha8Rng,
    ) -> ReweightingSample {
        let k = blocks.len() * batch;
        let ids: Vec<i64> = (0..k).map(|_| rng.random_range(0..n) as i64).collect();
        let ids: Tensor<1, Int> = Tensor::from_data(TensorData::new(ids, [k]), &self.device);
        let scales: Vec<f64> = blocks.iter().map(|&i| self.scales[i]).collect();
        ReweightingSample {
            feats: x
                .clone()
                .select(0, ids.clone())
                .reshape([blocks.len(), batch, self.dim + 1]),
            labels: y
                .clone()
                .select(0, ids.clone())
                .reshape([blocks.len(), batch, 1]),
            scales: tensor(scales, [blocks.len(), 1, 1], &self.device),
            ids,
        }
    }

    /// Mean over the sample of `weight · log(1 + exp(−y·score/s))` per block and row.
    fn logistic(s: &ReweightingSample, ys: Tensor<3>, weight: Option<Tensor<3>>) -> Tensor<2> {
        let [n, k, _] = ys.dims();
        let scores = s.feats.clone().matmul(ys.swap_dims(1, 2));
        let loss = softplus(-(scores * s.labels.clone() / s.scales.clone()), 1.0);
        let loss = match weight {
            Some(w) => loss * w,
            None => loss,
        };
        loss.mean_dim(1).reshape([n, k])
    }
}

impl MultiBlockProblem for DataReweighting {
    type Sample = ReweightingSample;

    fn blocks(&self) -> usize {
        self.scales.len()
    }
    fn dim_x(&self) -> usize {
        self.n_train
    }
    fn dim_y(&self) -> usize {
        self.dim + 1
    }
    fn device(&self) -> Device {
        self.device.clone()
    }

    fn sample(
        &self,
        level: Level,
        blocks: &[usize],
        batch: usize,
        rng: &mut ChaCha8Rng,
    ) -> ReweightingSample {
        match level {
            Level::Lower => self.draw(
                blocks,
                batch,
                self.n_train,
                &self.train_x,
                &self.train_y,
                rng,
            ),
            Level::Upper => self.draw(blocks, batch, self.n_val, &self.val_x, &self.val_y, rng),
        }
    }

    fn lower(
        &self,
        _blocks: &[usize],
        x: Tensor<1>,
        ys: Tensor<3>,
        s: &ReweightingSample,
    ) -> Tensor<2> {
        let [n, b, _] = s.feats.dims();
        let weight = sigmoid(x.select(0, s.ids.clone())).reshape([n, b, 1]);
        let ridge = ys
            .clone()
            .powi_scalar(2)
            .sum_dim(2)
            .reshape([n, ys.dims()[1]])
            * (0.5 * self.lambda);
        Self::logistic(s, ys, Some(weight)) + ridge
    }

    fn upper(
        &self,
        _blocks: &[usize],
        _x: Tensor<1>,
        ys: Tensor<3>,
        s: &ReweightingSample,
    ) -> Tensor<2> {
        Self::logistic(s, ys, None)
    }

    /// p₀ uniform in [0, 1), as in the released runs.
    fn initial_x(&self, rng: &mut ChaCha8Rng) -> Vec<f64> {
        (0..self.n_train).map(|_| rng.random::<f64>()).collect()
    }

    /// w₀ = 0 for every model (the released code starts from uniform [0, 1), which puts
    /// every a8a score near +7 at the start).
    fn initial_y(&self, _rng: &mut ChaCha8Rng) -> Vec<f64> {
        vec![0.0; self.scales.len() * (self.dim + 1)]
    }
}
