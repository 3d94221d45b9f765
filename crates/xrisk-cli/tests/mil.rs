//! `xrisk train` on bags (`[data] format = "mil"`): MIDAM with attention and softmax pooling
//! and the pooled cross-entropy baseline train end to end on a synthetic bag set where a bag
//! is positive exactly when one of its instances carries a shifted feature, and reach a test
//! AUROC well above chance; mismatched settings are named errors.

mod common;

use common::xrisk;
use std::path::{Path, PathBuf};

fn config(dir: &Path, loss: &str, optimizer: &str, sampler: &str) -> PathBuf {
    let text = format!(
        "[data]\nformat = \"mil\"\ntrain = \"bags.csv\"\nnormalize = \"standard\"\n\
         [model]\nkind = \"ffnn_att\"\nhidden = [16]\n{loss}\n{optimizer}\n{sampler}\n\
         [train]\nepochs = 30\nthreads = 1\n"
    );
    common::write_config(dir, &text)
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xrisk-mil-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const MIDAM_OPT: &str = "[optimizer]\nkind = \"midam\"\nlr = 0.05\nmomentum = 0.1";
const MIDAM_SAMPLER: &str = "[sampler]\nbatch_size = 16\ninstances = 4";

#[test]
fn midam_and_pooled_ce_learn_a_bag_task() {
    let dir = tmp("learn");
    common::write_bags(&dir);
    let cases = [
        (
            "[loss]\nkind = \"midam\"\npooling = \"attention\"",
            MIDAM_OPT,
            MIDAM_SAMPLER,
        ),
        (
            "[loss]\nkind = \"midam\"\npooling = \"softmax\"\ntau = 0.5",
            MIDAM_OPT,
            MIDAM_SAMPLER,
        ),
        (
            "[loss]\nkind = \"ce\"\npooling = \"max\"",
            "[optimizer]\nkind = \"adam\"\nlr = 0.01",
            "[sampler]\nkind = \"random\"\nbatch_size = 16",
        ),
    ];
    for (loss, opt, sampler) in cases {
        let cfg = config(&dir, loss, opt, sampler);
        let out = dir.join(format!(
            "out-{}",
            cfg.file_stem().unwrap().to_string_lossy()
        ));
        let (v, err) = common::train_json(&cfg, &["--out", out.to_str().unwrap()]);
        assert!(
            err.contains("84 training bags (28 positive), 36 test bags (12 positive)"),
            "{err}"
        );
        let auroc = v["test"]["auroc"].as_f64().unwrap();
        assert!(auroc > 0.9, "{loss}: test AUROC {auroc}\n{err}");
        let lines = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
        assert_eq!(lines.lines().count(), 30, "{loss}");
        assert!(out.join("report.html").exists());
    }
    // The same seed gives the same run.
    let cfg = config(&dir, "[loss]\nkind = \"midam\"", MIDAM_OPT, MIDAM_SAMPLER);
    let run = || xrisk(&["train", "--config", cfg.to_str().unwrap(), "--json"]).stdout;
    assert_eq!(run(), run());
}

#[test]
fn mismatched_mil_settings_are_named_errors() {
    let dir = tmp("errors");
    common::write_bags(&dir);
    let ok = std::fs::read_to_string(config(
        &dir,
        "[loss]\nkind = \"midam\"",
        MIDAM_OPT,
        MIDAM_SAMPLER,
    ))
    .unwrap();
    common::assert_refused(
        &dir,
        &[
            (
                ok.replace("kind = \"midam\"\nlr", "kind = \"adam\"\nlr"),
                "optimized by kind = \"midam\"",
            ),
            (
                ok.replace(
                    "[loss]\nkind = \"midam\"",
                    "[loss]\nkind = \"midam\"\npooling = \"max\"",
                ),
                "MIDAM pools by softmax or attention",
            ),
            (
                ok.replace("kind = \"ffnn_att\"", "kind = \"mlp\""),
                "kind = \"ffnn_att\"",
            ),
            (
                ok.replace("[loss]\nkind = \"midam\"", "[loss]\nkind = \"ap\""),
                "MIL data trains with midam",
            ),
            (
                ok.replace("instances = 4", "instances = 0"),
                "instances = 0",
            ),
            (
                ok.replace("format = \"mil\"", "format = \"csv\""),
                "need bags",
            ),
            (
                ok.replace("train = \"bags.csv\"", "train = \"missing.csv\""),
                "missing.csv",
            ),
        ],
    );
}
