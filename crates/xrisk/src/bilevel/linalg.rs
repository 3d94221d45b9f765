//! Small dense linear algebra for the per-block Hessian estimates of BSVRB v1 and RSVRB
//! (spec `bilevel_ndcg_spec.md` §1.5), on nalgebra.

use nalgebra::{DMatrix, DVector};

/// Π_{⪰floor}: replaces the symmetric `d×d` matrix `h` (row-major) by Q·max(Λ, floor)·Qᵀ, so
/// every eigenvalue is at least `floor` and the inverse is bounded by 1/floor.
pub fn clip_eigenvalues(h: &mut [f64], d: usize, floor: f64) {
    let m = DMatrix::from_row_slice(d, d, h);
    let eig = m.symmetric_eigen();
    let clipped = eig
        .eigenvalues
        .map(|l| if l.is_finite() { l.max(floor) } else { floor });
    let q = eig.eigenvectors;
    let out = &q * DMatrix::from_diagonal(&clipped) * q.transpose();
    for r in 0..d {
        for c in 0..d {
            h[r * d + c] = 0.5 * (out[(r, c)] + out[(c, r)]);
        }
    }
}

/// Solves `h · w = b` for a symmetric positive-definite `h` (row-major `d×d`). Falls back to
/// the eigen-clipped inverse with `floor` if the Cholesky factorisation fails (an estimate
/// that lost definiteness to rounding).
pub fn solve_spd(h: &[f64], d: usize, b: &[f64], floor: f64) -> Vec<f64> {
    let m = DMatrix::from_row_slice(d, d, h);
    let rhs = DVector::from_column_slice(b);
    if let Some(ch) = m.clone().cholesky() {
        return ch.solve(&rhs).iter().copied().collect();
    }
    let eig = m.symmetric_eigen();
    let inv = eig.eigenvalues.map(|l| 1.0 / l.max(floor));
    let q = eig.eigenvectors;
    let w = &q * DMatrix::from_diagonal(&inv) * (q.transpose() * rhs);
    w.iter().copied().collect()
}

/// Π_{‖u‖≤radius}: scales `u` back onto the ball of `radius` if it lies outside.
pub fn project_ball(u: &mut [f64], radius: f64) {
    let n = u.iter().map(|a| a * a).sum::<f64>().sqrt();
    if n > radius {
        let s = radius / n;
        u.iter_mut().for_each(|a| *a *= s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_raises_only_small_eigenvalues() {
        // eigenvalues 3 and -1 along (1,1)/√2 and (1,-1)/√2
        let mut h = vec![1.0, 2.0, 2.0, 1.0];
        clip_eigenvalues(&mut h, 2, 0.5);
        // Q diag(3, 0.5) Qᵀ = [[1.75, 1.25], [1.25, 1.75]]
        for (a, b) in h.iter().zip([1.75, 1.25, 1.25, 1.75]) {
            assert!((a - b).abs() < 1e-12, "{h:?}");
        }
    }

    #[test]
    fn solve_matches_the_inverse() {
        let h = [4.0, 1.0, 1.0, 3.0];
        let w = solve_spd(&h, 2, &[1.0, 2.0], 1e-3);
        // inverse = [[3, -1], [-1, 4]] / 11
        assert!((w[0] - 1.0 / 11.0).abs() < 1e-12 && (w[1] - 7.0 / 11.0).abs() < 1e-12);
    }

    #[test]
    fn projection_keeps_points_inside_the_ball() {
        let mut u = vec![3.0, 4.0];
        project_ball(&mut u, 10.0);
        assert_eq!(u, vec![3.0, 4.0]);
        project_ball(&mut u, 1.0);
        assert!((u[0] - 0.6).abs() < 1e-12 && (u[1] - 0.8).abs() < 1e-12);
    }
}
