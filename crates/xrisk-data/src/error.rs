//! The error type of the data layer: every variant says what went wrong and where
//! (file and line, or field) and, where it helps, what to do.

use std::path::Path;
use thiserror::Error;

/// A failure to read, validate, sample or fetch data.
#[derive(Debug, Error)]
pub enum DataError {
    /// Opening or reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A line of a text file (or a record of a binary file) is malformed.
    #[error("{origin}:{line}: {message}")]
    Parse {
        /// File name (or another description of the source).
        origin: String,
        /// 1-based line number (0 for a binary header).
        line: u64,
        /// What is wrong, naming the column/field.
        message: String,
    },
    /// An argument or a data set violates a requirement (e.g. one class only).
    #[error("{0}")]
    Invalid(String),
    /// Obtaining a data set from a package registry failed.
    #[error("fetching {dataset}: {message}")]
    Fetch {
        /// Registry name of the data set.
        dataset: String,
        /// What failed and what to do.
        message: String,
    },
}

impl DataError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// A parse error at `origin:line`.
    pub fn parse(origin: &str, line: u64, message: impl Into<String>) -> Self {
        DataError::Parse {
            origin: origin.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, DataError>;
