//! Model selection (`[data] validation`, `[train] select`): the run keeps the epoch with the
//! best validation metric — the largest for AUPRC and accuracy, the smallest for a
//! cross-entropy — reports the test metrics of that model (equal to its epoch line's) beside
//! the last epoch's, and refuses settings it cannot honour.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xrisk-select-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn lines(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs `text` with `--out` and `--json`; checks that the kept epoch is the best of the
/// validation metric `key` over the epoch lines (`lower`: smallest) and that the reported test
/// metrics are that epoch's.
fn check_selection(dir: &Path, name: &str, text: &str, key: &str, lower: bool) {
    let cfg = common::write_config(dir, text);
    let out = dir.join(name);
    let (v, log) = common::train_json(&cfg, &["--out", out.to_str().unwrap()]);
    let lines = lines(&out);
    assert!(lines.len() >= 3, "{name}: {log}");
    let value = |l: &Value| l["validation"][key].as_f64().unwrap();
    let mut best = 0;
    for (i, l) in lines.iter().enumerate() {
        let (a, b) = (value(l), value(&lines[best]));
        if (lower && a < b) || (!lower && a > b) {
            best = i;
        }
    }
    let kept = v["selected"]["epoch"].as_u64().unwrap() as usize;
    assert_eq!(kept, best + 1, "{name}: {log}");
    assert_eq!(
        v["selected"]["validation"], lines[best]["validation"][key],
        "{name}"
    );
    assert_eq!(
        v["test"], lines[best]["test"],
        "{name}: the kept model's test metrics"
    );
    assert_eq!(
        v["last_epoch"]["test"],
        lines[lines.len() - 1]["test"],
        "{name}: the last epoch's"
    );
    assert!(log.contains(&format!("kept epoch {kept}")), "{name}: {log}");
}

#[test]
fn the_best_validation_epoch_is_kept_and_reported() {
    let dir = tmp("kept");
    // Binary: AP + SOAP on embedded Fashion-MNIST with a fifth of the training rows held out.
    let base = std::fs::read_to_string(common::repo().join("examples/ap_soap.toml")).unwrap();
    let binary = base.replace("[data]", "[data]\nvalidation = 0.2").replace(
        "epochs = 20",
        "epochs = 6\nselect = \"auprc\"\nmax_steps_per_epoch = 15",
    );
    check_selection(&dir, "binary", &binary, "auprc", false);
    // Many-class: the smallest validation cross-entropy.
    let many = "[data]\nformat = \"synthetic_classes\"\nn_classes = 50\nrows_per_class = 10\n\
                n_features = 16\nnoise = 0.3\nvalidation = 0.25\n[model]\nkind = \"linear\"\n\
                [loss]\nkind = \"softmax_ce\"\n[optimizer]\nkind = \"adam\"\nlr = 0.05\n\
                [sampler]\nbatch_size = 32\n[train]\nepochs = 6\nselect = \"ce\"\n";
    check_selection(&dir, "many", many, "ce", true);
    // Multi-label: the largest mean validation AP.
    common::write_table(&dir);
    let multi = "[data]\nformat = \"csv\"\ntrain = \"t.csv\"\nlabel_prefix = \"y\"\nvalidation = 0.2\n\
                 [model]\nkind = \"mlp\"\nhidden = [16]\n[loss]\nkind = \"ce\"\n[optimizer]\n\
                 kind = \"adam\"\nlr = 0.01\n[sampler]\nbatch_size = 32\n[train]\nepochs = 5\n\
                 select = \"mean_ap\"\n";
    check_selection(&dir, "multilabel", multi, "mean_ap", false);
    // MIL: the largest validation AUROC.
    common::write_bags(&dir);
    let mil = "[data]\nformat = \"mil\"\ntrain = \"bags.csv\"\nvalidation = 0.25\n[model]\n\
               kind = \"ffnn_att\"\n[loss]\nkind = \"midam\"\n[optimizer]\nkind = \"midam\"\n\
               lr = 0.05\n[sampler]\nbatch_size = 16\n[train]\nepochs = 5\nselect = \"auroc\"\n";
    check_selection(&dir, "mil", mil, "auroc", false);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn without_validation_the_run_is_unchanged() {
    let dir = tmp("plain");
    let base = std::fs::read_to_string(common::repo().join("examples/ap_soap.toml")).unwrap();
    let text = base.replace("epochs = 20", "epochs = 2\nmax_steps_per_epoch = 10");
    let cfg = common::write_config(&dir, &text);
    let (v, _) = common::train_json(&cfg, &[]);
    assert!(
        v.get("selected").is_none() && v.get("last_epoch").is_none(),
        "{v}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn selection_settings_it_cannot_honour_are_refused() {
    let dir = tmp("bad");
    let base = std::fs::read_to_string(common::repo().join("examples/ap_soap.toml")).unwrap();
    let with = |data: &str, train: &str| {
        base.replace("[data]", &format!("[data]\n{data}")).replace(
            "epochs = 20",
            &format!("epochs = 2\nmax_steps_per_epoch = 5\n{train}"),
        )
    };
    common::assert_refused(
        &dir,
        &[
            (with("", "select = \"auprc\""), "add [data] validation"),
            (with("validation = 1.5", ""), "[data] validation = 1.5"),
            (
                with("validation = 0.2", "select = \"ndcg@10\""),
                "[train] select = \"ndcg@10\": this run's validation metrics are auroc, auprc, pauc",
            ),
            (
                "[data]\nformat = \"text\"\ntrain = \"x.txt\"\nvalidation = 0.2\n[model]\nkind = \"char_gru\"\n\
                 [loss]\nkind = \"robust_lm\"\n[optimizer]\nkind = \"adam\"\nlr = 0.01\n"
                    .to_string(),
                "model selection covers binary, MIL, multi-label and many-class runs",
            ),
        ],
    );
    std::fs::remove_dir_all(&dir).ok();
}
