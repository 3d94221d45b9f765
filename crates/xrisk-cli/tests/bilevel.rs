//! `xrisk bilevel` end to end on the embedded a8a: files written, curves readable, bad input
//! rejected with a message that says what to change.

mod common;
use common::xrisk;
use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("xrisk-bilevel-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn writes_curves_plots_and_a_summary_for_each_method() {
    let out = tmp("run");
    let o = xrisk(&[
        "bilevel",
        "--iters",
        "4",
        "--eval-every",
        "2",
        "--blocks",
        "10",
        "--blocks-per-iter",
        "3",
        "--methods",
        "v1,v2,rsvrb",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let curves = std::fs::read_to_string(out.join("curves.jsonl")).unwrap();
    let points: Vec<serde_json::Value> = curves
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // iterations 0, 2, 4 for each of the three methods
    assert_eq!(points.len(), 9, "{curves}");
    for p in &points {
        let loss = p["upper_loss"].as_f64().unwrap();
        let acc = p["test_accuracy"].as_f64().unwrap();
        assert!(
            loss > 0.0 && loss < 1.0 && (0.0..=1.0).contains(&acc),
            "{p}"
        );
    }
    // every model starts at w = 0: validation loss log 2
    assert!((points[0]["upper_loss"].as_f64().unwrap() - std::f64::consts::LN_2).abs() < 1e-9);
    // samples: 2 levels × I × B per iteration (RSVRB draws a second block set)
    assert_eq!(points[2]["samples"], 4 * 2 * 3 * 32);
    assert_eq!(points[8]["samples"], 4 * 4 * 3 * 32);
    let summary: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary.len(), 3);
    for name in [
        "upper_loss_vs_iterations",
        "upper_loss_vs_samples",
        "test_accuracy_vs_iterations",
        "test_accuracy_vs_samples",
    ] {
        let png = std::fs::read(out.join(format!("{name}.png"))).unwrap();
        assert_eq!(&png[1..4], b"PNG", "{name}");
    }
    // A second run into the same folder is refused and leaves the first run's files alone.
    let o = xrisk(&["bilevel", "--iters", "1", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("already holds a bilevel run") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("curves.jsonl")).unwrap(),
        curves
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_arguments_and_files_get_clear_errors() {
    let out = tmp("bad");
    let o = xrisk(&[
        "bilevel",
        "--iters",
        "1",
        "--val-fraction",
        "1.5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("--val-fraction 1.5 must be strictly between 0 and 1")
    );

    let o = xrisk(&[
        "bilevel",
        "--iters",
        "1",
        "--blocks-per-iter",
        "20",
        "--blocks",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("blocks_per_iter = 20"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    std::fs::create_dir_all(&out).unwrap();
    let train = out.join("train.svm");
    std::fs::write(&train, "1 1:1 2:1\n-1 1:1\n2 2:1\n1 1:1\n-1 2:1\n").unwrap();
    let o = xrisk(&[
        "bilevel",
        "--iters",
        "1",
        "--train",
        train.to_str().unwrap(),
        "--test",
        train.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("training file: row 3 has label 2") && err.contains("±1 labels"),
        "{err}"
    );

    std::fs::write(&train, "1 1:1\n-1 1:x\n").unwrap();
    let o = xrisk(&[
        "bilevel",
        "--iters",
        "1",
        "--train",
        train.to_str().unwrap(),
        "--test",
        train.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("train.svm:2"), "{err}");

    // an output path that is a file
    let o = xrisk(&["bilevel", "--iters", "1", "--out", train.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("cannot create the output folder"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
