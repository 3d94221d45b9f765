//! Readers of the conformance vectors' JSON shared by the conformance tests.

#[path = "../../../../conformance/rust/vectors.rs"]
mod vectors;
#[allow(unused_imports)]
pub use vectors::*;

/// Pearson correlation.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

/// Ranks (ties share the mean rank), for Spearman correlation as Pearson of ranks.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut k = 0;
    while k < order.len() {
        let mut j = k;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[k]] {
            j += 1;
        }
        for &o in &order[k..=j] {
            r[o] = (k + j) as f64 / 2.0;
        }
        k = j + 1;
    }
    r
}
