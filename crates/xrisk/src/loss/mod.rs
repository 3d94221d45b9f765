//! X-risk losses on burn tensors (spec `libauc_spec.md` §2): thin adapters over the kernels of
//! [`xrisk_kernels`], which hold the math, the per-sample state and the checks. Each loss takes
//! the batch's outputs with gradient, copies them to the host, runs its kernel (value, gradient
//! w.r.t. the outputs, state update) and returns a `[1]` tensor whose value is the kernel's and
//! whose gradient w.r.t. the outputs is the kernel's: `value + Σ (x − sg x)·∂value/∂x` (for AUCM
//! also the `a`, `b` terms; for the contrastive losses `x` is the similarity matrix built here).
//! The returned scalar is the stochastic compositional surrogate, not the objective value.

mod ap;
mod aucm;
mod ce;
mod compositional;
mod entropic;
mod focal;
mod gcl;
mod gcl_bimodal;
mod infonce;
mod listwise_ce;
mod map;
mod midam;
mod multilabel_aucm;
mod multilabel_pauc;
mod ndcg;
mod pairwise;
mod pauc_cvar;
mod pauc_dro;
mod tpauc_cvar;
mod tpauc_kl;

pub use ap::{ApConfig, ApLoss};
pub use aucm::{AucmConfig, AucmLoss, AucmParams, AucmVersion};
pub use ce::CrossEntropyLoss;
pub use compositional::CompositionalAucLoss;
pub use entropic::{EntConfig, EntEstimator, EntLossClassification};
pub use focal::FocalLoss;
pub use gcl::{GammaSchedule, GclConfig, GclLoss, IsogclrConfig};
pub use gcl_bimodal::{GclBimodalConfig, GclBimodalLoss};
pub use infonce::InfoNceLoss;
pub use listwise_ce::{ListwiseCeConfig, ListwiseCeLoss};
pub use map::{MapConfig, MapLoss};
pub use midam::{MidamConfig, MidamInput, MidamLoss, MidamPooling};
pub use multilabel_aucm::{MultiLabelAucmLoss, MultiLabelAucmParams};
pub use multilabel_pauc::{MultiLabelPAucLoss, PAucBackend};
pub use ndcg::{InnerSample, NdcgConfig, NdcgLoss, RankingBatch, TopkVersion};
pub use pairwise::PairwiseAucLoss;
pub use pauc_cvar::{PAucCvarConfig, PAucCvarLoss};
pub use pauc_dro::{PAucDroConfig, PAucDroLoss};
pub use tpauc_cvar::{TpAucCvarConfig, TpAucCvarLoss, TpAucCvarState};
pub use tpauc_kl::{TpAucKlConfig, TpAucKlLoss};

use crate::error::{Result, XriskError};
use burn::tensor::{Tensor, TensorData};
use xrisk_data::snapshot::Snapshot;

/// The values of `t` on the host, as f32 (one device sync).
pub(crate) fn host<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.clone()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default()
}

/// `Σ (x − sg x)·grad`: zero in value, `grad` as its gradient w.r.t. `x` (same shape).
pub(crate) fn gradient_of<const D: usize>(x: Tensor<D>, grad: Vec<f32>) -> Tensor<1> {
    let g = Tensor::<D>::from_data(TensorData::new(grad, x.shape()), &x.device());
    ((x.clone() - x.detach()) * g).sum()
}

/// A `[1]` tensor equal to `value` whose gradient w.r.t. `x` is `grad`.
pub(crate) fn inject<const D: usize>(x: Tensor<D>, grad: Vec<f32>, value: f64) -> Tensor<1> {
    gradient_of(x, grad) + value
}

/// Stores the state table `values` as `{prefix}.{name}` (the names of the tensor tables the
/// losses kept before the kernels, so old checkpoints still load).
pub(crate) fn save_table(s: &mut Snapshot, prefix: &str, name: &str, values: &[f32]) {
    s.put_array(format!("{prefix}.{name}"), values.to_vec());
}

/// The table `{prefix}.{name}` of a checkpoint.
pub(crate) fn table<'a>(s: &'a Snapshot, prefix: &str, name: &str) -> Result<&'a [f32]> {
    crate::persist::entry(s.array(&format!("{prefix}.{name}")))
}

/// A kernel's refusal of a checkpoint's state, named by the checkpoint key (`{prefix}.{name}`),
/// so the user learns which table of which file does not fit.
pub(crate) fn restore_error(
    prefix: &str,
) -> impl Fn(xrisk_kernels::KernelError) -> XriskError + '_ {
    move |e| match e {
        xrisk_kernels::KernelError::StateLength { name, got, want } => {
            XriskError::Checkpoint(format!(
                "state table `{prefix}.{name}` holds {got} entries but the loss has {want}: the checkpoint belongs to other data or another configuration"
            ))
        }
        other => other.into(),
    }
}

/// The scalar `{prefix}.{name}` of a checkpoint.
pub(crate) fn scalar(s: &Snapshot, prefix: &str, name: &str) -> Result<f64> {
    crate::persist::entry(s.scalar(&format!("{prefix}.{name}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::XriskError;
    use burn::tensor::Device;

    pub(crate) fn floats(v: &[f32], device: &Device) -> Tensor<1> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), device)
    }

    #[test]
    fn every_loss_rejects_nan_and_inf_scores() {
        let d = Device::flex();
        let y = [1.0, 0.0, 1.0, 0.0];
        let ids = [0, 1, 2, 3];
        for bad in [f32::NAN, f32::INFINITY] {
            let h = floats(&[0.5, bad, 0.2, 0.1], &d);
            let errs = [
                AucmLoss::new(AucmConfig::default(), &d)
                    .forward(h.clone(), &y)
                    .err(),
                ApLoss::new(ApConfig::new(4), &d)
                    .unwrap()
                    .forward(h.clone(), &y, &ids)
                    .err(),
                PAucDroLoss::new(PAucDroConfig::new(4), &d)
                    .unwrap()
                    .forward(h.clone(), &y, &ids)
                    .err(),
                PAucCvarLoss::new(PAucCvarConfig::new(4), &d)
                    .unwrap()
                    .forward(h.clone(), &y, &ids)
                    .err(),
                TpAucKlLoss::new(TpAucKlConfig::new(4), &d)
                    .unwrap()
                    .forward(h.clone(), &y, &ids)
                    .err(),
                TpAucCvarLoss::new(TpAucCvarConfig::new(4), &d)
                    .unwrap()
                    .forward(h.clone(), &y, &ids)
                    .err(),
                PairwiseAucLoss::default().forward(h.clone(), &y).err(),
                CrossEntropyLoss.forward(h.clone(), &y).err(),
                FocalLoss::default().forward(h.clone(), &y).err(),
                CompositionalAucLoss::new(AucmConfig::default(), 1, &d)
                    .unwrap()
                    .forward(h.clone(), &y)
                    .err(),
                MultiLabelAucmLoss::new(AucmConfig::default(), 1, &d)
                    .unwrap()
                    .forward(h.clone().unsqueeze_dim::<2>(1), &y, &[])
                    .err(),
                MapLoss::new(MapConfig::new(4, 1), &d)
                    .unwrap()
                    .forward(h.clone().unsqueeze_dim::<2>(1), &y, &ids, &[])
                    .err(),
            ];
            for (i, e) in errs.iter().enumerate() {
                assert!(
                    matches!(e, Some(XriskError::NonFinite { .. })),
                    "loss {i}: {e:?}"
                );
            }
        }
    }

    /// The injected tensor has the kernel's value exactly and the kernel's gradient.
    #[test]
    fn inject_carries_the_value_and_the_gradient() {
        let d = Device::flex().autodiff();
        let x = floats(&[0.3, -1.5, 2.0], &d).require_grad();
        let v = inject(x.clone(), vec![0.25, -0.5, 4.0], 0.123456789);
        assert_eq!(v.clone().into_scalar::<f32>(), 0.123456789f64 as f32);
        let g = x.grad(&v.backward()).unwrap();
        assert_eq!(host(&g), vec![0.25, -0.5, 4.0]);
    }
}
