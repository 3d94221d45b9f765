//! `xrisk train` on many-class data: the entropic loss with SCENT and with SOX, and the
//! full-softmax baseline, learn a synthetic 200-class problem (well-separated Gaussian
//! prototypes) to a high test top-1 accuracy; a csv file with class indices trains too; bad
//! settings are named errors.

mod common;

use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xrisk-mc-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const SYNTH: &str = "[data]\nformat = \"synthetic_classes\"\nn_classes = 200\nrows_per_class = 10\n\
                     n_features = 16\nnoise = 0.2\n[model]\nkind = \"linear\"\n";

fn run_json(cfg: &Path) -> (serde_json::Value, String) {
    common::train_json(cfg, &[])
}

#[test]
fn scent_sox_and_softmax_learn_many_classes() {
    let dir = tmp("learn");
    for (loss, opt, sampler) in [
        (
            "kind = \"entropic\"\nestimator = \"scent\"",
            "kind = \"scent\"\nlr = 0.1\nmomentum = 0.9",
            "batch_size = 64\nnum_neg = 32",
        ),
        (
            "kind = \"entropic\"\nestimator = \"sox\"",
            "kind = \"scent\"\nlr = 0.1\nmomentum = 0.9",
            "batch_size = 64\nnum_neg = 32",
        ),
        (
            "kind = \"softmax_ce\"",
            "kind = \"adam\"\nlr = 0.05",
            "batch_size = 64",
        ),
    ] {
        let cfg = write(
            &dir,
            "c.toml",
            &format!(
                "{SYNTH}[loss]\n{loss}\n[optimizer]\n{opt}\n[sampler]\n{sampler}\n[train]\nepochs = 8\nthreads = 1\n"
            ),
        );
        let (v, err) = run_json(&cfg);
        assert!(
            err.contains("train 1400 rows, test 600 rows, 16 features, 200 classes"),
            "{err}"
        );
        let top1 = v["test"]["top1"].as_f64().unwrap();
        assert!(top1 > 0.8, "{loss}: top-1 {top1}\n{err}");
        assert!(v["test"]["top5"].as_f64().unwrap() >= top1);
    }
}

#[test]
fn a_csv_with_class_indices_trains() {
    let dir = tmp("csv");
    let mut text = String::from("a,b,label\n");
    for i in 0..90 {
        let c = i % 3;
        // Class c around angle 2πc/3 (the class matrix has no bias, so classes sit on a circle).
        let t = std::f64::consts::TAU * c as f64 / 3.0 + 0.002 * i as f64;
        text.push_str(&format!("{},{},{c}\n", t.cos(), t.sin()));
    }
    write(&dir, "t.csv", &text);
    let cfg = write(
        &dir,
        "c.toml",
        "[data]\nformat = \"csv\"\ntrain = \"t.csv\"\nlabel_column = \"label\"\nnormalize = \"standard\"\n\
         [model]\nkind = \"linear\"\n[loss]\nkind = \"entropic\"\n[optimizer]\nkind = \"scent\"\nlr = 0.1\n\
         [sampler]\nbatch_size = 16\n[train]\nepochs = 40\ndecay_epochs = []\nthreads = 1\n",
    );
    let (v, err) = run_json(&cfg);
    assert!(err.contains("3 classes"), "{err}");
    assert!(v["test"]["top1"].as_f64().unwrap() > 0.9, "{v}");
}

#[test]
fn bad_many_class_settings_are_named_errors() {
    let dir = tmp("errors");
    write(&dir, "frac.csv", "a,label\n0.5,1.5\n0.1,0\n");
    let ok = format!("{SYNTH}[loss]\nkind = \"entropic\"\n[optimizer]\nkind = \"scent\"\n");
    common::assert_refused(
        &dir,
        &[
        (ok.replace("estimator", "x").replace("kind = \"entropic\"", "kind = \"entropic\"\nestimator = \"adam\""), "estimator = \"adam\""),
        (ok.replace("kind = \"entropic\"", "kind = \"ap\""), "synthetic_classes\" trains with"),
        (ok.replace("n_classes = 200", "n_classes = 1"), "n_classes ≥ 2"),
        (ok.replace("noise = 0.2", "noise = -1"), "[data] noise = -1"),
        (ok.replace("kind = \"linear\"", "kind = \"resnet20\""), "linear or mlp encoder"),
        (ok.replace("kind = \"scent\"", "kind = \"pesg\""), "scent or a plain optimizer"),
        // Sizes that cannot fit in memory are refused before anything is allocated.
        (ok.replace("n_classes = 200", "n_classes = 4000000000"), "lower [data] n_classes / rows_per_class / n_features"),
        (
            ok.replace("kind = \"linear\"", "kind = \"mlp\"\nhidden = [4000000000]"),
            "lower [model] hidden (or the number of classes)",
        ),
        (
            "[data]\nformat = \"csv\"\ntrain = \"frac.csv\"\nlabel_column = \"label\"\n[loss]\nkind = \"entropic\"\n[optimizer]\nkind = \"scent\"\n".to_string(),
            "is not a class index",
        ),
        ],
    );
}
