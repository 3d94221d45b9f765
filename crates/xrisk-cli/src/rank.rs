//! `xrisk train` for ranking (`[loss] kind = "listwise_ce" | "ndcg"`): the run of
//! [`xrisk_train::rank::RankingTask`] on MovieLens-style interactions or LETOR rows with the
//! command line's progress, logs, checkpoints and report.

use crate::config::Config;
use crate::runlog::RunOutput;
use anyhow::{Result, bail};
use serde_json::json;
use std::path::Path;
use xrisk::dist::Collective;
use xrisk_data::snapshot::Snapshot;
use xrisk_train::rank::letor::Letor;
use xrisk_train::rank::movielens::Movielens;
use xrisk_train::rank::{RankData, RankMetrics, RankingTask};

pub use xrisk_train::rank::is_ranking;

/// Runs a ranking config; with `o.dir`, writes config.toml, metrics.jsonl, a checkpoint after
/// every epoch and report.html there, and continues from `o.resume` when given. With `dist`,
/// trains data-parallel: this process scores its shard of every batch's queries.
pub fn run(
    cfg: &Config,
    o: RunOutput,
    json_out: bool,
    dist: Option<&mut dyn Collective>,
) -> Result<()> {
    match cfg.data.format.as_str() {
        "movielens" => train(cfg, Movielens::load(cfg)?, o, json_out, dist),
        "svmlight" => train(cfg, Letor::load(cfg)?, o, json_out, dist),
        other => bail!(
            "[data] format = \"{other}\": ranking losses train on interactions (movielens) or LETOR rows with qid (svmlight)"
        ),
    }
}

fn train<T: RankData>(
    cfg: &Config,
    data: T,
    o: RunOutput,
    json_out: bool,
    dist: Option<&mut dyn Collective>,
) -> Result<()> {
    let (dir, config_text) = (o.dir, o.config_text);
    let mut task = RankingTask::new(cfg, data)?;
    eprintln!("data: {}", task.describe());
    o.train(
        cfg,
        Snapshot::new(),
        RankingTask::<T>::schedule(cfg),
        &mut task,
        dist,
    )?;
    if let Some(dir) = dir {
        let history = read_history(&dir.join("metrics.jsonl"))?;
        let report =
            crate::report::write_ranking(dir, cfg, config_text, task.warmup_epochs(), &history)?;
        eprintln!("report: {}", report.display());
    }
    let m = task.test_metrics()?;
    if json_out {
        println!(
            "{}",
            json!({"test": {"ndcg@5": m.ndcg5, "ndcg@10": m.ndcg10, "ndcg@20": m.ndcg20, "map@10": m.map10, "p@10": m.p10}})
        );
    } else {
        println!(
            "test: NDCG@5 {:.4}  NDCG@10 {:.4}  NDCG@20 {:.4}  MAP@10 {:.4}  P@10 {:.4}",
            m.ndcg5, m.ndcg10, m.ndcg20, m.map10, m.p10
        );
    }
    Ok(())
}

/// The (epoch, loss, metrics) of the lines of a ranking run's metrics.jsonl.
fn read_history(path: &Path) -> Result<Vec<(usize, f64, RankMetrics)>> {
    let mut out = Vec::new();
    for v in crate::report::read_jsonl(path)? {
        let num = |p: &str| {
            v.pointer(p)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NAN)
        };
        out.push((
            num("/epoch") as usize,
            num("/train_loss"),
            RankMetrics {
                ndcg5: num("/test/ndcg@5"),
                ndcg10: num("/test/ndcg@10"),
                ndcg20: num("/test/ndcg@20"),
                map10: num("/test/map@10"),
                p10: num("/test/p@10"),
            },
        ));
    }
    Ok(out)
}
