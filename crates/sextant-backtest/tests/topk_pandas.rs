//! `topk_dropout` against an independent pandas computation of the same portfolio
//! (`scripts/golden/make_topk_golden.py`) on real data: 248 Philippine Stock Exchange stocks,
//! 2016–2018 (`scripts/realdata/fetch-universe`), with names listing, halting and delisting
//! mid-period. Every fill (bar, name, side, quantity, price, commission), the holdings after
//! every order, and the equity and cash of every bar must agree.
//!
//! The CSV is fetched by `scripts/test` (which sets `SEXTANT_REQUIRE_REALDATA=1`, so a missing
//! file fails here instead of skipping).

use serde_json::{json, Value};
use sextant_backtest::simulator::{
    BarSeries, Costs, MarketData, ShareRounding, Side, SimConfig, TradingSimulator,
};
use sextant_backtest::strategy::build_strategy;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn csv_path() -> Option<PathBuf> {
    let dir = std::env::var_os("SEXTANT_REALDATA")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/sextant/realdata"))
        })?;
    let f = dir.join("fastquant_pse.csv");
    if f.is_file() {
        Some(f)
    } else if std::env::var("SEXTANT_REQUIRE_REALDATA").as_deref() == Ok("1") {
        panic!(
            "{} missing: run scripts/realdata/fetch-universe",
            f.display()
        );
    } else {
        eprintln!("SKIPPED: universe not fetched (scripts/realdata/fetch-universe)");
        None
    }
}

fn ts(date: &str) -> i64 {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .expect("date")
        .and_hms_opt(0, 0, 0)
        .expect("time")
        .and_utc()
        .timestamp()
}

/// The golden's rows: dates in [from, to] with every price finite and positive, per ticker.
fn load(path: &PathBuf, from: &str, to: &str) -> Vec<BarSeries> {
    type Row = (i64, [f64; 4]);
    let mut by: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    let mut rd = csv::Reader::from_path(path).expect("csv");
    for rec in rd.records() {
        let rec = rec.expect("row");
        let date = &rec[1];
        if date < from || date > to {
            continue;
        }
        let px: Vec<f64> = (2..6)
            .map(|i| rec[i].parse::<f64>().unwrap_or(f64::NAN))
            .collect();
        if px.iter().any(|p| !(p.is_finite() && *p > 0.0)) {
            continue;
        }
        by.entry(rec[0].to_string())
            .or_default()
            .push((ts(date), [px[0], px[1], px[2], px[3]]));
    }
    by.into_iter()
        .map(|(sym, rows)| {
            let col = |k: usize| rows.iter().map(|r| r.1[k]).collect::<Vec<f64>>();
            BarSeries::new(
                sym,
                rows.iter().map(|r| r.0).collect(),
                col(0),
                col(1),
                col(2),
                col(3),
                vec![0.0; rows.len()],
            )
            .expect("bars")
        })
        .collect()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn topk_dropout_matches_an_independent_pandas_portfolio_on_real_data() {
    let Some(path) = csv_path() else { return };
    let g: Value = serde_json::from_str(include_str!("golden/topk_dropout.json")).expect("golden");
    let from = g["from"].as_str().expect("from");
    let to = g["to"].as_str().expect("to");
    let series = load(&path, from, to);
    let symbols: Vec<&str> = series.iter().map(|s| s.symbol()).collect();
    let want: Vec<&str> = g["symbols"]
        .as_array()
        .expect("symbols")
        .iter()
        .map(|s| s.as_str().expect("symbol"))
        .collect();
    assert_eq!(symbols, want, "same universe as the reference");
    let data = MarketData::new(series).expect("data");
    assert_eq!(data.len(), g["dates"].as_array().expect("dates").len());

    let c = &g["config"];
    let cfg = SimConfig {
        initial_cash: c["initial_cash"].as_f64().expect("cash"),
        costs: Costs {
            commission_pct: c["commission_pct"].as_f64().expect("pct"),
            commission_fixed: c["commission_fixed"].as_f64().expect("fixed"),
            slippage_bps: c["slippage_bps"].as_f64().expect("bps"),
        },
        shares: ShareRounding::Whole,
        ..SimConfig::default()
    };
    let params = json!({"signal": "momentum", "lookback": c["lookback"], "rebalance": "weekly",
                        "topk": c["topk"], "n_drop": c["n_drop"], "risk_degree": c["risk_degree"]});
    let mut strategy = build_strategy("topk_dropout", &params).expect("strategy");
    let r = TradingSimulator::new(cfg)
        .expect("config")
        .run(&data, strategy.as_mut());

    // Fills, in execution order.
    let fills = g["fills"].as_array().expect("fills");
    assert_eq!(r.fills.len(), fills.len(), "number of fills");
    for (i, (got, want)) in r.fills.iter().zip(fills).enumerate() {
        let side = match got.side {
            Side::Buy => "buy",
            Side::Sell => "sell",
        };
        let w = want.as_array().expect("fill");
        assert_eq!(got.bar as u64, w[0].as_u64().expect("bar"), "fill {i} bar");
        assert_eq!(
            got.symbol as u64,
            w[1].as_u64().expect("sym"),
            "fill {i} symbol"
        );
        assert_eq!(side, w[2].as_str().expect("side"), "fill {i} side");
        assert_eq!(got.qty, w[3].as_f64().expect("qty"), "fill {i} quantity");
        assert!(
            close(got.price, w[4].as_f64().expect("px"), 1e-12),
            "fill {i} price"
        );
        assert!(
            close(got.commission, w[5].as_f64().expect("fee"), 1e-9),
            "fill {i} fee"
        );
    }

    // Holdings after each order's fill bar.
    for h in g["holdings"].as_array().expect("holdings") {
        let h = h.as_array().expect("entry");
        let fill_bar = h[0].as_u64().expect("bar") as usize + 1;
        let mut qty = vec![0.0; data.symbols().len()];
        for f in r.fills.iter().filter(|f| f.bar <= fill_bar) {
            qty[f.symbol] += if f.side == Side::Buy { f.qty } else { -f.qty };
        }
        let held: Vec<u64> = (0..qty.len())
            .filter(|&s| qty[s] > 0.0)
            .map(|s| s as u64)
            .collect();
        let want: Vec<u64> = h[1]
            .as_array()
            .expect("names")
            .iter()
            .map(|v| v.as_u64().expect("index"))
            .collect();
        assert_eq!(held, want, "holdings after the order of bar {}", h[0]);
    }

    // Equity and cash on every bar.
    for (name, got) in [("equity", &r.equity), ("cash", &r.cash)] {
        let want = g[name].as_array().expect("series");
        assert_eq!(got.len(), want.len());
        for (t, (a, b)) in got.iter().zip(want).enumerate() {
            let b = b.as_f64().expect("value");
            assert!(close(*a, b, 1e-9), "{name}[{t}]: {a} vs pandas {b}");
        }
    }
    let s = &g["summary"];
    assert!(
        s["sells_skipped_no_open"].as_u64() > Some(0),
        "the data exercises skipped orders"
    );
}
