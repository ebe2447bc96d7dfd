//! The grounded template: a narrative built only from the fact sheet.
//!
//! It is the fallback when an LLM answer fails validation and the reference the validators are
//! tested against, so it follows the validators' rules by construction: every number comes from
//! a fact with one rounding per unit (percent and ratios with 2 decimals, counts as integers,
//! currency with thousands separators), every date is a sheet date (YYYY-MM-DD), and every
//! comparison word is chosen from the sheet's [`Comparison`](crate::comparison::Comparison)s.

use crate::comparison::Side;
use crate::facts::{FactSheet, Unit};
use serde_json::Value;
use std::fmt::Write;

/// A fact formatted for its unit, or "n/a" when it is missing (non-finite).
pub fn format_fact(sheet: &FactSheet, id: &str) -> String {
    match sheet.fact(id) {
        Some(f) => format_value(f.value, f.unit),
        None => "n/a".into(),
    }
}

/// The template's rounding per unit.
pub fn format_value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Percent => format!("{:.2}%", v * 100.0),
        Unit::Ratio => format!("{v:.2}"),
        Unit::Count | Unit::Days | Unit::Bars => format!("{}", v.round() as i64),
        Unit::Currency => currency(v),
    }
}

/// `$13,028.18`.
fn currency(v: f64) -> String {
    let s = format!("{:.2}", v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 { "-" } else { "" };
    format!("{sign}${grouped}.{frac}")
}

fn params_text(params: &Value) -> String {
    match params.as_object() {
        Some(o) if !o.is_empty() => {
            let kv: Vec<String> = o.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("parameters {}", kv.join(", "))
        }
        _ => "its default parameters".into(),
    }
}

fn date(sheet: &FactSheet, id: &str) -> String {
    sheet.dates.get(id).map_or("an unknown date".into(), |d| {
        d.format("%Y-%m-%d").to_string()
    })
}

/// Renders the five-section markdown narrative.
pub fn render_template(sheet: &FactSheet) -> String {
    let f = |id: &str| format_fact(sheet, id);
    let mut s = String::new();
    let name = sheet.strategy.replace('_', " ");
    let _ = writeln!(s, "## Summary\n");
    let _ = writeln!(
        s,
        "The {name} strategy was backtested on {} from {} to {} ({} bars) with {}.",
        sheet.symbols.join(", "),
        date(sheet, "period.start"),
        date(sheet, "period.end"),
        f("period.bars"),
        params_text(&sheet.params)
    );
    let total = sheet.fact("kpi.total_return").map(|x| x.value);
    let sign = match total {
        Some(t) if t > 0.0 => format!("The strategy gained {} in total.", f("kpi.total_return")),
        Some(t) if t < 0.0 => format!(
            "The strategy lost {} in total.",
            format_value(-t, Unit::Percent)
        ),
        Some(_) => "The strategy ended flat.".to_string(),
        None => "The total return is not available.".to_string(),
    };
    let _ = writeln!(s, "{sign}");
    let basis = match sheet.prices.as_str() {
        "raw" => "raw traded prices (splits and dividends not adjusted)",
        "split_adjusted" => "split-adjusted prices (dividends not reinvested)",
        _ => "total-return prices (adjusted for splits and dividends)",
    };
    match sheet.fact("data.unadjusted_symbols").map(|x| x.value) {
        Some(n) if n > 0.0 && sheet.prices != "raw" => {
            let _ = writeln!(
                s,
                "Both the strategy and buy and hold were valued on {basis}, except for {} symbol(s) whose cached data carries no adjustment (no adjusted close, split or dividend): their prices are as traded, so a split shows as a price move.",
                f("data.unadjusted_symbols")
            );
            if sheet
                .fact("data.split_like_moves")
                .is_some_and(|m| m.value > 0.0)
            {
                let _ = writeln!(
                    s,
                    "The checks flagged {} split-like price move(s) of those symbols in the period; each counts in the results as a return.",
                    f("data.split_like_moves")
                );
            }
        }
        _ => {
            let _ = writeln!(
                s,
                "Both the strategy and buy and hold were valued on {basis}."
            );
        }
    }
    match sheet.fact("data.excluded_bars").map(|x| x.value) {
        Some(n) if n > 0.0 => {
            let _ = writeln!(
                s,
                "The data-quality checks held {} bar(s) of the period out of the data (the first on {}), so the results do not include them.",
                f("data.excluded_bars"),
                date(sheet, "excluded.1")
            );
        }
        _ => {}
    }
    if let Some(c) = sheet.comparison("total_return") {
        let verb = match c.higher {
            Side::Strategy => Some("outperformed"),
            Side::Benchmark => Some("underperformed"),
            Side::Equal => Some("matched"),
            Side::Unknown => None,
        };
        if let Some(verb) = verb {
            let _ = writeln!(
                s,
                "Over the same period the strategy {verb} buy and hold on total return ({} versus {}).",
                f("kpi.total_return"),
                f("benchmark.total_return")
            );
        }
    }
    let _ = writeln!(s, "\n## Performance\n");
    for (label, id) in [
        ("Total return", "kpi.total_return"),
        ("CAGR", "kpi.cagr"),
        ("Sharpe ratio", "kpi.sharpe"),
        ("Sortino ratio", "kpi.sortino"),
        ("Calmar ratio", "kpi.calmar"),
    ] {
        let _ = writeln!(s, "- {label}: {}", f(id));
    }
    let _ = writeln!(
        s,
        "- Final equity: {} from initial cash of {}",
        f("kpi.final_equity"),
        f("kpi.initial_cash")
    );
    let series = sheet
        .extra
        .get("risk_free")
        .and_then(|r| r["series"].as_str());
    match (series, sheet.fact("kpi.risk_free_rate")) {
        (Some(series), Some(_)) if series != "none" => {
            let _ = writeln!(
                s,
                "\nSharpe and Sortino ratios are measured against the risk-free rate {series} (a mean of {} a year over the run).",
                f("kpi.risk_free_rate")
            );
        }
        _ => {
            let _ = writeln!(
                s,
                "\nSharpe and Sortino ratios are measured against a zero risk-free rate."
            );
        }
    }
    let _ = writeln!(
        s,
        "\nBuy and hold returned {} with a CAGR of {} and a Sharpe ratio of {}.",
        f("benchmark.total_return"),
        f("benchmark.cagr"),
        f("benchmark.sharpe")
    );
    let _ = writeln!(
        s,
        "The difference in total return is {} percentage points.",
        abs_pct(sheet, "benchmark.excess_return")
    );
    compare_line(
        &mut s,
        sheet,
        "sharpe",
        "Sharpe ratio",
        ("higher than", "lower than"),
        ("kpi.sharpe", "benchmark.sharpe"),
    );
    let _ = writeln!(s, "\n## Risk\n");
    let _ = writeln!(s, "- Maximum drawdown: {}", f("kpi.max_drawdown"));
    let _ = writeln!(
        s,
        "- Longest drawdown: {} bars",
        f("kpi.max_drawdown_duration")
    );
    let _ = writeln!(s, "- Annual volatility: {}", f("kpi.volatility"));
    if let Some(v) = sheet.fact("kpi.value_at_risk") {
        let _ = writeln!(s, "- {}: {}", v.label, format_value(v.value, v.unit));
    }
    compare_line(
        &mut s,
        sheet,
        "max_drawdown",
        "maximum drawdown",
        ("shallower than", "deeper than"),
        ("kpi.max_drawdown", "benchmark.max_drawdown"),
    );
    if !sheet.drawdowns.is_empty() {
        let _ = writeln!(s, "\nWorst drawdowns of the equity curve:\n");
    }
    for (i, d) in sheet.drawdowns.iter().enumerate() {
        let n = i + 1;
        let end = match d.end {
            Some(_) => format!("recovered on {}", date(sheet, &format!("drawdown.{n}.end"))),
            None => "not recovered by the end of the test".into(),
        };
        let _ = writeln!(
            s,
            "{n}. {} from {} to a trough on {}, {end} ({} bars)",
            f(&format!("drawdown.{n}.depth")),
            date(sheet, &format!("drawdown.{n}.start")),
            date(sheet, &format!("drawdown.{n}.trough")),
            f(&format!("drawdown.{n}.bars"))
        );
    }
    render_trades(&mut s, sheet);
    render_regimes(&mut s, sheet);
    let _ = writeln!(s, "\n## Caveats\n");
    let _ = writeln!(s, "- The results come from a historical simulation; past performance is no indication of future results.");
    let _ = writeln!(
        s,
        "- Costs, slippage and fills follow the simulator settings of the run."
    );
    let _ = writeln!(
        s,
        "- This text describes a backtest and is not a recommendation to trade."
    );
    s
}

fn abs_pct(sheet: &FactSheet, id: &str) -> String {
    sheet
        .fact(id)
        .map_or("n/a".into(), |x| format!("{:.2}", x.value.abs() * 100.0))
}

/// "The strategy's {label} ({a}) was {word} buy and hold's ({b})." with the word from the facts.
fn compare_line(
    s: &mut String,
    sheet: &FactSheet,
    metric: &str,
    label: &str,
    words: (&str, &str),
    ids: (&str, &str),
) {
    let Some(c) = sheet.comparison(metric) else {
        return;
    };
    let word = match c.higher {
        Side::Strategy => words.0,
        Side::Benchmark => words.1,
        Side::Equal => "equal to",
        Side::Unknown => return,
    };
    let _ = writeln!(
        s,
        "The strategy's {label} ({}) was {word} buy and hold's ({}).",
        format_fact(sheet, ids.0),
        format_fact(sheet, ids.1)
    );
}

/// The run in each market regime, when the sheet carries regime context (`extra.regime`).
fn render_regimes(s: &mut String, sheet: &FactSheet) {
    let Some(r) = sheet.extra.get("regime") else {
        return;
    };
    let Some(by) = r.get("by_regime").and_then(Value::as_array) else {
        return;
    };
    let model = r.get("model").and_then(Value::as_str).unwrap_or("?");
    let _ = writeln!(s, "\n## Market regimes\n");
    let _ = writeln!(
        s,
        "Regimes of model {model}, fitted walk-forward and labelled by the forward filter (no label uses a later day):\n"
    );
    for x in by {
        let num = |k: &str| x.get(k).and_then(Value::as_f64);
        let sharpe = num("sharpe").map_or("n/a".into(), |v| format!("{v:.2}"));
        let _ = writeln!(
            s,
            "- {}: {} days, return {}%, volatility {}%, Sharpe {sharpe}",
            x.get("regime").and_then(Value::as_str).unwrap_or("?"),
            num("days").map_or("n/a".into(), |v| format!("{v:.0}")),
            num("return_pct").map_or("n/a".into(), |v| format!("{v:.1}")),
            num("volatility_pct").map_or("n/a".into(), |v| format!("{v:.1}")),
        );
    }
    if let Some(end) = r.get("regime_at_end").and_then(Value::as_str) {
        let _ = writeln!(s, "- Regime at the end of the test: {end}");
    }
}

fn render_trades(s: &mut String, sheet: &FactSheet) {
    let f = |id: &str| format_fact(sheet, id);
    let _ = writeln!(s, "\n## Trades\n");
    let _ = writeln!(
        s,
        "- Trades: {} ({} still open at the end)",
        f("kpi.trade_count"),
        f("trades.open")
    );
    let _ = writeln!(s, "- Win rate: {}", f("kpi.win_rate"));
    let _ = writeln!(s, "- Profit factor: {}", f("kpi.profit_factor"));
    let _ = writeln!(s, "- Exposure: {}", f("kpi.exposure"));
    if sheet.fact("trades.best").is_some() {
        let _ = writeln!(s, "- Best trade: {}", f("trades.best"));
        let _ = writeln!(s, "- Worst trade: {}", f("trades.worst"));
        let _ = writeln!(s, "- Average trade: {}", f("trades.average"));
    } else {
        let _ = writeln!(s, "- No trade was closed.");
    }
    if sheet.fact("trades.longest_days").is_some() {
        let _ = writeln!(
            s,
            "- Longest holding: {} calendar days",
            f("trades.longest_days")
        );
    }
}
