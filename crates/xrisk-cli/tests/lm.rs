//! `xrisk train` with `[loss] kind = "robust_lm"` (a character GRU language model, fixed τ or
//! TempNet) and `xrisk generate`, on a small periodic text written by the test: both runs learn
//! it (held-out NLL far below the uniform ln V), TempNet's τ stays in its range, the trained
//! models continue the period when sampled cold, and bad settings are named errors.

mod common;

use common::{assert_refused, train_json, write_config, xrisk};
use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xrisk-lm-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(text: &std::path::Path, loss: &str) -> String {
    format!(
        "[data]\nformat = \"text\"\ntrain = \"{}\"\nseq_len = 16\n[model]\nkind = \"char_gru\"\n\
         hidden = [32]\nemb_size = 8\n[loss]\nkind = \"robust_lm\"\n{loss}\n[optimizer]\n\
         kind = \"adam\"\nlr = 0.01\n[sampler]\nbatch_size = 16\n[train]\nepochs = 4\n\
         max_steps_per_epoch = 40\nseed = 3\n",
        text.display()
    )
}

#[test]
fn fixed_and_tempnet_runs_learn_a_periodic_text_and_generate() {
    let dir = tmp("learn");
    let text = dir.join("text.txt");
    std::fs::write(&text, "the whale swims. ".repeat(400)).unwrap();
    let ln_v = (10f64).ln(); // "the whale swims. " has 10 distinct characters
    for (name, loss) in [
        ("fixed", "temperature = \"fixed\""),
        (
            "tempnet",
            "temperature = \"tempnet\"\nrho = 1.5\ntau_min = 0.1\ntau_max = 3.0",
        ),
    ] {
        let out = dir.join(name);
        let cfg = write_config(&dir, &config(&text, loss));
        let (v, log) = train_json(&cfg, &["--out", out.to_str().unwrap()]);
        let nll = v["test"]["nll"].as_f64().unwrap();
        let tau = v["test"]["mean_tau"].as_f64().unwrap();
        assert!(
            nll < 0.3 * ln_v,
            "{name}: held-out NLL {nll} vs ln V {ln_v}\n{log}"
        );
        if name == "tempnet" {
            assert!((0.1..=3.0).contains(&tau), "{name}: mean τ {tau}");
        } else {
            assert_eq!(tau, 1.0);
        }
        let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
        assert_eq!(metrics.lines().count(), 4);
        // A cold sample continues the period.
        let o = xrisk(&[
            "generate",
            "--model",
            out.to_str().unwrap(),
            "--prompt",
            "the whale ",
            "--length",
            "40",
            "--tau",
            "0.1",
            "--json",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let g: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let sample = g["text"].as_str().unwrap();
        assert!(
            sample.starts_with("swims. the whale swims."),
            "{name}: {sample:?}"
        );
        // Without --tau the run's own temperature is used (TempNet's, per step).
        let o = xrisk(&["generate", "--model", out.to_str().unwrap(), "--json"]);
        assert!(
            !o.status.success(),
            "prompt with unseen characters accepted"
        );
        assert!(String::from_utf8_lossy(&o.stderr).contains("never saw"));
    }
}

#[test]
fn bad_language_model_settings_are_refused() {
    let dir = tmp("bad");
    let text = dir.join("text.txt");
    std::fs::write(&text, "abcabcabc".repeat(50)).unwrap();
    let cases = vec![
        (
            config(&text, "temperature = \"tempnet\"\nrho = 5.0"),
            "must be in [0, ln V)",
        ),
        (
            config(&text, "temperature = \"fixed\"\nrho = 1.0"),
            "are for temperature = \"tempnet\"",
        ),
        (
            config(&text, "temperature = \"tempnet\"\ntau = 1.0"),
            "tau is the fixed temperature",
        ),
        (
            config(&text, "temperature = \"individual\""),
            "takes \"fixed\" or \"tempnet\"",
        ),
        (
            config(&text, "margin = 1.0"),
            "does not apply to loss `robust_lm`",
        ),
        (
            config(&text, "").replace("char_gru", "mlp"),
            "kind = \"char_gru\"",
        ),
    ];
    assert_refused(&dir, &cases);
    let o = xrisk(&["generate", "--model", dir.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("charlm.bin"));
}

/// TempNet on a frozen model: the language model of a trained run is loaded and left as it
/// is (a cold sample at a fixed τ is the same text before and after), only TempNet learns.
#[test]
fn tempnet_trains_on_a_frozen_model() {
    let dir = tmp("frozen");
    let text = dir.join("text.txt");
    std::fs::write(&text, "the whale swims. a ship sails. ".repeat(300)).unwrap();
    let base = dir.join("base");
    let cfg = write_config(&dir, &config(&text, "temperature = \"fixed\""));
    train_json(&cfg, &["--out", base.to_str().unwrap()]);
    let frozen = dir.join("frozen");
    let cfg = write_config(
        &dir,
        &config(
            &text,
            "temperature = \"tempnet\"\nrho = 1.0\ntau_min = 0.1\ntau_max = 3.0",
        )
        .replace(
            "[model]\n",
            &format!("[model]\ninit_from = \"{}\"\n", base.display()),
        )
        .replace("[train]\n", "[train]\nfreeze_model = true\n"),
    );
    let (v, log) = train_json(&cfg, &["--out", frozen.to_str().unwrap()]);
    assert!(log.contains("starting from"), "{log}");
    let tau = v["test"]["mean_tau"].as_f64().unwrap();
    assert!((0.1..=3.0).contains(&tau));
    let sample = |d: &std::path::Path| {
        let o = xrisk(&[
            "generate",
            "--model",
            d.to_str().unwrap(),
            "--prompt",
            "the ",
            "--length",
            "60",
            "--tau",
            "0.7",
            "--seed",
            "5",
            "--json",
        ]);
        assert!(o.status.success());
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(sample(&base), sample(&frozen));
    // Refusals: frozen without a start, without TempNet, init_from outside language models.
    let cases = vec![
        (
            config(&text, "temperature = \"tempnet\"")
                .replace("[train]\n", "[train]\nfreeze_model = true\n"),
            "give [model] init_from",
        ),
        (
            config(&text, "temperature = \"fixed\"")
                .replace("[train]\n", "[train]\nfreeze_model = true\n"),
            "trains only TempNet",
        ),
        (
            config(&text, "temperature = \"fixed\"")
                .replace("[model]\n", "[model]\ninit_from = \"/nonexistent\"\n"),
            "init_from: cannot read",
        ),
        (
            config(&text, "temperature = \"fixed\"")
                .replace("hidden = [32]", "hidden = [16]")
                .replace(
                    "[model]\n",
                    &format!("[model]\ninit_from = \"{}\"\n", base.display()),
                ),
            "this config asks for",
        ),
    ];
    assert_refused(&dir, &cases);
}
