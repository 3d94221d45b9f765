//! The X-risk kernels as Python classes (`xrisk._native.ApKernel`, …) and functions. Each
//! `forward` takes the model's outputs as NumPy `float32` arrays (flattened row-major where a
//! loss works on matrices), checks them, updates the kernel's per-sample state and returns the
//! loss value with its gradient with respect to those outputs; `state()` / `load_state()`
//! carry the state for checkpoints. The torch modules of `xrisk.losses` wrap these.

use crate::arrays::{array, err, ids, slice, surrogate, value_error};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use xrisk_kernels as k;

type F32s<'py> = PyReadonlyArray1<'py, f32>;
type I64s<'py> = PyReadonlyArray1<'py, i64>;
type Grad<'py> = Bound<'py, PyArray1<f32>>;

/// AUCM versions by LibAUC's name.
fn aucm_config(margin: f64, version: &str) -> PyResult<k::aucm::AucmConfig> {
    let version = match version {
        "v1" => k::aucm::AucmVersion::V1,
        "v2" => k::aucm::AucmVersion::V2,
        other => {
            return Err(value_error(format!(
                "version = {other:?}: use 'v1' or 'v2'"
            )));
        }
    };
    let c = k::aucm::AucmConfig { margin, version };
    c.validate().map_err(err)?;
    Ok(c)
}

/// The AUC-margin objective at `(a, b, α)`: `(value, ∂/∂scores, ∂/∂a, ∂/∂b, ∂/∂α)`.
#[pyfunction]
#[pyo3(signature = (scores, labels, a, b, alpha, margin=1.0, version="v1"))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn aucm<'py>(
    py: Python<'py>,
    scores: F32s<'py>,
    labels: F32s<'py>,
    a: f64,
    b: f64,
    alpha: f64,
    margin: f64,
    version: &str,
) -> PyResult<(f64, Grad<'py>, f64, f64, f64)> {
    let c = aucm_config(margin, version)?;
    let (s, y) = (slice(&scores, "y_pred")?, slice(&labels, "y_true")?);
    let mut g = vec![0.0f32; s.len()];
    let o = k::aucm::aucm_objective(&c, s, y, (a, b, alpha), &mut g).map_err(err)?;
    Ok((o.value, array(py, g), o.d_a, o.d_b, o.d_alpha))
}

/// Binary cross-entropy on logits (mean): `(value, ∂/∂logits)`.
#[pyfunction]
fn bce_with_logits<'py>(
    py: Python<'py>,
    logits: F32s<'py>,
    labels: F32s<'py>,
) -> PyResult<(f64, Grad<'py>)> {
    let (z, y) = (slice(&logits, "y_pred")?, slice(&labels, "y_true")?);
    let mut g = vec![0.0f32; z.len()];
    let v = k::ce::bce_with_logits(z, y, &mut g).map_err(err)?;
    Ok((v, array(py, g)))
}

/// The focal loss on logits (mean; α on the positives): `(value, ∂/∂logits)`.
#[pyfunction]
#[pyo3(signature = (logits, labels, alpha=0.25, gamma=2.0))]
fn focal<'py>(
    py: Python<'py>,
    logits: F32s<'py>,
    labels: F32s<'py>,
    alpha: f64,
    gamma: f64,
) -> PyResult<(f64, Grad<'py>)> {
    let c = k::focal::FocalConfig { alpha, gamma };
    c.validate().map_err(err)?;
    let (z, y) = (slice(&logits, "y_pred")?, slice(&labels, "y_true")?);
    let mut g = vec![0.0f32; z.len()];
    let v = c.forward(z, y, &mut g).map_err(err)?;
    Ok((v, array(py, g)))
}

/// Compositional AUC: `k` cross-entropy steps on probabilities, then `k` AUCM steps.
#[pyclass(module = "xrisk._native")]
struct CompositionalKernel {
    k: k::compositional::CompositionalAucKernel,
}

#[pymethods]
impl CompositionalKernel {
    #[new]
    #[pyo3(signature = (margin=1.0, version="v1", k=1))]
    fn new(margin: f64, version: &str, k: usize) -> PyResult<Self> {
        let c = aucm_config(margin, version)?;
        Ok(Self {
            k: k::compositional::CompositionalAucKernel::new(c, k).map_err(err)?,
        })
    }

    /// `(value, ∂/∂scores, ∂/∂a, ∂/∂b, ∂/∂α, was_auc_step)`.
    #[allow(clippy::type_complexity)]
    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        scores: F32s<'py>,
        labels: F32s<'py>,
        a: f64,
        b: f64,
        alpha: f64,
    ) -> PyResult<(f64, Grad<'py>, f64, f64, f64, bool)> {
        let (s, y) = (slice(&scores, "y_pred")?, slice(&labels, "y_true")?);
        let mut g = vec![0.0f32; s.len()];
        let o = self.k.forward(s, y, (a, b, alpha), &mut g).map_err(err)?;
        Ok((
            o.value,
            array(py, g),
            o.d_a,
            o.d_b,
            o.d_alpha,
            self.k.last_was_auc(),
        ))
    }

    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("step", self.k.step())?;
        d.set_item("last_was_auc", self.k.last_was_auc())?;
        Ok(d)
    }

    fn load_state(&mut self, step: usize, last_was_auc: bool) {
        self.k.load_state(step, last_was_auc);
    }
}

/// Runs a `(scores, labels, ids) → value` kernel on NumPy arguments with the GIL released.
macro_rules! score_forward {
    ($self:ident, $py:ident, $scores:ident, $labels:ident, $ids:ident) => {{
        let (s, y) = (slice(&$scores, "y_pred")?, slice(&$labels, "y_true")?);
        let i = ids(&$ids, "index")?;
        let mut g = vec![0.0f32; s.len()];
        let kernel = &mut $self.k;
        let v = $py
            .detach(|| kernel.forward(s, y, &i, &mut g))
            .map_err(err)?;
        Ok((v, array($py, g)))
    }};
}

/// SOAP, the AP loss (`APLoss`): state `u_all`, `u_pos` per sample id.
#[pyclass(module = "xrisk._native")]
struct ApKernel {
    k: k::ap::ApKernel,
}

#[pymethods]
impl ApKernel {
    #[new]
    #[pyo3(signature = (data_len, gamma=0.9, margin=1.0, surr_loss="squared_hinge"))]
    fn new(data_len: usize, gamma: f64, margin: f64, surr_loss: &str) -> PyResult<Self> {
        let c = k::ap::ApConfig {
            gamma,
            margin,
            surrogate: surrogate(surr_loss, None)?,
            ..k::ap::ApConfig::new(data_len)
        };
        Ok(Self {
            k: k::ap::ApKernel::new(c).map_err(err)?,
        })
    }

    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        scores: F32s<'py>,
        labels: F32s<'py>,
        index: I64s<'py>,
    ) -> PyResult<(f64, Grad<'py>)> {
        score_forward!(self, py, scores, labels, index)
    }

    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("u_all", array(py, self.k.u_all().to_vec()))?;
        d.set_item("u_pos", array(py, self.k.u_pos().to_vec()))?;
        Ok(d)
    }

    fn load_state(&mut self, u_all: F32s<'_>, u_pos: F32s<'_>) -> PyResult<()> {
        self.k
            .load_state(slice(&u_all, "u_all")?, slice(&u_pos, "u_pos")?)
            .map_err(err)
    }
}

/// One-way pAUC by CVaR (`pAUC_CVaR_Loss`, SOPA): threshold `s` per sample id.
#[pyclass(module = "xrisk._native")]
struct PAucCvarKernel {
    k: k::pauc_cvar::PAucCvarKernel,
}

#[pymethods]
impl PAucCvarKernel {
    #[new]
    #[pyo3(signature = (data_len, beta=0.2, eta=0.1, margin=1.0, surr_loss="squared_hinge"))]
    fn new(data_len: usize, beta: f64, eta: f64, margin: f64, surr_loss: &str) -> PyResult<Self> {
        let c = k::pauc_cvar::PAucCvarConfig {
            beta,
            eta,
            margin,
            surrogate: surrogate(surr_loss, None)?,
            ..k::pauc_cvar::PAucCvarConfig::new(data_len)
        };
        Ok(Self {
            k: k::pauc_cvar::PAucCvarKernel::new(c).map_err(err)?,
        })
    }

    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        scores: F32s<'py>,
        labels: F32s<'py>,
        index: I64s<'py>,
    ) -> PyResult<(f64, Grad<'py>)> {
        score_forward!(self, py, scores, labels, index)
    }

    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("s", array(py, self.k.s().to_vec()))?;
        Ok(d)
    }

    fn load_state(&mut self, s: F32s<'_>) -> PyResult<()> {
        self.k.load_state(slice(&s, "s")?).map_err(err)
    }
}

/// One-way pAUC by KL-DRO (`pAUC_DRO_Loss`, SOPA-s): `u` per sample id.
#[pyclass(module = "xrisk._native")]
struct PAucDroKernel {
    k: k::pauc_dro::PAucDroKernel,
}

#[pymethods]
impl PAucDroKernel {
    #[new]
    #[pyo3(signature = (data_len, gamma=0.9, margin=1.0, Lambda=1.0, surr_loss="squared_hinge"))]
    #[allow(non_snake_case)]
    fn new(
        data_len: usize,
        gamma: f64,
        margin: f64,
        Lambda: f64,
        surr_loss: &str,
    ) -> PyResult<Self> {
        let c = k::pauc_dro::PAucDroConfig {
            gamma,
            margin,
            lambda: Lambda,
            surrogate: surrogate(surr_loss, None)?,
            ..k::pauc_dro::PAucDroConfig::new(data_len)
        };
        Ok(Self {
            k: k::pauc_dro::PAucDroKernel::new(c).map_err(err)?,
        })
    }

    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        scores: F32s<'py>,
        labels: F32s<'py>,
        index: I64s<'py>,
    ) -> PyResult<(f64, Grad<'py>)> {
        score_forward!(self, py, scores, labels, index)
    }

    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("u", array(py, self.k.u().to_vec()))?;
        Ok(d)
    }

    fn load_state(&mut self, u: F32s<'_>) -> PyResult<()> {
        self.k.load_state(slice(&u, "u")?).map_err(err)
    }
}

/// Two-way pAUC by KL-DRO (`tpAUC_KL_Loss`, SOTA-s): `u` per sample id and the scalar `w`.
#[pyclass(module = "xrisk._native")]
struct TpAucKlKernel {
    k: k::tpauc_kl::TpAucKlKernel,
}

#[pymethods]
impl TpAucKlKernel {
    #[new]
    #[pyo3(signature = (data_len, tau=1.0, Lambda=1.0, gammas=(0.9, 0.9), margin=1.0, surr_loss="squared_hinge"))]
    #[allow(non_snake_case)]
    fn new(
        data_len: usize,
        tau: f64,
        Lambda: f64,
        gammas: (f64, f64),
        margin: f64,
        surr_loss: &str,
    ) -> PyResult<Self> {
        let c = k::tpauc_kl::TpAucKlConfig {
            tau,
            lambda: Lambda,
            gammas,
            margin,
            surrogate: surrogate(surr_loss, None)?,
            ..k::tpauc_kl::TpAucKlConfig::new(data_len)
        };
        Ok(Self {
            k: k::tpauc_kl::TpAucKlKernel::new(c).map_err(err)?,
        })
    }

    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        scores: F32s<'py>,
        labels: F32s<'py>,
        index: I64s<'py>,
    ) -> PyResult<(f64, Grad<'py>)> {
        score_forward!(self, py, scores, labels, index)
    }

    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("u", array(py, self.k.u().to_vec()))?;
        d.set_item("w", self.k.w())?;
        Ok(d)
    }

    fn load_state(&mut self, u: F32s<'_>, w: f64) -> PyResult<()> {
        self.k.load_state(slice(&u, "u")?, w).map_err(err)
    }
}

/// Two-way pAUC by double CVaR (`tpAUC_CVaR_loss`, STACO): `u`, `s1`, `y` per sample id and
/// the scalar `s2`.
#[pyclass(module = "xrisk._native")]
struct TpAucCvarKernel {
    k: k::tpauc_cvar::TpAucCvarKernel,
}

#[pymethods]
impl TpAucCvarKernel {
    #[new]
    #[pyo3(signature = (data_len, margin=1.0, alpha=0.1, beta_0=0.1, beta_1=0.1, theta_0=0.5, theta_1=0.5, surr_loss="squared_hinge"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        data_len: usize,
        margin: f64,
        alpha: f64,
        beta_0: f64,
        beta_1: f64,
        theta_0: f64,
        theta_1: f64,
        surr_loss: &str,
    ) -> PyResult<Self> {
        let c = k::tpauc_cvar::TpAucCvarConfig {
            margin,
            alpha,
            beta_0,
            beta_1,
            theta_0,
            theta_1,
            surrogate: surrogate(surr_loss, None)?,
            ..k::tpauc_cvar::TpAucCvarConfig::new(data_len)
        };
        Ok(Self {
            k: k::tpauc_cvar::TpAucCvarKernel::new(c).map_err(err)?,
        })
    }

    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        scores: F32s<'py>,
        labels: F32s<'py>,
        index: I64s<'py>,
    ) -> PyResult<(f64, Grad<'py>)> {
        score_forward!(self, py, scores, labels, index)
    }

    /// The two step sizes (STACO's `beta_0`, `beta_1`), e.g. after an lr decay.
    fn set_steps(&mut self, beta_0: f64, beta_1: f64) -> PyResult<()> {
        self.k.set_steps(beta_0, beta_1).map_err(err)
    }

    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("u", array(py, self.k.u().to_vec()))?;
        d.set_item("s1", array(py, self.k.s1().to_vec()))?;
        d.set_item("y", array(py, self.k.y().to_vec()))?;
        d.set_item("s2", self.k.s2())?;
        Ok(d)
    }

    fn load_state(&mut self, u: F32s<'_>, s1: F32s<'_>, y: F32s<'_>, s2: f64) -> PyResult<()> {
        self.k
            .load_state(slice(&u, "u")?, slice(&s1, "s1")?, slice(&y, "y")?, s2)
            .map_err(err)
    }
}

/// The mean pairwise surrogate over positive–negative pairs (`PairwiseAUCLoss`); no state.
#[pyclass(module = "xrisk._native")]
struct PairwiseKernel {
    k: k::pairwise::PairwiseAucKernel,
}

#[pymethods]
impl PairwiseKernel {
    /// `hparam` is the margin (the scale for `'logistic'`); `scale` the barrier hinge's scale.
    #[new]
    #[pyo3(signature = (surr_loss="logistic", hparam=1.0, scale=None))]
    fn new(surr_loss: &str, hparam: f64, scale: Option<f64>) -> PyResult<Self> {
        let c = k::pairwise::PairwiseAucConfig {
            surrogate: surrogate(surr_loss, scale)?,
            hparam,
        };
        Ok(Self {
            k: k::pairwise::PairwiseAucKernel::new(c).map_err(err)?,
        })
    }

    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        scores: F32s<'py>,
        labels: F32s<'py>,
    ) -> PyResult<(f64, Grad<'py>)> {
        let (s, y) = (slice(&scores, "y_pred")?, slice(&labels, "y_true")?);
        let mut g = vec![0.0f32; s.len()];
        let kernel = &mut self.k;
        let v = py.detach(|| kernel.forward(s, y, &mut g)).map_err(err)?;
        Ok((v, array(py, g)))
    }
}

/// Multi-label AUCM (`MultiLabelAUCMLoss`): per-task `a`, `b`, `α` are inputs; scores and
/// labels are `B × T` row-major; `tasks` the tasks to average over (empty: all).
#[pyclass(module = "xrisk._native")]
struct MultiLabelAucmKernel {
    k: k::multilabel_aucm::MultiLabelAucmKernel,
}

#[pymethods]
impl MultiLabelAucmKernel {
    #[new]
    #[pyo3(signature = (num_labels, margin=1.0, version="v1"))]
    fn new(num_labels: usize, margin: f64, version: &str) -> PyResult<Self> {
        let c = aucm_config(margin, version)?;
        Ok(Self {
            k: k::multilabel_aucm::MultiLabelAucmKernel::new(c, num_labels).map_err(err)?,
        })
    }

    /// `(value, ∂/∂scores, ∂/∂a, ∂/∂b, ∂/∂α)` (the last three one per task).
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        scores: F32s<'py>,
        labels: F32s<'py>,
        tasks: I64s<'py>,
        a: PyReadonlyArray1<'py, f64>,
        b: PyReadonlyArray1<'py, f64>,
        alpha: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<(
        f64,
        Grad<'py>,
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<f64>>,
    )> {
        let (s, y) = (slice(&scores, "y_pred")?, slice(&labels, "y_true")?);
        let t = ids(&tasks, "task_ids")?;
        let abc = (slice(&a, "a")?, slice(&b, "b")?, slice(&alpha, "alpha")?);
        let mut g = vec![0.0f32; s.len()];
        let o = self.k.forward(s, y, &t, abc, &mut g).map_err(err)?;
        Ok((
            o.value,
            array(py, g),
            array(py, o.d_a.clone()),
            array(py, o.d_b.clone()),
            array(py, o.d_alpha.clone()),
        ))
    }
}

/// Mean AP over tasks (`meanAveragePrecisionLoss`, mAP and mAP@k): `u_all`, `u_pos` per task
/// and sample id (task-major).
#[pyclass(module = "xrisk._native")]
struct MapKernel {
    k: k::map::MapKernel,
}

#[pymethods]
impl MapKernel {
    #[new]
    #[pyo3(signature = (data_len, num_labels, margin=1.0, gamma=0.9, top_k=-1, surr_loss="squared_hinge"))]
    fn new(
        data_len: usize,
        num_labels: usize,
        margin: f64,
        gamma: f64,
        top_k: i64,
        surr_loss: &str,
    ) -> PyResult<Self> {
        let c = k::map::MapConfig {
            margin,
            gamma,
            top_k: (top_k > 0).then_some(top_k as f64),
            surrogate: surrogate(surr_loss, None)?,
            ..k::map::MapConfig::new(data_len, num_labels)
        };
        Ok(Self {
            k: k::map::MapKernel::new(c).map_err(err)?,
        })
    }

    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        scores: F32s<'py>,
        labels: F32s<'py>,
        index: I64s<'py>,
        tasks: I64s<'py>,
    ) -> PyResult<(f64, Grad<'py>)> {
        let (s, y) = (slice(&scores, "y_pred")?, slice(&labels, "y_true")?);
        let (i, t) = (ids(&index, "index")?, ids(&tasks, "task_id")?);
        let mut g = vec![0.0f32; s.len()];
        let kernel = &mut self.k;
        let v = py
            .detach(|| kernel.forward(s, y, &i, &t, &mut g))
            .map_err(err)?;
        Ok((v, array(py, g)))
    }

    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("u_all", array(py, self.k.u_all().to_vec()))?;
        d.set_item("u_pos", array(py, self.k.u_pos().to_vec()))?;
        Ok(d)
    }

    fn load_state(&mut self, u_all: F32s<'_>, u_pos: F32s<'_>) -> PyResult<()> {
        self.k
            .load_state(slice(&u_all, "u_all")?, slice(&u_pos, "u_pos")?)
            .map_err(err)
    }
}

/// Multi-label pAUC (`MultiLabelpAUCLoss`): one pAUC-DRO (`'1w'`) or tpAUC-KL (`'2w'`) kernel
/// per task.
#[pyclass(module = "xrisk._native")]
struct MultiLabelPAucKernel {
    k: k::multilabel_pauc::MultiLabelPAucKernel,
}

#[pymethods]
impl MultiLabelPAucKernel {
    #[new]
    #[pyo3(signature = (mode, num_labels, data_len, margin=1.0, gamma=0.9, Lambda=1.0, tau=1.0, gammas=(0.9, 0.9), surr_loss="squared_hinge"))]
    #[allow(clippy::too_many_arguments, non_snake_case)]
    fn new(
        mode: &str,
        num_labels: usize,
        data_len: usize,
        margin: f64,
        gamma: f64,
        Lambda: f64,
        tau: f64,
        gammas: (f64, f64),
        surr_loss: &str,
    ) -> PyResult<Self> {
        let surrogate = surrogate(surr_loss, None)?;
        let backend = match mode {
            "1w" => k::multilabel_pauc::PAucBackend::OneWay(k::pauc_dro::PAucDroConfig {
                gamma,
                margin,
                lambda: Lambda,
                surrogate,
                ..k::pauc_dro::PAucDroConfig::new(data_len)
            }),
            "2w" => k::multilabel_pauc::PAucBackend::TwoWay(k::tpauc_kl::TpAucKlConfig {
                tau,
                lambda: Lambda,
                gammas,
                margin,
                surrogate,
                ..k::tpauc_kl::TpAucKlConfig::new(data_len)
            }),
            other => return Err(value_error(format!("mode = {other:?}: use '1w' or '2w'"))),
        };
        Ok(Self {
            k: k::multilabel_pauc::MultiLabelPAucKernel::new(backend, num_labels).map_err(err)?,
        })
    }

    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        scores: F32s<'py>,
        labels: F32s<'py>,
        index: I64s<'py>,
        tasks: I64s<'py>,
    ) -> PyResult<(f64, Grad<'py>)> {
        let (s, y) = (slice(&scores, "y_pred")?, slice(&labels, "y_true")?);
        let (i, t) = (ids(&index, "index")?, ids(&tasks, "task_id")?);
        let mut g = vec![0.0f32; s.len()];
        let kernel = &mut self.k;
        let v = py
            .detach(|| kernel.forward(s, y, &i, &t, &mut g))
            .map_err(err)?;
        Ok((v, array(py, g)))
    }

    /// `u` of every task (task-major) and, two-way, `w` per task.
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (mut u, mut w) = (Vec::new(), Vec::new());
        for t in 0..self.k.n_tasks() {
            match self.k.task(t) {
                k::multilabel_pauc::TaskKernel::OneWay(x) => u.extend_from_slice(x.u()),
                k::multilabel_pauc::TaskKernel::TwoWay(x) => {
                    u.extend_from_slice(x.u());
                    w.push(x.w());
                }
            }
        }
        let d = PyDict::new(py);
        d.set_item("u", array(py, u))?;
        d.set_item("w", array(py, w))?;
        Ok(d)
    }

    fn load_state(&mut self, u: F32s<'_>, w: PyReadonlyArray1<'_, f64>) -> PyResult<()> {
        let (u, w) = (slice(&u, "u")?, slice(&w, "w")?);
        let t = self.k.n_tasks();
        if t == 0 || !u.len().is_multiple_of(t) {
            return Err(value_error(format!(
                "u holds {} entries, not one table per task ({t} tasks)",
                u.len()
            )));
        }
        let n = u.len() / t;
        for (task, table) in u.chunks(n).enumerate() {
            match self.k.task_mut(task) {
                k::multilabel_pauc::TaskKernel::OneWay(x) => x.load_state(table).map_err(err)?,
                k::multilabel_pauc::TaskKernel::TwoWay(x) => {
                    let wt = *w.get(task).ok_or_else(|| {
                        value_error(format!("w holds {} entries for {t} tasks", w.len()))
                    })?;
                    x.load_state(table, wt).map_err(err)?
                }
            }
        }
        Ok(())
    }
}

/// MIDAM (`MIDAMLoss`): per-bag moving averages of the stochastic pooling's statistics.
#[pyclass(module = "xrisk._native")]
struct MidamKernel {
    k: k::midam::MidamKernel,
    softmax: bool,
}

#[pymethods]
impl MidamKernel {
    #[new]
    #[pyo3(signature = (mode, data_len, margin=1.0, tau=0.1, gamma=0.9))]
    fn new(mode: &str, data_len: usize, margin: f64, tau: f64, gamma: f64) -> PyResult<Self> {
        let pooling = match mode {
            "softmax" => k::midam::MidamPooling::Softmax { tau },
            "attention" => k::midam::MidamPooling::Attention,
            other => {
                return Err(value_error(format!(
                    "mode = {other:?}: use 'softmax' or 'attention'"
                )));
            }
        };
        let c = k::midam::MidamConfig {
            margin,
            gamma,
            ..k::midam::MidamConfig::new(data_len, pooling)
        };
        Ok(Self {
            k: k::midam::MidamKernel::new(c).map_err(err)?,
            softmax: mode == "softmax",
        })
    }

    /// Softmax pooling: `first` = the bags' `mean exp(φ/τ)`, `second` unused; attention:
    /// `first` = `mean w·φ`, `second` = `mean w`. Returns `(value, ∂/∂first, ∂/∂second, ∂/∂a,
    /// ∂/∂b)` (`∂/∂second` empty for softmax).
    #[pyo3(signature = (first, second, labels, index, a, b, alpha))]
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        first: F32s<'py>,
        second: Option<F32s<'py>>,
        labels: F32s<'py>,
        index: I64s<'py>,
        a: f64,
        b: f64,
        alpha: f64,
    ) -> PyResult<(f64, Grad<'py>, Grad<'py>, f64, f64)> {
        let f = slice(&first, "y_pred")?;
        let y = slice(&labels, "y_true")?;
        let i = ids(&index, "index")?;
        let mut g1 = vec![0.0f32; f.len()];
        let mut g2 = Vec::new();
        let o = if self.softmax {
            self.k
                .forward(
                    k::midam::MidamInput::Softmax(f),
                    y,
                    &i,
                    (a, b, alpha),
                    k::midam::MidamGrad::Softmax(&mut g1),
                )
                .map_err(err)?
        } else {
            let sd = second
                .as_ref()
                .ok_or_else(|| value_error("attention pooling needs the weights' means (sd)"))?;
            let sd = slice(sd, "sd")?;
            g2 = vec![0.0f32; sd.len()];
            self.k
                .forward(
                    k::midam::MidamInput::Attention { sn: f, sd },
                    y,
                    &i,
                    (a, b, alpha),
                    k::midam::MidamGrad::Attention {
                        sn: &mut g1,
                        sd: &mut g2,
                    },
                )
                .map_err(err)?
        };
        Ok((o.value, array(py, g1), array(py, g2), o.d_a, o.d_b))
    }

    /// Divides γ by `decay_factor` (LibAUC's `update_smoothing`).
    fn update_smoothing(&mut self, decay_factor: f64) -> PyResult<()> {
        self.k.update_smoothing(decay_factor).map_err(err)
    }

    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (num, den) = self.k.state();
        let d = PyDict::new(py);
        d.set_item("num", array(py, num.to_vec()))?;
        d.set_item("den", array(py, den.to_vec()))?;
        d.set_item("gamma", self.k.config().gamma)?;
        Ok(d)
    }

    fn load_state(&mut self, num: F32s<'_>, den: F32s<'_>, gamma: f64) -> PyResult<()> {
        self.k.set_gamma(gamma).map_err(err)?;
        self.k
            .load_state(slice(&num, "num")?, slice(&den, "den")?)
            .map_err(err)
    }
}

/// Listwise cross-entropy (`ListwiseCELoss`): `ln u` per (query, relevant item) pair.
#[pyclass(module = "xrisk._native")]
struct ListwiseCeKernel {
    k: k::listwise_ce::ListwiseCeKernel,
}

#[pymethods]
impl ListwiseCeKernel {
    #[new]
    #[pyo3(signature = (n_pairs, num_pos, gamma=0.1))]
    fn new(n_pairs: usize, num_pos: usize, gamma: f64) -> PyResult<Self> {
        let c = k::listwise_ce::ListwiseCeConfig {
            gamma,
            ..k::listwise_ce::ListwiseCeConfig::new(n_pairs, num_pos)
        };
        Ok(Self {
            k: k::listwise_ce::ListwiseCeKernel::new(c).map_err(err)?,
        })
    }

    /// Scores `B × width` (positives first in each row), one pair id per positive.
    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        scores: F32s<'py>,
        width: usize,
        pair_ids: I64s<'py>,
    ) -> PyResult<(f64, Grad<'py>)> {
        let s = slice(&scores, "predictions")?;
        let p = ids(&pair_ids, "user_item_id")?;
        let mut g = vec![0.0f32; s.len()];
        let kernel = &mut self.k;
        let v = py
            .detach(|| kernel.forward(s, width, &p, &mut g))
            .map_err(err)?;
        Ok((v, array(py, g)))
    }

    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("log_u", array(py, self.k.log_u().to_vec()))?;
        Ok(d)
    }

    fn load_state(&mut self, log_u: F32s<'_>) -> PyResult<()> {
        self.k.load_state(slice(&log_u, "log_u")?).map_err(err)
    }
}

/// NDCG (`NDCGLoss`: SONG, K-SONG prac / theo): `u` per pair, `λ_q`, `s_q` per query.
#[pyclass(module = "xrisk._native")]
struct NdcgKernel {
    k: k::ndcg::NdcgKernel,
}

#[pymethods]
impl NdcgKernel {
    #[new]
    #[pyo3(signature = (N, num_user, num_item, num_pos, gamma0=0.9, gamma1=0.9, eta0=0.01, margin=1.0, topk=-1, topk_version="theo", tau_1=0.01, tau_2=0.0001, sigmoid_alpha=2.0, surrogate_loss="squared_hinge"))]
    #[allow(clippy::too_many_arguments, non_snake_case)]
    fn new(
        N: usize,
        num_user: usize,
        num_item: usize,
        num_pos: usize,
        gamma0: f64,
        gamma1: f64,
        eta0: f64,
        margin: f64,
        topk: i64,
        topk_version: &str,
        tau_1: f64,
        tau_2: f64,
        sigmoid_alpha: f64,
        surrogate_loss: &str,
    ) -> PyResult<Self> {
        let version = match topk_version {
            "theo" => k::ndcg::TopkVersion::Theo,
            "prac" => k::ndcg::TopkVersion::Prac,
            other => {
                return Err(value_error(format!(
                    "topk_version = {other:?}: use 'theo' or 'prac'"
                )));
            }
        };
        let c = k::ndcg::NdcgConfig {
            gamma0,
            gamma1,
            eta0,
            margin,
            topk: (topk > 0).then_some(topk as usize),
            version,
            tau_1,
            tau_2,
            sigmoid_alpha,
            surrogate: surrogate(surrogate_loss, None)?,
            ..k::ndcg::NdcgConfig::new(N, num_user, num_item, num_pos)
        };
        Ok(Self {
            k: k::ndcg::NdcgKernel::new(c).map_err(err)?,
        })
    }

    /// Scores `B × width` (positives first), the batch's ratings (`B·num_pos`), user ids,
    /// pair ids (`B·num_pos`), positives per user and ideal DCG per user.
    #[allow(clippy::too_many_arguments)]
    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        scores: F32s<'py>,
        width: usize,
        ratings: F32s<'py>,
        user_id: I64s<'py>,
        user_item_id: I64s<'py>,
        num_pos_items: F32s<'py>,
        ideal_dcg: F32s<'py>,
    ) -> PyResult<(f64, Grad<'py>)> {
        let s = slice(&scores, "predictions")?;
        let users = ids(&user_id, "user_id")?;
        let pairs = ids(&user_item_id, "user_item_id")?;
        let batch = k::ndcg::RankingBatch {
            ratings: slice(&ratings, "rating")?,
            user_ids: &users,
            pair_ids: &pairs,
            num_pos_items: slice(&num_pos_items, "num_pos_items")?,
            ideal_dcg: slice(&ideal_dcg, "ideal_dcg")?,
            items_per_query: None,
        };
        let mut g = vec![0.0f32; s.len()];
        let kernel = &mut self.k;
        let v = py
            .detach(|| kernel.forward(s, width, &batch, &mut g))
            .map_err(err)?;
        Ok((v, array(py, g)))
    }

    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (u, lam, s) = self.k.state();
        let d = PyDict::new(py);
        d.set_item("u", array(py, u.to_vec()))?;
        d.set_item("lambda_q", array(py, lam.to_vec()))?;
        d.set_item("s_q", array(py, s.to_vec()))?;
        Ok(d)
    }

    fn load_state(&mut self, u: F32s<'_>, lambda_q: F32s<'_>, s_q: F32s<'_>) -> PyResult<()> {
        self.k
            .load_state(
                slice(&u, "u")?,
                slice(&lambda_q, "lambda_q")?,
                slice(&s_q, "s_q")?,
            )
            .map_err(err)
    }
}

/// The compositional entropic risk of extreme classification (`EntLossClassification`, SCENT /
/// SOX): `ν` per sample (log scale).
#[pyclass(module = "xrisk._native")]
struct EntropicKernel {
    k: k::entropic::EntropicKernel,
}

#[pymethods]
impl EntropicKernel {
    #[new]
    #[pyo3(signature = (data_size, alpha=10.0, gamma=0.9, is_scent=true, alpha_multiplier=1.0))]
    fn new(
        data_size: usize,
        alpha: f64,
        gamma: f64,
        is_scent: bool,
        alpha_multiplier: f64,
    ) -> PyResult<Self> {
        let c = k::entropic::EntConfig {
            alpha,
            gamma,
            estimator: if is_scent {
                k::entropic::EntEstimator::Scent
            } else {
                k::entropic::EntEstimator::Sox
            },
            alpha_multiplier,
            ..k::entropic::EntConfig::new(data_size)
        };
        Ok(Self {
            k: k::entropic::EntropicKernel::new(c).map_err(err)?,
        })
    }

    /// Logits `B × k` over the sampled classes (the true class first), one id per row.
    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        logits: F32s<'py>,
        k: usize,
        index: I64s<'py>,
    ) -> PyResult<(f64, Grad<'py>)> {
        let z = slice(&logits, "logits")?;
        let i = ids(&index, "index")?;
        let mut g = vec![0.0f32; z.len()];
        let kernel = &mut self.k;
        let v = py
            .detach(|| kernel.forward(z, k, &i, &mut g))
            .map_err(err)?;
        Ok((v, array(py, g)))
    }

    /// γ for `epoch` of `max_epoch` (LibAUC's `adjust_gamma`).
    fn adjust_gamma(&mut self, epoch: usize, max_epoch: usize) {
        self.k.adjust_gamma(epoch, max_epoch);
    }

    #[getter]
    fn gamma(&self) -> f64 {
        self.k.gamma()
    }

    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("nu", array(py, self.k.nu().to_vec()))?;
        d.set_item("gamma", self.k.gamma())?;
        Ok(d)
    }

    fn load_state(&mut self, nu: F32s<'_>, gamma: f64) -> PyResult<()> {
        self.k.set_gamma(gamma).map_err(err)?;
        self.k.load_state(slice(&nu, "nu")?).map_err(err)
    }
}

/// The γ schedule by LibAUC's name.
fn schedule(name: &str, decay_epochs: i64) -> PyResult<k::gcl::GammaSchedule> {
    match name {
        "constant" => Ok(k::gcl::GammaSchedule::Constant),
        "cosine" => Ok(k::gcl::GammaSchedule::Cosine {
            decay_epochs: usize::try_from(decay_epochs).map_err(|_| {
                value_error("gamma_decay_epochs must be ≥ 1 with gamma_schedule = 'cosine'")
            })?,
        }),
        other => Err(value_error(format!(
            "gamma_schedule = {other:?}: use 'constant' or 'cosine'"
        ))),
    }
}

/// Unimodal global contrastive loss (`GCLoss_v1`, SogCLR / iSogCLR) on the three `B × B`
/// similarity matrices of two views: `u` per sample, iSogCLR's `τ` and its gradient average.
#[pyclass(module = "xrisk._native")]
struct GclKernel {
    k: k::gcl::GclKernel,
}

#[pymethods]
impl GclKernel {
    #[new]
    #[pyo3(signature = (N, tau=0.1, gamma=0.9, eps=1e-8, enable_isogclr=false, tau_min=0.05, tau_max=0.7, rho=0.3, eta=0.01, beta=0.9, gamma_schedule="constant", gamma_decay_epochs=-1))]
    #[allow(clippy::too_many_arguments, non_snake_case)]
    fn new(
        N: usize,
        tau: f64,
        gamma: f64,
        eps: f64,
        enable_isogclr: bool,
        tau_min: f64,
        tau_max: f64,
        rho: f64,
        eta: f64,
        beta: f64,
        gamma_schedule: &str,
        gamma_decay_epochs: i64,
    ) -> PyResult<Self> {
        let c = k::gcl::GclConfig {
            tau,
            gamma,
            eps,
            isogclr: enable_isogclr.then_some(k::gcl::IsogclrConfig {
                tau_min,
                tau_max,
                rho,
                eta,
                beta,
            }),
            gamma_schedule: schedule(gamma_schedule, gamma_decay_epochs)?,
            ..k::gcl::GclConfig::new(N)
        };
        Ok(Self {
            k: k::gcl::GclKernel::new(c).map_err(err)?,
        })
    }

    /// `(value, ∂/∂ab, ∂/∂aa, ∂/∂bb)` of the `B × B` similarity matrices (row-major).
    #[allow(clippy::type_complexity)]
    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        ab: F32s<'py>,
        aa: F32s<'py>,
        bb: F32s<'py>,
        index: I64s<'py>,
    ) -> PyResult<(f64, Grad<'py>, Grad<'py>, Grad<'py>)> {
        let (sab, saa, sbb) = (slice(&ab, "ab")?, slice(&aa, "aa")?, slice(&bb, "bb")?);
        let i = ids(&index, "index")?;
        let n = sab.len();
        let (mut g1, mut g2, mut g3) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
        let kernel = &mut self.k;
        let v = py
            .detach(|| kernel.forward(sab, saa, sbb, &i, &mut g1, &mut g2, &mut g3))
            .map_err(err)?;
        Ok((v, array(py, g1), array(py, g2), array(py, g3)))
    }

    /// γ for `epoch` by the schedule (LibAUC's `adjust_gamma`).
    fn adjust_gamma(&mut self, epoch: usize) {
        self.k.adjust_gamma(epoch);
    }

    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("u", array(py, self.k.u().to_vec()))?;
        let (tau, grad_tau) = self.k.temperatures().unwrap_or((&[], &[]));
        d.set_item("tau", array(py, tau.to_vec()))?;
        d.set_item("grad_tau", array(py, grad_tau.to_vec()))?;
        d.set_item("gamma", self.k.gamma())?;
        Ok(d)
    }

    fn load_state(
        &mut self,
        u: F32s<'_>,
        tau: F32s<'_>,
        grad_tau: F32s<'_>,
        gamma: f64,
    ) -> PyResult<()> {
        self.k
            .load_state(
                slice(&u, "u")?,
                slice(&tau, "tau")?,
                slice(&grad_tau, "grad_tau")?,
                gamma,
            )
            .map_err(err)
    }
}

/// Bimodal global contrastive loss (`GCLoss_v2`) on `S = I·Tᵀ`: per side `u`, `b` per pair and
/// iSogCLR's `τ` with its gradient average.
#[pyclass(module = "xrisk._native")]
struct GclBimodalKernel {
    k: k::gcl_bimodal::GclBimodalKernel,
}

#[pymethods]
impl GclBimodalKernel {
    #[new]
    #[pyo3(signature = (N, tau=0.01, gamma=0.9, individual=false, tau_min=0.005, tau_max=0.05, rho=6.0, eta=0.01, beta=0.9, gamma_schedule="constant", gamma_decay_epochs=-1))]
    #[allow(clippy::too_many_arguments, non_snake_case)]
    fn new(
        N: usize,
        tau: f64,
        gamma: f64,
        individual: bool,
        tau_min: f64,
        tau_max: f64,
        rho: f64,
        eta: f64,
        beta: f64,
        gamma_schedule: &str,
        gamma_decay_epochs: i64,
    ) -> PyResult<Self> {
        let c = k::gcl_bimodal::GclBimodalConfig {
            tau,
            gamma,
            isogclr: individual.then_some(k::gcl::IsogclrConfig {
                tau_min,
                tau_max,
                rho,
                eta,
                beta,
            }),
            gamma_schedule: schedule(gamma_schedule, gamma_decay_epochs)?,
            ..k::gcl_bimodal::GclBimodalConfig::new(N)
        };
        Ok(Self {
            k: k::gcl_bimodal::GclBimodalKernel::new(c).map_err(err)?,
        })
    }

    /// `(value, ∂/∂S)` for `S` (`B × B` row-major) and distinct pair ids, with the configured
    /// temperatures (a global constant or iSogCLR's per-sample ones).
    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        s: F32s<'py>,
        index: I64s<'py>,
    ) -> PyResult<(f64, Grad<'py>)> {
        let sim = slice(&s, "similarity")?;
        let i = ids(&index, "index")?;
        let mut g = vec![0.0f32; sim.len()];
        let kernel = &mut self.k;
        let o = py
            .detach(|| kernel.forward(sim, &i, k::gcl_bimodal::Temperatures::Config, &mut g, None))
            .map_err(err)?;
        Ok((o.value, array(py, g)))
    }

    fn adjust_gamma(&mut self, epoch: usize) {
        self.k.adjust_gamma(epoch);
    }

    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let [(ui, bi), (ut, bt)] = self.k.state();
        d.set_item("u_image", array(py, ui.to_vec()))?;
        d.set_item("b_image", array(py, bi.to_vec()))?;
        d.set_item("u_text", array(py, ut.to_vec()))?;
        d.set_item("b_text", array(py, bt.to_vec()))?;
        let temps = self.k.temperatures();
        let (ti, gi, tt, gt) = match temps {
            Some([(ti, gi), (tt, gt)]) => (ti.to_vec(), gi.to_vec(), tt.to_vec(), gt.to_vec()),
            None => (Vec::new(), Vec::new(), Vec::new(), Vec::new()),
        };
        d.set_item("tau_image", array(py, ti))?;
        d.set_item("grad_tau_image", array(py, gi))?;
        d.set_item("tau_text", array(py, tt))?;
        d.set_item("grad_tau_text", array(py, gt))?;
        d.set_item("gamma", self.k.gamma())?;
        Ok(d)
    }

    #[allow(clippy::too_many_arguments)]
    fn load_state(
        &mut self,
        u_image: F32s<'_>,
        b_image: F32s<'_>,
        tau_image: F32s<'_>,
        grad_tau_image: F32s<'_>,
        u_text: F32s<'_>,
        b_text: F32s<'_>,
        tau_text: F32s<'_>,
        grad_tau_text: F32s<'_>,
        gamma: f64,
    ) -> PyResult<()> {
        self.k
            .load_side(
                0,
                slice(&u_image, "u_image")?,
                slice(&b_image, "b_image")?,
                slice(&tau_image, "tau_image")?,
                slice(&grad_tau_image, "grad_tau_image")?,
            )
            .map_err(err)?;
        self.k
            .load_side(
                1,
                slice(&u_text, "u_text")?,
                slice(&b_text, "b_text")?,
                slice(&tau_text, "tau_text")?,
                slice(&grad_tau_text, "grad_tau_text")?,
            )
            .map_err(err)?;
        self.k.set_gamma(gamma);
        Ok(())
    }
}

/// Registers the loss kernels.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(aucm, m)?)?;
    m.add_function(wrap_pyfunction!(bce_with_logits, m)?)?;
    m.add_function(wrap_pyfunction!(focal, m)?)?;
    m.add_class::<CompositionalKernel>()?;
    m.add_class::<ApKernel>()?;
    m.add_class::<PAucCvarKernel>()?;
    m.add_class::<PAucDroKernel>()?;
    m.add_class::<TpAucKlKernel>()?;
    m.add_class::<TpAucCvarKernel>()?;
    m.add_class::<PairwiseKernel>()?;
    m.add_class::<MultiLabelAucmKernel>()?;
    m.add_class::<MapKernel>()?;
    m.add_class::<MultiLabelPAucKernel>()?;
    m.add_class::<MidamKernel>()?;
    m.add_class::<ListwiseCeKernel>()?;
    m.add_class::<NdcgKernel>()?;
    m.add_class::<EntropicKernel>()?;
    m.add_class::<GclKernel>()?;
    m.add_class::<GclBimodalKernel>()?;
    Ok(())
}
