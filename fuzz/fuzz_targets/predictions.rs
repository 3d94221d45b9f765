#![no_main]
//! Fuzz target: the predictions reader must return Ok or Err on any input, never panic.
use libfuzzer_sys::fuzz_target;
use xrisk_data::readers::*;

fuzz_target!(|data: &[u8]| {
    let _ = predictions::parse_predictions(data, "fuzz");
});
