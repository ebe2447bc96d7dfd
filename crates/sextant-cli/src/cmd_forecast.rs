//! `sextant forecast SYMBOL | --portfolio ID | --backtest ID` and `sextant forecast evaluate`:
//! value distributions over the next sessions (fan, VaR, drawdown risk) and their walk-forward
//! calibration against what happened.

use crate::output::table;
use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use sextant_core::forecasts::{
    CalibrationReport, CalibrationRequest, ForecastReport, ForecastRequest,
};
use sextant_core::Services;
use sextant_domain::Symbol;
use sextant_forecasts::chart::FanChart;
use sextant_forecasts::{Drift, FanDay, ModelKind};
use std::path::PathBuf;

/// A forecast, or (with `evaluate`) a calibration.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ForecastCmd {
    #[command(subcommand)]
    sub: Option<ForecastSub>,
    #[command(flatten)]
    args: ForecastArgs,
}

/// Calibration.
#[derive(Subcommand)]
pub enum ForecastSub {
    /// Walk-forward calibration of every model and baseline: band coverage, pinball, CRPS,
    /// Kupiec and Christoffersen VaR tests, side by side.
    ///
    /// Example: sextant forecast evaluate AAPL IBM MSFT --together
    Evaluate(EvaluateArgs),
    /// Score a symbol's stored forecasts against the bars that came after them: coverage of
    /// the 50/80/90/98 % bands over every realised day, and over each forecast's next day.
    ///
    /// Example: sextant forecast score AAPL
    Score {
        /// The symbol.
        symbol: Symbol,
        /// Print the score as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What to forecast.
#[derive(Args)]
pub struct ForecastArgs {
    /// A symbol (one share).
    symbol: Option<Symbol>,
    /// A portfolio id: its holdings and cash at the origin.
    #[arg(long, conflicts_with_all = ["symbol", "backtest"])]
    portfolio: Option<String>,
    /// A stored backtest's run id: its equity.
    #[arg(long, conflicts_with = "symbol")]
    backtest: Option<String>,
    /// Sessions ahead (1 to 1,000).
    #[arg(long, default_value_t = 10)]
    horizon: usize,
    /// fhs_gjr (default for symbols and portfolios), fhs, gjr, garch, bootstrap (default for a
    /// backtest), regime, or a baseline: naive, historical.
    #[arg(long)]
    model: Option<ModelKind>,
    /// Simulated paths.
    #[arg(long, default_value_t = 10_000)]
    paths: usize,
    /// Seed of the paths.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// The origin: only history up to this session (YYYY-MM-DD).
    #[arg(long)]
    as_of: Option<NaiveDate>,
    /// The regime model conditioning `--model regime`.
    #[arg(long)]
    regime_model: Option<String>,
    /// Drift of the paths: estimated (what the model learnt) or zero.
    #[arg(long, default_value = "estimated")]
    drift: Drift,
    /// Write the fan chart (SVG) to this file.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
    /// Do not store the quantiles in DuckDB.
    #[arg(long)]
    no_store: bool,
}

/// What to calibrate.
#[derive(Args)]
pub struct EvaluateArgs {
    /// Symbols: each is evaluated alone.
    #[arg(required = true)]
    symbols: Vec<Symbol>,
    /// Also the equal-weight portfolio of the symbols (days all have a return).
    #[arg(long)]
    together: bool,
    /// Comma-separated models (default naive,historical,bootstrap,garch,gjr,fhs,fhs_gjr;
    /// regime is added with --regime-model).
    #[arg(long, value_delimiter = ',')]
    models: Vec<ModelKind>,
    /// Comma-separated horizons in sessions (1 to 1,000 each).
    #[arg(long, value_delimiter = ',', default_value = "1,10", value_parser = clap::value_parser!(u16).range(1..=1000))]
    horizons: Vec<u16>,
    /// Paths per forecast.
    #[arg(long, default_value_t = 1_000)]
    paths: usize,
    /// Sessions between origins.
    #[arg(long, default_value_t = 1)]
    step: usize,
    /// Sessions of history before the first origin (100 to 100,000).
    #[arg(long, default_value_t = 504, value_parser = clap::value_parser!(u32).range(100..=100_000))]
    min_history: u32,
    /// Use history up to this session only.
    #[arg(long)]
    as_of: Option<NaiveDate>,
    /// The regime model conditioning `regime`.
    #[arg(long)]
    regime_model: Option<String>,
    /// Drift of the paths: estimated or zero.
    #[arg(long, default_value = "estimated")]
    drift: Drift,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Print the reports as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs a forecast command.
pub async fn run(cmd: ForecastCmd, services: &Services) -> Result<()> {
    match cmd.sub {
        Some(ForecastSub::Evaluate(a)) => evaluate(a, services).await,
        Some(ForecastSub::Score { symbol, json }) => {
            let s = services
                .forecasts
                .score_stored(&symbol)
                .await
                .context("scoring stored forecasts")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
                return Ok(());
            }
            println!(
                "{}: {} stored forecasts ({} not yet realised, {} orphaned), {} realised days",
                s.target, s.forecasts, s.pending, s.orphaned, s.scored_days
            );
            let row = |name: &str, b: &sextant_core::forecasts::StoredBand| {
                vec![
                    name.to_string(),
                    format!("{:.0}%", b.level * 100.0),
                    b.observations.to_string(),
                    format!("{:.1}%", b.coverage * 100.0),
                    format!("{:.1}%", b.below * 100.0),
                    format!("{:.1}%", b.above * 100.0),
                ]
            };
            let mut rows: Vec<Vec<String>> = s.bands.iter().map(|b| row("every day", b)).collect();
            rows.extend(s.next_day.iter().map(|b| row("next day", b)));
            table(&["days", "band", "n", "inside", "below", "above"], &rows);
            Ok(())
        }
        None => forecast(cmd.args, services).await,
    }
}

async fn forecast(a: ForecastArgs, services: &Services) -> Result<()> {
    let req = ForecastRequest {
        model: a.model,
        horizon: a.horizon,
        paths: a.paths,
        seed: a.seed,
        as_of: a.as_of,
        regime_model: a.regime_model.clone(),
        drift: a.drift,
        store: !a.no_store,
        baselines: true,
    };
    let engine = &services.forecasts;
    let report = match (&a.symbol, &a.portfolio, &a.backtest) {
        (Some(s), None, None) => engine.forecast_symbol(s, &req).await,
        (None, Some(p), None) => engine.forecast_portfolio(p, &req).await,
        (None, None, Some(r)) => engine.forecast_backtest(r, &req).await,
        _ => bail!("give a SYMBOL, --portfolio ID or --backtest RUN_ID"),
    }
    .context("forecast")?;
    if let Some(path) = &a.svg {
        std::fs::write(path, svg(&report))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("fan chart written to {}", path.display());
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

/// The report's fan chart.
pub fn svg(r: &ForecastReport) -> String {
    let fan: Vec<FanDay> = r
        .fan
        .iter()
        .map(|p| FanDay {
            day: p.day,
            quantiles: p.quantiles.iter().map(|q| q / r.start_value).collect(),
            mean: p.mean / r.start_value,
        })
        .collect();
    let title = format!(
        "{} {}: {} from {}, {} sessions",
        r.target_kind, r.target, r.model, r.history.last, r.horizon
    );
    FanChart {
        title: &title,
        history: &r.recent_values,
        fan: &fan,
        start_value: r.start_value,
    }
    .svg()
}

fn print_report(r: &ForecastReport) {
    println!(
        "{} {} ({}): {} from {} ({} sessions of history, {} excluded), value {:.2}, {} paths, seed {}",
        r.target_kind,
        r.target,
        r.assets.join(", "),
        r.model,
        r.history.last,
        r.history.days,
        r.history.excluded_days,
        r.start_value,
        r.paths,
        r.seed
    );
    println!(
        "forecast id {}{}",
        r.forecast_id,
        if r.stored { " (stored)" } else { "" }
    );
    for w in &r.warnings {
        println!("warning: {w}");
    }
    let days: Vec<usize> = [1, 5, 10, 21, 63, 126, 250, r.horizon]
        .into_iter()
        .filter(|d| *d <= r.horizon)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let rows: Vec<Vec<String>> = days
        .iter()
        .filter_map(|d| r.fan.get(d - 1))
        .map(|p| {
            let mut row = vec![
                p.day.to_string(),
                p.date.map_or("-".into(), |d| d.to_string()),
            ];
            row.extend(p.quantiles.iter().map(|v| format!("{v:.2}")));
            row
        })
        .collect();
    table(
        &[
            "day", "date", "1%", "5%", "10%", "25%", "50%", "75%", "90%", "95%", "99%",
        ],
        &rows,
    );
    let mut risk: Vec<Vec<String>> = r
        .var
        .iter()
        .map(|v| {
            vec![
                r.model.to_string(),
                v.days.to_string(),
                format!("{:.0}%", v.level * 100.0),
                format!("{:.2}%", v.var * 100.0),
                format!("{:.2}%", v.cvar * 100.0),
                format!("{:.2}", v.var_value),
            ]
        })
        .collect();
    for b in &r.baselines {
        risk.extend(b.var.iter().map(|v| {
            vec![
                format!("{} (baseline)", b.model),
                v.days.to_string(),
                format!("{:.0}%", v.level * 100.0),
                format!("{:.2}%", v.var * 100.0),
                format!("{:.2}%", v.cvar * 100.0),
                format!("{:.2}", v.var_value),
            ]
        }));
    }
    println!();
    table(
        &["model", "days", "level", "VaR", "CVaR", "VaR value"],
        &risk,
    );
    println!();
    for d in &r.drawdown {
        println!(
            "P(drawdown deeper than {:.0}% within {} sessions) = {:.3}",
            d.threshold * 100.0,
            r.horizon,
            d.probability
        );
    }
    println!(
        "P(value below today's after {} sessions) = {:.3}",
        r.horizon, r.probability_of_loss
    );
    match serde_json::to_string(&r.fit) {
        Ok(fit) => println!("fit: {fit}"),
        Err(e) => println!("fit: (not printable: {e})"),
    }
}

async fn evaluate(a: EvaluateArgs, services: &Services) -> Result<()> {
    let req = CalibrationRequest {
        models: a.models,
        horizons: a.horizons.into_iter().map(usize::from).collect(),
        paths: a.paths,
        step: a.step,
        min_history: a.min_history as usize,
        seed: a.seed,
        as_of: a.as_of,
        regime_model: a.regime_model,
        drift: a.drift,
        ..CalibrationRequest::default()
    };
    let started = chrono::Utc::now().timestamp_millis();
    let reports = services
        .forecasts
        .calibrate_symbols(&a.symbols, a.together, &req)
        .await
        .context("calibration")?;
    // Every calibration from the command line is a tracked run (and an MLflow run when
    // configured): `sextant mlops runs --kind forecast_eval`.
    let tracked = sextant_core::forecasts::tracking::track_calibration(
        &services.tracker,
        &reports,
        &req,
        "local",
        started,
    )
    .await;
    tracing::info!(runs = ?tracked, "calibration tracked");
    if a.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
        return Ok(());
    }
    for r in &reports {
        print_calibration(r);
    }
    Ok(())
}

fn print_calibration(r: &CalibrationReport) {
    println!(
        "\n{}: {} origins from {} to {} ({} return days, {} excluded), {} paths each",
        r.target, r.origins, r.first_origin, r.last_origin, r.days, r.excluded_days, r.spec.paths
    );
    let mut rows = Vec::new();
    for m in &r.models {
        let name = if m.baseline {
            format!("{} (baseline)", m.model)
        } else {
            m.model.to_string()
        };
        if let Some(e) = &m.error {
            rows.push(vec![name, "-".into(), format!("not evaluated: {e}")]);
            continue;
        }
        for h in &m.horizons {
            let mut row = vec![name.clone(), h.horizon.to_string(), h.forecasts.to_string()];
            row.extend(
                h.bands
                    .iter()
                    .map(|b| format!("{:.1}%", b.coverage * 100.0)),
            );
            row.push(format!("{:.5}", h.pinball));
            row.push(format!("{:.5}", h.crps));
            for v in &h.var {
                row.push(format!(
                    "{:.2}% ({}/{}) p={:.3} ind={:.3}",
                    v.rate * 100.0,
                    v.breaches,
                    v.observations,
                    v.kupiec_p,
                    v.independence_p
                ));
            }
            rows.push(row);
        }
    }
    table(
        &[
            "model",
            "h",
            "n",
            "cov50",
            "cov80",
            "cov90",
            "cov98",
            "pinball",
            "CRPS",
            "VaR95 breaches (Kupiec, indep.)",
            "VaR99 breaches (Kupiec, indep.)",
        ],
        &rows,
    );
    for b in &r.best {
        println!(
            "best at {} session(s) by CRPS: {} (90% band covers {:.1}%, 99% VaR Kupiec p={:.3})",
            b.horizon,
            b.model,
            b.coverage_90 * 100.0,
            b.kupiec_99_p
        );
    }
}
