//! # xrisk-dist
//!
//! Data-parallel xrisk training across processes and machines (spec `libauc_spec.md` §1.5,
//! §4.3). [`Peer`] implements [`xrisk::dist::Collective`] over burn's own transport
//! (`burn-communication`, WebSocket): rank 0 hosts the coordinator ([`hub`]) on `HOST:PORT`,
//! every rank — rank 0 included — connects to it, and each collective call sends this rank's
//! values and returns every rank's, in rank order.
//!
//! What a training step exchanges is decided in [`xrisk::dist`]: the global batch's logits
//! (all-gather, `B` floats) and the model's gradients (all-reduce sum, one float per
//! parameter). The per-sample state tables are never sent: every rank applies the same update
//! from the same global batch.
//!
//! Failures are errors, never hangs: a peer whose process exits closes its connection and the
//! coordinator tells every other rank at once; a silent peer makes the others give up after
//! `timeout`; a coordinator that cannot be reached, or ranks that disagree on the world size or
//! the configuration, fail at start-up with a message naming the rank and what to fix.
//!
//! ```no_run
//! use std::time::Duration;
//! use xrisk::dist::Collective;
//! use xrisk_dist::{Peer, PeerConfig};
//! // In process r of 2, on any machine that reaches node0:29500:
//! let r = 0;
//! let mut peer = Peer::connect(PeerConfig::new(2, r, "node0:29500"))?;
//! let mut g = vec![1.0_f32, 2.0];
//! peer.all_reduce_sum(&mut g)?; // [2.0, 4.0] on both ranks when both sent [1, 2]
//! # Ok::<(), xrisk::XriskError>(())
//! ```

pub mod hub;
pub mod peer;
pub mod wire;

pub use peer::{Peer, PeerConfig};
