//! Kill and resume for the families on `xrisk_train`'s Trainer (MIL, multi-label, many-class,
//! character language model, contrastive):
//! a run stopped without clean-up mid-epoch (`XRISK_FAULT_ABORT_AT_STEP`, an abort as hard as
//! SIGKILL at a chosen step) and resumed with `--resume` writes the same `metrics.jsonl` and
//! the same final checkpoint (weights, optimizer buffers, state tables, random streams) as
//! the uninterrupted run, on one and on two threads.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use xrisk_data::snapshot::Snapshot;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xrisk-resume-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Trains `cfg` into `out` with a checkpoint every `every` steps; with `abort_at`, the process
/// aborts after that many steps. Returns whether it succeeded and its log.
fn run(cfg: &Path, out: &Path, every: usize, abort_at: Option<usize>) -> (bool, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xrisk"));
    c.args(["train", "--config", cfg.to_str().unwrap(), "--out"])
        .arg(out)
        .args(["--checkpoint-every", &every.to_string()]);
    if let Some(n) = abort_at {
        c.env("XRISK_FAULT_ABORT_AT_STEP", n.to_string());
    }
    let o = c.output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The uninterrupted run and the aborted-then-resumed one end with the same bytes. The abort
/// comes in the third epoch (after the first learning-rate decay of a 4-epoch run), one step
/// after its mid-epoch checkpoint.
fn kill_and_resume(dir: &Path, name: &str, text: &str, every: usize) {
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(&cfg, text).unwrap();
    let (a, b) = (dir.join(format!("{name}-a")), dir.join(format!("{name}-b")));
    let (ok, err) = run(&cfg, &a, every, None);
    assert!(ok, "{name}: {err}");
    let timing = String::from_utf8(read(&a.join("timing.jsonl"))).unwrap();
    let first: serde_json::Value = serde_json::from_str(timing.lines().next().unwrap()).unwrap();
    let per_epoch = first["steps"].as_u64().unwrap() as usize;
    let mid = every * (per_epoch / 2 / every).max(1);
    assert!(
        mid < per_epoch,
        "{name}: {per_epoch} steps per epoch, too few to interrupt"
    );
    let abort_at = 2 * per_epoch + mid + 1;
    let (ok, _) = run(&cfg, &b, every, Some(abort_at));
    assert!(!ok, "{name}: the run was not stopped at step {abort_at}");
    let s = Snapshot::read(&b.join("checkpoint.bin")).unwrap();
    let (e, step) = (s.count("run.epoch").unwrap(), s.count("run.step").unwrap());
    assert_eq!(
        (e, step),
        (2, mid as u64),
        "{name}: not stopped where it was told to"
    );
    let epochs = read(&a.join("metrics.jsonl"))
        .iter()
        .filter(|&&c| c == b'\n')
        .count();
    assert!((e as usize) < epochs, "{name}: nothing left to resume");
    let o = common::xrisk(&["train", "--resume", b.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{name}: {err}");
    assert!(err.contains("resuming"), "{name}: {err}");
    common::assert_same_end(&a, &b, name);
}

#[test]
fn mil_runs_resume_bit_for_bit() {
    let dir = tmp("mil");
    common::write_bags(&dir);
    let base = "[data]\nformat = \"mil\"\ntrain = \"bags.csv\"\nnormalize = \"standard\"\n\
                [model]\nkind = \"ffnn_att\"\nhidden = [16]\n";
    let midam = format!(
        "{base}[loss]\nkind = \"midam\"\n[optimizer]\nkind = \"midam\"\nlr = 0.05\nmomentum = 0.1\n\
         [sampler]\nbatch_size = 16\ninstances = 3\n[train]\nepochs = 4\nthreads = 1\n"
    );
    kill_and_resume(&dir, "midam", &midam, 2);
    let softmax = midam
        .replace(
            "kind = \"midam\"\n[optimizer]",
            "kind = \"midam\"\npooling = \"softmax\"\n[optimizer]",
        )
        .replace("threads = 1", "threads = 2");
    kill_and_resume(&dir, "midam-softmax", &softmax, 3);
    let ce = format!(
        "{base}[loss]\nkind = \"ce\"\npooling = \"max\"\n[optimizer]\nkind = \"adam\"\nlr = 0.01\n\
         [sampler]\nbatch_size = 16\n[train]\nepochs = 4\nthreads = 1\n"
    );
    kill_and_resume(&dir, "ce", &ce, 2);
    // Warm-up and cosine scale the learning rate every step; the resumed run continues it.
    let cosine = ce.replace(
        "threads = 1\n",
        "threads = 1\nlr_schedule = \"cosine\"\nlr_warmup_steps = 3\n",
    );
    kill_and_resume(&dir, "ce-cosine", &cosine, 2);
    assert_ne!(
        read(&dir.join("ce-a/metrics.jsonl")),
        read(&dir.join("ce-cosine-a/metrics.jsonl")),
        "the cosine schedule trained as the step schedule did"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn multilabel_runs_resume_bit_for_bit() {
    let dir = tmp("multilabel");
    common::write_table(&dir);
    let base = "[data]\nformat = \"csv\"\ntrain = \"t.csv\"\nlabel_prefix = \"y\"\nnormalize = \"standard\"\n\
                [model]\nkind = \"mlp\"\nhidden = [16]\n";
    for (name, body, threads) in [
        (
            "aucm",
            "[loss]\nkind = \"multilabel_aucm\"\n[optimizer]\nkind = \"pesg\"\nlr = 0.1\nepoch_decay = 0.003\n[sampler]\nbatch_size = 16",
            1,
        ),
        (
            "map",
            "[loss]\nkind = \"map\"\n[optimizer]\nkind = \"soap\"\nlr = 0.01\n[sampler]\nbatch_size = 16",
            2,
        ),
        (
            "pauc",
            "[loss]\nkind = \"multilabel_pauc\"\n[optimizer]\nkind = \"sopas\"\nlr = 0.01\n[sampler]\nbatch_size = 16",
            1,
        ),
        (
            "ce",
            "[loss]\nkind = \"ce\"\n[optimizer]\nkind = \"adam\"\nlr = 0.01\n[sampler]\nbatch_size = 32",
            1,
        ),
    ] {
        let text = format!(
            "{base}{body}\n[train]\nepochs = 4\nthreads = {threads}\nmax_steps_per_epoch = 6\n"
        );
        kill_and_resume(&dir, name, &text, 4);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn many_class_runs_resume_bit_for_bit() {
    let dir = tmp("multiclass");
    let base = "[data]\nformat = \"synthetic_classes\"\nn_classes = 100\nrows_per_class = 10\n\
                n_features = 16\nnoise = 0.2\n[model]\nkind = \"linear\"\n";
    for (name, body, threads) in [
        (
            "scent",
            "[loss]\nkind = \"entropic\"\n[optimizer]\nkind = \"scent\"\nlr = 0.5\n[sampler]\nbatch_size = 64\nnum_neg = 16",
            1,
        ),
        (
            "sox",
            "[loss]\nkind = \"entropic\"\nestimator = \"sox\"\n[optimizer]\nkind = \"scent\"\nlr = 0.5\n[sampler]\nbatch_size = 64\nnum_neg = 16",
            2,
        ),
        (
            "softmax",
            "[loss]\nkind = \"softmax_ce\"\n[optimizer]\nkind = \"adam\"\nlr = 0.01\n[sampler]\nbatch_size = 64",
            1,
        ),
    ] {
        let text = format!("{base}{body}\n[train]\nepochs = 4\nthreads = {threads}\n");
        kill_and_resume(&dir, name, &text, 3);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_resume_of_another_data_set_is_refused() {
    let dir = tmp("changed");
    common::write_bags(&dir);
    let text = "[data]\nformat = \"mil\"\ntrain = \"bags.csv\"\n[model]\nkind = \"ffnn_att\"\n\
                [loss]\nkind = \"midam\"\n[optimizer]\nkind = \"midam\"\nlr = 0.05\n\
                [sampler]\nbatch_size = 16\n[train]\nepochs = 3\nthreads = 1\n";
    let cfg = dir.join("run.toml");
    std::fs::write(&cfg, text).unwrap();
    let out = dir.join("out");
    let (ok, _) = run(&cfg, &out, 2, Some(6));
    assert!(!ok);
    // The bag file loses its last bag: the resume names what changed.
    let bags = std::fs::read_to_string(dir.join("bags.csv")).unwrap();
    let kept: Vec<&str> = bags.lines().filter(|l| !l.contains(",bag119,")).collect();
    std::fs::write(dir.join("bags.csv"), kept.join("\n") + "\n").unwrap();
    let o = common::xrisk(&["train", "--resume", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("cannot resume: data."), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn language_model_runs_resume_bit_for_bit() {
    let dir = tmp("lm");
    let text = dir.join("text.txt");
    std::fs::write(&text, "the whale swims. ".repeat(200)).unwrap();
    for (name, loss, threads) in [
        ("fixed", "temperature = \"fixed\"", 1),
        // TempNet's dropout: the device RNG is seeded per step.
        ("tempnet", "temperature = \"tempnet\"\nrho = 1.5", 2),
    ] {
        let cfg = format!(
            "[data]\nformat = \"text\"\ntrain = \"{}\"\nseq_len = 16\n[model]\nkind = \"char_gru\"\n\
             hidden = [16]\nemb_size = 8\n[loss]\nkind = \"robust_lm\"\n{loss}\n[optimizer]\n\
             kind = \"adam\"\nlr = 0.01\n[sampler]\nbatch_size = 8\n[train]\nepochs = 4\n\
             max_steps_per_epoch = 6\nthreads = {threads}\ndecay_epochs = [2]\n",
            text.display()
        );
        kill_and_resume(&dir, name, &cfg, 2);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn contrastive_runs_resume_bit_for_bit() {
    let dir = tmp("contrastive");
    let uni = |loss: &str, threads: usize| {
        format!(
            "[data]\nformat = \"embedded-fashion-mnist\"\ntest_fraction = 0.3\nmax_per_class = 40\n\
             [model]\nkind = \"conv\"\nhidden = [8]\nemb_size = 8\n[loss]\n{loss}\n\
             [optimizer]\nkind = \"adam\"\nlr = 0.002\n[sampler]\nbatch_size = 32\n[train]\n\
             epochs = 4\nthreads = {threads}\ndecay_epochs = [2]\n"
        )
    };
    kill_and_resume(
        &dir,
        "isogclr",
        &uni("kind = \"gcl\"\ntemperature = \"individual\"", 1),
        2,
    );
    kill_and_resume(&dir, "simclr", &uni("kind = \"infonce\"", 2), 3);
    let mut pairs = String::new();
    let words = [
        "whale", "ship", "sea", "sail", "storm", "rope", "deck", "oil", "wave", "moon",
    ];
    for i in 0..200usize {
        let (a, b) = (words[i % 10], words[(i * 7 + 3) % 10]);
        pairs.push_str(&format!(
            "{a} {b} n{}\tthe {b} and the {a} near n{}\n",
            i % 37,
            i % 37
        ));
    }
    let file = dir.join("pairs.tsv");
    std::fs::write(&file, pairs).unwrap();
    let bi = |loss: &str, threads: usize| {
        format!(
            "[data]\nformat = \"tsv-pairs\"\ntrain = \"{}\"\ntest_fraction = 0.2\nn_features = 1024\n\
             [model]\nkind = \"bag\"\nhidden = [16]\nemb_size = 8\n[loss]\nmode = \"bimodal\"\n{loss}\n\
             [optimizer]\nkind = \"adam\"\nlr = 0.01\n[sampler]\nbatch_size = 16\n[train]\n\
             epochs = 4\nthreads = {threads}\n",
            file.display()
        )
    };
    kill_and_resume(&dir, "sogclr", &bi("kind = \"gcl\"", 1), 2);
    kill_and_resume(
        &dir,
        "bi-isogclr",
        &bi("kind = \"gcl\"\ntemperature = \"individual\"", 2),
        3,
    );
    // TempNet's dropout: the device RNG is seeded per step.
    kill_and_resume(
        &dir,
        "tempnet",
        &bi("kind = \"gcl\"\ntemperature = \"tempnet\"", 1),
        2,
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_run_with_model_selection_resumes_with_its_kept_epoch() {
    let dir = tmp("select");
    let base = std::fs::read_to_string(common::repo().join("examples/ap_soap.toml")).unwrap();
    let text = base.replace("[data]", "[data]\nvalidation = 0.2").replace(
        "epochs = 20",
        "epochs = 4\nselect = \"auprc\"\nmax_steps_per_epoch = 8\nthreads = 1",
    );
    // The final checkpoint holds the kept epoch's state under `best/`: equal bytes mean the
    // resumed run kept the same epoch with the same weights.
    kill_and_resume(&dir, "binary", &text, 2);
    let s = Snapshot::read(&dir.join("binary-b/checkpoint.bin")).unwrap();
    assert!(s.count("select.epoch").unwrap() >= 1);
    assert!(s.array_names("best/model.").next().is_some());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn in_process_peers_resume_bit_for_bit() {
    // `[train] devices`: peer 0 writes the checkpoints, the other peer resumes from them.
    let dir = tmp("peers");
    let text = "[data]\nformat = \"embedded-fashion-mnist\"\npositive_class = 6\nimratio = 0.05\n\
                test_fraction = 0.3\n[model]\nkind = \"mlp\"\nhidden = [16]\n[loss]\nkind = \"ap\"\n\
                [optimizer]\nkind = \"soap\"\n[sampler]\nbatch_size = 32\nsampling_rate = 0.5\n\
                [train]\nepochs = 4\nthreads = 1\nmax_steps_per_epoch = 10\n\
                devices = [\"flex\", \"flex\"]\n";
    kill_and_resume(&dir, "ap-soap-peers", text, 4);
    std::fs::remove_dir_all(&dir).ok();
}
