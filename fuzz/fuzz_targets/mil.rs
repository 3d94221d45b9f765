#![no_main]
//! Fuzz target: the mil reader must return Ok or Err on any input, never panic.
use libfuzzer_sys::fuzz_target;
use xrisk_data::readers::*;

fuzz_target!(|data: &[u8]| {
    let _ = mil::parse_mil(data, "fuzz");
});
