//! Conformance of the optimizers with LibAUC 2.0.1: `conformance/vectors/optimizers.json`
//! (written by `conformance/gen_optim.py`) holds, for each optimizer with its paired loss, the
//! parameters of a fixed linear model (and a, b, α) after 5 steps on fixed batches, and
//! LibAUC's default hyper-parameters. Each case is replayed here; tolerance
//! |got − peer| ≤ 1e-5·|peer| + 1e-6 (f32). The generator applies two documented fixes to
//! LibAUC (reference point = initial weights; PDSCA branch by step kind).

#[allow(dead_code)]
mod common;

use common::{f, floats};

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;
use xrisk::loss::*;
use xrisk::optim::{
    Pdsca, PdscaConfig, Pesg, PesgConfig, ProximalOptimizer, SkeletonConfig, SogClrConfig,
    SogClrMode, UpdateRule, adam, adamw, soap, sopa, sopa_s, sota_s, staco,
};

#[derive(Module, Debug)]
struct Lin {
    l: Linear,
}

enum Opt {
    Pesg(Pesg),
    Pdsca(Pdsca),
    Plain(ProximalOptimizer),
}

fn skeleton(case: &Value) -> SkeletonConfig {
    let d = &case["defaults"];
    let get = |k: &str, dflt: f64| d[k].as_f64().unwrap_or(dflt);
    let rule = if case["mode"] == "sgd" {
        UpdateRule::Sgd {
            momentum: get("momentum", 0.0),
            dampening: get("dampening", 0.0),
            nesterov: d["nesterov"].as_bool().unwrap_or(false),
        }
    } else {
        let betas: Vec<f64> = d["betas"]
            .as_array()
            .expect("betas")
            .iter()
            .map(f)
            .collect();
        UpdateRule::Adam {
            beta1: betas[0],
            beta2: betas[1],
            eps: get("eps", 1e-8),
        }
    };
    let adamw = case["optimizer"] == "AdamW";
    SkeletonConfig {
        lr: get("lr", 0.0),
        rule,
        clip_value: Some(get("clip_value", 1.0)),
        weight_decay: if adamw { 0.0 } else { get("weight_decay", 0.0) },
        decoupled_weight_decay: if adamw { get("weight_decay", 0.0) } else { 0.0 },
        epoch_decay: get("epoch_decay", 0.0),
    }
}

fn preset_matches(case: &Value) {
    let name = case["name"].as_str().unwrap();
    if matches!(
        case["optimizer"].as_str(),
        Some("PESG" | "PDSCA" | "SGD" | "SogCLR" | "iSogCLR" | "LARS")
    ) {
        return;
    }
    let want = skeleton(case);
    let lr = want.lr;
    let preset = match case["optimizer"].as_str().unwrap() {
        "SOAP" if case["mode"] == "adam" => soap(lr),
        "SOPA" => sopa(lr),
        "SOPAs" => sopa_s(lr),
        "SOTAs" => sota_s(lr),
        "STACO" => staco(lr),
        "Adam" => SkeletonConfig {
            epoch_decay: want.epoch_decay,
            ..adam(lr)
        },
        "AdamW" => SkeletonConfig {
            decoupled_weight_decay: want.decoupled_weight_decay,
            ..adamw(lr)
        },
        _ => return,
    };
    assert_eq!(
        preset, want,
        "{name}: preset differs from LibAUC's defaults"
    );
}

/// The SogCLR / iSogCLR / LARS settings in the case (LibAUC's param group), and a check that
/// our preset with the case's explicit arguments gives the same settings (LibAUC's defaults).
fn sogclr_config(case: &Value) -> SogClrConfig {
    let d = &case["defaults"];
    let get = |k: &str, dflt: f64| d[k].as_f64().unwrap_or(dflt);
    let lr = get("lr", 0.0);
    let mut preset = match case["optimizer"].as_str().unwrap() {
        "SogCLR" => SogClrConfig::sogclr(lr),
        "iSogCLR" => SogClrConfig::isogclr(lr),
        _ => SogClrConfig::lars(lr),
    };
    let mut from_peer = SogClrConfig {
        lr,
        mode: if case["mode"] == "adamw" {
            SogClrMode::AdamW
        } else {
            SogClrMode::Lars
        },
        clip_value: get("clip_value", preset.clip_value),
        weight_decay: get("weight_decay", 0.0),
        epoch_decay: get("epoch_decay", 0.0),
        momentum: get("momentum", 0.0),
        trust_coefficient: get("trust_coefficient", 0.0),
        betas: d["betas"]
            .as_array()
            .map(|b| (f(&b[0]), f(&b[1])))
            .unwrap_or(preset.betas),
        eps: get("eps", preset.eps),
    };
    let k = &case["kwargs"];
    let set = |field: &mut f64, key: &str| {
        if let Some(v) = k[key].as_f64() {
            *field = v;
        }
    };
    set(&mut preset.weight_decay, "weight_decay");
    set(&mut preset.epoch_decay, "epoch_decay");
    set(&mut preset.momentum, "momentum");
    set(&mut preset.trust_coefficient, "trust_coefficient");
    preset.mode = from_peer.mode;
    let name = case["name"].as_str().unwrap();
    assert_eq!(
        preset, from_peer,
        "{name}: preset differs from LibAUC's defaults"
    );
    from_peer.lr = lr;
    from_peer
}

#[test]
fn optimizers_match_libauc() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../conformance/vectors/optimizers.json"
    );
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("committed vectors"))
            .expect("JSON");
    let x = doc["x"].as_array().unwrap();
    let y = floats(&doc["y"]);
    let w0 = floats(&doc["w0"]);
    let b0 = f(&doc["b0"]) as f32;
    let device = Device::flex().autodiff();
    let n = y.len();
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut check = |what: String, got: f64, want: f64| {
        compared += 1;
        if (got - want).abs() > 1e-5 * want.abs() + 1e-6 {
            failures.push(format!("{what}: got {got:.9}, peer {want:.9}"));
        }
    };
    // PESG/PDSCA defaults are LibAUC's.
    let p = PesgConfig::default();
    assert_eq!(
        (
            p.lr,
            p.momentum,
            p.clip_value,
            p.weight_decay,
            p.epoch_decay
        ),
        (0.1, 0.9, 1.0, 1e-5, 2e-3)
    );
    let q = PdscaConfig::default();
    assert_eq!(
        (
            q.lr,
            q.beta1,
            q.beta2,
            q.clip_value,
            q.weight_decay,
            q.epoch_decay
        ),
        (0.1, 0.99, 0.999, 1.0, 1e-5, 2e-3)
    );
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 12);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        preset_matches(case);
        let mut lin = Lin {
            l: LinearConfig::new(4, 1).init(&device),
        };
        lin.l.weight = Param::from_tensor(
            Tensor::from_data(TensorData::new(w0.clone(), [4, 1]), &device).require_grad(),
        );
        lin.l.bias = Some(Param::from_tensor(
            Tensor::from_floats([b0], &device).require_grad(),
        ));
        let lk = &case["loss_kwargs"];
        let kind = case["loss"].as_str().unwrap();
        let margin = lk["margin"].as_f64().unwrap_or(1.0);
        let mut aucm = AucmLoss::new(
            AucmConfig {
                margin,
                version: AucmVersion::V1,
            },
            &device,
        );
        let mut comp = CompositionalAucLoss::new(
            AucmConfig {
                margin,
                version: AucmVersion::V1,
            },
            lk["k"].as_u64().unwrap_or(1) as usize,
            &device,
        )
        .unwrap();
        let mut ap = ApLoss::new(
            ApConfig {
                gamma: lk["gamma"].as_f64().unwrap_or(0.9),
                margin,
                ..ApConfig::new(n)
            },
            &device,
        )
        .unwrap();
        let mut dro = PAucDroLoss::new(
            PAucDroConfig {
                gamma: lk["gamma"].as_f64().unwrap_or(0.9),
                margin,
                ..PAucDroConfig::new(n)
            },
            &device,
        )
        .unwrap();
        let mut cvar = PAucCvarLoss::new(
            PAucCvarConfig {
                beta: lk["beta"].as_f64().unwrap_or(0.2),
                eta: lk["eta"].as_f64().unwrap_or(0.1),
                margin,
                ..PAucCvarConfig::new(n)
            },
            &device,
        )
        .unwrap();
        let g = lk["gammas"]
            .as_array()
            .map(|v| (f(&v[0]), f(&v[1])))
            .unwrap_or((0.9, 0.9));
        let mut kl = TpAucKlLoss::new(
            TpAucKlConfig {
                gammas: g,
                lambda: lk["Lambda"].as_f64().unwrap_or(1.0),
                margin,
                ..TpAucKlConfig::new(n)
            },
            &device,
        )
        .unwrap();
        let mut tp = TpAucCvarLoss::new(
            TpAucCvarConfig {
                margin: lk["threshold"].as_f64().unwrap_or(0.5),
                ..TpAucCvarConfig::new(n)
            },
            &device,
        )
        .unwrap();
        let mut opt = match case["optimizer"].as_str().unwrap() {
            "PESG" => {
                let c = skeleton(case);
                let rule = match c.rule {
                    UpdateRule::Sgd { momentum, .. } => UpdateRule::LibAucMomentum { momentum },
                    other => other,
                };
                Opt::Pesg(Pesg {
                    inner: ProximalOptimizer::new(SkeletonConfig { rule, ..c }),
                })
            }
            "PDSCA" => {
                let d = &case["defaults"];
                Opt::Pdsca(
                    PdscaConfig {
                        lr: f(&d["lr"]),
                        lr0: Some(f(&d["lr0"])),
                        beta1: f(&d["beta1"]),
                        beta2: f(&d["beta2"]),
                        clip_value: f(&d["clip_value"]),
                        weight_decay: f(&d["weight_decay"]),
                        epoch_decay: f(&d["epoch_decay"]),
                    }
                    .init(),
                )
            }
            "SogCLR" | "iSogCLR" | "LARS" => {
                Opt::Plain(sogclr_config(case).init().expect("valid settings"))
            }
            _ => Opt::Plain(ProximalOptimizer::new(skeleton(case))),
        };
        let regularizer_after = case["regularizer_after"].as_u64();
        for (step, batch) in doc["batches"].as_array().unwrap().iter().enumerate() {
            let ids: Vec<usize> = batch
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            let xs: Vec<f32> = ids.iter().flat_map(|&i| floats(&x[i])).collect();
            let ys: Vec<f32> = ids.iter().map(|&i| y[i]).collect();
            let z = lin
                .l
                .forward(Tensor::<2>::from_data(
                    TensorData::new(xs, [ids.len(), 4]),
                    &device,
                ))
                .squeeze_dim::<1>(1);
            let loss = match kind {
                "aucm" => aucm.forward(sigmoid(z), &ys),
                "compositional" => comp.forward(sigmoid(z), &ys),
                "ap" => ap.forward(sigmoid(z), &ys, &ids),
                "pauc_dro" => dro.forward(sigmoid(z), &ys, &ids),
                "pauc_cvar" => cvar.forward(sigmoid(z), &ys, &ids),
                "tpauc_kl" => kl.forward(sigmoid(z), &ys, &ids),
                "tpauc_cvar" => tp.forward(sigmoid(z), &ys, &ids),
                _ => CrossEntropyLoss.forward(z, &ys),
            }
            .unwrap_or_else(|e| panic!("{name} step {step}: {e}"));
            let grads = loss.backward();
            lin = match &mut opt {
                Opt::Pesg(o) => o.step(lin, &mut aucm, grads),
                Opt::Pdsca(o) => o.step(lin, &mut comp, grads),
                Opt::Plain(o) => {
                    let mut gp = GradientsParams::from_grads(grads, &lin);
                    o.step(lin, &mut gp)
                }
            };
            if regularizer_after == Some(step as u64 + 1) {
                match &mut opt {
                    Opt::Pesg(o) => o.inner.update_regularizer(Some(2.0)),
                    Opt::Plain(o) => o.update_lr(2.0),
                    Opt::Pdsca(o) => o.update_lr(Some(2.0), None),
                }
            }
        }
        let w: Vec<f32> = lin
            .l
            .weight
            .val()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        for (i, (g, p)) in w.iter().zip(floats(&case["weight"])).enumerate() {
            check(format!("{name}: weight[{i}]"), *g as f64, p as f64);
        }
        let b = lin.l.bias.as_ref().unwrap().val().into_scalar::<f32>() as f64;
        check(format!("{name}: bias"), b, f(&case["bias"]));
        if case["a"].is_number() {
            let l = if kind == "aucm" { &aucm } else { &comp.aucm };
            let (a, bb) = l.ab();
            check(format!("{name}: a"), a, f(&case["a"]));
            check(format!("{name}: b"), bb, f(&case["b"]));
            check(format!("{name}: alpha"), l.alpha, f(&case["alpha"]));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} values differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
