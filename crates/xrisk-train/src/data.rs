//! Data of the binary AUC family and what every tabular family shares: reading the
//! `[data]` section's files (svmlight, csv, tsv, parquet, idx, keel, image folders, the
//! embedded Fashion-MNIST), turning labels into a binary task, seeded splits,
//! `[data] normalize`, the memory check of a dense model, image shapes, and the test
//! metrics of a binary scorer.

use crate::config::{Config, DataConfig, Validation};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use xrisk_data::Dataset;
use xrisk_data::registry::{fetched_file, paths};

/// Test metrics of one evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Metrics {
    pub auroc: f64,
    pub auprc: f64,
    pub pauc: f64,
}

/// Turns raw labels into the 0/1 labels of a binary task (see `[data]` in the docs).
fn binarize(mut d: Dataset, cfg: &DataConfig, seed: u64, subsample: bool) -> Result<Dataset> {
    match (cfg.positive_class, cfg.imratio) {
        (Some(pc), Some(r)) if subsample => Ok(xrisk_data::one_vs_rest(&d, pc, r, seed)?),
        (Some(pc), _) => {
            d.labels
                .iter_mut()
                .for_each(|l| *l = if *l == pc { 1.0 } else { 0.0 });
            Ok(d)
        }
        (None, Some(r)) => {
            let g = xrisk_data::ImbalancedDataGenerator {
                imratio: if subsample { r } else { 0.5 },
                shuffle: true,
                seed,
            };
            Ok(g.transform(&d)?)
        }
        (None, None) => {
            let mut values: Vec<f32> = d.labels.clone();
            values.sort_by(f32::total_cmp);
            values.dedup();
            if values.iter().all(|&v| v == 0.0 || v == 1.0) {
                Ok(d)
            } else if values.iter().all(|&v| v == -1.0 || v == 1.0) {
                d.labels
                    .iter_mut()
                    .for_each(|l| *l = if *l > 0.0 { 1.0 } else { 0.0 });
                Ok(d)
            } else {
                bail!(
                    "[data]: the labels take {} values ({:?}…); set positive_class (one vs rest) or imratio (LibAUC's split of the classes)",
                    values.len(),
                    &values[..values.len().min(5)]
                )
            }
        }
    }
}

pub fn read(
    cfg: &DataConfig,
    which: &str,
    path: &Path,
    labels: Option<&PathBuf>,
    n_features: Option<usize>,
) -> Result<Dataset> {
    let d = match cfg.format.as_str() {
        "svmlight" => xrisk_data::readers::svmlight::read_svmlight(
            path,
            xrisk_data::readers::svmlight::SvmlightOptions { n_features },
        )?,
        "csv" | "tsv" | "parquet" => {
            let t = if cfg.format == "parquet" {
                xrisk_data::readers::parquet::read_parquet(path)?
            } else {
                xrisk_data::readers::table::read_table(
                    path,
                    if cfg.format == "csv" { b',' } else { b'\t' },
                    true,
                )?
            };
            let t = drop_columns(t, cfg.drop_columns.as_deref().unwrap_or(&[]))
                .with_context(|| format!("[data] drop_columns in {}", path.display()))?;
            let col = t.column_index(cfg.label_column.as_deref().unwrap_or("label"))?;
            t.into_dataset(&[col])?
        }
        "idx" => {
            let labels =
                labels.with_context(|| format!("[data] format = \"idx\" needs {which}_labels"))?;
            xrisk_data::readers::idx::read_idx_images(path, labels)?
        }
        "keel" => xrisk_data::readers::keel::read_keel(path)?,
        "image_folder" => {
            use xrisk_data::readers::image_folder::{ImageFolderOptions, read_image_folder};
            let opts = ImageFolderOptions {
                size: cfg.size,
                channels: cfg.channels,
            };
            let f = read_image_folder(path, opts)
                .with_context(|| format!("[data] {which} = \"{}\"", path.display()))?;
            let pos = cfg
                .positive
                .as_deref()
                .map(|name| f.class_label(name).context("[data] positive"))
                .transpose()?;
            let mut d = f.dataset;
            if let Some(pos) = pos {
                d.labels
                    .iter_mut()
                    .for_each(|l| *l = if *l == pos { 1.0 } else { 0.0 });
            }
            d
        }
        other => bail!(
            "[data] format = \"{other}\" is not known; use svmlight, csv, tsv, parquet, idx, keel, image_folder or embedded-fashion-mnist"
        ),
    };
    Ok(d)
}

/// The table without the columns `names` (ids and other non-features).
fn drop_columns(
    t: xrisk_data::readers::table::NumericTable,
    names: &[String],
) -> Result<xrisk_data::readers::table::NumericTable> {
    if names.is_empty() {
        return Ok(t);
    }
    let drop: Vec<usize> = names
        .iter()
        .map(|n| t.column_index(n))
        .collect::<std::result::Result<_, _>>()?;
    let w = t.columns.len();
    let keep: Vec<usize> = (0..w).filter(|c| !drop.contains(c)).collect();
    let values = t
        .values
        .chunks(w.max(1))
        .flat_map(|row| keep.iter().map(|&c| row[c]).collect::<Vec<_>>())
        .collect();
    Ok(xrisk_data::readers::table::NumericTable {
        columns: keep.iter().map(|&c| t.columns[c].clone()).collect(),
        values,
    })
}

/// The data sets `xrisk train` reads by name (`[data] dataset`) for binary tasks: the file in
/// the fetched copy, its format, label column and non-feature columns.
fn named_binary_dataset(cfg: &DataConfig) -> Result<Option<DataConfig>> {
    match cfg.dataset.as_deref() {
        None => Ok(None),
        Some("protein-kddcup04") => Ok(Some(DataConfig {
            format: "parquet".into(),
            train: Some(fetched_file("protein-kddcup04", paths::PROTEIN_TRAIN)?),
            label_column: Some("target".into()),
            drop_columns: Some(vec!["EXAMPLE_ID".into(), "BLOCK_ID".into()]),
            dataset: None,
            ..cfg.clone()
        })),
        Some(other) => bail!(
            "[data] dataset = \"{other}\": binary runs know protein-kddcup04 (ranking: movielens-100k, mslr10k-subset; bags: format = \"mil\"; yeast: multi-label; letter: many-class)"
        ),
    }
}

/// Refuses a run whose dense model `input → hidden… → outputs` (with its gradients, optimizer
/// state and a batch's activations) cannot fit in the memory still available, before the model
/// is allocated; `key` names the configuration key to lower (`xrisk::resources`).
pub fn check_dense_memory(
    cfg: &Config,
    key: &str,
    input: usize,
    hidden: &[usize],
    outputs: usize,
) -> Result<()> {
    let mut plan = xrisk::resources::MemoryPlan::new();
    plan.mlp(
        key,
        input,
        hidden,
        outputs,
        cfg.sampler.batch_size,
        xrisk::resources::optimizer_copies(&cfg.optimizer.kind, true),
    );
    Ok(plan.check_available()?)
}

/// A seeded random split of `all` into (train, test) rows, `test_fraction` of them held out.
pub fn random_split(all: &Dataset, test_fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
    let (tr, te) = xrisk_data::train_test_split(&vec![0.0; all.len()], test_fraction, seed)?;
    Ok((all.select(&tr), all.select(&te)))
}

/// Applies `[data] normalize`, fitted on `train`, to both parts.
pub fn normalize_features(cfg: &DataConfig, train: &mut Dataset, test: &mut Dataset) -> Result<()> {
    if let Some(how) = normalize_kind(cfg)? {
        xrisk_data::scaler::normalize(how, train, &mut [test])?;
    }
    Ok(())
}

/// `[data] normalize`, parsed (`None` when absent).
pub fn normalize_kind(cfg: &DataConfig) -> Result<Option<xrisk_data::scaler::Normalize>> {
    cfg.normalize
        .as_deref()
        .map(|n| n.parse().map_err(|e| anyhow::anyhow!("[data] {e}")))
        .transpose()
}

/// Loads the train and test parts of a binary task (with `[data] normalize` applied).
pub fn prepare_data(cfg: &DataConfig, seed: u64) -> Result<(Dataset, Dataset)> {
    let named = named_binary_dataset(cfg)?;
    let cfg = named.as_ref().unwrap_or(cfg);
    let (mut train, mut test) = load_parts(cfg, seed)?;
    normalize_features(cfg, &mut train, &mut test)?;
    Ok((train, test))
}

/// The seed of the validation split, apart from the test split's.
fn validation_seed(seed: u64) -> u64 {
    seed ^ 0x7661_6c69_6461_7465
}

/// [`prepare_data`] with `[data] validation`: the train, validation and test parts of a
/// binary task. A share is split off the training rows (stratified, seeded); a file is read
/// like `test`. `[data] normalize` is fitted on the remaining training rows. Without
/// `validation`, the parts of [`prepare_data`] and no validation.
pub fn prepare_data_with_validation(
    cfg: &DataConfig,
    seed: u64,
) -> Result<(Dataset, Option<Dataset>, Dataset)> {
    let Some(v) = &cfg.validation else {
        let (train, test) = prepare_data(cfg, seed)?;
        return Ok((train, None, test));
    };
    let named = named_binary_dataset(cfg)?;
    let cfg = named.as_ref().unwrap_or(cfg);
    let (train, mut test) = load_parts(cfg, seed)?;
    let (mut train, mut validation) = match v {
        Validation::Fraction(f) => {
            let (tr, va) = xrisk_data::train_test_split(&train.labels, *f, validation_seed(seed))?;
            (train.select(&tr), train.select(&va))
        }
        Validation::File(path) => {
            let n_features = cfg.n_features.or(Some(train.dim));
            let v = read(cfg, "validation", path, None, n_features)?;
            if v.dim != train.dim {
                bail!(
                    "{}: {} features per row, the training rows have {}",
                    path.display(),
                    v.dim,
                    train.dim
                );
            }
            (train, binarize(v, cfg, seed, false)?)
        }
    };
    if validation.positives() == 0 || validation.positives() == validation.len() {
        bail!(
            "[data] validation: the {} validation rows hold one class only; use a larger share",
            validation.len()
        );
    }
    if let Some(how) = normalize_kind(cfg)? {
        xrisk_data::scaler::normalize(how, &mut train, &mut [&mut test, &mut validation])?;
    }
    Ok((train, Some(validation), test))
}

/// Splits a share `[data] validation` off `train` (seeded; stratified on the label when
/// `stratify`), for the families whose validation rows come from the training data only.
pub fn split_validation(
    cfg: &DataConfig,
    seed: u64,
    train: Dataset,
    stratify: bool,
) -> Result<(Dataset, Option<Dataset>)> {
    match &cfg.validation {
        None => Ok((train, None)),
        Some(Validation::Fraction(f)) => {
            let labels = if stratify {
                train.labels.clone()
            } else {
                vec![0.0; train.len()]
            };
            let (tr, va) = xrisk_data::train_test_split(&labels, *f, validation_seed(seed))?;
            Ok((train.select(&tr), Some(train.select(&va))))
        }
        Some(Validation::File(p)) => bail!(
            "[data] validation = \"{}\": validation files are read by binary runs; give a share of the training rows, e.g. validation = 0.2",
            p.display()
        ),
    }
}

fn load_parts(cfg: &DataConfig, seed: u64) -> Result<(Dataset, Dataset)> {
    let split = |all: Dataset| -> Result<(Dataset, Dataset)> {
        let task = binarize(all, cfg, seed, true)?;
        let (tr, te) =
            xrisk_data::train_test_split(&task.labels, cfg.test_fraction.unwrap_or(0.3), seed)?;
        Ok((task.select(&tr), task.select(&te)))
    };
    if cfg.format == "embedded-fashion-mnist" {
        if cfg.train.is_some() || cfg.test.is_some() {
            bail!("[data] format = \"embedded-fashion-mnist\" takes no train/test paths");
        }
        return split(xrisk_data::embedded::fashion_mnist().context("embedded Fashion-MNIST")?);
    }
    let train_path = cfg
        .train
        .as_ref()
        .context("[data] needs `train` (a file path)")?;
    let train = read(
        cfg,
        "train",
        train_path,
        cfg.train_labels.as_ref(),
        cfg.n_features,
    )?;
    match &cfg.test {
        None => split(train),
        Some(test_path) => {
            let n_features = cfg.n_features.or(Some(train.dim));
            let test = read(cfg, "test", test_path, cfg.test_labels.as_ref(), n_features)?;
            if test.dim != train.dim {
                bail!(
                    "train has {} features per row but test has {}",
                    train.dim,
                    test.dim
                );
            }
            Ok((
                binarize(train, cfg, seed, true)?,
                binarize(test, cfg, seed, false)?,
            ))
        }
    }
}

/// The `[channels, height, width]` a ResNet reads the rows as.
pub fn image_shape(cfg: &Config, dim: usize) -> Result<[usize; 3]> {
    let square = |c: usize| {
        let side = ((dim / c) as f64).sqrt().round() as usize;
        (side * side * c == dim).then_some([c, side, side])
    };
    let shape = match (cfg.model.input_shape, dim) {
        (Some(s), _) => s,
        (None, 784) => [1, 28, 28],
        (None, 3072) => [3, 32, 32],
        // Image folders: the rows' shape follows from [data] size, or square images.
        (None, d) if cfg.data.format == "image_folder" => match cfg.data.size {
            Some([h, w]) if h * w > 0 && d.is_multiple_of(h * w) => [d / (h * w), h, w],
            _ => square(1).or_else(|| square(3)).with_context(|| {
                format!("[data] format = \"image_folder\": set [data] size = [height, width] for images of {d} values")
            })?,
        },
        (None, d) => bail!(
            "[model] kind = \"{}\": set input_shape = [channels, height, width] for rows of {d} features",
            cfg.model.kind
        ),
    };
    if shape.iter().product::<usize>() != dim || !matches!(shape[0], 1 | 3) {
        bail!(
            "[model] input_shape = {shape:?} does not describe rows of {dim} features with 1 or 3 channels"
        );
    }
    Ok(shape)
}

/// Test metrics of logits `scores`.
pub fn evaluate(test: &Dataset, scores: &[f64], max_fpr: f64) -> Result<Metrics> {
    let y: Vec<f64> = test.labels.iter().map(|&l| f64::from(l)).collect();
    if let Some(i) = scores.iter().position(|v| !v.is_finite()) {
        bail!(
            "the model's test score {i} is {}: training diverged; lower the learning rate",
            scores[i]
        );
    }
    Ok(Metrics {
        auroc: xrisk_metrics::auroc(&y, scores)?,
        auprc: xrisk_metrics::average_precision(&y, scores)?,
        pauc: xrisk_metrics::pauc_one_way(&y, scores, max_fpr)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use xrisk_data::readers::table::NumericTable;

    #[test]
    fn drop_columns_keeps_the_rest_in_order_and_names_unknown_columns() {
        let t = NumericTable {
            columns: vec!["id".into(), "a".into(), "label".into(), "b".into()],
            values: vec![1.0, 2.0, 0.0, 3.0, 4.0, 5.0, 1.0, 6.0],
        };
        let d = drop_columns(t.clone(), &["id".into()]).unwrap();
        assert_eq!(d.columns, vec!["a", "label", "b"]);
        assert_eq!(d.values, vec![2.0, 0.0, 3.0, 5.0, 1.0, 6.0]);
        let e = drop_columns(t, &["nope".into()]).unwrap_err();
        assert!(e.to_string().contains("no column \"nope\""), "{e}");
    }
}
