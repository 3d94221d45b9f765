//! Per-feature standardisation fitted on the training rows and applied to every split.
//!
//! `Standard`: `x ← (x − mean_j) / std_j`; `LogStandard`: first `x ← sign(x)·ln(1 + |x|)`
//! (for heavy-tailed counts such as LETOR's term frequencies and BM25 scores), then the same.
//! Means and standard deviations come from the training rows only, in f64; a constant
//! feature (std 0) is only centred.

use crate::Dataset;
use crate::error::{DataError, Result};

/// Which transform `[data] normalize` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalize {
    /// Features as read.
    None,
    /// z-score per feature.
    Standard,
    /// `sign(x)·ln(1 + |x|)`, then z-score per feature.
    LogStandard,
}

impl std::str::FromStr for Normalize {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(Normalize::None),
            "standard" => Ok(Normalize::Standard),
            "log_standard" => Ok(Normalize::LogStandard),
            other => Err(DataError::Invalid(format!(
                "normalize = \"{other}\": use none, standard or log_standard"
            ))),
        }
    }
}

/// A fitted transform: per-feature mean and standard deviation after the optional log.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureScaler {
    log: bool,
    mean: Vec<f64>,
    std: Vec<f64>,
}

fn signed_log(x: f64) -> f64 {
    x.signum() * x.abs().ln_1p()
}

impl FeatureScaler {
    /// Fits `how` on `train`; `None` for [`Normalize::None`] or an empty data set.
    pub fn fit(train: &Dataset, how: Normalize) -> Option<Self> {
        Self::fit_rows(&train.features, train.dim, how)
    }

    /// Fits `how` on row-major `features` of `dim` columns (rows that are not data-set rows,
    /// e.g. the instances of bags); `None` for [`Normalize::None`] or no rows.
    pub fn fit_rows(features: &[f32], dim: usize, how: Normalize) -> Option<Self> {
        let log = match how {
            Normalize::None => return None,
            Normalize::Standard => false,
            Normalize::LogStandard => true,
        };
        let rows = features.len().checked_div(dim).unwrap_or(0);
        if rows == 0 {
            return None;
        }
        let (mut sum, mut sq) = (vec![0.0f64; dim], vec![0.0f64; dim]);
        for row in features.chunks_exact(dim) {
            for (j, &x) in row.iter().enumerate() {
                let v = if log {
                    signed_log(f64::from(x))
                } else {
                    f64::from(x)
                };
                sum[j] += v;
                sq[j] += v * v;
            }
        }
        let n = rows as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let std = sq
            .iter()
            .zip(&mean)
            .map(|(s, m)| {
                let var = (s / n - m * m).max(0.0);
                if var > 0.0 { var.sqrt() } else { 1.0 }
            })
            .collect();
        Some(FeatureScaler { log, mean, std })
    }

    /// Applies the transform to every row of `d` (which must have the fitted width).
    pub fn apply(&self, d: &mut Dataset) -> Result<()> {
        self.apply_rows(&mut d.features, d.dim)
    }

    /// Applies the transform in place to row-major `features` of `dim` columns.
    pub fn apply_rows(&self, features: &mut [f32], dim: usize) -> Result<()> {
        if dim != self.mean.len() {
            return Err(DataError::Invalid(format!(
                "the scaler was fitted on {} features but the data has {}",
                self.mean.len(),
                dim
            )));
        }
        for row in features.chunks_exact_mut(dim) {
            for (j, x) in row.iter_mut().enumerate() {
                let v = if self.log {
                    signed_log(f64::from(*x))
                } else {
                    f64::from(*x)
                };
                *x = ((v - self.mean[j]) / self.std[j]) as f32;
            }
        }
        Ok(())
    }
}

/// Fits `how` on `train` and applies it to `train` and every split in `others`.
pub fn normalize(how: Normalize, train: &mut Dataset, others: &mut [&mut Dataset]) -> Result<()> {
    if let Some(s) = FeatureScaler::fit(train, how) {
        s.apply(train)?;
        for d in others {
            s.apply(d)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(features: Vec<f32>, dim: usize) -> Dataset {
        let n = features.len() / dim;
        Dataset {
            features,
            dim,
            labels: vec![0.0; n],
            n_tasks: 1,
            groups: None,
        }
    }

    #[test]
    fn standard_uses_the_training_statistics_for_every_split() {
        // feature 0: 1, 3 (mean 2, std 1); feature 1: constant 5 (only centred).
        let mut train = data(vec![1.0, 5.0, 3.0, 5.0], 2);
        let mut test = data(vec![4.0, 7.0], 2);
        normalize(Normalize::Standard, &mut train, &mut [&mut test]).unwrap();
        assert_eq!(train.features, vec![-1.0, 0.0, 1.0, 0.0]);
        assert_eq!(test.features, vec![2.0, 2.0]);
    }

    #[test]
    fn log_standard_logs_before_scaling() {
        // ln(1+0) = 0 and ln(1+e²−1) = 2: mean 1, std 1; −(e²−1) maps to −2 → −3.
        let e2 = (std::f64::consts::E.powi(2) - 1.0) as f32;
        let mut train = data(vec![0.0, e2], 1);
        let mut test = data(vec![-e2], 1);
        normalize(Normalize::LogStandard, &mut train, &mut [&mut test]).unwrap();
        for (got, want) in train
            .features
            .iter()
            .chain(&test.features)
            .zip([-1.0, 1.0, -3.0])
        {
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
    }

    #[test]
    fn unknown_names_and_width_mismatches_are_errors() {
        assert!(
            "zscore"
                .parse::<Normalize>()
                .unwrap_err()
                .to_string()
                .contains("log_standard")
        );
        let s = FeatureScaler::fit(&data(vec![1.0, 2.0], 2), Normalize::Standard).unwrap();
        assert!(s.apply(&mut data(vec![1.0], 1)).is_err());
        assert!(FeatureScaler::fit(&data(vec![1.0], 1), Normalize::None).is_none());
    }
}
