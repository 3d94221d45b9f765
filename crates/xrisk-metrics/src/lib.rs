//! # xrisk-metrics
//!
//! Exact evaluation metrics for imbalanced classification and ranking, on plain slices,
//! with the semantics of scikit-learn and LibAUC 2.0.1 (spec `libauc_spec.md` §5):
//!
//! | metric | function |
//! |---|---|
//! | AUROC (ties count ½) | [`auroc`] |
//! | AUPRC = average precision (tied scores one threshold) | [`average_precision`] |
//! | one-way partial AUC, McClish-standardised (`roc_auc_score(max_fpr=β)`) | [`pauc_one_way`] |
//! | two-way partial AUC (LibAUC's subset definition) | [`pauc_two_way`] |
//! | multi-label AUROC / AP with LibAUC's reduction | [`auroc_multilabel`], [`average_precision_multilabel`] |
//! | P@k, R@k, AP@k, MAP@k, NDCG@k (LibAUC's matrix API) | [`precision_recall_at_k`], [`ap_at_k`], [`map_at_k`], [`ndcg_at_k`] |
//! | per-query NDCG@k from (query, label, score) rows | [`ndcg_by_query`] |
//! | ROC and precision–recall curves | [`roc_curve`], [`precision_recall_curve`] |
//! | cross-modal retrieval R@K (both directions), expected calibration error | [`recall_at_k`], [`recall_at_k_both`], [`expected_calibration_error`] |
//!
//! Everything is O(n log n): the scores of each class are sorted once (in parallel for large
//! inputs) and a merge walk visits every distinct threshold. Labels must be 0/1 (graded
//! relevance ≥ 0 for NDCG), scores finite; a single class, NaN or mismatched lengths give a
//! [`MetricError`] that names the position.
//!
//! ```
//! use xrisk_metrics::{auroc, average_precision, pauc_one_way};
//! let labels = [1.0, 0.0, 1.0, 0.0, 0.0];
//! let scores = [0.9, 0.8, 0.7, 0.3, 0.1];
//! assert!((auroc(&labels, &scores)? - 5.0 / 6.0).abs() < 1e-12);
//! assert!(average_precision(&labels, &scores)? > 0.8);
//! assert!(pauc_one_way(&labels, &scores, 0.5)? > 0.5);
//! # Ok::<(), xrisk_metrics::MetricError>(())
//! ```

mod at_k;
mod binary;
mod error;
mod multilabel;
mod ndcg;
mod pr;
mod retrieval;
mod roc;

pub use at_k::{
    PrecisionRecallAtK, ap_at_k, map_at_k, ndcg_at_k, precision_recall_at_k,
    precision_recall_at_k_columns,
};
pub use error::{MetricError, Result};
pub use multilabel::{PerTask, auroc_multilabel, average_precision_multilabel};
pub use ndcg::ndcg_by_query;
pub use pr::{PrPoint, average_precision, precision_recall_curve};
pub use retrieval::{expected_calibration_error, recall_at_k, recall_at_k_both};
pub use roc::{RocPoint, auroc, pauc_one_way, pauc_two_way, roc_curve};
