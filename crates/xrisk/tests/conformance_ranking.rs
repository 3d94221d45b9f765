//! Conformance of the ranking losses with LibAUC 2.0.1 (`conformance/vectors/losses_ranking.json`,
//! written by `conformance/gen_losses_ranking.py`): for every case, each call of the sequence
//! must reproduce the loss value, the gradient w.r.t. the `[B, P+Ng]` scores and the whole state
//! after the call (`u`; for NDCG also `λ_q` and `s_q`). Tolerance: |got − peer| ≤
//! 1e-4·|peer| + 1e-6 against LibAUC's f32 run (the NDCG weights divide by squared logarithms,
//! which amplifies rounding more than the AUC losses do), and against LibAUC's code rerun in
//! float64 (`conformance/vectors/f64/`) 2e-6·|ref| + 1e-7, 5e-5·|ref| + 1e-7 for K-SONG (the
//! same checks as the kernels' own test, `crates/xrisk-kernels/tests/conformance_ranking.rs`;
//! where LibAUC's f32 K-SONG-theo value is itself off its float64 value by more than the f32
//! tolerance, the float64 value decides). ListwiseCE's reference is LibAUC without its
//! batch-wide exponent shift (the case's note; docs/libauc-differences.md).

#[allow(dead_code)]
mod common;

use common::{Compat, floats, ids, load, load_f64};

use burn::tensor::{Device, Tensor, TensorData};
use xrisk::loss::{
    ListwiseCeConfig, ListwiseCeLoss, NdcgConfig, NdcgLoss, RankingBatch, TopkVersion,
};

#[test]
fn ranking_losses_match_libauc() {
    let doc = load("losses_ranking.json");
    let dim = |k: &str| doc[k].as_u64().expect("size") as usize;
    let (n_pairs, n_users, n_items) = (dim("n_pairs"), dim("n_users"), dim("n_items"));
    let (p, ng, b) = (dim("num_pos"), dim("num_neg"), dim("batch"));
    let f64_doc = load_f64("losses_ranking.json");
    let device = Device::flex().autodiff();
    let mut check = Compat::new(1e-4, 2e-6, 1e-7);
    let mut kinds = std::collections::BTreeMap::new();
    for (ci, case) in doc["cases"].as_array().expect("cases").iter().enumerate() {
        let kind = case["kind"].as_str().expect("kind");
        *kinds.entry(kind.to_string()).or_insert(0) += 1;
        check.f64.rel = if kind.starts_with("ksong") {
            5e-5
        } else {
            2e-6
        };
        let mut listwise = (kind == "listwise_ce").then(|| {
            ListwiseCeLoss::new(
                ListwiseCeConfig {
                    gamma: case["gamma"].as_f64().unwrap(),
                    ..ListwiseCeConfig::new(n_pairs, p)
                },
                &device,
            )
            .unwrap()
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
            .unwrap()
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
            let w64 = f64_doc.as_ref().map(|r| &r["cases"][ci]["calls"][k]);
            check.one(
                format!("{what} loss"),
                loss.clone().into_scalar::<f32>() as f64,
                call["loss"].as_f64().unwrap(),
                w64.and_then(|w| w["loss"].as_f64()),
            );
            let grads = loss.backward();
            let g = scores.grad(&grads).expect("gradient");
            let g: Vec<f32> = g.into_data().convert::<f32>().try_to_vec().unwrap();
            check.all(
                &format!("{what} grad"),
                &g,
                &call["grad"],
                w64.map(|w| &w["grad"]),
            );
            let mut state: Vec<(&str, Vec<f32>)> = Vec::new();
            if let Some(l) = &listwise {
                state.push(("u", l.state()));
            }
            if let Some(l) = &ndcg {
                let (u, lam, s) = l.state();
                state.push(("u", u));
                state.push(("lambda_q", lam));
                state.push(("s_q", s));
            }
            for (key, v) in &state {
                check.all(
                    &format!("{what} {key}"),
                    v,
                    &call[*key],
                    w64.map(|w| &w[*key]),
                );
            }
        }
    }
    check.assert_clean();
    for kind in ["listwise_ce", "song", "ksong_prac", "ksong_theo"] {
        assert!(kinds.contains_key(kind), "no {kind} case");
    }
    assert!(check.f32.compared > 1000, "{}", check.f32.compared);
}
