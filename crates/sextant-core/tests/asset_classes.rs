//! Beyond US equities: an FX file ingests on its own sessions, resamples to days that close at
//! 17:00 New York and backtests with the FX annualisation; the risk-free rate is the cached
//! 3-month Treasury yield (or zero, said so); raw prices plus fetched splits and dividends give
//! the same adjusted series as the vendor's adjusted close.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;
use sextant_core::backtest::BacktestRequest;
use sextant_data::cache::FileOptions;
use sextant_domain::{
    AssetClass, Bar, EconomicSeries, Observation, PriceBasis, Resolution, SeriesKey, SessionModel,
    Source, SplitEvent, Symbol,
};
use std::path::PathBuf;

use crate::common;
use common::services;

fn sym(s: &str) -> Symbol {
    Symbol::new(s).expect("symbol")
}

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("time")
}

fn d(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

/// The real hourly EUR/USD file (`scripts/realdata/fetch-fx`), or `None` when it was not fetched
/// (a failure under `SEXTANT_REQUIRE_REALDATA=1`, as `scripts/test` sets).
fn eurusd_file() -> Option<PathBuf> {
    let dir = std::env::var_os("SEXTANT_REALDATA")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/sextant/realdata"))
        })?;
    let f = dir.join("backtesting_eurusd.csv");
    if f.is_file() {
        Some(f)
    } else if std::env::var("SEXTANT_REQUIRE_REALDATA").as_deref() == Ok("1") {
        panic!("{} missing: run scripts/realdata/fetch-fx", f.display());
    } else {
        eprintln!(
            "SKIPPED: {} not fetched (scripts/realdata/fetch-fx)",
            f.display()
        );
        None
    }
}

fn request(v: serde_json::Value) -> BacktestRequest {
    serde_json::from_value(v).expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_eurusd_hours_ingest_whole_and_roll_at_the_new_york_close() {
    let Some(file) = eurusd_file() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let eurusd = sym("EURUSD");
    let opts = FileOptions {
        symbol: Some(eurusd.clone()),
        resolution: Some(Resolution::Min60),
        tz: "UTC".into(),
        timestamps_utc: true,
        asset: Some(AssetClass::Fx),
        ..FileOptions::default()
    };
    let summary = s.cache.ingest_file(&file, &opts).expect("ingest");
    // Every Sunday-evening session is kept: nothing held, nothing left out.
    assert_eq!(summary.rows_in, 5000);
    assert_eq!(summary.quarantined, 0, "{:?}", summary.quality);
    assert_eq!(summary.inserted, 5000);
    assert_eq!(summary.quality.by_check.get("non_trading_day"), None);
    // The two one-tick prints at Friday's 17:00 New York close (2017-10-06, 2017-10-20) are
    // reported at the session edge, and kept.
    assert_eq!(
        summary.quality.by_check.get("session_edge").copied(),
        Some(2),
        "{:?}",
        summary.quality.by_check
    );
    let inst = s.cache.instrument(&eurusd).expect("instrument");
    assert_eq!(inst.asset_class, AssetClass::Fx);
    assert_eq!(inst.session, SessionModel::Fx24x5);
    assert_eq!(
        (inst.base.as_deref(), inst.quote.as_deref()),
        (Some("EUR"), Some("USD"))
    );

    // Days close at 17:00 New York: Monday 2017-10-02 opens with the Sunday 21:00 UTC hour and
    // closes with the Monday 20:00 UTC hour (16:00-17:00 EDT).
    let hours = s
        .cache
        .bars(&eurusd, Resolution::Min60, None, None)
        .expect("hours");
    let hour = |ts: &str| {
        hours
            .iter()
            .find(|b| b.ts == t(ts))
            .unwrap_or_else(|| panic!("no bar at {ts}"))
            .clone()
    };
    s.cache
        .resample(&eurusd, Resolution::Min60, Resolution::Daily)
        .expect("resample");
    let days = s
        .cache
        .bars(&eurusd, Resolution::Daily, None, None)
        .expect("days");
    let day = |date: &str| {
        days.iter()
            .find(|b| b.ts.date() == d(date))
            .unwrap_or_else(|| panic!("no daily bar on {date}"))
            .clone()
    };
    let monday = day("2017-10-02");
    assert_eq!(monday.open, hour("2017-10-01 21:00:00").open);
    assert_eq!(monday.close, hour("2017-10-02 20:00:00").close);
    let window: Vec<&Bar> = hours
        .iter()
        .filter(|b| b.ts >= t("2017-10-01 21:00:00") && b.ts <= t("2017-10-02 20:00:00"))
        .collect();
    assert_eq!(window.len(), 24);
    let high = window.iter().map(|b| b.high).fold(f64::MIN, f64::max);
    assert_eq!(monday.high, high);
    // Winter: the week opens at 22:00 UTC (17:00 EST).
    assert_eq!(day("2017-12-04").open, hour("2017-12-03 22:00:00").open);
    // Friday's edge print is Friday's close; no Saturday or Sunday day exists.
    assert_eq!(day("2017-10-06").close, hour("2017-10-06 21:00:00").close);
    use chrono::Datelike;
    assert!(days
        .iter()
        .all(|b| !matches!(b.ts.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun)));

    // Backtests annualise with FX sessions: 24 x 260 hours, 260 days.
    let hourly = s
        .backtests
        .run(&request(json!({
            "strategy": "sma_cross", "symbols": ["EURUSD"], "resolution": "60min",
            "params": {"fast": 10, "slow": 50}, "prices": "raw", "risk_free": "none"
        })))
        .await
        .expect("hourly run");
    assert_eq!(hourly.metrics.periods_per_year, 6240.0);
    assert_eq!(hourly.manifest.session, Some(SessionModel::Fx24x5));
    assert_eq!(hourly.bars, 5000);
    assert!(hourly.manifest.excluded.is_empty());
    let daily = s
        .backtests
        .run(&request(json!({
            "strategy": "buy_and_hold", "symbols": ["EURUSD"], "prices": "raw"
        })))
        .await
        .expect("daily run");
    assert_eq!(daily.metrics.periods_per_year, 260.0);
    // Mixing FX with an equity has no single annualisation: a clear error, unless given.
    let mixed = s
        .backtests
        .run(&request(json!({
            "strategy": "buy_and_hold", "symbols": ["EURUSD", "AAPL"], "prices": "raw"
        })))
        .await;
    let err = mixed.expect_err("mixed sessions").to_string();
    assert!(err.contains("fx_24x5") && err.contains("xnys"), "{err}");
}

fn treasury(values: &[(&str, f64)]) -> EconomicSeries {
    EconomicSeries {
        key: SeriesKey::risk_free_default(),
        name: "3-Month Treasury Constant Maturity Rate".into(),
        unit: "percent".into(),
        observations: values
            .iter()
            .map(|(day, v)| Observation {
                date: d(day),
                value: Some(*v),
            })
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharpe_uses_the_cached_treasury_yield_by_default_and_says_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let req = request(json!({
        "strategy": "buy_and_hold", "symbols": ["MSFT"],
        "from": "2008-01-02", "to": "2008-12-31"
    }));
    let zero = s.backtests.run(&req).await.expect("run without a yield");
    assert_eq!(zero.risk_free.series, "none");
    assert!(
        zero.risk_free.reason.contains("no 3-month Treasury yield"),
        "{}",
        zero.risk_free.reason
    );
    assert!(zero.manifest.risk_free.is_none());

    // A yield of 3 % until mid-year, then 1 %; each value usable from the day after its date.
    let series = treasury(&[("2007-12-31", 3.0), ("2008-06-30", 1.0)]);
    s.cache.store_economic(&series, "test").expect("store");
    let with = s.backtests.run(&req).await.expect("run with a yield");
    assert_eq!(with.risk_free.series, "treasury_yield_3month_daily");
    assert!(with.risk_free.reason.starts_with("default"));
    assert_ne!(with.id, zero.id, "the rate is part of what the run used");
    assert_eq!(with.metrics.total_return, zero.metrics.total_return);

    // The Sharpe ratio is the empyrical one on r - rf_t, rf_t the yield available at the bar.
    let curve = s.backtests.equity_curve(&with.id).expect("curve");
    let mut prev = with.initial_cash;
    let mut excess = Vec::new();
    for p in &curve {
        let r = p.equity / prev - 1.0;
        prev = p.equity;
        let y = if p.ts.date() > d("2008-06-30") {
            1.0
        } else {
            3.0
        };
        excess.push(r - ((1.0 + y / 100.0f64).powf(1.0 / 252.0) - 1.0));
    }
    let want = sextant_backtest::metrics::sharpe_ratio(&excess, 0.0, 252.0);
    assert!(
        (with.metrics.sharpe - want).abs() < 1e-12,
        "{} vs {want}",
        with.metrics.sharpe
    );
    assert!(with.metrics.sharpe < zero.metrics.sharpe);
    let mean = with.risk_free.mean_annual_pct;
    assert!(mean > 1.0 && mean < 3.0, "{mean}");
    // The narrative says what Sharpe is measured against, and passes its own fact check.
    let report = s
        .reports
        .report(&with.id)
        .await
        .expect("report")
        .expect("stored run");
    assert!(report.validation.ok, "{:?}", report.validation.violations);
    assert!(
        report
            .markdown
            .contains("against the risk-free rate treasury_yield_3month_daily"),
        "{}",
        report.markdown
    );
    let zero_report = s
        .reports
        .report(&zero.id)
        .await
        .expect("report")
        .expect("run");
    assert!(zero_report
        .markdown
        .contains("against a zero risk-free rate"));
    // Asked for zero, the run is the zero-rate run.
    let mut none = req.clone();
    none.risk_free = "none".to_string().try_into().expect("none");
    let asked = s.backtests.run(&none).await.expect("run at zero");
    assert_eq!(asked.metrics.sharpe, zero.metrics.sharpe);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_prices_plus_fetched_splits_adjust_like_the_vendor() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let aapl = sym("AAPL");
    let raw = sym("AAPLRAW");
    // The bundled AAPL history as an unadjusted endpoint delivers it: prints only.
    let vendor = s
        .cache
        .bars(&aapl, Resolution::Daily, None, None)
        .expect("bars");
    let prints: Vec<Bar> = vendor
        .iter()
        .map(|b| Bar {
            symbol: raw.clone(),
            adj_close: None,
            dividend: 0.0,
            split_coefficient: 1.0,
            source: Source::File,
            ..b.clone()
        })
        .collect();
    s.cache
        .ingest_bars(&prints, Source::File, "raw prints")
        .expect("ingest");
    assert!(!s
        .cache
        .adjustment_known(&raw, Resolution::Daily)
        .expect("known"));
    // Alpha Vantage's SPLITS for AAPL inside the sample (2000-2013), and its dividends.
    let splits = [
        SplitEvent {
            effective_date: d("2000-06-21"),
            factor: 2.0,
        },
        SplitEvent {
            effective_date: d("2005-02-28"),
            factor: 2.0,
        },
    ];
    s.cache
        .store_splits(&raw, &splits, "test SPLITS")
        .expect("splits");
    s.cache
        .store_dividends(&raw, &[], "test DIVIDENDS")
        .expect("dividends");
    assert!(s
        .cache
        .adjustment_known(&raw, Resolution::Daily)
        .expect("known"));
    let split_adj = s
        .cache
        .bars_on(
            &raw,
            Resolution::Daily,
            Some(d("2005-01-03")),
            Some(d("2005-04-29")),
            PriceBasis::SplitAdjusted,
        )
        .expect("adjusted");
    let vendor_adj = s
        .cache
        .bars_on(
            &aapl,
            Resolution::Daily,
            Some(d("2005-01-03")),
            Some(d("2005-04-29")),
            PriceBasis::SplitAdjusted,
        )
        .expect("vendor adjusted");
    assert_eq!(split_adj.len(), vendor_adj.len());
    // Across the 2:1 split of 2005-02-28 the split-adjusted closes move as the vendor's do.
    let ratio = |v: &[Bar], a: &str, b: &str| {
        let c = |x: &str| {
            v.iter()
                .find(|bar| bar.ts.date() == d(x))
                .expect("bar")
                .close
        };
        c(b) / c(a)
    };
    let ours = ratio(&split_adj, "2005-02-25", "2005-02-28");
    let theirs = ratio(&vendor_adj, "2005-02-25", "2005-02-28");
    let printed = ratio(&prints, "2005-02-25", "2005-02-28");
    assert!(printed < 0.55, "the print halves: {printed}");
    assert!((ours - theirs).abs() < 1e-9, "{ours} vs {theirs}");
    assert!(ours > 0.95, "no -50 % day: {ours}");
}
