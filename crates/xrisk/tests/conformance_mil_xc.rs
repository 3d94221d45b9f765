//! Conformance of MIDAM (softmax and attention pooling losses, the MIDAM optimizer) and the
//! compositional entropic loss (SCENT and SOX estimators, the SCENT optimizer) with LibAUC
//! 2.0.1: `conformance/vectors/mil_xc.json`, written by `conformance/gen_mil_xc.py`.
//! Loss cases: every call of a sequence must reproduce the value, the gradients w.r.t. the
//! inputs and `a`, `b`, and the whole state after the call. Optimizer cases: the parameters
//! after each of 5 steps on a tiny model. Tolerance: |got − peer| ≤ 1e-4·|peer| + 1e-6 (f32).

#[allow(dead_code)]
mod common;

use burn::module::{Module, Param};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use common::{Checker, f, floats, ids};
use serde_json::Value;
use xrisk::loss::{
    EntConfig, EntEstimator, EntLossClassification, MidamConfig, MidamInput, MidamLoss,
    MidamPooling,
};
use xrisk::optim::{MidamConfig as MidamOptConfig, ScentConfig};

fn doc() -> Value {
    serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../conformance/vectors/mil_xc.json"
    )))
    .expect("vectors")
}

fn t1(v: &[f32], d: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), d)
}

fn grad_vec(t: &Tensor<1>, g: &burn::tensor::Gradients) -> Vec<f32> {
    t.grad(g)
        .expect("gradient")
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()
}

fn pooling(case: &Value) -> MidamPooling {
    match case["mode"].as_str().unwrap() {
        "softmax" => MidamPooling::Softmax {
            tau: f(&case["tau"]),
        },
        _ => MidamPooling::Attention,
    }
}

#[test]
fn midam_losses_match_libauc() {
    let doc = doc();
    let d = Device::flex().autodiff();
    let mut check = Checker::new(1e-4);
    let mut n = 0;
    for case in doc["cases"].as_array().unwrap() {
        if case["kind"] != "midam_loss" {
            continue;
        }
        n += 1;
        let name = case["name"].as_str().unwrap();
        let mut loss = MidamLoss::new(
            MidamConfig {
                margin: f(&case["margin"]),
                gamma: f(&case["gamma"]),
                ..MidamConfig::new(case["data_len"].as_u64().unwrap() as usize, pooling(case))
            },
            &d,
        )
        .unwrap();
        let scalar = |v: f64| Param::from_tensor(Tensor::from_floats([v as f32], &d));
        loss.params.a = scalar(f(&case["a"]));
        loss.params.b = scalar(f(&case["b"]));
        loss.alpha = f(&case["alpha"]);
        for (ci, call) in case["calls"].as_array().unwrap().iter().enumerate() {
            let what = |k: &str| format!("{name} call {ci} {k}");
            let (labels, bag_ids) = (floats(&call["labels"]), ids(&call["ids"]));
            let (v, grads, inputs) = if call.get("y_pred").is_some() {
                let y = t1(&floats(&call["y_pred"]), &d).require_grad();
                let v = loss
                    .forward(MidamInput::Softmax(y.clone()), &labels, &bag_ids)
                    .unwrap();
                let g = v.backward();
                (v, g, vec![("grad", y)])
            } else {
                let sn = t1(&floats(&call["sn"]), &d).require_grad();
                let sd = t1(&floats(&call["sd"]), &d).require_grad();
                let v = loss
                    .forward(
                        MidamInput::Attention {
                            sn: sn.clone(),
                            sd: sd.clone(),
                        },
                        &labels,
                        &bag_ids,
                    )
                    .unwrap();
                let g = v.backward();
                (v, g, vec![("grad_sn", sn), ("grad_sd", sd)])
            };
            check.one(
                what("loss"),
                f64::from(v.into_scalar::<f32>()),
                f(&call["loss"]),
            );
            for (key, t) in inputs {
                check.all(&what(key), &grad_vec(&t, &grads), &floats(&call[key]));
            }
            check.all(
                &what("grad_a"),
                &grad_vec(&loss.params.a.val(), &grads),
                &[f(&call["grad_a"]) as f32],
            );
            check.all(
                &what("grad_b"),
                &grad_vec(&loss.params.b.val(), &grads),
                &[f(&call["grad_b"]) as f32],
            );
            let (s, sd) = loss.state();
            check.all(&what("state"), &s, &floats(&call["state"]));
            if call.get("state_d").is_some() {
                check.all(&what("state_d"), &sd, &floats(&call["state_d"]));
            }
        }
    }
    assert_eq!(n, 4, "MIDAM loss cases");
    check.assert_clean();
}

/// A linear instance scorer `φ(x) = x·w + b` and a linear attention `exp(x·w_a + b_a)`.
#[derive(Module, Debug)]
struct Inst {
    w: Param<Tensor<2>>,
    b: Param<Tensor<1>>,
    wa: Param<Tensor<2>>,
    ba: Param<Tensor<1>>,
}

fn vals2(t: Tensor<2>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn vals1(t: Tensor<1>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

#[test]
fn midam_optimizer_matches_libauc() {
    let doc = doc();
    let d = Device::flex().autodiff();
    let mut check = Checker::new(1e-4);
    let mut n = 0;
    for case in doc["cases"].as_array().unwrap() {
        if case["kind"] != "midam_opt" {
            continue;
        }
        n += 1;
        let name = case["name"].as_str().unwrap();
        let (inst, dim) = (
            case["inst"].as_u64().unwrap() as usize,
            case["dim"].as_u64().unwrap() as usize,
        );
        let bags = floats(&case["bags"]);
        let w0 = floats(&case["w0"]);
        let mut wa0 = w0.clone();
        wa0.reverse();
        let p2 = |v: Vec<f32>| {
            Param::from_tensor(Tensor::<2>::from_data(TensorData::new(v, [dim, 1]), &d))
        };
        let mut model = Inst {
            w: p2(w0.clone()),
            b: Param::from_tensor(t1(&floats(&case["b0"]), &d)),
            wa: p2(wa0),
            ba: Param::from_tensor(t1(&[0.0], &d)),
        };
        let mode = case["mode"].as_str().unwrap();
        let tau = f(&case["tau"]);
        let pool = if mode == "softmax" {
            MidamPooling::Softmax { tau }
        } else {
            MidamPooling::Attention
        };
        let n_bags = bags.len() / (inst * dim);
        let mut loss = MidamLoss::new(MidamConfig::new(n_bags, pool), &d).unwrap();
        let mut opt = MidamOptConfig {
            lr: f(&case["lr"]),
            momentum: f(&case["momentum"]),
            weight_decay: f(&case["weight_decay"]),
        }
        .init();
        let steps = case["steps"].as_array().unwrap();
        for (t, batch) in case["batches"].as_array().unwrap().iter().enumerate() {
            let (bag_ids, labels) = (ids(&batch["ids"]), floats(&batch["labels"]));
            let b = bag_ids.len();
            let x: Vec<f32> = bag_ids
                .iter()
                .flat_map(|&i| bags[i * inst * dim..(i + 1) * inst * dim].to_vec())
                .collect();
            let x = Tensor::<2>::from_data(TensorData::new(x, [b * inst, dim]), &d);
            let phi = (x.clone().matmul(model.w.val()) + model.b.val().unsqueeze_dim::<2>(0))
                .reshape([b, inst]);
            let input = if mode == "softmax" {
                MidamInput::Softmax((phi / tau).exp().mean_dim(1).reshape([b]))
            } else {
                let w = (x.matmul(model.wa.val()) + model.ba.val().unsqueeze_dim::<2>(0))
                    .exp()
                    .reshape([b, inst]);
                MidamInput::Attention {
                    sn: (phi * w.clone()).mean_dim(1).reshape([b]),
                    sd: w.mean_dim(1).reshape([b]),
                }
            };
            let v = loss.forward(input, &labels, &bag_ids).unwrap();
            model = opt.step(model, &mut loss, v.backward());
            if t == 2 {
                opt.update_lr(2.0);
                loss.update_smoothing(2.0).unwrap();
            }
            let want = &steps[t];
            let what = |k: &str| format!("{name} step {t} {k}");
            check.all(
                &what("weight"),
                &vals2(model.w.val()),
                &floats(&want["weight"]),
            );
            check.all(&what("bias"), &vals1(model.b.val()), &floats(&want["bias"]));
            if mode == "attention" {
                check.all(
                    &what("att_weight"),
                    &vals2(model.wa.val()),
                    &floats(&want["att_weight"]),
                );
                check.all(
                    &what("att_bias"),
                    &vals1(model.ba.val()),
                    &floats(&want["att_bias"]),
                );
            }
            let (a, bb) = loss.ab();
            check.one(what("a"), a, f(&want["a"]));
            check.one(what("b"), bb, f(&want["b"]));
            check.one(what("alpha"), loss.alpha, f(&want["alpha"]));
        }
    }
    assert_eq!(n, 3, "MIDAM optimizer cases");
    check.assert_clean();
}

/// Logits with JSON `null` for the masked own class (−∞).
fn logits(v: &Value, k: usize, d: &Device) -> Tensor<2> {
    let x: Vec<f32> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().map_or(f32::NEG_INFINITY, |x| x as f32))
        .collect();
    let b = x.len() / k;
    Tensor::from_data(TensorData::new(x, [b, k]), d)
}

fn estimator(case: &Value) -> EntEstimator {
    if case["is_scent"].as_bool().unwrap() {
        EntEstimator::Scent
    } else {
        EntEstimator::Sox
    }
}

#[test]
fn entropic_loss_matches_libauc() {
    let doc = doc();
    let d = Device::flex().autodiff();
    let mut check = Checker::new(1e-4);
    let mut n = 0;
    for case in doc["cases"].as_array().unwrap() {
        if case["kind"] != "ent_loss" {
            continue;
        }
        n += 1;
        let name = case["name"].as_str().unwrap();
        let k = case["k"].as_u64().unwrap() as usize;
        let mut loss = EntLossClassification::new(
            EntConfig {
                alpha: f(&case["alpha"]),
                gamma: f(&case["gamma"]),
                estimator: estimator(case),
                alpha_multiplier: f(&case["alpha_multiplier"]),
                ..EntConfig::new(case["data_size"].as_u64().unwrap() as usize)
            },
            &d,
        )
        .unwrap();
        for (ci, call) in case["calls"].as_array().unwrap().iter().enumerate() {
            let what = |key: &str| format!("{name} call {ci} {key}");
            if estimator(case) == EntEstimator::Sox {
                loss.adjust_gamma(ci + 1, 5);
                check.one(what("gamma"), loss.gamma(), f(&call["gamma"]));
            }
            let lg = logits(&call["logits"], k, &d).require_grad();
            let v = loss.forward(lg.clone(), &ids(&call["ids"])).unwrap();
            let g = v.backward();
            check.one(
                what("loss"),
                f64::from(v.into_scalar::<f32>()),
                f(&call["loss"]),
            );
            let grad = lg
                .grad(&g)
                .unwrap()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap();
            check.all(&what("grad"), &grad, &floats(&call["grad"]));
            check.all(&what("nu"), &loss.state(), &floats(&call["nu"]));
        }
    }
    assert_eq!(n, 4, "entropic loss cases");
    check.assert_clean();
}

#[derive(Module, Debug)]
struct Classifier {
    w: Param<Tensor<2>>,
}

#[test]
fn scent_optimizer_matches_libauc() {
    let doc = doc();
    let d = Device::flex().autodiff();
    let mut check = Checker::new(1e-4);
    let mut n = 0;
    for case in doc["cases"].as_array().unwrap() {
        if case["kind"] != "scent_opt" {
            continue;
        }
        n += 1;
        let name = case["name"].as_str().unwrap();
        let (k, dim) = (
            case["k"].as_u64().unwrap() as usize,
            case["dim"].as_u64().unwrap() as usize,
        );
        let (x_all, y_all) = (floats(&case["x"]), ids(&case["y"]));
        let mut model = Classifier {
            w: Param::from_tensor(Tensor::from_data(
                TensorData::new(floats(&case["w0"]), [k, dim]),
                &d,
            )),
        };
        let mut loss = EntLossClassification::new(EntConfig::new(y_all.len()), &d).unwrap();
        let mut opt = ScentConfig {
            lr: f(&case["lr"]),
            momentum: f(&case["momentum"]),
            dampening: f(&case["dampening"]),
            nesterov: case["nesterov"].as_bool().unwrap(),
            weight_decay: f(&case["weight_decay"]),
        }
        .init();
        let steps = case["steps"].as_array().unwrap();
        for (t, batch) in case["batches"].as_array().unwrap().iter().enumerate() {
            let (rows, classes) = (ids(&batch["ids"]), ids(&batch["classes"]));
            let b = rows.len();
            let x: Vec<f32> = rows
                .iter()
                .flat_map(|&i| x_all[i * dim..(i + 1) * dim].to_vec())
                .collect();
            let x = Tensor::<2>::from_data(TensorData::new(x, [b, dim]), &d);
            let cls: Vec<i64> = classes.iter().map(|&c| c as i64).collect();
            let idx = Tensor::<1, Int>::from_data(TensorData::new(cls, [classes.len()]), &d);
            let wc = model.w.val().select(0, idx);
            let sc = x.matmul(wc.transpose());
            let own: Vec<i64> = rows
                .iter()
                .map(|&i| classes.iter().position(|&c| c == y_all[i]).unwrap() as i64)
                .collect();
            let own_t = Tensor::<2, Int>::from_data(TensorData::new(own.clone(), [b, 1]), &d);
            let own_score = sc.clone().gather(1, own_t);
            let mask: Vec<bool> = (0..b)
                .flat_map(|r| (0..classes.len()).map(move |c| (r, c)))
                .map(|(r, c)| own[r] as usize == c)
                .collect();
            let mask = Tensor::<2, Bool>::from_data(TensorData::new(mask, [b, classes.len()]), &d);
            let lg = (sc - own_score).mask_fill(mask, f32::NEG_INFINITY);
            let v = loss.forward(lg, &rows).unwrap();
            let mut grads = burn::optim::GradientsParams::from_grads(v.backward(), &model);
            model = opt.step(model, &mut grads);
            check.all(
                &format!("{name} step {t} w"),
                &vals2(model.w.val()),
                &floats(&steps[t]["w"]),
            );
        }
    }
    assert_eq!(n, 3, "SCENT optimizer cases");
    check.assert_clean();
}

#[test]
fn multilabel_pauc_matches_libauc() {
    use xrisk::loss::{MultiLabelPAucLoss, PAucBackend, PAucDroConfig};
    let doc = doc();
    let d = Device::flex().autodiff();
    let mut check = Checker::new(1e-4);
    let mut n = 0;
    for case in doc["cases"].as_array().unwrap() {
        if case["kind"] != "mpauc" {
            continue;
        }
        n += 1;
        let name = case["name"].as_str().unwrap();
        let t = case["n_tasks"].as_u64().unwrap() as usize;
        let len = case["data_len"].as_u64().unwrap() as usize;
        let mut loss = MultiLabelPAucLoss::new(
            PAucBackend::OneWay(PAucDroConfig {
                gamma: f(&case["gamma"]),
                lambda: f(&case["lambda"]),
                ..PAucDroConfig::new(len)
            }),
            t,
            &d,
        )
        .unwrap();
        for (ci, call) in case["calls"].as_array().unwrap().iter().enumerate() {
            let what = |k: &str| format!("{name} call {ci} {k}");
            let s = floats(&call["scores"]);
            let b = s.len() / t;
            let h = Tensor::<2>::from_data(TensorData::new(s, [b, t]), &d).require_grad();
            let v = loss
                .forward(
                    h.clone(),
                    &floats(&call["labels"]),
                    &ids(&call["ids"]),
                    &ids(&call["tasks"]),
                )
                .unwrap();
            let g = v.backward();
            check.one(
                what("loss"),
                f64::from(v.into_scalar::<f32>()),
                f(&call["loss"]),
            );
            check.all(
                &what("grad"),
                &vals2(h.grad(&g).unwrap()),
                &floats(&call["grad"]),
            );
            let u: Vec<f32> = (0..t).flat_map(|k| loss.state(k)).collect();
            check.all(&what("u"), &u, &floats(&call["u"]));
        }
    }
    assert_eq!(n, 2, "multi-label pAUC cases");
    check.assert_clean();
}

#[derive(Module, Debug)]
struct Linear3 {
    w: Param<Tensor<2>>,
    b: Param<Tensor<1>>,
}

#[test]
fn multilabel_pesg_matches_libauc() {
    use xrisk::loss::{AucmConfig, AucmVersion, MultiLabelAucmLoss};
    use xrisk::optim::PesgConfig;
    let doc = doc();
    let d = Device::flex().autodiff();
    let mut check = Checker::new(1e-4);
    let mut n = 0;
    for case in doc["cases"].as_array().unwrap() {
        if case["kind"] != "multilabel_pesg" {
            continue;
        }
        n += 1;
        let name = case["name"].as_str().unwrap();
        let t = case["n_tasks"].as_u64().unwrap() as usize;
        let (x_all, y_all) = (floats(&case["x"]), floats(&case["labels"]));
        // torch's weight is [T, 4]; burn's Linear layout is [4, T].
        let w0 = floats(&case["w0"]);
        let wt: Vec<f32> = (0..4)
            .flat_map(|i| (0..t).map(move |k| (i, k)))
            .map(|(i, k)| w0[k * 4 + i])
            .collect();
        let mut model = Linear3 {
            w: Param::from_tensor(Tensor::from_data(TensorData::new(wt, [4, t]), &d)),
            b: Param::from_tensor(t1(&vec![f(&case["b0"]) as f32; t], &d)),
        };
        let mut loss = MultiLabelAucmLoss::new(
            AucmConfig {
                margin: 1.0,
                version: AucmVersion::V1,
            },
            t,
            &d,
        )
        .unwrap();
        let mut opt = PesgConfig {
            lr: f(&case["lr"]),
            momentum: f(&case["momentum"]),
            epoch_decay: 0.0,
            compat_2_0_1: true,
            ..PesgConfig::default()
        }
        .init();
        let steps = case["steps"].as_array().unwrap();
        for (s, batch) in case["batches"].as_array().unwrap().iter().enumerate() {
            let (rows, tasks) = (ids(&batch["ids"]), ids(&batch["tasks"]));
            let x: Vec<f32> = rows
                .iter()
                .flat_map(|&i| x_all[i * 4..(i + 1) * 4].to_vec())
                .collect();
            let y: Vec<f32> = rows
                .iter()
                .flat_map(|&i| y_all[i * t..(i + 1) * t].to_vec())
                .collect();
            let x = Tensor::<2>::from_data(TensorData::new(x, [rows.len(), 4]), &d);
            let z = x.matmul(model.w.val()) + model.b.val().unsqueeze_dim::<2>(0);
            let v = loss
                .forward(burn::tensor::activation::sigmoid(z), &y, &tasks)
                .unwrap();
            model = opt.step_multilabel(model, &mut loss, v.backward());
            let want = &steps[s];
            let what = |k: &str| format!("{name} step {s} {k}");
            let w = vals2(model.w.val());
            let w_torch: Vec<f32> = (0..t)
                .flat_map(|k| (0..4).map(move |i| (i, k)))
                .map(|(i, k)| w[i * t + k])
                .collect();
            check.all(&what("weight"), &w_torch, &floats(&want["weight"]));
            check.all(&what("bias"), &vals1(model.b.val()), &floats(&want["bias"]));
            check.all(&what("a"), &vals1(loss.params.a.val()), &floats(&want["a"]));
            check.all(&what("b"), &vals1(loss.params.b.val()), &floats(&want["b"]));
            let alpha: Vec<f32> = loss.alpha.iter().map(|&v| v as f32).collect();
            check.all(&what("alpha"), &alpha, &floats(&want["alpha"]));
        }
    }
    assert_eq!(n, 2, "multi-label PESG cases");
    check.assert_clean();
}
