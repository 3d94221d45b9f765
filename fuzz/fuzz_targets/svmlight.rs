#![no_main]
//! Fuzz target: the svmlight reader must return Ok or Err on any input, never panic.
use libfuzzer_sys::fuzz_target;
use xrisk_data::readers::*;

fuzz_target!(|data: &[u8]| {
    let _ = svmlight::parse_svmlight(data, "fuzz", svmlight::SvmlightOptions { n_features: Some(64) });
});
