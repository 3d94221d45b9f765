#![no_main]
//! Fuzz target: the table reader must return Ok or Err on any input, never panic.
use libfuzzer_sys::fuzz_target;
use xrisk_data::readers::*;

fuzz_target!(|data: &[u8]| {
    let _ = table::parse_table(data, "fuzz", b',', true);
});
