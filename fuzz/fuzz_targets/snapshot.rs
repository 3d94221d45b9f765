#![no_main]
//! Fuzz target: the checkpoint decoder must return Ok or Err on any bytes, never panic, and
//! what it accepts must encode back to the same bytes.
use libfuzzer_sys::fuzz_target;
use xrisk_data::snapshot::Snapshot;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = Snapshot::decode(data, "fuzz") {
        assert_eq!(s.encode(), data);
    }
});
