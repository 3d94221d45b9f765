//! `xrisk train --world-size N --rank R --coordinator HOST:PORT`: joins the data-parallel
//! group of a training run (see `xrisk::dist` for what a step exchanges and
//! `xrisk_dist` for the transport). Covers every family of `xrisk train`; rank 0 writes the
//! run folder and its checkpoints, from which every rank resumes (`--resume DIR`).

use anyhow::{Result, bail};
use clap::Args;
use std::time::Duration;
use xrisk_dist::{Peer, PeerConfig};

/// The data-parallel flags of `xrisk train`.
#[derive(Args, Debug, Clone, Default)]
pub struct DistArgs {
    /// Number of training processes (data-parallel); each trains on 1/N of every batch.
    #[arg(long, value_name = "N", requires_all = ["rank", "coordinator"])]
    pub world_size: Option<usize>,
    /// This process's rank, 0..N; rank 0 hosts the coordinator and writes --out (and the
    /// checkpoints that every rank resumes from with --resume DIR).
    #[arg(long, value_name = "R", requires = "world_size")]
    pub rank: Option<usize>,
    /// HOST:PORT of rank 0's machine (rank 0 listens on PORT on every interface).
    #[arg(long, value_name = "HOST:PORT", requires = "world_size")]
    pub coordinator: Option<String>,
    /// Seconds to wait for the other processes in one step (default 600) and to reach the
    /// coordinator at start-up (default 60).
    #[arg(long, value_name = "SECS", requires = "world_size")]
    pub dist_timeout: Option<f64>,
}

impl DistArgs {
    /// Whether this run is data-parallel.
    pub fn enabled(&self) -> bool {
        self.world_size.is_some_and(|w| w > 1)
    }

    /// Joins the group, checking first what can be checked without the network.
    pub fn connect(&self, batch_size: usize, fingerprint: u64) -> Result<Option<Peer>> {
        let (Some(world), Some(rank), Some(coordinator)) =
            (self.world_size, self.rank, self.coordinator.as_ref())
        else {
            return Ok(None);
        };
        if world == 0 {
            bail!("--world-size must be at least 1");
        }
        if rank >= world {
            bail!(
                "--rank {rank} is outside a world of {world} processes; ranks run from 0 to {}",
                world - 1
            );
        }
        if world == 1 {
            return Ok(None);
        }
        if !batch_size.is_multiple_of(world) {
            bail!(
                "[sampler] batch_size = {batch_size} does not split evenly over --world-size {world}; make the (global) batch size a multiple of the world size"
            );
        }
        let mut c = PeerConfig::new(world, rank, coordinator.clone());
        c.fingerprint = fingerprint;
        if let Some(t) = self.dist_timeout {
            if !(t > 0.0 && t.is_finite()) {
                bail!("--dist-timeout {t}: give a positive number of seconds");
            }
            c.timeout = Duration::from_secs_f64(t);
            c.connect_timeout = Duration::from_secs_f64(t);
        }
        eprintln!("rank {rank} of {world}: joining the group at {coordinator}");
        Ok(Some(Peer::connect(c)?))
    }
}

impl DistArgs {
    /// [`DistArgs::connect`] with the config's fingerprint, and the run folder this process
    /// writes: `out` on rank 0 (and without a group), none on the other ranks.
    pub fn join(
        &self,
        batch_size: usize,
        config_text: &str,
        out: Option<std::path::PathBuf>,
    ) -> Result<(Option<Peer>, Option<std::path::PathBuf>)> {
        use xrisk::dist::Collective;
        let peer = self.connect(batch_size, fingerprint(config_text.as_bytes()))?;
        let rank = peer.as_ref().map_or(0, |p| p.rank());
        if rank > 0 && out.is_some() {
            eprintln!("rank {rank}: --out is written by rank 0 only");
            return Ok((peer, None));
        }
        Ok((peer, out))
    }
}

/// FNV-1a of `bytes` (stable across Rust versions and machines): the configuration
/// fingerprint that ranks compare at start-up.
pub fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}
