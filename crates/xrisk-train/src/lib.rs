//! Training runs for every xrisk family — the counterpart of burn-train for burn.
//!
//! - [`Trainer`] owns the epoch: the [`Schedule`] (learning-rate decay, step cap), the
//!   finiteness check, checkpoints after every epoch and every N steps, and exact resume.
//! - A family plugs in as a [`Task`]: its model, batches, step, evaluation and checkpoint
//!   contents ([`binary::BinaryTask`], [`mil::MilTask`], [`multilabel::MultiLabelTask`], [`multiclass::ManyClassTask`], [`charlm::CharLmTask`],
//!   [`contrastive::UnimodalTask`], [`contrastive::BimodalTask`], [`rank::RankingTask`]).
//! - Progress leaves through an [`Observer`]: the `xrisk` command line draws bars and writes
//!   `metrics.jsonl` with one; a library user passes [`observer::Records`] or [`observer::Silent`].
//! - [`config`] is the run's TOML configuration with its value checks, [`builder`] turns it into
//!   losses, optimizers and samplers, [`data`] reads and prepares the data.
//!
//! Everything returns `anyhow::Result` with errors that name the config key or file at fault.

pub mod binary;
pub mod builder;
pub mod charlm;
pub mod checkpoint;
pub mod config;
pub mod contrastive;
pub mod data;
mod gradients;
pub mod mil;
pub mod multiclass;
pub mod multilabel;
pub mod observer;
pub mod peers;
pub mod rank;
pub mod stages;
pub mod trainer;

pub use checkpoint::Persistence;
pub use config::{Config, LrSchedule};
pub use observer::{EpochRecord, Observer};
pub use trainer::{Best, Schedule, Selection, Task, Trainer};
