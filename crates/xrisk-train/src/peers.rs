//! Data-parallel peers on several devices of one process (`[train] devices`): one thread per
//! device, the peers exchanging through an in-process `xrisk::dist::LocalGroup`. Each peer
//! runs its own [`crate::Trainer`] with its member of the group
//! ([`crate::Trainer::with_collective`]); peer 0 runs on the calling thread, reports the
//! epochs and keeps the run folder, the others train silently.
//!
//! The other strategies: one device (no group) and one process per peer over the network
//! (`xrisk-dist`), whose member is handed to the trainer the same way.

use anyhow::{Result, bail};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use std::time::Duration;
use xrisk::dist::{Collective, LocalGroup};

/// Builds a module from `device`'s random stream seeded with `seed`, its parameters drawn at
/// once, while no other peer of this process draws: the CPU backend's random stream is
/// process-wide, and burn draws parameters lazily, at first use — without this, peers on
/// threads of one process would interleave their draws and start from different weights.
pub fn seeded<M: Module>(
    device: &Device,
    seed: u64,
    build: impl FnOnce() -> Result<M>,
) -> Result<M> {
    static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = RNG.lock().unwrap_or_else(|p| p.into_inner());
    device.seed(seed);
    let model = build()?;
    struct Touch;
    impl ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let _ = p.val();
        }
    }
    model.visit(&mut Touch);
    Ok(model)
}

/// How long a peer waits for the others at one exchange before the group gives up.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(600);

/// Runs peer 0 (`first`, on the calling thread, on `devices[0]`) and one thread per other
/// device (`other(k, device, member)`) as one data-parallel group; returns peer 0's result.
/// A peer that fails leaves the group, which stops the others at their next exchange; the
/// error names the peer and its device.
///
/// Every peer must start from the same weights and draw the same random numbers: a task whose
/// model is drawn under [`seeded`] (the binary family's [`crate::binary::BinaryTask`]) does;
/// the other families draw their weights lazily, and dropout masks as they train, from the CPU
/// backend's process-wide random stream, so on threads of one process they do not — train
/// them as processes (`xrisk-dist`, one [`crate::Trainer::with_collective`] member each).
pub fn on_devices<R>(
    devices: &[String],
    first: impl FnOnce(&mut dyn Collective) -> Result<R>,
    other: impl Fn(usize, &str, &mut dyn Collective) -> Result<()> + Sync,
) -> Result<R> {
    if devices.len() < 2 {
        bail!("[train] devices = {devices:?}: give at least two devices for peers in one process");
    }
    let mut group = LocalGroup::new(devices.len(), EXCHANGE_TIMEOUT);
    std::thread::scope(|s| {
        let other = &other;
        let others: Vec<_> = group
            .drain(1..)
            .zip(&devices[1..])
            .enumerate()
            .map(|(k, (mut member, name))| s.spawn(move || other(k + 1, name, &mut member)))
            .collect();
        let mut member = group.remove(0);
        let result = first(&mut member);
        // A failed peer 0 leaves the group, which stops the others.
        drop(member);
        for (k, h) in others.into_iter().enumerate() {
            let name = &devices[k + 1];
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) if result.is_ok() => {
                    return Err(e.context(format!("peer {} ({name})", k + 1)));
                }
                Ok(Err(_)) => {}
                Err(_) => bail!("peer {} ({name}) panicked", k + 1),
            }
        }
        result
    })
}
