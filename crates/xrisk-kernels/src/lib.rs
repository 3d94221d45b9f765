//! # xrisk-kernels
//!
//! The X-risk part of a training step without a tensor framework. Each kernel takes the
//! model's outputs as slices — scores, class logits or similarity matrices — and, in one call,
//! checks them, updates the loss's per-sample state in place, writes the gradient of the loss
//! with respect to those outputs into a caller's buffer and returns the loss value. The
//! framework (burn in `xrisk`, PyTorch in the Python package) back-propagates that gradient
//! into the model. The math and LibAUC 2.0.1's semantics are in `libauc_spec.md`; every kernel
//! documents its objective, its state (indexed by what), its returned value and its cost.
//!
//! ```
//! use xrisk_kernels::ap::{ApConfig, ApKernel};
//! let mut soap = ApKernel::new(ApConfig::new(4))?;
//! let mut grad = [0.0f32; 4];
//! let value = soap.forward(&[0.9, 0.2, 0.6, 0.4], &[1.0, 0.0, 1.0, 0.0], &[0, 1, 2, 3], &mut grad)?;
//! assert!(value.abs() < 1e-6 && soap.u_all()[0] > 0.0);
//! # Ok::<(), xrisk_kernels::KernelError>(())
//! ```
//!
//! State tables are plain `Vec<f32>` indexed by sample id; sums over a batch accumulate in
//! `f64` (the pair rows in blocks of `f32` vector lanes first, compiled for the CPU's best
//! instruction set at run time); pair loops run their rows in parallel above
//! [`par::PARALLEL_PAIRS`] pairs with results that do not depend on the thread count; buffers
//! are reused across calls.

pub mod ap;
pub mod aucm;
pub mod ce;
mod check;
pub mod compositional;
pub mod entropic;
pub mod error;
pub mod focal;
pub mod gcl;
pub mod gcl_bimodal;
pub mod infonce;
pub mod listwise_ce;
pub mod map;
pub mod midam;
pub mod multilabel_aucm;
pub mod multilabel_pauc;
pub mod ndcg;
mod pairs;
pub mod pairwise;
pub mod par;
pub mod pauc_cvar;
pub mod pauc_dro;
mod ranking;
pub mod robust_lm;
mod simd;
pub mod skeleton;
pub mod surrogate;
mod tasks;
pub mod tpauc_cvar;
pub mod tpauc_kl;

pub use error::{KernelError, Result};
#[doc(hidden)]
pub use simd::pair_floor;
pub use surrogate::Surrogate;

/// The kernel boundary (`docs/kernels.md`): what each kernel takes, returns and keeps, and what
/// it costs per step, for a user of another framework. Its example is a test of this crate.
#[doc = include_str!("../../../docs/kernels.md")]
pub struct KernelGuide;
