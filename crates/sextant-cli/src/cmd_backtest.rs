//! `sextant backtest`, `sextant sweep`, `sextant strategies`.

use crate::output::table;
use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use serde_json::{Map, Value};
use sextant_backtest::metrics::Metrics;
use sextant_backtest::run::{RiskFree, RiskFreeUsed};
use sextant_backtest::simulator::{
    BarSeries, CorporateActions, Costs, FillTiming, ShareRounding, SimConfig, Sizer,
};
use sextant_backtest::strategy::strategy_library;
use sextant_backtest::sweep::{sweep_sma_cross, SmaGrid, SweepConfig};
use sextant_core::backtest::{
    BacktestRequest, RunOptions, RunOutcome, WalkForwardSpec, WalkOutcome,
};
use sextant_core::Services;
use sextant_data::cache::FileOptions;
use sextant_data::Cache;
use sextant_domain::{PriceBasis, Resolution, Symbol};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Where bars come from and which.
#[derive(Args, Clone)]
pub struct DataArgs {
    /// Symbol (repeatable).
    #[arg(long = "symbol", required_unless_present = "universe")]
    pub symbols: Vec<Symbol>,
    /// A named universe instead of symbols (`sextant universe ls`; `cache` is every cached
    /// symbol), for the portfolio strategies (topk_dropout, topk_weighted, long_short).
    #[arg(long, conflicts_with = "symbols")]
    pub universe: Option<String>,
    #[arg(long)]
    pub from: Option<NaiveDate>,
    #[arg(long)]
    pub to: Option<NaiveDate>,
    #[arg(long, default_value = "daily")]
    pub resolution: Resolution,
    /// Read bars from this CSV/Parquet file (loaded in memory) instead of the cache.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Price basis: total_return (default: splits and dividends adjusted, so buy and hold earns
    /// what a holder earned), split_adjusted, or raw (the printed prices; a split is a drop).
    #[arg(long, default_value = "total_return")]
    pub prices: PriceBasis,
}

impl DataArgs {
    /// Refuses `--universe` for a command that trades symbols one by one.
    pub fn symbols_only(&self, command: &str) -> Result<()> {
        if self.universe.is_some() {
            bail!("{command} takes --symbol; --universe is for backtests of the portfolio strategies and factor evaluate");
        }
        Ok(())
    }
}

/// Costs and fills shared by backtests and sweeps.
#[derive(Args, Clone)]
pub struct CostArgs {
    #[arg(long, default_value_t = 10_000.0)]
    pub cash: f64,
    /// Commission as a fraction of notional per fill (0.002 = 0.2 %).
    #[arg(long, default_value_t = 0.0)]
    pub commission: f64,
    /// Fixed commission per fill.
    #[arg(long, default_value_t = 0.0)]
    pub commission_fixed: f64,
    #[arg(long, default_value_t = 0.0)]
    pub slippage_bps: f64,
    #[arg(long, value_enum, default_value = "next-open")]
    pub fill: Fill,
    /// Allow fractional units (default: whole shares).
    #[arg(long)]
    pub fractional: bool,
    /// With `--prices raw`: apply splits to positions and credit dividends as cash at each
    /// ex-date, as a broker does (default: ignore them, as a raw-file backtester does).
    #[arg(long, value_enum, default_value = "ignore")]
    pub corporate_actions: Actions,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Actions {
    Ignore,
    Apply,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Fill {
    NextOpen,
    SignalClose,
}

#[derive(Args)]
pub struct BacktestArgs {
    /// Strategy name (see `sextant strategies`).
    #[arg(long, required_unless_present = "strategy_file")]
    strategy: Option<String>,
    /// A user-defined strategy: a definition file in the rule language (see `sextant strategy
    /// check`); --param then sets its parameters.
    #[arg(long, conflicts_with = "strategy")]
    strategy_file: Option<std::path::PathBuf>,
    /// Parameter NAME=VALUE (repeatable); validated against the strategy's schema.
    #[arg(long = "param", value_parser = parse_kv)]
    params: Vec<(String, Value)>,
    /// A portfolio strategy's signal: momentum, reversal, low_vol, model:NAME,
    /// feature:VIEW.COLUMN, or a model name.
    #[arg(long)]
    signal: Option<String>,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    costs: CostArgs,
    /// Position sizing: all-in, fraction:F, units:N or voltarget:ANNUAL_VOL.
    #[arg(long, default_value = "all-in", value_parser = parse_sizer)]
    sizer: Sizer,
    /// Walk forward TRAIN:TEST bars (rolling) instead of one run; candidates from --candidate.
    #[arg(long)]
    walk_forward: Option<String>,
    /// Anchored (expanding) training windows for --walk-forward.
    #[arg(long)]
    anchored: bool,
    /// A candidate parameter set for --walk-forward, e.g. "fast=5,slow=20" (repeatable).
    #[arg(long = "candidate")]
    candidates: Vec<String>,
    /// Print the last N trades.
    #[arg(long, default_value_t = 10)]
    trades: usize,
    /// Print the run as JSON.
    #[arg(long)]
    json: bool,
    /// The risk-free rate Sharpe and Sortino subtract: auto (the cached 3-month Treasury
    /// yield, else zero), none (zero), or a stored series id such as
    /// treasury_yield_3month_daily (`sextant data macro`).
    #[arg(long, default_value = "auto", value_parser = parse_risk_free)]
    risk_free: RiskFree,
}

fn parse_risk_free(s: &str) -> Result<RiskFree, String> {
    RiskFree::try_from(s.to_string())
}

#[derive(Args)]
pub struct SweepArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    costs: CostArgs,
    /// Fast SMA windows, LO..HI (inclusive).
    #[arg(long, default_value = "2..100")]
    fast: String,
    /// Slow SMA windows, LO..HI (inclusive); only slow > fast is run.
    #[arg(long, default_value = "3..200")]
    slow: String,
    /// Rows of the leaderboard.
    #[arg(long, default_value_t = 15)]
    top: usize,
}

fn parse_value(v: &str) -> Value {
    serde_json::from_str::<Value>(v).unwrap_or_else(|_| Value::String(v.to_string()))
}

pub(crate) fn parse_kv(s: &str) -> Result<(String, Value), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    Ok((k.trim().to_string(), parse_value(v.trim())))
}

pub(crate) fn parse_sizer(s: &str) -> Result<Sizer, String> {
    let (kind, arg) = s.split_once(':').unwrap_or((s, ""));
    let num = || arg.parse::<f64>().map_err(|e| format!("{s}: {e}"));
    Ok(match kind {
        "all-in" => Sizer::AllIn,
        "fraction" => Sizer::FixedFraction { fraction: num()? },
        "units" => Sizer::FixedQuantity { units: num()? },
        "voltarget" => Sizer::VolatilityTarget {
            annual_vol: num()?,
            lookback: 20,
            periods_per_year: 252.0,
            max_leverage: 1.0,
        },
        _ => {
            return Err(format!(
                "unknown sizer {s:?}: all-in, fraction:F, units:N, voltarget:V"
            ))
        }
    })
}

fn parse_range(s: &str) -> Result<std::ops::RangeInclusive<usize>> {
    let (a, b) = s
        .split_once("..")
        .with_context(|| format!("expected LO..HI, got {s:?}"))?;
    Ok(a.trim().parse()?..=b.trim().parse()?)
}

pub(crate) fn sim_config(c: &CostArgs, sizer: Sizer) -> SimConfig {
    SimConfig {
        initial_cash: c.cash,
        fill: match c.fill {
            Fill::NextOpen => FillTiming::NextOpen,
            Fill::SignalClose => FillTiming::SignalClose,
        },
        costs: Costs {
            commission_pct: c.commission,
            commission_fixed: c.commission_fixed,
            slippage_bps: c.slippage_bps,
        },
        shares: if c.fractional {
            ShareRounding::Fractional
        } else {
            ShareRounding::Whole
        },
        sizer,
        corporate_actions: match c.corporate_actions {
            Actions::Ignore => CorporateActions::Ignore,
            Actions::Apply => CorporateActions::Apply,
        },
        ..SimConfig::default()
    }
}

/// The cache holding the request's bars: the service's, or the CSV file in memory.
/// The bar store a command reads: the service's, or the `--csv` file loaded in memory.
fn source_cache(s: &Services, d: &DataArgs) -> Result<Arc<Cache>> {
    match &d.csv {
        None => Ok(s.cache.clone()),
        Some(path) => {
            // The same checks and policy as any ingest (`quality.*` in the configuration), so a
            // file backtest holds exactly what an ingest of the file would, and says so.
            let cache = Cache::open_in_memory()?.with_quality(s.config.quality.clone());
            let opts = FileOptions {
                symbol: (d.symbols.len() == 1).then(|| d.symbols[0].clone()),
                resolution: Some(d.resolution),
                ..FileOptions::default()
            };
            cache.ingest_file(path, &opts)?;
            Ok(Arc::new(cache))
        }
    }
}

pub async fn backtest(a: BacktestArgs, s: &Services) -> Result<()> {
    let mut given = a.params.iter().cloned().collect::<Map<String, Value>>();
    if let Some(sig) = &a.signal {
        let builtin =
            ["momentum", "reversal", "low_vol"].contains(&sig.as_str()) || sig.contains(':');
        let named = if builtin {
            sig.clone()
        } else {
            format!("model:{sig}")
        };
        if let Value::Object(m) = crate::cmd_factor::signal_params(&named, 60) {
            for (k, v) in m {
                // An explicit --param lookback=… wins over the default look-back.
                given.entry(k).or_insert(v);
            }
        }
    }
    let (strategy, params) = crate::cmd_strategy::strategy_and_params(
        a.strategy.as_deref(),
        a.strategy_file.as_deref(),
        given,
    )?;
    let req = BacktestRequest {
        strategy,
        params,
        symbols: a.data.symbols.clone(),
        universe: a.data.universe.clone(),
        resolution: a.data.resolution,
        from: a.data.from,
        to: a.data.to,
        sim: sim_config(&a.costs, a.sizer),
        seed: 0,
        periods_per_year: None,
        prices: a.data.prices,
        risk_free: a.risk_free.clone(),
    };
    let cache = source_cache(s, &a.data)?;
    if let Some(wf) = &a.walk_forward {
        let (train, test) = wf
            .split_once(':')
            .context("--walk-forward takes TRAIN:TEST bars")?;
        let candidates = a
            .candidates
            .iter()
            .map(|c| {
                c.split(',')
                    .map(parse_kv)
                    .collect::<Result<Map<String, Value>, String>>()
                    .map(Value::Object)
                    .map_err(anyhow::Error::msg)
            })
            .collect::<Result<Vec<_>>>()?;
        let spec = WalkForwardSpec {
            train_bars: train.parse()?,
            test_bars: test.parse()?,
            anchored: a.anchored,
            candidates,
        };
        let WalkOutcome::Done { report, bar_ts } =
            s.backtests
                .walk_forward_on(Some(cache.as_ref()), &req, &spec, None, &|| false)?
        else {
            bail!("a walk-forward without a cost limit was refused");
        };
        if a.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
            return Ok(());
        }
        let rows: Vec<Vec<String>> = report
            .windows
            .iter()
            .map(|w| {
                vec![
                    day(bar_ts[w.train_start]),
                    day(bar_ts[w.train_end]),
                    day(bar_ts[w.test_end - 1]),
                    w.chosen_params.to_string(),
                    format!("{:.2}", w.train_sharpe),
                    format!("{:.2}%", w.test_return * 100.0),
                ]
            })
            .collect();
        table(
            &[
                "train from",
                "test from",
                "test to",
                "chosen",
                "IS sharpe",
                "OOS return",
            ],
            &rows,
        );
        println!("\nstitched out-of-sample:");
        print_metrics(&report.out_of_sample);
        return Ok(());
    }
    let opts = RunOptions {
        cache: Some(cache),
        ..RunOptions::default()
    };
    let RunOutcome::Done(run) = s.backtests.run_with(&req, opts).await? else {
        bail!("a run without a cost limit was refused");
    };
    let trades = s.backtests.trades(&run.id).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&run)?);
        return Ok(());
    }
    // A definition is shown by its name (`rules:trend_pullback`) and its parameter values.
    let (shown, mut values) = (req.strategy.clone(), req.params.clone());
    let shown = match values.as_object_mut().and_then(|m| m.remove("definition")) {
        Some(d) => format!("{shown}:{}", d["name"].as_str().unwrap_or("?")),
        None => shown,
    };
    println!(
        "{} {} on {} ({} bars, {} to {})",
        shown,
        values,
        req.symbols
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(","),
        run.bars,
        run.first_ts
            .map(|t| t.date_naive().to_string())
            .unwrap_or_default(),
        run.last_ts
            .map(|t| t.date_naive().to_string())
            .unwrap_or_default()
    );
    println!(
        "run id {}  (data snapshot {}, {} prices)",
        run.id,
        &run.manifest.data_snapshot[..16],
        run.manifest.prices
    );
    print_excluded(&run.manifest.excluded);
    println!();
    print_metrics(&run.metrics);
    print_risk_free(&run.risk_free);
    println!("{:<26} {:>14.2}", "final equity", run.final_equity);
    if a.trades > 0 && !trades.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = trades
            .iter()
            .rev()
            .take(a.trades)
            .rev()
            .map(|t| {
                vec![
                    t.symbol.clone(),
                    if t.long { "long" } else { "short" }.into(),
                    t.entry_ts
                        .map(|d| d.date_naive().to_string())
                        .unwrap_or_default(),
                    format!("{:.2}", t.entry_price),
                    t.exit_ts
                        .map(|d| d.date_naive().to_string())
                        .unwrap_or_else(|| "open".into()),
                    format!("{:.2}", t.exit_price),
                    format!("{}", t.size),
                    format!("{:.2}", t.pnl),
                    format!("{:.2}%", t.return_pct * 100.0),
                ]
            })
            .collect();
        table(
            &[
                "symbol", "side", "entry", "price", "exit", "price", "size", "pnl", "return",
            ],
            &rows,
        );
    }
    Ok(())
}

/// Says which bars of the range the run did not see (held by the quality checks).
pub(crate) fn print_excluded(held: &[sextant_domain::HeldBar]) {
    if held.is_empty() {
        println!("excluded: none (every bar in the range was used)");
        return;
    }
    println!(
        "excluded: {} bar(s) held by the quality checks (review with `sextant quality ls`):",
        held.len()
    );
    for h in held.iter().take(20) {
        println!(
            "  {} {} {} #{} ({})",
            h.symbol,
            h.ts.date(),
            h.status,
            h.quarantine_id,
            h.reasons
        );
    }
    if held.len() > 20 {
        println!("  … and {} more (see the run's manifest)", held.len() - 20);
    }
}

/// Which risk-free rate Sharpe and Sortino used, and why.
fn print_risk_free(r: &RiskFreeUsed) {
    let missing = if r.bars_without_rate > 0 {
        format!(
            "; {} bars before its first observation used zero",
            r.bars_without_rate
        )
    } else {
        String::new()
    };
    println!(
        "risk-free: {} ({}), mean {:.2}% a year{missing}",
        r.series, r.reason, r.mean_annual_pct
    );
}

fn day(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.date_naive().to_string())
        .unwrap_or_default()
}

fn print_metrics(m: &Metrics) {
    let pct = |v: f64| format!("{:.2}%", v * 100.0);
    let num = |v: f64| format!("{v:.3}");
    let rows = [
        ("total return", pct(m.total_return)),
        ("CAGR", pct(m.cagr)),
        ("annual volatility", pct(m.annual_volatility)),
        ("Sharpe", num(m.sharpe)),
        ("Sortino", num(m.sortino)),
        ("Calmar", num(m.calmar)),
        ("max drawdown", pct(m.max_drawdown)),
        (
            "max drawdown duration",
            format!("{} bars", m.max_drawdown_duration),
        ),
        ("VaR (95%, 1 bar)", pct(m.value_at_risk)),
        ("CVaR (95%, 1 bar)", pct(m.conditional_value_at_risk)),
        ("trades", m.trade_count.to_string()),
        ("win rate", pct(m.win_rate)),
        ("profit factor", num(m.profit_factor)),
        ("exposure", pct(m.exposure)),
    ];
    for (k, v) in rows {
        println!("{k:<26} {v:>14}");
    }
}

pub fn sweep(a: SweepArgs, s: &Services) -> Result<()> {
    let grid = SmaGrid {
        fast: parse_range(&a.fast)?,
        slow: parse_range(&a.slow)?,
    };
    let cache = source_cache(s, &a.data)?;
    let mut series = Vec::new();
    for sym in &a.data.symbols {
        let bars = cache.bars_on(
            sym,
            a.data.resolution,
            a.data.from,
            a.data.to,
            a.data.prices,
        )?;
        if bars.is_empty() {
            bail!("no {} bars for {sym}", a.data.resolution);
        }
        series.push(BarSeries::from_bars(&bars)?);
    }
    let sim = sim_config(&a.costs, Sizer::AllIn);
    let cfg = SweepConfig {
        initial_cash: sim.initial_cash,
        fill: sim.fill,
        costs: sim.costs,
        shares: sim.shares,
        periods_per_year: a.data.resolution.periods_per_year(),
        ..SweepConfig::default()
    };
    let t = Instant::now();
    let results = sweep_sma_cross(&series, &grid, &cfg)?;
    let secs = t.elapsed().as_secs_f64();
    let evals: usize = results.iter().map(|r| r.bars * r.combos.len()).sum();
    let mut rows: Vec<(String, sextant_backtest::sweep::ComboStats)> = results
        .iter()
        .flat_map(|r| r.combos.iter().map(move |c| (r.symbol.clone(), *c)))
        .collect();
    rows.sort_by(|a, b| b.1.sharpe.total_cmp(&a.1.sharpe).then(a.0.cmp(&b.0)));
    let printed: Vec<Vec<String>> = rows
        .iter()
        .filter(|(_, c)| c.sharpe.is_finite())
        .take(a.top)
        .map(|(sym, c)| {
            vec![
                sym.clone(),
                c.fast.to_string(),
                c.slow.to_string(),
                format!("{:.3}", c.sharpe),
                format!("{:.2}%", c.total_return * 100.0),
                format!("{:.2}%", c.max_drawdown * 100.0),
                c.trades.to_string(),
                format!("{:.2}", c.final_equity),
            ]
        })
        .collect();
    table(
        &[
            "symbol",
            "fast",
            "slow",
            "sharpe",
            "return",
            "max dd",
            "trades",
            "final equity",
        ],
        &printed,
    );
    println!(
        "\n{} combos x {} symbols = {} bar-evaluations in {:.3} s ({:.0}M/s); in-sample figures: \
         the best of many combos is optimistic (use `backtest --walk-forward` for out-of-sample)",
        grid.len(),
        series.len(),
        evals,
        secs,
        evals as f64 / secs / 1e6
    );
    Ok(())
}

pub fn strategies() {
    for info in strategy_library() {
        println!("{}: {}", info.name, info.description);
        if let Some(props) = info.schema.get("properties").and_then(Value::as_object) {
            for (name, p) in props {
                let desc = p.get("description").and_then(Value::as_str).unwrap_or("");
                let default = p.get("default").map(|d| d.to_string()).unwrap_or_default();
                println!("    {name:<14} default {default:<8} {desc}");
            }
        }
    }
}
