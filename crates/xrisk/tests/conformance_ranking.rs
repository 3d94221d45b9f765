//! Conformance of the ranking losses with LibAUC 2.0.1 (`conformance/vectors/losses_ranking.json`,
//! written by `conformance/gen_losses_ranking.py`): for every case, each call of the sequence
//! must reproduce the loss value, the gradient w.r.t. the `[B, P+Ng]` scores and the whole state
//! after the call (`u`; for NDCG also `λ_q` and `s_q`). Tolerance: |got − peer| ≤
//! 1e-4·|peer| + 1e-6 (f32; the NDCG weights divide by squared logarithms, which amplifies
//! rounding more than the AUC losses do). ListwiseCE's reference is LibAUC without its
//! batch-wide exponent shift (the case's note; docs/libauc-differences.md).

#[allow(dead_code)]
mod common;

use common::{Checker, floats, ids};

use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;
use xrisk::loss::{
    ListwiseCeConfig, ListwiseCeLoss, NdcgConfig, NdcgLoss, RankingBatch, TopkVersion,
};

#[test]
fn ranking_losses_match_libauc() {
    let doc: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../conformance/vectors/losses_ranking.json"
    )))
    .expect("vectors");
    let dim = |k: &str| doc[k].as_u64().expect("size") as usize;
    let (n_pairs, n_users, n_items) = (dim("n_pairs"), dim("n_users"), dim("n_items"));
    let (p, ng, b) = (dim("num_pos"), dim("num_neg"), dim("batch"));
    let device = Device::flex().autodiff();
    let mut check = Checker::new(1e-4);
    let mut kinds = std::collections::BTreeMap::new();
    for (ci, case) in doc["cases"].as_array().expect("cases").iter().enumerate() {
        let kind = case["kind"].as_str().expect("kind");
        *kinds.entry(kind.to_string()).or_insert(0) += 1;
        let mut listwise = (kind == "listwise_ce").then(|| {
            ListwiseCeLoss::new(
                ListwiseCeConfig {
                    gamma: case["gamma"].as_f64().unwrap(),
                    ..ListwiseCeConfig::new(n_pairs, p)
                },
                &device,
            )
        });
        let mut ndcg = (kind != "listwise_ce").then(|| {
            let topk = case["topk"].as_i64().unwrap();
            NdcgLoss::new(
                NdcgConfig {
                    gamma0: case["gamma0"].as_f64().unwrap(),
                    topk: (topk > 0).then_some(topk as usize),
                    version: if kind == "ksong_prac" {
                        TopkVersion::Prac
                    } else {
                        TopkVersion::Theo
                    },
                    ..NdcgConfig::new(n_pairs, n_users, n_items, p)
                },
                &device,
            )
        });
        for (k, call) in case["calls"].as_array().unwrap().iter().enumerate() {
            let what = format!("case {ci} ({kind}) call {k}");
            let scores = Tensor::<2>::from_data(
                TensorData::new(floats(&call["scores"]), [b, p + ng]),
                &device,
            )
            .require_grad();
            let all_ids = ids(&call["user_item_id"]);
            let pair_ids: Vec<usize> = all_ids
                .chunks(p + ng)
                .flat_map(|row| row[..p].to_vec())
                .collect();
            let ratings: Vec<f32> = floats(&call["rating"])
                .chunks(p + ng)
                .flat_map(|row| row[..p].to_vec())
                .collect();
            let loss = if let Some(l) = listwise.as_mut() {
                l.forward(scores.clone(), &pair_ids)
                    .expect("listwise forward")
            } else {
                let batch = RankingBatch {
                    ratings: &ratings,
                    user_ids: &ids(&call["user_id"]),
                    pair_ids: &pair_ids,
                    num_pos_items: &floats(&call["num_pos_items"]),
                    ideal_dcg: &floats(&call["ideal_dcg"]),
                    items_per_query: None,
                };
                ndcg.as_mut()
                    .unwrap()
                    .forward(scores.clone(), &batch)
                    .expect("ndcg forward")
            };
            let value = loss.clone().into_scalar::<f32>();
            check.all(
                &format!("{what} loss"),
                &[value],
                &[call["loss"].as_f64().unwrap() as f32],
            );
            let grads = loss.backward();
            let g = scores.grad(&grads).expect("gradient");
            let g: Vec<f32> = g.into_data().convert::<f32>().try_to_vec().unwrap();
            check.all(&format!("{what} grad"), &g, &floats(&call["grad"]));
            if let Some(l) = &listwise {
                check.all(&format!("{what} u"), &l.state(), &floats(&call["u"]));
            }
            if let Some(l) = &ndcg {
                let (u, lam, s) = l.state();
                check.all(&format!("{what} u"), &u, &floats(&call["u"]));
                check.all(
                    &format!("{what} lambda_q"),
                    &lam,
                    &floats(&call["lambda_q"]),
                );
                check.all(&format!("{what} s_q"), &s, &floats(&call["s_q"]));
            }
        }
    }
    check.assert_clean();
    for kind in ["listwise_ce", "song", "ksong_prac", "ksong_theo"] {
        assert!(kinds.contains_key(kind), "no {kind} case");
    }
    assert!(check.compared > 1000, "{}", check.compared);
}
