//! TempNet for language models and its DRO robust loss (spec `tempnet_isogclr_spec.md` §3.2,
//! §3.4, §3.6).
//!
//! **Robust loss.** For one position with logits `z ∈ R^V`, target `y` and temperature `τ`,
//!
//! ```text
//! ℓ(z, y; τ) = τ·log((1/V) Σ_k exp((z_k − z_y)/τ)) + τ·ρ = τ·CE(z/τ, y) + (ρ − ln V)·τ
//! ∂ℓ/∂z = softmax(z/τ) − e_y            ∂ℓ/∂τ = ρ − KL(softmax(z/τ) ‖ U_V)
//! ```
//!
//! so the language model sees a cross-entropy at temperature `τ`, and the temperature's
//! gradient does not depend on the label: at its optimum the sharpened distribution has entropy
//! `ln V − ρ` ([`optimal_temperature`] solves this exactly).
//!
//! **Network** ([`TempNetLlm`]), fed the stop-gradient logits:
//!
//! ```text
//! x = (z − max z) / ‖z − max z‖₂                   (normalised logits)
//! h = W₂·dropout(sigmoid(W₁x + b₁)) + b₂           (projection, width M = 256)
//! a = softmax(h / exp(σ))                          (σ learnable, starts at 0)
//! t = wᵀ[(a − 1/M) ⊙ h] + c                        (w starts at all ones, c at 0)
//! τ = τ_min + (τ_max − τ_min)·sigmoid(t)
//! ```
//!
//! Decoding ([`temperature_scaled`]) divides the last position's logits by the predicted τ
//! before sampling.

use crate::error::{Result, XriskError};
use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{Device, Tensor};

/// Shape and output range of a [`TempNetLlm`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TempNetLlmConfig {
    /// Vocabulary size V (input width).
    pub vocab: usize,
    /// Projection width M (256 in the paper's code).
    pub hidden: usize,
    /// Lowest temperature.
    pub tau_min: f64,
    /// Highest temperature.
    pub tau_max: f64,
    /// Dropout after the first projection (0.5 in the paper's code).
    pub dropout: f64,
}

impl TempNetLlmConfig {
    /// The paper's LLaMA settings for a vocabulary of `vocab` tokens: M = 256, τ ∈ [0.01, 2],
    /// dropout 0.5.
    pub fn new(vocab: usize) -> Self {
        TempNetLlmConfig {
            vocab,
            hidden: 256,
            tau_min: 0.01,
            tau_max: 2.0,
            dropout: 0.5,
        }
    }

    /// Checks the settings and builds the network on `device`.
    pub fn init(&self, device: &Device) -> Result<TempNetLlm> {
        check(
            self.vocab,
            self.hidden,
            self.tau_min,
            self.tau_max,
            self.dropout,
        )?;
        let m = self.hidden;
        let head = pooling_head(m, device);
        Ok(TempNetLlm {
            proj1: LinearConfig::new(self.vocab, m).init(device),
            proj2: LinearConfig::new(m, m).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            sigma: Param::from_tensor(Tensor::zeros([1], device)),
            head,
            tau_min: self.tau_min,
            tau_max: self.tau_max,
        })
    }
}

/// The settings both TempNets share: input and pooling widths of at least 2, `0 < τ_min <
/// τ_max`, dropout in `[0, 1)`.
fn check(input: usize, width: usize, tau_min: f64, tau_max: f64, dropout: f64) -> Result<()> {
    if input < 2 || width < 2 {
        return Err(XriskError::InvalidConfig {
            name: "vocab/hidden",
            value: input.min(width) as f64,
            reason: "TempNet needs a vocabulary and a width of at least 2",
        });
    }
    if !(tau_min > 0.0 && tau_min < tau_max) {
        return Err(XriskError::InvalidConfig {
            name: "tau_min",
            value: tau_min,
            reason: "needs 0 < tau_min < tau_max",
        });
    }
    if !(0.0..1.0).contains(&dropout) {
        return Err(XriskError::InvalidConfig {
            name: "dropout",
            value: dropout,
            reason: "must be in [0, 1)",
        });
    }
    Ok(())
}

/// The pooling read-out `t = wᵀv + c` with `w` all ones and `c = 0` at the start.
fn pooling_head(m: usize, device: &Device) -> Linear {
    let mut head = LinearConfig::new(m, 1).init(device);
    head.weight = Param::from_tensor(Tensor::ones([m, 1], device));
    head.bias = Some(Param::from_tensor(Tensor::zeros([1], device)));
    head
}

/// The LLM TempNet: logits in, one temperature per row out (see the module docs).
#[derive(Module, Debug)]
pub struct TempNetLlm {
    proj1: Linear,
    proj2: Linear,
    dropout: Dropout,
    sigma: Param<Tensor<1>>,
    head: Linear,
    tau_min: f64,
    tau_max: f64,
}

impl TempNetLlm {
    /// Temperatures `[N]` for logits `[N, V]`; the logits are detached first (TempNet never
    /// sends gradient into the language model).
    pub fn forward(&self, logits: Tensor<2>) -> Tensor<1> {
        let z = logits.detach();
        let z = z.clone() - z.max_dim(1);
        let norm = z.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
        let x = z / norm;
        let h = sigmoid(self.proj1.forward(x));
        let h = self.proj2.forward(crate::neumf::dropout(&self.dropout, h));
        let m = h.dims()[1] as f64;
        let scale = self.sigma.val().exp().unsqueeze_dim::<2>(0);
        let a = softmax(h.clone() / scale, 1);
        let t = self.head.forward((a - 1.0 / m) * h).squeeze_dim::<1>(1);
        sigmoid(t) * (self.tau_max - self.tau_min) + self.tau_min
    }

    /// The output range `(τ_min, τ_max)`.
    pub fn range(&self) -> (f64, f64) {
        (self.tau_min, self.tau_max)
    }
}

/// Shape and output range of a [`TempNetClip`] (spec §3.4, "TempGenerator").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TempNetClipConfig {
    /// Feature width d.
    pub dim: usize,
    /// Number of learned prototypes M (256).
    pub prototypes: usize,
    /// Lowest temperature (0.005).
    pub tau_min: f64,
    /// Highest temperature (0.05).
    pub tau_max: f64,
    /// Dropout after the first projection (0.5).
    pub dropout: f64,
}

impl TempNetClipConfig {
    /// The paper's CLIP settings for `dim`-wide features.
    pub fn new(dim: usize) -> Self {
        TempNetClipConfig {
            dim,
            prototypes: 256,
            tau_min: 0.005,
            tau_max: 0.05,
            dropout: 0.5,
        }
    }

    /// Checks the settings and builds the network.
    pub fn init(&self, device: &Device) -> Result<TempNetClip> {
        check(
            self.dim,
            self.prototypes,
            self.tau_min,
            self.tau_max,
            self.dropout,
        )?;
        let m = self.prototypes;
        let head = pooling_head(m, device);
        Ok(TempNetClip {
            proj: LinearConfig::new(self.dim, self.dim).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            prototypes: Param::from_tensor(Tensor::random(
                [m, self.dim],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                device,
            )),
            sigma: Param::from_tensor(Tensor::full([1], 0.01f64.ln(), device)),
            head,
            tau_min: self.tau_min,
            tau_max: self.tau_max,
        })
    }
}

/// TempNet for contrastive features ("TempGenerator"): one temperature per anchor from its
/// detached feature `e`:
///
/// ```text
/// x = dropout(sigmoid(W e + c))          P = rows of the prototypes, L2-normalised
/// r = P x                                a = softmax(r / exp(σ))      (σ starts at ln 0.01)
/// t = wᵀ[(a − 1/M) ⊙ sigmoid(r)] + c'    (w starts at all ones, c' at 0)
/// τ = τ_min + (τ_max − τ_min)·sigmoid(t)
/// ```
#[derive(Module, Debug)]
pub struct TempNetClip {
    proj: Linear,
    dropout: Dropout,
    prototypes: Param<Tensor<2>>,
    sigma: Param<Tensor<1>>,
    head: Linear,
    tau_min: f64,
    tau_max: f64,
}

impl TempNetClip {
    /// Temperatures `[B]` for features `[B, d]` (detached first).
    pub fn forward(&self, features: Tensor<2>) -> Tensor<1> {
        let x = sigmoid(self.proj.forward(features.detach()));
        let x = crate::neumf::dropout(&self.dropout, x);
        let p = crate::encoder::normalize_rows(self.prototypes.val());
        let r = x.matmul(p.transpose());
        let m = r.dims()[1] as f64;
        let scale = self.sigma.val().exp().unsqueeze_dim::<2>(0);
        let a = softmax(r.clone() / scale, 1);
        let t = self
            .head
            .forward((a - 1.0 / m) * sigmoid(r))
            .squeeze_dim::<1>(1);
        sigmoid(t) * (self.tau_max - self.tau_min) + self.tau_min
    }
}

/// The robust (KL-DRO) language-model loss averaged over positions:
/// `mean_i [ τ_i·CE(z_i/τ_i, y_i) + (ρ − ln V)·τ_i ]` — the burn adapter of
/// [`xrisk_kernels::robust_lm`]. `logits` `[N, V]`, `tau` `[N]` (from [`TempNetLlm::forward`],
/// or a constant), `targets` the N next tokens. With `τ ≡ 1` and `ρ = ln V` this is the plain
/// cross-entropy.
pub fn robust_lm_loss(
    logits: Tensor<2>,
    tau: Tensor<1>,
    targets: &[usize],
    rho: f64,
) -> Result<Tensor<1>> {
    let [n, _] = logits.dims();
    if targets.len() != n || tau.dims()[0] != n {
        return Err(XriskError::LengthMismatch {
            scores: n,
            labels: targets.len(),
            ids: tau.dims()[0],
        });
    }
    let (lv, tv) = (crate::loss::host(&logits), crate::loss::host(&tau));
    let (mut gl, mut gt) = (vec![0.0f32; lv.len()], vec![0.0f32; n]);
    let v = xrisk_kernels::robust_lm::robust_lm_loss(&lv, &tv, targets, rho, &mut gl, &mut gt)?;
    Ok(crate::loss::inject(logits, gl, v) + crate::loss::gradient_of(tau, gt))
}

/// Logits divided row-wise by the temperatures: what temperature-aware decoding samples from.
pub fn temperature_scaled(logits: Tensor<2>, tau: Tensor<1>) -> Tensor<2> {
    logits / tau.unsqueeze_dim::<2>(1)
}

/// Entropy (nats) of `softmax(z/τ)`.
pub fn entropy_at(z: &[f32], tau: f64) -> f64 {
    let m = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
    let w: Vec<f64> = z.iter().map(|&v| ((v as f64 - m) / tau).exp()).collect();
    let s: f64 = w.iter().sum();
    -w.iter()
        .map(|&x| {
            let p = x / s;
            if p > 0.0 { p * p.ln() } else { 0.0 }
        })
        .sum::<f64>()
}

/// The exact minimiser of `ℓ` over `τ ∈ [lo, hi]` for the logits `z`: the `τ` with
/// `entropy(softmax(z/τ)) = ln V − ρ` (entropy grows with `τ`), by bisection in `ln τ`;
/// clamped to the bounds when the target entropy is not reached inside them.
pub fn optimal_temperature(z: &[f32], rho: f64, lo: f64, hi: f64) -> f64 {
    let target = (z.len() as f64).ln() - rho;
    if entropy_at(z, lo) >= target {
        return lo;
    }
    if entropy_at(z, hi) <= target {
        return hi;
    }
    let (mut a, mut b) = (lo.ln(), hi.ln());
    for _ in 0..100 {
        let mid = 0.5 * (a + b);
        if entropy_at(z, mid.exp()) < target {
            a = mid;
        } else {
            b = mid;
        }
    }
    (0.5 * (a + b)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn host1(t: Tensor<1>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// ∂ℓ/∂z = softmax(z/τ) − e_y and ∂ℓ/∂τ = ρ − KL(softmax(z/τ) ‖ U), the second the same
    /// for every label (spec §3.2), against the closed forms computed on the host.
    #[test]
    fn gradients_are_the_tempered_cross_entropy_and_rho_minus_kl() {
        let device = Device::flex().autodiff();
        let z = vec![1.5f32, -0.3, 0.2, 2.1, -1.0];
        let v = z.len();
        let rho = 0.4;
        let tau = 0.7f32;
        let mut tau_grads = Vec::new();
        for y in [0usize, 3] {
            let zt =
                Tensor::<2>::from_data(TensorData::new(z.clone(), [1, v]), &device).require_grad();
            let tt =
                Tensor::<1>::from_data(TensorData::new(vec![tau], [1]), &device).require_grad();
            let loss = robust_lm_loss(zt.clone(), tt.clone(), &[y], rho).unwrap();
            let g = loss.backward();
            let gz = host1(zt.grad(&g).unwrap().reshape([v]));
            let gt = host1(tt.grad(&g).unwrap())[0] as f64;
            let m = z.iter().cloned().fold(f32::MIN, f32::max) as f64;
            let e: Vec<f64> = z
                .iter()
                .map(|&x| ((x as f64 - m) / tau as f64).exp())
                .collect();
            let s: f64 = e.iter().sum();
            for k in 0..v {
                let want = e[k] / s - if k == y { 1.0 } else { 0.0 };
                assert!(
                    (gz[k] as f64 - want).abs() < 1e-5,
                    "z[{k}]: {} vs {want}",
                    gz[k]
                );
            }
            let kl = (v as f64).ln() - entropy_at(&z, tau as f64);
            assert!(
                (gt - (rho - kl)).abs() < 1e-5,
                "τ-grad {gt} vs ρ−KL {}",
                rho - kl
            );
            tau_grads.push(gt);
        }
        assert!((tau_grads[0] - tau_grads[1]).abs() < 1e-6);
    }

    #[test]
    fn with_unit_temperature_and_rho_ln_v_it_is_cross_entropy() {
        let device = Device::flex();
        let z = vec![0.1f32, 0.5, -0.2, 0.9];
        let loss = robust_lm_loss(
            Tensor::<2>::from_data(TensorData::new(z.clone(), [1, 4]), &device),
            Tensor::ones([1], &device),
            &[2],
            4f64.ln(),
        )
        .unwrap()
        .into_scalar::<f32>() as f64;
        let lse = z.iter().map(|&x| (x as f64).exp()).sum::<f64>().ln();
        assert!((loss - (lse - (-0.2))).abs() < 1e-5);
    }

    #[test]
    fn optimal_temperature_reaches_the_target_entropy() {
        let z: Vec<f32> = (0..50).map(|i| ((i * 37 % 17) as f32) * 0.3).collect();
        let rho = 1.5;
        let t = optimal_temperature(&z, rho, 0.01, 10.0);
        assert!((entropy_at(&z, t) - (50f64.ln() - rho)).abs() < 1e-6);
        // Bounds bind when the target is out of reach.
        assert_eq!(optimal_temperature(&z, 0.0, 0.01, 0.02), 0.02);
    }

    #[test]
    fn output_stays_in_range_and_bad_settings_are_refused() {
        let device = Device::flex();
        let net = TempNetLlmConfig {
            hidden: 16,
            ..TempNetLlmConfig::new(30)
        }
        .init(&device)
        .unwrap();
        let z = Tensor::<2>::random(
            [7, 30],
            burn::tensor::Distribution::Normal(0.0, 3.0),
            &device,
        );
        for t in host1(net.forward(z)) {
            assert!((0.01..=2.0).contains(&(t as f64)), "{t}");
        }
        assert!(
            TempNetLlmConfig {
                tau_min: 1.0,
                tau_max: 0.5,
                ..TempNetLlmConfig::new(5)
            }
            .init(&device)
            .is_err()
        );
        let clip = TempNetClipConfig {
            prototypes: 12,
            ..TempNetClipConfig::new(8)
        }
        .init(&device)
        .unwrap();
        let f = Tensor::<2>::random(
            [5, 8],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        for t in host1(clip.forward(f)) {
            assert!((0.005..=0.05).contains(&(t as f64)), "{t}");
        }
        let bad = robust_lm_loss(
            Tensor::<2>::zeros([1, 3], &device),
            Tensor::ones([1], &device),
            &[3],
            0.1,
        );
        assert!(bad.is_err());
    }
}
