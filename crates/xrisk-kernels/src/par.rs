//! The row-parallel driver of the pair kernels. The rows (anchors) are cut into chunks whose
//! number depends only on the problem's size, never on the thread count; each chunk keeps its
//! own column sums and the chunks' sums are added in chunk order. So one thread and many give
//! bit-identical results, and the thread pool is used only when a call has enough pairs to pay
//! for waking it.

use rayon::prelude::*;

/// Pairs per call from which the rows are split over the thread pool. Measured with
/// `cargo bench -p xrisk-kernels` (the AP kernel): below about this many pairs the pool's
/// wake-up costs more than the second core saves.
pub const PARALLEL_PAIRS: usize = 1 << 15;

/// The number of row chunks for `n_rows × n_cols` pairs (1 below [`PARALLEL_PAIRS`]).
fn chunks(n_rows: usize, n_cols: usize) -> usize {
    let pairs = n_rows.saturating_mul(n_cols);
    if pairs < PARALLEL_PAIRS {
        1
    } else {
        pairs.div_ceil(PARALLEL_PAIRS / 2).clamp(1, 64).min(n_rows)
    }
}

/// Calls `f(row, &mut rows[row], cols)` for every row, where `cols` is a zeroed column
/// accumulator of `n_cols` entries private to the row's chunk; afterwards `cols_out` holds the
/// `n_cols` column sums over all rows. `scratch` and `cols_out` are reused across calls.
pub(crate) fn rows_cols<R, F>(
    rows: &mut [R],
    n_cols: usize,
    scratch: &mut Vec<f64>,
    cols_out: &mut Vec<f64>,
    f: F,
) where
    R: Send,
    F: Fn(usize, &mut R, &mut [f64]) + Sync,
{
    let n_rows = rows.len();
    cols_out.clear();
    cols_out.resize(n_cols, 0.0);
    if n_rows == 0 {
        return;
    }
    let parts = chunks(n_rows, n_cols);
    if parts == 1 {
        for (k, r) in rows.iter_mut().enumerate() {
            f(k, r, cols_out);
        }
        return;
    }
    let chunk = n_rows.div_ceil(parts);
    let width = n_cols.max(1);
    scratch.clear();
    scratch.resize(n_rows.div_ceil(chunk) * width, 0.0);
    let run_chunk = |c: usize, cols: &mut [f64], rows: &mut [R]| {
        for (r, out) in rows.iter_mut().enumerate() {
            f(c * chunk + r, out, &mut cols[..n_cols]);
        }
    };
    if rayon::current_num_threads() == 1 {
        // The same chunks in order on this thread: waking a one-thread pool costs more than a
        // chunk of pairs, and the arithmetic (hence the result) is the same either way.
        for (c, (cols, rows)) in scratch
            .chunks_mut(width)
            .zip(rows.chunks_mut(chunk))
            .enumerate()
        {
            run_chunk(c, cols, rows);
        }
    } else {
        scratch
            .par_chunks_mut(width)
            .zip(rows.par_chunks_mut(chunk))
            .enumerate()
            .for_each(|(c, (cols, rows))| run_chunk(c, cols, rows));
    }
    for part in scratch.chunks(width) {
        for (o, p) in cols_out.iter_mut().zip(part) {
            *o += p;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(n_rows: usize, n_cols: usize) -> (Vec<f64>, Vec<f64>) {
        let mut rows = vec![0.0f64; n_rows];
        let mut cols = vec![0.0f64; n_cols];
        let mut scratch = Vec::new();
        rows_cols(&mut rows, n_cols, &mut scratch, &mut cols, |k, r, c| {
            for (j, cj) in c.iter_mut().enumerate() {
                let v = ((k * 7 + j) as f64).sqrt();
                *r += v;
                *cj += v;
            }
        });
        (rows, cols)
    }

    #[test]
    fn row_and_column_sums_are_exact_and_independent_of_the_pool() {
        for (n_rows, n_cols) in [(3, 4), (300, 400)] {
            let (rows, cols) = run(n_rows, n_cols);
            for (k, r) in rows.iter().enumerate() {
                let want: f64 = (0..n_cols).map(|j| ((k * 7 + j) as f64).sqrt()).sum();
                assert_eq!(*r, want);
            }
            for (j, c) in cols.iter().enumerate() {
                let want: f64 = (0..n_rows).map(|k| ((k * 7 + j) as f64).sqrt()).sum();
                assert!((c - want).abs() < 1e-9 * want, "{c} {want}");
            }
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            assert_eq!(
                one.install(|| run(n_rows, n_cols)),
                (rows, cols),
                "1 thread = many"
            );
        }
    }
}
