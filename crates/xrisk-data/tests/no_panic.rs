//! A stable-Rust fuzz smoke test (the `cargo fuzz` targets in `fuzz/` go deeper on nightly):
//! every text reader gets random bytes and randomly mutated valid files, and must return
//! `Ok` or `Err` — a panic fails the test.

use proptest::prelude::*;
use xrisk_data::readers::{idx, keel, mil, movielens, predictions, svmlight, table};

const SEEDS: &[&str] = &[
    "2 qid:10 1:0.5 3:1.5 # doc\n0 qid:10 2:-1\n1 qid:11 3:2\n",
    "a,b,y\n1,2,0\n3,4,1\n",
    "label,score,query\n1,0.5,q1\n0,0.25,q1\n",
    "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n",
    "1,b1,0.5,1\n0,b2,2,3\n1,b1,4,5\n",
    "@relation t\n@attribute S {M, F}\n@attribute L real [0, 1]\n@attribute Class {positive, negative}\n@data\nM, 0.5, negative\nF, 0.2, positive\n",
];

fn all_readers(data: &[u8]) {
    let _ = svmlight::parse_svmlight(
        data,
        "f",
        svmlight::SvmlightOptions {
            n_features: Some(64),
        },
    );
    let _ = svmlight::parse_svmlight(data, "f", svmlight::SvmlightOptions::default());
    let _ = table::parse_table(data, "f", b',', true);
    let _ = table::parse_table(data, "f", b'\t', false);
    let _ = predictions::parse_predictions(data, "f");
    let _ = movielens::parse_interactions(data, "f");
    let _ = mil::parse_mil(data, "f");
    let _ = keel::parse_keel(data, "f");
    let _ = idx::parse_idx(data, "f");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        all_readers(&data);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut data = SEEDS[seed].as_bytes().to_vec();
        for (at, byte) in edits {
            if data.is_empty() { break; }
            let i = at.index(data.len());
            match byte % 3 {
                0 => data[i] = byte,
                1 => data.insert(i, byte),
                _ => { data.remove(i); }
            }
        }
        all_readers(&data);
    }
}
