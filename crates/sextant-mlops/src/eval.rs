//! The evaluation harness's vocabulary: the named historical windows, what one window's replay
//! reports (each arm beside its baselines, with significance), and the report as one HTML page.
//!
//! The replay itself (running the backtests, scoring models) is `sextant-core`'s; everything
//! here is data and pure rendering, so the page is tested without a server.

use crate::harness::{BootstrapDifference, PsrReport, RandomEntryTest};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// A replay window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// `dotcom`, `gfc`… or the user's name for a custom window.
    pub name: String,
    /// First day (inclusive).
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// What happened, for a named window.
    pub about: Option<String>,
}

/// The named windows: crises a strategy should be seen through. Each runs only where the
/// user's data covers it (the bundled sample, 2000-03..2013-03, covers the first four).
pub const NAMED_WINDOWS: [(&str, &str, &str, &str); 8] = [
    (
        "dotcom",
        "2000-03-10",
        "2002-10-09",
        "dot-com bust: Nasdaq peak to the 2002 low",
    ),
    (
        "gfc",
        "2008-09-01",
        "2009-03-31",
        "global financial crisis: Lehman to the March 2009 low",
    ),
    (
        "flash_crash",
        "2010-04-23",
        "2010-05-21",
        "the 6 May 2010 flash crash and its month",
    ),
    (
        "us_downgrade",
        "2011-07-22",
        "2011-08-31",
        "US debt-ceiling crisis and S&P downgrade",
    ),
    (
        "china_deval",
        "2015-08-10",
        "2015-09-04",
        "yuan devaluation sell-off",
    ),
    (
        "volmageddon",
        "2018-01-26",
        "2018-02-16",
        "the February 2018 volatility spike",
    ),
    ("covid", "2020-02-19", "2020-04-07", "COVID-19 crash"),
    (
        "bear_2022",
        "2022-01-03",
        "2022-10-12",
        "the 2022 rate-hike bear market",
    ),
];

/// The named window `name`, if there is one.
pub fn named_window(name: &str) -> Option<Window> {
    NAMED_WINDOWS
        .iter()
        .find(|w| w.0 == name)
        .and_then(|&(n, f, t, about)| {
            Some(Window {
                name: n.to_string(),
                from: NaiveDate::parse_from_str(f, "%Y-%m-%d").ok()?,
                to: NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?,
                about: Some(about.to_string()),
            })
        })
}

/// One arm of a window's replay: the strategy or one of its baselines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    /// `strategy`, `buy_and_hold` or `untuned` (the same rule with its schema defaults).
    pub arm: String,
    /// The strategy and parameters it ran.
    pub label: String,
    /// The stored backtest.
    pub run_id: Option<String>,
    /// Compounded return over the window (none when the arm did not run).
    pub total_return: Option<f64>,
    /// Annualised Sharpe ratio of per-bar returns, zero risk-free rate (none when undefined:
    /// flat equity, or the arm did not run).
    pub sharpe: Option<f64>,
    /// Largest peak-to-trough fall of equity, as a positive fraction.
    pub max_drawdown: Option<f64>,
    /// Trades.
    pub trades: usize,
    /// The probabilistic Sharpe ratio against 0 and against buy & hold's Sharpe ratio (none
    /// when undefined, e.g. flat equity).
    pub psr: Option<PsrReport>,
    /// Paired bootstrap of this arm's per-bar returns minus buy & hold's.
    pub vs_buy_and_hold: Option<BootstrapDifference>,
    /// Equity normalised to 1 at the window's first bar, one point per bar.
    pub equity: Vec<(NaiveDate, f64)>,
    /// Why the arm could not run, if it could not.
    pub error: Option<String>,
}

/// The mean absolute SHAP contribution of one feature over a window's rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShapSummary {
    /// Feature.
    pub feature: String,
    /// Mean |contribution| in log-odds.
    pub mean_abs: f64,
}

/// The smallest single-feature change that flips a model's signal on one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counterfactual {
    /// The row's symbol.
    pub symbol: String,
    /// The row's day.
    pub day: NaiveDate,
    /// The model's probability on the row.
    pub probability: f64,
    /// The feature changed.
    pub feature: String,
    /// Its value on the row.
    pub value: f64,
    /// The value that flips the signal (a percentile of the training rows).
    pub flipped_value: f64,
    /// The change in training standard deviations.
    pub change_sd: f64,
    /// The probability after the change.
    pub flipped_probability: f64,
}

/// A model's explanation over a window (for strategies that trade a model's signal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The model.
    pub model_id: String,
    /// The signal threshold flips are measured against.
    pub threshold: f64,
    /// Rows explained (at most 2,000, evenly spaced).
    pub rows: usize,
    /// Features by mean |SHAP|, largest first.
    pub shap: Vec<ShapSummary>,
    /// Counterfactuals of evenly spaced rows (rows no single change flips are left out and
    /// counted in `unflippable`).
    pub counterfactuals: Vec<Counterfactual>,
    /// Rows examined for a counterfactual that no single-feature change flips.
    pub unflippable: usize,
}

/// One window's replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowResult {
    /// The window.
    pub window: Window,
    /// Why it was not replayed (the data does not cover it), if it was not.
    pub skipped: Option<String>,
    /// Bars in the window.
    pub bars: usize,
    /// The strategy and its baselines.
    pub arms: Vec<Arm>,
    /// The random-entry baseline: the strategy's trades, same count, holding times and
    /// exposure, at random times.
    pub random_entries: Option<RandomEntryTest>,
    /// Why there is no random-entry baseline, if there is none.
    pub random_entries_note: Option<String>,
    /// SHAP summary and counterfactuals, for model-driven strategies.
    pub explanation: Option<Explanation>,
    /// Why a model-driven strategy has no explanation, if it has none.
    pub explanation_note: Option<String>,
}

/// A whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// `evl_` + 20 hex digits.
    #[serde(rename = "_id")]
    pub id: String,
    /// The strategy request replayed (its `from`/`to` replaced per window).
    pub request: serde_json::Value,
    /// Seed of the random entries and the bootstraps.
    pub seed: u64,
    /// Random-entry simulations per window.
    pub simulations: usize,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Per window, in the order asked.
    pub windows: Vec<WindowResult>,
    /// The data snapshot read.
    pub data_snapshot: String,
    /// The code that ran.
    pub code_version: String,
    /// Who ran it.
    pub owner: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The tracked run holding the artifacts (report, SHAP, counterfactuals).
    pub tracked_run: Option<String>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.1} %", 100.0 * x)
    } else {
        "–".into()
    }
}

fn num(x: Option<f64>, digits: usize) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "–".into(),
    }
}

const COLOURS: [&str; 4] = ["#1f77b4", "#7f7f7f", "#ff7f0e", "#2ca02c"];

/// An SVG line chart of the arms' equity (log scale not needed over crisis windows).
fn chart(arms: &[Arm]) -> String {
    let (w, h, pad) = (720.0, 240.0, 36.0);
    let series: Vec<&Arm> = arms.iter().filter(|a| a.equity.len() > 1).collect();
    let n = series.iter().map(|a| a.equity.len()).max().unwrap_or(0);
    if n < 2 {
        return String::new();
    }
    let values = series.iter().flat_map(|a| a.equity.iter().map(|p| p.1));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    let span = (hi - lo).max(1e-9);
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / (n - 1) as f64;
    let y = |v: f64| h - pad - (h - 2.0 * pad) * (v - lo) / span;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" \
         aria-label=\"equity of each arm\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
    );
    let one = y(1.0);
    let _ = write!(
        s,
        "<line x1=\"{pad}\" x2=\"{}\" y1=\"{one:.1}\" y2=\"{one:.1}\" stroke=\"#ccc\" \
         stroke-dasharray=\"4 3\"/>",
        w - pad
    );
    let _ = write!(
        s,
        "<text x=\"4\" y=\"{:.1}\" font-size=\"10\">{hi:.2}</text><text x=\"4\" y=\"{:.1}\" \
         font-size=\"10\">{lo:.2}</text>",
        pad,
        h - pad
    );
    for (k, a) in series.iter().enumerate() {
        let pts: Vec<String> = a
            .equity
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.1)))
            .collect();
        let c = COLOURS[k % COLOURS.len()];
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\" points=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{c}\">{}</text>",
            pts.join(" "),
            pad + 120.0 * k as f64,
            14,
            esc(&a.arm)
        );
    }
    if let (Some(f), Some(l)) = (series[0].equity.first(), series[0].equity.last()) {
        let _ = write!(
            s,
            "<text x=\"{pad}\" y=\"{}\" font-size=\"10\">{}</text><text x=\"{}\" y=\"{}\" \
             font-size=\"10\" text-anchor=\"end\">{}</text>",
            h - 8.0,
            f.0,
            w - pad,
            h - 8.0,
            l.0
        );
    }
    s.push_str("</svg>");
    s
}

fn arm_row(a: &Arm) -> String {
    if let Some(e) = &a.error {
        return format!(
            "<tr><td>{}</td><td>{}</td><td colspan=\"8\">not run: {}</td></tr>",
            esc(&a.arm),
            esc(&a.label),
            esc(e)
        );
    }
    let psr = a.psr.as_ref();
    let b = a.vs_buy_and_hold.as_ref();
    format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td><td>{}</td></tr>",
        esc(&a.arm),
        esc(&a.label),
        a.total_return.map_or("–".into(), pct),
        num(a.sharpe, 2),
        a.max_drawdown.map_or("–".into(), |d| pct(-d)),
        a.trades,
        num(psr.map(|p| p.psr_zero), 3),
        num(psr.and_then(|p| p.psr_benchmark), 3),
        b.map_or("–".into(), |b| format!(
            "{:+.2} [{:+.2}, {:+.2}]",
            b.sharpe_diff, b.sharpe_diff_ci[0], b.sharpe_diff_ci[1]
        )),
        b.map_or("–".into(), |b| format!(
            "{:.2}",
            b.share_sharpe_not_better
        )),
    )
}

/// The report as one self-contained HTML page (inline SVG, no script, no external file).
pub fn render_html(r: &EvalReport) -> String {
    let mut s = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sextant \
         evaluation</title><style>body{font:14px system-ui,sans-serif;margin:24px;max-width:\
         960px}table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;\
         padding:3px 6px;text-align:right}td:first-child,td:nth-child(2),th{text-align:left}\
         .note{color:#555}</style></head><body>",
    );
    let req = serde_json::to_string(&r.request).unwrap_or_default();
    let _ = write!(
        s,
        "<h1>Evaluation {}</h1><p class=\"note\">Request <code>{}</code>; data snapshot \
         <code>{}</code>; code {}; seed {}; {} random-entry simulations and {} bootstrap \
         resamples per window; created {} by {}.</p>",
        esc(&r.id),
        esc(&req),
        esc(&r.data_snapshot),
        esc(&r.code_version),
        r.seed,
        r.simulations,
        r.resamples,
        r.created_at.format("%Y-%m-%d %H:%M UTC"),
        esc(&r.owner)
    );
    for w in &r.windows {
        let _ = write!(
            s,
            "<h2>{} ({} to {})</h2>",
            esc(&w.window.name),
            w.window.from,
            w.window.to
        );
        if let Some(about) = &w.window.about {
            let _ = write!(s, "<p class=\"note\">{}</p>", esc(about));
        }
        if let Some(why) = &w.skipped {
            let _ = write!(s, "<p><strong>Skipped:</strong> {}</p>", esc(why));
            continue;
        }
        s.push_str(&chart(&w.arms));
        s.push_str(
            "<table><tr><th>arm</th><th>rule</th><th>return</th><th>Sharpe</th><th>max DD</th>\
             <th>trades</th><th>PSR(0)</th><th>PSR(B&amp;H)</th><th>ΔSharpe vs B&amp;H [95 %]</th>\
             <th>P(not better)</th></tr>",
        );
        for a in &w.arms {
            s.push_str(&arm_row(a));
        }
        s.push_str("</table>");
        match (&w.random_entries, &w.random_entries_note) {
            (Some(t), _) => {
                let _ = write!(
                    s,
                    "<p>Random entries ({} simulations, the strategy's trade count, holding \
                     times and exposure): strategy {} on its exposure, random median {} \
                     [5 %: {}, 95 %: {}]; p = {:.3}.</p>",
                    t.simulations,
                    pct(t.strategy_total),
                    pct(t.median),
                    pct(t.p05),
                    pct(t.p95),
                    t.p_value
                );
            }
            (None, Some(note)) => {
                let _ = write!(
                    s,
                    "<p class=\"note\">No random-entry baseline: {}</p>",
                    esc(note)
                );
            }
            (None, None) => {}
        }
        if let Some(note) = &w.explanation_note {
            let _ = write!(s, "<p class=\"note\">No explanation: {}</p>", esc(note));
        }
        if let Some(e) = &w.explanation {
            let _ = write!(
                s,
                "<h3>Model {} on {} rows (threshold {:.2})</h3><table><tr><th>feature</th>\
                 <th>mean |SHAP|</th></tr>",
                esc(&e.model_id),
                e.rows,
                e.threshold
            );
            for f in e.shap.iter().take(10) {
                let _ = write!(
                    s,
                    "<tr><td>{}</td><td>{:.4}</td></tr>",
                    esc(&f.feature),
                    f.mean_abs
                );
            }
            s.push_str(
                "</table><table><tr><th>day</th><th>symbol</th><th>p</th><th>feature</th>\
                        <th>value → flip</th><th>Δ (sd)</th><th>p after</th></tr>",
            );
            for c in e.counterfactuals.iter().take(10) {
                let _ = write!(
                    s,
                    "<tr><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td><td>{:.4} → {:.4}</td>\
                     <td>{:+.2}</td><td>{:.3}</td></tr>",
                    c.day,
                    esc(&c.symbol),
                    c.probability,
                    esc(&c.feature),
                    c.value,
                    c.flipped_value,
                    c.change_sd,
                    c.flipped_probability
                );
            }
            let _ = write!(
                s,
                "</table><p class=\"note\">{} examined rows have no single-feature flip.</p>",
                e.unflippable
            );
        }
    }
    s.push_str("</body></html>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn named_windows_parse_and_are_ordered() {
        for (n, ..) in NAMED_WINDOWS {
            let w = named_window(n).expect("window");
            assert!(w.from < w.to, "{n}");
        }
        assert_eq!(named_window("gfc").expect("gfc").to, d("2009-03-31"));
        assert!(named_window("nope").is_none());
    }

    #[test]
    fn the_page_escapes_and_shows_every_window() {
        let arm = Arm {
            arm: "strategy".into(),
            label: "sma_cross <fast=5>".into(),
            run_id: Some("r".into()),
            total_return: Some(-0.12),
            sharpe: Some(-0.5),
            max_drawdown: Some(0.3),
            trades: 4,
            psr: None,
            vs_buy_and_hold: None,
            equity: vec![(d("2008-09-02"), 1.0), (d("2008-09-03"), 0.97)],
            error: None,
        };
        let r = EvalReport {
            id: "evl_1".into(),
            request: serde_json::json!({"strategy": "sma_cross"}),
            seed: 1,
            simulations: 10,
            resamples: 10,
            windows: vec![
                WindowResult {
                    window: named_window("gfc").expect("gfc"),
                    skipped: None,
                    bars: 2,
                    arms: vec![arm],
                    random_entries: None,
                    random_entries_note: Some("no trades".into()),
                    explanation: None,
                    explanation_note: None,
                },
                WindowResult {
                    window: named_window("covid").expect("covid"),
                    skipped: Some("no data after 2013-03-01".into()),
                    bars: 0,
                    arms: vec![],
                    random_entries: None,
                    random_entries_note: None,
                    explanation: None,
                    explanation_note: None,
                },
            ],
            data_snapshot: "abc".into(),
            code_version: "v".into(),
            owner: "o".into(),
            created_at: Utc::now(),
            tracked_run: None,
        };
        let html = render_html(&r);
        assert!(html.contains("sma_cross &lt;fast=5&gt;"));
        assert!(!html.contains("<fast=5>"));
        assert!(html.contains("<svg") && html.contains("<polyline"));
        assert!(html.contains("Skipped:</strong> no data after 2013-03-01"));
        assert!(html.contains("−12.0 %") || html.contains("-12.0 %"));
        assert!(!html.contains("<script"));
    }
}
