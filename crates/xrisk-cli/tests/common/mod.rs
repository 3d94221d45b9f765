//! Helpers shared by the CLI tests.
#![allow(dead_code)] // each test binary uses a subset of the helpers

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the built `xrisk` binary.
/// Asserts that the run folders `a` (uninterrupted) and `b` (interrupted and resumed) end
/// alike: the same `metrics.jsonl` and the same final checkpoint, byte for byte.
#[allow(dead_code)] // not every test binary resumes runs
pub fn assert_same_end(a: &Path, b: &Path, name: &str) {
    let read = |p: PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert_eq!(
        String::from_utf8_lossy(&read(a.join("metrics.jsonl"))),
        String::from_utf8_lossy(&read(b.join("metrics.jsonl"))),
        "{name}"
    );
    assert!(
        read(a.join("checkpoint.bin")) == read(b.join("checkpoint.bin")),
        "{name}: the final checkpoints differ"
    );
}

pub fn xrisk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xrisk"))
        .args(args)
        .output()
        .expect("run xrisk")
}

/// For each `(config text, expected words)`: writes the text to `dir/bad.toml`, runs
/// `xrisk train` on it and checks that it fails with a message containing the words.
pub fn assert_refused(dir: &Path, cases: &[(String, &str)]) {
    for (text, want) in cases {
        let p = dir.join("bad.toml");
        std::fs::write(&p, text).unwrap();
        let o = xrisk(&["train", "--config", p.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "accepted:\n{text}");
        assert!(err.contains(want), "want {want:?} in: {err}");
    }
}

/// Runs `xrisk train --config CFG --json` plus `extra` arguments; returns the printed JSON and
/// the log (stderr), failing with the log when the run fails.
pub fn train_json(cfg: &Path, extra: &[&str]) -> (serde_json::Value, String) {
    let mut args = vec!["train", "--config", cfg.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let o = xrisk(&args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{}: {err}", cfg.display());
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: {}",
            cfg.display(),
            String::from_utf8_lossy(&o.stdout)
        )
    });
    (v, err)
}

/// Writes `text` to a new `dir/cN.toml` (N counts up within the test binary) and returns it.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = dir.join(format!("c{n}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

/// A LETOR file: `queries` × 15 documents, 4 features, the label graded by feature 1.
pub fn write_letor(path: &Path, queries: u64, seed: u64) {
    let mut text = String::new();
    for q in 0..queries {
        for d in 0..15u64 {
            let f1 = ((q * 31 + d * 17 + seed) % 23) as f64 / 23.0;
            let f2 = ((q * 7 + d * 5 + seed) % 11) as f64 / 11.0;
            let label = (f1 * 4.0).floor().min(3.0) as u64 * u64::from(d % 4 != 3);
            text.push_str(&format!(
                "{label} qid:{} 1:{f1:.4} 2:{f2:.4} 3:{:.3} 4:1\n",
                q + 1,
                d as f64 / 15.0
            ));
        }
    }
    std::fs::write(path, text).unwrap();
}

/// 120 bags of 3–8 instances with 4 features; positive bags hold one instance whose first
/// feature is shifted by +3 (a deterministic pseudo-random generator, no dependencies).
pub fn write_bags(dir: &Path) -> PathBuf {
    let mut state = 12345u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64) / f64::from(1u32 << 31) - 0.5
    };
    let mut text = String::new();
    for b in 0..120 {
        let label = b % 3 == 0;
        let n = 3 + (b % 6);
        for i in 0..n {
            let shift = if label && i == 0 { 3.0 } else { 0.0 };
            let feats: Vec<String> = (0..4)
                .map(|j| {
                    let v = 2.0 * next() + if j == 0 { shift } else { 0.0 };
                    format!("{v:.4}")
                })
                .collect();
            writeln!(text, "{},bag{b},{}", u8::from(label), feats.join(",")).unwrap();
        }
    }
    let p = dir.join("bags.csv");
    std::fs::write(&p, text).unwrap();
    p
}

/// 600 rows of 4 features and 3 imbalanced tasks (`y0`–`y2`) as `dir/t.csv`.
pub fn write_table(dir: &Path) -> PathBuf {
    let mut state = 99u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64) / f64::from(1u32 << 31) - 0.5
    };
    let mut text = String::from("f0,f1,f2,f3,y0,y1,y2\n");
    for _ in 0..600 {
        let f: Vec<f64> = (0..4).map(|_| next()).collect();
        let y = [f[0] > 0.2, f[1] > 0.0, f[2] > 0.3].map(u8::from);
        writeln!(
            text,
            "{:.4},{:.4},{:.4},{:.4},{},{},{}",
            f[0], f[1], f[2], f[3], y[0], y[1], y[2]
        )
        .unwrap();
    }
    let p = dir.join("t.csv");
    std::fs::write(&p, text).unwrap();
    p
}
