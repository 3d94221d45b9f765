//! X-risk losses (spec `libauc_spec.md` §2). Each loss takes the batch's scores (with
//! gradient), its 0/1 labels and its sample ids, updates its per-sample state, and returns a
//! scalar whose gradient is the stochastic compositional gradient — not the objective value.

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
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Batch positions of the positives and negatives, after validating the input.
pub(crate) struct Split {
    pub pos: Vec<usize>,
    pub neg: Vec<usize>,
}

/// Checks lengths and labels; requires the classes a loss needs.
pub(crate) fn split(
    loss: &'static str,
    n_scores: usize,
    labels: &[f32],
    ids: Option<&[usize]>,
    need_neg: bool,
) -> Result<Split> {
    let n_ids = ids.map_or(labels.len(), <[usize]>::len);
    if n_scores != labels.len() || n_ids != labels.len() {
        return Err(XriskError::LengthMismatch {
            scores: n_scores,
            labels: labels.len(),
            ids: n_ids,
        });
    }
    if let Some(index) = labels.iter().position(|&l| l != 0.0 && l != 1.0) {
        return Err(XriskError::InvalidLabel {
            index,
            value: labels[index],
        });
    }
    let pos: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == 1.0).collect();
    let neg: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == 0.0).collect();
    let missing = |class| XriskError::MissingClass {
        loss,
        class,
        positives: pos.len(),
        batch: labels.len(),
    };
    if pos.is_empty() {
        return Err(missing("positive"));
    }
    if need_neg && neg.is_empty() {
        return Err(missing("negative"));
    }
    Ok(Split { pos, neg })
}

/// Errors when a score is NaN or infinite (one host sync per call).
pub(crate) fn finite<const D: usize>(loss: &'static str, h: &Tensor<D>) -> Result<()> {
    if h.clone().is_finite().all().into_scalar::<bool>() {
        Ok(())
    } else {
        Err(XriskError::NonFinite { loss })
    }
}

/// A validated batch of a positive–negative pairwise loss: the surrogate matrix
/// `L_ij = ℓ(m, h_i − h_j)` over the batch's positives `i` and negatives `j` (with gradient),
/// and the sample ids of the positives (empty without ids).
pub(crate) struct Pairs {
    pub l: Tensor<2>,
    pub pos_ids: Vec<usize>,
    pub n_neg: usize,
}

/// Validates a batch (lengths, labels, both classes, finite scores, ids within `table`) and
/// forms its positive–negative surrogate matrix.
pub(crate) fn pairs(
    loss: &'static str,
    h: Tensor<1>,
    labels: &[f32],
    ids: Option<(&[usize], &crate::state::StateTable)>,
    surrogate: crate::surrogate::Surrogate,
    margin: f64,
) -> Result<Pairs> {
    let s = split(loss, h.dims()[0], labels, ids.map(|(i, _)| i), true)?;
    finite(loss, &h)?;
    if let Some((i, table)) = ids {
        table.check_ids(i)?;
    }
    let device = h.device();
    let hp = h.clone().select(0, index(&s.pos, &device));
    let hn = h.select(0, index(&s.neg, &device));
    let l = surrogate.apply(margin, hp.unsqueeze_dim::<2>(1) - hn.unsqueeze_dim::<2>(0));
    let pos_ids = ids
        .map(|(i, _)| s.pos.iter().map(|&p| i[p]).collect())
        .unwrap_or_default();
    Ok(Pairs {
        l,
        pos_ids,
        n_neg: s.neg.len(),
    })
}

/// Validates the `[B, L]` scores of a ranking loss whose first `num_pos` columns are the
/// sampled relevant items, with one relevant-pair id per positive column (`B·num_pos` ids).
pub(crate) fn check_ranking_scores(
    loss: &'static str,
    scores: &Tensor<2>,
    num_pos: usize,
    pair_ids: &[usize],
) -> Result<()> {
    let [b, l] = scores.dims();
    if num_pos == 0 || num_pos > l {
        return Err(XriskError::InvalidConfig {
            name: "num_pos",
            value: num_pos as f64,
            reason: "must be at least 1 and at most the number of score columns",
        });
    }
    if pair_ids.len() != b * num_pos {
        return Err(XriskError::LengthMismatch {
            scores: b * num_pos,
            labels: b * num_pos,
            ids: pair_ids.len(),
        });
    }
    finite(loss, scores)
}

/// A 1-D index tensor of positions.
pub(crate) fn index(pos: &[usize], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(
        TensorData::new(
            pos.iter().map(|&p| p as i64).collect::<Vec<_>>(),
            [pos.len()],
        ),
        device,
    )
}

/// A 1-D float tensor of host values.
pub(crate) fn floats(v: &[f32], device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

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
                    .forward(h.clone(), &y, &ids)
                    .err(),
                PAucDroLoss::new(PAucDroConfig::new(4), &d)
                    .forward(h.clone(), &y, &ids)
                    .err(),
                PAucCvarLoss::new(PAucCvarConfig::new(4), &d)
                    .forward(h.clone(), &y, &ids)
                    .err(),
                TpAucKlLoss::new(TpAucKlConfig::new(4), &d)
                    .forward(h.clone(), &y, &ids)
                    .err(),
                TpAucCvarLoss::new(TpAucCvarConfig::new(4), &d)
                    .forward(h.clone(), &y, &ids)
                    .err(),
                PairwiseAucLoss::default().forward(h.clone(), &y).err(),
                CrossEntropyLoss.forward(h.clone(), &y).err(),
                FocalLoss::default().forward(h.clone(), &y).err(),
                CompositionalAucLoss::new(AucmConfig::default(), 1, &d)
                    .forward(h.clone(), &y)
                    .err(),
                MultiLabelAucmLoss::new(AucmConfig::default(), 1, &d)
                    .forward(h.clone().unsqueeze_dim::<2>(1), &y, &[])
                    .err(),
                MapLoss::new(MapConfig::new(4, 1), &d)
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
}
