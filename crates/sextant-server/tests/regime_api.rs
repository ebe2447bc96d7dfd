//! The regime routes end to end: a universe model fitted through the API, its regime as of a
//! date, its history as CSV, its alerts, a symbol's model fitted on first use, typed errors.

use reqwest::{Method, StatusCode};
use serde_json::json;
use sextant_server::auth::Role;
use sextant_server::Limits;

use crate::common;
use common::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regime_models_labels_history_and_alerts_over_http() {
    let s = start(Limits::default()).await;
    let spec = json!({"name": "big3", "symbols": ["AAPL", "IBM", "MSFT"], "confirm_bars": 3});
    let (status, _) = s
        .post(
            "/api/v1/market-data/regime/models",
            Role::Viewer,
            spec.clone(),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "fitting is an analyst's write"
    );
    let (status, model) = s
        .post("/api/v1/market-data/regime/models", Role::Analyst, spec)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
    assert_eq!(model["columns"], json!(["bull", "bear", "high_vol"]));
    assert!(
        model["new_alerts"].as_u64().is_some_and(|n| n > 0),
        "{model}"
    );
    assert_eq!(
        model["fit_days"][0],
        json!("2002-04-08"),
        "two years of features: {model}"
    );

    let (status, now) = s
        .get(
            "/api/v1/market-data/regime?universe=big3&at=2008-10-19",
            Role::Viewer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{now}");
    assert_eq!(
        now["day"],
        json!("2008-10-17"),
        "the last session on or before the date"
    );
    assert_eq!(now["regime"], json!("high_vol"), "{now}");
    assert_eq!(now["model_kind"], json!("hmm"));
    let total: f64 = now["probabilities"]
        .as_object()
        .expect("map")
        .values()
        .filter_map(|v| v.as_f64())
        .sum();
    assert!((total - 1.0).abs() < 1e-9, "{now}");

    let (status, body, ctype) = s
        .call(
            Method::GET,
            "/api/v1/market-data/regime/history?universe=big3&from=2008-09-01&to=2009-03-31&format=csv",
            Some(s.key(Role::Viewer)),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "text/csv; charset=utf-8");
    let text = body.as_str().expect("CSV text").to_string();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("ts,label,p_bull,p_bear,p_high_vol"));
    let rows: Vec<&str> = lines.collect();
    let high = rows
        .iter()
        .filter(|l| l.split(',').nth(1) == Some("high_vol"))
        .count();
    assert!(
        rows.len() > 100 && high * 2 > rows.len(),
        "{high}/{}",
        rows.len()
    );

    let (status, alerts) = s
        .get(
            "/api/v1/market-data/regime/alerts?model=big3&limit=5",
            Role::Viewer,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let alerts = alerts.as_array().expect("list");
    assert_eq!(alerts.len(), 5);
    assert!(alerts
        .iter()
        .all(|a| a["backfill"] == json!(true) && a["confirm_bars"] == json!(3)));

    // A symbol's own model is fitted on first use.
    let (status, ibm) = s
        .get("/api/v1/market-data/regime?symbol=IBM", Role::Viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{ibm}");
    assert_eq!(ibm["model"], json!("IBM"));
    // AAPL alone has a regime no labelled day falls in: its statistics are null, not NaN,
    // so the stored state reads back (schemathesis found the 500 this was).
    let (status, aapl) = s
        .get("/api/v1/market-data/regime?symbol=AAPL", Role::Viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{aapl}");
    let (status, models) = s
        .get("/api/v1/market-data/regime/models", Role::Viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{models}");
    assert_eq!(models.as_array().map(Vec::len), Some(3), "{models}");
    let (status, _) = s
        .get(
            "/api/v1/market-data/regime/alerts?model=no%20such!",
            Role::Viewer,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, dash) = s.get("/api/v1/dashboard", Role::Viewer).await;
    assert_eq!(status, StatusCode::OK, "{dash}");
    let cards = dash["regimes"].as_array().expect("regime cards");
    assert_eq!(cards.len(), 3, "{dash}");
    assert!(cards
        .iter()
        .any(|c| c["model"] == "big3" && c["latest"]["regime"].is_string()));

    // Typed errors.
    let (status, p) = s
        .get(
            "/api/v1/market-data/regime?symbol=IBM&universe=big3",
            Role::Viewer,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let (status, _) = s
        .get("/api/v1/market-data/regime?universe=nosuch", Role::Viewer)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let bad = json!({"name": "x", "symbols": ["IBM"], "walk": {"model": {"states": 9}}});
    let (status, p) = s
        .post("/api/v1/market-data/regime/models", Role::Analyst, bad)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("states")),
        "{p}"
    );
    let heavy = json!({"name": "x", "symbols": ["IBM"], "walk": {"refit_every": 1, "model": {"restarts": 100}}});
    let (status, p) = s
        .post("/api/v1/market-data/regime/models", Role::Analyst, heavy)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("over the limit")),
        "{p}"
    );

    // regime_switch runs through the backtest API on the model's labels.
    let req = json!({"strategy": "regime_switch", "symbols": ["AAPL"],
                     "params": {"model": "big3", "bull": {"fast": 10, "slow": 30}}});
    let (status, run) = s.post("/api/v1/backtests", Role::Analyst, req).await;
    assert!(status.is_success(), "{status} {run}");
    let id = run["id"].as_str().expect("run id");
    let (status, by) = s
        .get(
            &format!("/api/v1/backtests/{id}/regimes?model=big3"),
            Role::Analyst,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by}");
    let by = by.as_array().expect("slices");
    let regimes: Vec<&str> = by.iter().filter_map(|r| r["regime"].as_str()).collect();
    assert_eq!(regimes, ["bear", "bull", "high_vol"], "{by:?}");
    let days: u64 = by.iter().filter_map(|r| r["days"].as_u64()).sum();
    assert!(days > 2000, "labelled days of the run: {days}");
    let (status, _) = s
        .get(
            &format!("/api/v1/backtests/{id}/regimes?model=nosuch"),
            Role::Analyst,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A user-defined strategy reads the same labels through in_regime(): the regime source
    // attaches them, and the manifest records the model it used.
    let definition = json!({"name": "bull_trend",
        "let": {"bull": "in_regime(\"big3\", \"bull\")"},
        "long": {"entry": "bull and close > sma(close, 50)", "exit": "not bull"}});
    let req =
        json!({"strategy": "rules", "symbols": ["AAPL"], "params": {"definition": definition}});
    let (status, run) = s.post("/api/v1/backtests", Role::Analyst, req).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    assert!(run["trade_count"].as_u64().is_some_and(|n| n > 3), "{run}");
    let models = &run["manifest"]["inputs"]["regime_models"];
    assert_eq!(models[0]["name"], "big3", "{}", run["manifest"]);
    // The forward filter's probabilities: regime_prob() reads the model's bull column.
    let confident = json!({"strategy": "rules", "symbols": ["AAPL"], "params": {"definition":
        {"name": "confident_bull", "long": {"entry": "regime_prob(\"big3\", \"bull\") > 0.9",
                                            "exit": "regime_prob(\"big3\", \"bull\") < 0.5"}}}});
    let (status, run) = s.post("/api/v1/backtests", Role::Analyst, confident).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    assert!(run["trade_count"].as_u64().is_some_and(|n| n > 0), "{run}");
    // big3 has no sideways state (its columns are bull, bear, high_vol).
    let missing = json!({"strategy": "rules", "symbols": ["AAPL"], "params": {"definition":
        {"name": "x", "long": {"entry": "regime_prob(\"big3\", \"sideways\") > 0.5"}}}});
    let (status, p) = s.post("/api/v1/backtests", Role::Analyst, missing).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{p}");
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no sideways state")),
        "{p}"
    );
    let unfitted = json!({"strategy": "rules", "symbols": ["AAPL"], "params": {"definition":
        {"name": "x", "long": {"entry": "in_regime(\"nosuch\", \"bull\")"}}}});
    let (status, p) = s.post("/api/v1/backtests", Role::Analyst, unfitted).await;
    assert!(status.is_client_error(), "{status} {p}");
}
