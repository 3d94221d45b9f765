//! Input checks shared by the kernels, and the state tables' allocation.

use crate::error::{KernelError, Result};

/// Errors unless `scores`, `labels` (and `ids`, when given) have one entry per sample.
pub(crate) fn lengths(scores: usize, labels: usize, ids: Option<usize>) -> Result<()> {
    let n_ids = ids.unwrap_or(labels);
    if scores != labels || n_ids != labels {
        return Err(KernelError::LengthMismatch {
            scores,
            labels,
            ids: n_ids,
        });
    }
    Ok(())
}

/// Errors on the first label that is neither 0 nor 1.
pub(crate) fn binary_labels(labels: &[f32]) -> Result<()> {
    match labels.iter().position(|&l| l != 0.0 && l != 1.0) {
        Some(index) => Err(KernelError::InvalidLabel {
            index,
            value: labels[index],
        }),
        None => Ok(()),
    }
}

/// Errors when a value is NaN or infinite.
pub(crate) fn finite(loss: &'static str, values: &[f32]) -> Result<()> {
    if values.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(KernelError::NonFinite { loss })
    }
}

/// Errors on the first id that does not fit a table of `len` entries.
pub(crate) fn ids(ids: &[usize], len: usize) -> Result<()> {
    match ids.iter().position(|&i| i >= len) {
        Some(index) => Err(KernelError::IdOutOfRange {
            index,
            id: ids[index],
            len,
        }),
        None => Ok(()),
    }
}

/// The batch positions of the positives and the negatives of 0/1 labels, in reused buffers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Split {
    /// Positions with label 1.
    pub pos: Vec<usize>,
    /// Positions with label 0.
    pub neg: Vec<usize>,
}

impl Split {
    /// Checks the labels (0/1) and fills the positions; requires a positive, and a negative when
    /// `need_neg`.
    pub fn fill(&mut self, loss: &'static str, labels: &[f32], need_neg: bool) -> Result<()> {
        binary_labels(labels)?;
        self.pos.clear();
        self.neg.clear();
        for (i, &l) in labels.iter().enumerate() {
            if l == 1.0 {
                self.pos.push(i);
            } else {
                self.neg.push(i);
            }
        }
        let missing = |class| KernelError::MissingClass {
            loss,
            class,
            positives: self.pos.len(),
            batch: labels.len(),
        };
        if self.pos.is_empty() {
            return Err(missing("positive"));
        }
        if need_neg && self.neg.is_empty() {
            return Err(missing("negative"));
        }
        Ok(())
    }
}

/// A table of `len` entries equal to `init`, or an error naming the setting `name` when the
/// allocation fails (a `data_len` far beyond the machine's memory).
pub(crate) fn table(name: &'static str, len: usize, init: f32) -> Result<Vec<f32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| KernelError::TooLarge {
            name,
            len,
            bytes: len as u128 * 4,
        })?;
    v.resize(len, init);
    Ok(v)
}

/// Copies `values` into `table` after checking the length (restoring a checkpoint).
pub(crate) fn load(name: &'static str, table: &mut [f32], values: &[f32]) -> Result<()> {
    if table.len() != values.len() {
        return Err(KernelError::StateLength {
            name,
            got: values.len(),
            want: table.len(),
        });
    }
    table.copy_from_slice(values);
    Ok(())
}

/// Errors unless `value` lies in `[lo, hi]` (and is not NaN).
pub(crate) fn in_range(
    name: &'static str,
    value: f64,
    lo: f64,
    hi: f64,
    reason: &'static str,
) -> Result<()> {
    if value >= lo && value <= hi {
        Ok(())
    } else {
        Err(KernelError::InvalidConfig {
            name,
            value,
            reason,
        })
    }
}

/// Errors unless `value` is finite and strictly positive.
pub(crate) fn positive(name: &'static str, value: f64, reason: &'static str) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(KernelError::InvalidConfig {
            name,
            value,
            reason,
        })
    }
}

/// Errors unless `value` is finite.
pub(crate) fn finite_setting(name: &'static str, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(KernelError::InvalidConfig {
            name,
            value,
            reason: "must be a finite number",
        })
    }
}

/// Errors unless the gradient buffer has `want` entries.
pub(crate) fn grad_len(what: &'static str, got: usize, want: usize) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(KernelError::InvalidConfig {
            name: what,
            value: got as f64,
            reason: "the gradient buffer must have one entry per input value",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_checks_labels_and_classes() {
        let mut s = Split::default();
        s.fill("L", &[1.0, 0.0, 1.0], true).unwrap();
        assert_eq!(
            (s.pos.as_slice(), s.neg.as_slice()),
            (&[0, 2][..], &[1][..])
        );
        assert!(matches!(
            s.fill("L", &[1.0, 2.0], false),
            Err(KernelError::InvalidLabel { index: 1, .. })
        ));
        assert!(matches!(
            s.fill("L", &[1.0, 1.0], true),
            Err(KernelError::MissingClass {
                class: "negative",
                ..
            })
        ));
        assert!(s.fill("L", &[1.0, 1.0], false).is_ok());
        assert!(matches!(
            s.fill("L", &[0.0], false),
            Err(KernelError::MissingClass {
                class: "positive",
                ..
            })
        ));
    }

    #[test]
    fn a_table_beyond_memory_is_an_error() {
        let e = table("data_len", usize::MAX / 2, 0.0).unwrap_err();
        assert!(e.to_string().contains("data_len"), "{e}");
        assert_eq!(table("data_len", 3, 0.5).unwrap(), vec![0.5; 3]);
        assert!(matches!(
            ids(&[0, 3], 3),
            Err(KernelError::IdOutOfRange {
                index: 1,
                id: 3,
                len: 3
            })
        ));
    }
}
