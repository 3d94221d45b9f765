//! Data-parallel training (spec `libauc_spec.md` §1.5, §4.3): the collective operations a step
//! needs, and the two places where a step differs from the single-process one.
//!
//! Every process draws the same *global* batch from an identically seeded sampler and runs the
//! model on its shard of it: rank `r` of `W` takes the global positions `r, r + W, r + 2W, …`
//! (LibAUC's `DistributedDualSampler` interleave), see [`shard`]. Then
//!
//! 1. [`gather_logits`]: the shards' logits are all-gathered, so every process holds the
//!    global batch's logits — its own rows keep their autodiff graph, the other ranks' rows are
//!    constants. The X-risk loss is computed on the global batch, so its per-sample state
//!    (`u`, thresholds, `a`, `b`, `α`) receives the same update on every process: the tables stay
//!    identical without sending them (LibAUC 2.0 gathers `y_pred`, `y_true` and `index` the same
//!    way for AP and pAUC).
//! 2. [`all_reduce_grads`]: after the backward pass each process holds the gradient of the global
//!    loss through its own rows only; the sum over processes is the full gradient
//!    `∂L/∂θ = Σ_r Σ_{i ∈ shard r} ∂L/∂z_i · ∂z_i/∂θ`, so the model's gradients are all-reduced
//!    with a **sum** (this is the "gradient that sums across processes" of a differentiable
//!    all-gather; averaging here would shrink the step by `W`). The loss's own parameters
//!    (`a`, `b`) see every logit on every process already: their gradients are not reduced.
//!
//! With these two operations, `W` processes with `B/W` rows each take the same steps as one
//! process with `B` rows, up to floating-point summation order.
//!
//! The transport is not here: [`Collective`] is implemented over burn's communication crate
//! by the `xrisk-cli` binary (`xrisk train --world-size …`), and by [`LocalGroup`] threads in
//! one process for tests.

use crate::error::{Result, XriskError};
use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{Int, Tensor, TensorData};

/// The collective operations of a data-parallel group. Every rank calls the same operations in
/// the same order; a call returns when every rank has made it (or fails with
/// [`XriskError::Distributed`] when a peer is gone or silent past the timeout).
pub trait Collective {
    /// This process's rank, `0..world_size`.
    fn rank(&self) -> usize;
    /// Number of processes.
    fn world_size(&self) -> usize;
    /// Every rank's `local`, in rank order.
    fn all_gather(&mut self, local: &[f32]) -> Result<Vec<Vec<f32>>>;
    /// The element-wise sum of every rank's `buf` (summed in rank order, so every rank gets the
    /// same bits), written back into `buf`.
    fn all_reduce_sum(&mut self, buf: &mut [f32]) -> Result<()> {
        let all = self.all_gather(buf)?;
        sum_in_rank_order(&all, buf)
    }
}

/// `out = Σ_r parts[r]`, in rank order.
pub fn sum_in_rank_order(parts: &[Vec<f32>], out: &mut [f32]) -> Result<()> {
    out.iter_mut().for_each(|v| *v = 0.0);
    for (r, p) in parts.iter().enumerate() {
        if p.len() != out.len() {
            return Err(dist_error(format!(
                "rank {r} sent {} values where {} were expected; every process must run the same model and configuration",
                p.len(),
                out.len()
            )));
        }
        for (o, v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
    Ok(())
}

/// A [`XriskError::Distributed`] with `message`.
pub fn dist_error(message: impl Into<String>) -> XriskError {
    XriskError::Distributed(message.into())
}

/// The global batch positions rank `rank` of `world_size` trains on: `rank, rank + W, …`.
/// The batch length must be a multiple of the world size, so that every rank runs the same
/// number of rows and the global batch is the single-process batch.
pub fn shard(batch_len: usize, rank: usize, world_size: usize) -> Result<Vec<usize>> {
    if world_size == 0 || rank >= world_size {
        return Err(dist_error(format!(
            "rank {rank} is outside a world of {world_size} processes; ranks run from 0 to world size − 1"
        )));
    }
    if !batch_len.is_multiple_of(world_size) {
        return Err(dist_error(format!(
            "the global batch of {batch_len} rows does not split evenly over {world_size} processes; make the batch size a multiple of the world size"
        )));
    }
    Ok((rank..batch_len).step_by(world_size).collect())
}

/// The global batch's logits from every rank's shard (see the module docs): `local` holds this
/// rank's rows (global positions `rank, rank + W, …`) with their graph; the result has the global
/// batch order, the other ranks' rows as constants.
pub fn gather_logits(local: Tensor<1>, comm: &mut dyn Collective) -> Result<Tensor<1>> {
    if comm.world_size() == 1 {
        return Ok(local);
    }
    let n = local.dims()[0];
    let rows = gather_rows(local.reshape([n, 1]), comm)?;
    let total = rows.dims()[0];
    Ok(rows.reshape([total]))
}

/// [`gather_logits`] for row-shaped scores `[n, L]` (a ranking batch: one row per query, its
/// candidates' scores): the global batch's rows in global order, this rank's with their graph.
pub fn gather_rows(local: Tensor<2>, comm: &mut dyn Collective) -> Result<Tensor<2>> {
    let w = comm.world_size();
    if w == 1 {
        return Ok(local);
    }
    let rank = comm.rank();
    let [n, width] = local.dims();
    let host = local
        .clone()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| dist_error(format!("cannot read the logits: {e:?}")))?;
    let all = comm.all_gather(&host)?;
    let device = local.device();
    let mut parts = Vec::with_capacity(w);
    for (r, values) in all.into_iter().enumerate() {
        if values.len() != n * width {
            return Err(dist_error(format!(
                "rank {r} computed {} scores where rank {rank} computed {}; every process must use the same configuration",
                values.len(),
                n * width
            )));
        }
        if r == rank {
            parts.push(local.clone());
        } else {
            parts.push(Tensor::from_data(
                TensorData::new(values, [n, width]),
                &device,
            ));
        }
    }
    // Concatenated position r·n + k is global position r + k·W.
    let order: Vec<i64> = (0..n * w).map(|g| ((g % w) * n + g / w) as i64).collect();
    let idx = Tensor::<1, Int>::from_data(TensorData::new(order, [n * w]), &device);
    Ok(Tensor::cat(parts, 0).select(0, idx))
}

/// Sums `grads` (the gradients of `module`'s parameters) over the group, in place: one flat
/// all-reduce of every parameter's gradient in visiting order (a parameter without a gradient on
/// this rank contributes zeros). Returns the number of values exchanged.
pub fn all_reduce_grads<M: Module>(
    module: &M,
    grads: &mut GradientsParams,
    comm: &mut dyn Collective,
) -> Result<usize> {
    if comm.world_size() == 1 {
        return Ok(0);
    }
    struct Take<'a> {
        grads: &'a mut GradientsParams,
        flat: Vec<f32>,
        /// Id and shape of every parameter, in visiting order (the layout of `flat`).
        layout: Vec<(ParamId, Vec<usize>)>,
        device: Option<burn::tensor::Device>,
    }
    impl ModuleVisitor for Take<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let shape = param.val().dims().to_vec();
            let n: usize = shape.iter().product();
            match self.grads.remove::<D>(param.id) {
                Some(g) => {
                    self.device.get_or_insert_with(|| g.device());
                    let v = g
                        .into_data()
                        .convert::<f32>()
                        .try_to_vec::<f32>()
                        .unwrap_or_else(|_| vec![0.0; n]);
                    self.flat.extend(v);
                }
                None => self.flat.extend(std::iter::repeat_n(0.0, n)),
            }
            self.layout.push((param.id, shape));
        }
    }
    let mut take = Take {
        grads,
        flat: Vec::new(),
        layout: Vec::new(),
        device: None,
    };
    module.visit(&mut take);
    let Take {
        grads,
        mut flat,
        layout,
        device,
    } = take;
    comm.all_reduce_sum(&mut flat)?;
    let device = device.unwrap_or_else(|| module.devices().first().cloned().unwrap_or_default());
    let device = device.without_autodiff();
    let mut offset = 0;
    for (id, shape) in layout {
        let n: usize = shape.iter().product();
        let values = flat[offset..offset + n].to_vec();
        offset += n;
        register(grads, id, values, &shape, &device);
    }
    Ok(flat.len())
}

fn register(
    grads: &mut GradientsParams,
    id: ParamId,
    values: Vec<f32>,
    shape: &[usize],
    device: &burn::tensor::Device,
) {
    macro_rules! reg {
        ($d:literal) => {{
            let mut s = [0usize; $d];
            s.copy_from_slice(shape);
            grads.register::<$d>(id, Tensor::from_data(TensorData::new(values, s), device));
        }};
    }
    match shape.len() {
        1 => reg!(1),
        2 => reg!(2),
        3 => reg!(3),
        4 => reg!(4),
        5 => reg!(5),
        _ => reg!(6),
    }
}

/// An in-process group of `world_size` ranks (one per thread) that exchange through shared
/// memory: for tests and for several peers in one process.
pub struct LocalGroup {
    rank: usize,
    world_size: usize,
    shared: std::sync::Arc<LocalShared>,
    round: u64,
}

struct LocalShared {
    state: std::sync::Mutex<LocalState>,
    cond: std::sync::Condvar,
    timeout: std::time::Duration,
}

struct LocalState {
    round: u64,
    parts: Vec<Option<Vec<f32>>>,
    result: Option<std::sync::Arc<Vec<Vec<f32>>>>,
    taken: usize,
    dead: Option<usize>,
}

impl LocalGroup {
    /// `world_size` handles, one per rank, whose calls wait at most `timeout` for the others.
    pub fn new(world_size: usize, timeout: std::time::Duration) -> Vec<LocalGroup> {
        let shared = std::sync::Arc::new(LocalShared {
            state: std::sync::Mutex::new(LocalState {
                round: 0,
                parts: vec![None; world_size],
                result: None,
                taken: 0,
                dead: None,
            }),
            cond: std::sync::Condvar::new(),
            timeout,
        });
        (0..world_size)
            .map(|rank| LocalGroup {
                rank,
                world_size,
                shared: shared.clone(),
                round: 0,
            })
            .collect()
    }
}

impl Drop for LocalGroup {
    fn drop(&mut self) {
        if let Ok(mut s) = self.shared.state.lock() {
            s.dead.get_or_insert(self.rank);
            self.shared.cond.notify_all();
        }
    }
}

impl Collective for LocalGroup {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.world_size
    }

    fn all_gather(&mut self, local: &[f32]) -> Result<Vec<Vec<f32>>> {
        let poisoned = |_| dist_error("a peer thread panicked");
        let deadline = std::time::Instant::now() + self.shared.timeout;
        let mut s = self.shared.state.lock().map_err(poisoned)?;
        // Wait until the previous round has been collected by everyone.
        while s.round != self.round {
            s = self.wait(s, deadline)?;
        }
        s.parts[self.rank] = Some(local.to_vec());
        if s.parts.iter().all(Option::is_some) {
            let all: Vec<Vec<f32>> = s
                .parts
                .iter_mut()
                .map(|p| p.take().unwrap_or_default())
                .collect();
            s.result = Some(std::sync::Arc::new(all));
            self.shared.cond.notify_all();
        }
        while s.result.is_none() {
            s = self.wait(s, deadline)?;
        }
        let result = s.result.clone().unwrap_or_default();
        s.taken += 1;
        if s.taken == self.world_size {
            s.taken = 0;
            s.result = None;
            s.round += 1;
            self.shared.cond.notify_all();
        }
        self.round += 1;
        Ok((*result).clone())
    }
}

impl LocalGroup {
    fn wait<'a>(
        &self,
        s: std::sync::MutexGuard<'a, LocalState>,
        deadline: std::time::Instant,
    ) -> Result<std::sync::MutexGuard<'a, LocalState>> {
        if let Some(dead) = s.dead {
            return Err(dist_error(format!("rank {dead} left the group")));
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(dist_error(format!(
                "rank {} waited {:?} for the other ranks",
                self.rank, self.shared.timeout
            )));
        }
        let (s, _) = self
            .shared
            .cond
            .wait_timeout(s, left)
            .map_err(|_| dist_error("a peer thread panicked"))?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn shards_interleave_and_cover_the_batch() {
        assert_eq!(shard(6, 0, 2).unwrap(), vec![0, 2, 4]);
        assert_eq!(shard(6, 1, 2).unwrap(), vec![1, 3, 5]);
        assert!(
            shard(7, 0, 2)
                .unwrap_err()
                .to_string()
                .contains("multiple of the world size")
        );
        assert!(
            shard(4, 2, 2)
                .unwrap_err()
                .to_string()
                .contains("outside a world of 2")
        );
    }

    #[test]
    fn local_group_gathers_in_rank_order_and_reports_a_dead_peer() {
        let mut g = LocalGroup::new(3, Duration::from_secs(5));
        let handles: Vec<_> = g
            .drain(..)
            .map(|mut c| {
                std::thread::spawn(move || {
                    let mut out = Vec::new();
                    for round in 0..3 {
                        let mut v = vec![c.rank() as f32 + 10.0 * round as f32; 2];
                        c.all_reduce_sum(&mut v).unwrap();
                        out.push(v[0]);
                    }
                    out
                })
            })
            .collect();
        for h in handles {
            // Σ_r (r + 10·round) over r = 0, 1, 2.
            assert_eq!(h.join().unwrap(), vec![3.0, 33.0, 63.0]);
        }
        let mut g = LocalGroup::new(2, Duration::from_secs(5));
        let survivor = g.remove(0);
        drop(g);
        let mut survivor = survivor;
        let err = survivor.all_gather(&[1.0]).unwrap_err().to_string();
        assert!(err.contains("rank 1 left the group"), "{err}");
    }
}
