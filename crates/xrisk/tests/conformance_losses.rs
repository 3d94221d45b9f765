//! Conformance of the X-risk losses with LibAUC 2.0.1 (PyTorch, f32): for every case of
//! `conformance/vectors/losses.json` (written by `conformance/gen_losses.py`) the sequence of
//! calls must reproduce the loss value, the gradient w.r.t. the scores and the state after each
//! call. Tolerance: |got − peer| ≤ 1e-5·|peer| + 1e-6 (f32 arithmetic; the absolute floor
//! covers values that are 0 up to rounding, such as SOAP's first-call loss). Cases with a
//! "note" compare against LibAUC with the named bug corrected in the generator.

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;
use xrisk::loss::{
    ApConfig, ApLoss, AucmConfig, AucmLoss, AucmVersion, CrossEntropyLoss, PAucDroConfig,
    PAucDroLoss,
};

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

fn ids(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("id") as usize)
        .collect()
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

struct Checker {
    failures: Vec<String>,
    compared: usize,
}

impl Checker {
    fn one(&mut self, what: String, got: f64, want: f64) {
        self.compared += 1;
        if (got - want).abs() > 1e-5 * want.abs() + 1e-6 {
            self.failures
                .push(format!("{what}: got {got:.9}, peer {want:.9}"));
        }
    }

    fn all(&mut self, what: &str, got: &[f32], want: &[f32]) {
        if got.len() != want.len() {
            self.failures.push(format!(
                "{what}: {} values, peer has {}",
                got.len(),
                want.len()
            ));
            return;
        }
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            self.one(format!("{what}[{i}]"), *g as f64, *w as f64);
        }
    }
}

fn vec1(t: Tensor<1>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 data")
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
    let mut c = Checker {
        failures: Vec::new(),
        compared: 0,
    };
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let kind = case["loss"].as_str().expect("loss");
        *kinds.entry(kind.to_string()).or_default() += 1;
        let aucm = (kind == "aucm").then(|| {
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
                &device,
            );
            l.params.a = Param::from_tensor(
                Tensor::from_floats([f(&case["a"]) as f32], &device).require_grad(),
            );
            l.params.b = Param::from_tensor(
                Tensor::from_floats([f(&case["b"]) as f32], &device).require_grad(),
            );
            l.alpha = f(&case["alpha"]);
            l
        });
        let n = case["data_len"].as_u64().unwrap_or(0) as usize;
        let mut ap = (kind == "ap").then(|| {
            ApLoss::new(
                ApConfig {
                    gamma: f(&case["gamma"]),
                    margin: f(&case["margin"]),
                    ..ApConfig::new(n)
                },
                &device,
            )
        });
        let mut dro = (kind == "pauc_dro").then(|| {
            let cfg = PAucDroConfig {
                gamma: f(&case["gamma"]),
                margin: f(&case["margin"]),
                lambda: f(&case["lambda"]),
                ..PAucDroConfig::new(n)
            };
            PAucDroLoss::new(cfg, &device)
        });
        for (k, call) in case["calls"].as_array().expect("calls").iter().enumerate() {
            let at = format!("{name} call {k}");
            let s = floats(&call["scores"]);
            let y = floats(&call["labels"]);
            let h: Tensor<1> =
                Tensor::from_data(TensorData::new(s.clone(), [s.len()]), &device).require_grad();
            let loss = match kind {
                "aucm" => aucm.as_ref().expect("aucm").forward(h.clone(), &y),
                "ap" => ap
                    .as_mut()
                    .expect("ap")
                    .forward(h.clone(), &y, &ids(&call["ids"])),
                "pauc_dro" => dro
                    .as_mut()
                    .expect("dro")
                    .forward(h.clone(), &y, &ids(&call["ids"])),
                "ce" => CrossEntropyLoss.forward(h.clone(), &y),
                other => panic!("{name}: unknown loss {other}"),
            }
            .unwrap_or_else(|e| panic!("{at}: {e}"));
            c.one(
                format!("{at}: loss"),
                loss.clone().into_scalar::<f32>() as f64,
                f(&call["loss"]),
            );
            let grads = loss.backward();
            c.all(
                &format!("{at}: d/dscores"),
                &vec1(h.grad(&grads).expect("score gradient")),
                &floats(&call["grad"]),
            );
            if let Some(l) = &aucm {
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
            if let Some(l) = &ap {
                let (u_all, u_pos) = l.state();
                c.all(&format!("{at}: u_all"), &u_all, &floats(&call["u_all"]));
                c.all(&format!("{at}: u_pos"), &u_pos, &floats(&call["u_pos"]));
            }
            if let Some(l) = &dro {
                c.all(&format!("{at}: u"), &l.state(), &floats(&call["u"]));
            }
        }
    }
    assert!(
        c.failures.is_empty(),
        "{} of {} values differ:\n{}",
        c.failures.len(),
        c.compared,
        c.failures.join("\n")
    );
    for (kind, n) in &kinds {
        assert!(*n >= 3, "{kind}: only {n} cases");
    }
    assert!(c.compared > 500, "compared only {} values", c.compared);
}
