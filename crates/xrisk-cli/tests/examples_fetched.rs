//! The example configs under `examples/*/`: the synthetic many-class ones run in every test run
//! (they need no data); the others need data sets from `xrisk data fetch` and run with
//! `cargo test --release --workspace --test examples_fetched -- --ignored` (set
//! `XRISK_DATA_DIR` if the data is not in `~/.cache/xrisk/data`).

mod common;

use common::repo;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn configs(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("examples").join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

fn run_one(cfg: &Path) -> Value {
    common::train_json(cfg, &["--epochs", "1"]).0
}

#[test]
fn synthetic_many_class_examples_run() {
    let synthetic: Vec<PathBuf> = configs("multiclass")
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("synthetic"))
        .collect();
    assert_eq!(synthetic.len(), 2, "{synthetic:?}");
    for cfg in &synthetic {
        let v = run_one(cfg);
        let t1 = v["test"]["top1"].as_f64().unwrap();
        let t5 = v["test"]["top5"].as_f64().unwrap();
        assert!(
            (0.0..=1.0).contains(&t1) && t5 >= t1,
            "{}: {v}",
            cfg.display()
        );
    }
}

#[test]
#[ignore = "needs xrisk data fetch movielens-100k, mslr10k-subset, mil, yeast, letter, protein-kddcup04, fashion-mnist and text-corpora"]
fn fetched_data_examples_run() {
    let mut n = 0;
    for dir in [
        "ranking",
        "mil",
        "multilabel",
        "multiclass",
        "protein",
        "lm",
        "contrastive",
    ] {
        for cfg in configs(dir) {
            let v = run_one(&cfg);
            assert!(v["test"].is_object(), "{}: {v}", cfg.display());
            n += 1;
        }
    }
    assert!(n >= 27, "{n} configs");
}
