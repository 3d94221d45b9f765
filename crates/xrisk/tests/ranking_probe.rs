//! Checks of SONG and K-SONG beyond conformance (spec `bilevel_ndcg_spec.md` §5.3–§5.4):
//! * with exact inner values (γ₀ = 1, every item of every query in the batch) the SONG
//!   estimator is the gradient of the NDCG surrogate F, compared with central differences;
//! * K-SONG "theo" with the threshold λ solved exactly and an exact Hessian (γ₁ = 1) is the
//!   gradient of the bilevel objective, by central differences that re-solve λ;
//! * the top-heavy synthetic probe (§5.3): K-SONG (K = 5) moves the linear scorer's weight onto
//!   the feature that finds the top items (w_b/w_a grows over SONG's), in both its "prac" and
//!   "theo" form, for each of 3 seeds. The spec's acceptance line — K-SONG − SONG ≥ 0.01 test
//!   NDCG@5 — is printed, not asserted: the next test shows, on the noiseless two-feature
//!   scorers of the same design, that NDCG@5 has less than 0.01 to gain over the full-NDCG
//!   optimum, which our SONG reaches (the spec's prototype SONG stopped short of it).

use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::{SliceRandom, index};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use xrisk::loss::{InnerSample, NdcgConfig, NdcgLoss, RankingBatch, TopkVersion};
use xrisk::model::{Mlp, Scorer};
use xrisk::optim::{ProximalOptimizer, SkeletonConfig, adam};
use xrisk::train::Optimizer;

/// One query: all its items, relevant ones first.
struct Query {
    ratings: Vec<f64>,
    scores: Vec<f64>,
    n_pos: usize,
}

fn toy_queries() -> Vec<Query> {
    let s = |v: &[f64]| v.to_vec();
    vec![
        Query {
            ratings: s(&[3.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
            scores: s(&[0.3, 0.9, -0.2, 0.5, 0.1, 0.7]),
            n_pos: 2,
        },
        Query {
            ratings: s(&[2.0, 2.5, 1.0, 0.0, 0.0, 0.0]),
            scores: s(&[-0.4, 0.2, 0.6, 0.8, -0.1, 0.05]),
            n_pos: 3,
        },
    ]
}

fn sq_hinge(t: f64) -> f64 {
    (1.0 - t).max(0.0).powi(2)
}

fn idcg(q: &Query) -> f64 {
    let mut r: Vec<f64> = q.ratings[..q.n_pos].to_vec();
    r.sort_by(|a, b| b.total_cmp(a));
    r.iter()
        .enumerate()
        .map(|(k, y)| (2f64.powf(*y) - 1.0) / (k as f64 + 2.0).log2())
        .sum()
}

/// `mean_q N_q⁺ · mean_i ψ_i · f(g_qi) / Z_q` in f64, with `ψ ≡ 1` when `lambda` is `None`.
fn objective(qs: &[Query], psi: impl Fn(usize, f64) -> f64) -> f64 {
    let mut total = 0.0;
    for (qi, q) in qs.iter().enumerate() {
        let n = q.scores.len() as f64;
        let mut sum = 0.0;
        for i in 0..q.n_pos {
            let g = q
                .scores
                .iter()
                .map(|&h| sq_hinge(q.scores[i] - h))
                .sum::<f64>()
                / n;
            let f = -(2f64.powf(q.ratings[i]) - 1.0) / (1.0 + n * g).log2();
            sum += psi(qi, q.scores[i]) * f;
        }
        total += q.n_pos as f64 * (sum / q.n_pos as f64) / idcg(q);
    }
    total / qs.len() as f64
}

/// The surrogate's gradient w.r.t. every score, from one call on a fresh loss.
fn estimator(qs: &[Query], config: NdcgConfig, lambdas: Option<&[f32]>) -> Vec<f64> {
    let device = Device::flex().autodiff();
    let l = qs[0].scores.len();
    let p = qs[0].n_pos.max(qs[1].n_pos);
    assert!(qs.iter().all(|q| q.n_pos == p), "one P per batch");
    let mut loss = NdcgLoss::new(config, &device).unwrap();
    if let Some(lam) = lambdas {
        loss.set_thresholds(&[0, 1], lam).unwrap();
    }
    let flat: Vec<f32> = qs
        .iter()
        .flat_map(|q| q.scores.iter().map(|&v| v as f32))
        .collect();
    let scores =
        Tensor::<2>::from_data(TensorData::new(flat, [qs.len(), l]), &device).require_grad();
    let ratings: Vec<f32> = qs
        .iter()
        .flat_map(|q| q.ratings[..p].iter().map(|&v| v as f32))
        .collect();
    let pair_ids: Vec<usize> = (0..qs.len() * p).collect();
    let npi: Vec<f32> = qs.iter().map(|q| q.n_pos as f32).collect();
    let ideal: Vec<f32> = qs.iter().map(|q| idcg(q) as f32).collect();
    let batch = RankingBatch {
        ratings: &ratings,
        user_ids: &[0, 1],
        pair_ids: &pair_ids,
        num_pos_items: &npi,
        ideal_dcg: &ideal,
        items_per_query: None,
    };
    let v = loss.forward(scores.clone(), &batch).unwrap();
    let g = scores.grad(&v.backward()).unwrap();
    g.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

fn equal_p_queries() -> Vec<Query> {
    let mut qs = toy_queries();
    // Both queries with 2 relevant items, so that one batch holds every relevant pair.
    qs[1].ratings = vec![2.0, 2.5, 0.0, 0.0, 0.0, 0.0];
    qs[1].n_pos = 2;
    qs
}

#[test]
fn song_with_exact_inner_values_is_the_gradient_of_the_surrogate() {
    let qs = equal_p_queries();
    let config = NdcgConfig {
        gamma0: 1.0,
        ..NdcgConfig::new(4, 1, 6, 2)
    };
    let got = estimator(&qs, config, None);
    let eps = 1e-5;
    for q in 0..qs.len() {
        for j in 0..6 {
            let mut plus = equal_p_queries();
            plus[q].scores[j] += eps;
            let mut minus = equal_p_queries();
            minus[q].scores[j] -= eps;
            let fd = (objective(&plus, |_, _| 1.0) - objective(&minus, |_, _| 1.0)) / (2.0 * eps);
            let g = got[q * 6 + j];
            assert!(
                (g - fd).abs() < 2e-4 * fd.abs().max(1.0),
                "query {q} item {j}: estimator {g}, finite difference {fd}"
            );
        }
    }
}

/// The exact top-K threshold of the smoothed problem: K/n + τ₂λ − mean_j σ((h_j − λ)/τ₁) = 0.
fn solve_lambda(scores: &[f64], k: usize, tau1: f64, tau2: f64) -> f64 {
    let n = scores.len() as f64;
    let sig = |t: f64| 1.0 / (1.0 + (-t).exp());
    let grad = |lam: f64| {
        k as f64 / n + tau2 * lam - scores.iter().map(|h| sig((h - lam) / tau1)).sum::<f64>() / n
    };
    // grad is increasing in λ: bisection.
    let (mut lo, mut hi) = (-1e3, 1e3);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if grad(mid) > 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    0.5 * (lo + hi)
}

#[test]
fn ksong_theo_with_exact_threshold_and_hessian_is_the_bilevel_gradient() {
    // α = 1 (LibAUC writes ψ′ without the factor α), a soft τ₁ so that λ moves smoothly.
    let (k, tau1, tau2) = (2usize, 0.3, 1e-4);
    let config = NdcgConfig {
        gamma0: 1.0,
        gamma1: 1.0,
        eta0: 0.0,
        topk: Some(k),
        version: TopkVersion::Theo,
        tau_1: tau1,
        tau_2: tau2,
        sigmoid_alpha: 1.0,
        ..NdcgConfig::new(4, 1, 6, 2)
    };
    let qs = equal_p_queries();
    let lams: Vec<f64> = qs
        .iter()
        .map(|q| solve_lambda(&q.scores, k, tau1, tau2))
        .collect();
    let lam32: Vec<f32> = lams.iter().map(|&v| v as f32).collect();
    let got = estimator(&qs, config, Some(&lam32));
    let bilevel = |qs: &[Query]| {
        let lam: Vec<f64> = qs
            .iter()
            .map(|q| solve_lambda(&q.scores, k, tau1, tau2))
            .collect();
        objective(qs, |q, h| 1.0 / (1.0 + (-(h - lam[q])).exp()))
    };
    let eps = 1e-5;
    for q in 0..qs.len() {
        for j in 0..6 {
            let mut plus = equal_p_queries();
            plus[q].scores[j] += eps;
            let mut minus = equal_p_queries();
            minus[q].scores[j] -= eps;
            let fd = (bilevel(&plus) - bilevel(&minus)) / (2.0 * eps);
            let g = got[q * 6 + j];
            assert!(
                (g - fd).abs() < 2e-3 * fd.abs().max(1.0),
                "query {q} item {j}: estimator {g}, finite difference {fd}"
            );
        }
    }
}

// ---- the synthetic probe (spec §5.3) ----

const ITEMS: usize = 200;
const DIM: usize = 16;

struct Data {
    x: Vec<Vec<f32>>,     // per query: ITEMS·DIM features
    y: Vec<Vec<f64>>,     // per query: graded labels
    pos: Vec<Vec<usize>>, // per query: relevant items
}

fn make_data(n_queries: usize, rng: &mut ChaCha8Rng) -> Data {
    let (mut x, mut y, mut pos) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n_queries {
        let f: Vec<f32> = (0..ITEMS * DIM)
            .map(|_| StandardNormal.sample(rng))
            .collect();
        let mut labels = vec![0.0; ITEMS];
        let mut rest = Vec::new();
        for i in 0..ITEMS {
            let (a, b) = (f[i * DIM], f[i * DIM + 1]);
            if b > 1.8 {
                labels[i] = if a > 0.0 { 4.0 } else { 3.0 };
            } else {
                let noise: f32 = StandardNormal.sample(rng);
                rest.push((a + noise, i));
            }
        }
        rest.sort_by(|p, q| q.0.total_cmp(&p.0));
        let graded = (rest.len() * 2) / 5;
        for (r, &(_, i)) in rest.iter().take(graded).enumerate() {
            labels[i] = if r < graded / 4 { 2.0 } else { 1.0 };
        }
        pos.push((0..ITEMS).filter(|&i| labels[i] > 0.0).collect());
        x.push(f);
        y.push(labels);
    }
    Data { x, y, pos }
}

fn dcg_at(labels: &[f64], order: &[usize], k: usize) -> f64 {
    order
        .iter()
        .take(k)
        .enumerate()
        .map(|(r, &i)| (2f64.powf(labels[i]) - 1.0) / (r as f64 + 2.0).log2())
        .sum()
}

fn ideal_at(labels: &[f64], k: usize) -> f64 {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&a, &b| labels[b].total_cmp(&labels[a]));
    dcg_at(labels, &order, k)
}

fn scores_of(model: &Mlp, x: &[f32], device: &Device) -> Vec<f64> {
    xrisk::train::predict(model, x, DIM, device)
}

fn test_ndcg(model: &Mlp, data: &Data, k: usize, device: &Device) -> f64 {
    let (mut qs, mut ys, mut ss) = (Vec::new(), Vec::new(), Vec::new());
    for (q, x) in data.x.iter().enumerate() {
        let s = scores_of(model, x, device);
        qs.extend(std::iter::repeat_n(q, ITEMS));
        ys.extend_from_slice(&data.y[q]);
        ss.extend(s);
    }
    xrisk_metrics::ndcg_by_query(&qs, &ys, &ss, &[k]).unwrap()[0]
}

/// Trains `epochs` epochs with `loss` (16 queries per batch, 8 positives + 40 uniform items).
#[allow(clippy::too_many_arguments)]
fn train(
    model: Mlp,
    loss: &mut NdcgLoss,
    optimizer: &mut Optimizer,
    data: &Data,
    pair_base: &[usize],
    topk: Option<usize>,
    epochs: usize,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Mlp {
    let (p, extra) = (8, 40);
    let mut model = model;
    let mut order: Vec<usize> = (0..data.x.len()).collect();
    for _ in 0..epochs {
        order.shuffle(rng);
        for users in order.chunks(16) {
            let (mut feats, mut ratings, mut pair_ids) = (Vec::new(), Vec::new(), Vec::new());
            let (mut npi, mut ideal) = (Vec::new(), Vec::new());
            for &q in users {
                let pos: Vec<usize> = index::sample(rng, data.pos[q].len(), p)
                    .into_iter()
                    .map(|j| data.pos[q][j])
                    .collect();
                let items: Vec<usize> = index::sample(rng, ITEMS, extra).into_vec();
                for &i in pos.iter().chain(&items) {
                    feats.extend_from_slice(&data.x[q][i * DIM..(i + 1) * DIM]);
                }
                for &i in &pos {
                    ratings.push(data.y[q][i] as f32);
                    let slot = data.pos[q].iter().position(|&j| j == i).unwrap();
                    pair_ids.push(pair_base[q] + slot);
                }
                npi.push(data.pos[q].len() as f32);
                ideal.push(ideal_at(&data.y[q], topk.unwrap_or(ITEMS)) as f32);
            }
            let b = users.len();
            let x = Tensor::<2>::from_data(TensorData::new(feats, [b * (p + extra), DIM]), device);
            let scores = model.score(x).reshape([b, p + extra]);
            let batch = RankingBatch {
                ratings: &ratings,
                user_ids: users,
                pair_ids: &pair_ids,
                num_pos_items: &npi,
                ideal_dcg: &ideal,
                items_per_query: None,
            };
            let l = loss.forward(scores, &batch).unwrap();
            let Optimizer::Plain(o) = optimizer else {
                unreachable!()
            };
            let mut g = burn::optim::GradientsParams::from_grads(l.backward(), &model);
            model = o.step(model, &mut g);
        }
    }
    model
}

/// Test NDCG@k and the weight ratio w_b/w_a of SONG, K-SONG prac and K-SONG theo.
fn probe(seed: u64, k: usize, inner_sample: InnerSample) -> [(f64, f64); 3] {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let train_data = make_data(300, &mut rng);
    let test_data = make_data(300, &mut rng);
    let mut pair_base = vec![0];
    for p in &train_data.pos {
        pair_base.push(pair_base.last().unwrap() + p.len());
    }
    let n_pairs = *pair_base.last().unwrap();
    let device = Device::flex().autodiff();
    device.seed(seed);
    let opt = || {
        Optimizer::Plain(ProximalOptimizer::new(SkeletonConfig {
            clip_value: None,
            ..adam(0.02)
        }))
    };
    let song = |topk: Option<usize>, version| NdcgConfig {
        gamma0: 0.1,
        topk,
        version,
        eta0: 0.5,
        tau_1: 0.01,
        sigmoid_alpha: 2.0,
        psi_scale: 2.0,
        inner_sample,
        ..NdcgConfig::new(n_pairs, 300, ITEMS, 8)
    };
    // Warm-up: 10 SONG epochs.
    let mut warm_loss = NdcgLoss::new(song(None, TopkVersion::Theo), &device).unwrap();
    let mut warm_opt = opt();
    let warm = train(
        Mlp::new(DIM, &[], &device),
        &mut warm_loss,
        &mut warm_opt,
        &train_data,
        &pair_base,
        None,
        10,
        &mut rng,
        &device,
    );
    let mut results = Vec::new();
    for (topk, version) in [
        (None, TopkVersion::Theo),
        (Some(k), TopkVersion::Prac),
        (Some(k), TopkVersion::Theo),
    ] {
        let (u, lam, s_q) = warm_loss.state();
        let mut loss = NdcgLoss::new(song(topk, version), &device).unwrap();
        loss.load_state(&u, &lam, &s_q).unwrap();
        if topk.is_some() {
            // λ_q starts at the warm-up model's K-th score of each query (spec §5.4).
            let lams: Vec<f32> = train_data
                .x
                .iter()
                .map(|x| {
                    let mut s = scores_of(&warm, x, &device);
                    s.sort_by(|a, b| b.total_cmp(a));
                    s[k - 1] as f32
                })
                .collect();
            let users: Vec<usize> = (0..300).collect();
            loss.set_thresholds(&users, &lams).unwrap();
        }
        let mut o = warm_opt.clone();
        let mut r = ChaCha8Rng::seed_from_u64(seed + 100);
        let m = train(
            warm.clone(),
            &mut loss,
            &mut o,
            &train_data,
            &pair_base,
            topk,
            30,
            &mut r,
            &device,
        );
        let mut snap = xrisk_data::snapshot::Snapshot::new();
        xrisk::persist::save_module(&m, "m", &mut snap);
        let w = snap.array("m.0").unwrap(); // the [16, 1] weight: w[0] = w_a, w[1] = w_b
        results.push((
            test_ndcg(&m, &test_data, k, &device),
            f64::from(w[1] / w[0]),
        ));
    }
    [results[0], results[1], results[2]]
}

fn report(label: &str, runs: &[[(f64, f64); 3]]) -> [f64; 3] {
    let mean = |m: usize| runs.iter().map(|r| r[m].0).sum::<f64>() / runs.len() as f64;
    eprintln!(
        "{label}: test NDCG@K over {} seeds: SONG {:.4}, K-SONG prac {:.4}, theo {:.4}; w_b/w_a per seed {:?}",
        runs.len(),
        mean(0),
        mean(1),
        mean(2),
        runs.iter()
            .map(|r| [r[0].1, r[1].1, r[2].1])
            .collect::<Vec<_>>()
    );
    [mean(0), mean(1), mean(2)]
}

/// The spec's table (§5.3) for both inner samples: `cargo test --release --test ranking_probe
/// -- --ignored --nocapture probe_sweep`.
#[test]
#[ignore = "a sweep that prints the §5.3 table (about 20 s in release); not an assertion"]
fn probe_sweep() {
    for inner in [InnerSample::AllColumns, InnerSample::AfterPositives] {
        for k in [3, 5, 10, 20] {
            let runs: Vec<[(f64, f64); 3]> = (0..3).map(|s| probe(s, k, inner)).collect();
            report(&format!("{inner:?} K={k}"), &runs);
        }
    }
}

/// NDCG@k of the noiseless two-feature scorer `h = x_a + r·x_b` on `data`.
fn oracle_ndcg(data: &Data, r: f64, k: usize) -> f64 {
    let (mut qs, mut ys, mut ss) = (Vec::new(), Vec::new(), Vec::new());
    for (q, x) in data.x.iter().enumerate() {
        for i in 0..ITEMS {
            qs.push(q);
            ys.push(data.y[q][i]);
            ss.push(f64::from(x[i * DIM]) + r * f64::from(x[i * DIM + 1]));
        }
    }
    xrisk_metrics::ndcg_by_query(&qs, &ys, &ss, &[k]).unwrap()[0]
}

/// Why the spec's acceptance line (K-SONG − SONG ≥ 0.01 NDCG@5) cannot hold against a SONG
/// that reaches its own optimum: along the best linear scorers `x_a + r·x_b`, the full-list
/// NDCG peaks at a smaller ratio than NDCG@5 (so K-SONG's direction is right), but NDCG@5 at
/// its own peak is less than 0.01 above NDCG@5 at the full-NDCG peak. The spec's prototype
/// SONG stopped at r = 2.8, below the full-NDCG peak, which left room for the 0.02 it saw;
/// ours reaches r ≈ 3.4–4.2 (printed by the test below).
#[test]
fn top_heavy_design_leaves_less_than_0_01_ndcg_at_5_above_the_full_ndcg_optimum() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let data = make_data(2000, &mut rng);
    let grid: Vec<f64> = (4..=40).map(|i| f64::from(i) * 0.25).collect(); // r = 1 … 10
    let argmax = |k: usize| {
        grid.iter()
            .map(|&r| (r, oracle_ndcg(&data, r, k)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap()
    };
    let (r_full, full) = argmax(ITEMS);
    let (r5, at5) = argmax(5);
    let at5_of_full = oracle_ndcg(&data, r_full, 5);
    let at5_of_spec_song = oracle_ndcg(&data, 2.8, 5);
    eprintln!(
        "full NDCG peaks at r = {r_full} ({full:.4}); NDCG@5 peaks at r = {r5} ({at5:.4}); \
         NDCG@5 at r = {r_full}: {at5_of_full:.4}; at the spec's SONG ratio 2.8: {at5_of_spec_song:.4}"
    );
    assert!(r5 > r_full, "NDCG@5 should want more weight on x_b");
    assert!(
        at5 - at5_of_full < 0.01,
        "headroom {:.4} — the acceptance line would be reachable",
        at5 - at5_of_full
    );
    assert!(
        at5 - at5_of_spec_song > 0.01,
        "from the spec's SONG ratio the headroom is {:.4}",
        at5 - at5_of_spec_song
    );
}

#[test]
fn ksong_moves_weight_to_the_top_item_feature_in_the_top_heavy_probe() {
    let runs: Vec<[(f64, f64); 3]> = (0..3)
        .map(|s| probe(s, 5, InnerSample::AllColumns))
        .collect();
    let mean = |m: usize| runs.iter().map(|r| r[m].0).sum::<f64>() / 3.0;
    eprintln!(
        "test NDCG@5, 3 seeds: SONG {:.4}, K-SONG prac {:.4}, theo {:.4}; w_b/w_a (SONG, prac, theo) per seed: {}",
        mean(0),
        mean(1),
        mean(2),
        runs.iter()
            .map(|r| format!("[{:.2}, {:.2}, {:.2}]", r[0].1, r[1].1, r[2].1))
            .collect::<Vec<_>>()
            .join(" ")
    );
    for (seed, r) in runs.iter().enumerate() {
        assert!(
            r[1].1 > r[0].1 && r[2].1 > r[0].1,
            "seed {seed}: w_b/w_a SONG {:.2}, prac {:.2}, theo {:.2}",
            r[0].1,
            r[1].1,
            r[2].1
        );
    }
}
