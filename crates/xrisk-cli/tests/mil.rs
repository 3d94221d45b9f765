//! `xrisk train` on bags (`[data] format = "mil"`): MIDAM with attention and softmax pooling
//! and the pooled cross-entropy baseline train end to end on a synthetic bag set where a bag
//! is positive exactly when one of its instances carries a shifted feature, and reach a test
//! AUROC well above chance; mismatched settings are named errors.

mod common;

use common::xrisk;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// 120 bags of 3–8 instances with 4 features; positive bags hold one instance whose first
/// feature is shifted by +3 (a deterministic pseudo-random generator, no dependencies).
fn write_bags(dir: &Path) -> PathBuf {
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
    write_bags(&dir);
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
    write_bags(&dir);
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
