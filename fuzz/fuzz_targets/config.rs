#![no_main]
//! Fuzz target: the `xrisk train` config parser (TOML + key checks) must return Ok or Err on
//! any text, never panic. The parser is compiled from the CLI's own source file.
use libfuzzer_sys::fuzz_target;
use std::path::Path;

#[path = "../../crates/xrisk-cli/src/config.rs"]
#[allow(dead_code)]
mod config;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cfg) = config::parse(text, Path::new("fuzz/run.toml")) {
            let _ = cfg.train.decay_epochs();
        }
    }
});
