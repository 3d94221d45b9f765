//! `MultiLabelAucmLoss` (spec `libauc_spec.md` §2.2): the AUC-margin objective of
//! [`super::AucmLoss`] on each task (column) with per-task `a_t`, `b_t`, `α_t`, averaged over
//! the tasks of the batch (all tasks, or the distinct ids a `TriSampler` reports). The v1
//! cross term keeps the margin `p(1−p)·m` (LibAUC 2.0.1 drops it here, spec §11 #3).

use super::aucm::{AucmConfig, objective};
use super::split;
use crate::error::{Result, XriskError};
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

/// Per-task `a` and `b`, one entry per task.
#[derive(Module, Debug)]
pub struct MultiLabelAucmParams {
    /// Positive-class mean estimates.
    pub a: Param<Tensor<1>>,
    /// Negative-class mean estimates.
    pub b: Param<Tensor<1>>,
}

/// Multi-label AUC-margin loss.
#[derive(Debug)]
pub struct MultiLabelAucmLoss {
    /// Margin and version, shared by the tasks.
    pub config: AucmConfig,
    /// `a`, `b` per task.
    pub params: MultiLabelAucmParams,
    /// `α` per task.
    pub alpha: Vec<f64>,
}

impl MultiLabelAucmLoss {
    /// A loss over `n_tasks` tasks with all scalars 0.
    pub fn new(config: AucmConfig, n_tasks: usize, device: &Device) -> Self {
        let zeros = || Param::from_tensor(Tensor::zeros([n_tasks], device));
        MultiLabelAucmLoss {
            config,
            params: MultiLabelAucmParams {
                a: zeros(),
                b: zeros(),
            },
            alpha: vec![0.0; n_tasks],
        }
    }

    /// Number of tasks.
    pub fn n_tasks(&self) -> usize {
        self.alpha.len()
    }

    /// Mean objective over `tasks` (all when empty) of scores `h` `[batch, tasks]` with
    /// row-major 0/1 labels of the same shape.
    pub fn forward(&self, h: Tensor<2>, labels: &[f32], tasks: &[usize]) -> Result<Tensor<1>> {
        let [n, t] = h.dims();
        if t != self.n_tasks() || labels.len() != n * t {
            return Err(XriskError::LengthMismatch {
                scores: n * t,
                labels: labels.len(),
                ids: n * self.n_tasks(),
            });
        }
        super::finite("MultiLabelAucmLoss", &h)?;
        mean_over_tasks(&h, labels, tasks, |k, hk, col| {
            let s = split("MultiLabelAucmLoss", n, col, None, true)?;
            let a = self.params.a.val().narrow(0, k, 1);
            let b = self.params.b.val().narrow(0, k, 1);
            Ok(objective(
                hk,
                col,
                s.pos.len(),
                a,
                b,
                self.alpha[k],
                self.config,
            ))
        })
    }
}

/// `mean_k loss(k, h[:, k], labels[:, k])` over the distinct `tasks` of a batch (all tasks when
/// empty) of scores `h` `[batch, tasks]` with row-major labels of the same shape.
pub(crate) fn mean_over_tasks(
    h: &Tensor<2>,
    labels: &[f32],
    tasks: &[usize],
    mut loss: impl FnMut(usize, Tensor<1>, &[f32]) -> Result<Tensor<1>>,
) -> Result<Tensor<1>> {
    let [n, t] = h.dims();
    let chosen = chosen_tasks(tasks, t)?;
    let mut total: Option<Tensor<1>> = None;
    for &k in &chosen {
        let col: Vec<f32> = (0..n).map(|i| labels[i * t + k]).collect();
        let hk = h.clone().slice([0..n, k..k + 1]).squeeze_dim::<1>(1);
        let v = loss(k, hk, &col)?;
        total = Some(match total {
            None => v,
            Some(acc) => acc + v,
        });
    }
    Ok(total.expect("at least one task") / chosen.len() as f64)
}

/// The distinct task ids of a batch (all tasks when `tasks` is empty), sorted.
pub(crate) fn chosen_tasks(tasks: &[usize], n_tasks: usize) -> Result<Vec<usize>> {
    if let Some(&bad) = tasks.iter().find(|&&k| k >= n_tasks) {
        return Err(XriskError::IdOutOfRange {
            index: 0,
            id: bad,
            len: n_tasks,
        });
    }
    let mut chosen: Vec<usize> = if tasks.is_empty() {
        (0..n_tasks).collect()
    } else {
        tasks.to_vec()
    };
    chosen.sort_unstable();
    chosen.dedup();
    Ok(chosen)
}
