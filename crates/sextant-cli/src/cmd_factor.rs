//! `sextant universe …` (named universes with point-in-time membership) and `sextant factor
//! evaluate` (IC, quantile returns, turnover of a signal over a universe, with SVG figures).

use crate::output::table;
use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};
use sextant_core::factors::{figure, FactorRequest};
use sextant_core::Services;
use sextant_domain::{PriceBasis, Symbol};
use std::path::PathBuf;

/// The universe commands.
#[derive(Subcommand)]
pub enum UniverseCmd {
    /// Every stored universe (the built-in `cache` is every cached symbol).
    Ls,
    /// A universe's members and their membership dates.
    Show {
        /// The universe.
        name: String,
    },
    /// Store a universe from a CSV file with a `symbol` column and optional `from`/`to` dates
    /// (empty: open-ended; a `to` date marks a name that left).
    ///
    /// Example: sextant universe import pse pse_members.csv
    Import {
        /// Its name.
        name: String,
        /// The membership file.
        file: PathBuf,
        /// What it is.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Store a universe whose membership is each name's cached history (first to last bar;
    /// delisted when the last bar is a month older than the cache's newest).
    ///
    /// Example: sextant universe from-cache big4 --symbol AAPL --symbol IBM --symbol MSFT --symbol GOOG
    FromCache {
        /// Its name.
        name: String,
        /// A member (repeatable; none: every cached symbol).
        #[arg(long = "symbol")]
        symbols: Vec<Symbol>,
        /// What it is.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Delete a stored universe.
    Rm {
        /// The universe.
        name: String,
    },
}

/// The factor commands.
#[derive(Subcommand)]
pub enum FactorCmd {
    /// Judge a signal over a universe: rank IC per horizon (mean, ICIR, t), quantile returns and
    /// the top-minus-bottom spread, turnover, rank autocorrelation, IC by regime.
    ///
    /// Example: sextant factor evaluate momentum --lookback 60 --universe cache --svg-dir out/
    Evaluate(EvaluateArgs),
}

/// What to evaluate.
#[derive(Args)]
pub struct EvaluateArgs {
    /// The signal: momentum, reversal, low_vol; model:NAME (a model's probabilities);
    /// feature:VIEW.COLUMN (a feature-store column).
    signal: String,
    /// The universe.
    #[arg(long)]
    universe: String,
    /// Look-back of momentum, reversal and low_vol, in bars.
    #[arg(long, default_value_t = 60)]
    lookback: u32,
    #[arg(long)]
    from: Option<NaiveDate>,
    #[arg(long)]
    to: Option<NaiveDate>,
    /// Forward-return horizons in bars, comma-separated.
    #[arg(long, default_value = "1,5,10")]
    periods: String,
    #[arg(long, default_value_t = 5)]
    quantiles: usize,
    /// Split the IC by the regimes of this regime model.
    #[arg(long)]
    regime_model: Option<String>,
    /// Price basis of the forward returns.
    #[arg(long, default_value = "total_return")]
    prices: PriceBasis,
    /// Write ic.svg and quantiles.svg here.
    #[arg(long)]
    svg_dir: Option<PathBuf>,
    /// Print the whole evaluation as JSON.
    #[arg(long)]
    json: bool,
}

/// `momentum` → `{"signal": "momentum", "lookback": N}`; `model:NAME`, `feature:V.C`.
pub fn signal_params(signal: &str, lookback: u32) -> Value {
    let mut m = Map::new();
    match signal.split_once(':') {
        Some(("model", name)) => {
            m.insert("signal".into(), json!("model"));
            m.insert("model".into(), json!(name));
        }
        Some(("feature", col)) => {
            m.insert("signal".into(), json!("feature"));
            m.insert("feature".into(), json!(col));
        }
        _ => {
            m.insert("signal".into(), json!(signal));
            m.insert("lookback".into(), json!(lookback));
        }
    }
    Value::Object(m)
}

/// Runs a universe command.
pub async fn universe(cmd: UniverseCmd, s: &Services) -> Result<()> {
    let u = &s.universes;
    match cmd {
        UniverseCmd::Ls => {
            let rows: Vec<Vec<String>> = u
                .list()
                .await?
                .iter()
                .map(|x| {
                    vec![
                        x.name.clone(),
                        x.members.len().to_string(),
                        x.delisted().to_string(),
                        x.source.clone(),
                        x.description.clone(),
                    ]
                })
                .collect();
            table(
                &["name", "members", "delisted", "source", "description"],
                &rows,
            );
        }
        UniverseCmd::Show { name } => {
            let x = u.get(&name).await?;
            let day = |d: Option<NaiveDate>| d.map_or("-".into(), |d| d.to_string());
            let rows: Vec<Vec<String>> = x
                .members
                .iter()
                .map(|m| vec![m.symbol.to_string(), day(m.from), day(m.to)])
                .collect();
            table(&["symbol", "from", "to"], &rows);
            if let Some(n) = x.survivorship_notice() {
                println!("\nnote: {n}");
            }
        }
        UniverseCmd::Import {
            name,
            file,
            description,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let members = sextant_core::universes::UniverseService::parse_csv(&text)?;
            let x = u.save(&name, &description, "file", members).await?;
            println!(
                "{}: {} members, {} delisted",
                x.name,
                x.members.len(),
                x.delisted()
            );
        }
        UniverseCmd::FromCache {
            name,
            symbols,
            description,
        } => {
            let members = u.from_cache(&symbols)?;
            let x = u.save(&name, &description, "cache", members).await?;
            println!(
                "{}: {} members, {} delisted",
                x.name,
                x.members.len(),
                x.delisted()
            );
        }
        UniverseCmd::Rm { name } => {
            if !u.delete(&name).await? {
                anyhow::bail!("no universe {name:?}");
            }
        }
    }
    Ok(())
}

/// Runs a factor command.
pub async fn factor(cmd: FactorCmd, s: &Services) -> Result<()> {
    let FactorCmd::Evaluate(a) = cmd;
    let periods = a
        .periods
        .split(',')
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .context("--periods takes comma-separated bar counts, e.g. 1,5,10")?;
    let req = FactorRequest {
        universe: a.universe,
        signal: signal_params(&a.signal, a.lookback),
        from: a.from,
        to: a.to,
        periods,
        quantiles: a.quantiles,
        regime_model: a.regime_model,
        prices: a.prices,
    };
    let e = s.factors.evaluate(req).await?;
    if let Some(dir) = &a.svg_dir {
        std::fs::create_dir_all(dir)?;
        for which in ["ic", "quantiles"] {
            if let Some(svg) = figure(&e, which) {
                std::fs::write(dir.join(format!("{which}.svg")), svg)?;
            }
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
        return Ok(());
    }
    let r = &e.report;
    println!(
        "{} over {}: {} dates, {} cells ({} left out: no score, no bar or no forward return)",
        a.signal, e.request.universe, r.dates, r.cells, r.dropped
    );
    let rows: Vec<Vec<String>> =
        r.ic.iter()
            .zip(&r.spread)
            .map(|(h, sp)| {
                vec![
                    format!("{}", h.period),
                    format!("{:.4}", h.summary.mean),
                    format!("{:.3}", h.summary.icir),
                    format!("{:.2}", h.summary.t_stat),
                    format!("{:.3}%", sp.mean * 100.0),
                    format!("{:.2}", sp.t_stat),
                ]
            })
            .collect();
    table(
        &[
            "horizon",
            "rank IC",
            "ICIR",
            "IC t",
            "Q top-bottom",
            "spread t",
        ],
        &rows,
    );
    println!(
        "turnover top {:.1}% bottom {:.1}%, rank autocorrelation {:.3}",
        r.top_turnover * 100.0,
        r.bottom_turnover * 100.0,
        r.rank_autocorrelation
    );
    for g in &r.by_regime {
        let ics: Vec<String> = g.mean_ic.iter().map(|v| format!("{v:.4}")).collect();
        println!(
            "  {}: {} dates, mean IC {}",
            g.label,
            g.dates,
            ics.join(" / ")
        );
    }
    if e.excluded_bars > 0 {
        println!(
            "{} bars of the range are held by the quality checks and left out (sextant quality ls)",
            e.excluded_bars
        );
    }
    if let Some(u) = e.inputs["unadjusted_symbols"].as_array() {
        println!(
            "{} symbols have no adjustment data in the cache: their returns are as traded (a split shows as a price move)",
            u.len()
        );
    }
    if let Some(m) = e.inputs["split_like_moves"].as_array() {
        println!(
            "{} split-like price moves of those symbols were flagged at ingest and count as returns",
            m.len()
        );
    }
    if let Some(n) = e.universe["survivorship_notice"].as_str() {
        println!("note: {n}");
    }
    Ok(())
}
