//! `xrisk eval` against scikit-learn / LibAUC on files the generator wrote
//! (`conformance/eval/`, see `conformance/gen_metrics.py`): the JSON must have exactly the
//! expected keys and every value within 1e-9.

mod common;

use common::{repo, xrisk};
use serde_json::Value;

use std::process::Command;

#[test]
fn eval_matches_the_peer_on_generated_files() {
    let dir = repo().join("conformance/eval");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let cases = expected.as_object().unwrap();
    assert!(cases.len() >= 4);
    for (name, case) in cases {
        let file = dir.join(format!("{name}.csv"));
        let mut args = vec![
            "eval".to_string(),
            "--pred".into(),
            file.display().to_string(),
            "--json".into(),
        ];
        args.extend(
            case["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string()),
        );
        let out = Command::new(env!("CARGO_BIN_EXE_xrisk"))
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        let (got, want) = (
            got.as_object().unwrap(),
            case["expected"].as_object().unwrap(),
        );
        let mut gk: Vec<_> = got.keys().collect();
        let mut wk: Vec<_> = want.keys().collect();
        gk.sort();
        wk.sort();
        assert_eq!(gk, wk, "{name}: keys");
        for (k, w) in want {
            let g = got[k].as_f64().unwrap();
            assert!(
                (g - w.as_f64().unwrap()).abs() <= 1e-9,
                "{name}: {k}: got {g}, peer {w}"
            );
        }
    }
}

#[test]
fn bad_files_fail_with_line_and_column() {
    let dir = std::env::temp_dir().join(format!("xrisk-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            "label,score\n1,0.5\n0,n/a\n",
            "preds.csv:3: column \"score\": \"n/a\" is not a number",
        ),
        (
            "label,score\n1,0.5\n2,0.1\n",
            "preds.csv:3: column \"label\": 2 is not a valid label",
        ),
        (
            "label,score\n1,0.5\n1,0.1\n",
            "only one class present (2 positives, 0 negatives)",
        ),
        (
            "lbl,score\n1,0.5\n",
            "preds.csv:1: the header has no \"label\" column",
        ),
    ];
    for (text, want) in cases {
        let f = dir.join("preds.csv");
        std::fs::write(&f, text).unwrap();
        let out = xrisk(&["eval", "--pred", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: ") && err.contains(want), "{err}");
    }
    let out = xrisk(&["eval", "--pred", dir.join("missing.csv").to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.csv: No such file"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn table_output_lists_metrics_in_order() {
    let f = repo().join("conformance/eval/letor_graded.csv");
    let out = xrisk(&["eval", "--pred", f.to_str().unwrap(), "--k", "5,10"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["n", "positives", "auroc", "auprc", "ndcg@5", "ndcg@10"]
    );
}

#[test]
fn demo_runs_and_writes_its_report() {
    let dir = std::env::temp_dir().join(format!("xrisk-demo-{}", std::process::id()));
    let out = xrisk(&[
        "demo",
        "--epochs",
        "1",
        "--json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["CE (Adam)", "AUCM + PESG", "AP + SOAP", "pAUC-DRO + SOPA-s"]
    );
    for r in rows {
        for k in ["auroc", "auprc", "pauc_fpr_0.3"] {
            let v = r[k].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{k} = {v}");
        }
        // One epoch of any of these losses already ranks far better than chance.
        assert!(r["auroc"].as_f64().unwrap() > 0.6, "{r}");
    }
    // The tutorial protocol: CE keeps its one epoch; the X-risk methods fine-tune after 10
    // CE epochs, so the epoch they keep is the 11th.
    let kept: Vec<u64> = rows
        .iter()
        .map(|r| r["kept_epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(kept, [1, 11, 11, 11]);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(report["protocol"], "tutorial");
    let best = report["best"].as_array().unwrap();
    assert_eq!(best.len(), 3);
    for b in best {
        // The winner of a metric has the largest value of it among the rows.
        let key = match b["metric"].as_str().unwrap() {
            "AUROC" => "auroc",
            "AUPRC" => "auprc",
            _ => "pauc_fpr_0.3",
        };
        let top = rows
            .iter()
            .map(|r| r[key].as_f64().unwrap())
            .fold(f64::MIN, f64::max);
        assert_eq!(b["value"].as_f64().unwrap(), top, "{b}");
    }
    for f in [
        "metrics.json",
        "roc_curve.csv",
        "pr_curve.csv",
        "roc.png",
        "pr.png",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let png = std::fs::read(dir.join("roc.png")).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "roc.png is a real picture"
    );
    std::fs::remove_dir_all(&dir).ok();
}
