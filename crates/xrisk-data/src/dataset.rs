//! The in-memory data set every reader produces and every sampler indexes.

use crate::error::{DataError, Result};

/// Dense features with labels, and optional group ids (query ids for ranking data).
///
/// Row `i` has features `features[i*dim..(i+1)*dim]` and labels
/// `labels[i*n_tasks..(i+1)*n_tasks]` (one task for binary, multi-class or graded labels;
/// `T` tasks for multi-label data). The sample id of row `i` — the key of every per-sample
/// state table — is `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Row-major features, `len() * dim` values.
    pub features: Vec<f32>,
    /// Number of features per row.
    pub dim: usize,
    /// Row-major labels, `len() * n_tasks` values.
    pub labels: Vec<f32>,
    /// Labels per row.
    pub n_tasks: usize,
    /// Query / group id per row (svmlight `qid:`), if any.
    pub groups: Option<Vec<u64>>,
}

impl Dataset {
    /// Builds a data set and checks that the lengths agree.
    pub fn new(features: Vec<f32>, dim: usize, labels: Vec<f32>, n_tasks: usize) -> Result<Self> {
        if n_tasks == 0 {
            return Err(DataError::Invalid(
                "a data set needs at least one label per row".into(),
            ));
        }
        let n = labels.len() / n_tasks;
        if !labels.len().is_multiple_of(n_tasks) || features.len() != n * dim {
            return Err(DataError::Invalid(format!(
                "features ({} values) and labels ({} values) do not describe the same rows (dim {dim}, {n_tasks} labels per row)",
                features.len(),
                labels.len()
            )));
        }
        Ok(Dataset {
            features,
            dim,
            labels,
            n_tasks,
            groups: None,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len() / self.n_tasks.max(1)
    }

    /// True when there is no row.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Features of row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.features[i * self.dim..(i + 1) * self.dim]
    }

    /// The single label of row `i` (the first task's label for multi-label data).
    pub fn label(&self, i: usize) -> f32 {
        self.labels[i * self.n_tasks]
    }

    /// The rows `ids` (in that order) as a new data set.
    pub fn select(&self, ids: &[usize]) -> Dataset {
        let mut features = Vec::with_capacity(ids.len() * self.dim);
        let mut labels = Vec::with_capacity(ids.len() * self.n_tasks);
        for &i in ids {
            features.extend_from_slice(self.row(i));
            labels.extend_from_slice(&self.labels[i * self.n_tasks..(i + 1) * self.n_tasks]);
        }
        let groups = self
            .groups
            .as_ref()
            .map(|g| ids.iter().map(|&i| g[i]).collect());
        Dataset {
            features,
            dim: self.dim,
            labels,
            n_tasks: self.n_tasks,
            groups,
        }
    }

    /// Number of rows whose (first) label is positive (> 0).
    pub fn positives(&self) -> usize {
        (0..self.len()).filter(|&i| self.label(i) > 0.0).count()
    }
}
