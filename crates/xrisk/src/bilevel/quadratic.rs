//! The synthetic probe of spec `bilevel_ndcg_spec.md` §5.2: a quadratic multi-block bilevel
//! problem whose hypergradient is known in closed form, so ‖∇F(x_t)‖² can be measured exactly.
//!
//! ```text
//! g_i(x, y; ξ) = ½ yᵀ(A_i + E_ξ)y − yᵀ((B_i + G_ξ)x + c_i + e_ξ)
//! f_i(x, y; ζ) = ½‖y − t_i − ε_ζ‖² + ρ Σ_k log(1 + x_k²)
//! y_i*(x) = A_i⁻¹(B_i x + c_i),   ∇F(x) = ρ·2x/(1 + x²) + (1/m) Σ_i B_iᵀ A_i⁻¹ (y_i* − t_i)
//! ```
//!
//! A_i = D_i + U_i U_iᵀ is diagonal plus rank two: D_i uniform in [0.5, 1.5], the columns of U_i
//! with squared norm at most ¼, so every eigenvalue lies in [0.5, 2] (the spec's μ = 0.5,
//! L = 2) while a Hessian-vector product costs O(d_y) — the setting where v2 should beat v1,
//! whose Hessian is dense whatever the structure. B_i has N(0, 1/d_x) entries;
//! c_i, t_i are N(0, 1). The noise is zero-mean and averaged over the B draws of a sample, so
//! its variance is σ²/B: E_ξ is diagonal (N(0, σ²/B)), G_ξ = a bᵀ is rank one with a ~ N(0, σ²/B),
//! b ~ N(0, 1/d_x), and e_ξ, ε_ζ are N(0, σ²/B). (Structured noise keeps a sample's cost linear
//! in d_y, so the per-iteration cost of v2 is the algorithm's, not the noise generator's.)

use super::oracle::tensor;
use super::problem::{Level, MultiBlockProblem};
use burn::tensor::{Device, Int, Tensor, TensorData};
use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};

/// Rank of the low-rank part of A_i.
const RANK: usize = 2;

/// Size and noise of a [`QuadraticProblem`].
#[derive(Debug, Clone, PartialEq)]
pub struct QuadraticConfig {
    /// Blocks m.
    pub blocks: usize,
    /// Upper-level dimension d_x.
    pub dim_x: usize,
    /// Lower-level dimension d_y.
    pub dim_y: usize,
    /// Noise σ of one draw.
    pub noise: f64,
    /// Weight ρ of the non-convex upper-level term.
    pub rho: f64,
    /// Seed of the problem's data (A_i, B_i, c_i, t_i) and of x₀.
    pub seed: u64,
}

impl Default for QuadraticConfig {
    /// The prototype's size (§5.2): m = 50, d_x = 20, d_y = 5, σ = 1, ρ = 0.1.
    fn default() -> Self {
        Self {
            blocks: 50,
            dim_x: 20,
            dim_y: 5,
            noise: 1.0,
            rho: 0.1,
            seed: 0,
        }
    }
}

/// A quadratic MBBO with closed-form truth.
pub struct QuadraticProblem {
    cfg: QuadraticConfig,
    device: Device,
    diag: Tensor<2>,
    low_rank: Tensor<3>,
    b: Tensor<3>,
    c: Tensor<2>,
    t: Tensor<2>,
    a_inv: Vec<DMatrix<f64>>,
    b_mat: Vec<DMatrix<f64>>,
    c_vec: Vec<DVector<f64>>,
    t_vec: Vec<DVector<f64>>,
}

/// Noise of one sample for the sampled blocks.
pub struct QuadraticSample {
    diag: Option<Tensor<2>>,
    cross: Option<(Tensor<2>, Tensor<2>)>,
    shift: Tensor<2>,
}

fn normals(rng: &mut ChaCha8Rng, n: usize, sd: f64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(rng);
            sd * z
        })
        .collect()
}

impl QuadraticProblem {
    /// Draws the problem's data from `cfg.seed` and puts it on `device` (an autodiff device).
    pub fn new(cfg: QuadraticConfig, device: &Device) -> Self {
        let (m, dx, dy) = (cfg.blocks, cfg.dim_x, cfg.dim_y);
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed_b17e);
        let dist = Uniform::new(0.5, 1.5).unwrap_or_else(|_| unreachable!("0.5 < 1.5"));
        let (mut d_all, mut u_all, mut b_all, mut c_all, mut t_all) =
            (vec![], vec![], vec![], vec![], vec![]);
        let (mut a_inv, mut b_mat, mut c_vec, mut t_vec) = (vec![], vec![], vec![], vec![]);
        for _ in 0..m {
            let d = DVector::from_iterator(dy, (0..dy).map(|_| dist.sample(&mut rng)));
            let mut u = DMatrix::from_vec(dy, RANK, normals(&mut rng, dy * RANK, 1.0));
            for mut col in u.column_iter_mut() {
                let n = col.norm();
                let len: f64 = dist.sample(&mut rng) - 0.5; // squared length in [0, 1) · ¼
                col *= 0.5 * len.sqrt() / n.max(1e-12);
            }
            let a = DMatrix::from_diagonal(&d) + &u * u.transpose();
            let inv = a
                .clone()
                .try_inverse()
                .unwrap_or_else(|| DMatrix::identity(dy, dy));
            let b = DMatrix::from_vec(dy, dx, normals(&mut rng, dy * dx, 1.0 / (dx as f64).sqrt()));
            let c = DVector::from_vec(normals(&mut rng, dy, 1.0));
            let t = DVector::from_vec(normals(&mut rng, dy, 1.0));
            // row-major copies for the tensors
            d_all.extend(d.iter().copied());
            u_all.extend((0..dy * RANK).map(|k| u[(k / RANK, k % RANK)]));
            b_all.extend((0..dy * dx).map(|k| b[(k / dx, k % dx)]));
            c_all.extend(c.iter().copied());
            t_all.extend(t.iter().copied());
            a_inv.push(inv);
            b_mat.push(b);
            c_vec.push(c);
            t_vec.push(t);
        }
        Self {
            diag: tensor(d_all, [m, dy], device),
            low_rank: tensor(u_all, [m, dy, RANK], device),
            b: tensor(b_all, [m, dy, dx], device),
            c: tensor(c_all, [m, dy], device),
            t: tensor(t_all, [m, dy], device),
            device: device.clone(),
            cfg,
            a_inv,
            b_mat,
            c_vec,
            t_vec,
        }
    }

    /// y_i*(x) = A_i⁻¹(B_i x + c_i) for every block, block after block.
    pub fn y_star(&self, x: &[f64]) -> Vec<f64> {
        let xv = DVector::from_column_slice(x);
        (0..self.cfg.blocks)
            .flat_map(|i| {
                (&self.a_inv[i] * (&self.b_mat[i] * &xv + &self.c_vec[i]))
                    .data
                    .as_vec()
                    .clone()
            })
            .collect()
    }

    /// The exact hypergradient ∇F(x).
    pub fn true_gradient(&self, x: &[f64]) -> Vec<f64> {
        let xv = DVector::from_column_slice(x);
        let m = self.cfg.blocks;
        let mut g = DVector::zeros(x.len());
        for i in 0..m {
            let ys = &self.a_inv[i] * (&self.b_mat[i] * &xv + &self.c_vec[i]);
            g += self.b_mat[i].transpose() * (&self.a_inv[i] * (ys - &self.t_vec[i]));
        }
        g /= m as f64;
        g.iter()
            .zip(x)
            .map(|(a, &xk)| a + self.cfg.rho * 2.0 * xk / (1.0 + xk * xk))
            .collect()
    }

    /// ‖∇F(x)‖², the stationarity measure of the probe.
    pub fn grad_norm_sq(&self, x: &[f64]) -> f64 {
        self.true_gradient(x).iter().map(|a| a * a).sum()
    }

    fn index(&self, blocks: &[usize]) -> Tensor<1, Int> {
        let ids: Vec<i64> = blocks.iter().map(|&i| i as i64).collect();
        Tensor::from_data(TensorData::new(ids, [blocks.len()]), &self.device)
    }
}

impl MultiBlockProblem for QuadraticProblem {
    type Sample = QuadraticSample;

    fn blocks(&self) -> usize {
        self.cfg.blocks
    }
    fn dim_x(&self) -> usize {
        self.cfg.dim_x
    }
    fn dim_y(&self) -> usize {
        self.cfg.dim_y
    }
    fn device(&self) -> Device {
        self.device.clone()
    }

    fn sample(
        &self,
        level: Level,
        blocks: &[usize],
        batch: usize,
        rng: &mut ChaCha8Rng,
    ) -> QuadraticSample {
        let (n, dx, dy) = (blocks.len(), self.cfg.dim_x, self.cfg.dim_y);
        let sd = self.cfg.noise / (batch.max(1) as f64).sqrt();
        let d = &self.device;
        match level {
            Level::Lower => QuadraticSample {
                diag: Some(tensor(normals(rng, n * dy, sd), [n, dy], d)),
                cross: Some((
                    tensor(normals(rng, n * dy, sd), [n, dy], d),
                    tensor(normals(rng, n * dx, 1.0 / (dx as f64).sqrt()), [n, dx], d),
                )),
                shift: tensor(normals(rng, n * dy, sd), [n, dy], d),
            },
            Level::Upper => QuadraticSample {
                diag: None,
                cross: None,
                shift: tensor(normals(rng, n * dy, sd), [n, dy], d),
            },
        }
    }

    fn lower(
        &self,
        blocks: &[usize],
        x: Tensor<1>,
        ys: Tensor<3>,
        s: &QuadraticSample,
    ) -> Tensor<2> {
        let [n, k, dy] = ys.dims();
        let dx = self.cfg.dim_x;
        let idx = self.index(blocks);
        let d = self
            .diag
            .clone()
            .select(0, idx.clone())
            .unsqueeze_dim::<3>(1);
        let u = self.low_rank.clone().select(0, idx.clone());
        let quad = ((ys.clone().powi_scalar(2) * d).sum_dim(2)
            + ys.clone().matmul(u).powi_scalar(2).sum_dim(2))
            * 0.5;
        let bm = self.b.clone().select(0, idx.clone());
        let mut shift = self.c.clone().select(0, idx);
        shift = shift + s.shift.clone();
        let mut total = quad;
        if let Some(diag) = &s.diag {
            total = total
                + (ys.clone().powi_scalar(2) * diag.clone().unsqueeze_dim::<3>(1)).sum_dim(2) * 0.5;
        }
        let mut bx = (bm * x.clone().reshape([1, 1, dx]))
            .sum_dim(2)
            .reshape([n, dy]);
        if let Some((a, b)) = &s.cross {
            // (a bᵀ) x = a · (bᵀx)
            bx = bx + a.clone() * (b.clone() * x.reshape([1, dx])).sum_dim(1);
        }
        let bx = bx.unsqueeze_dim::<3>(1);
        let lin_vec = bx + shift.unsqueeze_dim::<3>(1);
        let lin = (ys * lin_vec).sum_dim(2);
        (total - lin).reshape([n, k])
    }

    fn upper(
        &self,
        blocks: &[usize],
        x: Tensor<1>,
        ys: Tensor<3>,
        s: &QuadraticSample,
    ) -> Tensor<2> {
        let [n, k, _] = ys.dims();
        let target = self.t.clone().select(0, self.index(blocks)) + s.shift.clone();
        let fit = (ys - target.unsqueeze_dim::<3>(1))
            .powi_scalar(2)
            .sum_dim(2)
            .reshape([n, k])
            * 0.5;
        let reg = (x.powi_scalar(2) + 1.0).log().sum() * self.cfg.rho;
        fit + reg.reshape([1, 1])
    }

    fn initial_x(&self, _rng: &mut ChaCha8Rng) -> Vec<f64> {
        // x₀ belongs to the problem (same start for every method and seed of the algorithm)
        let mut rng = ChaCha8Rng::seed_from_u64(self.cfg.seed ^ 0x0005_7a27);
        normals(&mut rng, self.cfg.dim_x, 1.0)
    }

    fn initial_y(&self, _rng: &mut ChaCha8Rng) -> Vec<f64> {
        vec![0.0; self.cfg.blocks * self.cfg.dim_y]
    }
}
