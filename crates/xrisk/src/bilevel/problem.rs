//! The user's side of a multi-block bilevel problem (spec `bilevel_ndcg_spec.md` §1.1):
//!
//! ```text
//! min_x F(x) = (1/m) Σ_i f_i(x, y_i*(x)),   y_i*(x) = argmin_y g_i(x, y)   (g_i strongly convex in y)
//! ```
//!
//! A problem only evaluates f_i and g_i as burn tensors; every derivative the algorithms need
//! (∇_y g, ∇²_yy g or its products, ∇_x f, ∇_y f, ∇²_xy g·w) comes from burn autodiff in
//! [`super::oracle`].

use burn::tensor::{Device, Tensor};
use rand_chacha::ChaCha8Rng;

/// Which level a data sample feeds: ξ for the lower problems g_i, ζ for the upper f_i.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Samples ξ of the lower-level objectives g_i.
    Lower,
    /// Samples ζ of the upper-level objectives f_i.
    Upper,
}

/// m lower-level problems coupled through one upper-level variable.
///
/// Evaluation is batched twice over, so one autodiff pass serves a whole iteration: over the
/// sampled blocks (`blocks`, length I) and over several candidate lower-level points per block
/// (`ys` has shape `[I, k, d_y]`; row `[b, r]` is a point y for block `blocks[b]`). Both
/// functions return `[I, k]`: the value of g_i (or f_i) at every row, on the sample `sample`
/// (already averaged over its B draws). All tensors are `f64` on [`Self::device`], an
/// autodiff device; `x` has shape `[d_x]`.
pub trait MultiBlockProblem {
    /// One stochastic sample for a set of blocks (B draws per block), from [`Self::sample`].
    type Sample;

    /// Number of blocks m.
    fn blocks(&self) -> usize;
    /// Upper-level dimension d_x.
    fn dim_x(&self) -> usize;
    /// Lower-level dimension d_y (the same for every block).
    fn dim_y(&self) -> usize;
    /// The autodiff device the problem's tensors live on.
    fn device(&self) -> Device;
    /// Draws `batch` samples for each block in `blocks` at `level`.
    fn sample(
        &self,
        level: Level,
        blocks: &[usize],
        batch: usize,
        rng: &mut ChaCha8Rng,
    ) -> Self::Sample;
    /// g_i(x, y; ξ) for every block and row: `ys` `[I, k, d_y]` → `[I, k]`.
    fn lower(
        &self,
        blocks: &[usize],
        x: Tensor<1>,
        ys: Tensor<3>,
        sample: &Self::Sample,
    ) -> Tensor<2>;
    /// f_i(x, y; ζ) for every block and row: `ys` `[I, k, d_y]` → `[I, k]`. A term of f_i
    /// that depends on x alone is added once per block (it is averaged over blocks).
    fn upper(
        &self,
        blocks: &[usize],
        x: Tensor<1>,
        ys: Tensor<3>,
        sample: &Self::Sample,
    ) -> Tensor<2>;
    /// Starting upper-level point x₀ (length d_x).
    fn initial_x(&self, rng: &mut ChaCha8Rng) -> Vec<f64>;
    /// Starting lower-level points, block after block (length m·d_y).
    fn initial_y(&self, rng: &mut ChaCha8Rng) -> Vec<f64>;
}
