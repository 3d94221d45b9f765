//! The training device by name: `flex` (burn's pure-Rust CPU backend, the default) or, in a
//! build with the `cuda` feature, `cuda` / `cuda:N` (NVIDIA GPU N through CubeCL; kernels are
//! compiled at run time with NVRTC, so no CUDA toolkit is needed to build — but cubecl-cuda's
//! build script downloads an LLVM/MLIR bundle from github.com, see `bench/gpu_prepare.sh`).
//!
//! ```
//! let d = xrisk::device::by_name("flex")?;
//! assert!(xrisk::device::by_name("tpu").is_err());
//! # Ok::<(), xrisk::XriskError>(())
//! ```

use crate::error::{Result, XriskError};
use burn::tensor::Device;

/// The device called `name` (without autodiff; training adds `.autodiff()`).
pub fn by_name(name: &str) -> Result<Device> {
    let bad = |reason: &'static str| XriskError::InvalidDevice {
        name: name.to_string(),
        reason,
    };
    let name_l = name.trim().to_ascii_lowercase();
    if name_l == "flex" || name_l == "cpu" {
        return Ok(Device::flex());
    }
    if let Some(rest) = name_l.strip_prefix("cuda") {
        let index: usize = match rest.strip_prefix(':') {
            None if rest.is_empty() => 0,
            Some(i) => i
                .parse()
                .map_err(|_| bad("write the GPU index as a number: cuda:0, cuda:1, …"))?,
            None => return Err(bad("use flex, cuda or cuda:N")),
        };
        return cuda(index).ok_or_else(|| {
            bad("this build has no CUDA backend; rebuild with `cargo build --release --features cuda`")
        });
    }
    Err(bad("use flex (CPU), cuda or cuda:N"))
}

#[cfg(feature = "cuda")]
fn cuda(index: usize) -> Option<Device> {
    Some(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize) -> Option<Device> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_parsed_and_unknown_ones_refused() {
        assert!(by_name("flex").is_ok());
        assert!(by_name(" CPU ").is_ok());
        let e = by_name("cuda:x").unwrap_err().to_string();
        assert!(e.contains("as a number"), "{e}");
        let e = by_name("metal").unwrap_err().to_string();
        assert!(e.contains("use flex"), "{e}");
        #[cfg(not(feature = "cuda"))]
        {
            let e = by_name("cuda:1").unwrap_err().to_string();
            assert!(e.contains("--features cuda"), "{e}");
        }
    }
}
