//! Two-stage training (`[pretrain]`): the first epochs train the baseline loss with their own
//! optimizer and sampler, then the run's loss fine-tunes the same model (its learning rate
//! decaying on fine-tuning epochs), optionally with a fresh output layer; a run killed in
//! either stage resumes to the uninterrupted run's bytes (binary, MIL, multi-label); bad
//! settings are named errors.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xrisk-pretrain-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// AP + SOAP (lr 0.01) on embedded Fashion-MNIST, 4 fine-tuning epochs of 10 steps, after
/// `pretrain` (an inline `[pretrain]` section, or nothing).
fn config(pretrain: &str) -> String {
    format!(
        "[data]\nformat = \"embedded-fashion-mnist\"\npositive_class = 6\nimratio = 0.05\n\
         [model]\nkind = \"mlp\"\nhidden = [32]\n[loss]\nkind = \"ap\"\ngamma = 0.1\n\
         [optimizer]\nkind = \"soap\"\nlr = 0.01\n[sampler]\nbatch_size = 64\n\
         [train]\nepochs = 4\nmax_steps_per_epoch = 10\nthreads = 1\n{pretrain}"
    )
}

const PRE: &str = "[pretrain]\nloss = \"ce\"\nepochs = 2\noptimizer = { kind = \"adam\", lr = 0.002 }\n\
                   sampler = { kind = \"random\", batch_size = 128 }\n";

/// Trains `cfg` into `NAME-a` and, stopped after `abort_at` steps, into `NAME-b`, resumes the
/// second, and checks that both end with the same `metrics.jsonl` and final checkpoint.
fn abort_resume_equal(dir: &Path, name: &str, cfg: &Path, every: usize, abort_at: usize) {
    let (a, b) = (dir.join(format!("{name}-a")), dir.join(format!("{name}-b")));
    let run = |out: &Path, abort: Option<usize>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_xrisk"));
        c.args(["train", "--config", cfg.to_str().unwrap(), "--out"])
            .arg(out)
            .args(["--checkpoint-every", &every.to_string()]);
        if let Some(n) = abort {
            c.env("XRISK_FAULT_ABORT_AT_STEP", n.to_string());
        }
        c.output().unwrap().status.success()
    };
    assert!(run(&a, None), "{name}");
    assert!(!run(&b, Some(abort_at)), "{name}: not stopped");
    let o = common::xrisk(&["train", "--resume", b.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    common::assert_same_end(&a, &b, name);
}

fn lines(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn pretraining_runs_the_baseline_first_then_fine_tunes_the_same_model() {
    let dir = tmp("stages");
    let run = |name: &str, text: &str| {
        let cfg = common::write_config(&dir, text);
        let out = dir.join(name);
        common::train_json(&cfg, &["--out", out.to_str().unwrap()]);
        lines(&out)
    };
    let two = run("two", &config(PRE));
    assert_eq!(two.len(), 6);
    for l in &two[..2] {
        // CE with Adam at the pretraining rate; no X-risk objective yet.
        assert_eq!(l["stage"], "pretrain");
        assert_eq!(l["lr"], 0.002);
        assert!(l["objective"].is_null(), "{l}");
    }
    for l in &two[2..] {
        assert_eq!(l["stage"], "fine-tune");
        assert!(l["objective"]["name"].is_string(), "{l}");
    }
    // Decays at 50 % and 75 % of the fine-tuning epochs: fine-tuning epochs 3 and 4.
    let lrs: Vec<f64> = two[2..].iter().map(|l| l["lr"].as_f64().unwrap()).collect();
    assert_eq!(lrs, [0.01, 0.01, 0.001, 0.0001]);
    // Fine-tuning starts from the pretrained model: its first epoch differs from a run that
    // trains AP from scratch, and from one whose output layer is drawn again.
    let scratch = run("scratch", &config(""));
    assert!(scratch[0].get("stage").is_none());
    assert_ne!(two[2]["test"], scratch[0]["test"]);
    let reset = run("reset", &config(&format!("{PRE}reset_last_layer = true\n")));
    assert_eq!(
        reset[..2],
        two[..2],
        "the first stage does not depend on the reset"
    );
    assert_ne!(reset[2]["test"], two[2]["test"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_two_stage_run_killed_in_either_stage_resumes_bit_for_bit() {
    let dir = tmp("resume");
    for (name, pre, abort_at) in [
        // 10 steps per epoch, a checkpoint every 3: killed in pretraining epoch 2 …
        ("first", PRE, 15),
        // … and in the first fine-tuning epoch, after the head was drawn again.
        ("second", &*format!("{PRE}reset_last_layer = true\n"), 25),
    ] {
        let cfg = dir.join(format!("{name}.toml"));
        std::fs::write(&cfg, config(pre)).unwrap();
        abort_resume_equal(&dir, name, &cfg, 3, abort_at);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_pretraining_settings_are_refused() {
    let dir = tmp("bad");
    common::assert_refused(
        &dir,
        &[
            (config(&PRE.replace("loss = \"ce\"", "loss = \"ap\"")), "[pretrain] loss = \"ap\""),
            (config(&PRE.replace("epochs = 2", "epochs = 0")), "[pretrain] epochs = 0"),
            (
                config(&PRE.replace("kind = \"adam\", lr", "kind = \"adam\", lrr")),
                "unknown field `lrr`",
            ),
            (
                config(&PRE.replace("kind = \"adam\"", "kind = \"pesg\"")),
                "[pretrain] optimizer kind = \"pesg\" cannot train loss = \"ce\"",
            ),
            (
                "[data]\nformat = \"synthetic_classes\"\n[model]\nkind = \"linear\"\n[loss]\n\
                 kind = \"entropic\"\n[optimizer]\nkind = \"scent\"\nlr = 0.1\n"
                    .to_string()
                    + PRE,
                "[pretrain] covers binary, MIL and multi-label runs",
            ),
            (
                "[data]\nformat = \"mil\"\ntrain = \"bags.csv\"\n[model]\nkind = \"ffnn_att\"\n[loss]\n\
                 kind = \"midam\"\n[optimizer]\nkind = \"midam\"\nlr = 0.1\n"
                    .to_string()
                    + &PRE.replace("loss = \"ce\"", "loss = \"focal\""),
                "MIL and multi-label runs pretrain with ce",
            ),
        ],
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn mil_and_multilabel_runs_pretrain_with_ce_then_fine_tune() {
    let dir = tmp("families");
    common::write_bags(&dir);
    common::write_table(&dir);
    let pre = "[pretrain]\nloss = \"ce\"\nepochs = 2\noptimizer = { kind = \"adam\", lr = 0.005 }\n\
               reset_last_layer = true\n";
    let mil = format!(
        "[data]\nformat = \"mil\"\ntrain = \"bags.csv\"\n[model]\nkind = \"ffnn_att\"\n[loss]\n\
         kind = \"midam\"\n[optimizer]\nkind = \"midam\"\nlr = 0.05\n[sampler]\nbatch_size = 16\n\
         [train]\nepochs = 3\nthreads = 1\n{pre}"
    );
    let multi = format!(
        "[data]\nformat = \"csv\"\ntrain = \"t.csv\"\nlabel_prefix = \"y\"\n[model]\nkind = \"mlp\"\n\
         hidden = [16]\n[loss]\nkind = \"multilabel_aucm\"\n[optimizer]\nkind = \"pesg\"\nlr = 0.1\n\
         [sampler]\nbatch_size = 16\n[train]\nepochs = 3\nthreads = 1\nmax_steps_per_epoch = 8\n{pre}"
    );
    for (name, text) in [("mil", mil), ("multilabel", multi)] {
        let cfg = common::write_config(&dir, &text);
        let out = dir.join(name);
        common::train_json(&cfg, &["--out", out.to_str().unwrap()]);
        let l = lines(&out);
        let stages: Vec<&str> = l.iter().map(|x| x["stage"].as_str().unwrap()).collect();
        assert_eq!(
            stages,
            [
                "pretrain",
                "pretrain",
                "fine-tune",
                "fine-tune",
                "fine-tune"
            ],
            "{name}"
        );
        // Killed in the first fine-tuning epoch (after the fresh head), resumed: same bytes.
        let steps: usize = std::fs::read_to_string(out.join("timing.jsonl"))
            .unwrap()
            .lines()
            .take(2)
            .map(|t| {
                serde_json::from_str::<Value>(t).unwrap()["steps"]
                    .as_u64()
                    .unwrap() as usize
            })
            .sum();
        abort_resume_equal(&dir, name, &cfg, 2, steps + 4);
    }
    std::fs::remove_dir_all(&dir).ok();
}
