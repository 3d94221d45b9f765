//! Data embedded in the binary: Fashion-MNIST's 10,000 test images (MIT licence, see
//! `crates/xrisk-cli/data/README.md`).

use anyhow::{Context, Result};
use xrisk_data::Dataset;

const IMAGES: &[u8] = include_bytes!("../data/t10k-images-idx3-ubyte.gz");
const LABELS: &[u8] = include_bytes!("../data/t10k-labels-idx1-ubyte.gz");

/// Names of the ten Fashion-MNIST classes.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The 10,000 images (784 pixels in [0, 1]) with class ids 0–9.
pub fn fashion_mnist() -> Result<Dataset> {
    xrisk_data::readers::idx::idx_images_from_bytes(IMAGES, LABELS)
        .context("embedded Fashion-MNIST")
}
