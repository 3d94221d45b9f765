//! Data shipped inside this crate, so that every program built on it has real data without a
//! download: Fashion-MNIST's 10,000 test images (`xrisk demo`, the
//! `embedded-fashion-mnist` format) and LIBSVM's a8a (the BSVRB hyper-parameter experiment).
//! Sources and licences: `crates/xrisk-data/data/README.md`.
//!
//! ```
//! let d = xrisk_data::embedded::fashion_mnist().unwrap();
//! assert_eq!((d.len(), d.dim), (10_000, 784));
//! assert_eq!(xrisk_data::embedded::FASHION_MNIST_CLASSES[9], "Ankle boot");
//! ```

use crate::Dataset;
use crate::error::Result;
use crate::readers::svmlight::{SvmlightOptions, parse_svmlight};
use std::io::BufReader;
use std::path::PathBuf;

/// Fashion-MNIST's test images, gzip-compressed IDX (`t10k-images-idx3-ubyte.gz`).
pub const FASHION_MNIST_IMAGES: &[u8] = include_bytes!("../data/t10k-images-idx3-ubyte.gz");
/// Their labels, gzip-compressed IDX (`t10k-labels-idx1-ubyte.gz`).
pub const FASHION_MNIST_LABELS: &[u8] = include_bytes!("../data/t10k-labels-idx1-ubyte.gz");
/// LIBSVM's a8a training rows, gzip-compressed svmlight.
pub const A8A_TRAIN: &[u8] = include_bytes!("../data/a8a/a8a.train.svm.gz");
/// LIBSVM's a8a test rows, gzip-compressed svmlight.
pub const A8A_TEST: &[u8] = include_bytes!("../data/a8a/a8a.test.svm.gz");

/// Names of the ten Fashion-MNIST classes, by class id.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
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

/// The 10,000 Fashion-MNIST test images (784 pixels in [0, 1]) with class ids 0–9.
pub fn fashion_mnist() -> Result<Dataset> {
    crate::readers::idx::idx_images_from_bytes(FASHION_MNIST_IMAGES, FASHION_MNIST_LABELS)
}

/// a8a's training and test rows (123 binary features, labels ±1 as in the file).
pub fn a8a() -> Result<(Dataset, Dataset)> {
    let gz = |b: &'static [u8]| BufReader::new(flate2::read::GzDecoder::new(b));
    let opts = SvmlightOptions {
        n_features: Some(123),
    };
    Ok((
        parse_svmlight(gz(A8A_TRAIN), "embedded a8a.train", opts)?,
        parse_svmlight(gz(A8A_TEST), "embedded a8a.test", opts)?,
    ))
}

/// The folder holding these files in the source tree (for tests and scripts that read them as
/// files; programs use the constants).
pub fn source_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}
