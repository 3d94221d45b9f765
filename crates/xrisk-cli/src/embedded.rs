//! The data embedded in the binary, from `xrisk_data::embedded` (sources and licences in
//! `crates/xrisk-data/data/README.md`).

use anyhow::{Context, Result};
use xrisk_data::Dataset;

/// Names of the ten Fashion-MNIST classes.
pub use xrisk_data::embedded::FASHION_MNIST_CLASSES as CLASS_NAMES;

/// The 10,000 Fashion-MNIST test images (784 pixels in [0, 1]) with class ids 0–9.
pub fn fashion_mnist() -> Result<Dataset> {
    xrisk_data::embedded::fashion_mnist().context("embedded Fashion-MNIST")
}
