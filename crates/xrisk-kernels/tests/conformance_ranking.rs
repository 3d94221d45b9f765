//! Conformance of the ranking kernels (ListwiseCE, SONG, K-SONG prac and theo) with LibAUC
//! 2.0.1, with no tensor framework: `conformance/vectors/losses_ranking.json`
//! (`conformance/gen_losses_ranking.py`). Every call must reproduce the value, the gradient
//! w.r.t. the `[B, P+Ng]` scores and the whole state after the call (`u`; for NDCG also `λ_q`
//! and `s_q`). Tolerance against LibAUC's f32 run: 1e-4·|peer| + 1e-6 (as the burn losses'
//! test: NDCG's weights divide by squared logarithms); against the float64 reference:
//! 2e-6·|ref| + 1e-7, and 5e-5·|ref| + 1e-7 for K-SONG (its thresholds `λ_q` are kept in f32
//! tables, and `σ((h − λ)/τ₁)` with τ₁ = 0.01 amplifies their rounding, 2⁻²⁴·|λ|, a hundredfold). ListwiseCE's reference is LibAUC without its batch-wide exponent shift
//! (the case's note; docs/libauc-differences.md).

#[path = "../../../conformance/rust/vectors.rs"]
#[allow(dead_code)]
mod vectors;

use vectors::{Compat, floats, ids, load, load_f64};
use xrisk_kernels::listwise_ce::{ListwiseCeConfig, ListwiseCeKernel};
use xrisk_kernels::ndcg::{NdcgConfig, NdcgKernel, RankingBatch, TopkVersion};

#[test]
fn ranking_kernels_match_libauc() {
    let doc = load("losses_ranking.json");
    let f64_doc = load_f64("losses_ranking.json");
    let dim = |k: &str| doc[k].as_u64().expect("size") as usize;
    let (n_pairs, n_users, n_items) = (dim("n_pairs"), dim("n_users"), dim("n_items"));
    let (p, ng) = (dim("num_pos"), dim("num_neg"));
    let width = p + ng;
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
            ListwiseCeKernel::new(ListwiseCeConfig {
                gamma: case["gamma"].as_f64().unwrap(),
                ..ListwiseCeConfig::new(n_pairs, p)
            })
            .unwrap()
        });
        let mut ndcg = (kind != "listwise_ce").then(|| {
            let topk = case["topk"].as_i64().unwrap();
            NdcgKernel::new(NdcgConfig {
                gamma0: case["gamma0"].as_f64().unwrap(),
                topk: (topk > 0).then_some(topk as usize),
                version: if kind == "ksong_prac" {
                    TopkVersion::Prac
                } else {
                    TopkVersion::Theo
                },
                ..NdcgConfig::new(n_pairs, n_users, n_items, p)
            })
            .unwrap()
        });
        for (k, call) in case["calls"].as_array().unwrap().iter().enumerate() {
            let what = format!("case {ci} ({kind}) call {k}");
            let scores = floats(&call["scores"]);
            let all_ids = ids(&call["user_item_id"]);
            let pair_ids: Vec<usize> = all_ids
                .chunks(width)
                .flat_map(|row| row[..p].to_vec())
                .collect();
            let ratings: Vec<f32> = floats(&call["rating"])
                .chunks(width)
                .flat_map(|row| row[..p].to_vec())
                .collect();
            let mut g = vec![0.0f32; scores.len()];
            let mut state: Vec<(&str, Vec<f32>)> = Vec::new();
            let value = if let Some(l) = listwise.as_mut() {
                let v = l
                    .forward(&scores, width, &pair_ids, &mut g)
                    .expect("listwise");
                state.push(("u", l.log_u().iter().map(|x| x.exp()).collect()));
                v
            } else {
                let l = ndcg.as_mut().unwrap();
                let batch = RankingBatch {
                    ratings: &ratings,
                    user_ids: &ids(&call["user_id"]),
                    pair_ids: &pair_ids,
                    num_pos_items: &floats(&call["num_pos_items"]),
                    ideal_dcg: &floats(&call["ideal_dcg"]),
                    items_per_query: None,
                };
                let v = l.forward(&scores, width, &batch, &mut g).expect("ndcg");
                let (u, lam, s) = l.state();
                state.push(("u", u.to_vec()));
                state.push(("lambda_q", lam.to_vec()));
                state.push(("s_q", s.to_vec()));
                v
            };
            let w64 = f64_doc.as_ref().map(|r| &r["cases"][ci]["calls"][k]);
            check.one(
                format!("{what} loss"),
                value,
                call["loss"].as_f64().unwrap(),
                w64.and_then(|w| w["loss"].as_f64()),
            );
            check.all(
                &format!("{what} grad"),
                &g,
                &call["grad"],
                w64.map(|w| &w["grad"]),
            );
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
