//! `sextant`: the command-line front of Sextant.

mod audit;
mod bench;
mod bench_forecasts;
mod bench_ml;
mod bench_mlops;
mod bench_regimes;
mod bench_scale;
mod bench_tuning;
mod bench_xsection;
mod cmd_agents;
mod cmd_backtest;
mod cmd_data;
mod cmd_eval;
mod cmd_factor;
mod cmd_forecast;
mod cmd_ingest;
mod cmd_ml;
mod cmd_mlops;
mod cmd_optimize;
mod cmd_quality;
mod cmd_reference;
mod cmd_regime;
mod cmd_report;
mod cmd_rl;
mod cmd_serve;
mod cmd_strategy;
mod cmd_worker;
mod output;

use anyhow::Result;
use clap::{Parser, Subcommand};
use sextant_core::{Config, Services};
use std::path::PathBuf;

/// Sextant: a quant-research backend. Market data cached in DuckDB, metadata in an embedded
/// store or MongoDB, backtests, ML signals and narratives.
///
/// With no configuration it keeps its data in ~/.local/share/sextant and loads the bundled
/// sample (real daily prices of AAPL, GOOG, IBM, MSFT, FB, 2000-2013) on first use.
///
/// Examples:
///   sextant data show MSFT --from 2008-09-01 --to 2008-10-31
///   sextant data show AAPL --resolution weekly --from 2005-01-01 --to 2005-06-30
///   sextant ingest file prices.csv --symbol SPY
///   ALPHAVANTAGE_API_KEY=... sextant ingest alphavantage IBM MSFT
///   ALPHAVANTAGE_API_KEY=... sextant ingest alphavantage EURUSD --asset fx
///   ALPHAVANTAGE_API_KEY=... sextant ingest macro treasury_yield --maturity 3month
///   sextant data export --symbol MSFT --out msft.parquet
#[derive(Parser)]
#[command(name = "sextant", version, verbatim_doc_comment)]
struct Cli {
    /// Configuration file (TOML). Default: $SEXTANT_CONFIG, else <data_dir>/sextant.toml if present.
    #[arg(long, global = true, env = "SEXTANT_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (overrides the config file). Env: SEXTANT_DATA_DIR.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Log filter, e.g. `info` or `sextant_data=debug`. Env: RUST_LOG.
    #[arg(long, global = true, default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (loads the bundled sample into an empty cache; prints an admin key at
    /// first start).
    Serve(cmd_serve::ServeArgs),
    /// Run jobs sent over NATS JetStream by a server with `SEXTANT_NATS_URL` set (trial
    /// batches, walk-forward windows), on this or any machine sharing its stores.
    Worker(cmd_worker::WorkerArgs),
    /// Manage API keys (works while a server runs: only the metadata store is opened).
    #[command(subcommand)]
    Keys(cmd_serve::KeysCmd),
    /// Load market data into the cache (Alpha Vantage, a CSV/Parquet file, or the bundled
    /// sample), and reference data: dividends and splits, economic series, the symbol directory.
    #[command(subcommand)]
    Ingest(cmd_ingest::IngestCmd),
    /// Inspect and export the cache; reference data (instruments, symbol search, economic
    /// series, corporate actions, market status, exchange rates).
    #[command(subcommand)]
    Data(cmd_data::DataCmd),
    /// The feature store: list, materialise and show feature views.
    #[command(subcommand)]
    Features(cmd_ml::FeaturesCmd),
    /// Train a model (`sextant train signal --name up --symbol MSFT ...`).
    #[command(subcommand)]
    Train(cmd_ml::TrainCmd),
    /// The model registry: list, show, promote.
    #[command(subcommand)]
    Models(cmd_ml::ModelsCmd),
    /// Model operations: a model's drift, tracked runs, the MLflow export.
    #[command(subcommand)]
    Mlops(cmd_mlops::MlopsCmd),
    /// The evaluation harness: replay a strategy over named crises beside its baselines.
    Eval(cmd_eval::EvalArgs),
    /// Score a symbol's newest bar with a model (probability of an up move, features, SHAP).
    Signal(cmd_ml::SignalArgs),
    /// Data quality: review quarantined bars (approve/reject), list flags and gaps.
    #[command(subcommand)]
    Quality(cmd_quality::QualityCmd),
    /// Market regimes (bull, bear, sideways, high_vol) of a symbol or an equal-weight universe,
    /// labelled point in time by the forward filter of a hidden Markov model.
    #[command(subcommand)]
    Regime(cmd_regime::RegimeCmd),
    /// Reinforcement-learning policies on the simulator: train (PPO or DQN), list, show, and
    /// re-evaluate out of sample beside buy and hold, flat and the best tuned SMA cross.
    #[command(subcommand)]
    Rl(cmd_rl::RlCmd),
    /// Probabilistic forecasts of a symbol, a portfolio or a backtest's equity (fan, VaR,
    /// drawdown risk), and `forecast evaluate`: their walk-forward calibration.
    ///
    /// Example: sextant forecast AAPL --horizon 10 --model fhs --svg aapl.svg
    Forecast(cmd_forecast::ForecastCmd),
    /// Run one backtest (or a walk-forward) and print its metrics; the run is stored.
    ///
    /// Example: sextant backtest --strategy sma_cross --param fast=10 --param slow=20 --symbol MSFT --commission 0.002
    Backtest(cmd_backtest::BacktestArgs),
    /// The narrative of a stored backtest, every number checked against its fact sheet
    /// (offline grounded writer by default; any OpenAI-compatible endpoint via SEXTANT_LLM_*).
    Report(cmd_report::ReportArgs),
    /// Sweep an SMA-cross parameter grid over symbols and print a leaderboard.
    ///
    /// Example: sextant sweep --symbol AAPL --symbol MSFT --fast 2..100 --slow 3..200
    Sweep(cmd_backtest::SweepArgs),
    /// Tune a strategy's parameters (TPE, CMA-ES, NSGA-II, random, grid) on walk-forward folds;
    /// prints the leaderboard with the deflated Sharpe ratio, PBO and the out-of-sample result.
    /// Example: sextant optimize --strategy sma_cross --symbol GOOG --param fast=5..50
    /// --param slow=20..200 --sampler tpe --trials 100 --objective sharpe --walk-forward 504:126
    Optimize(cmd_optimize::OptimizeArgs),
    /// Named universes with point-in-time membership: import a file, build one from the
    /// cache's history, list, show, remove.
    #[command(subcommand)]
    Universe(cmd_factor::UniverseCmd),
    /// Judge a signal over a universe (rank IC, quantile returns, turnover), as alphalens does.
    ///
    /// Example: sextant factor evaluate momentum --lookback 60 --universe cache
    #[command(subcommand)]
    Factor(cmd_factor::FactorCmd),
    /// List the strategy library with each parameter's default and meaning.
    Strategies,
    /// User-defined strategies in the rule language: check a definition file, print the
    /// library strategies as definitions.
    #[command(subcommand)]
    Strategy(cmd_strategy::StrategyCmd),
    /// Build a strategy config from words: a validated config with an explanation, or a
    /// clarifying question (offline by default; an LLM via SEXTANT_LLM_*).
    ///
    /// Example: sextant build "buy when the 10-day average crosses above the 50-day, 0.1% commission"
    Build(cmd_agents::BuildArgs),
    /// Ask the operations agent about the cache, freshness, Alpha Vantage, jobs, the quality
    /// queue, regimes and models; state changes need --yes.
    ///
    /// Example: sextant chat "why did last night's refresh fail?"
    Chat(cmd_agents::ChatArgs),
    /// Print the effective configuration (secrets omitted) and every environment variable read.
    Config,
    /// Measure ingest throughput and query latency on this machine and print the figures.
    Bench(bench::BenchArgs),
}

fn main() {
    // Rust ignores SIGPIPE, which turns `sextant data show MSFT | head` into a panic on the
    // next print; restore the default so a closed pipe just ends the process.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    sextant_data::process::tune_allocator();
    let cli = Cli::parse();
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| cli.log.clone());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = rt.block_on(run(cli)) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    let mut config = Config::load_in(cli.config.as_deref(), cli.data_dir.as_deref())?;
    match cli.command {
        Command::Config => {
            print!("{}", toml::to_string_pretty(&config)?);
            println!("\n# Environment variables read:");
            for (var, desc, _) in sextant_core::config::env_vars() {
                println!("#   {var:<34} {desc}");
            }
            Ok(())
        }
        Command::Bench(args) => bench::run(args).await,
        Command::Serve(args) => cmd_serve::serve(args, config).await,
        Command::Worker(args) => cmd_worker::worker(args, config).await,
        Command::Keys(cmd) => cmd_serve::keys(cmd, config).await,
        Command::Strategies => {
            cmd_backtest::strategies();
            Ok(())
        }
        Command::Strategy(cmd) => cmd_strategy::run(cmd),
        Command::Backtest(args) => {
            let services = Services::build(config).await?;
            cmd_backtest::backtest(args, &services).await
        }
        Command::Report(args) => {
            let services = Services::build(config).await?;
            cmd_report::run(args, &services).await
        }
        Command::Optimize(args) => {
            let services = Services::build(config).await?;
            cmd_optimize::optimize(args, &services).await
        }
        Command::Sweep(args) => {
            let services = Services::build(config).await?;
            cmd_backtest::sweep(args, &services)
        }
        Command::Ingest(cmd) => {
            // Ingesting the sample into an empty cache is the command itself, not a side effect.
            let sample = matches!(cmd, cmd_ingest::IngestCmd::Sample);
            if sample {
                config.load_sample = false;
            }
            let services = Services::build(config).await?;
            cmd_ingest::run(cmd, &services).await
        }
        Command::Features(cmd) => {
            let services = Services::build(config).await?;
            cmd_ml::features(cmd, &services).await
        }
        Command::Train(cmd) => {
            let services = Services::build(config).await?;
            cmd_ml::train(cmd, &services).await
        }
        Command::Models(cmd) => {
            let services = Services::build(config).await?;
            cmd_ml::models(cmd, &services).await
        }
        Command::Mlops(cmd) => {
            let services = Services::build(config).await?;
            cmd_mlops::run(cmd, &services).await
        }
        Command::Eval(args) => {
            let services = Services::build(config).await?;
            cmd_eval::run(args, &services).await
        }
        Command::Signal(args) => {
            let services = Services::build(config).await?;
            cmd_ml::signal(args, &services).await
        }
        Command::Quality(cmd) => {
            let services = Services::build(config).await?;
            cmd_quality::run(cmd, &services).await
        }
        Command::Regime(cmd) => {
            let services = Services::build(config).await?;
            cmd_regime::run(cmd, &services).await
        }
        Command::Rl(cmd) => {
            let services = Services::build(config).await?;
            cmd_rl::run(cmd, &services).await
        }
        Command::Forecast(cmd) => {
            let services = Services::build(config).await?;
            cmd_forecast::run(cmd, &services).await
        }
        Command::Data(cmd) => {
            let services = Services::build(config).await?;
            cmd_data::run(cmd, &services).await
        }
        Command::Universe(cmd) => cmd_factor::universe(cmd, &Services::build(config).await?).await,
        Command::Factor(cmd) => cmd_factor::factor(cmd, &Services::build(config).await?).await,
        Command::Build(args) => cmd_agents::build(args, Services::build(config).await?).await,
        Command::Chat(args) => cmd_agents::chat(args, Services::build(config).await?).await,
    }
}
