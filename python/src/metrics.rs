//! The metrics of `xrisk-metrics` for `xrisk.metrics`: NumPy `float64` in (labels, scores,
//! row-major matrices with their column count), Python floats or arrays out. The GIL is
//! released while a metric runs (they sort: O(n log n)).

use crate::arrays::{array, err, slice};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use xrisk_metrics as m;

type F64s<'py> = PyReadonlyArray1<'py, f64>;

/// AUROC (ties count ½).
#[pyfunction]
fn auroc(py: Python<'_>, labels: F64s<'_>, scores: F64s<'_>) -> PyResult<f64> {
    let (y, s) = (slice(&labels, "y_true")?, slice(&scores, "y_pred")?);
    py.detach(|| m::auroc(y, s)).map_err(err)
}

/// Average precision (AUPRC; tied scores one threshold).
#[pyfunction]
fn average_precision(py: Python<'_>, labels: F64s<'_>, scores: F64s<'_>) -> PyResult<f64> {
    let (y, s) = (slice(&labels, "y_true")?, slice(&scores, "y_pred")?);
    py.detach(|| m::average_precision(y, s)).map_err(err)
}

/// One-way partial AUC up to `max_fpr`, McClish-standardised (scikit-learn's).
#[pyfunction]
fn pauc_one_way(py: Python<'_>, labels: F64s<'_>, scores: F64s<'_>, max_fpr: f64) -> PyResult<f64> {
    let (y, s) = (slice(&labels, "y_true")?, slice(&scores, "y_pred")?);
    py.detach(|| m::pauc_one_way(y, s, max_fpr)).map_err(err)
}

/// Two-way partial AUC (FPR ≤ `max_fpr`, TPR ≥ `min_tpr`; LibAUC's definition).
#[pyfunction]
fn pauc_two_way(
    py: Python<'_>,
    labels: F64s<'_>,
    scores: F64s<'_>,
    max_fpr: f64,
    min_tpr: f64,
) -> PyResult<f64> {
    let (y, s) = (slice(&labels, "y_true")?, slice(&scores, "y_pred")?);
    py.detach(|| m::pauc_two_way(y, s, max_fpr, min_tpr))
        .map_err(err)
}

/// A per-task result as an array, `NaN` where a task has no value.
fn per_task<'py>(py: Python<'py>, r: &m::PerTask) -> Bound<'py, PyArray1<f64>> {
    array(
        py,
        r.per_task.iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
    )
}

/// Per-task AUROC of row-major `(n × n_tasks)` matrices (`NaN` for a single-class column).
#[pyfunction]
fn auroc_multilabel<'py>(
    py: Python<'py>,
    labels: F64s<'py>,
    scores: F64s<'py>,
    n_tasks: usize,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (y, s) = (slice(&labels, "y_true")?, slice(&scores, "y_pred")?);
    let r = py
        .detach(|| m::auroc_multilabel(y, s, n_tasks))
        .map_err(err)?;
    Ok(per_task(py, &r))
}

/// Per-task average precision (0 for a column without positives, as scikit-learn ≥ 1.x).
#[pyfunction]
fn average_precision_multilabel<'py>(
    py: Python<'py>,
    labels: F64s<'py>,
    scores: F64s<'py>,
    n_tasks: usize,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (y, s) = (slice(&labels, "y_true")?, slice(&scores, "y_pred")?);
    let r = py
        .detach(|| m::average_precision_multilabel(y, s, n_tasks))
        .map_err(err)?;
    Ok(per_task(py, &r))
}

/// Per-column precision@k, LibAUC's capped precision (hits / min(k, #pos)) and recall@k of
/// row-major `(n × n_cols)` matrices.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn precision_recall_at_k<'py>(
    py: Python<'py>,
    labels: F64s<'py>,
    scores: F64s<'py>,
    n_cols: usize,
    k: usize,
) -> PyResult<(
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
)> {
    let (y, s) = (slice(&labels, "y_true")?, slice(&scores, "y_pred")?);
    let r = py
        .detach(|| m::precision_recall_at_k_columns(y, s, n_cols, k))
        .map_err(err)?;
    Ok((
        array(py, r.iter().map(|x| x.precision).collect()),
        array(py, r.iter().map(|x| x.capped_precision).collect()),
        array(py, r.iter().map(|x| x.recall).collect()),
    ))
}

/// Mean AP@k over lists: `actual[i]` the relevant items of list `i`, `predicted[i]` its
/// ranking.
#[pyfunction]
fn map_at_k(
    py: Python<'_>,
    actual: Vec<Vec<i64>>,
    predicted: Vec<Vec<i64>>,
    k: usize,
) -> PyResult<f64> {
    py.detach(|| m::map_at_k(&actual, &predicted, k))
        .map_err(err)
}

/// AP@k of one list.
#[pyfunction]
fn ap_at_k(actual: Vec<i64>, predicted: Vec<i64>, k: usize) -> PyResult<f64> {
    m::ap_at_k(&actual, &predicted, k).map_err(err)
}

/// NDCG@k with LibAUC's matrix API: relevance `(U × n_pos)`, scores `(U × n_candidates)`
/// whose first `n_pos` columns are the positives.
#[pyfunction]
fn ndcg_at_k(
    py: Python<'_>,
    relevance: F64s<'_>,
    n_pos: usize,
    scores: F64s<'_>,
    n_candidates: usize,
    k: usize,
) -> PyResult<f64> {
    let (r, s) = (slice(&relevance, "y_true")?, slice(&scores, "y_pred")?);
    py.detach(|| m::ndcg_at_k(r, n_pos, s, n_candidates, k))
        .map_err(err)
}

/// The ROC curve at every distinct score: `(fpr, tpr, thresholds)`.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn roc_curve<'py>(
    py: Python<'py>,
    labels: F64s<'py>,
    scores: F64s<'py>,
) -> PyResult<(
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
)> {
    let (y, s) = (slice(&labels, "y_true")?, slice(&scores, "y_pred")?);
    let c = py.detach(|| m::roc_curve(y, s)).map_err(err)?;
    Ok((
        array(py, c.iter().map(|p| p.fpr).collect()),
        array(py, c.iter().map(|p| p.tpr).collect()),
        array(py, c.iter().map(|p| p.threshold).collect()),
    ))
}

/// The precision–recall curve at every distinct score: `(precision, recall, thresholds)`,
/// from the highest threshold to the lowest.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn precision_recall_curve<'py>(
    py: Python<'py>,
    labels: F64s<'py>,
    scores: F64s<'py>,
) -> PyResult<(
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
)> {
    let (y, s) = (slice(&labels, "y_true")?, slice(&scores, "y_pred")?);
    let c = py.detach(|| m::precision_recall_curve(y, s)).map_err(err)?;
    Ok((
        array(py, c.iter().map(|p| p.precision).collect()),
        array(py, c.iter().map(|p| p.recall).collect()),
        array(py, c.iter().map(|p| p.threshold).collect()),
    ))
}

/// Registers the metrics.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(auroc, module)?)?;
    module.add_function(wrap_pyfunction!(average_precision, module)?)?;
    module.add_function(wrap_pyfunction!(pauc_one_way, module)?)?;
    module.add_function(wrap_pyfunction!(pauc_two_way, module)?)?;
    module.add_function(wrap_pyfunction!(auroc_multilabel, module)?)?;
    module.add_function(wrap_pyfunction!(average_precision_multilabel, module)?)?;
    module.add_function(wrap_pyfunction!(precision_recall_at_k, module)?)?;
    module.add_function(wrap_pyfunction!(map_at_k, module)?)?;
    module.add_function(wrap_pyfunction!(ap_at_k, module)?)?;
    module.add_function(wrap_pyfunction!(ndcg_at_k, module)?)?;
    module.add_function(wrap_pyfunction!(roc_curve, module)?)?;
    module.add_function(wrap_pyfunction!(precision_recall_curve, module)?)?;
    Ok(())
}
