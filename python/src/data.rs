//! The samplers and the imbalance generator of `xrisk-data` for `xrisk.sampler` and
//! `xrisk.utils`: the same seeded batches as the Rust trainer's, as NumPy `int64` arrays.

use crate::arrays::{array, err, slice, value_error};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use xrisk_data::sampler::{TriBatch, TriSamplerConfig};

/// Binary controlled sampling (LibAUC's `DualSampler`): every batch holds `num_pos` positive
/// ids, then the negatives.
#[pyclass(module = "xrisk._native")]
struct DualSampler {
    s: xrisk_data::sampler::DualSampler,
}

#[pymethods]
impl DualSampler {
    /// Exactly one of `sampling_rate` and `num_pos` sets the positives per batch.
    #[new]
    #[pyo3(signature = (labels, batch_size, sampling_rate=None, num_pos=None, seed=2023))]
    fn new(
        labels: PyReadonlyArray1<'_, f32>,
        batch_size: usize,
        sampling_rate: Option<f64>,
        num_pos: Option<usize>,
        seed: u64,
    ) -> PyResult<Self> {
        let y = slice(&labels, "labels")?;
        let s = match (num_pos, sampling_rate) {
            (Some(p), _) => xrisk_data::sampler::DualSampler::with_num_pos(y, batch_size, p, seed),
            (None, Some(r)) => xrisk_data::sampler::DualSampler::new(y, batch_size, r, seed),
            (None, None) => return Err(value_error("give sampling_rate or num_pos")),
        }
        .map_err(err)?;
        Ok(Self { s })
    }

    /// The ids of the next epoch's batches, one after the other.
    fn next_epoch<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        let epoch = self.s.next_epoch();
        array(py, epoch.into_iter().flatten().map(|i| i as i64).collect())
    }

    #[getter]
    fn num_batches(&self) -> usize {
        self.s.num_batches()
    }

    #[getter]
    fn num_pos(&self) -> usize {
        self.s.num_pos()
    }

    #[getter]
    fn batch_size(&self) -> usize {
        self.s.batch_size()
    }
}

/// Multi-label controlled sampling (LibAUC's `TriSampler`, classification mode): per batch,
/// the sampled tasks, and per task `num_pos` positives then negatives.
#[pyclass(module = "xrisk._native")]
struct TriSampler {
    s: xrisk_data::sampler::TriSampler,
}

#[pymethods]
impl TriSampler {
    /// `labels` is the row-major `(N × num_tasks)` label matrix.
    #[new]
    #[pyo3(signature = (labels, num_tasks, batch_size_per_task, num_sampled_tasks=None, sampling_rate=None, num_pos=None, seed=2023))]
    fn new(
        labels: PyReadonlyArray1<'_, f32>,
        num_tasks: usize,
        batch_size_per_task: usize,
        num_sampled_tasks: Option<usize>,
        sampling_rate: Option<f64>,
        num_pos: Option<usize>,
        seed: u64,
    ) -> PyResult<Self> {
        let cfg = TriSamplerConfig {
            batch_size_per_task,
            num_sampled_tasks,
            sampling_rate: if num_pos.is_some() {
                None
            } else {
                sampling_rate
            },
            num_pos,
            seed,
        };
        let s = xrisk_data::sampler::TriSampler::classification(
            slice(&labels, "labels")?,
            num_tasks,
            cfg,
        )
        .map_err(err)?;
        Ok(Self { s })
    }

    /// The next epoch as `(sample ids, task ids)`, batch after batch.
    fn next_epoch<'py>(
        &mut self,
        py: Python<'py>,
    ) -> (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>) {
        let (mut ids, mut tasks) = (Vec::new(), Vec::new());
        for batch in self.s.next_epoch() {
            if let TriBatch::Classification(pairs) = batch {
                for (i, t) in pairs {
                    ids.push(i as i64);
                    tasks.push(t as i64);
                }
            }
        }
        (array(py, ids), array(py, tasks))
    }

    #[getter]
    fn num_batches(&self) -> usize {
        self.s.num_batches()
    }

    #[getter]
    fn num_pos(&self) -> usize {
        self.s.num_pos()
    }
}

/// Row ids and their 0/1 labels.
type Rows<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<f32>>);

/// The rows LibAUC's `ImbalancedDataGenerator` keeps for class labels `labels`, in their new
/// order, and their 0/1 labels: `(row ids, labels)`.
#[pyfunction]
#[pyo3(signature = (labels, imratio, shuffle=true, seed=0))]
fn imbalanced_rows<'py>(
    py: Python<'py>,
    labels: PyReadonlyArray1<'py, f32>,
    imratio: f64,
    shuffle: bool,
    seed: u64,
) -> PyResult<Rows<'py>> {
    let g = xrisk_data::ImbalancedDataGenerator {
        imratio,
        shuffle,
        seed,
    };
    let (ids, y) = g.select(slice(&labels, "targets")?).map_err(err)?;
    Ok((
        array(py, ids.into_iter().map(|i| i as i64).collect()),
        array(py, y),
    ))
}

/// Registers the samplers and the imbalance generator.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<DualSampler>()?;
    m.add_class::<TriSampler>()?;
    m.add_function(wrap_pyfunction!(imbalanced_rows, m)?)?;
    Ok(())
}
