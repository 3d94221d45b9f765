//! A character-level language model (embedding → GRU → linear read-out) for the TempNet
//! experiments (spec `tempnet_isogclr_spec.md` §3.2, §3.6), with its vocabulary and
//! temperature-aware sampling.
//!
//! Training pairs are windows of the text: positions `t..t+T` predict `t+1..t+T+1`. With a
//! [`crate::tempnet::TempNetLlm`] the loss is the robust loss at the predicted τ of every
//! position; without, the cross-entropy at a fixed τ.

use crate::error::{Result, XriskError};
use burn::module::Module;
use burn::nn::gru::{Gru, GruConfig};
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::RngExt;

/// The characters of a corpus, sorted; ids are positions in that order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharVocab {
    chars: Vec<char>,
}

impl CharVocab {
    /// Every distinct character of `text`; errors on fewer than two.
    pub fn from_text(text: &str) -> Result<Self> {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        if chars.len() < 2 {
            return Err(XriskError::InvalidConfig {
                name: "vocabulary",
                value: chars.len() as f64,
                reason: "the text needs at least two distinct characters",
            });
        }
        Ok(CharVocab { chars })
    }

    /// The vocabulary stored as a string of its characters (see [`CharVocab::as_string`]).
    pub fn from_string(s: &str) -> Result<Self> {
        let v = Self::from_text(s)?;
        if v.chars.len() != s.chars().count() {
            return Err(XriskError::Checkpoint(
                "the stored vocabulary repeats a character".into(),
            ));
        }
        Ok(v)
    }

    /// The characters in id order.
    pub fn as_string(&self) -> String {
        self.chars.iter().collect()
    }

    /// Number of characters V.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Never true (a vocabulary has at least two characters).
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// Ids of the characters of `text`; errors on the first character outside the vocabulary,
    /// with its position.
    pub fn encode(&self, text: &str) -> Result<Vec<usize>> {
        text.chars()
            .enumerate()
            .map(|(i, c)| {
                self.chars.binary_search(&c).map_err(|_| {
                    XriskError::Checkpoint(format!(
                        "character {c:?} at position {i} is not in the model's vocabulary"
                    ))
                })
            })
            .collect()
    }

    /// The text of `ids` (ids outside the vocabulary are skipped).
    pub fn decode(&self, ids: &[usize]) -> String {
        ids.iter().filter_map(|&i| self.chars.get(i)).collect()
    }
}

/// Shape of a [`CharLm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharLmConfig {
    /// Vocabulary size V.
    pub vocab: usize,
    /// Embedding width (default 32).
    pub emb: usize,
    /// GRU state width (default 256).
    pub hidden: usize,
}

impl CharLmConfig {
    /// Defaults for a vocabulary of `vocab` characters.
    pub fn new(vocab: usize) -> Self {
        CharLmConfig {
            vocab,
            emb: 32,
            hidden: 256,
        }
    }

    /// Builds the model.
    pub fn init(&self, device: &Device) -> CharLm {
        CharLm {
            emb: EmbeddingConfig::new(self.vocab, self.emb).init(device),
            gru: GruConfig::new(self.emb, self.hidden, true).init(device),
            out: LinearConfig::new(self.hidden, self.vocab).init(device),
        }
    }
}

/// Embedding → GRU → linear read-out.
#[derive(Module, Debug)]
pub struct CharLm {
    emb: Embedding,
    gru: Gru,
    out: Linear,
}

impl CharLm {
    /// Logits `[B·T, V]` (row `b·T + t` predicts the character after position `t` of sequence
    /// `b`) for the ids `[B, T]`.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<2> {
        let [b, t] = ids.dims();
        let h = self.gru.forward(self.emb.forward(ids), None);
        let d = h.dims()[2];
        self.out.forward(h.reshape([b * t, d]))
    }

    /// One step of generation: the logits `[B, V]` after feeding `ids` `[B]`, and the new state.
    pub fn step(&self, ids: Tensor<1, Int>, state: Option<Tensor<2>>) -> (Tensor<2>, Tensor<2>) {
        let b = ids.dims()[0];
        let x = self.emb.forward(ids.reshape([b, 1]));
        let h = self.gru.forward(x, state);
        let d = h.dims()[2];
        let h = h.reshape([b, d]);
        (self.out.forward(h.clone()), h)
    }
}

/// `B` training windows of `T + 1` ids starting at random offsets of `text`, as inputs
/// `[B, T]` and targets (row-major, `B·T`).
pub fn windows(
    text: &[usize],
    batch: usize,
    len: usize,
    rng: &mut impl rand::Rng,
) -> Result<(Vec<i64>, Vec<usize>)> {
    if text.len() < len + 2 {
        return Err(XriskError::InvalidConfig {
            name: "seq_len",
            value: len as f64,
            reason: "the text is shorter than one window",
        });
    }
    let (mut x, mut y) = (
        Vec::with_capacity(batch * len),
        Vec::with_capacity(batch * len),
    );
    for _ in 0..batch {
        let s = rng.random_range(0..text.len() - len - 1);
        x.extend(text[s..s + len].iter().map(|&c| c as i64));
        y.extend_from_slice(&text[s + 1..s + len + 1]);
    }
    Ok((x, y))
}

/// The ids tensor `[B, T]` of [`windows`]' inputs.
pub fn ids_tensor(x: Vec<i64>, batch: usize, len: usize, device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(x, [batch, len]), device)
}

/// Draws one id from `softmax(logits / τ)` with a uniform number `r ∈ [0, 1)`.
pub fn sample_tempered(logits: &[f32], tau: f64, r: f64) -> usize {
    let m = logits
        .iter()
        .fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
    let w: Vec<f64> = logits
        .iter()
        .map(|&z| ((z as f64 - m) / tau).exp())
        .collect();
    let mut left = r * w.iter().sum::<f64>();
    for (k, &wk) in w.iter().enumerate() {
        if left < wk {
            return k;
        }
        left -= wk;
    }
    logits.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_round_trips_and_names_unknown_characters() {
        let v = CharVocab::from_text("call me ishmael").unwrap();
        assert_eq!(v.as_string(), " acehilms");
        let ids = v.encode("ishmael").unwrap();
        assert_eq!(v.decode(&ids), "ishmael");
        let e = v.encode("whale").unwrap_err().to_string();
        assert!(e.contains("'w'") && e.contains("position 0"), "{e}");
        assert_eq!(CharVocab::from_string(&v.as_string()).unwrap(), v);
    }

    #[test]
    fn windows_are_shifted_by_one() {
        let text: Vec<usize> = (0..50).collect();
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
        let (x, y) = windows(&text, 3, 5, &mut rng).unwrap();
        for (a, b) in x.iter().zip(&y) {
            assert_eq!(*a as usize + 1, *b);
        }
        assert!(windows(&text[..5], 1, 5, &mut rng).is_err());
    }

    #[test]
    fn tempered_sampling_sharpens_and_flattens() {
        let z = [0.0f32, 1.0, 2.0];
        // τ → 0 picks the arg-max for any r; a huge τ is uniform: r = 0.5 lands in the middle.
        assert_eq!(sample_tempered(&z, 1e-3, 0.01), 2);
        assert_eq!(sample_tempered(&z, 1e6, 0.5), 1);
        assert_eq!(sample_tempered(&z, 1e6, 0.1), 0);
    }

    #[test]
    fn step_by_step_equals_the_whole_sequence() {
        let device = Device::flex();
        let m = CharLmConfig {
            hidden: 8,
            emb: 4,
            vocab: 6,
        }
        .init(&device);
        let seq = vec![1i64, 4, 2, 5];
        let whole = m.forward(ids_tensor(seq.clone(), 1, 4, &device));
        let mut state = None;
        let mut last = None;
        for &c in &seq {
            let (l, s) = m.step(
                Tensor::from_data(TensorData::new(vec![c], [1]), &device),
                state,
            );
            state = Some(s);
            last = Some(l);
        }
        let a: Vec<f32> = whole
            .slice([3..4, 0..6])
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let b: Vec<f32> = last.unwrap().into_data().try_to_vec::<f32>().unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }
}
