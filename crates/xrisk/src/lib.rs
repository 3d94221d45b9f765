//! # xrisk
//!
//! X-risk optimization on burn: the X-risk losses ([`loss`], burn adapters of the kernels in
//! [`xrisk_kernels`], which keep the per-sample state), the shared proximal optimizer skeleton
//! and the named optimizers ([`optim`]), and models ([`model`]). Spec: `libauc_spec.md` §1–§3.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use xrisk::loss::{ApConfig, ApLoss};
//! let device = Device::flex();
//! let mut loss = ApLoss::new(ApConfig::new(4), &device)?;
//! let h = Tensor::<1>::from_floats([0.9, 0.2, 0.6, 0.4], &device);
//! let l = loss.forward(h, &[1.0, 0.0, 1.0, 0.0], &[0, 1, 2, 3])?;
//! assert_eq!(l.dims(), [1]);
//! # Ok::<(), xrisk::XriskError>(())
//! ```

pub mod bilevel;
pub mod charlm;
pub mod conv;
pub mod densenet;
pub mod device;
pub mod dist;
pub mod encoder;
pub mod error;
mod flex_tensor;
pub mod loss;
pub mod mil;
pub mod model;
pub mod neumf;
pub mod norm;
pub mod optim;
pub mod persist;
pub mod resnet;
pub mod resources;
pub mod surrogate;
pub mod tempnet;
pub mod train;
pub mod xc;

pub use error::{Result, XriskError};
pub use xrisk_kernels as kernels;

/// `docs/contrastive.md`, included so that its Rust example runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/contrastive.md")]
pub struct ContrastiveGuide;
