//! One criterion benchmark per kernel family: a full kernel call (checks, state update,
//! gradient, value) on a batch of `B` scores with half positives and ids drawn from N = 10⁵,
//! at B = 64, 256, 1024. Throughput is counted in the pairs the kernel's objective visits
//! (`P × B` for SOAP, `P × (B − P)` for the other pairwise losses), in matrix entries for the
//! contrastive loss (`3 B²`) and in scores for AUCM and focal; `bench/kernels.sh` turns
//! criterion's estimates into ns per pair and compares them with `floor`: the squared-hinge
//! surrogate and its derivative summed over the same pairs in one vectorised pass, the least a core
//! can spend on a pair. Run with `RAYON_NUM_THREADS=1` for one core.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use xrisk_kernels::ap::{ApConfig, ApKernel};
use xrisk_kernels::aucm::{AucmConfig, aucm_objective};
use xrisk_kernels::focal::FocalConfig;
use xrisk_kernels::gcl::{GclConfig, GclKernel};
use xrisk_kernels::pairwise::{PairwiseAucConfig, PairwiseAucKernel};
use xrisk_kernels::pauc_cvar::{PAucCvarConfig, PAucCvarKernel};
use xrisk_kernels::pauc_dro::{PAucDroConfig, PAucDroKernel};
use xrisk_kernels::tpauc_cvar::{TpAucCvarConfig, TpAucCvarKernel};
use xrisk_kernels::tpauc_kl::{TpAucKlConfig, TpAucKlKernel};

const N: usize = 100_000;
const BATCHES: [usize; 3] = [64, 256, 1024];

/// A fixed stream of uniform draws (SplitMix64), so every run sees the same batches.
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Scores in (0, 1), labels alternating 1/0, 64 batches of ids in [0, N).
struct Batch {
    scores: Vec<f32>,
    labels: Vec<f32>,
    ids: Vec<Vec<usize>>,
    grad: Vec<f32>,
}

fn batch(b: usize) -> Batch {
    let mut d = Draws(7);
    Batch {
        scores: (0..b).map(|_| 0.05 + 0.9 * d.unit()).collect(),
        labels: (0..b).map(|i| f32::from(u8::from(i % 2 == 0))).collect(),
        ids: (0..64)
            .map(|_| (0..b).map(|_| (d.next() % N as u64) as usize).collect())
            .collect(),
        grad: vec![0.0; b],
    }
}

/// The benchmarks of one kernel over the batch sizes; `pairs(b)` is the throughput unit count
/// and `run` one call on a batch with the `k`-th id draw.
fn family(
    c: &mut Criterion,
    name: &str,
    pairs: impl Fn(usize) -> u64,
    mut make: impl FnMut() -> Box<dyn FnMut(&mut Batch, usize)>,
) {
    let mut g = c.benchmark_group(name);
    for b in BATCHES {
        g.throughput(Throughput::Elements(pairs(b)));
        let mut run = make();
        let mut data = batch(b);
        let mut k = 0usize;
        g.bench_with_input(BenchmarkId::from_parameter(b), &b, |bench, _| {
            bench.iter(|| {
                k = (k + 1) % 64;
                run(&mut data, k);
                black_box(data.grad[0]);
            })
        });
    }
    g.finish();
}

fn p_times_b(b: usize) -> u64 {
    (b / 2 * b) as u64
}

fn p_times_n(b: usize) -> u64 {
    (b / 2 * (b - b / 2)) as u64
}

fn kernels(c: &mut Criterion) {
    family(c, "ap", p_times_b, || {
        let mut k = ApKernel::new(ApConfig::new(N)).expect("config");
        Box::new(move |d, i| {
            black_box(k.forward(&d.scores, &d.labels, &d.ids[i], &mut d.grad)).ok();
        })
    });
    family(c, "pauc_dro", p_times_n, || {
        let mut k = PAucDroKernel::new(PAucDroConfig::new(N)).expect("config");
        Box::new(move |d, i| {
            black_box(k.forward(&d.scores, &d.labels, &d.ids[i], &mut d.grad)).ok();
        })
    });
    family(c, "pauc_cvar", p_times_n, || {
        let mut k = PAucCvarKernel::new(PAucCvarConfig::new(N)).expect("config");
        Box::new(move |d, i| {
            black_box(k.forward(&d.scores, &d.labels, &d.ids[i], &mut d.grad)).ok();
        })
    });
    family(c, "tpauc_kl", p_times_n, || {
        let mut k = TpAucKlKernel::new(TpAucKlConfig::new(N)).expect("config");
        Box::new(move |d, i| {
            black_box(k.forward(&d.scores, &d.labels, &d.ids[i], &mut d.grad)).ok();
        })
    });
    family(c, "tpauc_cvar", p_times_n, || {
        let mut k = TpAucCvarKernel::new(TpAucCvarConfig::new(N)).expect("config");
        Box::new(move |d, i| {
            black_box(k.forward(&d.scores, &d.labels, &d.ids[i], &mut d.grad)).ok();
        })
    });
    family(c, "pairwise_logistic", p_times_n, || {
        let mut k = PairwiseAucKernel::new(PairwiseAucConfig::default()).expect("config");
        Box::new(move |d, _| {
            black_box(k.forward(&d.scores, &d.labels, &mut d.grad)).ok();
        })
    });
    family(
        c,
        "aucm",
        |b| b as u64,
        || {
            Box::new(move |d, _| {
                let abc = (0.6, 0.4, 0.1);
                black_box(aucm_objective(
                    &AucmConfig::default(),
                    &d.scores,
                    &d.labels,
                    abc,
                    &mut d.grad,
                ))
                .ok();
            })
        },
    );
    family(
        c,
        "focal",
        |b| b as u64,
        || {
            let f = FocalConfig::default();
            Box::new(move |d, _| {
                black_box(f.forward(&d.scores, &d.labels, &mut d.grad)).ok();
            })
        },
    );
    gcl(c);
    floor(c);
}

/// GCLoss v1 (SogCLR) on three `B × B` similarity matrices of a batch of distinct ids.
fn gcl(c: &mut Criterion) {
    let mut g = c.benchmark_group("gcl");
    for b in BATCHES {
        g.throughput(Throughput::Elements(3 * (b * b) as u64));
        let mut k = GclKernel::new(GclConfig::new(N)).expect("config");
        let mut d = Draws(3);
        let sim: Vec<f32> = (0..b * b).map(|_| 2.0 * d.unit() - 1.0).collect();
        let mut grads = vec![vec![0.0f32; b * b]; 3];
        let ids: Vec<usize> = (0..b).collect();
        g.bench_with_input(BenchmarkId::from_parameter(b), &b, |bench, _| {
            bench.iter(|| {
                let [ga, gb, gc] = &mut grads[..] else {
                    unreachable!()
                };
                black_box(k.forward(&sim, &sim, &sim, &ids, ga, gb, gc)).ok();
            })
        });
    }
    g.finish();
}

/// The floor: `Σ_ij max(m − (h_i − h_j), 0)²` and its derivative's row and column sums over
/// the `P × B` pairs of a batch, in one pass through the kernels' vector row loop
/// (`xrisk_kernels::pair_floor`), with no state, no checks and one thread.
fn floor(c: &mut Criterion) {
    let mut g = c.benchmark_group("floor");
    for b in BATCHES {
        g.throughput(Throughput::Elements(p_times_b(b)));
        let d = batch(b);
        let pos: Vec<f32> = d.scores.iter().step_by(2).copied().collect();
        let mut col = vec![0.0f64; b];
        g.bench_with_input(BenchmarkId::from_parameter(b), &b, |bench, _| {
            bench.iter(|| {
                let v = xrisk_kernels::pair_floor(black_box(&pos), black_box(&d.scores), &mut col);
                black_box((v, col[0]))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
