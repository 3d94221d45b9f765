//! Saving and restoring training state exactly, for checkpoints and resume: every float
//! tensor of a module (weights and running statistics) in visit order, the optimizers'
//! per-parameter buffers, the losses' state tables and scalars — into a
//! [`xrisk_data::snapshot::Snapshot`].
//!
//! Parameter ids are not stable across processes (a fresh model gets fresh ids), so the
//! optimizer state is stored by the parameter's position in the visit order of the model
//! followed by the loss's own parameters, and mapped back to the ids of the restored model.
//!
//! ```
//! use burn::tensor::Device;
//! use xrisk::loss::{ApConfig, ApLoss};
//! use xrisk::model::Mlp;
//! use xrisk::persist::{Persist, restore_module, save_module};
//! use xrisk_data::snapshot::Snapshot;
//!
//! let device = Device::flex().autodiff();
//! device.seed(1);
//! let (model, loss) = (Mlp::new(4, &[8], &device), ApLoss::new(ApConfig::new(100), &device)?);
//! let mut s = Snapshot::new();
//! save_module(&model, "model", &mut s);
//! loss.save("loss", &mut s);
//!
//! device.seed(2); // a fresh model starts elsewhere…
//! let fresh = Mlp::new(4, &[8], &device);
//! let restored = restore_module(fresh, "model", &s)?; // …and takes the saved values
//! let mut again = Snapshot::new();
//! save_module(&restored, "model", &mut again);
//! loss.save("loss", &mut again);
//! assert_eq!(again, s);
//! # Ok::<(), xrisk::XriskError>(())
//! ```

use crate::error::{Result, XriskError};
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::{Tensor, TensorData};
use xrisk_data::snapshot::Snapshot;

/// A checkpoint error with the entry it concerns.
pub(crate) fn error(message: impl Into<String>) -> XriskError {
    XriskError::Checkpoint(message.into())
}

/// Converts a data-layer error (a missing entry) into a checkpoint error.
pub(crate) fn entry<T>(r: xrisk_data::Result<T>) -> Result<T> {
    r.map_err(|e| error(e.to_string()))
}

/// The ids of every float tensor of `module`, in visit order.
pub fn param_ids<M: Module>(module: &M) -> Vec<ParamId> {
    struct Ids(Vec<ParamId>);
    impl ModuleVisitor for Ids {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.id);
        }
    }
    let mut v = Ids(Vec::new());
    module.visit(&mut v);
    v.0
}

/// Stores every float tensor of `module` as `{prefix}.{i}` (visit order) and their number
/// as `{prefix}.count`.
pub fn save_module<M: Module>(module: &M, prefix: &str, s: &mut Snapshot) {
    struct Save<'a> {
        prefix: &'a str,
        s: &'a mut Snapshot,
        i: usize,
    }
    impl ModuleVisitor for Save<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let v = param
                .val()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap_or_default();
            self.s.put_array(format!("{}.{}", self.prefix, self.i), v);
            self.i += 1;
        }
    }
    let mut v = Save { prefix, s, i: 0 };
    module.visit(&mut v);
    let n = v.i;
    s.put_scalar(format!("{prefix}.count"), n as f64);
}

/// Replaces every float tensor of `module` by the values saved with [`save_module`]; the
/// tensors keep `module`'s shapes, devices, ids and gradient flags.
pub fn restore_module<M: Module>(module: M, prefix: &str, s: &Snapshot) -> Result<M> {
    struct Restore<'a> {
        prefix: &'a str,
        s: &'a Snapshot,
        i: usize,
        err: Option<XriskError>,
    }
    impl ModuleMapper for Restore<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let name = format!("{}.{}", self.prefix, self.i);
            self.i += 1;
            if self.err.is_some() {
                return param;
            }
            let values = match self.s.array(&name) {
                Ok(v) => v,
                Err(e) => {
                    self.err = Some(error(e.to_string()));
                    return param;
                }
            };
            let (id, tensor, mapper) = param.consume();
            let shape = tensor.shape();
            if values.len() != shape.num_elements() {
                self.err = Some(error(format!(
                    "`{name}` holds {} values but the model's tensor has shape {:?}: the checkpoint belongs to another model",
                    values.len(),
                    shape.dims::<D>()
                )));
                return Param::from_mapped_value(id, tensor, mapper);
            }
            let require_grad = tensor.is_require_grad();
            let mut t: Tensor<D> =
                Tensor::from_data(TensorData::new(values.to_vec(), shape), &tensor.device());
            if require_grad {
                t = t.require_grad();
            }
            Param::from_mapped_value(id, t, mapper)
        }
    }
    let expected = entry(s.count(&format!("{prefix}.count")))? as usize;
    let mut m = Restore {
        prefix,
        s,
        i: 0,
        err: None,
    };
    let module = module.map(&mut m);
    if let Some(e) = m.err {
        return Err(e);
    }
    if m.i != expected {
        return Err(error(format!(
            "`{prefix}` holds {expected} tensors but the model has {}: the checkpoint belongs to another model",
            m.i
        )));
    }
    Ok(module)
}

/// State that a checkpoint must carry to resume a run exactly.
pub trait Persist {
    /// Stores the state under names starting with `prefix`.
    fn save(&self, prefix: &str, s: &mut Snapshot);
    /// Restores what [`Persist::save`] stored under `prefix`.
    fn restore(&mut self, prefix: &str, s: &Snapshot) -> Result<()>;
}
