//! Synthetic many-class data: `n_classes` Gaussian prototypes `μ_k ~ N(0, I_d)` and
//! `rows_per_class` samples `μ_k + σ·N(0, I_d)` each, labels `0..n_classes`, from a seeded
//! ChaCha8 stream — for showing how a many-class loss scales with the class count.

use crate::dataset::Dataset;
use crate::error::{DataError, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Samples the data set (rows grouped by class).
pub fn gaussian_classes(
    n_classes: usize,
    rows_per_class: usize,
    dim: usize,
    noise: f64,
    seed: u64,
) -> Result<Dataset> {
    if n_classes < 2 || rows_per_class == 0 || dim == 0 || !(noise.is_finite() && noise >= 0.0) {
        return Err(DataError::Invalid(format!(
            "synthetic classes: n_classes = {n_classes} (≥ 2), rows_per_class = {rows_per_class} (≥ 1), n_features = {dim} (≥ 1), noise = {noise} (≥ 0)"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut features = Vec::with_capacity(n_classes * rows_per_class * dim);
    let mut labels = Vec::with_capacity(n_classes * rows_per_class);
    for k in 0..n_classes {
        let mu: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(&mut rng)).collect();
        for _ in 0..rows_per_class {
            for m in &mu {
                let e: f64 = StandardNormal.sample(&mut rng);
                features.push((m + noise * e) as f32);
            }
            labels.push(k as f32);
        }
    }
    Dataset::new(features, dim, labels, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_seed_and_errors() {
        let a = gaussian_classes(5, 3, 4, 0.1, 7).unwrap();
        assert_eq!((a.len(), a.dim), (15, 4));
        assert_eq!(a.labels[3], 1.0);
        // Rows of a class stay near each other at small noise.
        let d: f32 = a
            .row(0)
            .iter()
            .zip(a.row(1))
            .map(|(x, y)| (x - y).abs())
            .sum();
        assert!(d < 2.0, "{d}");
        assert_eq!(a, gaussian_classes(5, 3, 4, 0.1, 7).unwrap());
        assert_ne!(a, gaussian_classes(5, 3, 4, 0.1, 8).unwrap());
        assert!(gaussian_classes(1, 3, 4, 0.1, 7).is_err());
        assert!(gaussian_classes(5, 3, 4, f64::NAN, 7).is_err());
    }
}
