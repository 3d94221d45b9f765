//! `xrisk train` on multi-label tables: MultiLabelAUCM + PESG, mAP + SOAP, multi-label pAUC +
//! SOPA-s and per-task CE learn
//! a synthetic 3-task table (task k is positive when feature k is above a task-specific
//! threshold, so the tasks are imbalanced differently) to a mean test AUROC well above
//! chance, and report per-task metrics; mismatched settings are named errors.

mod common;

use std::path::{Path, PathBuf};

fn config(dir: &Path, body: &str) -> PathBuf {
    let text = format!(
        "[data]\nformat = \"csv\"\ntrain = \"t.csv\"\nlabel_prefix = \"y\"\nnormalize = \"standard\"\n\
         [model]\nkind = \"mlp\"\nhidden = [16]\n{body}\n[train]\nepochs = 15\nthreads = 1\n"
    );
    common::write_config(dir, &text)
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xrisk-ml-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn multilabel_losses_learn_every_task() {
    let dir = tmp("learn");
    common::write_table(&dir);
    for body in [
        "[loss]\nkind = \"multilabel_aucm\"\n[optimizer]\nkind = \"pesg\"\nlr = 0.1\n[sampler]\nbatch_size = 16",
        "[loss]\nkind = \"map\"\n[optimizer]\nkind = \"soap\"\nlr = 0.01\n[sampler]\nbatch_size = 16",
        "[loss]\nkind = \"multilabel_pauc\"\n[optimizer]\nkind = \"sopas\"\nlr = 0.01\n[sampler]\nbatch_size = 16",
        "[loss]\nkind = \"ce\"\n[optimizer]\nkind = \"adam\"\nlr = 0.01\n[sampler]\nbatch_size = 32",
    ] {
        let cfg = config(&dir, body);
        let out = dir.join(format!(
            "out-{}",
            cfg.file_stem().unwrap().to_string_lossy()
        ));
        let (v, err) = common::train_json(&cfg, &["--out", out.to_str().unwrap()]);
        assert!(
            err.contains("train 420 rows, test 180 rows, 4 features, 3 tasks"),
            "{err}"
        );
        let per: Vec<f64> = v["test"]["auroc"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(per.len(), 3);
        for (k, a) in per.iter().enumerate() {
            assert!(*a > 0.9, "{body}: task {k} AUROC {a}\n{err}");
        }
        let mean = v["test"]["mean_auroc"].as_f64().unwrap();
        assert!((mean - per.iter().sum::<f64>() / 3.0).abs() < 1e-12);
        let lines = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
        assert_eq!(lines.lines().count(), 15);
    }
}

#[test]
fn mismatched_multilabel_settings_are_named_errors() {
    let dir = tmp("errors");
    common::write_table(&dir);
    let ok = std::fs::read_to_string(config(
        &dir,
        "[loss]\nkind = \"multilabel_aucm\"\n[optimizer]\nkind = \"pesg\"",
    ))
    .unwrap();
    std::fs::write(dir.join("bad_label.csv"), "f0,y0\n0.5,1\n0.1,2\n").unwrap();
    common::assert_refused(
        &dir,
        &[
            (
                ok.replace("kind = \"pesg\"", "kind = \"adam\"\nlr = 0.1"),
                "optimized by pesg",
            ),
            (
                ok.replace("kind = \"multilabel_aucm\"", "kind = \"ap\""),
                "multi-label data trains with",
            ),
            (
                ok.replace("label_prefix = \"y\"", "label_prefix = \"z\""),
                "no column starts with \"z\"",
            ),
            (
                ok.replace("label_prefix = \"y\"\n", ""),
                "needs several label columns",
            ),
            (ok.replace("t.csv", "bad_label.csv"), "2 is not 0 or 1"),
            (
                ok.replace("kind = \"mlp\"", "kind = \"resnet20\""),
                "train an mlp or linear model",
            ),
        ],
    );
}
