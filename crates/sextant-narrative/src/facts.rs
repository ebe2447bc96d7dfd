//! The fact sheet: every number and date a narrative of one backtest may state.
//!
//! A narrative is only as trustworthy as the numbers it quotes, so the sheet is the single source
//! of truth for both the template renderer and the validators. Each number is a [`Fact`] with a
//! canonical id (`kpi.total_return`), a value and a [`Unit`]; non-finite metrics (NaN Sharpe on a
//! flat curve, infinite profit factor without losers) are left out, so a narrative can never
//! quote them as numbers.

use crate::comparison::{compare, Comparison};
use crate::drawdowns::{worst_drawdowns, DrawdownPeriod};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sextant_backtest::metrics::MetricsConfig;
use sextant_backtest::run::{BacktestRun, TradeRecord};
use sextant_domain::EquityPoint;
use std::collections::BTreeMap;

/// How a fact's value is expressed, which decides how it may be written in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A fraction (0.1234), written as a percentage (`12.34%`) or as the fraction itself.
    Percent,
    /// A plain ratio (Sharpe, profit factor), written with two decimals by the template.
    Ratio,
    /// A whole count (trades, bars held by the quality checks), written as an integer.
    Count,
    /// An amount of cash, written with `$` and thousands separators (`$13,028.18`).
    Currency,
    /// Calendar days, written as an integer.
    Days,
    /// A number of bars at the run's resolution, written as an integer.
    Bars,
}

/// One number a narrative may quote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// Canonical dotted id, unique in the sheet (`kpi.sharpe`, `drawdown.1.depth`,
    /// `benchmark.total_return`).
    pub id: String,
    /// Human label; numbers inside it (e.g. the 95 of "95% VaR") may be quoted too.
    pub label: String,
    /// Always finite (non-finite metrics are left out of the sheet); a fraction for `Percent`.
    pub value: f64,
    /// How the value is expressed, hence how it may be written.
    pub unit: Unit,
}

/// Everything known about one backtest, in a form a narrative can be checked against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactSheet {
    /// Library name of the strategy the run used (e.g. `buy_and_hold`).
    pub strategy: String,
    /// The strategy parameters as requested; the numbers in them are quotable.
    pub params: Value,
    /// Symbols the run traded, as requested.
    pub symbols: Vec<String>,
    /// Date (UTC) of the run's first bar; `None` for a run without bars.
    pub start: Option<NaiveDate>,
    /// Date (UTC) of the run's last bar; `None` for a run without bars.
    pub end: Option<NaiveDate>,
    /// Finite numeric facts, in a stable order.
    pub facts: Vec<Fact>,
    /// Named dates (`period.start`, `drawdown.1.trough`, ...): the only dates a narrative may use.
    pub dates: BTreeMap<String, NaiveDate>,
    /// Worst drawdowns of the equity curve, deepest first (at most three).
    pub drawdowns: Vec<DrawdownPeriod>,
    /// The strategy against buy and hold on `total_return`, `sharpe` and `max_drawdown`, in that
    /// order: what comparative claims are checked on.
    pub comparisons: Vec<Comparison>,
    /// Regime or signal metadata; its numbers count as quotable, like the parameters.
    #[serde(default)]
    pub extra: BTreeMap<String, Value>,
    /// The price basis the run traded (`total_return`, `split_adjusted` or `raw`).
    #[serde(default)]
    pub prices: String,
}

impl FactSheet {
    /// Builds the sheet from a run, its trades, its equity curve and a buy-and-hold run on the
    /// same symbols and period. Pure: no I/O, deterministic.
    pub fn build(
        run: &BacktestRun,
        trades: &[TradeRecord],
        curve: &[EquityPoint],
        benchmark: &BacktestRun,
    ) -> FactSheet {
        let m = &run.metrics;
        let req = &run.manifest.request;
        // The cutoff `execute` computed VaR with (the metrics default), stated in the label.
        let var_confidence =
            MetricsConfig::new(m.periods_per_year).map_or(0.95, |c| 1.0 - c.var_cutoff);
        let mut sheet = FactSheet {
            strategy: req.strategy.clone(),
            params: req.params.clone(),
            symbols: req.symbols.iter().map(|s| s.to_string()).collect(),
            start: run.first_ts.map(|t| t.date_naive()),
            end: run.last_ts.map(|t| t.date_naive()),
            facts: Vec::new(),
            dates: BTreeMap::new(),
            drawdowns: worst_drawdowns(curve, 3),
            comparisons: Vec::new(),
            extra: BTreeMap::new(),
            prices: run.manifest.prices.as_str().to_string(),
        };
        use Unit::*;
        let var_label = format!("Value at risk ({:.0}% confidence)", var_confidence * 100.0);
        let kpis: [(&str, &str, f64, Unit); 17] = [
            ("kpi.total_return", "Total return", m.total_return, Percent),
            ("kpi.cagr", "CAGR", m.cagr, Percent),
            (
                "kpi.volatility",
                "Annual volatility",
                m.annual_volatility,
                Percent,
            ),
            ("kpi.sharpe", "Sharpe ratio", m.sharpe, Ratio),
            ("kpi.sortino", "Sortino ratio", m.sortino, Ratio),
            ("kpi.calmar", "Calmar ratio", m.calmar, Ratio),
            (
                "kpi.max_drawdown",
                "Maximum drawdown",
                m.max_drawdown,
                Percent,
            ),
            (
                "kpi.max_drawdown_duration",
                "Longest drawdown",
                m.max_drawdown_duration as f64,
                Bars,
            ),
            ("kpi.win_rate", "Win rate", m.win_rate, Percent),
            ("kpi.profit_factor", "Profit factor", m.profit_factor, Ratio),
            ("kpi.trade_count", "Trades", run.trade_count as f64, Count),
            (
                "kpi.closed_trades",
                "Closed trades",
                m.trade_count as f64,
                Count,
            ),
            ("kpi.exposure", "Exposure", m.exposure, Percent),
            ("kpi.value_at_risk", &var_label, m.value_at_risk, Percent),
            (
                "kpi.initial_cash",
                "Initial cash",
                run.initial_cash,
                Currency,
            ),
            (
                "kpi.final_equity",
                "Final equity",
                run.final_equity,
                Currency,
            ),
            ("period.bars", "Bars", run.bars as f64, Bars),
        ];
        for (id, label, value, unit) in kpis {
            sheet.push(id, label, value, unit);
        }
        sheet.push_trades(trades);
        for (i, d) in sheet.drawdowns.clone().iter().enumerate() {
            let n = i + 1;
            sheet.push(
                &format!("drawdown.{n}.depth"),
                &format!("Drawdown {n} depth"),
                d.depth,
                Percent,
            );
            sheet.push(
                &format!("drawdown.{n}.bars"),
                &format!("Drawdown {n} length"),
                d.bars as f64,
                Bars,
            );
            sheet.dates.insert(format!("drawdown.{n}.start"), d.start);
            sheet.dates.insert(format!("drawdown.{n}.trough"), d.trough);
            if let Some(end) = d.end {
                sheet.dates.insert(format!("drawdown.{n}.end"), end);
            }
        }
        let b = &benchmark.metrics;
        sheet.push(
            "benchmark.total_return",
            "Buy and hold total return",
            b.total_return,
            Percent,
        );
        sheet.push("benchmark.cagr", "Buy and hold CAGR", b.cagr, Percent);
        sheet.push(
            "benchmark.sharpe",
            "Buy and hold Sharpe ratio",
            b.sharpe,
            Ratio,
        );
        sheet.push(
            "benchmark.max_drawdown",
            "Buy and hold maximum drawdown",
            b.max_drawdown,
            Percent,
        );
        let excess = m.total_return - b.total_return;
        sheet.push(
            "benchmark.excess_return",
            "Total return minus buy and hold",
            excess,
            Percent,
        );
        // What Sharpe and Sortino are measured against.
        if run.risk_free.series != "none" {
            // The series id is in the label so that its digits (`3month`) may be quoted.
            let label = format!(
                "Risk-free rate {} (mean annual yield over the run)",
                run.risk_free.series
            );
            sheet.push(
                "kpi.risk_free_rate",
                &label,
                run.risk_free.mean_annual_pct / 100.0,
                Percent,
            );
        }
        sheet = sheet.with_extra(
            "risk_free",
            serde_json::json!({
                "series": run.risk_free.series,
                "reason": run.risk_free.reason,
            }),
        );
        let unadjusted = run.manifest.inputs["unadjusted_symbols"]
            .as_array()
            .map_or(0, Vec::len);
        if unadjusted > 0 {
            sheet.push(
                "data.unadjusted_symbols",
                "Symbols without adjustment data (prices as traded)",
                unadjusted as f64,
                Count,
            );
            let moves = run.manifest.inputs["split_like_moves"]
                .as_array()
                .map_or(0, Vec::len);
            sheet.push(
                "data.split_like_moves",
                "Split-like price moves of those symbols in the period (flagged at ingest, kept)",
                moves as f64,
                Count,
            );
        }
        if let Some(rel) = &run.relative {
            let f = |v: Option<f64>| v.unwrap_or(f64::NAN);
            sheet.push(
                "benchmark.beta",
                "Beta to the equal-weight universe",
                f(rel.beta),
                Ratio,
            );
            sheet.push(
                "benchmark.alpha",
                "Annualised alpha over the equal-weight universe",
                f(rel.alpha),
                Percent,
            );
            sheet.push(
                "benchmark.tracking_error",
                "Tracking error to the equal-weight universe",
                f(rel.tracking_error),
                Percent,
            );
            sheet.push(
                "benchmark.information_ratio",
                "Information ratio over the equal-weight universe",
                f(rel.information_ratio),
                Ratio,
            );
        }
        sheet.comparisons = vec![
            compare("total_return", m.total_return, b.total_return),
            compare("sharpe", m.sharpe, b.sharpe),
            compare("max_drawdown", m.max_drawdown, b.max_drawdown),
        ];
        // What the run did not see: bars of its range held by the data-quality checks. The
        // count is always stated (0 included), the first ten by date.
        let excluded = &run.manifest.excluded;
        sheet.push(
            "data.excluded_bars",
            "Bars held by the data-quality checks",
            excluded.len() as f64,
            Count,
        );
        for (i, h) in excluded.iter().take(10).enumerate() {
            sheet
                .dates
                .insert(format!("excluded.{}", i + 1), h.ts.date());
        }
        if let Some(d) = sheet.start {
            sheet.dates.insert("period.start".into(), d);
        }
        if let Some(d) = sheet.end {
            sheet.dates.insert("period.end".into(), d);
        }
        sheet
    }

    /// Adds regime or signal metadata (numbers in it become quotable).
    pub fn with_extra(mut self, key: &str, value: Value) -> FactSheet {
        self.extra.insert(key.into(), value);
        self
    }

    /// Trade summary from the closed trades: best, worst and average return, longest holding.
    fn push_trades(&mut self, trades: &[TradeRecord]) {
        let closed: Vec<&TradeRecord> = trades.iter().filter(|t| !t.open).collect();
        let open = trades.len() - closed.len();
        self.push(
            "trades.open",
            "Open positions at the end",
            open as f64,
            Unit::Count,
        );
        let rets: Vec<f64> = closed
            .iter()
            .map(|t| t.return_pct)
            .filter(|r| r.is_finite())
            .collect();
        if !rets.is_empty() {
            let best = rets.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let worst = rets.iter().copied().fold(f64::INFINITY, f64::min);
            let avg = rets.iter().sum::<f64>() / rets.len() as f64;
            self.push("trades.best", "Best trade return", best, Unit::Percent);
            self.push("trades.worst", "Worst trade return", worst, Unit::Percent);
            self.push("trades.average", "Average trade return", avg, Unit::Percent);
        }
        let longest = closed
            .iter()
            .filter_map(|t| Some((t.exit_ts? - t.entry_ts?).num_days()))
            .max();
        if let Some(days) = longest {
            self.push(
                "trades.longest_days",
                "Longest holding (calendar days)",
                days as f64,
                Unit::Days,
            );
        }
    }

    fn push(&mut self, id: &str, label: &str, value: f64, unit: Unit) {
        if value.is_finite() {
            self.facts.push(Fact {
                id: id.into(),
                label: label.into(),
                value,
                unit,
            });
        }
    }

    /// The fact with canonical id `id`, if it is finite.
    pub fn fact(&self, id: &str) -> Option<&Fact> {
        self.facts.iter().find(|f| f.id == id)
    }

    /// The comparison of `metric` with buy and hold.
    pub fn comparison(&self, metric: &str) -> Option<&Comparison> {
        self.comparisons.iter().find(|c| c.metric == metric)
    }

    /// Numbers quotable besides the facts: those in the parameters, in `extra` and in fact
    /// labels (so "95%" may be written next to a 95 % VaR).
    pub fn whitelisted_numbers(&self) -> Vec<f64> {
        let mut out = Vec::new();
        collect_json_numbers(&self.params, &mut out);
        for v in self.extra.values() {
            collect_json_numbers(v, &mut out);
        }
        for f in &self.facts {
            for tok in crate::numbers::scan(&f.label) {
                if let crate::numbers::Token::Number(n) = tok.token {
                    out.push(n.value);
                    if n.percent {
                        out.push(n.value / 100.0);
                    }
                }
            }
        }
        out
    }
}

fn collect_json_numbers(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Number(n) => out.extend(n.as_f64()),
        Value::Array(a) => a.iter().for_each(|x| collect_json_numbers(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_json_numbers(x, out)),
        _ => {}
    }
}
