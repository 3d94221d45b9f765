//! Pairwise surrogate losses `ℓ(m, t)` of `t = h_anchor − h_other` (spec `libauc_spec.md`
//! §1.4), defined with the kernels in [`xrisk_kernels::surrogate`].

pub use xrisk_kernels::surrogate::Surrogate;
