//! The inference engine on the bundled real prices: a forecast sees nothing after its origin
//! (a store cut at the origin gives the same numbers bit for bit), volatility clustering shows
//! in the 2008 crash, forecasts are stored with their quantiles under a content id, portfolios
//! and backtest equity are forecast from their value at the origin, walk-forward calibration
//! scores every model beside the baselines, and bad requests are typed errors.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;
use sextant_core::forecasts::spec::MIN_PATHS;
use sextant_core::forecasts::{
    CalibrationRequest, ForecastReport, ForecastRequest, ForecastServiceError, TargetKind,
};
use sextant_core::portfolios::{NewTransaction, TransactionKind};
use sextant_core::regimes::RegimeSpec;
use sextant_core::Services;
use sextant_data::cache::FileOptions;
use sextant_domain::{Bar, PriceBasis, Resolution, Source, Symbol};
use sextant_forecasts::{ForecastError, ModelKind, QUANTILES};
use sextant_test_support::{d, request, services, services_with, sym};
use std::path::{Path, PathBuf};
use strum::IntoEnumIterator;

/// `sextant_core::forecasts::engine::MAX_CELLS` (paths × max(horizon, 10)); the constant is
/// not exported (`engine` is a private module), so it is mirrored here.
const MAX_CELLS: usize = 10_000_000;

fn json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("serialise")
}

/// A request for `model` with a small number of paths; everything else default.
fn small(
    model: impl Into<Option<ModelKind>>,
    horizon: usize,
    as_of: Option<NaiveDate>,
) -> ForecastRequest {
    ForecastRequest {
        model: model.into(),
        horizon,
        paths: 1_000,
        as_of,
        ..ForecastRequest::default()
    }
}

/// What a forecast call returned, short enough for a panic message.
fn outcome(r: &Result<ForecastReport, ForecastServiceError>) -> String {
    match r {
        Ok(f) => format!("a forecast ({})", f.forecast_id),
        Err(e) => format!("{e:?}"),
    }
}

/// The bundled sample's rows of `tickers` dated on or before `cut`, copied verbatim (every
/// column read as text, so the prices parse to the same doubles as the sample's), in the
/// sample's long format `Ticker,Date,Open,High,Low,Close,Volume,Adj Close`.
fn truncated_sample(dir: &Path, tickers: &[&str], cut: &str) -> PathBuf {
    let gz = sextant_test_support::sample_file(dir);
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    let list = tickers
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT \"Ticker\", \"Date\", \"Open\", \"High\", \"Low\", \"Close\", \"Volume\", \"Adj Close\" \
         FROM read_csv('{}', header = true, all_varchar = true) \
         WHERE \"Ticker\" IN ({list}) AND \"Date\" <= '{cut}' ORDER BY \"Ticker\", \"Date\"",
        gz.display()
    );
    let mut stmt = conn.prepare(&sql).expect("prepare");
    let rows = stmt
        .query_map([], |r| {
            (0..8usize)
                .map(|i| r.get::<_, String>(i))
                .collect::<duckdb::Result<Vec<String>>>()
                .map(|cols| cols.join(","))
        })
        .expect("query")
        .collect::<duckdb::Result<Vec<String>>>()
        .expect("rows");
    assert!(rows.len() > 4_000, "{} rows up to {cut}", rows.len());
    let mut text = String::from("Ticker,Date,Open,High,Low,Close,Volume,Adj Close\n");
    for r in rows {
        text.push_str(&r);
        text.push('\n');
    }
    let out = dir.join("truncated.csv");
    std::fs::write(&out, text).expect("write the truncated sample");
    out
}

/// Where two bar lists first differ (timestamp or close bits), if they do.
fn first_difference(a: &[Bar], b: &[Bar]) -> Option<String> {
    if let Some((i, (x, y))) = a
        .iter()
        .zip(b)
        .enumerate()
        .find(|(_, (x, y))| x.ts != y.ts || x.close.to_bits() != y.close.to_bits())
    {
        return Some(format!(
            "bar {i}: {} close {} vs {} close {}",
            x.ts, x.close, y.ts, y.close
        ));
    }
    (a.len() != b.len()).then(|| format!("{} bars vs {}", a.len(), b.len()))
}

fn last_bar_day(s: &Services, symbol: &Symbol) -> Option<NaiveDate> {
    s.cache
        .bars(symbol, Resolution::Daily, None, None)
        .expect("bars")
        .last()
        .map(|b| b.ts.date())
}

/// The raw close of `symbol` on `day` (which must be a session in the cache).
fn raw_close(s: &Services, symbol: &Symbol, day: NaiveDate) -> f64 {
    let bars = s
        .cache
        .bars(symbol, Resolution::Daily, Some(day), Some(day))
        .expect("bars");
    assert_eq!(bars.len(), 1, "{symbol} has one bar on {day}");
    bars[0].close
}

fn buy(date: &str, symbol: &str, qty: f64, price: f64) -> NewTransaction {
    NewTransaction {
        kind: TransactionKind::Buy,
        date: d(date),
        symbol: Some(symbol.to_string()),
        quantity: Some(qty),
        price: Some(price),
        fee: Some(0.0),
        amount: None,
        note: None,
    }
}

fn width(f: &ForecastReport, day: usize) -> f64 {
    let q = &f.fan[day - 1].quantiles;
    q[7] - q[1]
}

fn risk(f: &ForecastReport, days: usize, level: f64) -> f64 {
    f.var
        .iter()
        .find(|l| l.days == days && (l.level - level).abs() < 1e-12)
        .unwrap_or_else(|| panic!("a {days}-day {level} VaR line in {:?}", f.var))
        .var
}

/// The checks every report must pass: a fan per day whose nine quantiles ascend (strictly
/// when `strict`), the mean inside them, four VaR lines consistent with each other.
fn check_shape(f: &ForecastReport, strict: bool) {
    let what = format!("{} {} from {}", f.target, f.model, f.history.last);
    assert_eq!(f.fan.len(), f.horizon, "{what}");
    assert_eq!(f.quantile_levels, QUANTILES.to_vec(), "{what}");
    for (i, p) in f.fan.iter().enumerate() {
        assert_eq!(p.day, i + 1, "{what}");
        assert_eq!(p.quantiles.len(), 9, "{what}");
        assert!(
            p.quantiles.iter().all(|q| q.is_finite() && *q > 0.0),
            "{what}: {p:?}"
        );
        assert!(
            p.quantiles
                .windows(2)
                .all(|w| if strict { w[0] < w[1] } else { w[0] <= w[1] }),
            "{what}: quantiles of day {} do not ascend: {:?}",
            p.day,
            p.quantiles
        );
        assert!(
            p.quantiles[0] <= p.mean && p.mean <= p.quantiles[8],
            "{what}: {p:?}"
        );
    }
    let last = f.fan.last().expect("a fan");
    assert_eq!(
        f.band_5_95,
        [last.quantiles[1], last.quantiles[7]],
        "{what}"
    );
    assert_eq!(f.var.len(), 4, "{what}: {:?}", f.var);
    for l in &f.var {
        assert!(l.cvar >= l.var, "{what}: {l:?}");
        let scale = f.start_value.abs().max(1.0);
        assert!(
            (l.var_value - l.var * f.start_value).abs() <= 1e-9 * scale,
            "{what}: {l:?}"
        );
        assert!(
            (l.cvar_value - l.cvar * f.start_value).abs() <= 1e-9 * scale,
            "{what}: {l:?}"
        );
    }
    for days in [1, 10] {
        assert!(
            risk(f, days, 0.99) > risk(f, days, 0.95),
            "{what}: {:?}",
            f.var
        );
    }
    assert!(risk(f, 10, 0.95) > risk(f, 1, 0.95), "{what}: {:?}", f.var);
    assert!((0.0..=1.0).contains(&f.probability_of_loss), "{what}");
    assert_eq!(f.shortfall_path.len(), f.horizon, "{what}");
    assert_eq!(
        f.recent_values.last().copied(),
        Some(f.start_value),
        "{what}"
    );
}

/// The truncation test: the full sample forecast as of 2010-06-30 and a store holding only
/// the sample's AAPL and IBM rows up to 2010-06-30 forecast as of its last session give the
/// same report, bit for bit, for every model. If the future leaked into a forecast (bars read
/// past `as_of`, adjustment factors or holdings taken from later data), the two would differ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forecast_sees_nothing_after_its_origin() {
    let cut = d("2010-06-30");
    let aapl = sym("AAPL");
    let full = services().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let file = truncated_sample(tmp.path(), &["AAPL", "IBM"], "2010-06-30");
    let cut_only = services_with(|c| c.load_sample = false).await;
    // The options the bundled sample is loaded with (`Cache::ingest_sample`).
    let opts = FileOptions {
        resolution: Some(Resolution::Daily),
        source: Source::Sample,
        ..FileOptions::default()
    };
    cut_only
        .market_data
        .ingest_file(&file, &opts)
        .expect("ingest the truncated sample");
    let symbols: Vec<String> = cut_only
        .market_data
        .symbols()
        .expect("symbols")
        .into_iter()
        .map(|s| s.symbol)
        .collect();
    assert_eq!(
        symbols,
        ["AAPL", "IBM"],
        "only the truncated rows were loaded"
    );
    assert_eq!(last_bar_day(&cut_only, &aapl), Some(cut));
    assert!(
        last_bar_day(&full, &aapl) > Some(cut),
        "the full store goes on after the cut (else the test proves nothing)"
    );
    // The stores themselves agree up to the cut; a difference here is in the data layer (a bar
    // held by the quality checks in one store only, or adjustment factors that move with later
    // bars), not in the engine.
    for basis in [PriceBasis::Raw, PriceBasis::TotalReturn] {
        let a = full
            .cache
            .bars_on(&aapl, Resolution::Daily, None, Some(cut), basis)
            .expect("bars");
        let b = cut_only
            .cache
            .bars_on(&aapl, Resolution::Daily, None, None, basis)
            .expect("bars");
        if let Some(diff) = first_difference(&a, &b) {
            panic!("AAPL {basis} bars up to {cut} differ between the stores: {diff}");
        }
    }

    // Every model that needs no regime labels (the regime model's labels are a stored fit of
    // their own, checked point in time by the regime tests).
    let models: Vec<ModelKind> = ModelKind::iter()
        .filter(|m| *m != ModelKind::Regime)
        .collect();
    for m in [
        ModelKind::Fhs,
        ModelKind::Garch,
        ModelKind::Bootstrap,
        ModelKind::Historical,
        ModelKind::Naive,
    ] {
        assert!(models.contains(&m), "{m} is a model");
    }
    for model in models {
        let a = full
            .forecasts
            .forecast_symbol(&aapl, &small(model, 10, Some(cut)))
            .await
            .unwrap_or_else(|e| panic!("{model} on the full store as of {cut}: {e}"));
        let b = cut_only
            .forecasts
            .forecast_symbol(&aapl, &small(model, 10, None))
            .await
            .unwrap_or_else(|e| panic!("{model} on the truncated store: {e}"));
        assert_eq!(
            a.history.last, cut,
            "{model}: the origin of the full store's forecast"
        );
        assert_eq!(
            b.history.last, cut,
            "{model}: the origin of the truncated store's"
        );
        assert_eq!(a.model, model);
        check_shape(&a, false);
        for (part, x, y) in [
            ("fan", json(&a.fan), json(&b.fan)),
            ("var", json(&a.var), json(&b.var)),
            ("fit", json(&a.fit), json(&b.fit)),
            ("history", json(&a.history), json(&b.history)),
            ("baselines", json(&a.baselines), json(&b.baselines)),
            ("start_value", json(&a.start_value), json(&b.start_value)),
        ] {
            assert_eq!(
                x, y,
                "{model}: `{part}` changed when the bars after {cut} were removed"
            );
        }
        // The id hashes the target, the model settings and the history snapshot, not how the
        // origin was named (an explicit `as_of` or the last session): the same inputs, the
        // same id.
        assert_eq!(a.forecast_id, b.forecast_id, "{model}");
        assert_eq!(json(&a), json(&b), "{model}: the whole report");
    }

    // And the test can tell origins apart: one session earlier is another forecast.
    let at_cut = full
        .forecasts
        .forecast_symbol(&aapl, &small(ModelKind::Fhs, 10, Some(cut)))
        .await
        .expect("at the cut");
    let before = full
        .forecasts
        .forecast_symbol(&aapl, &small(ModelKind::Fhs, 10, Some(d("2010-06-29"))))
        .await
        .expect("a session earlier");
    assert_eq!(before.history.last, d("2010-06-29"));
    assert_eq!(before.history.days + 1, at_cut.history.days);
    assert_ne!(before.history.snapshot, at_cut.history.snapshot);
    assert_ne!(before.forecast_id, at_cut.forecast_id);
    assert_ne!(before.start_value, at_cut.start_value);
    assert_ne!(json(&before.fan), json(&at_cut.fan));
    assert_ne!(json(&before.fit), json(&at_cut.fit));
}

/// A 20-session filtered-historical-simulation forecast of one share from `as_of`.
async fn fhs_20_days(s: &Services, symbol: &Symbol, as_of: NaiveDate) -> ForecastReport {
    let req = ForecastRequest {
        horizon: 20,
        paths: 2_000,
        as_of: Some(as_of),
        ..ForecastRequest::default()
    };
    s.forecasts
        .forecast_symbol(symbol, &req)
        .await
        .unwrap_or_else(|e| panic!("{symbol} as of {as_of}: {e}"))
}

/// Real-world sanity on the bundled prices: the filtered historical simulation's VaR is far
/// larger in the October 2008 crash than in a calm 2006 (volatility clustering), the fan
/// widens with the horizon, dates follow the NYSE calendar, both baselines are reported and
/// the value at the origin is the raw close a holder saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volatility_clusters_and_fans_widen_on_real_prices() {
    let s = services().await;
    let aapl = sym("AAPL");
    let crash = fhs_20_days(&s, &aapl, d("2008-10-10")).await;
    let calm = fhs_20_days(&s, &aapl, d("2006-06-30")).await;

    for (f, origin, first_two) in [
        (&crash, "2008-10-10", ["2008-10-13", "2008-10-14"]),
        // 2006-07-04 is Independence Day.
        (&calm, "2006-06-30", ["2006-07-03", "2006-07-05"]),
    ] {
        assert_eq!(f.history.last, d(origin));
        // The default model of a symbol: FHS with GJR-GARCH filters.
        assert_eq!(f.model, ModelKind::FhsGjr);
        assert_eq!(f.target_kind, TargetKind::Symbol);
        assert_eq!(f.target, "AAPL");
        assert_eq!(f.assets, ["AAPL"]);
        assert_eq!(f.cash, 0.0);
        assert_eq!(f.history.excluded_days, 0);
        assert_eq!(
            f.start_value,
            raw_close(&s, &aapl, d(origin)),
            "one share is worth the raw close of the origin"
        );
        assert_eq!(
            [f.fan[0].date, f.fan[1].date],
            [Some(d(first_two[0])), Some(d(first_two[1]))],
            "fan dates are the next NYSE sessions after {origin}"
        );
        check_shape(f, true);
        // The fan widens with the horizon.
        let w: Vec<f64> = [1, 5, 10, 20].iter().map(|&day| width(f, day)).collect();
        assert!(
            w.windows(2).all(|p| p[0] < p[1]),
            "{origin}: 5-95 widths {w:?}"
        );
        // The fit is a persistent GARCH with fat tails, as equity returns have.
        assert_eq!(f.fit.garch.len(), 1);
        let g = f.fit.garch[0];
        assert!(
            g.persistence() > 0.8 && g.persistence() < 1.0 && g.nu > 2.0,
            "{origin}: {g:?}"
        );
        // Both baselines are reported beside the model.
        let baselines: Vec<ModelKind> = f.baselines.iter().map(|b| b.model).collect();
        assert_eq!(baselines, [ModelKind::Naive, ModelKind::Historical]);
        for b in &f.baselines {
            assert!(b.band_5_95[0] < b.band_5_95[1], "{origin}: {b:?}");
            assert_eq!(b.var.len(), 4, "{origin}: {b:?}");
        }
    }
    let (v_crash, v_calm) = (risk(&crash, 1, 0.99), risk(&calm, 1, 0.99));
    assert!(
        v_crash > 1.5 * v_calm,
        "1-day 99 % VaR {v_crash:.4} on 2008-10-10 vs {v_calm:.4} on 2006-06-30: no clustering"
    );
    // Relative to the price, the crash's 10-day band is wider too.
    let rel = |f: &ForecastReport| width(f, 10) / f.start_value;
    assert!(rel(&crash) > 1.5 * rel(&calm));
}

/// A stored forecast reads back with its quantiles and provenance; the id is a content hash,
/// so the same request stores one record; `store = false` stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forecasts_are_stored_under_their_content_id() {
    let s = services().await;
    let aapl = sym("AAPL");
    let origin = d("2012-06-29");
    let req = ForecastRequest {
        horizon: 7,
        paths: 500,
        as_of: Some(origin),
        ..ForecastRequest::default()
    };
    let f = s
        .forecasts
        .forecast_symbol(&aapl, &req)
        .await
        .expect("forecast");
    assert!(f.stored);
    assert!(
        f.forecast_id.len() == 32 && f.forecast_id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{}",
        f.forecast_id
    );
    let (rec, quantiles) = s
        .cache
        .forecast(&f.forecast_id)
        .expect("read")
        .expect("the forecast is stored");
    assert_eq!(rec.id, f.forecast_id);
    assert_eq!(rec.target_kind, "symbol");
    assert_eq!(rec.target, "AAPL");
    assert_eq!(rec.model, "fhs_gjr");
    assert_eq!(rec.as_of, origin);
    assert_eq!((rec.horizon, rec.paths, rec.seed), (7, 500, 7));
    assert_eq!(rec.start_value, f.start_value);
    assert_eq!(rec.snapshot, f.history.snapshot);
    // The stored request names the model the default resolved to.
    let resolved = ForecastRequest {
        model: Some(ModelKind::FhsGjr),
        ..req.clone()
    };
    assert_eq!(rec.spec, serde_json::to_string(&resolved).expect("json"));
    assert_eq!(rec.fit, serde_json::to_string(&f.fit).expect("json"));
    let stored_risk: Value = serde_json::from_str(&rec.risk).expect("risk JSON");
    assert_eq!(
        stored_risk["var"].as_array().map(Vec::len),
        Some(4),
        "{stored_risk}"
    );
    assert_eq!(quantiles.len(), 9 * 7);
    for (i, q) in quantiles.iter().enumerate() {
        let (day, k) = (i / 9 + 1, i % 9);
        assert_eq!(q.day as usize, day, "row {i}");
        assert_eq!(q.quantile, QUANTILES[k], "row {i}");
        assert_eq!(q.value, f.fan[day - 1].quantiles[k], "row {i}");
    }
    // Through the engine too.
    let (again_rec, again_q) = s.forecasts.stored(&f.forecast_id).await.expect("stored");
    assert_eq!((again_rec, again_q), (rec, quantiles));

    // The same request again: the same id, the same numbers, still one record.
    let g = s
        .forecasts
        .forecast_symbol(&aapl, &req)
        .await
        .expect("again");
    assert_eq!(g.forecast_id, f.forecast_id);
    assert_eq!(json(&g.fan), json(&f.fan));
    let count = |id: &str| {
        s.cache
            .forecasts_of("symbol", "AAPL")
            .expect("list")
            .iter()
            .filter(|r| r.id == id)
            .count()
    };
    assert_eq!(count(&f.forecast_id), 1);

    // store = false: computed, not stored.
    let unstored = ForecastRequest {
        seed: 8,
        store: false,
        ..req.clone()
    };
    let u = s
        .forecasts
        .forecast_symbol(&aapl, &unstored)
        .await
        .expect("unstored");
    assert!(!u.stored);
    assert_ne!(u.forecast_id, f.forecast_id, "the seed is part of the id");
    assert!(s.cache.forecast(&u.forecast_id).expect("read").is_none());
    assert_eq!(count(&u.forecast_id), 0);
    assert!(matches!(
        s.forecasts.stored(&u.forecast_id).await,
        Err(ForecastServiceError::NotFound(_))
    ));

    // Listed newest origin first.
    let older = s
        .forecasts
        .forecast_symbol(
            &aapl,
            &ForecastRequest {
                as_of: Some(d("2011-06-30")),
                ..req.clone()
            },
        )
        .await
        .expect("older");
    let listed: Vec<(String, NaiveDate)> = s
        .cache
        .forecasts_of("symbol", "AAPL")
        .expect("list")
        .into_iter()
        .map(|r| (r.id, r.as_of))
        .collect();
    assert_eq!(
        listed,
        [
            (f.forecast_id.clone(), origin),
            (older.forecast_id.clone(), d("2011-06-30"))
        ]
    );
    assert!(s
        .cache
        .forecasts_of("symbol", "IBM")
        .expect("list")
        .is_empty());
}

/// A portfolio is forecast from its holdings and cash at the origin; its performance report
/// carries the 10-session band and VaR; a portfolio holding nothing cannot be forecast and
/// says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portfolios_are_forecast_from_their_holdings() {
    let s = services().await;
    let origin = d("2012-12-31");
    let p = s
        .portfolios
        .create("forecast", 50_000.0, "alice")
        .await
        .expect("create");
    for tx in [
        buy("2011-03-01", "AAPL", 40.0, 349.31),
        buy("2011-03-01", "MSFT", 400.0, 26.16),
    ] {
        s.portfolios.add_transaction(&p.id, &tx).await.expect("add");
    }
    let holdings = s
        .portfolios
        .holdings(&p.id, Some(origin))
        .await
        .expect("holdings");
    let f = s
        .forecasts
        .forecast_portfolio(&p.id, &small(ModelKind::Fhs, 10, Some(origin)))
        .await
        .expect("forecast");
    assert_eq!(f.target_kind, TargetKind::Portfolio);
    assert_eq!(f.target, p.id);
    let mut assets = f.assets.clone();
    assets.sort();
    assert_eq!(assets, ["AAPL", "MSFT"]);
    assert_eq!(f.history.last, origin);
    assert!(f.history.days > 2_000, "{:?}", f.history);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    assert!(
        close(f.start_value, holdings.total_value),
        "start value {} vs holdings {}",
        f.start_value,
        holdings.total_value
    );
    assert!(
        close(f.cash, holdings.cash),
        "{} vs {}",
        f.cash,
        holdings.cash
    );
    assert!(f.cash > 0.0, "the unspent cash is reported");
    // The positions at the origin's raw closes, plus the cash.
    let by_hand = holdings.cash
        + 40.0 * raw_close(&s, &sym("AAPL"), origin)
        + 400.0 * raw_close(&s, &sym("MSFT"), origin);
    assert!(
        close(f.start_value, by_hand),
        "{} vs {by_hand}",
        f.start_value
    );
    assert_eq!(f.fit.garch.len(), 2, "one GARCH per asset");
    check_shape(&f, true);
    assert!(f.band_5_95[0] < f.start_value && f.start_value < f.band_5_95[1]);

    let perf = s
        .portfolios
        .get_portfolio_performance(&p.id, None, Some(origin))
        .await
        .expect("performance");
    let pf = perf
        .forecast
        .as_ref()
        .unwrap_or_else(|| panic!("no forecast: {:?}", perf.forecast_note));
    assert!(perf.forecast_note.is_none());
    assert_eq!(pf.as_of, origin);
    assert_eq!(pf.horizon, 10);
    assert_eq!(pf.model, ModelKind::FhsGjr);
    assert!(pf.band_5_95[0] < pf.band_5_95[1], "{pf:?}");
    assert!(
        pf.band_5_95_next_day[0] < pf.band_5_95_next_day[1],
        "{pf:?}"
    );
    assert!(
        pf.band_5_95_next_day[1] - pf.band_5_95_next_day[0] < pf.band_5_95[1] - pf.band_5_95[0],
        "the next session's band is narrower than the tenth's: {pf:?}"
    );
    assert!(pf.band_5_95[0] < perf.end_value && perf.end_value < pf.band_5_95[1]);
    assert_eq!(pf.var.len(), 4, "{pf:?}");
    assert!(pf.var.iter().all(|l| l.var_value > 0.0), "{pf:?}");
    let (rec, _) = s
        .cache
        .forecast(&pf.forecast_id)
        .expect("read")
        .expect("the performance forecast is stored");
    assert_eq!((rec.target_kind.as_str(), rec.as_of), ("portfolio", origin));

    // Holding nothing: no forecast, a typed reason.
    let empty = s
        .portfolios
        .create("cash only", 1_000.0, "alice")
        .await
        .expect("create");
    let r = s
        .forecasts
        .forecast_portfolio(&empty.id, &small(ModelKind::Fhs, 10, None))
        .await;
    assert!(
        matches!(r, Err(ForecastServiceError::Invalid(_))),
        "{}",
        outcome(&r)
    );
    let perf = s
        .portfolios
        .get_portfolio_performance(&empty.id, None, None)
        .await
        .expect("performance of a cash-only portfolio");
    assert!(perf.forecast.is_none(), "{:?}", perf.forecast);
    assert!(
        perf.forecast_note.as_deref().is_some_and(|n| !n.is_empty()),
        "{:?}",
        perf.forecast_note
    );
}

/// A stored backtest's equity is forecast from its last point (or from the point on `as_of`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backtest_equity_is_forecast_from_its_last_point() {
    let s = services().await;
    let run = s
        .backtests
        .run(&request("sma_cross", &["MSFT"]))
        .await
        .expect("run and store");
    let curve = s.backtests.equity_curve(&run.id).expect("curve");
    let last = curve.last().expect("an equity curve");
    let f = s
        .forecasts
        .forecast_backtest(&run.id, &small(None, 10, None))
        .await
        .expect("forecast");
    // A strategy's equity is not a GARCH process: its default model is the bootstrap.
    assert_eq!(f.model, ModelKind::Bootstrap);
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);
    // FHS on the same equity may explode (flat stretches make the filter's variance tiny,
    // the first trade a shock of dozens of sigmas), but it never answers NaN, and it says so.
    let fhs = s
        .forecasts
        .forecast_backtest(&run.id, &small(ModelKind::Fhs, 10, None))
        .await
        .expect("fhs forecast");
    for p in &fhs.fan {
        assert!(p.quantiles.iter().all(|q| !q.is_nan()), "{p:?}");
    }
    let exploded = fhs
        .fan
        .iter()
        .any(|p| p.quantiles.iter().any(|q| !q.is_finite() || *q <= 0.0));
    assert!(
        !exploded || !fhs.warnings.is_empty(),
        "overflowed quantiles without a warning: {:?}",
        fhs.fan
    );
    assert_eq!(f.target_kind, TargetKind::Backtest);
    assert_eq!(f.target, run.id);
    assert_eq!(f.assets, std::slice::from_ref(&run.id));
    assert_eq!(f.start_value, last.equity);
    assert_eq!(f.start_value, run.final_equity);
    assert_eq!(f.cash, 0.0);
    assert_eq!(f.history.last, last.ts.date());
    assert_eq!(
        f.history.days,
        curve.len() - 1,
        "one return per pair of points"
    );
    check_shape(&f, false);
    assert_eq!(
        s.cache
            .forecasts_of("backtest", &run.id)
            .expect("list")
            .iter()
            .filter(|r| r.id == f.forecast_id)
            .count(),
        1
    );

    // From an earlier point of the curve.
    let mid = &curve[curve.len() - 250];
    let g = s
        .forecasts
        .forecast_backtest(&run.id, &small(ModelKind::Garch, 5, Some(mid.ts.date())))
        .await
        .expect("earlier forecast");
    assert_eq!(g.start_value, mid.equity);
    assert_eq!(g.history.last, mid.ts.date());
    assert_eq!(g.history.days, curve.len() - 250);

    let r = s
        .forecasts
        .forecast_backtest(
            "bt_000000000000000000000000",
            &small(ModelKind::Fhs, 10, None),
        )
        .await;
    assert!(
        matches!(r, Err(ForecastServiceError::NotFound(_))),
        "{}",
        outcome(&r)
    );
}

/// Walk-forward calibration of AAPL, IBM and their equal-weight portfolio lists the default
/// models (naive, historical, bootstrap, garch, fhs among them; baselines flagged) with
/// coverages that are shares; the regime model is listed with its reason without labels, and
/// scored once a regime model is fitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calibration_scores_every_model_beside_the_baselines() {
    let s = services().await;
    let (aapl, ibm) = (sym("AAPL"), sym("IBM"));
    let req = CalibrationRequest {
        horizons: vec![1, 10],
        paths: 500,
        step: 10,
        refit_every: 63,
        ..CalibrationRequest::default()
    };
    let reports = s
        .forecasts
        .calibrate_symbols(&[aapl.clone(), ibm.clone()], true, &req)
        .await
        .expect("calibrate");
    let targets: Vec<&str> = reports.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["AAPL", "IBM", "equal_weight(AAPL,IBM)"]);
    assert_eq!(reports[2].assets, ["AAPL", "IBM"]);
    // The default models are the evaluator's; they include both baselines and the three
    // models every forecast offers.
    let defaults = sextant_forecasts::EvalSpec::default().models;
    for m in [
        ModelKind::Naive,
        ModelKind::Historical,
        ModelKind::Bootstrap,
        ModelKind::Garch,
        ModelKind::Fhs,
    ] {
        assert!(defaults.contains(&m), "{m} is calibrated by default");
    }
    assert!(!defaults.contains(&ModelKind::Regime));
    for r in &reports {
        let t = &r.target;
        let models: Vec<ModelKind> = r.models.iter().map(|m| m.model).collect();
        assert_eq!(models, defaults, "{t}");
        assert!(r.origins > 200, "{t}: {} origins", r.origins);
        assert!(r.first_origin < r.last_origin, "{t}");
        assert_eq!(r.best.len(), 2, "{t}: {:?}", r.best);
        for m in &r.models {
            let what = format!("{t} {}", m.model);
            assert_eq!(m.baseline, m.model.is_baseline(), "{what}");
            assert!(m.error.is_none(), "{what}: {:?}", m.error);
            let hs: Vec<usize> = m.horizons.iter().map(|h| h.horizon).collect();
            assert_eq!(hs, [1, 10], "{what}");
            for h in &m.horizons {
                assert_eq!(h.forecasts, r.origins, "{what}");
                assert_eq!(h.bands.len(), 4, "{what}");
                for b in &h.bands {
                    for v in [b.coverage, b.below, b.above] {
                        assert!((0.0..=1.0).contains(&v), "{what} h{}: {b:?}", h.horizon);
                    }
                    assert!(
                        (b.coverage + b.below + b.above - 1.0).abs() < 1e-12,
                        "{what}: {b:?}"
                    );
                }
                assert!(h.crps > 0.0 && h.pinball > 0.0, "{what}: {h:?}");
                assert_eq!(h.var.len(), 2, "{what}");
                for v in &h.var {
                    assert!(v.breaches <= v.observations, "{what}: {v:?}");
                    assert!((0.0..=1.0).contains(&v.kupiec_p), "{what}: {v:?}");
                }
            }
            // On real prices every model's next-day 90 % band covers roughly what it claims.
            let b90 = m.horizons[0]
                .bands
                .iter()
                .find(|b| (b.level - 0.9).abs() < 1e-12)
                .expect("a 90 % band");
            assert!(
                (0.75..=0.99).contains(&b90.coverage),
                "{what}: 1-day 90 % band covered {:.3}",
                b90.coverage
            );
        }
    }

    // The regime model without labels: listed, with its reason.
    let only_regime = CalibrationRequest {
        models: vec![ModelKind::Regime],
        // The regime model's first label comes after its first fit (504 days of features,
        // which start after a 21-day volatility window): every origin must be labelled.
        min_history: 756,
        ..req.clone()
    };
    let r = s
        .forecasts
        .calibrate_symbols(std::slice::from_ref(&aapl), false, &only_regime)
        .await
        .expect("calibrate without labels");
    assert_eq!(r.len(), 1);
    let m = &r[0].models;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].model, ModelKind::Regime);
    assert!(!m[0].baseline);
    assert!(m[0].error.is_some(), "{:?}", m[0]);
    assert!(m[0].horizons.is_empty());

    // With a regime model fitted on AAPL, the regime model is scored.
    let spec = RegimeSpec::for_symbol(&aapl);
    let name = spec.name.clone();
    s.regimes
        .fit(spec)
        .await
        .expect("fit the AAPL regime model");
    let with_labels = CalibrationRequest {
        regime_model: Some(name.clone()),
        ..only_regime
    };
    let r = s
        .forecasts
        .calibrate_symbols(std::slice::from_ref(&aapl), false, &with_labels)
        .await
        .expect("calibrate with labels");
    let m = &r[0].models[0];
    assert_eq!(m.model, ModelKind::Regime);
    assert!(m.error.is_none(), "{:?}", m.error);
    assert_eq!(m.horizons.len(), 2);
    for b in m.horizons.iter().flat_map(|h| &h.bands) {
        assert!((0.0..=1.0).contains(&b.coverage), "{b:?}");
    }
    // And a regime-conditioned forecast from the labels.
    let f = s
        .forecasts
        .forecast_symbol(
            &aapl,
            &ForecastRequest {
                model: Some(ModelKind::Regime),
                regime_model: Some(name),
                paths: 500,
                ..ForecastRequest::default()
            },
        )
        .await
        .expect("regime forecast");
    assert!(f.fit.regime.is_some(), "{:?}", f.fit);
    assert!(f.fit.regime_days.iter().sum::<usize>() > 0, "{:?}", f.fit);
    check_shape(&f, false);
}

/// Requests that cannot be answered are typed errors, not panics or generic failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_typed_errors() {
    let s = services().await;
    let aapl = sym("AAPL");
    let fhs = small(ModelKind::Fhs, 10, None);

    let r = s.forecasts.forecast_symbol(&sym("ZZZZ"), &fhs).await;
    assert!(
        matches!(r, Err(ForecastServiceError::NotFound(_))),
        "unknown symbol: {}",
        outcome(&r)
    );
    // Before the first bar, and with a single bar: no return to learn from.
    for as_of in ["1999-01-04", "2000-03-01"] {
        let r = s
            .forecasts
            .forecast_symbol(&aapl, &small(ModelKind::Naive, 10, Some(d(as_of))))
            .await;
        assert!(
            matches!(r, Err(ForecastServiceError::NotFound(_))),
            "as of {as_of}: {}",
            outcome(&r)
        );
    }
    // Too little history for a GARCH fit (about 85 returns): a fact of the data.
    let r = s
        .forecasts
        .forecast_symbol(&aapl, &small(ModelKind::Fhs, 10, Some(d("2000-06-30"))))
        .await;
    assert!(
        matches!(r, Err(ForecastServiceError::Model(ForecastError::Data(_)))),
        "85 returns: {}",
        outcome(&r)
    );

    let r = s
        .forecasts
        .forecast_symbol(
            &aapl,
            &ForecastRequest {
                paths: MIN_PATHS / 2,
                ..fhs.clone()
            },
        )
        .await;
    assert!(
        matches!(r, Err(ForecastServiceError::Invalid(_))),
        "paths 50: {}",
        outcome(&r)
    );
    // 20,000 paths × 600 days = 12 million cells; each alone is in range.
    let too_big = ForecastRequest {
        paths: 20_000,
        horizon: 600,
        ..fhs.clone()
    };
    assert!(too_big.paths * too_big.horizon > MAX_CELLS);
    let r = s.forecasts.forecast_symbol(&aapl, &too_big).await;
    assert!(
        matches!(r, Err(ForecastServiceError::Invalid(_))),
        "paths × horizon over {MAX_CELLS}: {}",
        outcome(&r)
    );
    let regime = ForecastRequest {
        model: Some(ModelKind::Regime),
        ..fhs.clone()
    };
    let r = s.forecasts.forecast_symbol(&aapl, &regime).await;
    assert!(
        matches!(r, Err(ForecastServiceError::Invalid(_))),
        "regime without regime_model: {}",
        outcome(&r)
    );
    let r = s
        .forecasts
        .forecast_symbol(
            &aapl,
            &ForecastRequest {
                regime_model: Some("nosuch".into()),
                ..regime
            },
        )
        .await;
    assert!(
        matches!(r, Err(ForecastServiceError::NotFound(_))),
        "regime model never fitted: {}",
        outcome(&r)
    );
    let r = s
        .forecasts
        .calibrate_symbols(&[], true, &CalibrationRequest::default())
        .await;
    assert!(
        matches!(r, Err(ForecastServiceError::Invalid(_))),
        "calibration of nothing"
    );
}

/// A horizon of zero is a request out of range, which the error type documents as `Invalid`
/// (`Model` is for history that cannot be fitted). Kept apart from the other bad requests so
/// that its verdict is reported on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_horizon_is_an_invalid_request() {
    let s = services().await;
    let r = s
        .forecasts
        .forecast_symbol(&sym("AAPL"), &small(ModelKind::Fhs, 0, None))
        .await;
    assert!(
        matches!(r, Err(ForecastServiceError::Invalid(_))),
        "horizon 0: expected ForecastServiceError::Invalid, got {}",
        outcome(&r)
    );
}

/// Stored forecasts are scored against the bars that followed them: every realised day of a
/// forecast made before the last bar, none of one made on it; the next-day verdict matches a
/// hand computation from the cached total-return closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_forecasts_are_scored_by_what_followed() {
    let s = services().await;
    let aapl = sym("AAPL");
    let missing = s.forecasts.score_stored(&aapl).await;
    assert!(
        matches!(missing, Err(ForecastServiceError::NotFound(_))),
        "nothing stored yet"
    );
    let origin = d("2011-08-05");
    let past = s
        .forecasts
        .forecast_symbol(&aapl, &small(None, 10, Some(origin)))
        .await
        .expect("forecast");
    s.forecasts
        .forecast_symbol(&aapl, &small(None, 5, None))
        .await
        .expect("forecast at the last bar");
    let score = s.forecasts.score_stored(&aapl).await.expect("score");
    assert_eq!(score.forecasts, 2);
    assert_eq!(
        score.pending, 1,
        "the forecast from the last bar has no outcome yet"
    );
    assert_eq!(score.scored_days, 10);
    assert_eq!(score.bands.len(), 4);
    assert!(score.bands.iter().all(|b| b.observations == 10));
    assert!(score.next_day.iter().all(|b| b.observations == 1));
    // By hand: the next session's total-return close over the origin's.
    let bars = s
        .cache
        .bars_on(
            &aapl,
            sextant_domain::Resolution::Daily,
            Some(origin),
            None,
            sextant_domain::PriceBasis::TotalReturn,
        )
        .expect("bars");
    let value = past.start_value * bars[1].close / bars[0].close;
    let day1 = &past.fan[0];
    let inside_90 = (day1.quantiles[1]..=day1.quantiles[7]).contains(&value);
    let b90 = score.next_day[2];
    assert_eq!(b90.level, 0.9);
    assert_eq!(
        b90.coverage,
        if inside_90 { 1.0 } else { 0.0 },
        "{value} vs {day1:?}"
    );
}
