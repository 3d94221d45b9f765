//! Errors of the kernels: bad input says what is wrong, where, and what to do.

use thiserror::Error;

/// Bad input to a kernel or a bad setting of its configuration.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum KernelError {
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
    /// An input value is NaN or infinite.
    #[error(
        "{loss}: the scores contain NaN or ±inf; check the model's output (a diverged model, a bad input row)"
    )]
    NonFinite {
        /// Loss name.
        loss: &'static str,
    },
    /// A hyper-parameter or input is outside its domain.
    #[error("{name} = {value}: {reason}")]
    InvalidConfig {
        /// Parameter name.
        name: &'static str,
        /// Value.
        value: f64,
        /// What is allowed.
        reason: &'static str,
    },
    /// A state table cannot be allocated (its size comes from the configuration).
    #[error(
        "{name} = {len}: a state table of {len} entries needs {bytes} bytes, which cannot be allocated; lower {name} to the data set's size"
    )]
    TooLarge {
        /// The setting that sized the table.
        name: &'static str,
        /// Entries asked for.
        len: usize,
        /// Bytes asked for.
        bytes: u128,
    },
    /// A state table handed back (a checkpoint, `load_state`) has the wrong length.
    #[error(
        "state `{name}` holds {got} entries but the loss has {want}: it belongs to another data set or configuration"
    )]
    StateLength {
        /// The state's name.
        name: &'static str,
        /// Entries given.
        got: usize,
        /// Entries expected.
        want: usize,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, KernelError>;
