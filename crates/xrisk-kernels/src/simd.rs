//! Vectorised sums over one row of pairs, and the instruction-set dispatch of the pair loops.
//!
//! A pair loop sums a few per-pair terms over a row's columns (`Σ_j ℓ(h_i − h_j)`, …). Summed
//! into one `f64` per pair, as a plain loop does, the adds form one dependency chain and the
//! loop runs scalar: about 10 ns per pair with an `exp`. Here every quantity has [`LANES`]
//! independent `f32` accumulators that add at most [`BLOCK`]` / `[`LANES`] terms each before
//! they are moved into `f64` lane accumulators, so the compiler turns the loop into vector
//! code, and the sum keeps close to `f64` accuracy (each `f32` partial sum holds four terms of
//! one sign per pair kind). The result depends on the row's length only, never on the thread
//! count or the CPU: the order of the additions is fixed by the blocks.
//!
//! Both sums run through [`dispatch`], which compiles their loop for the best instruction set the CPU offers at run time
//! (AVX-512, AVX2 + FMA, or the baseline) through `pulp`, the crate `gemm` uses for the same.
//! [`exp`] is an `e^x` without branches or calls, so loops over it vectorise too.

/// Independent accumulators per quantity (one AVX-512 register of `f32`).
pub(crate) const LANES: usize = 16;

/// Columns summed in `f32` before the lanes move into `f64` (four terms per lane).
pub(crate) const BLOCK: usize = 4 * LANES;

/// Runs `f` compiled for the best instruction set of this CPU (AVX-512, AVX2 + FMA, or the
/// baseline); `f` and what it inlines are vectorised for that set.
#[inline(always)]
pub(crate) fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// `e^x` in `f32`, within 2 ulp of `f32::exp` (Cephes' `expf`: `x = n·ln 2 + r`, a degree-5
/// polynomial for `e^r` on `|r| ≤ ln 2 / 2`, `2^n` put into the exponent bits). `+∞` above
/// `ln f32::MAX`, `0` below `ln f32::MIN_POSITIVE` (where `f32::exp` gives a subnormal), NaN
/// for NaN.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5·2^23: adding it rounds to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const HI: f32 = 88.722_83;
    const LO: f32 = -87.336_55;
    let xc = x.clamp(LO, HI);
    // Plain products and sums, not `mul_add`: without FMA in the instruction set a fused
    // multiply-add is a library call, and the loops must stay vector code on every CPU.
    let t = xc * LOG2E + ROUND;
    let n = t - ROUND;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let er = p * (r * r) + r + 1.0;
    // 2^n as two factors, so n = 128 (x near ln f32::MAX) does not overflow the exponent.
    let ni = t.to_bits() as i32 - ROUND.to_bits() as i32;
    let half = ni >> 1;
    let s1 = f32::from_bits(((half + 127) << 23) as u32);
    let s2 = f32::from_bits(((ni - half + 127) << 23) as u32);
    let y = er * s1 * s2;
    if x > HI {
        f32::INFINITY
    } else if x < LO {
        0.0
    } else if x.is_nan() {
        x
    } else {
        y
    }
}

/// `e^x` in `f64` without branches or calls, for loops that need double precision (the
/// contrastive losses' `exp(s/τ)`, whose sums cancel in iSogCLR's τ-gradient): `x = n·ln 2 + r`,
/// `|r| ≤ ln 2/2`, a degree-13 Taylor polynomial (truncation below 5e-18 relative), `2^n` put
/// into the exponent bits. Within 4 ulp of `f64::exp` on `[−700, 700]`; `+∞` above
/// `ln f64::MAX`, `0` below −708.
#[inline(always)]
pub(crate) fn exp64(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5·2^52
    const HI: f64 = 709.78;
    const LO: f64 = -708.0;
    let xc = x.clamp(LO, HI);
    let t = xc * std::f64::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    // 1/k! for k = 13 … 2, Horner.
    const C: [f64; 12] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
    ];
    let mut p = C[0];
    for &c in &C[1..] {
        p = p * r + c;
    }
    let er = (p * r * r + r) + 1.0;
    let ni = t.to_bits() as i64 - ROUND.to_bits() as i64;
    let half = ni >> 1;
    let s1 = f64::from_bits(((half + 1023) << 52) as u64);
    let s2 = f64::from_bits(((ni - half + 1023) << 52) as u64);
    let y = er * s1 * s2;
    if x > HI {
        f64::INFINITY
    } else if x < LO {
        0.0
    } else if x.is_nan() {
        x
    } else {
        y
    }
}

/// `ln(1 + e)` for `e ∈ [0, 1]` in `f32` without branches or calls (Cephes' `logf` polynomial
/// on `1 + e` reduced to `[√½, √2)`), within 3e-7 relative of `ln_1p` (tested on a dense
/// grid); used by the logistic surrogate `softplus(x) = max(x, 0) + ln(1 + e^−|x|)`.
#[inline(always)]
pub(crate) fn ln_1p_unit(e: f32) -> f32 {
    const SQRT2: f32 = std::f32::consts::SQRT_2;
    // x = (1 + e)/2^k − 1 formed without rounding 1 + e (small e keeps every bit).
    let big = 1.0 + e > SQRT2;
    let x = if big { 0.5 * (e - 1.0) } else { e };
    let k = if big { 1.0f32 } else { 0.0 };
    let z = x * x;
    let mut p = 7.037_683_6e-2f32;
    p = p * x - 1.151_461e-1;
    p = p * x + 1.167_699_9e-1;
    p = p * x - 1.242_014_1e-1;
    p = p * x + 1.424_932_3e-1;
    p = p * x - 1.666_805_8e-1;
    p = p * x + 2.000_071_4e-1;
    p = p * x - 2.499_999_4e-1;
    p = p * x + 3.333_333e-1;
    let r = p * x * z - 0.5 * z;
    // k·ln 2 split in two parts (Cephes), added last for accuracy.
    (x + r + k * -2.121_944_4e-4) + k * 0.693_359_4
}

/// `Σ_j term(h_j, y_j)` over one row, for `K` quantities at once: `h` and `y` are two columns
/// of equal length (pass `h` twice when a loss has no second column). Blocks of [`BLOCK`]
/// columns are summed in `f32` lanes, then in `f64`; the tail below a block is summed in
/// `f64`.
#[inline(always)]
pub(crate) fn row_sums<const K: usize>(
    h: &[f32],
    y: &[f32],
    term: impl Fn(f32, f32) -> [f32; K],
) -> [f64; K] {
    dispatch(
        #[inline(always)]
        || row_sums_here(h, y, term),
    )
}

/// [`row_sums`] for the instruction set of the caller. Each block is first evaluated into
/// arrays (a plain element-wise loop, which vectorises whatever `term` is), then summed.
#[inline(always)]
fn row_sums_here<const K: usize>(
    h: &[f32],
    y: &[f32],
    term: impl Fn(f32, f32) -> [f32; K],
) -> [f64; K] {
    let n = h.len().min(y.len());
    let (hb, ht) = h[..n].as_chunks::<BLOCK>();
    let (yb, yt) = y[..n].as_chunks::<BLOCK>();
    let mut wide = [[0.0f64; LANES]; K];
    let mut terms = [[0.0f32; BLOCK]; K];
    for (hb, yb) in hb.iter().zip(yb) {
        for j in 0..BLOCK {
            let t = term(hb[j], yb[j]);
            for q in 0..K {
                terms[q][j] = t[q];
            }
        }
        for q in 0..K {
            add_block(&mut wide[q], &terms[q]);
        }
    }
    let mut out = [0.0f64; K];
    for (&hj, &yj) in ht.iter().zip(yt) {
        let t = term(hj, yj);
        for q in 0..K {
            out[q] += f64::from(t[q]);
        }
    }
    for q in 0..K {
        out[q] += wide[q].iter().sum::<f64>();
    }
    out
}

/// `wide[l] += Σ_c block[c·LANES + l]`, the block summed in `f32` lanes first.
#[inline(always)]
fn add_block(wide: &mut [f64; LANES], block: &[f32; BLOCK]) {
    let mut acc = [0.0f32; LANES];
    for c in block.as_chunks::<LANES>().0 {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    for l in 0..LANES {
        wide[l] += f64::from(acc[l]);
    }
}

/// [`row_sums`] that also adds each pair's column term to `col[j]` (the column gradients):
/// `term` returns the `K` row terms and the column term.
#[inline(always)]
pub(crate) fn row_sums_col<const K: usize>(
    h: &[f32],
    y: &[f32],
    col: &mut [f64],
    term: impl Fn(f32, f32) -> ([f32; K], f32),
) -> [f64; K] {
    dispatch(
        #[inline(always)]
        || row_sums_col_here(h, y, col, term),
    )
}

/// [`row_sums_col`] for the instruction set of the caller (as [`row_sums_here`]).
#[inline(always)]
fn row_sums_col_here<const K: usize>(
    h: &[f32],
    y: &[f32],
    col: &mut [f64],
    term: impl Fn(f32, f32) -> ([f32; K], f32),
) -> [f64; K] {
    let n = h.len().min(y.len()).min(col.len());
    let (hb, ht) = h[..n].as_chunks::<BLOCK>();
    let (yb, yt) = y[..n].as_chunks::<BLOCK>();
    let (cb, ct) = col[..n].as_chunks_mut::<BLOCK>();
    let mut wide = [[0.0f64; LANES]; K];
    let mut terms = [[0.0f32; BLOCK]; K];
    let mut cols = [0.0f32; BLOCK];
    for ((hb, yb), cb) in hb.iter().zip(yb).zip(cb.iter_mut()) {
        for j in 0..BLOCK {
            let (t, c) = term(hb[j], yb[j]);
            for q in 0..K {
                terms[q][j] = t[q];
            }
            cols[j] = c;
        }
        for j in 0..BLOCK {
            cb[j] += f64::from(cols[j]);
        }
        for q in 0..K {
            add_block(&mut wide[q], &terms[q]);
        }
    }
    let mut out = [0.0f64; K];
    for ((&hj, &yj), cj) in ht.iter().zip(yt).zip(ct.iter_mut()) {
        let (t, c) = term(hj, yj);
        for q in 0..K {
            out[q] += f64::from(t[q]);
        }
        *cj += f64::from(c);
    }
    for q in 0..K {
        out[q] += wide[q].iter().sum::<f64>();
    }
    out
}

/// The least a core spends on a pair, for the criterion benchmark (`benches/kernels.rs`): the
/// squared hinge `max(1 − (h_i − h_j), 0)²` summed over every `pos × all` pair, and its
/// derivative's row sums and column sums (into `col`), through the kernels' own vector row loop
/// with no checks, no state and no threads. Returns the value plus the row sums' total.
#[doc(hidden)]
pub fn pair_floor(pos: &[f32], all: &[f32], col: &mut [f64]) -> f64 {
    let mut total = 0.0;
    for &hi in pos {
        let [v, d] = row_sums_col(all, all, col, |hj, _| {
            let t = (1.0 - (hi - hj)).max(0.0);
            ([t * t, t], t)
        });
        total += v + d;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exp_is_within_two_ulp_of_std_on_a_dense_grid() {
        let mut worst = 0.0f64;
        let mut x = -87.3f32;
        while x < 88.7 {
            let (got, want) = (exp(x), x.exp());
            let rel = (f64::from(got) - f64::from(want)).abs() / f64::from(want);
            worst = worst.max(rel);
            x += 0.000_97;
        }
        assert!(worst < 2.5e-7, "worst relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(89.0), f32::INFINITY);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert!(exp(f32::NAN).is_nan());
        let top = exp(88.72);
        assert!(top.is_finite() && (top / 88.72f32.exp() - 1.0).abs() < 3e-7);
    }

    #[test]
    fn exp64_is_within_four_ulp_of_std() {
        let mut worst = 0.0f64;
        let mut x = -700.0f64;
        while x < 700.0 {
            let (got, want) = (exp64(x), x.exp());
            worst = worst.max((got - want).abs() / want);
            x += 0.012_345;
        }
        assert!(worst < 4.0 * f64::EPSILON, "worst relative error {worst}");
        assert_eq!(exp64(0.0), 1.0);
        assert_eq!(exp64(710.0), f64::INFINITY);
        assert_eq!(exp64(-1000.0), 0.0);
        assert!(exp64(f64::NAN).is_nan());
    }

    #[test]
    fn ln_1p_unit_is_close_to_std_on_a_dense_grid() {
        let mut worst = 0.0f64;
        let mut e = 0.0f32;
        while e <= 1.0 {
            let (got, want) = (f64::from(ln_1p_unit(e)), f64::from(e).ln_1p());
            let err = (got - want).abs() / want.max(1e-7);
            worst = worst.max(err);
            e += 0.000_37;
        }
        assert!(worst < 3e-7, "worst error {worst}");
        assert_eq!(ln_1p_unit(0.0), 0.0);
    }

    proptest! {
        /// The lane sums equal a plain f64 sum to f32 rounding, at every length (blocks, tail,
        /// both), and the column terms land in their own columns.
        #[test]
        fn row_sums_match_a_plain_sum(h in prop::collection::vec(-3.0f32..3.0, 0..300)) {
            let y: Vec<f32> = (0..h.len()).map(|j| (j % 3) as f32).collect();
            let term = |a: f32, b: f32| [exp(a), a * b];
            let got = row_sums(&h, &y, term);
            let mut col = vec![1.0f64; h.len()];
            let got_col = row_sums_col(&h, &y, &mut col, |a, b| (term(a, b), 2.0 * a));
            let want0: f64 = h.iter().map(|&a| f64::from(a).exp()).sum();
            let want1: f64 = h.iter().zip(&y).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
            let scale1: f64 = h.iter().zip(&y).map(|(&a, &b)| (f64::from(a) * f64::from(b)).abs()).sum();
            prop_assert!((got[0] - want0).abs() <= 1e-6 * want0.max(1e-30));
            prop_assert!((got[1] - want1).abs() <= 1e-6 * scale1.max(1e-30));
            prop_assert_eq!(got, got_col);
            for (c, &a) in col.iter().zip(&h) {
                prop_assert_eq!(*c, 1.0 + 2.0 * f64::from(a));
            }
        }
    }
}
