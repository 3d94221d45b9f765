//! `xrisk train`: every example config runs (one epoch) and bad configs fail clearly.

mod common;

use common::{repo, xrisk};
use serde_json::Value;
use std::path::PathBuf;

fn examples(resnet: bool) -> Vec<PathBuf> {
    let mut configs: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("kind = \"resnet")
                == resnet
        })
        .collect();
    configs.sort();
    configs
}

/// The ResNet examples take minutes per epoch on the CPU backend:
/// `cargo test --release -p xrisk-cli -- --ignored`.
#[test]
#[ignore]
fn resnet_examples_run() {
    let configs = examples(true);
    assert!(!configs.is_empty());
    run_examples(&configs);
}

#[test]
fn every_example_config_runs() {
    let configs = examples(false);
    assert!(configs.len() >= 11, "{configs:?}");
    run_examples(&configs);
}

fn run_examples(configs: &[PathBuf]) {
    let out_dir = std::env::temp_dir().join(format!("xrisk-train-{}", std::process::id()));
    for (i, cfg) in configs.iter().enumerate() {
        let out = out_dir.join(i.to_string());
        let o = xrisk(&[
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--epochs",
            "1",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(
            o.status.success(),
            "{}: {}",
            cfg.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        let v: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{}: {e}", cfg.display()));
        for k in ["auroc", "auprc", "pauc"] {
            let x = v["test"][k]
                .as_f64()
                .unwrap_or_else(|| panic!("{}: no test.{k}", cfg.display()));
            assert!((0.0..=1.0).contains(&x), "{}: {k} = {x}", cfg.display());
        }
        assert!(
            v["test"]["auroc"].as_f64().unwrap() > 0.6,
            "{}: one epoch should rank better than chance: {v}",
            cfg.display()
        );
        // One epoch, after the `[pretrain]` epochs of a two-stage config.
        let pretrain = std::fs::read_to_string(cfg)
            .ok()
            .and_then(|t| t.parse::<toml::Table>().ok())
            .and_then(|t| t.get("pretrain")?.get("epochs")?.as_integer())
            .unwrap_or(0) as usize;
        let lines = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
        assert_eq!(lines.lines().count(), 1 + pretrain, "{}", cfg.display());
        assert!(
            out.join("model.bpk").metadata().is_ok_and(|m| m.len() > 0),
            "{}: model.bpk",
            cfg.display()
        );
        assert!(
            out.join("config.toml").exists(),
            "{}: config copy",
            cfg.display()
        );
        for png in ["roc.png", "pr.png"] {
            let bytes = std::fs::read(out.join(png)).unwrap_or_default();
            assert!(bytes.starts_with(b"\x89PNG"), "{}: {png}", cfg.display());
        }
    }
    std::fs::remove_dir_all(&out_dir).ok();
}

#[test]
fn bad_configs_name_the_problem() {
    let dir = std::env::temp_dir().join(format!("xrisk-badcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = std::fs::read_to_string(repo().join("examples/ap_soap.toml")).unwrap();
    let cases = [
        (
            base.replace("epochs = 20", "epoch = 20"),
            "unknown field `epoch`",
        ),
        (
            base.replace("gamma = 0.1", "gamma = 0.1\ntau = 2.0"),
            "key `tau` does not apply to loss `ap`",
        ),
        (
            base.replace("kind = \"soap\"", "kind = \"pesg\""),
            "cannot train [loss] kind = \"ap\"",
        ),
        (
            base.replace("kind = \"mlp\"", "kind = \"resnet50\""),
            "[model] kind = \"resnet50\" is not known",
        ),
        (
            base.replace("lr = 1e-3", "lr = -1"),
            "[optimizer] lr = -1 must be > 0",
        ),
        (
            base.replace(
                "embedded-fashion-mnist\"",
                "svmlight\"\ntrain = \"nope.svm\"",
            ),
            "nope.svm",
        ),
        (
            base.replace("positive_class = 6", "positive_class = 6.0\nimratio2 = 1"),
            "unknown field `imratio2`",
        ),
        (
            base.replace("hidden = [128]", "hidden = [0]"),
            "[model] hidden = [0]: every width must be at least 1",
        ),
        (
            base.replace("gamma = 0.1", "gamma = 1.5"),
            "[loss] gamma = 1.5 must be in (0, 1]",
        ),
        (
            base.replace("gamma = 0.1", "gamma = nan"),
            "[loss] gamma = NaN must be in (0, 1]",
        ),
        (
            base.replace("margin = 1.0", "margin = -1.0"),
            "[loss] margin = -1 must be ≥ 0",
        ),
        (
            base.replace("epochs = 20", "epochs = 20\ndecay_factor = 0.0"),
            "[train] decay_factor = 0 must be > 0",
        ),
        (
            base.replace("batch_size = 64", "batch_size = 1"),
            "[sampler] batch_size = 1 must be at least 2",
        ),
        (
            base.replace("sampling_rate = 0.5", "sampling_rate = 1.0"),
            "[sampler] sampling_rate = 1 must be in (0, 1)",
        ),
        (
            base.replace("epochs = 20", "epochs = \"ten\""),
            ":27: invalid type: string \"ten\", expected usize",
        ),
        (base.replace("[loss]", "[loss"), ":13: unclosed table"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let p = dir.join(format!("c{i}.toml"));
        std::fs::write(&p, text).unwrap();
        let o = xrisk(&["train", "--config", p.to_str().unwrap(), "--epochs", "1"]);
        assert_eq!(o.status.code(), Some(1), "case {i}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "case {i}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Every `--config examples/…` in the README and docs names a config that exists (and so is
/// run by `every_example_config_runs`), and every documented command is a real subcommand.
#[test]
fn documented_configs_and_commands_exist() {
    let mut pages = vec![repo().join("README.md")];
    for e in std::fs::read_dir(repo().join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push(p);
        }
    }
    let mut seen = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        let mut in_shell = false;
        for (i, line) in text.lines().enumerate() {
            if let Some(lang) = line.trim_start().strip_prefix("```") {
                in_shell = !in_shell && matches!(lang, "sh" | "bash" | "console");
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            for w in words.windows(2) {
                if w[0] == "--config" && w[1].starts_with("examples/") {
                    let path = w[1].trim_end_matches(['`', ')', ',']);
                    assert!(
                        repo().join(path).exists(),
                        "{}:{}: {path} does not exist",
                        page.display(),
                        i + 1
                    );
                    seen += 1;
                }
            }
            if let Some(rest) = line
                .trim_start()
                .strip_prefix("xrisk ")
                .filter(|_| in_shell)
            {
                let sub = rest.split_whitespace().next().unwrap_or("");
                assert!(
                    [
                        "demo", "train", "eval", "data", "bilevel", "bench", "generate"
                    ]
                    .contains(&sub),
                    "{}:{}: `xrisk {sub}` is not a command",
                    page.display(),
                    i + 1
                );
            }
        }
    }
    assert!(seen >= 3, "found only {seen} documented configs");
}

/// `xrisk bench conv` (bench/conv.sh's xrisk side) reports the three kernels' times, and a
/// larger convolution takes longer than a tiny one; bad sizes are refused by name.
#[test]
fn bench_conv_times_the_three_kernels() {
    let run = |channels: &str, size: &str| -> Value {
        let o = xrisk(&[
            "bench",
            "conv",
            "--channels",
            channels,
            "--size",
            size,
            "--batch",
            "4",
            "--repeat",
            "3",
            "--threads",
            "1",
            "--json",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).expect("json")
    };
    let small = run("2", "4");
    let large = run("32", "28");
    for key in [
        "forward_seconds",
        "input_grad_seconds",
        "weight_grad_seconds",
    ] {
        let (s, l) = (small[key].as_f64().unwrap(), large[key].as_f64().unwrap());
        assert!(s > 0.0 && l.is_finite(), "{key}: {s} {l}");
        // 2·4·32²·9·28² ≈ 58 MFLOP against 2·4·2²·9·4² ≈ 4.6 kFLOP.
        assert!(
            l > s,
            "{key}: the large convolution ({l} s) was not slower than the tiny one ({s} s)"
        );
    }
    assert_eq!(large["channels"], 32);
    let o = xrisk(&["bench", "conv", "--size", "0"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--size"));
}
