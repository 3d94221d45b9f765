//! Conformance of the global contrastive losses (SogCLR; iSogCLR's individual temperatures)
//! with LibAUC 2.0.1's GCLoss_v1 (unimodal) and GCLoss_v2 (bimodal): `conformance/vectors/contrastive.json`, written
//! by `conformance/gen_contrastive.py`. Every call of a sequence (with `adjust_gamma` where the
//! vector says) must reproduce the loss value, the gradients w.r.t. both views' features, and the
//! whole state after the call (u; bimodal: u and the running maximum b per side; τ and its
//! gradient average). Tolerance: |got − peer| ≤
//! 1e-4·|peer| + 1e-6 (f32).

#[allow(dead_code)]
mod common;

use burn::tensor::{Device, Tensor, TensorData};
use common::{Checker, f, floats, ids};
use serde_json::Value;
use xrisk::loss::{
    GammaSchedule, GclBimodalConfig, GclBimodalLoss, GclConfig, GclLoss, IsogclrConfig,
};

fn doc() -> Value {
    serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../conformance/vectors/contrastive.json"
    )))
    .expect("vectors")
}

fn config(case: &Value) -> GclConfig {
    let c = &case["config"];
    let num = |k: &str, default: f64| c.get(k).map_or(default, f);
    let n = case["n"].as_u64().unwrap() as usize;
    GclConfig {
        tau: num("tau", 0.1),
        gamma: num("gamma", 0.9),
        isogclr: (c.get("enable_isogclr") == Some(&Value::Bool(true))).then(|| IsogclrConfig {
            tau_min: num("tau_min", 0.05),
            tau_max: num("tau_max", 0.7),
            rho: num("rho", 0.3),
            eta: num("eta", 0.01),
            beta: num("beta", 0.9),
        }),
        gamma_schedule: match c.get("gamma_schedule").and_then(Value::as_str) {
            Some("cosine") => GammaSchedule::Cosine {
                decay_epochs: num("gamma_decay_epochs", 1.0) as usize,
            },
            _ => GammaSchedule::Constant,
        },
        ..GclConfig::new(n)
    }
}

/// What the replay needs from a loss: the γ schedule, the forward pass, and the check of the
/// state after a call against the vector.
trait Replayed {
    fn adjust_gamma(&mut self, epoch: usize);
    fn forward(&mut self, h1: Tensor<2>, h2: Tensor<2>, ids: &[usize]) -> Tensor<1>;
    fn check_state(&self, call: &Value, at: &str, check: &mut Checker);
}

impl Replayed for GclLoss {
    fn adjust_gamma(&mut self, epoch: usize) {
        GclLoss::adjust_gamma(self, epoch)
    }
    fn forward(&mut self, h1: Tensor<2>, h2: Tensor<2>, ids: &[usize]) -> Tensor<1> {
        GclLoss::forward(self, h1, h2, ids).unwrap()
    }
    fn check_state(&self, call: &Value, at: &str, check: &mut Checker) {
        check.all(&format!("{at} u"), &self.u(), &floats(&call["u"]));
        if let Some((tau, grad_tau)) = self.temperatures() {
            check.all(&format!("{at} tau"), &tau, &floats(&call["tau"]));
            check.all(
                &format!("{at} grad_tau"),
                &grad_tau,
                &floats(&call["grad_tau"]),
            );
        }
    }
}

impl Replayed for GclBimodalLoss {
    fn adjust_gamma(&mut self, epoch: usize) {
        GclBimodalLoss::adjust_gamma(self, epoch)
    }
    fn forward(&mut self, h1: Tensor<2>, h2: Tensor<2>, ids: &[usize]) -> Tensor<1> {
        GclBimodalLoss::forward(self, h1, h2, ids).unwrap()
    }
    fn check_state(&self, call: &Value, at: &str, check: &mut Checker) {
        let [(u1, b1), (u2, b2)] = self.state();
        check.all(&format!("{at} u1"), &u1, &floats(&call["u1"]));
        check.all(&format!("{at} u2"), &u2, &floats(&call["u2"]));
        check.all(&format!("{at} b1"), &b1, &floats(&call["b1"]));
        check.all(&format!("{at} b2"), &b2, &floats(&call["b2"]));
        if let Some([(ti, gi), (tt, gtx)]) = self.temperatures() {
            check.all(&format!("{at} tau image"), &ti, &floats(&call["tau_img"]));
            check.all(&format!("{at} tau text"), &tt, &floats(&call["tau_txt"]));
            check.all(
                &format!("{at} grad tau image"),
                &gi,
                &floats(&call["grad_tau_img"]),
            );
            check.all(
                &format!("{at} grad tau text"),
                &gtx,
                &floats(&call["grad_tau_txt"]),
            );
        }
    }
}

/// Replays every call of the cases with `bimodal` mode on the loss `make` builds for the case:
/// `adjust_gamma` where the vector says, the value, both views' gradients and the state after
/// the call. Returns the number of calls.
fn replay<L: Replayed>(
    bimodal: bool,
    check: &mut Checker,
    make: impl Fn(&Value, &Device) -> L,
) -> usize {
    let doc = doc();
    let d = Device::flex().autodiff();
    let mut n = 0;
    for case in doc["cases"].as_array().unwrap() {
        if (case["mode"] == "bimodal") != bimodal {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let (b, dim) = (
            case["batch"].as_u64().unwrap() as usize,
            case["dim"].as_u64().unwrap() as usize,
        );
        let mut loss = make(case, &d);
        for (k, call) in case["calls"].as_array().unwrap().iter().enumerate() {
            if let Some(e) = call["epoch"].as_u64() {
                loss.adjust_gamma(e as usize);
            }
            let t = |key: &str| {
                Tensor::<2>::from_data(TensorData::new(floats(&call[key]), [b, dim]), &d)
                    .require_grad()
            };
            let (h1, h2) = (t("h1"), t("h2"));
            let v = loss.forward(h1.clone(), h2.clone(), &ids(&call["ids"]));
            let g = v.backward();
            let host = |x: Tensor<2>| -> Vec<f32> {
                x.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
            };
            let at = format!("{name} call {k}");
            check.one(
                format!("{at} loss"),
                f64::from(v.into_scalar::<f32>()),
                f(&call["loss"]),
            );
            let (g1, g2) = if bimodal {
                ("grad image", "grad text")
            } else {
                ("grad h1", "grad h2")
            };
            check.all(
                &format!("{at} {g1}"),
                &host(h1.grad(&g).unwrap()),
                &floats(&call["grad_h1"]),
            );
            check.all(
                &format!("{at} {g2}"),
                &host(h2.grad(&g).unwrap()),
                &floats(&call["grad_h2"]),
            );
            loss.check_state(call, &at, check);
            n += 1;
        }
    }
    n
}

#[test]
fn global_contrastive_loss_matches_libauc_gcloss_v1() {
    let mut check = Checker::new(1e-4);
    let n = replay(false, &mut check, |case, d| {
        GclLoss::new(config(case), d).unwrap()
    });
    assert_eq!(n, 24, "calls checked");
    check.assert_clean();
}

#[test]
fn bimodal_global_contrastive_loss_matches_libauc_gcloss_v2() {
    let mut check = Checker::new(1e-4);
    let n = replay(true, &mut check, |case, d| {
        let uni = config(case);
        let c = &case["config"];
        let num = |k: &str, default: f64| c.get(k).map_or(default, f);
        let iso = uni.isogclr.map(|_| IsogclrConfig {
            tau_min: num("tau_min", 0.005),
            tau_max: num("tau_max", 0.05),
            rho: num("rho", 6.0),
            eta: num("eta", 0.01),
            beta: num("beta", 0.9),
        });
        GclBimodalLoss::new(
            GclBimodalConfig {
                tau: uni.tau,
                gamma: uni.gamma,
                isogclr: iso,
                gamma_schedule: uni.gamma_schedule,
                ..GclBimodalConfig::new(uni.data_len)
            },
            d,
        )
        .unwrap()
    });
    assert_eq!(n, 16, "calls checked");
    check.assert_clean();
}
