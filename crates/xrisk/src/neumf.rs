//! NeuMF (He et al., 2017), LibAUC's recommendation scorer (spec `bilevel_ndcg_spec.md` §3.9):
//! a GMF tower (user ⊙ item embeddings) and an MLP tower (concatenated embeddings through
//! ReLU layers with dropout), joined by a bias-free linear prediction layer. Every weight starts
//! at N(0, 0.01²), as in LibAUC. [`NeuMf::reset_last_layer`] re-initialises the prediction
//! layer for the warm-up hand-off (ListwiseCE → SONG/K-SONG, spec §3.6).

use burn::module::Module;
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig,
};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor};

/// Shape of a [`NeuMf`] (LibAUC defaults: 64-wide embeddings, one 64-wide MLP layer, dropout
/// 0.2).
#[derive(Debug, Clone, PartialEq)]
pub struct NeuMfConfig {
    /// Number of users (queries).
    pub num_users: usize,
    /// Number of items.
    pub num_items: usize,
    /// Width of each embedding (GMF and MLP, user and item).
    pub emb_size: usize,
    /// Widths of the MLP tower's layers after the concatenated embeddings.
    pub layers: Vec<usize>,
    /// Dropout probability after each MLP layer.
    pub dropout: f64,
}

impl NeuMfConfig {
    /// LibAUC's defaults for `num_users` × `num_items`.
    pub fn new(num_users: usize, num_items: usize) -> Self {
        NeuMfConfig {
            num_users,
            num_items,
            emb_size: 64,
            layers: vec![64],
            dropout: 0.2,
        }
    }
}

const INIT: Initializer = Initializer::Normal {
    mean: 0.0,
    std: 0.01,
};

/// The NeuMF scorer.
#[derive(Module, Debug)]
pub struct NeuMf {
    user_gmf: Embedding,
    item_gmf: Embedding,
    user_mlp: Embedding,
    item_mlp: Embedding,
    mlp: Vec<Linear>,
    dropout: Dropout,
    predict: Linear,
}

impl NeuMf {
    /// A freshly initialised model on `device`.
    pub fn new(c: &NeuMfConfig, device: &Device) -> Self {
        let emb = |n| {
            EmbeddingConfig::new(n, c.emb_size)
                .with_initializer(INIT)
                .init(device)
        };
        let mut mlp = Vec::with_capacity(c.layers.len());
        let mut width = 2 * c.emb_size;
        for &w in &c.layers {
            mlp.push(
                LinearConfig::new(width, w)
                    .with_initializer(INIT)
                    .init(device),
            );
            width = w;
        }
        NeuMf {
            user_gmf: emb(c.num_users),
            item_gmf: emb(c.num_items),
            user_mlp: emb(c.num_users),
            item_mlp: emb(c.num_items),
            mlp,
            dropout: DropoutConfig::new(c.dropout).init(),
            predict: Self::head(c, device),
        }
    }

    fn head(c: &NeuMfConfig, device: &Device) -> Linear {
        let mlp_out = c.layers.last().copied().unwrap_or(2 * c.emb_size);
        LinearConfig::new(c.emb_size + mlp_out, 1)
            .with_bias(false)
            .with_initializer(INIT)
            .init(device)
    }

    /// Re-initialises the prediction layer (new parameters: build a new optimizer after it).
    pub fn reset_last_layer(mut self, c: &NeuMfConfig, device: &Device) -> Self {
        self.predict = Self::head(c, device);
        self
    }

    /// Scores `[B, L]` of the user of each row (`users`, `[B]`) for its items (`[B, L]`).
    ///
    /// Computed per user where the math allows: the user's embeddings are looked up once and
    /// broadcast over its `L` items, and the first MLP layer is split,
    /// `[u, i]·W + b = u·W_u + i·W_i + b`, so the user half is one `[B, E]` product instead of
    /// `B·L` rows of a concatenation (bench/profile.sh: lookups, concatenation copies and
    /// matmul were most of the step). Same function as LibAUC's NeuMF, up to float rounding.
    pub fn forward(&self, users: Tensor<1, Int>, items: Tensor<2, Int>) -> Tensor<2> {
        let [b, l] = items.dims();
        let users: Tensor<2, Int> = users.unsqueeze_dim::<2>(1);
        let gmf = self.user_gmf.forward(users.clone()) * self.item_gmf.forward(items.clone());
        let um = self.user_mlp.forward(users);
        let im = self.item_mlp.forward(items);
        let e = im.dims()[2];
        let mut h = match self.mlp.first() {
            Some(first) => {
                let w = first.weight.val();
                let wu = w.clone().narrow(0, 0, e).unsqueeze::<3>();
                let wi = w.narrow(0, e, e).unsqueeze::<3>();
                let mut z = um.matmul(wu) + im.matmul(wi);
                if let Some(bias) = &first.bias {
                    z = z + bias.val().unsqueeze::<3>();
                }
                dropout(&self.dropout, relu(z))
            }
            None => Tensor::cat(vec![um.expand([b, l, e]), im], 2),
        };
        for layer in self.mlp.iter().skip(1) {
            h = dropout(&self.dropout, relu(layer.forward(h)));
        }
        let z = Tensor::cat(vec![gmf, h], 2);
        self.predict.forward(z).reshape([b, l])
    }
}

/// Inverted dropout, as `burn::nn::Dropout` (same switches: training flag, autodiff device,
/// p = 0), with a cheaper mask: one seed drawn from the device's RNG (so `device.seed` fixes
/// it), then a ChaCha8 stream compared against `(1 − p)·2³²`. burn's element-wise Bernoulli
/// sampler took about a fifth of a NeuMF training step (bench/profile.sh).
pub(crate) fn dropout<const D: usize>(layer: &Dropout, x: Tensor<D>) -> Tensor<D> {
    use burn::tensor::{Distribution, TensorData};
    let p = layer.prob;
    let device = x.device();
    if !layer.training.is_enabled() || !device.is_autodiff() || p <= 0.0 {
        return x;
    }
    let draw: Vec<f32> = Tensor::<1>::random(
        [2],
        Distribution::Default,
        &device.clone().without_autodiff(),
    )
    .into_data()
    .convert::<f32>()
    .try_to_vec::<f32>()
    .unwrap_or_default();
    let bits = |k: usize| u64::from(draw.get(k).copied().unwrap_or(0.0).to_bits());
    let shape = x.shape();
    let mask = dropout_mask(shape.num_elements(), p, (bits(0) << 32) | bits(1));
    x * Tensor::<D>::from_data(TensorData::new(mask, shape), &device)
}

/// `n` mask values: `1/(1 − p)` with probability `1 − p`, else 0, from the ChaCha8 stream of
/// `seed`.
fn dropout_mask(n: usize, p: f64, seed: u64) -> Vec<f32> {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let keep = 1.0 - p;
    let threshold = (keep * 4_294_967_296.0) as u64;
    let scale = (1.0 / keep) as f32;
    (0..n)
        .map(|_| {
            if u64::from(rng.random::<u32>()) < threshold {
                scale
            } else {
                0.0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn dropout_masks_follow_the_seed_and_zero_a_p_share() {
        let (a, b, c) = (
            dropout_mask(20_000, 0.2, 1),
            dropout_mask(20_000, 0.2, 1),
            dropout_mask(20_000, 0.2, 2),
        );
        assert!(a == b, "same seed, same mask");
        assert!(a != c, "another seed, another mask");
        let zeros = a.iter().filter(|&&v| v == 0.0).count() as f64 / a.len() as f64;
        // 20,000 Bernoulli(0.2) draws: std of the share is 0.0028; allow 4 std.
        assert!((zeros - 0.2).abs() < 0.012, "zero share {zeros}");
        assert!(a.iter().all(|&v| v == 0.0 || (v - 1.25).abs() < 1e-6));
        // Through the layer: on the training device it drops, elsewhere it is the identity.
        let layer = burn::nn::DropoutConfig::new(0.2).init();
        let host = |t: Tensor<2>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let d = Device::flex();
        let train = host(dropout(
            &layer,
            Tensor::<2>::ones([50, 40], &d.clone().autodiff()),
        ));
        assert!(train.contains(&0.0) && train.iter().any(|&v| v > 1.0));
        let eval = host(dropout(&layer, Tensor::<2>::ones([3, 4], &d)));
        assert!(
            eval.iter().all(|&v| v == 1.0),
            "no dropout without autodiff"
        );
    }

    /// The per-user forward against NeuMF written out on the host, row by row: embeddings,
    /// GMF product, concatenation, each MLP layer with ReLU, the prediction layer.
    #[test]
    fn forward_equals_the_row_by_row_definition() {
        let d = Device::flex();
        let c = NeuMfConfig {
            emb_size: 4,
            layers: vec![6, 3],
            ..NeuMfConfig::new(5, 9)
        };
        d.seed(3);
        // N(0, 0.01²) weights make every score tiny: scale them up so ReLU cuts some units.
        let m = NeuMf::new(&c, &d).map(&mut Scale(40.0));
        let (us, its) = (vec![0i64, 4, 2], vec![1i64, 2, 8, 0, 3, 5, 7, 7, 6]);
        let users = Tensor::<1, Int>::from_data(TensorData::new(us.clone(), [3]), &d);
        let items = Tensor::<2, Int>::from_data(TensorData::new(its.clone(), [3, 3]), &d);
        let got = host(m.valid().forward(users, items));
        let emb = |e: &Embedding| host(e.weight.val());
        let (ug, ig, um, im) = (
            emb(&m.user_gmf),
            emb(&m.item_gmf),
            emb(&m.user_mlp),
            emb(&m.item_mlp),
        );
        let row = |t: &[f32], i: i64| t[i as usize * 4..i as usize * 4 + 4].to_vec();
        let dense = |l: &Linear, x: &[f32]| -> Vec<f32> {
            let w = host(l.weight.val());
            let out = w.len() / x.len();
            let b = l.bias.as_ref().map(|b| host(b.val()));
            (0..out)
                .map(|o| {
                    let z: f32 = x.iter().enumerate().map(|(k, v)| v * w[k * out + o]).sum();
                    z + b.as_ref().map_or(0.0, |b| b[o])
                })
                .collect()
        };
        for (r, &u) in us.iter().enumerate() {
            for j in 0..3 {
                let it = its[r * 3 + j];
                let gmf: Vec<f32> = row(&ug, u)
                    .iter()
                    .zip(row(&ig, it))
                    .map(|(a, b)| a * b)
                    .collect();
                let mut h: Vec<f32> = row(&um, u).into_iter().chain(row(&im, it)).collect();
                for layer in &m.mlp {
                    h = dense(layer, &h).into_iter().map(|v| v.max(0.0)).collect();
                }
                let z: Vec<f32> = gmf.into_iter().chain(h).collect();
                let want = dense(&m.predict, &z)[0];
                let g = got[r * 3 + j];
                assert!(
                    (g - want).abs() <= 1e-5 * want.abs().max(1.0),
                    "({r},{j}): {g} vs {want}"
                );
            }
        }
    }

    struct Scale(f32);
    impl burn::module::ModuleMapper for Scale {
        fn map_float<const D: usize>(
            &mut self,
            p: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            let k = self.0;
            p.map(|t| t * k)
        }
    }

    fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn scores_have_the_batch_shape_and_the_reset_changes_only_the_head() {
        let d = Device::flex();
        let c = NeuMfConfig {
            emb_size: 4,
            layers: vec![6, 3],
            ..NeuMfConfig::new(5, 9)
        };
        let m = NeuMf::new(&c, &d);
        let users = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 4], [2]), &d);
        let items =
            Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 2, 8, 0, 3, 5], [2, 3]), &d);
        let s = m.valid().forward(users.clone(), items.clone());
        assert_eq!(s.dims(), [2, 3]);
        let before = m.user_gmf.weight.val().into_data();
        let r = m.reset_last_layer(&c, &d);
        assert_eq!(r.user_gmf.weight.val().into_data(), before);
        let s2 = r.valid().forward(users, items);
        assert_ne!(s.into_data(), s2.into_data());
    }
}
