//! `xrisk train` with the ranking losses on a small interaction file in MovieLens `u.data`
//! form: ListwiseCE, SONG after a ListwiseCE warm-up, and K-SONG (theo and prac) run end to
//! end and report NDCG@{5,10,20}, MAP@10 and P@10; mismatched settings are named errors.

mod common;

use common::xrisk;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// 40 users × 60 items; each user rates 15 items, the first ones mostly from "its" block so
/// that there is something to learn.
fn write_data(dir: &Path) -> PathBuf {
    let mut text = String::new();
    for u in 0..40u64 {
        for k in 0..15u64 {
            let item = if k % 3 == 2 {
                (u * 7 + k * 11) % 60
            } else {
                (u % 4) * 15 + k
            };
            let rating = 1 + (u + k) % 5;
            text.push_str(&format!(
                "{}\t{}\t{rating}\t{}\n",
                u + 1,
                item + 1,
                1000 + k * 10 + u
            ));
        }
    }
    let p = dir.join("u.data");
    std::fs::write(&p, text).unwrap();
    p
}

fn config(dir: &Path, loss: &str, extra_train: &str) -> PathBuf {
    let text = format!(
        "[data]\nformat = \"movielens\"\ntrain = \"u.data\"\neval_negatives = 20\n\
         [model]\nkind = \"neumf\"\nemb_size = 8\nlayers = [8]\n\
         {loss}\n\
         [optimizer]\nkind = \"song\"\nmode = \"adam\"\nlr = 0.01\n\
         [sampler]\nbatch_size = 8\nnum_pos = 3\nnum_neg = 12\n\
         [train]\nepochs = 2\nthreads = 1\n{extra_train}\n"
    );
    common::write_config(dir, &text)
}

#[test]
fn every_ranking_loss_trains_and_reports_ranking_metrics() {
    let dir = std::env::temp_dir().join(format!("xrisk-rank-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write_data(&dir);
    let cases = [
        ("[loss]\nkind = \"listwise_ce\"\ngamma = 0.1", ""),
        ("[loss]\nkind = \"ndcg\"\ngamma0 = 0.1", "warmup_epochs = 1"),
        (
            "[loss]\nkind = \"ndcg\"\ntopk = 5\neta0 = 0.1",
            "warmup_epochs = 1",
        ),
        (
            "[loss]\nkind = \"ndcg\"\ntopk = 5\ntopk_version = \"prac\"",
            "",
        ),
    ];
    for (loss, extra) in cases {
        let cfg = config(&dir, loss, extra);
        let out = dir.join(format!(
            "out-{}",
            cfg.file_stem().unwrap().to_string_lossy()
        ));
        let o = xrisk(&[
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--json",
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{loss}: {err}");
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        for k in ["ndcg@5", "ndcg@10", "ndcg@20", "map@10", "p@10"] {
            let x = v["test"][k].as_f64().unwrap_or(-1.0);
            assert!((0.0..=1.0).contains(&x), "{loss}: {k} = {x}");
        }
        let lines = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
        let want = if extra.is_empty() { 2 } else { 3 };
        assert_eq!(lines.lines().count(), want, "{loss}: {lines}");
        if !extra.is_empty() {
            assert!(lines.contains("\"phase\":\"warm-up\""), "{lines}");
        }
        let report = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(report.contains("curve_ranking.png"), "{loss}");
        assert!(
            std::fs::read(out.join("curve_ranking.png"))
                .unwrap()
                .starts_with(b"\x89PNG")
        );
        assert!(out.join("config.toml").exists());
    }
    let text = std::fs::read_to_string(config(&dir, "[loss]\nkind = \"ndcg\"", "")).unwrap();
    common::assert_refused(
        &dir,
        &[
            (
                text.replace("kind = \"song\"", "kind = \"adam\""),
                "ranking losses use song",
            ),
            (
                text.replace("kind = \"neumf\"", "kind = \"mlp\""),
                "uses neumf",
            ),
            (
                text.replace("kind = \"ndcg\"", "kind = \"ndcg\"\ntopk = 0"),
                "topk = 0",
            ),
            (
                text.replace(
                    "kind = \"ndcg\"",
                    "kind = \"ndcg\"\ntopk_version = \"exact\"",
                ),
                "use theo or prac",
            ),
            (
                text.replace("kind = \"ndcg\"", "kind = \"ndcg\"\ngamma = 0.5"),
                "key `gamma` does not apply to loss `ndcg`",
            ),
        ],
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn learning_to_rank_on_letor_rows_trains_and_needs_query_ids() {
    let dir = std::env::temp_dir().join(format!("xrisk-letor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    common::write_letor(&dir.join("train.txt"), 24, 1);
    common::write_letor(&dir.join("test.txt"), 10, 2);
    for loss in [
        "kind = \"ndcg\"\ngamma0 = 0.3",
        "kind = \"ndcg\"\ntopk = 3\ntopk_version = \"prac\"",
        "kind = \"listwise_ce\"",
    ] {
        let text = format!(
            "[data]\nformat = \"svmlight\"\ntrain = \"train.txt\"\ntest = \"test.txt\"\n\
             [model]\nkind = \"mlp\"\nhidden = [8]\n[loss]\n{loss}\n\
             [optimizer]\nkind = \"song\"\nmode = \"adam\"\nlr = 0.01\n\
             [sampler]\nbatch_size = 6\nnum_pos = 2\nnum_neg = 5\n[train]\nepochs = 2\nthreads = 1\n"
        );
        let cfg = dir.join("letor.toml");
        std::fs::write(&cfg, &text).unwrap();
        let o = xrisk(&["train", "--config", cfg.to_str().unwrap(), "--json"]);
        assert!(
            o.status.success(),
            "{loss}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        for k in ["ndcg@5", "ndcg@10", "map@10", "p@10"] {
            let x = v["test"][k].as_f64().unwrap_or(-1.0);
            assert!((0.0..=1.0).contains(&x), "{loss}: {k} = {x}");
        }
    }
    std::fs::write(dir.join("train.txt"), "1 1:0.5 4:1\n0 1:0.1 4:1\n").unwrap();
    let o = xrisk(&[
        "train",
        "--config",
        dir.join("letor.toml").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("needs `qid:` on every svmlight row"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// A run interrupted after epoch N (its folder as it was then: `checkpoint.prev.bin` became
/// the latest checkpoint) and resumed ends byte for byte where the uninterrupted run ends —
/// in the middle of SONG and exactly at the warm-up hand-off.
#[test]
fn a_resumed_ranking_run_equals_the_uninterrupted_one() {
    let dir = std::env::temp_dir().join(format!("xrisk-rank-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write_data(&dir);
    for (warmup, epochs) in [(1, 3), (2, 1)] {
        let cfg = config(&dir, "[loss]\nkind = \"ndcg\"\ntopk = 5\neta0 = 0.1", "");
        let text = std::fs::read_to_string(&cfg).unwrap().replace(
            "[train]\nepochs = 2\n",
            &format!("[train]\nepochs = {epochs}\nwarmup_epochs = {warmup}\n"),
        );
        assert!(text.contains("warmup_epochs"), "{text}");
        std::fs::write(&cfg, text).unwrap();
        let a = dir.join(format!("a{warmup}"));
        let b = dir.join(format!("b{warmup}"));
        let o = xrisk(&[
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            a.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        copy_dir(&a, &b);
        std::fs::rename(b.join("checkpoint.prev.bin"), b.join("checkpoint.bin")).unwrap();
        std::fs::remove_file(b.join("report.html")).unwrap();
        let o = xrisk(&["train", "--resume", b.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        assert!(err.contains("resuming"), "{err}");
        let read = |p: PathBuf| std::fs::read(p).unwrap();
        assert_eq!(
            read(a.join("metrics.jsonl")),
            read(b.join("metrics.jsonl")),
            "warm-up {warmup}"
        );
        assert_eq!(
            read(a.join("checkpoint.bin")),
            read(b.join("checkpoint.bin")),
            "warm-up {warmup}"
        );
        assert!(b.join("report.html").exists());
    }
    std::fs::remove_dir_all(&dir).ok();
}
