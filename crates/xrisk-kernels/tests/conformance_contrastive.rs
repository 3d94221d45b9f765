//! Conformance of the global contrastive kernels (SogCLR / iSogCLR, unimodal GCLoss_v1 and
//! bimodal GCLoss_v2) with LibAUC 2.0.1, with no tensor framework:
//! `conformance/vectors/contrastive.json` (`conformance/gen_contrastive.py`). The vectors hold
//! gradients w.r.t. the features; this test does the framework's part on the host in f64 —
//! the rows' L2 normalisation (unimodal), the similarity matrices, and the chain rule from the
//! kernels' similarity gradients back to the features. Every call (with `adjust_gamma` where
//! the vector says) must reproduce the value, both views' gradients and the whole state.
//! Tolerance against LibAUC's f32 run: 1e-4·|peer| + 1e-6 (as the burn losses' test); against
//! the float64 reference: 1e-5·|ref| + 1e-7 (the kernels take f32 similarities; their rounding,
//! 2⁻²⁴·|S|, divided by τ = 0.01 is up to 6e-6 of a running maximum near 1).

#[path = "../../../conformance/rust/vectors.rs"]
#[allow(dead_code)]
mod vectors;

use serde_json::Value;
use vectors::{Compat, doubles, f, ids, load, load_f64};
use xrisk_kernels::gcl::{GammaSchedule, GclConfig, GclKernel, IsogclrConfig};
use xrisk_kernels::gcl_bimodal::{GclBimodalConfig, GclBimodalKernel, Temperatures};

/// `x·yᵀ` of row-major `[b, d]` matrices, `[b, b]`, as f32 (what a framework hands over).
fn gram(x: &[f64], y: &[f64], b: usize, d: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; b * b];
    for i in 0..b {
        for j in 0..b {
            out[i * b + j] = (0..d).map(|k| x[i * d + k] * y[j * d + k]).sum::<f64>() as f32;
        }
    }
    out
}

/// `g·y` for `g` `[b, b]` and `y` `[b, d]`; `transpose` uses `gᵀ`.
fn mul(g: &[f32], y: &[f64], b: usize, d: usize, transpose: bool) -> Vec<f64> {
    let mut out = vec![0.0; b * d];
    for i in 0..b {
        for j in 0..b {
            let gij = f64::from(if transpose {
                g[j * b + i]
            } else {
                g[i * b + j]
            });
            for k in 0..d {
                out[i * d + k] += gij * y[j * d + k];
            }
        }
    }
    out
}

/// Rows scaled to unit length (PyTorch's `F.normalize`), and the norms.
fn normalize(h: &[f64], b: usize, d: usize) -> (Vec<f64>, Vec<f64>) {
    let norms: Vec<f64> = (0..b)
        .map(|i| {
            h[i * d..(i + 1) * d]
                .iter()
                .map(|x| x * x)
                .sum::<f64>()
                .sqrt()
                .max(1e-12)
        })
        .collect();
    let e = (0..b * d).map(|k| h[k] / norms[k / d]).collect();
    (e, norms)
}

/// The gradient w.r.t. `h` of a function of `e = normalize(h)` with gradient `de`.
fn through_normalize(de: &[f64], e: &[f64], norms: &[f64], d: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; de.len()];
    for (i, n) in norms.iter().enumerate() {
        let r = i * d..(i + 1) * d;
        let dot: f64 = de[r.clone()]
            .iter()
            .zip(&e[r.clone()])
            .map(|(a, b)| a * b)
            .sum();
        for k in r {
            out[k] = ((de[k] - e[k] * dot) / n) as f32;
        }
    }
    out
}

fn config(case: &Value) -> GclConfig {
    let c = &case["config"];
    let num = |k: &str, default: f64| c.get(k).map_or(default, f);
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
        ..GclConfig::new(case["n"].as_u64().unwrap() as usize)
    }
}

/// What a call produced, by the vector's keys.
type Got = Vec<(&'static str, Vec<f32>)>;

fn replay(
    bimodal: bool,
    mut step: impl FnMut(&Value, usize, &Value, usize, usize) -> (f64, Got),
) -> usize {
    let doc = load("contrastive.json");
    let f64_doc = load_f64("contrastive.json");
    let mut check = Compat::new(1e-4, 1e-5, 1e-7);
    let mut n = 0;
    for (ci, case) in doc["cases"].as_array().unwrap().iter().enumerate() {
        if (case["mode"] == "bimodal") != bimodal {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let (b, d) = (
            case["batch"].as_u64().unwrap() as usize,
            case["dim"].as_u64().unwrap() as usize,
        );
        for (k, call) in case["calls"].as_array().unwrap().iter().enumerate() {
            let (value, got) = step(case, k, call, b, d);
            let at = format!("{name} call {k}");
            let w64 = f64_doc.as_ref().map(|r| &r["cases"][ci]["calls"][k]);
            check.one(
                format!("{at} loss"),
                value,
                f(&call["loss"]),
                w64.map(|w| f(&w["loss"])),
            );
            for (key, v) in &got {
                check.all(
                    &format!("{at} {key}"),
                    v,
                    &call[*key],
                    w64.map(|w| &w[*key]),
                );
            }
            n += 1;
        }
    }
    check.assert_clean();
    n
}

#[test]
fn unimodal_kernel_matches_libauc_gcloss_v1() {
    let mut kernels: std::collections::HashMap<String, GclKernel> = Default::default();
    let n = replay(false, |case, _, call, b, d| {
        let name = case["name"].as_str().unwrap().to_string();
        let k = kernels
            .entry(name)
            .or_insert_with(|| GclKernel::new(config(case)).unwrap());
        if let Some(e) = call["epoch"].as_u64() {
            k.adjust_gamma(e as usize);
        }
        let h1: Vec<f64> = doubles(&call["h1"]);
        let h2: Vec<f64> = doubles(&call["h2"]);
        let (e1, n1) = normalize(&h1, b, d);
        let (e2, n2) = normalize(&h2, b, d);
        let (ab, aa, bb) = (
            gram(&e1, &e2, b, d),
            gram(&e1, &e1, b, d),
            gram(&e2, &e2, b, d),
        );
        let (mut g_ab, mut g_aa, mut g_bb) = (vec![0.0; b * b], vec![0.0; b * b], vec![0.0; b * b]);
        let v = k
            .forward(
                &ab,
                &aa,
                &bb,
                &ids(&call["ids"]),
                &mut g_ab,
                &mut g_aa,
                &mut g_bb,
            )
            .unwrap();
        // dE1 = G_ab·e2 + (G_aa + G_aaᵀ)·e1; dE2 = G_abᵀ·e1 + (G_bb + G_bbᵀ)·e2.
        let sum =
            |a: Vec<f64>, c: Vec<f64>| a.iter().zip(&c).map(|(x, y)| x + y).collect::<Vec<_>>();
        let de1 = sum(
            sum(mul(&g_ab, &e2, b, d, false), mul(&g_aa, &e1, b, d, false)),
            mul(&g_aa, &e1, b, d, true),
        );
        let de2 = sum(
            sum(mul(&g_ab, &e1, b, d, true), mul(&g_bb, &e2, b, d, false)),
            mul(&g_bb, &e2, b, d, true),
        );
        let mut got = vec![
            ("grad_h1", through_normalize(&de1, &e1, &n1, d)),
            ("grad_h2", through_normalize(&de2, &e2, &n2, d)),
            ("u", k.u().to_vec()),
        ];
        if let Some((tau, grad_tau)) = k.temperatures() {
            got.push(("tau", tau.to_vec()));
            got.push(("grad_tau", grad_tau.to_vec()));
        }
        (v, got)
    });
    assert_eq!(n, 24, "calls checked");
}

#[test]
fn bimodal_kernel_matches_libauc_gcloss_v2() {
    let mut kernels: std::collections::HashMap<String, GclBimodalKernel> = Default::default();
    let n = replay(true, |case, _, call, b, d| {
        let name = case["name"].as_str().unwrap().to_string();
        let k = kernels.entry(name).or_insert_with(|| {
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
            GclBimodalKernel::new(GclBimodalConfig {
                tau: uni.tau,
                gamma: uni.gamma,
                isogclr: iso,
                gamma_schedule: uni.gamma_schedule,
                ..GclBimodalConfig::new(uni.data_len)
            })
            .unwrap()
        });
        if let Some(e) = call["epoch"].as_u64() {
            k.adjust_gamma(e as usize);
        }
        let (img, txt) = (doubles(&call["h1"]), doubles(&call["h2"]));
        let s = gram(&img, &txt, b, d);
        let mut g = vec![0.0f32; b * b];
        let out = k
            .forward(&s, &ids(&call["ids"]), Temperatures::Config, &mut g, None)
            .unwrap();
        let to32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<_>>();
        let [(u1, b1), (u2, b2)] = k.state();
        let mut got = vec![
            ("grad_h1", to32(mul(&g, &txt, b, d, false))),
            ("grad_h2", to32(mul(&g, &img, b, d, true))),
            ("u1", u1.to_vec()),
            ("u2", u2.to_vec()),
            ("b1", b1.to_vec()),
            ("b2", b2.to_vec()),
        ];
        if let Some([(ti, gi), (tt, gt)]) = k.temperatures() {
            got.push(("tau_img", ti.to_vec()));
            got.push(("tau_txt", tt.to_vec()));
            got.push(("grad_tau_img", gi.to_vec()));
            got.push(("grad_tau_txt", gt.to_vec()));
        }
        (out.value, got)
    });
    assert_eq!(n, 16, "calls checked");
}
