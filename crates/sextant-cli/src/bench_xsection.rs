//! `sextant bench --xsection N`: cross-sectional research over N generated symbols × 20 years
//! of daily bars. Times, best of 3: the weekly-rebalanced `topk_dropout` (top 50, drop 5,
//! 60-bar momentum) through the simulator on data in memory, the other constructions, and the
//! factor evaluation (signal panel, IC at 1/5/10 bars, quintile returns, turnover,
//! autocorrelation); then the same backtest end to end through the services (bars read from
//! DuckDB, run stored). Writes the factor and next-open price panels and its own figures for the
//! alphalens and pandas peers (`scripts/bench-xsection`).

use anyhow::Result;
use serde_json::json;
use sextant_backtest::portfolio::{signal_panel, Signal};
use sextant_backtest::simulator::{BarSeries, Costs, MarketData, SimConfig, TradingSimulator};
use sextant_backtest::strategy::build_strategy;
use sextant_core::{Config, Services};
use sextant_domain::Source;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Sessions in 20 years of daily bars.
const DAYS: usize = 5040;

fn best_of_3<T>(mut f: impl FnMut() -> T) -> (T, f64) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..3 {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(v);
    }
    (out.expect("three runs"), best)
}

/// Runs the benchmark on `n` symbols in `dir`.
pub async fn run(dir: &Path, n: usize) -> Result<()> {
    let (_, bars) = crate::bench_regimes::generate(n, DAYS, 11);
    let t = Instant::now();
    let series = bars
        .iter()
        .map(|b| BarSeries::from_bars(b))
        .collect::<Result<Vec<_>, _>>()?;
    let data = MarketData::new(series)?;
    println!(
        "columns for {n} symbols x {DAYS} bars: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    let cfg = SimConfig {
        initial_cash: 1e7,
        costs: Costs {
            commission_pct: 0.001,
            commission_fixed: 0.0,
            slippage_bps: 5.0,
        },
        ..SimConfig::default()
    };
    let sim = TradingSimulator::new(cfg)?;
    let mut figures = serde_json::Map::new();
    let cases = [
        (
            "topk_dropout",
            json!({"topk": 50, "n_drop": 5, "signal": "momentum", "lookback": 60, "rebalance": "weekly"}),
        ),
        (
            "topk_weighted",
            json!({"topk": 50, "weighting": "equal", "signal": "momentum", "lookback": 60, "rebalance": "weekly"}),
        ),
        (
            "topk_weighted",
            json!({"topk": 50, "weighting": "inverse_vol", "signal": "momentum", "lookback": 60, "rebalance": "weekly"}),
        ),
        (
            "topk_weighted",
            json!({"topk": 50, "weighting": "risk_parity", "signal": "momentum", "lookback": 60, "rebalance": "weekly"}),
        ),
        (
            "topk_weighted",
            json!({"topk": 50, "weighting": "mean_variance", "max_weight": 0.05, "signal": "momentum", "lookback": 60, "rebalance": "weekly"}),
        ),
        (
            "long_short",
            json!({"quantiles": 10, "signal": "momentum", "lookback": 60, "rebalance": "weekly"}),
        ),
    ];
    for (name, params) in cases {
        let (r, secs) = best_of_3(|| {
            let mut s = build_strategy(name, &params).expect("strategy");
            sim.run(&data, s.as_mut())
        });
        let label = format!(
            "{name} {}",
            params
                .get("weighting")
                .and_then(|w| w.as_str())
                .unwrap_or("")
        );
        println!(
            "{:<32} {:>8.3} s  ({} fills, final equity {:.0})",
            label.trim(),
            secs,
            r.fills.len(),
            r.equity.last().copied().unwrap_or(f64::NAN)
        );
        let final_equity = r.equity.last().copied().unwrap_or(f64::NAN);
        figures.insert(
            label.trim().to_string(),
            json!({"secs": secs, "fills": r.fills.len(), "final_equity": final_equity,
                   "params": params}),
        );
    }

    // Factor evaluation, as `FactorService` computes it (without the load).
    let (report, secs) = best_of_3(|| {
        sextant_core::factors::report_on(&data, &Signal::Momentum(60), &[1, 5, 10], 5, None)
            .expect("evaluate")
    });
    let scores = signal_panel(&data, &Signal::Momentum(60));
    let next_open = sextant_core::factors::next_open_prices(&data);
    println!(
        "factor evaluation (signal, 3 horizons, quintiles, turnover): {secs:.3} s; IC(1) {:.5}",
        report.ic[0].summary.mean
    );
    figures.insert("factor_evaluation".into(), json!({"secs": secs}));
    figures.insert(
        "report".into(),
        json!({
            "ic_mean": report.ic.iter().map(|h| h.summary.mean).collect::<Vec<_>>(),
            "quantile_returns": report.quantile_returns,
            "top_turnover": report.top_turnover,
            "rank_autocorrelation": report.rank_autocorrelation,
            "cells": report.cells,
        }),
    );

    // Panels for the peers: long factor (finite only) and wide next-open prices.
    let names = data.symbols();
    let dates: Vec<String> = data
        .ts()
        .iter()
        .filter_map(|t| chrono::DateTime::from_timestamp(*t, 0))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect();
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("xs_factor.csv"))?);
    writeln!(f, "date,asset,factor")?;
    for (t, row) in scores.iter().enumerate() {
        for (s, v) in row.iter().enumerate().filter(|(_, v)| v.is_finite()) {
            writeln!(f, "{},{},{:?}", dates[t], names[s], v)?;
        }
    }
    f.flush()?;
    let mut p = std::io::BufWriter::new(std::fs::File::create(dir.join("xs_prices.csv"))?);
    writeln!(p, "date,{}", names.join(","))?;
    for (t, d) in dates.iter().enumerate() {
        let row: Vec<String> = (0..names.len())
            .map(|s| {
                let v = next_open[t * names.len() + s];
                if v.is_finite() {
                    format!("{v:?}")
                } else {
                    String::new()
                }
            })
            .collect();
        writeln!(p, "{d},{}", row.join(","))?;
    }
    p.flush()?;
    // Open and close panels for the pandas top-k peer.
    let last = data.len() - 1;
    let view_cols = |which: &str| sextant_backtest::portfolio::columns(&data, last, which);
    for (file, which) in [("xs_open.csv", "open"), ("xs_close.csv", "close")] {
        let cols = view_cols(which);
        let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join(file))?);
        writeln!(w, "date,{}", names.join(","))?;
        for (t, d) in dates.iter().enumerate() {
            let row: Vec<String> = cols
                .iter()
                .map(|c| {
                    if c[t].is_finite() {
                        format!("{:?}", c[t])
                    } else {
                        String::new()
                    }
                })
                .collect();
            writeln!(w, "{d},{}", row.join(","))?;
        }
        w.flush()?;
    }

    // End to end: bars from DuckDB, the universe resolved, the run stored.
    let mut config = Config {
        data_dir: dir.join("xsection"),
        load_sample: false,
        ..Config::default()
    };
    config.quality.enabled = false;
    let s = Services::build(config).await?;
    let all: Vec<_> = bars.iter().flatten().cloned().collect();
    s.cache.ingest_bars(&all, Source::File, "bench")?;
    let req: sextant_core::backtest::BacktestRequest = serde_json::from_value(json!({
        "strategy": "topk_dropout", "universe": "cache",
        "params": {"topk": 50, "n_drop": 5, "signal": "momentum", "lookback": 60, "rebalance": "weekly"},
        "sim": {"initial_cash": 1e7, "costs": {"commission_pct": 0.001, "commission_fixed": 0.0, "slippage_bps": 5.0}}
    }))?;
    let t = Instant::now();
    let run = s.backtests.run(&req).await?;
    let e2e = t.elapsed().as_secs_f64();
    println!(
        "end to end through the services (read {n} symbols from DuckDB, simulate, store): {e2e:.3} s ({} trades)",
        run.trade_count
    );
    figures.insert("end_to_end".into(), json!({"secs": e2e}));
    std::fs::write(
        dir.join("xs_sextant.json"),
        serde_json::to_string_pretty(&figures)?,
    )?;
    Ok(())
}
