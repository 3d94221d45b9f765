//! Cross-modal retrieval and calibration metrics for the contrastive and language-model
//! experiments (issue 5).
//!
//! - [`recall_at_k`]: for `n` matched pairs and an `n × n` similarity matrix `S` (row `i` a
//!   query of one side, column `j` an item of the other, the true match of `i` is `i`),
//!   `R@K = (1/n) Σ_i 1[rank_i ≤ K]` with `rank_i = 1 + #{j ≠ i : S_ij ≥ S_ii}` — ties count
//!   against the match (a constant encoder scores R@K = 0 for K < n, not 1). The other
//!   direction is the same on `Sᵀ` ([`recall_at_k_both`]).
//! - [`expected_calibration_error`]: `ECE = Σ_b (|B_b|/n)·|acc(B_b) − conf(B_b)|` over `bins`
//!   equal-width confidence bins (`(k/bins, (k+1)/bins]`, the first also holding 0).

use crate::error::MetricError;

fn check_square(sim: &[f64], n: usize) -> Result<(), MetricError> {
    if n == 0 {
        return Err(MetricError::Empty);
    }
    if sim.len() != n * n {
        return Err(MetricError::LengthMismatch {
            what: "similarity matrix",
            got: sim.len(),
            expected: n * n,
        });
    }
    if let Some(i) = sim.iter().position(|v| !v.is_finite()) {
        return Err(MetricError::NonFiniteScore {
            index: i,
            value: sim[i],
        });
    }
    Ok(())
}

/// The rank (1 = first) of each query's true match, ties counted against it; `sim` is
/// row-major `n × n`, `transpose` reads it column-wise (the other direction).
fn match_ranks(sim: &[f64], n: usize, transpose: bool) -> Vec<usize> {
    let at = |i: usize, j: usize| {
        if transpose {
            sim[j * n + i]
        } else {
            sim[i * n + j]
        }
    };
    (0..n)
        .map(|i| {
            let own = at(i, i);
            1 + (0..n).filter(|&j| j != i && at(i, j) >= own).count()
        })
        .collect()
}

/// `R@K` for each `K` in `ks`, queries along rows of the row-major `n × n` matrix `sim`.
pub fn recall_at_k(sim: &[f64], n: usize, ks: &[usize]) -> Result<Vec<f64>, MetricError> {
    check_square(sim, n)?;
    let ranks = match_ranks(sim, n, false);
    Ok(ks
        .iter()
        .map(|&k| ranks.iter().filter(|&&r| r <= k).count() as f64 / n as f64)
        .collect())
}

/// `(rows → columns, columns → rows)` recalls at each `K` (e.g. image→text and text→image).
pub fn recall_at_k_both(
    sim: &[f64],
    n: usize,
    ks: &[usize],
) -> Result<(Vec<f64>, Vec<f64>), MetricError> {
    check_square(sim, n)?;
    let rate = |ranks: Vec<usize>| -> Vec<f64> {
        ks.iter()
            .map(|&k| ranks.iter().filter(|&&r| r <= k).count() as f64 / n as f64)
            .collect()
    };
    Ok((
        rate(match_ranks(sim, n, false)),
        rate(match_ranks(sim, n, true)),
    ))
}

/// Expected calibration error of top-1 predictions: `confidence[i] ∈ [0, 1]` the predicted
/// probability of the predicted class, `correct[i]` whether it was right.
pub fn expected_calibration_error(
    confidence: &[f64],
    correct: &[bool],
    bins: usize,
) -> Result<f64, MetricError> {
    if confidence.is_empty() || bins == 0 {
        return Err(MetricError::Empty);
    }
    if confidence.len() != correct.len() {
        return Err(MetricError::LengthMismatch {
            what: "correct",
            got: correct.len(),
            expected: confidence.len(),
        });
    }
    if let Some(i) = confidence
        .iter()
        .position(|c| !c.is_finite() || !(0.0..=1.0).contains(c))
    {
        return Err(MetricError::NonFiniteScore {
            index: i,
            value: confidence[i],
        });
    }
    let mut count = vec![0usize; bins];
    let mut conf = vec![0.0; bins];
    let mut hits = vec![0.0; bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let b = ((c * bins as f64).ceil() as usize).clamp(1, bins) - 1;
        count[b] += 1;
        conf[b] += c;
        hits[b] += f64::from(u8::from(ok));
    }
    let n = confidence.len() as f64;
    Ok((0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (hits[b] - conf[b]).abs() / n)
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_counts_ties_against_the_match_and_reads_both_directions() {
        // Row 0's match is first; row 1's match is beaten by column 0; row 2 ties with col 0.
        let s = [
            0.9, 0.1, 0.2, //
            0.8, 0.5, 0.3, //
            0.4, 0.0, 0.4,
        ];
        let r = recall_at_k(&s, 3, &[1, 2, 3]).unwrap();
        assert_eq!(r, vec![1.0 / 3.0, 1.0, 1.0]);
        let (rows, cols) = recall_at_k_both(&s, 3, &[1]).unwrap();
        assert_eq!(rows, vec![1.0 / 3.0]);
        // Columns: column 0 holds 0.9, 0.8, 0.4 (match 0.9 first), column 1 holds 0.1, 0.5,
        // 0.0 (match 0.5 first), column 2 holds 0.2, 0.3, 0.4 (match 0.4 first).
        assert_eq!(cols, vec![1.0]);
        // A constant encoder retrieves nothing at K = 1.
        assert_eq!(recall_at_k(&[1.0; 9], 3, &[1]).unwrap(), vec![0.0]);
        assert!(recall_at_k(&s, 2, &[1]).is_err());
    }

    #[test]
    fn ece_by_hand() {
        // Bin (0.5, 0.6]: confidences 0.55, 0.6 with one hit → |1 − 1.15|/4;
        // bin (0.9, 1.0]: 1.0, 0.95 with two hits → |2 − 1.95|/4.
        let e = expected_calibration_error(&[0.55, 0.6, 1.0, 0.95], &[true, false, true, true], 10)
            .unwrap();
        assert!((e - (0.15 + 0.05) / 4.0).abs() < 1e-12, "{e}");
        assert!(expected_calibration_error(&[1.5], &[true], 10).is_err());
    }
}
