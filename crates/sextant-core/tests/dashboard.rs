//! The dashboard overview on the real stores: portfolio KPIs agree with the portfolio service,
//! recent backtests come newest first with their stored metrics, data freshness reflects the
//! bundled sample, and jobs are counted by status.

use serde_json::json;
use sextant_core::backtest::BacktestRequest;
use sextant_core::dashboard::JOBS;
use sextant_core::portfolios::{NewTransaction, TransactionKind};

use crate::common;
use common::{d, services};

fn deposit(date: &str, amount: f64) -> NewTransaction {
    NewTransaction {
        kind: TransactionKind::Deposit,
        date: d(date),
        symbol: None,
        quantity: None,
        price: None,
        fee: None,
        amount: Some(amount),
        note: None,
    }
}

fn buy(date: &str, symbol: &str, qty: f64, price: f64) -> NewTransaction {
    NewTransaction {
        kind: TransactionKind::Buy,
        date: d(date),
        symbol: Some(symbol.into()),
        quantity: Some(qty),
        price: Some(price),
        fee: None,
        amount: None,
        note: None,
    }
}

fn request(fast: u32) -> BacktestRequest {
    serde_json::from_value(json!({
        "strategy": "sma_cross",
        "params": {"fast": fast, "slow": 30},
        "symbols": ["MSFT"],
        "from": "2010-01-01",
        "to": "2012-12-31",
    }))
    .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_combines_portfolios_backtests_freshness_and_jobs() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let ps = &s.portfolios;

    let growth = ps.create("growth", 0.0, "alice").await.expect("p1");
    ps.add_transaction(&growth.id, &deposit("2012-06-01", 10_000.0))
        .await
        .expect("dep");
    ps.add_transaction(&growth.id, &buy("2012-06-01", "GOOG", 10.0, 570.0))
        .await
        .expect("buy");
    let income = ps.create("income", 5_000.0, "alice").await.expect("p2");
    ps.add_transaction(&income.id, &buy("2011-01-03", "IBM", 10.0, 147.0))
        .await
        .expect("buy");
    ps.create("other", 1.0, "bob").await.expect("p3");

    let older = s.backtests.run(&request(10)).await.expect("run 1");
    let newer = s.backtests.run(&request(5)).await.expect("run 2");

    for status in ["queued", "queued", "queued", "running", "running", "failed"] {
        s.meta
            .insert(JOBS, json!({"status": status, "kind": "ingest"}))
            .await
            .expect("job");
    }
    s.meta
        .insert(JOBS, json!({"kind": "legacy"}))
        .await
        .expect("job without status");

    let o = s.dashboard.overview("alice").await.expect("overview");

    // Portfolios: the same numbers as the portfolio service, newest first.
    assert_eq!(o.portfolios.len(), 2);
    assert_eq!(o.portfolios[0].id, income.id);
    let mut value = 0.0;
    let mut day_change = 0.0;
    for summary in &o.portfolios {
        let perf = ps
            .get_portfolio_performance(&summary.id, None, None)
            .await
            .expect("perf");
        let n = perf.series.len();
        let (last, prev) = (&perf.series[n - 1], &perf.series[n - 2]);
        assert_eq!(summary.as_of, Some(d("2013-03-01")));
        assert_eq!(summary.value, perf.end_value);
        assert_eq!(
            summary.day_change,
            Some(last.value - prev.value - last.net_flow)
        );
        assert_eq!(summary.day_change_pct, last.daily_return);
        assert_eq!(summary.total_return, Some(perf.kpis.total_return));
        // The card carries the same 10-session forecast as the performance report (the same
        // inputs give the same content-hashed forecast): a band around today's value and VaR.
        let f = summary.forecast.as_ref().expect("a forecast on the card");
        assert_eq!(Some(f), perf.forecast.as_ref());
        assert!(
            f.band_5_95[0] < perf.end_value && perf.end_value < f.band_5_95[1],
            "{f:?}"
        );
        assert_eq!(f.var.len(), 4);
        value += perf.end_value;
        day_change += last.value - prev.value - last.net_flow;
    }
    assert_eq!(o.totals.count, 2);
    assert!((o.totals.value - value).abs() < 1e-9);
    assert!((o.totals.day_change - day_change).abs() < 1e-9);
    // Money return: P&L over the 15,000 put in (10,000 deposited, 5,000 opening cash).
    assert!((o.totals.contributed - 15_000.0).abs() < 1e-9);
    let pnl = value - 15_000.0;
    assert!((o.totals.pnl - pnl).abs() < 1e-9);
    assert!((o.totals.total_return.expect("defined") - pnl / 15_000.0).abs() < 1e-12);

    // Backtests: newest first, with the stored metrics.
    let ids: Vec<&str> = o.recent_backtests.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, [newer.id.as_str(), older.id.as_str()]);
    let b = &o.recent_backtests[0];
    assert_eq!(b.strategy.as_deref(), Some("sma_cross"));
    assert_eq!(b.symbols, ["MSFT"]);
    assert_eq!(b.total_return, Some(newer.metrics.total_return));
    assert_eq!(b.sharpe, Some(newer.metrics.sharpe));
    assert!(b.created_at.is_some());

    // Freshness: the five bundled symbols, each up to its last sample bar.
    let symbols: Vec<&str> = o.data_freshness.iter().map(|f| f.symbol.as_str()).collect();
    assert_eq!(symbols, ["AAPL", "FB", "GOOG", "IBM", "MSFT"]);
    for f in &o.data_freshness {
        assert_eq!(f.last_bar.date(), d("2013-03-01"), "{}", f.symbol);
        assert_eq!(f.resolutions, ["daily"]);
        assert!(f.last_refreshed <= o.generated_at.naive_utc());
    }

    // Jobs by status; the one without a status counts in the total only.
    assert_eq!(o.jobs.total, 7);
    let counts: Vec<(&str, u64)> = o
        .jobs
        .by_status
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(counts, [("failed", 1), ("queued", 3), ("running", 2)]);

    // Serialises for the API.
    let wire = serde_json::to_value(&o).expect("json");
    assert_eq!(wire["jobs"]["by_status"]["queued"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_without_portfolios_gets_empty_totals() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let o = s.dashboard.overview("nobody").await.expect("overview");
    assert!(o.portfolios.is_empty());
    assert_eq!(
        (o.totals.count, o.totals.value, o.totals.total_return),
        (0, 0.0, None)
    );
    assert!(o.recent_backtests.is_empty());
    assert_eq!(o.jobs.total, 0);
    assert!(o.jobs.by_status.is_empty());
    assert_eq!(o.data_freshness.len(), 5);
}
