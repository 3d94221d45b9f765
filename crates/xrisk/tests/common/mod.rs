//! Readers of the conformance vectors' JSON shared by the conformance tests.

use serde_json::Value;

/// A JSON array of numbers as f32 (the peer's tensors are f32).
pub fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

/// A JSON array of sample ids.
pub fn ids(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("id") as usize)
        .collect()
}

/// A JSON number.
pub fn f(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("number expected, got {v}"))
}

/// Collects every value that differs from the peer's by more than `rel·|peer| + 1e-6`.
pub struct Checker {
    /// Relative tolerance.
    pub rel: f64,
    /// One line per differing value.
    pub failures: Vec<String>,
    /// Values compared.
    pub compared: usize,
}

impl Checker {
    /// A checker with relative tolerance `rel`.
    pub fn new(rel: f64) -> Self {
        Checker {
            rel,
            failures: Vec::new(),
            compared: 0,
        }
    }

    /// Compares one value.
    pub fn one(&mut self, what: String, got: f64, want: f64) {
        self.compared += 1;
        if (got - want).abs() > self.rel * want.abs() + 1e-6 {
            self.failures
                .push(format!("{what}: got {got:.9}, peer {want:.9}"));
        }
    }

    /// Compares two arrays value by value (a length difference is one failure).
    pub fn all(&mut self, what: &str, got: &[f32], want: &[f32]) {
        if got.len() != want.len() {
            self.failures.push(format!(
                "{what}: {} values, peer has {}",
                got.len(),
                want.len()
            ));
            return;
        }
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            self.one(format!("{what}[{i}]"), f64::from(*g), f64::from(*w));
        }
    }

    /// Fails with every difference listed.
    pub fn assert_clean(&self) {
        assert!(
            self.failures.is_empty(),
            "{} of {} values differ:\n{}",
            self.failures.len(),
            self.compared,
            self.failures.join("\n")
        );
    }
}

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
