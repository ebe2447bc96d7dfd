//! `sextant strategy`: check a user-defined strategy file, print the library's definitions as
//! templates; and the `--strategy-file` option that `backtest` and `optimize` share.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde_json::{Map, Value};
use sextant_backtest::rules::{self, RULES};
use sextant_core::definitions::check_definition;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum StrategyCmd {
    /// Parse and type-check a definition (JSON), compile it, run the truncation test and
    /// explain it: parameters, the rules as compiled, warm-up, external data. Exits non-zero
    /// with the field and the offending token when it is invalid.
    ///
    /// Example: sextant strategy check my_strategy.json
    Check {
        /// The definition file (JSON).
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a library strategy written as a definition, to start from (all of them without a
    /// name).
    ///
    /// Example: sextant strategy example sma_cross > my_strategy.json
    Example {
        /// A library strategy name (buy_and_hold, sma_cross, ema_cross, rsi_reversion,
        /// bollinger_reversion, macd, donchian_breakout, ts_momentum).
        name: Option<String>,
    },
}

/// Reads a definition file.
pub fn read_definition(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.len() > rules::MAX_DEFINITION_BYTES {
        bail!(
            "{} is larger than {} bytes",
            path.display(),
            rules::MAX_DEFINITION_BYTES
        );
    }
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// The strategy name and parameters of a command: `--strategy NAME` with its parameters, or
/// `--strategy-file FILE`, which runs the definition (`rules`) with the parameters as values.
pub fn strategy_and_params(
    strategy: Option<&str>,
    file: Option<&Path>,
    params: Map<String, Value>,
) -> Result<(String, Value)> {
    match (strategy, file) {
        (Some(s), None) => Ok((s.to_string(), Value::Object(params))),
        (None, Some(path)) => {
            let mut params = params;
            params.insert("definition".into(), read_definition(path)?);
            Ok((RULES.to_string(), Value::Object(params)))
        }
        (Some(_), Some(_)) => bail!("give --strategy or --strategy-file, not both"),
        (None, None) => {
            bail!("give --strategy NAME (see `sextant strategies`) or --strategy-file FILE")
        }
    }
}

pub fn run(cmd: StrategyCmd) -> Result<()> {
    match cmd {
        StrategyCmd::Check { file, json } => {
            let definition = read_definition(&file)?;
            match check_definition(&definition) {
                Ok((_, report)) if json => println!("{}", serde_json::to_string_pretty(&report)?),
                Ok((_, report)) => {
                    print!("{}", report.explain);
                    let t = &report.truncation;
                    println!(
                        "truncation test: passed ({} bars, cuts {:?}, fills {}, {} orders compared)",
                        t.bars,
                        t.cuts,
                        t.fills.join(" and "),
                        t.orders
                    );
                }
                Err(e) => bail!("{}: {}", file.display(), e.message),
            }
            Ok(())
        }
        StrategyCmd::Example { name } => {
            let all = rules::library_definitions();
            match name {
                Some(n) => {
                    let Some((_, d)) = all.iter().find(|(k, _)| *k == n) else {
                        let names: Vec<&str> = all.iter().map(|(k, _)| *k).collect();
                        bail!(
                            "{n:?} is not expressed as a definition; these are: {}",
                            names.join(", ")
                        );
                    };
                    println!("{}", serde_json::to_string_pretty(d)?);
                }
                None => {
                    let list: Vec<&Value> = all.iter().map(|(_, d)| d).collect();
                    println!("{}", serde_json::to_string_pretty(&list)?);
                }
            }
            Ok(())
        }
    }
}
