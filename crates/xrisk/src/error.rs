//! Errors of the training layer.

use thiserror::Error;

/// Bad input to a loss or optimizer: says what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum XriskError {
    /// Lengths of scores, labels and ids differ.
    #[error("length mismatch: {scores} scores, {labels} labels, {ids} ids")]
    LengthMismatch {
        /// Number of scores.
        scores: usize,
        /// Number of labels.
        labels: usize,
        /// Number of ids.
        ids: usize,
    },
    /// A label is neither 0 nor 1.
    #[error("label at batch position {index} is {value}; the loss needs 0/1 labels")]
    InvalidLabel {
        /// Batch position.
        index: usize,
        /// The label.
        value: f32,
    },
    /// A sample id does not fit the state table.
    #[error(
        "sample id {id} at batch position {index} is outside the state table of {len} samples; size the loss with the data set's length"
    )]
    IdOutOfRange {
        /// Batch position.
        index: usize,
        /// The id.
        id: usize,
        /// Table length.
        len: usize,
    },
    /// The batch lacks a class the loss needs.
    #[error(
        "{loss} needs at least one {class} in every batch (got {positives} positives of {batch}); use a DualSampler"
    )]
    MissingClass {
        /// Loss name.
        loss: &'static str,
        /// "positive" or "negative".
        class: &'static str,
        /// Positives in the batch.
        positives: usize,
        /// Batch size.
        batch: usize,
    },
    /// A score is NaN or infinite.
    #[error(
        "{loss}: the scores contain NaN or ±inf; check the model's output (a diverged model, a bad input row)"
    )]
    NonFinite {
        /// Loss name.
        loss: &'static str,
    },
    /// An iterate became NaN or infinite.
    #[error(
        "{what} became NaN or infinite at iteration {iteration}; lower the step sizes (eta, tau, tau_u) or raise hessian_floor"
    )]
    Diverged {
        /// Which quantity.
        what: &'static str,
        /// Iteration (1-based).
        iteration: u64,
    },
    /// A checkpoint cannot be restored (missing entry, another model or configuration).
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// A device name that this build cannot use.
    #[error("device \"{name}\": {reason}")]
    InvalidDevice {
        /// The name as given.
        name: String,
        /// What to do instead.
        reason: &'static str,
    },
    /// A collective operation of data-parallel training failed (a peer died, the coordinator
    /// is unreachable, the processes disagree on the world size).
    #[error("distributed: {0}")]
    Distributed(String),
    /// A state table sized from the configuration cannot be allocated.
    #[error("{0}")]
    TooLarge(String),
    /// A hyper-parameter is outside its domain.
    #[error("{name} = {value}: {reason}")]
    InvalidConfig {
        /// Parameter name.
        name: &'static str,
        /// Value.
        value: f64,
        /// What is allowed.
        reason: &'static str,
    },
}

impl From<xrisk_kernels::KernelError> for XriskError {
    fn from(e: xrisk_kernels::KernelError) -> Self {
        use xrisk_kernels::KernelError as K;
        match e {
            K::LengthMismatch {
                scores,
                labels,
                ids,
            } => XriskError::LengthMismatch {
                scores,
                labels,
                ids,
            },
            K::InvalidLabel { index, value } => XriskError::InvalidLabel { index, value },
            K::IdOutOfRange { index, id, len } => XriskError::IdOutOfRange { index, id, len },
            K::MissingClass {
                loss,
                class,
                positives,
                batch,
            } => XriskError::MissingClass {
                loss,
                class,
                positives,
                batch,
            },
            K::NonFinite { loss } => XriskError::NonFinite { loss },
            K::InvalidConfig {
                name,
                value,
                reason,
            } => XriskError::InvalidConfig {
                name,
                value,
                reason,
            },
            K::TooLarge { .. } => XriskError::TooLarge(e.to_string()),
            K::StateLength { .. } => XriskError::Checkpoint(e.to_string()),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, XriskError>;
