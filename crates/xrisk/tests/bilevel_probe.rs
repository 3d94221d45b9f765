//! The BSVRB probe of spec `bilevel_ndcg_spec.md` §5.2 and §5.4 on the closed-form quadratic
//! problem: exact hypergradient, convergence, parallel speedup in I and B, v1 ≈ v2, and v2's
//! per-iteration cost flat in d_y.

use burn::tensor::Device;
use rand::SeedableRng;
use std::time::Instant;
use xrisk::XriskError;
use xrisk::bilevel::oracle::{cross_jvp, lower_hessian, upper_grads};
use xrisk::bilevel::{
    Bilevel, BilevelConfig, Level, Method, MultiBlockProblem, QuadraticConfig, QuadraticProblem,
};

const ITERS: usize = 1200;
const TAIL: usize = 200;

/// The prototype's settings (§5.2): η = 0.02, τ = 0.05, α = β = 0.1, γ = 1.
fn probe_config(method: Method, blocks: usize, samples: usize, seed: u64) -> BilevelConfig {
    let mut cfg = BilevelConfig::new(method);
    (cfg.blocks_per_iter, cfg.samples_per_block, cfg.seed) = (blocks, samples, seed);
    (cfg.eta, cfg.tau, cfg.tau_u) = (0.02, 0.05, 0.5);
    (cfg.alpha, cfg.beta, cfg.gamma, cfg.hessian_floor) = (0.1, 0.1, 1.0, 0.25);
    cfg
}

/// (‖∇F(x₀)‖², mean ‖∇F‖² over the last TAIL iterations).
fn floor(cfg: BilevelConfig, dim_y: usize) -> (f64, f64) {
    let device = Device::flex().autodiff();
    let problem = QuadraticProblem::new(
        QuadraticConfig {
            dim_y,
            ..Default::default()
        },
        &device,
    );
    let mut run = Bilevel::new(problem, cfg).expect("valid config");
    let start = run.problem().grad_norm_sq(run.x());
    let mut tail = 0.0;
    for k in 0..ITERS {
        run.step().expect("the probe does not diverge");
        if k >= ITERS - TAIL {
            tail += run.problem().grad_norm_sq(run.x()) / TAIL as f64;
        }
    }
    (start, tail)
}

fn mean_floor(method: Method, blocks: usize, samples: usize, seeds: u64) -> f64 {
    (0..seeds)
        .map(|s| floor(probe_config(method, blocks, samples, s), 5).1)
        .sum::<f64>()
        / seeds as f64
}

#[test]
fn hypergradient_with_exact_lower_solutions_equals_the_closed_form() {
    // §5.4: with y = y*, the exact Hessian and no noise, Δ over all blocks is ∇F(x).
    let device = Device::flex().autodiff();
    let cfg = QuadraticConfig {
        noise: 0.0,
        blocks: 12,
        dim_x: 7,
        dim_y: 4,
        ..Default::default()
    };
    let p = QuadraticProblem::new(cfg, &device);
    let x: Vec<f64> = (0..7).map(|k| 0.3 * k as f64 - 1.0).collect();
    let ys = p.y_star(&x);
    let blocks: Vec<usize> = (0..12).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let lo = p.sample(Level::Lower, &blocks, 1, &mut rng);
    let up = p.sample(Level::Upper, &blocks, 1, &mut rng);
    let lower = lower_hessian(&p, &blocks, &x, &ys, &lo);
    // y* is stationary: ∇_y g = 0
    assert!(
        lower.grad.iter().all(|g| g.abs() < 1e-10),
        "{:?}",
        lower.grad
    );
    let (fx, fy) = upper_grads(&p, &blocks, &x, &ys, &up);
    let mut ws = Vec::new();
    for b in 0..12 {
        ws.extend(xrisk::bilevel::linalg::solve_spd(
            &lower.second[b * 16..(b + 1) * 16],
            4,
            &fy[b * 4..(b + 1) * 4],
            1e-9,
        ));
    }
    let jx = cross_jvp(&p, &blocks, &x, &ys, &ws, &lo);
    let truth = p.true_gradient(&x);
    for k in 0..7 {
        let delta = (fx[k] - jx[k]) / 12.0;
        assert!(
            (delta - truth[k]).abs() < 1e-7 * (1.0 + truth[k].abs()),
            "coordinate {k}: {delta} vs {}",
            truth[k]
        );
    }
}

#[test]
fn gradient_norm_falls_more_than_100x_for_every_method() {
    for method in [Method::BsvrbV1, Method::BsvrbV2, Method::Rsvrb] {
        let (start, end) = floor(probe_config(method, 25, 8, 0), 5);
        assert!(end * 100.0 < start, "{method:?}: ‖∇F‖² {start} → {end}");
    }
}

#[test]
fn floor_is_non_increasing_in_the_number_of_sampled_blocks() {
    let floors: Vec<f64> = [5, 10, 25, 50]
        .iter()
        .map(|&i| mean_floor(Method::BsvrbV2, i, 8, 2))
        .collect();
    assert!(
        floors.windows(2).all(|w| w[1] <= w[0]),
        "I = 5, 10, 25, 50: {floors:?}"
    );
}

#[test]
fn floor_is_non_increasing_in_the_samples_per_block() {
    let floors: Vec<f64> = [1, 4, 16, 64]
        .iter()
        .map(|&b| mean_floor(Method::BsvrbV1, 50, b, 2))
        .collect();
    assert!(
        floors.windows(2).all(|w| w[1] <= w[0]),
        "B = 1, 4, 16, 64 at I = m: {floors:?}"
    );
}

#[test]
fn v1_and_v2_agree_within_a_factor_of_two() {
    let v1 = mean_floor(Method::BsvrbV1, 10, 8, 2);
    let v2 = mean_floor(Method::BsvrbV2, 10, 8, 2);
    assert!(v1 < 2.0 * v2 && v2 < 2.0 * v1, "v1 {v1}, v2 {v2}");
}

/// Fastest wall time of one iteration of each of two runs (lower dimensions `dims`) over `n`
/// iterations each after two warm-up steps: the minimum, not the median, because other processes
/// on a busy machine only ever add time, and the two runs' steps alternate, so a load that comes
/// and goes weighs on both alike.
fn seconds_per_iteration(method: Method, dims: [usize; 2], n: usize) -> [f64; 2] {
    let device = Device::flex().autodiff();
    let mut runs = dims.map(|dim_y| {
        let problem = QuadraticProblem::new(
            QuadraticConfig {
                dim_y,
                ..Default::default()
            },
            &device,
        );
        Bilevel::new(problem, probe_config(method, 10, 8, 0)).expect("valid config")
    });
    let mut best = [f64::INFINITY; 2];
    for k in 0..n + 2 {
        for (run, best) in runs.iter_mut().zip(best.iter_mut()) {
            let t = Instant::now();
            run.step().expect("no divergence");
            if k >= 2 {
                *best = best.min(t.elapsed().as_secs_f64());
            }
        }
    }
    best
}

#[test]
fn v2_cost_stays_flat_in_the_lower_dimension_while_v1_grows() {
    let [v2_200, v2_5] = seconds_per_iteration(Method::BsvrbV2, [200, 5], 21);
    let [v1_200, v1_5] = seconds_per_iteration(Method::BsvrbV1, [200, 5], 5);
    let (v2, v1) = (v2_200 / v2_5, v1_200 / v1_5);
    // measured: v2 ×2, v1 ×190 from d_y = 5 to 200
    assert!(
        v2 < 5.0,
        "v2 per-iteration cost grew ×{v2:.1} from d_y = 5 to 200"
    );
    assert!(
        v1 > 20.0 && v1 > 5.0 * v2,
        "v1 grew only ×{v1:.1} (v2 ×{v2:.1})"
    );
}

#[test]
fn a_diverging_run_stops_with_a_clear_error() {
    // τ·L = 2000: the lower-level iterates grow without bound until they overflow
    let mut cfg = probe_config(Method::BsvrbV1, 10, 8, 0);
    cfg.tau = 1000.0;
    let device = Device::flex().autodiff();
    let mut run = Bilevel::new(
        QuadraticProblem::new(QuadraticConfig::default(), &device),
        cfg,
    )
    .expect("valid");
    let err = (0..5000)
        .find_map(|_| run.step().err())
        .expect("τ = 1000 diverges");
    assert!(matches!(err, XriskError::Diverged { .. }), "{err}");
    assert!(err.to_string().contains("lower the step sizes"), "{err}");
}

#[test]
fn bad_configurations_are_rejected() {
    let device = Device::flex().autodiff();
    for (edit, name) in [
        (
            Box::new(|c: &mut BilevelConfig| c.blocks_per_iter = 51)
                as Box<dyn Fn(&mut BilevelConfig)>,
            "blocks_per_iter",
        ),
        (
            Box::new(|c: &mut BilevelConfig| c.samples_per_block = 0),
            "samples_per_block",
        ),
        (Box::new(|c: &mut BilevelConfig| c.alpha = 0.0), "alpha"),
        (Box::new(|c: &mut BilevelConfig| c.eta = f64::NAN), "eta"),
        (Box::new(|c: &mut BilevelConfig| c.gamma = -1.0), "gamma"),
    ] {
        let mut cfg = probe_config(Method::BsvrbV1, 10, 8, 0);
        edit(&mut cfg);
        let p = QuadraticProblem::new(QuadraticConfig::default(), &device);
        match Bilevel::new(p, cfg) {
            Err(XriskError::InvalidConfig { name: n, .. }) => assert_eq!(n, name),
            Err(e) => panic!("{name}: wrong error {e}"),
            Ok(_) => panic!("{name}: accepted"),
        }
    }
}

#[test]
fn every_block_mode_scales_the_stale_step_to_tau_i_over_m_and_converges() {
    // §1.11: all-block stale moves act like a step τ·m/I, so the default step is τ·I/m.
    use xrisk::bilevel::LowerUpdate;
    let mut cfg = probe_config(Method::BsvrbV2, 10, 8, 0);
    (cfg.lower_update, cfg.tau) = (LowerUpdate::AllBlocks, 0.5);
    let (start, end) = floor(cfg.clone(), 5);
    assert!(end * 100.0 < start, "all-block mode: ‖∇F‖² {start} → {end}");
    // the same run with the scaling off and τ = 0.5·10/50 is the same run
    let device = Device::flex().autodiff();
    let mut unscaled = cfg.clone();
    (unscaled.scale_stale_step, unscaled.tau) = (false, 0.1);
    let mut a = Bilevel::new(
        QuadraticProblem::new(QuadraticConfig::default(), &device),
        cfg,
    )
    .expect("valid");
    let mut b = Bilevel::new(
        QuadraticProblem::new(QuadraticConfig::default(), &device),
        unscaled,
    )
    .expect("valid");
    for _ in 0..50 {
        a.step().expect("no divergence");
        b.step().expect("no divergence");
    }
    for (p, q) in a.y().iter().zip(b.y()) {
        assert!((p - q).abs() <= 1e-12 * (1.0 + q.abs()), "{p} vs {q}");
    }
}
