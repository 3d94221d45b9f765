//! ResNet20 trained a few steps with xrisk's convolution and batch-norm kernels (the default on
//! flex) and with burn's (`XRISK_CONV=burn`) gives the same loss and metrics within float tolerance.

mod common;

use common::repo;
use std::process::Command;

fn run(kernels: &str, out: &std::path::Path) -> serde_json::Value {
    let _ = std::fs::remove_dir_all(out);
    let o = Command::new(env!("CARGO_BIN_EXE_xrisk"))
        .env("XRISK_CONV", kernels)
        .args(["train", "--config"])
        .arg(repo().join("examples/resnet20_aucm_pesg.toml"))
        .args([
            "--epochs",
            "1",
            "--max-steps-per-epoch",
            "4",
            "--json",
            "--out",
        ])
        .arg(out)
        .output()
        .expect("run xrisk");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    serde_json::from_str(line.lines().next().unwrap()).unwrap()
}

#[test]
fn resnet20_steps_with_xrisks_kernels_match_burns() {
    let dir = std::env::temp_dir().join(format!("xrisk-conv-{}", std::process::id()));
    let ours = run("xrisk", &dir.join("xrisk"));
    let burn = run("burn", &dir.join("burn"));
    let close = |a: &serde_json::Value, b: &serde_json::Value, tol: f64, what: &str| {
        let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
        assert!(
            (a - b).abs() <= tol * b.abs().max(1e-3),
            "{what}: xrisk {a} vs burn {b}"
        );
    };
    close(&ours["train_loss"], &burn["train_loss"], 1e-3, "train loss");
    for k in ["auroc", "auprc", "pauc"] {
        close(&ours["test"][k], &burn["test"][k], 1e-3, k);
    }
    // The two runs are not bit-identical (different summation orders): the comparison above is
    // the tolerance, not equality.
    std::fs::remove_dir_all(&dir).unwrap();
}
