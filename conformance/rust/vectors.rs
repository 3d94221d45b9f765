//! Readers of the conformance vectors and the value-by-value checker, shared by the
//! conformance tests of `xrisk-kernels` (the kernels on slices) and `xrisk` (the burn losses):
//! both crates include this file with `#[path]`, so the two paths read the same JSON the same
//! way. `XRISK_VECTORS_DIR` points the tests at another folder of vectors (the generators run
//! with other seeds: `conformance/check_seeds.sh`).

use serde_json::Value;

/// The vector file `name` (e.g. `losses.json`) from `$XRISK_VECTORS_DIR`, or the committed
/// `conformance/vectors/` of the repository.
pub fn load(name: &str) -> Value {
    let dir = std::env::var("XRISK_VECTORS_DIR").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../conformance/vectors").to_string()
    });
    let path = format!("{dir}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The f64 reference file of `name` (`losses.json` → `f64/losses.json`): LibAUC's own code
/// run in float64 on the same inputs; `None` when that folder has none.
pub fn load_f64(name: &str) -> Option<Value> {
    let dir = std::env::var("XRISK_VECTORS_DIR").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../conformance/vectors").to_string()
    });
    let path = format!("{dir}/f64/{name}");
    let text = std::fs::read_to_string(&path).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// A JSON array of numbers as f32 (the peer's tensors are f32).
pub fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

/// [`floats`] where `null` stands for −∞ (a masked logit).
pub fn floats_masked(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().map_or(f32::NEG_INFINITY, |x| x as f32))
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

/// Collects every value that differs from the peer's by more than `rel·|peer| + abs`.
pub struct Checker {
    /// Relative tolerance.
    pub rel: f64,
    /// Absolute floor (1e-6 unless set).
    pub abs: f64,
    /// One line per differing value.
    pub failures: Vec<String>,
    /// Values compared.
    pub compared: usize,
    /// The largest `|got − peer| / (|peer| + abs/rel)` seen (for reporting a tolerance's margin).
    pub worst: f64,
}

impl Checker {
    /// A checker with relative tolerance `rel` and the absolute floor 1e-6.
    pub fn new(rel: f64) -> Self {
        Self::with_floor(rel, 1e-6)
    }

    /// A checker with relative tolerance `rel` and absolute floor `abs`.
    pub fn with_floor(rel: f64, abs: f64) -> Self {
        Checker {
            rel,
            abs,
            failures: Vec::new(),
            compared: 0,
            worst: 0.0,
        }
    }

    /// Compares one value.
    pub fn one(&mut self, what: String, got: f64, want: f64) {
        self.compared += 1;
        let err = (got - want).abs();
        self.worst = self.worst.max(err / (want.abs() + self.abs / self.rel));
        // A NaN never passes.
        if err.is_nan() || err > self.rel * want.abs() + self.abs {
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
            if g.is_infinite() && g == w {
                self.compared += 1;
                continue;
            }
            self.one(format!("{what}[{i}]"), f64::from(*g), f64::from(*w));
        }
    }

    /// Compares against f64 reference values.
    pub fn all64(&mut self, what: &str, got: &[f32], want: &[f64]) {
        if got.len() != want.len() {
            self.failures.push(format!(
                "{what}: {} values, reference has {}",
                got.len(),
                want.len()
            ));
            return;
        }
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            if g.is_infinite() && f64::from(*g) == *w {
                self.compared += 1;
                continue;
            }
            self.one(format!("{what}[{i}]"), f64::from(*g), *w);
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

/// A JSON array of numbers as f64.
pub fn doubles(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// The two references of a conformance test side by side: LibAUC's f32 run (the compatibility
/// check, at the tolerance the test has always had) and LibAUC's code run in float64 on the
/// same inputs (at a tighter tolerance). A value passes the f32 check within its tolerance — or,
/// where LibAUC's own f32 result is farther from its float64 result than that tolerance (f32
/// rounding in LibAUC, not a difference of math), when it is within the f64 tolerance of the
/// float64 result; such values are counted in `excused`. Without a float64 file only the f32
/// check runs.
pub struct Compat {
    /// Against LibAUC's f32 run.
    pub f32: Checker,
    /// Against the float64 reference.
    pub f64: Checker,
    /// Values where LibAUC's f32 run is off and the float64 reference decided.
    pub excused: Vec<String>,
}

impl Compat {
    /// Tolerances `rel32` (absolute floor 1e-6) and `rel64` (floor `abs64`).
    pub fn new(rel32: f64, rel64: f64, abs64: f64) -> Self {
        Compat {
            f32: Checker::new(rel32),
            f64: Checker::with_floor(rel64, abs64),
            excused: Vec::new(),
        }
    }

    /// Compares one value with both references.
    pub fn one(&mut self, what: String, got: f64, want32: f64, want64: Option<f64>) {
        let tol32 = |w: f64| self.f32.rel * w.abs() + self.f32.abs;
        if let Some(w64) = want64 {
            self.f64.one(format!("{what} (f64)"), got, w64);
            if (got - want32).abs() > tol32(want32) && (want32 - w64).abs() > tol32(w64) {
                let tol64 = self.f64.rel * w64.abs() + self.f64.abs;
                if (got - w64).abs() <= tol64 {
                    self.f32.compared += 1;
                    self.excused.push(format!(
                        "{what}: got {got:.9}, LibAUC f32 {want32:.9}, f64 {w64:.9}"
                    ));
                    return;
                }
            }
        }
        self.f32.one(what, got, want32);
    }

    /// Compares an array with the references' arrays (`v32`, `v64` JSON arrays or numbers).
    pub fn all(&mut self, what: &str, got: &[f32], v32: &Value, v64: Option<&Value>) {
        let read = |v: &Value| match v.as_array() {
            Some(_) => doubles(v),
            None => vec![f(v)],
        };
        let w32 = read(v32);
        let w64 = v64.map(read);
        if got.len() != w32.len() || w64.as_ref().is_some_and(|w| w.len() != w32.len()) {
            self.f32.failures.push(format!(
                "{what}: {} values, peer has {}",
                got.len(),
                w32.len()
            ));
            return;
        }
        for (i, (g, w)) in got.iter().zip(&w32).enumerate() {
            if g.is_infinite() && f64::from(*g) == *w {
                self.f32.compared += 1;
                continue;
            }
            self.one(
                format!("{what}[{i}]"),
                f64::from(*g),
                *w,
                w64.as_ref().map(|v| v[i]),
            );
        }
    }

    /// Fails with every difference listed; prints what the float64 reference excused.
    pub fn assert_clean(&self) {
        if !self.excused.is_empty() {
            eprintln!(
                "{} of {} values differ from LibAUC's f32 run by more than its tolerance where LibAUC's f32 run differs from its float64 run by as much; they match the float64 run:\n{}",
                self.excused.len(),
                self.f32.compared,
                self.excused.join("\n")
            );
        }
        eprintln!(
            "f32 check: {} values, worst at {:.2} of its tolerance; f64 check: {} values, worst at {:.2} of its tolerance",
            self.f32.compared,
            self.f32.worst / self.f32.rel,
            self.f64.compared,
            self.f64.worst / self.f64.rel
        );
        self.f32.assert_clean();
        self.f64.assert_clean();
    }
}
