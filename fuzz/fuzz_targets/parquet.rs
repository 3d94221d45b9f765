#![no_main]
//! Fuzz target: the parquet reader must return Ok or Err on any bytes, never abort. The
//! reader turns panics of the `parquet` crate into errors (`catch_unwind`), so the target
//! replaces libfuzzer-sys's abort-on-panic hook; what remains to find is aborts, allocation
//! bombs and hangs.
use libfuzzer_sys::fuzz_target;
use std::sync::Once;
use xrisk_data::readers::parquet;

static QUIET: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let _ = parquet::parse_parquet(data.to_vec(), "fuzz");
});
