//! Helpers shared by the CLI tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the built `xrisk` binary.
pub fn xrisk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xrisk"))
        .args(args)
        .output()
        .expect("run xrisk")
}
