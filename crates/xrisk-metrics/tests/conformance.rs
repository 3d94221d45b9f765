//! Conformance against the peer: every case of `conformance/vectors/metrics.json`, produced by
//! `conformance/generate.sh` from LibAUC 2.0.1 and scikit-learn 1.9, must be reproduced within
//! 1e-9. Cases where LibAUC crashes carry a "note" and their expected value comes from the
//! corrected definition (computed by scikit-learn on the corrected selection).

use serde_json::Value;
use xrisk_metrics as m;

const TOL: f64 = 1e-9;

fn load() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../conformance/vectors/metrics.json"
    );
    let text =
        std::fs::read_to_string(path).expect("conformance/vectors/metrics.json is committed");
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    doc["cases"].as_array().expect("cases array").clone()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_i64().expect("integer"))
        .collect()
}

fn opt(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn close(name: &str, what: &str, got: f64, want: f64, failures: &mut Vec<String>) {
    if (got - want).abs() > TOL {
        failures.push(format!("{name}: {what}: got {got:.15}, peer {want:.15}"));
    }
}

fn usize_of(v: &Value) -> usize {
    v.as_u64().expect("unsigned") as usize
}

#[test]
fn every_peer_case_is_reproduced() {
    let cases = load();
    assert!(
        cases.len() >= 30,
        "expected at least 30 cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut checked = 0usize;
    for c in &cases {
        let name = c["name"].as_str().expect("name");
        match c["kind"].as_str().expect("kind") {
            "binary" => {
                let (y, s) = (floats(&c["labels"]), floats(&c["scores"]));
                close(
                    name,
                    "auroc",
                    m::auroc(&y, &s).unwrap(),
                    c["auroc"].as_f64().unwrap(),
                    &mut failures,
                );
                close(
                    name,
                    "auprc",
                    m::average_precision(&y, &s).unwrap(),
                    c["auprc"].as_f64().unwrap(),
                    &mut failures,
                );
                for e in c["pauc_one_way"].as_array().unwrap() {
                    let b = e["max_fpr"].as_f64().unwrap();
                    let got = m::pauc_one_way(&y, &s, b).unwrap();
                    close(
                        name,
                        &format!("pauc max_fpr={b}"),
                        got,
                        e["value"].as_f64().unwrap(),
                        &mut failures,
                    );
                }
                for e in c["pauc_two_way"].as_array().unwrap() {
                    let (a, b) = (
                        e["max_fpr"].as_f64().unwrap(),
                        e["min_tpr"].as_f64().unwrap(),
                    );
                    let got = m::pauc_two_way(&y, &s, a, b).unwrap();
                    close(
                        name,
                        &format!("two-way pauc ({a},{b})"),
                        got,
                        e["value"].as_f64().unwrap(),
                        &mut failures,
                    );
                }
            }
            "multilabel" => {
                let (y, s, t) = (
                    floats(&c["labels"]),
                    floats(&c["scores"]),
                    usize_of(&c["n_tasks"]),
                );
                for (metric, r) in [
                    ("auroc", m::auroc_multilabel(&y, &s, t).unwrap()),
                    ("auprc", m::average_precision_multilabel(&y, &s, t).unwrap()),
                ] {
                    let want: Vec<Option<f64>> = c[format!("{metric}_per_task")]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(opt)
                        .collect();
                    for (i, (g, w)) in r.per_task.iter().zip(&want).enumerate() {
                        match (g, w) {
                            (Some(g), Some(w)) => {
                                close(name, &format!("{metric} task {i}"), *g, *w, &mut failures)
                            }
                            (None, None) => {}
                            _ => failures
                                .push(format!("{name}: {metric} task {i}: got {g:?}, peer {w:?}")),
                        }
                    }
                    match (r.mean, opt(&c[format!("{metric}_mean")])) {
                        (Some(g), Some(w)) => {
                            close(name, &format!("{metric} mean"), g, w, &mut failures)
                        }
                        (g, w) => {
                            failures.push(format!("{name}: {metric} mean: got {g:?}, peer {w:?}"))
                        }
                    }
                }
            }
            "precision_recall_at_k" => {
                let (y, s, k) = (
                    floats(&c["labels"]),
                    floats(&c["scores"]),
                    usize_of(&c["k"]),
                );
                let r = m::precision_recall_at_k(&y, &s, k).unwrap();
                close(
                    name,
                    "capped precision",
                    r.capped_precision,
                    c["capped_precision"].as_f64().unwrap(),
                    &mut failures,
                );
                close(
                    name,
                    "precision",
                    r.precision,
                    c["precision"].as_f64().unwrap(),
                    &mut failures,
                );
                close(
                    name,
                    "recall",
                    r.recall,
                    c["recall"].as_f64().unwrap(),
                    &mut failures,
                );
            }
            "ap_at_k" => {
                let got = m::ap_at_k(
                    &ints(&c["actual"]),
                    &ints(&c["predicted"]),
                    usize_of(&c["k"]),
                )
                .unwrap();
                close(
                    name,
                    "ap@k",
                    got,
                    c["value"].as_f64().unwrap(),
                    &mut failures,
                );
            }
            "map_at_k" => {
                let rows = |v: &Value| v.as_array().unwrap().iter().map(ints).collect::<Vec<_>>();
                let got = m::map_at_k(
                    &rows(&c["actual"]),
                    &rows(&c["predicted"]),
                    usize_of(&c["k"]),
                )
                .unwrap();
                close(
                    name,
                    "map@k",
                    got,
                    c["value"].as_f64().unwrap(),
                    &mut failures,
                );
            }
            "ndcg_matrix" => {
                let (rel, s) = (floats(&c["relevance"]), floats(&c["scores"]));
                let (p, cands) = (usize_of(&c["n_pos"]), usize_of(&c["n_candidates"]));
                for e in c["values"].as_array().unwrap() {
                    let k = usize_of(&e["k"]);
                    let got = m::ndcg_at_k(&rel, p, &s, cands, k).unwrap();
                    close(
                        name,
                        &format!("ndcg@{k}"),
                        got,
                        e["value"].as_f64().unwrap(),
                        &mut failures,
                    );
                }
            }
            "ndcg_query" => {
                let q = ints(&c["queries"]);
                let ks: Vec<usize> = c["ks"].as_array().unwrap().iter().map(usize_of).collect();
                let got = m::ndcg_by_query(&q, &floats(&c["labels"]), &floats(&c["scores"]), &ks)
                    .unwrap();
                for ((k, g), w) in ks.iter().zip(got).zip(floats(&c["values"])) {
                    close(name, &format!("ndcg@{k}"), g, w, &mut failures);
                }
            }
            other => panic!("{name}: unknown case kind {other}"),
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, cases.len());
}
