//! Conformance of the MIDAM (softmax and attention pooling), entropic (SCENT and SOX) and
//! multi-label pAUC kernels with LibAUC 2.0.1, with no tensor framework:
//! `conformance/vectors/mil_xc.json` (`conformance/gen_mil_xc.py`), its loss cases. Every call
//! must reproduce the value, the gradients w.r.t. the inputs (and `a`, `b`) and the state after
//! the call. Tolerance against LibAUC's f32 run: 1e-4·|peer| + 1e-6 (as the burn losses' test);
//! against the float64 reference: 2e-6·|ref| + 1e-7.

#[path = "../../../conformance/rust/vectors.rs"]
#[allow(dead_code)]
mod vectors;

use serde_json::Value;
use vectors::{Compat, f, floats, floats_masked, ids, load, load_f64};
use xrisk_kernels::entropic::{EntConfig, EntEstimator, EntropicKernel};
use xrisk_kernels::midam::{MidamConfig, MidamGrad, MidamInput, MidamKernel, MidamPooling};
use xrisk_kernels::multilabel_pauc::{MultiLabelPAucKernel, PAucBackend, TaskKernel};
use xrisk_kernels::pauc_dro::PAucDroConfig;

/// Checks `got` (name → values) against a call of `want` and its float64 twin.
fn compare(
    chk: &mut Compat,
    at: &str,
    value: f64,
    got: &[(&str, Vec<f32>)],
    want: &Value,
    want64: Option<&Value>,
) {
    chk.one(
        format!("{at} loss"),
        value,
        f(&want["loss"]),
        want64.map(|w| f(&w["loss"])),
    );
    for (key, v) in got {
        chk.all(
            &format!("{at} {key}"),
            v,
            &want[*key],
            want64.map(|w| &w[*key]),
        );
    }
}

/// Runs `kind`'s cases through `call`, checking every call against the f32 vectors and the f64
/// reference; returns the number of cases.
fn replay(
    kind: &str,
    tol: f64,
    mut make: impl FnMut(
        &Value,
    ) -> Box<dyn FnMut(usize, &Value) -> (f64, Vec<(&'static str, Vec<f32>)>)>,
) -> usize {
    let doc = load("mil_xc.json");
    let f64_doc = load_f64("mil_xc.json");
    let mut check = Compat::new(tol, 2e-6, 1e-7);
    let mut n = 0;
    for (ci, case) in doc["cases"].as_array().unwrap().iter().enumerate() {
        if case["kind"] != kind {
            continue;
        }
        n += 1;
        let name = case["name"].as_str().unwrap();
        let mut step = make(case);
        for (k, call) in case["calls"].as_array().unwrap().iter().enumerate() {
            let at = format!("{name} call {k}");
            let (value, got) = step(k, call);
            let w64 = f64_doc.as_ref().map(|r| &r["cases"][ci]["calls"][k]);
            compare(&mut check, &at, value, &got, call, w64);
        }
    }
    check.assert_clean();
    n
}

#[test]
fn midam_kernels_match_libauc() {
    let n = replay("midam_loss", 1e-4, |case| {
        let pooling = match case["mode"].as_str().unwrap() {
            "softmax" => MidamPooling::Softmax {
                tau: f(&case["tau"]),
            },
            _ => MidamPooling::Attention,
        };
        let mut k = MidamKernel::new(MidamConfig {
            margin: f(&case["margin"]),
            gamma: f(&case["gamma"]),
            ..MidamConfig::new(case["data_len"].as_u64().unwrap() as usize, pooling)
        })
        .unwrap();
        let abc = (f(&case["a"]), f(&case["b"]), f(&case["alpha"]));
        Box::new(move |_, call| {
            let (labels, bag_ids) = (floats(&call["labels"]), ids(&call["ids"]));
            let mut got = Vec::new();
            let out = if call.get("y_pred").is_some() {
                let y = floats(&call["y_pred"]);
                let mut g = vec![0.0f32; y.len()];
                let o = k
                    .forward(
                        MidamInput::Softmax(&y),
                        &labels,
                        &bag_ids,
                        abc,
                        MidamGrad::Softmax(&mut g),
                    )
                    .unwrap();
                got.push(("grad", g));
                o
            } else {
                let (sn, sd) = (floats(&call["sn"]), floats(&call["sd"]));
                let (mut gn, mut gd) = (vec![0.0f32; sn.len()], vec![0.0f32; sd.len()]);
                let o = k
                    .forward(
                        MidamInput::Attention { sn: &sn, sd: &sd },
                        &labels,
                        &bag_ids,
                        abc,
                        MidamGrad::Attention {
                            sn: &mut gn,
                            sd: &mut gd,
                        },
                    )
                    .unwrap();
                got.push(("grad_sn", gn));
                got.push(("grad_sd", gd));
                o
            };
            got.push(("grad_a", vec![out.d_a as f32]));
            got.push(("grad_b", vec![out.d_b as f32]));
            let (s, sd) = k.state();
            got.push(("state", s.to_vec()));
            if call.get("state_d").is_some() {
                got.push(("state_d", sd.to_vec()));
            }
            (out.value, got)
        })
    });
    assert_eq!(n, 4, "MIDAM loss cases");
}

#[test]
fn entropic_kernel_matches_libauc() {
    let n = replay("ent_loss", 1e-4, |case| {
        let sox = !case["is_scent"].as_bool().unwrap();
        let kk = case["k"].as_u64().unwrap() as usize;
        let mut k = EntropicKernel::new(EntConfig {
            alpha: f(&case["alpha"]),
            gamma: f(&case["gamma"]),
            estimator: if sox {
                EntEstimator::Sox
            } else {
                EntEstimator::Scent
            },
            alpha_multiplier: f(&case["alpha_multiplier"]),
            ..EntConfig::new(case["data_size"].as_u64().unwrap() as usize)
        })
        .unwrap();
        Box::new(move |ci, call| {
            let mut got = Vec::new();
            if sox {
                k.adjust_gamma(ci + 1, 5);
                got.push(("gamma", vec![k.gamma() as f32]));
            }
            let logits = floats_masked(&call["logits"]);
            let mut g = vec![0.0f32; logits.len()];
            let v = k.forward(&logits, kk, &ids(&call["ids"]), &mut g).unwrap();
            got.push(("grad", g));
            got.push(("nu", k.nu().to_vec()));
            (v, got)
        })
    });
    assert_eq!(n, 4, "entropic loss cases");
}

#[test]
fn multilabel_pauc_kernel_matches_libauc() {
    let n = replay("mpauc", 1e-4, |case| {
        let t = case["n_tasks"].as_u64().unwrap() as usize;
        let len = case["data_len"].as_u64().unwrap() as usize;
        let mut k = MultiLabelPAucKernel::new(
            PAucBackend::OneWay(PAucDroConfig {
                gamma: f(&case["gamma"]),
                lambda: f(&case["lambda"]),
                ..PAucDroConfig::new(len)
            }),
            t,
        )
        .unwrap();
        Box::new(move |_, call| {
            let s = floats(&call["scores"]);
            let mut g = vec![0.0f32; s.len()];
            let v = k
                .forward(
                    &s,
                    &floats(&call["labels"]),
                    &ids(&call["ids"]),
                    &ids(&call["tasks"]),
                    &mut g,
                )
                .unwrap();
            let u: Vec<f32> = (0..t)
                .flat_map(|j| match k.task(j) {
                    TaskKernel::OneWay(l) => l.u().to_vec(),
                    TaskKernel::TwoWay(l) => l.u().to_vec(),
                })
                .collect();
            (v, vec![("grad", g), ("u", u)])
        })
    });
    assert_eq!(n, 2, "multi-label pAUC cases");
}
