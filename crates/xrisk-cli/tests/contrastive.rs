//! `xrisk train` with the contrastive losses (`[loss] kind = "gcl" | "infonce"`): unimodal runs
//! on the embedded Fashion-MNIST images made long-tailed (the class sizes follow the
//! documented formula, the rare half is the five smallest classes, iSogCLR's per-class τ moves
//! away from its start and stays in its box), bimodal runs on text pairs written by the test
//! (every scheme — InfoNCE, SogCLR, iSogCLR, TempNet — retrieves held-out pairs far above
//! chance), and named errors for bad settings.

mod common;

use common::{assert_refused, train_json, write_config};
use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xrisk-cl-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn unimodal(loss: &str) -> String {
    format!(
        "[data]\nformat = \"embedded-fashion-mnist\"\ntest_fraction = 0.3\nmax_per_class = 200\n\
         long_tail = 10.0\n[model]\nkind = \"conv\"\nhidden = [32]\nemb_size = 16\n[loss]\n{loss}\n\
         [optimizer]\nkind = \"adam\"\nlr = 0.002\n[sampler]\nbatch_size = 32\n[train]\n\
         epochs = 2\nmax_steps_per_epoch = 6\nseed = 4\n"
    )
}

#[test]
fn unimodal_runs_report_linear_evaluation_and_class_temperatures() {
    let dir = tmp("uni");
    let (sog, _) = train_json(
        &write_config(&dir, &unimodal("kind = \"gcl\"\nmode = \"unimodal\"")),
        &[],
    );
    // Class k keeps ⌈200·10^(−k/9)⌉ of the (≥ 200) training rows of each class.
    let counts: Vec<u64> = sog["test"]["train_per_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let want: Vec<u64> = (0..10)
        .map(|k| (200.0 * 10f64.powf(-(k as f64) / 9.0)).ceil() as u64)
        .collect();
    assert_eq!(counts, want);
    let rare: Vec<u64> = sog["test"]["rare_classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(rare, vec![9, 8, 7, 6, 5]);
    for key in ["linear_top1", "rare_top1"] {
        let v = sog["test"][key].as_f64().unwrap();
        assert!(v > 0.1 && v <= 1.0, "{key} = {v}");
    }
    assert!(sog["test"]["tau_per_class"].is_null());
    let (iso, _) = train_json(
        &write_config(
            &dir,
            &unimodal(
                "kind = \"gcl\"\nmode = \"unimodal\"\ntemperature = \"individual\"\ntau = 0.3\n\
                 tau_min = 0.1\ntau_max = 0.5\neta = 0.05",
            ),
        ),
        &[],
    );
    let taus: Vec<f64> = iso["test"]["tau_per_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(taus.len(), 10);
    assert!(taus.iter().all(|t| (0.1..=0.5).contains(t)), "{taus:?}");
    assert!(
        taus.iter().any(|t| (t - 0.3).abs() > 1e-3),
        "τ never moved: {taus:?}"
    );
    let (nce, _) = train_json(
        &write_config(&dir, &unimodal("kind = \"infonce\"\ntau = 0.2")),
        &[],
    );
    assert!(nce["test"]["linear_top1"].as_f64().unwrap() > 0.1);
}

/// 300 pairs: a "subject" of two topic words and an id word, a "body" that repeats them among
/// filler; each side hashed separately, so the towers must learn the match.
fn pairs_file(dir: &std::path::Path) -> PathBuf {
    let words = [
        "whale", "ship", "harpoon", "sea", "captain", "sail", "storm", "island", "rope", "deck",
        "oil", "boat", "wave", "moon", "star", "wind", "coast", "anchor", "mast", "crew",
    ];
    let mut s = String::new();
    for i in 0..300usize {
        let (a, b) = (words[i % 20], words[(i * 7 + 3) % 20]);
        let id = format!("n{}", i % 37);
        s.push_str(&format!(
            "{a} {b} {id}\tthe {b} and the {a} were seen near {id} today with much ado\n"
        ));
    }
    let p = dir.join("pairs.tsv");
    std::fs::write(&p, s).unwrap();
    p
}

fn bimodal(file: &std::path::Path, loss: &str) -> String {
    format!(
        "[data]\nformat = \"tsv-pairs\"\ntrain = \"{}\"\ntest_fraction = 0.2\nn_features = 4096\n\
         [model]\nkind = \"bag\"\nhidden = [32]\nemb_size = 16\n[loss]\n{loss}\n[optimizer]\n\
         kind = \"adam\"\nlr = 0.01\n[sampler]\nbatch_size = 32\n[train]\nepochs = 8\nseed = 2\n",
        file.display()
    )
}

#[test]
fn every_bimodal_scheme_retrieves_held_out_pairs() {
    let dir = tmp("bi");
    let file = pairs_file(&dir);
    for (name, loss) in [
        ("clip", "kind = \"infonce\"\nmode = \"bimodal\"\ntau = 0.05"),
        ("sogclr", "kind = \"gcl\"\nmode = \"bimodal\"\ntau = 0.05"),
        (
            "isogclr",
            "kind = \"gcl\"\nmode = \"bimodal\"\ntemperature = \"individual\"\ntau = 0.05\n\
             tau_min = 0.01\ntau_max = 0.1\nrho = 2.0",
        ),
        (
            "tempnet",
            "kind = \"gcl\"\nmode = \"bimodal\"\ntemperature = \"tempnet\"\ntau_min = 0.01\n\
             tau_max = 0.1\nrho = 2.0",
        ),
    ] {
        let (v, log) = train_json(&write_config(&dir, &bimodal(&file, loss)), &[]);
        let t = &v["test"];
        let n = t["pairs"].as_f64().unwrap();
        for side in ["subject_to_body", "body_to_subject"] {
            let r5 = t[side]["r5"].as_f64().unwrap();
            // Chance for R@5 is 5/n (n = 60 held-out pairs).
            assert!(r5 > 5.0 * 5.0 / n, "{name} {side}: R@5 {r5}\n{log}");
        }
        if name == "isogclr" || name == "tempnet" {
            for side in ["subject", "body"] {
                let tau = t["mean_tau"][side].as_f64().unwrap();
                assert!((0.01..=0.1).contains(&tau), "{name} τ {tau}");
            }
        }
    }
}

#[test]
fn bad_contrastive_settings_are_refused() {
    let dir = tmp("bad");
    let file = pairs_file(&dir);
    let bad_tsv = dir.join("bad.tsv");
    std::fs::write(&bad_tsv, "a\tb\nonly one text\n").unwrap();
    let cases = vec![
        (
            unimodal("kind = \"gcl\"\ntemperature = \"tempnet\""),
            "implemented for mode = \"bimodal\"",
        ),
        (
            unimodal("kind = \"infonce\"\ntemperature = \"individual\""),
            "does not apply to loss `infonce`",
        ),
        (
            unimodal("kind = \"gcl\"\nrho = 0.5"),
            "are for temperature = \"individual\" or \"tempnet\"",
        ),
        (
            unimodal("kind = \"gcl\"\nmode = \"bimodal\""),
            "bimodal runs use kind = \"bag\"",
        ),
        (
            unimodal("kind = \"gcl\"\nmode = \"trimodal\""),
            "use unimodal or bimodal",
        ),
        (
            unimodal("kind = \"gcl\"").replace("batch_size = 32", "batch_size = 5000"),
            "a contrastive batch needs 2 to",
        ),
        (
            unimodal("kind = \"gcl\"").replace("long_tail = 10.0", "long_tail = 0.5"),
            "head-to-tail ratio must be ≥ 1",
        ),
        (
            bimodal(&bad_tsv, "kind = \"gcl\"\nmode = \"bimodal\""),
            "bad.tsv:2: expected two non-empty texts",
        ),
        (
            bimodal(
                &file,
                "kind = \"gcl\"\nmode = \"bimodal\"\ntemperature = \"tempnet\"\neta = 0.1",
            ),
            "TempNet learns at tempnet_lr",
        ),
        (
            bimodal(&file, "kind = \"gcl\"\nmode = \"bimodal\"")
                .replace("kind = \"adam\"", "kind = \"lars\"\nmode = \"adamw\""),
            "lars takes lars",
        ),
    ];
    assert_refused(&dir, &cases);
}
