//! A memory estimate of a run, checked before anything large is allocated: a model, optimizer
//! state or state table that cannot fit in the memory available is refused with its size and
//! the configuration key that caused it, instead of the process growing until the system kills
//! it.
//!
//! The estimate is a sum of parts, each in bytes (`f64`, so that absurd sizes do not overflow):
//!
//! - a dense model's parameters, `P · 4 bytes · (2 + s)` — the weights, their gradient and `s`
//!   optimizer copies (1 for SGD/PESG-style momentum, 2 for Adam's two moments), see
//!   [`optimizer_copies`] — plus its activations, `batch · Σ widths · 4 bytes · 2` (the forward
//!   values kept for the backward pass and their gradients);
//! - state tables (per-sample or per-class estimates of the compositional losses): `n · 4 bytes`
//!   per table entry;
//! - the data, `rows · features · 4 bytes`.
//!
//! ```
//! use xrisk::resources::MemoryPlan;
//! // 1,617 features into a hidden layer of 4 · 10⁹ units: about 26 TB of weights alone.
//! let mut plan = MemoryPlan::new();
//! plan.mlp("[model] hidden", 1617, &[4_000_000_000], 1, 128, 1);
//! let err = plan.check(Some(24 << 30)).unwrap_err().to_string();
//! assert!(err.contains("[model] hidden"), "{err}");
//! assert!(MemoryPlan::new().check(Some(24 << 30)).is_ok());
//! ```

use crate::error::{Result, XriskError};

const F32: f64 = 4.0;

/// One part of a [`MemoryPlan`].
#[derive(Debug, Clone, PartialEq)]
struct Part {
    what: String,
    key: String,
    bytes: f64,
}

/// The parts of a run's memory, summed and compared with the memory available.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryPlan {
    parts: Vec<Part>,
}

/// Optimizer state copies per parameter: 2 for `adam`/`adamw` (two moments), 0 for plain
/// `sgd` without momentum, 1 otherwise (a momentum or averaged iterate).
pub fn optimizer_copies(kind: &str, momentum: bool) -> usize {
    match kind {
        "adam" | "adamw" => 2,
        "sgd" if !momentum => 0,
        _ => 1,
    }
}

impl MemoryPlan {
    /// An empty plan.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `bytes` for `what`, caused by the configuration key `key`.
    pub fn add(
        &mut self,
        what: impl Into<String>,
        key: impl Into<String>,
        bytes: f64,
    ) -> &mut Self {
        self.parts.push(Part {
            what: what.into(),
            key: key.into(),
            bytes,
        });
        self
    }

    /// A dense network `input → hidden… → outputs` (the MLP family): its parameters with their
    /// gradient and `optimizer` state copies, and the activations of a batch.
    pub fn mlp(
        &mut self,
        key: &str,
        input: usize,
        hidden: &[usize],
        outputs: usize,
        batch: usize,
        optimizer: usize,
    ) -> &mut Self {
        let widths: Vec<f64> = std::iter::once(input)
            .chain(hidden.iter().copied())
            .chain(std::iter::once(outputs))
            .map(|w| w as f64)
            .collect();
        let params: f64 = widths.windows(2).map(|w| (w[0] + 1.0) * w[1]).sum();
        let copies = 2.0 + optimizer as f64;
        self.add(
            format!(
                "the model's {} parameters ({input} inputs, hidden {hidden:?}) × 4 bytes × {copies} \
                 (weights, gradients, optimizer state)",
                count(params)
            ),
            key,
            params * F32 * copies,
        );
        let act: f64 = widths.iter().skip(1).sum::<f64>() * batch as f64 * F32 * 2.0;
        self.add(format!("the activations of a batch of {batch}"), key, act)
    }

    /// A table of `entries` `f32` values (a state table of a loss, embeddings).
    pub fn table(&mut self, what: &str, key: &str, entries: f64) -> &mut Self {
        self.add(
            format!("{what} ({} values × 4 bytes)", count(entries)),
            key,
            entries * F32,
        )
    }

    /// The estimate in bytes.
    pub fn total(&self) -> f64 {
        self.parts.iter().map(|p| p.bytes).sum()
    }

    /// Refuses the plan if it needs more than `available` bytes (`None`: unknown, accepted),
    /// naming the largest part and its key.
    pub fn check(&self, available: Option<u64>) -> Result<()> {
        let (Some(avail), Some(big)) = (
            available,
            self.parts.iter().max_by(|a, b| a.bytes.total_cmp(&b.bytes)),
        ) else {
            return Ok(());
        };
        let total = self.total();
        if total.is_finite() && total <= avail as f64 {
            return Ok(());
        }
        Err(XriskError::TooLarge(format!(
            "this run needs about {} of memory, more than the {} available; the largest part, \
             {}, is {}: {} — lower {} (or use a machine with more memory)",
            bytes(total),
            bytes(avail as f64),
            bytes(big.bytes),
            big.key,
            big.what,
            big.key
        )))
    }

    /// [`Self::check`] against [`available_memory`].
    pub fn check_available(&self) -> Result<()> {
        self.check(available_memory())
    }
}

/// The memory this process can still use, in bytes: the kernel's `MemAvailable`
/// (`/proc/meminfo`), or a cgroup's `memory.max` less its `memory.current` when lower. `None`
/// where neither can be read (not Linux): the check is then skipped.
pub fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    let avail = meminfo.as_deref().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    let read = |p: &str| -> Option<u64> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
    let cgroup = read("/sys/fs/cgroup/memory.max")
        .map(|max| max.saturating_sub(read("/sys/fs/cgroup/memory.current").unwrap_or(0)));
    match (avail, cgroup) {
        (Some(a), Some(c)) => Some(a.min(c)),
        (a, c) => a.or(c),
    }
}

fn count(n: f64) -> String {
    if n >= 1e6 {
        format!("{n:.2e}")
    } else {
        format!("{n:.0}")
    }
}

fn bytes(b: f64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    if b >= 1024.0 * GIB {
        format!("{:.1} TiB", b / (1024.0 * GIB))
    } else if b >= GIB {
        format!("{:.1} GiB", b / GIB)
    } else {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_hidden_layer_is_refused_with_its_key_and_size() {
        let mut plan = MemoryPlan::new();
        plan.table("the data", "[data]", 1e6).mlp(
            "[model] hidden",
            1617,
            &[4_000_000_000],
            1,
            128,
            1,
        );
        let err = plan.check(Some(24 << 30)).unwrap_err().to_string();
        assert!(err.contains("[model] hidden"), "{err}");
        assert!(err.contains("6.48e12 parameters"), "{err}");
        assert!(err.contains("TiB"), "{err}");
        assert!(err.contains("24.0 GiB available"), "{err}");
    }

    #[test]
    fn a_normal_run_fits_and_unknown_memory_is_accepted() {
        let mut plan = MemoryPlan::new();
        plan.mlp("[model] hidden", 1617, &[128], 1, 128, 2).table(
            "AP's state table",
            "[data]",
            2.0 * 145_751.0,
        );
        assert!(plan.total() < (16 << 20) as f64, "{}", plan.total());
        assert!(plan.check(Some(1 << 30)).is_ok());
        assert!(plan.check(Some(1 << 20)).is_err());
        let mut huge = MemoryPlan::new();
        huge.table("a state table", "[data] n_classes", 1e30);
        assert!(huge.check(None).is_ok());
        assert!(huge.check(Some(u64::MAX)).is_err());
    }

    #[test]
    fn this_machine_reports_its_memory() {
        if cfg!(target_os = "linux") {
            let m = available_memory().expect("/proc/meminfo");
            assert!(m > 1 << 20, "{m}");
        }
    }

    #[test]
    fn optimizer_state_copies() {
        assert_eq!(optimizer_copies("adam", true), 2);
        assert_eq!(optimizer_copies("sgd", false), 0);
        assert_eq!(optimizer_copies("pesg", true), 1);
    }
}
