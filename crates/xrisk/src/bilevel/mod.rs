//! Multi-block bilevel optimization (spec `bilevel_ndcg_spec.md` §1–§2, §5.2):
//!
//! ```text
//! min_x F(x) = (1/m) Σ_i f_i(x, y_i*(x)),   y_i*(x) = argmin_y g_i(x, y)
//! ```
//!
//! The user describes the problem through [`MultiBlockProblem`] (values of f_i and g_i as burn
//! tensors); [`Bilevel`] runs BSVRB v1 or v2, their moving-average ablation or the RSVRB
//! baseline on it, with every derivative taken by burn autodiff ([`oracle`]).
//! [`QuadraticProblem`] is the closed-form probe, [`DataReweighting`] the a8a
//! hyper-parameter-optimization problem of the paper.
//!
//! ```
//! use burn::tensor::Device;
//! use xrisk::bilevel::{Bilevel, BilevelConfig, Method, QuadraticConfig, QuadraticProblem};
//! let device = Device::flex().autodiff();
//! let problem = QuadraticProblem::new(QuadraticConfig { blocks: 8, ..Default::default() }, &device);
//! let mut cfg = BilevelConfig::new(Method::BsvrbV2);
//! (cfg.blocks_per_iter, cfg.samples_per_block, cfg.eta, cfg.tau, cfg.alpha, cfg.beta) = (8, 16, 0.05, 0.1, 0.5, 0.5);
//! let mut run = Bilevel::new(problem, cfg)?;
//! let start = run.problem().grad_norm_sq(run.x());
//! for _ in 0..200 {
//!     run.step()?;
//! }
//! assert!(run.problem().grad_norm_sq(run.x()) < start);
//! # Ok::<(), xrisk::XriskError>(())
//! ```

pub mod hyperopt;
pub mod linalg;
pub mod oracle;
pub mod problem;
pub mod quadratic;
pub mod solver;

pub use hyperopt::{DataReweighting, ReweightingData};
pub use problem::{Level, MultiBlockProblem};
pub use quadratic::{QuadraticConfig, QuadraticProblem};
pub use solver::{Bilevel, BilevelConfig, Estimator, LowerUpdate, Method, StepInfo, theory_gamma};
