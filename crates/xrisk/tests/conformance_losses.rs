//! Conformance of the X-risk losses with LibAUC 2.0.1 (PyTorch, f32): for every case of
//! `conformance/vectors/losses.json` (written by `conformance/gen_losses.py`) the sequence of
//! calls must reproduce the loss value, the gradient w.r.t. the scores and the state after each
//! call. Tolerance: |got − peer| ≤ 1e-5·|peer| + 1e-6 (f32 arithmetic; the absolute floor
//! covers values that are 0 up to rounding, such as SOAP's first-call loss). Cases with a
//! "note" compare against LibAUC with the named bug corrected in the generator.

#[allow(dead_code)]
mod common;

use common::{Checker, f, floats, ids};

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;
use xrisk::loss::{
    ApConfig, ApLoss, AucmConfig, AucmLoss, AucmVersion, CompositionalAucLoss, CrossEntropyLoss,
    FocalLoss, PAucCvarConfig, PAucCvarLoss, PAucDroConfig, PAucDroLoss, PairwiseAucLoss,
    TpAucCvarConfig, TpAucCvarLoss, TpAucKlConfig, TpAucKlLoss,
};
use xrisk::loss::{MapConfig, MapLoss, MultiLabelAucmLoss};
use xrisk::surrogate::Surrogate;

fn vec1(t: Tensor<1>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 data")
}

// One value per case, built once: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Loss {
    Aucm(AucmLoss),
    Compositional(CompositionalAucLoss),
    Ap(ApLoss),
    Dro(PAucDroLoss),
    Cvar(PAucCvarLoss),
    Kl(TpAucKlLoss),
    TpCvar(TpAucCvarLoss),
    Pairwise(PairwiseAucLoss),
    Focal(FocalLoss),
    Ce,
}

fn build(case: &Value, device: &Device) -> Loss {
    let name = case["name"].as_str().expect("name");
    let n = case["data_len"].as_u64().unwrap_or(0) as usize;
    let set_ab = |l: &mut AucmLoss| {
        l.params.a =
            Param::from_tensor(Tensor::from_floats([f(&case["a"]) as f32], device).require_grad());
        l.params.b =
            Param::from_tensor(Tensor::from_floats([f(&case["b"]) as f32], device).require_grad());
        l.alpha = f(&case["alpha"]);
    };
    match case["loss"].as_str().expect("loss") {
        "aucm" => {
            let version = if case["version"] == "v2" {
                AucmVersion::V2
            } else {
                AucmVersion::V1
            };
            let mut l = AucmLoss::new(
                AucmConfig {
                    margin: f(&case["margin"]),
                    version,
                },
                device,
            );
            set_ab(&mut l);
            Loss::Aucm(l)
        }
        "compositional" => {
            let k = case["k"].as_u64().expect("k") as usize;
            let cfg = AucmConfig {
                margin: f(&case["margin"]),
                version: AucmVersion::V1,
            };
            let mut l = CompositionalAucLoss::new(cfg, k, device).unwrap();
            set_ab(&mut l.aucm);
            Loss::Compositional(l)
        }
        "ap" => Loss::Ap(
            ApLoss::new(
                ApConfig {
                    gamma: f(&case["gamma"]),
                    margin: f(&case["margin"]),
                    ..ApConfig::new(n)
                },
                device,
            )
            .unwrap(),
        ),
        "pauc_dro" => Loss::Dro(
            PAucDroLoss::new(
                PAucDroConfig {
                    gamma: f(&case["gamma"]),
                    margin: f(&case["margin"]),
                    lambda: f(&case["lambda"]),
                    ..PAucDroConfig::new(n)
                },
                device,
            )
            .unwrap(),
        ),
        "pauc_cvar" => Loss::Cvar(
            PAucCvarLoss::new(
                PAucCvarConfig {
                    beta: f(&case["beta"]),
                    eta: f(&case["eta"]),
                    margin: f(&case["margin"]),
                    ..PAucCvarConfig::new(n)
                },
                device,
            )
            .unwrap(),
        ),
        "tpauc_kl" => {
            let g = floats(&case["gammas"]);
            let cfg = TpAucKlConfig {
                tau: f(&case["tau"]),
                lambda: f(&case["lambda"]),
                gammas: (g[0] as f64, g[1] as f64),
                margin: f(&case["margin"]),
                ..TpAucKlConfig::new(n)
            };
            Loss::Kl(TpAucKlLoss::new(cfg, device).unwrap())
        }
        "tpauc_cvar" => Loss::TpCvar(
            TpAucCvarLoss::new(
                TpAucCvarConfig {
                    margin: f(&case["margin"]),
                    alpha: f(&case["alpha"]),
                    beta_0: f(&case["beta_0"]),
                    beta_1: f(&case["beta_1"]),
                    theta_0: f(&case["theta_0"]),
                    theta_1: f(&case["theta_1"]),
                    ..TpAucCvarConfig::new(n)
                },
                device,
            )
            .unwrap(),
        ),
        "pairwise" => Loss::Pairwise(PairwiseAucLoss {
            surrogate: match case["surrogate"].as_str() {
                Some("logistic") => Surrogate::Logistic,
                Some("squared") => Surrogate::Squared,
                Some("barrier_hinge") => Surrogate::BarrierHinge {
                    scale: f(&case["scale"]),
                },
                _ => Surrogate::SquaredHinge,
            },
            hparam: f(&case["hparam"]),
        }),
        "focal" => Loss::Focal(FocalLoss {
            alpha: f(&case["alpha"]),
            gamma: f(&case["gamma"]),
        }),
        "ce" => Loss::Ce,
        other => panic!("{name}: unknown loss {other}"),
    }
}

#[test]
fn losses_match_libauc() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../conformance/vectors/losses.json"
    );
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("committed vectors"))
            .expect("JSON");
    let cases = doc["cases"].as_array().expect("cases");
    let device = Device::flex().autodiff();
    let mut c = Checker::new(1e-5);
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        *kinds
            .entry(case["loss"].as_str().expect("loss").to_string())
            .or_default() += 1;
        let mut loss = build(case, &device);
        for (k, call) in case["calls"].as_array().expect("calls").iter().enumerate() {
            let at = format!("{name} call {k}");
            let s = floats(&call["scores"]);
            let y = floats(&call["labels"]);
            let batch_ids = if call["ids"].is_array() {
                ids(&call["ids"])
            } else {
                (0..y.len()).collect()
            };
            let h: Tensor<1> =
                Tensor::from_data(TensorData::new(s.clone(), [s.len()]), &device).require_grad();
            let value = match &mut loss {
                Loss::Aucm(l) => l.forward(h.clone(), &y),
                Loss::Compositional(l) => l.forward(h.clone(), &y),
                Loss::Ap(l) => l.forward(h.clone(), &y, &batch_ids),
                Loss::Dro(l) => l.forward(h.clone(), &y, &batch_ids),
                Loss::Cvar(l) => l.forward(h.clone(), &y, &batch_ids),
                Loss::Kl(l) => l.forward(h.clone(), &y, &batch_ids),
                Loss::TpCvar(l) => l.forward(h.clone(), &y, &batch_ids),
                Loss::Pairwise(l) => l.forward(h.clone(), &y),
                Loss::Focal(l) => l.forward(h.clone(), &y),
                Loss::Ce => CrossEntropyLoss.forward(h.clone(), &y),
            }
            .unwrap_or_else(|e| panic!("{at}: {e}"));
            c.one(
                format!("{at}: loss"),
                value.clone().into_scalar::<f32>() as f64,
                f(&call["loss"]),
            );
            let grads = value.backward();
            c.all(
                &format!("{at}: d/dscores"),
                &vec1(h.grad(&grads).expect("score gradient")),
                &floats(&call["grad"]),
            );
            match &loss {
                Loss::Aucm(l) => {
                    let ga = l
                        .params
                        .a
                        .val()
                        .grad(&grads)
                        .expect("grad a")
                        .into_scalar::<f32>() as f64;
                    let gb = l
                        .params
                        .b
                        .val()
                        .grad(&grads)
                        .expect("grad b")
                        .into_scalar::<f32>() as f64;
                    c.one(format!("{at}: d/da"), ga, f(&call["grad_a"]));
                    c.one(format!("{at}: d/db"), gb, f(&call["grad_b"]));
                }
                Loss::Ap(l) => {
                    let (u_all, u_pos) = l.state();
                    c.all(&format!("{at}: u_all"), &u_all, &floats(&call["u_all"]));
                    c.all(&format!("{at}: u_pos"), &u_pos, &floats(&call["u_pos"]));
                }
                Loss::Dro(l) => c.all(&format!("{at}: u"), &l.state(), &floats(&call["u"])),
                Loss::Cvar(l) => c.all(&format!("{at}: s"), &l.state(), &floats(&call["u"])),
                Loss::Kl(l) => {
                    let (u, w) = l.state();
                    c.all(&format!("{at}: u"), &u, &floats(&call["u"]));
                    c.one(format!("{at}: w"), w, f(&call["w"]));
                }
                Loss::TpCvar(l) => {
                    let st = l.state();
                    c.all(&format!("{at}: u"), &st.u, &floats(&call["u"]));
                    c.all(&format!("{at}: s1"), &st.s1, &floats(&call["s1"]));
                    c.all(&format!("{at}: y"), &st.y, &floats(&call["y"]));
                    c.one(format!("{at}: s2"), st.s2, f(&call["s2"]));
                }
                _ => {}
            }
        }
    }
    c.assert_clean();
    for (kind, n) in &kinds {
        assert!(*n >= 3, "{kind}: only {n} cases");
    }
    assert_eq!(kinds.len(), 10, "loss kinds covered: {kinds:?}");
    assert!(c.compared > 2000, "compared only {} values", c.compared);
}

/// Multi-label losses (`conformance/vectors/losses_multilabel.json`, written by
/// `conformance/gen_losses_multilabel.py`): value, gradient w.r.t. the `[batch, tasks]` scores,
/// and the per-task state of mAP after each call; same tolerance.
#[test]
fn multilabel_losses_match_libauc() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../conformance/vectors/losses_multilabel.json"
    );
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("committed vectors"))
            .expect("JSON");
    let device = Device::flex().autodiff();
    let mut c = Checker::new(1e-5);
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for case in doc["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let kind = case["loss"].as_str().expect("loss");
        *kinds.entry(kind.to_string()).or_default() += 1;
        let t = case["n_tasks"].as_u64().expect("n_tasks") as usize;
        let mut aucm = (kind == "multilabel_aucm").then(|| {
            let version = if case["version"] == "v2" {
                AucmVersion::V2
            } else {
                AucmVersion::V1
            };
            let mut l = MultiLabelAucmLoss::new(
                AucmConfig {
                    margin: f(&case["margin"]),
                    version,
                },
                t,
                &device,
            )
            .unwrap();
            let vecp = |k: &str| {
                let v = floats(&case[k]);
                Param::from_tensor(
                    Tensor::from_data(TensorData::new(v.clone(), [v.len()]), &device)
                        .require_grad(),
                )
            };
            l.params.a = vecp("a");
            l.params.b = vecp("b");
            l.alpha = floats(&case["alpha"]).iter().map(|&x| x as f64).collect();
            l
        });
        let mut map = (kind == "map").then(|| {
            let n = case["data_len"].as_u64().expect("data_len") as usize;
            let k = f(&case["top_k"]);
            let cfg = MapConfig {
                gamma: f(&case["gamma"]),
                margin: f(&case["margin"]),
                top_k: (k > -1.0).then_some(k),
                ..MapConfig::new(n, t)
            };
            MapLoss::new(cfg, &device).unwrap()
        });
        for (k, call) in case["calls"].as_array().expect("calls").iter().enumerate() {
            let at = format!("{name} call {k}");
            let s = floats(&call["scores"]);
            let y = floats(&call["labels"]);
            let tasks: Vec<usize> = call["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            let b = s.len() / t;
            let h: Tensor<2> =
                Tensor::from_data(TensorData::new(s, [b, t]), &device).require_grad();
            let value = match (&mut aucm, &mut map) {
                (Some(l), _) => l.forward(h.clone(), &y, &tasks),
                (_, Some(l)) => l.forward(h.clone(), &y, &ids(&call["ids"]), &tasks),
                _ => panic!("{name}: unknown loss {kind}"),
            }
            .unwrap_or_else(|e| panic!("{at}: {e}"));
            c.one(
                format!("{at}: loss"),
                value.clone().into_scalar::<f32>() as f64,
                f(&call["loss"]),
            );
            let grads = value.backward();
            let g: Vec<f32> = h
                .grad(&grads)
                .expect("score gradient")
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap();
            c.all(&format!("{at}: d/dscores"), &g, &floats(&call["grad"]));
            if let Some(l) = &map {
                let (u_all, u_pos) = l.state();
                c.all(&format!("{at}: u_all"), &u_all, &floats(&call["u_all"]));
                c.all(&format!("{at}: u_pos"), &u_pos, &floats(&call["u_pos"]));
            }
        }
    }
    c.assert_clean();
    assert_eq!(kinds.get("multilabel_aucm"), Some(&6));
    assert_eq!(kinds.get("map"), Some(&3));
    assert!(c.compared > 1000, "compared only {} values", c.compared);
}
