//! Mean average precision over tasks, and mAP@k (`meanAveragePrecisionLoss`, spec
//! `libauc_spec.md` §2.5): SOAP ([`crate::ap`]) on each task with per-task state
//! `u_all[t, id]`, `u_pos[t, id]` (task-major, entry `t·data_len + id`), averaged over the
//! batch's tasks. With `top_k = Some(k)` the weights are also multiplied by
//! `σ(k − Σ_i ℓ_ij)` (the sum over the task's positive anchors), a smooth "item j is in the
//! top k". Cost: two passes over each task's `P_t × B` pairs.

use crate::ap::{SoapScratch, SoapSettings, SoapTables, soap_step};
use crate::check::{self, Split};
use crate::error::Result;
use crate::surrogate::Surrogate;
use crate::tasks::{Column, check_shape, chosen};

/// Settings of the mAP loss (LibAUC defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapConfig {
    /// Number of samples (ids must be below it).
    pub data_len: usize,
    /// Number of tasks.
    pub n_tasks: usize,
    /// Moving-average weight on the batch estimate (default 0.9).
    pub gamma: f64,
    /// Surrogate margin (default 1.0).
    pub margin: f64,
    /// mAP@k cut-off (default `None`: plain mAP).
    pub top_k: Option<f64>,
    /// Surrogate (default squared hinge).
    pub surrogate: Surrogate,
}

impl MapConfig {
    /// Defaults for `data_len` samples and `n_tasks` tasks.
    pub fn new(data_len: usize, n_tasks: usize) -> Self {
        MapConfig {
            data_len,
            n_tasks,
            gamma: 0.9,
            margin: 1.0,
            top_k: None,
            surrogate: Surrogate::SquaredHinge,
        }
    }

    /// Checks the settings: `0 < gamma ≤ 1`, a finite margin, at least one task, a finite
    /// `top_k`.
    pub fn validate(&self) -> Result<()> {
        check::in_range(
            "gamma",
            self.gamma,
            f64::MIN_POSITIVE,
            1.0,
            "must be in (0, 1]",
        )?;
        check::finite_setting("margin", self.margin)?;
        check::in_range(
            "num_labels",
            self.n_tasks as f64,
            1.0,
            f64::MAX,
            "needs at least one task",
        )?;
        if let Some(k) = self.top_k {
            check::finite_setting("top_k", k)?;
        }
        Ok(())
    }
}

/// The mAP kernel with its per-task tables.
#[derive(Debug, Clone)]
pub struct MapKernel {
    config: MapConfig,
    u_all: Vec<f32>,
    u_pos: Vec<f32>,
    chosen: Vec<usize>,
    col: Column,
    split: Split,
    scratch: SoapScratch,
}

impl MapKernel {
    /// A kernel with zeroed state; errors on a bad setting or tables that cannot be allocated.
    pub fn new(config: MapConfig) -> Result<Self> {
        config.validate()?;
        let len = config.data_len.saturating_mul(config.n_tasks);
        Ok(MapKernel {
            config,
            u_all: check::table("data_len × num_labels", len, 0.0)?,
            u_pos: check::table("data_len × num_labels", len, 0.0)?,
            chosen: Vec::new(),
            col: Column::default(),
            split: Split::default(),
            scratch: SoapScratch::default(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &MapConfig {
        &self.config
    }

    /// `u_all`, task-major (`t·data_len + id`).
    pub fn u_all(&self) -> &[f32] {
        &self.u_all
    }

    /// `u_pos`, task-major.
    pub fn u_pos(&self) -> &[f32] {
        &self.u_pos
    }

    /// Replaces the state (a checkpoint).
    pub fn load_state(&mut self, u_all: &[f32], u_pos: &[f32]) -> Result<()> {
        check::load("u_all", &mut self.u_all, u_all)?;
        check::load("u_pos", &mut self.u_pos, u_pos)
    }

    /// The mean SOAP value over `tasks` (all when empty) of scores `[B, T]` with row-major 0/1
    /// labels and one sample id per row; every chosen task needs a positive. Writes
    /// `∂value/∂scores` into `grad` (`B·T`).
    pub fn forward(
        &mut self,
        h: &[f32],
        labels: &[f32],
        ids: &[usize],
        tasks: &[usize],
        grad: &mut [f32],
    ) -> Result<f64> {
        let c = self.config;
        let t = c.n_tasks;
        check_shape(h.len(), labels.len(), t, Some(ids.len()), grad.len())?;
        check::ids(ids, c.data_len)?;
        check::finite("MapLoss", h)?;
        chosen(tasks, t, &mut self.chosen)?;
        grad.iter_mut().for_each(|g| *g = 0.0);
        let scale = 1.0 / self.chosen.len() as f64;
        let settings = SoapSettings {
            gamma: c.gamma,
            margin: c.margin,
            surrogate: c.surrogate,
            top_k: c.top_k,
        };
        let mut value = 0.0;
        for &k in &self.chosen {
            self.col.gather(h, labels, t, k);
            self.split.fill("MapLoss", &self.col.y, false)?;
            self.scratch.state_ids.clear();
            self.scratch
                .state_ids
                .extend(self.split.pos.iter().map(|&i| k * c.data_len + ids[i]));
            value += soap_step(
                SoapTables {
                    u_all: &mut self.u_all,
                    u_pos: &mut self.u_pos,
                },
                &self.col.h,
                &self.col.y,
                &self.split.pos,
                Some(scale),
                settings,
                &mut self.col.grad,
                &mut self.scratch,
            );
            self.col.scatter(grad, t, k);
        }
        Ok(value)
    }
}
