//! The backtest service end to end on the bundled data: content-addressed ids, bit-identical
//! reruns, persistence in both stores, and walk-forward without look-ahead.

use chrono::NaiveDate;
use serde_json::json;
use sextant_core::backtest::{
    execute, walk_forward, BacktestRequest, BacktestService, WalkForwardSpec,
};
use sextant_domain::Symbol;

use crate::common;
use common::services;

fn request(symbol: &str) -> BacktestRequest {
    serde_json::from_value(json!({
        "strategy": "sma_cross",
        "params": {"fast": 10, "slow": 20},
        "symbols": [symbol],
        "from": "2004-01-01",
        "to": "2012-12-31",
        "sim": {"initial_cash": 10000.0, "costs": {"commission_pct": 0.002, "commission_fixed": 0.0, "slippage_bps": 0.0}}
    }))
    .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_config_same_id_bit_identical_results() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let req = request("MSFT");
    let a = s.backtests.run(&req).await.expect("run a");
    let b = s.backtests.run(&req).await.expect("run b");
    assert_eq!(a.id, b.id);
    assert_eq!(
        serde_json::to_string(&a.metrics).ok(),
        serde_json::to_string(&b.metrics).ok()
    );
    assert_eq!(a.final_equity.to_bits(), b.final_equity.to_bits());
    assert!(a.trade_count > 10, "an SMA cross over 9 years trades");

    let stored = s.backtests.get(&a.id).await.expect("get").expect("stored");
    assert_eq!(stored.final_equity.to_bits(), a.final_equity.to_bits());
    assert_eq!(stored.manifest, a.manifest);
    let trades = s.backtests.trades(&a.id).await.expect("trades");
    assert_eq!(trades.len(), a.trade_count);
    let curve = s.backtests.equity_curve(&a.id).expect("curve");
    assert_eq!(curve.len(), a.bars);
    assert_eq!(
        curve.last().map(|p| p.equity.to_bits()),
        Some(a.final_equity.to_bits())
    );

    // A different parameter, period or symbol is a different run.
    let mut other = req.clone();
    other.params = json!({"fast": 10, "slow": 30});
    assert_ne!(s.backtests.run(&other).await.expect("run").id, a.id);
    // Every run records the data snapshot it read.
    assert_eq!(a.manifest.data_snapshot.len(), 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_symbol_and_bad_params_are_typed_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let mut req = request("ZZZZ");
    let err = s.backtests.run(&req).await.expect_err("unknown symbol");
    assert!(err.to_string().contains("ZZZZ"), "{err}");
    req.symbols = vec![Symbol::new("MSFT").expect("sym")];
    req.params = json!({"fast": -3});
    let err = s.backtests.run(&req).await.expect_err("bad params");
    assert!(err.to_string().contains("fast"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walk_forward_is_out_of_sample_and_causal() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let mut req = request("AAPL");
    req.from = NaiveDate::from_ymd_opt(2001, 1, 1);
    let spec = WalkForwardSpec {
        train_bars: 504,
        test_bars: 126,
        anchored: false,
        candidates: vec![
            json!({"fast": 5, "slow": 20}),
            json!({"fast": 10, "slow": 50}),
            json!({"fast": 20, "slow": 100}),
        ],
    };
    let data = BacktestService::load(s.cache.as_ref(), &req).expect("load");
    let full = walk_forward(&req, &spec, &data).expect("wf");
    assert!(full.windows.len() >= 10);
    assert_eq!(
        full.oos_equity.len(),
        data.market.len() - spec.train_bars,
        "every bar after the first training window is out of sample exactly once"
    );
    for w in &full.windows {
        assert_eq!(w.train_end - w.train_start, spec.train_bars);
    }
    // Truncation: cut the data after the 6th test window; the first 6 windows must not change.
    let cut = full.windows[5].test_end;
    let mut short = req.clone();
    let ts = data.market.ts()[cut - 1];
    short.to = chrono::DateTime::from_timestamp(ts, 0).map(|d| d.date_naive());
    let data_short = BacktestService::load(s.cache.as_ref(), &short).expect("load");
    assert_eq!(data_short.market.len(), cut);
    let part = walk_forward(&short, &spec, &data_short).expect("wf");
    assert_eq!(part.windows[..6], full.windows[..6]);
    let n = cut - spec.train_bars;
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&part.oos_equity[..n]), bits(&full.oos_equity[..n]));
    // And a plain run on the same data agrees with the service's run.
    let (run, _, _) = execute(&req, &data).expect("execute");
    assert!(run.final_equity.is_finite());
}

/// The run id of a fixed request on the bundled sample is pinned: the manifest's JSON is what
/// is hashed, so a change in any of its field names, enum spellings or the data snapshot would
/// silently give every stored run a new id. A deliberate change updates this value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_id_of_a_fixed_request_is_pinned() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let run = s.backtests.run(&request("MSFT")).await.expect("run");
    assert_eq!(run.id, "bt_c3c25faae7e8e75f8ccaed34", "run id changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walk_forward_of_a_definition_equals_the_library_strategy() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let spec = WalkForwardSpec {
        train_bars: 504,
        test_bars: 126,
        anchored: false,
        candidates: vec![
            json!({"fast": 5, "slow": 20}),
            json!({"fast": 10, "slow": 50}),
            json!({"fast": 20, "slow": 100, "allow_short": true}),
        ],
    };
    let builtin = request("AAPL");
    // The same strategy written in the rule language: candidates name only parameter values,
    // the definition comes from the request.
    let defs = sextant_backtest::rules::library_definitions();
    let (_, sma) = defs
        .iter()
        .find(|(n, _)| *n == "sma_cross")
        .expect("sma_cross");
    let mut rules = builtin.clone();
    rules.strategy = "rules".into();
    rules.params = json!({"definition": sma});
    let data = BacktestService::load(s.cache.as_ref(), &builtin).expect("load");
    let a = walk_forward(&builtin, &spec, &data).expect("library");
    let b = walk_forward(&rules, &spec, &data).expect("definition");
    assert!(a.windows.len() >= 8);
    let chosen = |r: &sextant_core::backtest::WalkForwardReport| -> Vec<String> {
        r.windows
            .iter()
            .map(|w| w.chosen_params.to_string())
            .collect()
    };
    assert_eq!(chosen(&a), chosen(&b));
    assert_eq!(
        a.oos_equity, b.oos_equity,
        "out-of-sample equity bit for bit"
    );
}
