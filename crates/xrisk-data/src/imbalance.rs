//! Making imbalanced binary tasks from labelled data, and stratified splits
//! (spec `libauc_spec.md` §4.6). All randomness comes from a seeded ChaCha RNG.

use crate::dataset::Dataset;
use crate::error::{DataError, Result};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// LibAUC's `ImbalancedDataGenerator`: binarise class ids and subsample positives to a
/// target ratio.
///
/// `transform`: negative labels are clipped to 0; rows are shuffled (seeded); with `C`
/// distinct label values, labels `≤ C/2 − 1` become 0 and the others 1 (CIFAR-10: classes
/// 0–4 negative, 5–9 positive); if `imratio < 0.5`, every negative is kept and the first
/// `⌊imratio/(1−imratio)·n_neg⌋` positives (in shuffled order); then rows are shuffled
/// again. Unlike LibAUC 2.0.1 the labels have one shape whatever `imratio` is (spec §11 #17),
/// and the shuffles use xrisk's RNG, not NumPy's, so the chosen rows differ while the counts
/// agree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImbalancedDataGenerator {
    /// Target share of positives, in (0, 0.5].
    pub imratio: f64,
    /// Shuffle before subsampling and after (LibAUC default: true).
    pub shuffle: bool,
    /// Seed of the shuffles (LibAUC default: 0).
    pub seed: u64,
}

impl ImbalancedDataGenerator {
    /// A generator with LibAUC's defaults (`shuffle = true`, `seed = 0`).
    pub fn new(imratio: f64) -> Self {
        ImbalancedDataGenerator {
            imratio,
            shuffle: true,
            seed: 0,
        }
    }

    /// Applies the transformation to a single-label data set.
    pub fn transform(&self, data: &Dataset) -> Result<Dataset> {
        if data.n_tasks != 1 {
            return Err(DataError::Invalid(
                "ImbalancedDataGenerator needs one label per row".into(),
            ));
        }
        let labels: Vec<f32> = (0..data.len()).map(|i| data.label(i)).collect();
        let (ids, binary) = self.select(&labels)?;
        let mut out = data.select(&ids);
        out.labels = binary;
        Ok(out)
    }

    /// The rows the transformation keeps, in their new order, and their 0/1 labels, for
    /// class labels `labels` (one per row): what [`transform`](Self::transform) does to a data
    /// set, for callers that hold the features themselves (the Python package).
    pub fn select(&self, labels: &[f32]) -> Result<(Vec<usize>, Vec<f32>)> {
        if !(self.imratio > 0.0 && self.imratio <= 0.5) {
            return Err(DataError::Invalid(format!(
                "imratio = {} must be in (0, 0.5]",
                self.imratio
            )));
        }
        if let Some(i) = labels.iter().position(|l| !l.is_finite()) {
            return Err(DataError::Invalid(format!(
                "label of row {i} is {}: class labels must be finite",
                labels[i]
            )));
        }
        let mut order: Vec<usize> = (0..labels.len()).collect();
        if self.shuffle {
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(self.seed));
        }
        let clipped = |i: usize| labels[i].max(0.0);
        let mut classes: Vec<f32> = (0..labels.len()).map(clipped).collect();
        classes.sort_by(f32::total_cmp);
        classes.dedup();
        let split = (classes.len() / 2) as f32 - 1.0;
        if split < 0.0 {
            return Err(DataError::Invalid(format!(
                "need at least 2 classes, found {}",
                classes.len()
            )));
        }
        let is_pos = |i: usize| clipped(i) > split;
        let (neg, pos): (Vec<usize>, Vec<usize>) = order.iter().partition(|&&i| !is_pos(i));
        let keep_pos = if self.imratio < 0.5 {
            ((self.imratio / (1.0 - self.imratio)) * neg.len() as f64) as usize
        } else {
            pos.len()
        };
        let mut ids: Vec<usize> = if self.imratio < 0.5 {
            neg.iter()
                .chain(pos.iter().take(keep_pos))
                .copied()
                .collect()
        } else {
            order
        };
        if self.shuffle {
            ids.shuffle(&mut ChaCha8Rng::seed_from_u64(self.seed));
        }
        let binary = ids
            .iter()
            .map(|&i| if is_pos(i) { 1.0 } else { 0.0 })
            .collect();
        Ok((ids, binary))
    }
}

/// One class against the rest at a given share of positives: rows of `positive_class`
/// become label 1, every other row label 0; all negatives are kept and the first
/// `⌊imratio/(1−imratio)·n_neg⌋` positives of a seeded shuffle (an error if there are fewer).
/// Rows are returned in a seeded random order.
pub fn one_vs_rest(
    data: &Dataset,
    positive_class: f32,
    imratio: f64,
    seed: u64,
) -> Result<Dataset> {
    if !(imratio > 0.0 && imratio < 1.0) {
        return Err(DataError::Invalid(format!(
            "imratio = {imratio} must be in (0, 1)"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.shuffle(&mut rng);
    let (pos, neg): (Vec<usize>, Vec<usize>) = order
        .iter()
        .partition(|&&i| data.label(i) == positive_class);
    if pos.is_empty() {
        return Err(DataError::Invalid(format!(
            "no row has class {positive_class}"
        )));
    }
    let want = ((imratio / (1.0 - imratio)) * neg.len() as f64) as usize;
    if want > pos.len() {
        return Err(DataError::Invalid(format!(
            "imratio {imratio} needs {want} rows of class {positive_class} but only {} exist",
            pos.len()
        )));
    }
    let mut ids: Vec<usize> = neg
        .iter()
        .chain(pos.iter().take(want.max(1)))
        .copied()
        .collect();
    ids.shuffle(&mut rng);
    let mut out = data.select(&ids);
    out.n_tasks = 1;
    out.labels = ids
        .iter()
        .map(|&i| {
            if data.label(i) == positive_class {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    Ok(out)
}

/// A stratified split of row ids into (train, test): in each class (label > 0 or not) a
/// seeded shuffle puts `round(test_fraction · class size)` rows into the test part. Both
/// parts keep the original row order.
pub fn train_test_split(
    labels: &[f32],
    test_fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(DataError::Invalid(format!(
            "test_fraction = {test_fraction} must be in (0, 1)"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut is_test = vec![false; labels.len()];
    for positive in [true, false] {
        let mut class: Vec<usize> = (0..labels.len())
            .filter(|&i| (labels[i] > 0.0) == positive)
            .collect();
        class.shuffle(&mut rng);
        let n_test = (class.len() as f64 * test_fraction).round() as usize;
        for &i in &class[..n_test] {
            is_test[i] = true;
        }
    }
    let (test, train): (Vec<usize>, Vec<usize>) = (0..labels.len()).partition(|&i| is_test[i]);
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ten_classes(per_class: usize) -> Dataset {
        let labels: Vec<f32> = (0..10 * per_class).map(|i| (i % 10) as f32).collect();
        let features: Vec<f32> = (0..labels.len()).map(|i| i as f32).collect();
        Dataset::new(features, 1, labels, 1).unwrap()
    }

    #[test]
    fn cifar_like_counts_match_libauc() {
        // CIFAR-10 train: 5,000 per class. Spec appendix A: 0.1 -> 27,777; 0.02 -> 25,510; 0.2 -> 31,250.
        let data = ten_classes(5000);
        for (r, n, p) in [
            (0.1, 27_777, 2_777),
            (0.02, 25_510, 510),
            (0.2, 31_250, 6_250),
        ] {
            let out = ImbalancedDataGenerator::new(r).transform(&data).unwrap();
            assert_eq!((out.len(), out.positives()), (n, p), "imratio {r}");
        }
        let half = ImbalancedDataGenerator::new(0.5).transform(&data).unwrap();
        assert_eq!((half.len(), half.positives()), (50_000, 25_000));
        // Positives are exactly the rows of classes 5..9, and features travel with labels.
        assert!(
            (0..half.len()).all(|i| (half.row(i)[0] as usize % 10 >= 5) == (half.label(i) == 1.0))
        );
    }

    #[test]
    fn same_seed_same_rows_other_seed_other_rows() {
        let data = ten_classes(100);
        let g = ImbalancedDataGenerator::new(0.1);
        assert_eq!(g.transform(&data).unwrap(), g.transform(&data).unwrap());
        let h = ImbalancedDataGenerator { seed: 1, ..g };
        assert_ne!(g.transform(&data).unwrap(), h.transform(&data).unwrap());
    }

    #[test]
    fn one_vs_rest_hits_the_ratio() {
        let data = ten_classes(1000);
        let out = one_vs_rest(&data, 3.0, 0.02, 7).unwrap();
        assert_eq!(out.len() - out.positives(), 9000);
        assert_eq!(out.positives(), 183);
        assert!(
            (0..out.len()).all(|i| (out.row(i)[0] as usize % 10 == 3) == (out.label(i) == 1.0))
        );
        assert!(one_vs_rest(&data, 3.0, 0.5, 7).is_err());
    }

    #[test]
    fn split_is_stratified_and_disjoint() {
        let labels: Vec<f32> = (0..1000)
            .map(|i| if i % 50 == 0 { 1.0 } else { 0.0 })
            .collect();
        let (train, test) = train_test_split(&labels, 0.3, 1).unwrap();
        assert_eq!(train.len() + test.len(), 1000);
        assert_eq!(test.iter().filter(|&&i| labels[i] > 0.0).count(), 6);
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
    }
}
