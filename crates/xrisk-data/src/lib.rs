//! # xrisk-data
//!
//! The data layer of xrisk, free of any tensor framework: readers with line-numbered
//! errors, the in-memory [`Dataset`], LibAUC's imbalance tools, the Dual/Tri/random
//! samplers (spec `libauc_spec.md` §4) and the registry of real data sets that
//! `xrisk data fetch` obtains from package registries (spec `datasets.md`).

pub mod augment;
pub mod dataset;
pub mod embedded;
pub mod error;
pub mod fetch;
pub mod hashing;
pub mod imbalance;
pub mod readers;
pub mod recsplit;
pub mod registry;
pub mod sampler;
pub mod scaler;
pub mod snapshot;
pub mod synthetic;

pub use dataset::Dataset;
pub use error::{DataError, Result};
pub use imbalance::{ImbalancedDataGenerator, one_vs_rest, train_test_split};
