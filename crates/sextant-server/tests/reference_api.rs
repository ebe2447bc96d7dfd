//! Reference data over HTTP: instruments (and the asset class and session on the market-data
//! routes), symbol search, economic series, corporate actions, and the ingest jobs that fetch
//! them from the loopback Alpha Vantage server; viewers may read but not ingest.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sextant_data::cache::FileOptions;
use sextant_domain::{AssetClass, SeriesKey, Source};
use sextant_server::auth::Role;
use sextant_server::Limits;
use sextant_testkit::alphavantage::AlphaVantageServer;
use std::time::{Duration, Instant};

use crate::common;
use common::{start, start_with, Server};

/// Polls a job until it is finished; returns it.
async fn finished(s: &Server, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, job) = s.get(&format!("/api/v1/jobs/{id}"), Role::Analyst).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        if ["succeeded", "failed", "cancelled"].contains(&job["status"].as_str().unwrap_or("")) {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} never finished: {job}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Submits `body` to `path` as an analyst and waits for the job it answers with.
async fn run_job(s: &Server, path: &str, body: Value) -> Value {
    let (status, job) = s.post(path, Role::Analyst, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{path}: {job}");
    finished(s, job["id"].as_str().expect("job id")).await
}

/// The entry of `list` whose `key` is `value`.
fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .and_then(|a| a.iter().find(|e| e[key] == value))
        .unwrap_or_else(|| panic!("no {key} = {value} in {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instruments_and_market_data_show_what_an_fx_file_is() {
    let s = start(Limits::default()).await;
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("eurusd.csv");
    let mut csv = String::from("Date,Open,High,Low,Close,Volume\n");
    let mut day = sextant_test_support::d("2024-01-02");
    let mut px = 1.10_f64;
    for i in 0..40 {
        while matches!(
            chrono::Datelike::weekday(&day),
            chrono::Weekday::Sat | chrono::Weekday::Sun
        ) {
            day = day.succ_opt().expect("day");
        }
        let next = px * (1.0 + if i % 2 == 0 { 0.002 } else { -0.0015 });
        csv.push_str(&format!(
            "{day},{px:.5},{:.5},{:.5},{next:.5},0\n",
            px.max(next) * 1.001,
            px.min(next) * 0.999
        ));
        px = next;
        day = day.succ_opt().expect("day");
    }
    std::fs::write(&file, csv).expect("write");
    let opts = FileOptions {
        symbol: Some(sextant_test_support::sym("EURUSD")),
        tz: "UTC".into(),
        source: Source::File,
        asset: Some(AssetClass::Fx),
        ..FileOptions::default()
    };
    let md = s.services.market_data.clone();
    tokio::task::spawn_blocking(move || md.ingest_file(&file, &opts))
        .await
        .expect("join")
        .expect("ingest");

    let (status, list) = s.get("/api/v1/instruments", Role::Viewer).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let eur = find(&list, "symbol", "EURUSD");
    assert_eq!(
        (
            &eur["asset_class"],
            &eur["session"],
            &eur["base"],
            &eur["quote"]
        ),
        (
            &json!("fx"),
            &json!("fx_24x5"),
            &json!("EUR"),
            &json!("USD")
        )
    );
    assert_eq!(
        (&eur["recorded"], &eur["cached"]),
        (&json!(true), &json!(true))
    );
    let msft = find(&list, "symbol", "MSFT");
    assert_eq!(
        (&msft["asset_class"], &msft["session"], &msft["recorded"]),
        (&json!("us_equity"), &json!("xnys"), &json!(false))
    );
    let (status, one) = s.get("/api/v1/instruments/eurusd", Role::Viewer).await;
    assert_eq!(
        (status, &one["session"]),
        (StatusCode::OK, &json!("fx_24x5"))
    );
    let (status, _) = s.get("/api/v1/instruments/NOPE", Role::Viewer).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.get("/api/v1/instruments/a%20b", Role::Viewer).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The market-data routes name each symbol's asset class and session too.
    let (_, symbols) = s.get("/api/v1/market-data/symbols", Role::Viewer).await;
    assert_eq!(find(&symbols, "symbol", "EURUSD")["session"], "fx_24x5");
    assert_eq!(find(&symbols, "symbol", "IBM")["asset_class"], "us_equity");
    let (_, cov) = s
        .get("/api/v1/market-data/coverage?symbol=EURUSD", Role::Viewer)
        .await;
    assert_eq!(find(&cov, "symbol", "EURUSD")["asset_class"], "fx");
    let (status, bars) = s.get("/api/v1/market-data/bars/EURUSD", Role::Viewer).await;
    assert_eq!(status, StatusCode::OK, "{bars}");
    assert_eq!(
        (&bars["asset_class"], &bars["session"]),
        (&json!("fx"), &json!("fx_24x5"))
    );
    let (_, bars) = s
        .get(
            "/api/v1/market-data/bars/MSFT?from=2008-10-01&to=2008-10-10",
            Role::Viewer,
        )
        .await;
    assert_eq!(
        (&bars["asset_class"], &bars["session"]),
        (&json!("us_equity"), &json!("xnys"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_macro_series_are_listed_and_read() {
    let s = start(Limits::default()).await;
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("cpi.csv");
    std::fs::write(
        &file,
        "timestamp,value\n2024-03-01,312.230\n2024-02-01,311.054\n2024-01-01,.\n",
    )
    .expect("write");
    let key = SeriesKey::parse_id("cpi_monthly").expect("key");
    let out = s
        .services
        .reference
        .import_macro(&key, &file)
        .expect("import");
    assert_eq!((out.observations, out.missing), (3, 1));

    let (status, list) = s.get("/api/v1/macro", Role::Viewer).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let cpi = find(&list, "series", "cpi_monthly");
    assert_eq!(
        (&cpi["observations"], &cpi["first"], &cpi["last"]),
        (&json!(3), &json!("2024-01-01"), &json!("2024-03-01"))
    );
    // The importing machine's directories are not shown, only the file's name.
    assert_eq!(cpi["source"], "file cpi.csv");

    let (status, obs) = s.get("/api/v1/macro/cpi_monthly", Role::Viewer).await;
    assert_eq!(status, StatusCode::OK, "{obs}");
    assert_eq!(obs["count"], 3);
    assert_eq!(
        obs["observations"][0],
        json!({"date": "2024-01-01", "value": null})
    );
    assert_eq!(obs["observations"][1]["value"], 311.054);
    let (_, some) = s
        .get(
            "/api/v1/macro/CPI_MONTHLY?from=2024-02-01&to=2024-02-29",
            Role::Viewer,
        )
        .await;
    assert_eq!(
        (&some["series"], &some["count"]),
        (&json!("cpi_monthly"), &json!(1))
    );

    // Served but not stored, and not served at all: 404; not an id: 422.
    for unknown in ["treasury_yield_3month_daily", "gdp_annual"] {
        let (status, p) = s
            .get(&format!("/api/v1/macro/{unknown}"), Role::Viewer)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}: {p}");
    }
    let (status, p) = s.get("/api/v1/macro/cpi-monthly", Role::Viewer).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["errors"][0]["field"], "series");
    let (status, _) = s
        .get(
            "/api/v1/macro/cpi_monthly?from=2024-03-01&to=2024-01-01",
            Role::Viewer,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_ingests_run_as_jobs_from_the_vendor() {
    let av = AlphaVantageServer::start().await.expect("vendor");
    let url = av.base_url();
    let s = start_with(Limits::default(), move |c| {
        c.alphavantage.api_key = Some("SECRETKEY".into());
        c.alphavantage.base_url = url;
        // The loopback vendor has no quota; the default 5 a minute would make this a minute.
        c.alphavantage.requests_per_minute = 600;
        c.alphavantage.requests_per_day = 1000;
    })
    .await;

    // Corporate actions.
    let (status, before) = s.get("/api/v1/symbols/AAPL/actions", Role::Viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&before["fetched"], &before["splits"]),
        (&json!(false), &json!([]))
    );
    let job = run_job(&s, "/api/v1/ingest/actions", json!({"symbols": ["AAPL"]})).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["symbols"][0]["splits"], 5);
    let (_, actions) = s.get("/api/v1/symbols/aapl/actions", Role::Viewer).await;
    assert_eq!(actions["fetched"], true);
    assert!(
        actions["splits"]
            .as_array()
            .expect("splits")
            .contains(&json!({"effective_date": "2005-02-28", "factor": 2.0})),
        "{actions}"
    );
    assert!(!actions["dividends"]
        .as_array()
        .expect("dividends")
        .is_empty());

    // An economic series by its parts (interval daily by default) and by its id.
    let job = run_job(
        &s,
        "/api/v1/ingest/macro",
        json!({"indicator": "treasury_yield", "maturity": "3month"}),
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["series"], "treasury_yield_3month_daily");
    let job = run_job(&s, "/api/v1/ingest/macro", json!({"series": "cpi_monthly"})).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let (_, list) = s.get("/api/v1/macro", Role::Viewer).await;
    assert!(
        find(&list, "series", "treasury_yield_3month_daily")["source"]
            .as_str()
            .is_some_and(|r| r.contains("TREASURY_YIELD") && !r.contains("SECRETKEY"))
    );
    find(&list, "series", "cpi_monthly");
    for (body, field) in [
        (json!({}), "series"),
        (json!({"indicator": "treasury_yield"}), "maturity"),
        (json!({"indicator": "cpi", "interval": "daily"}), "interval"),
        (
            json!({"series": "cpi_monthly", "indicator": "cpi"}),
            "series",
        ),
        (json!({"series": "gdp_annual"}), "series"),
    ] {
        let (status, p) = s
            .post("/api/v1/ingest/macro", Role::Analyst, body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {p}");
        assert_eq!(p["errors"][0]["field"], field, "{body}: {p}");
    }

    // Bars of an FX pair and a coin through the existing ingest route, with `asset`.
    let job = run_job(
        &s,
        "/api/v1/market-data/ingest",
        json!({"symbols": ["EURUSD"], "asset": "fx"}),
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let job = run_job(
        &s,
        "/api/v1/market-data/ingest",
        json!({"symbols": ["BTC"], "asset": "crypto", "market": "USD"}),
    )
    .await;
    assert_eq!(job["result"]["symbols"][0]["symbol"], "BTCUSD", "{job}");
    let (_, symbols) = s.get("/api/v1/market-data/symbols", Role::Viewer).await;
    assert_eq!(find(&symbols, "symbol", "EURUSD")["session"], "fx_24x5");
    assert_eq!(find(&symbols, "symbol", "BTCUSD")["asset_class"], "crypto");
    for (body, field) in [
        (json!({"symbols": ["EURUSDX"], "asset": "fx"}), "symbols"),
        (
            json!({"symbols": ["EURUSD"], "asset": "fx", "market": "USD"}),
            "market",
        ),
        (json!({"symbols": ["BTC"], "market": "USD"}), "market"),
        (json!({"symbols": ["BTC"], "asset": "crypto"}), "symbols"),
    ] {
        let (status, p) = s
            .post("/api/v1/market-data/ingest", Role::Analyst, body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {p}");
        assert_eq!(p["errors"][0]["field"], field, "{body}: {p}");
    }

    // The directory, then a search by name.
    s.services
        .reference
        .refresh_listings(&s.services.alphavantage().expect("av"), false)
        .await
        .expect("listings");
    let (status, found) = s.get("/api/v1/symbols/search?q=apple", Role::Viewer).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let aapl = find(&found, "symbol", "AAPL");
    assert_eq!(
        (&aapl["name"], &aapl["exchange"], &aapl["cached"]),
        (&json!("Apple Inc"), &json!("NASDAQ"), &json!(true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_are_checked_and_find_cached_symbols() {
    let s = start(Limits::default()).await;
    let (status, found) = s.get("/api/v1/symbols/search?q=ms", Role::Viewer).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let msft = find(&found, "symbol", "MSFT");
    assert_eq!(
        (&msft["status"], &msft["cached"]),
        (&json!("cached"), &json!(true))
    );
    let (_, one) = s
        .get("/api/v1/symbols/search?q=a&limit=1", Role::Viewer)
        .await;
    assert_eq!(one.as_array().map(Vec::len), Some(1));
    let (_, none) = s.get("/api/v1/symbols/search?q=zzzz", Role::Viewer).await;
    assert_eq!(none, json!([]));
    for bad in [
        "q=",
        "q=a&limit=0",
        "q=a&limit=101",
        "limit=5",
        "q=a&other=1",
    ] {
        let (status, p) = s
            .get(&format!("/api/v1/symbols/search?{bad}"), Role::Viewer)
            .await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{bad}: {status} {p}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_cannot_ingest_and_a_missing_key_fails_every_ingest_alike() {
    // No Alpha Vantage key configured.
    let s = start_with(Limits::default(), |c| c.alphavantage.api_key = None).await;
    for (path, body) in [
        ("/api/v1/ingest/actions", json!({"symbols": ["AAPL"]})),
        ("/api/v1/ingest/macro", json!({"series": "cpi_monthly"})),
        (
            "/api/v1/market-data/ingest",
            json!({"symbols": ["EURUSD"], "asset": "fx"}),
        ),
    ] {
        let (status, p) = s.post(path, Role::Viewer, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {p}");
        // An analyst's job is accepted and fails with the vendor client's missing-key error,
        // the same on every ingest route.
        let job = run_job(&s, path, body).await;
        assert_eq!(job["status"], "failed", "{path}: {job}");
        let error = job["error"].as_str().unwrap_or("");
        assert!(
            error.contains("Alpha Vantage API key missing or invalid"),
            "{path}: {job}"
        );
    }
    // Reads are the viewer's.
    for path in [
        "/api/v1/instruments",
        "/api/v1/macro",
        "/api/v1/symbols/MSFT/actions",
        "/api/v1/symbols/search?q=ibm",
    ] {
        let (status, body) = s.get(path, Role::Viewer).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (status, _, _) = s.call(Method::GET, "/api/v1/instruments", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
