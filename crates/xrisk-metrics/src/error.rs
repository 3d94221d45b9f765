//! The one error type of the metrics crate.

use thiserror::Error;

/// Why a metric could not be computed. Every variant says what was wrong and where
/// (the 0-based position in the input), so that callers can point at a file line.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MetricError {
    /// The input slices are empty.
    #[error("no samples: the metric needs at least one positive and one negative")]
    Empty,
    /// `labels` and `scores` (or two matrices) have different lengths.
    #[error("length mismatch: {what} has {got} entries, expected {expected}")]
    LengthMismatch {
        /// Which input is off.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The length it should have.
        expected: usize,
    },
    /// A score is NaN or infinite.
    #[error("score at position {index} is {value}; scores must be finite numbers")]
    NonFiniteScore {
        /// 0-based position.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A binary label is neither 0 nor 1.
    #[error("label at position {index} is {value}; binary labels must be 0 or 1")]
    InvalidLabel {
        /// 0-based position.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// Only one class is present, so the metric is undefined.
    #[error(
        "only one class present ({positives} positives, {negatives} negatives): {metric} is undefined"
    )]
    SingleClass {
        /// Metric name.
        metric: &'static str,
        /// Number of positives.
        positives: usize,
        /// Number of negatives.
        negatives: usize,
    },
    /// A parameter is outside its domain.
    #[error("invalid argument {name} = {value}: {reason}")]
    InvalidArgument {
        /// Parameter name.
        name: &'static str,
        /// Its value, formatted.
        value: String,
        /// What is allowed.
        reason: &'static str,
    },
    /// No query/user/row has a relevant item, so a ranking metric has nothing to average.
    #[error("no {unit} has a relevant item (label > 0): {metric} is undefined")]
    NoRelevant {
        /// Metric name.
        metric: &'static str,
        /// "query", "user", ...
        unit: &'static str,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, MetricError>;
