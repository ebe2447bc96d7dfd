//! User-defined strategies over HTTP: check, save, version, read, run by reference (the run
//! records the definition itself), tune, ownership and typed errors.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sextant_server::auth::Role;
use sextant_server::Limits;

use crate::common;
use common::start;

fn definition(stop: f64) -> Value {
    json!({
        "name": "pullback",
        "params": {
            "trend": {"type": "int", "min": 20, "max": 300, "default": 100},
            "entry_rsi": {"type": "float", "min": 5, "max": 50, "default": 30}
        },
        "let": {"up": "close > sma(close, trend)"},
        "long": {"entry": "up and rsi(close, 2) < entry_rsi", "exit": "rsi(close, 2) > 80",
                 "stop_loss": {"pct": stop}, "max_bars": 20}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definitions_are_checked_versioned_owned_and_run() {
    let s = start(Limits::default()).await;

    // Check without saving: the compiled account and the truncation test.
    let (status, report) = s
        .post(
            "/api/v1/strategies/definitions/check",
            Role::Analyst,
            json!({"definition": definition(0.05)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(
        report["explain"]
            .as_str()
            .is_some_and(|e| e.contains("long.entry")),
        "{report}"
    );
    assert!(
        report["truncation"]["orders"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{report}"
    );
    assert_eq!(
        report["params_schema"]["properties"]["trend"]["maximum"],
        300
    );

    // An error names the field and quotes the token.
    let mut bad = definition(0.05);
    bad["long"]["entry"] = json!("up and rsi(close, 2) < entry_rs");
    let (status, p) = s
        .post(
            "/api/v1/strategies/definitions",
            Role::Analyst,
            json!({"definition": bad}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let detail = p["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("entry_rs") && detail.contains("column 24"),
        "{p}"
    );

    // Save, then a second version.
    let (status, v1) = s
        .post(
            "/api/v1/strategies/definitions",
            Role::Analyst,
            json!({"definition": definition(0.05)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v1}");
    let id = v1["id"].as_str().expect("id").to_string();
    assert!(id.starts_with("usd_"), "{id}");
    assert_eq!(v1["version"], 1);
    let (status, v2, _) = s
        .call(
            Method::PUT,
            &format!("/api/v1/strategies/definitions/{id}"),
            Some(s.key(Role::Analyst)),
            Some(json!({"definition": definition(0.08)})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v2}");
    assert_eq!(v2["version"], 2);
    let (status, latest) = s
        .get(
            &format!("/api/v1/strategies/definitions/{id}"),
            Role::Analyst,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(latest["definition"]["long"]["stop_loss"]["pct"], 0.08);
    let (_, old) = s
        .get(
            &format!("/api/v1/strategies/definitions/{id}/versions/1"),
            Role::Analyst,
        )
        .await;
    assert_eq!(old["definition"]["long"]["stop_loss"]["pct"], 0.05);
    let (_, all) = s
        .get(
            &format!("/api/v1/strategies/definitions/{id}/versions"),
            Role::Analyst,
        )
        .await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2));

    // Another key cannot see it.
    let other = s.new_key(Role::Analyst).await;
    let (status, _) = s
        .as_key(
            Method::GET,
            &format!("/api/v1/strategies/definitions/{id}"),
            &other,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let run_by_ref = |r: &str| {
        json!({"strategy": "rules", "symbols": ["MSFT"],
        "params": {"definition": r, "trend": 50}})
    };
    let (status, _) = s
        .as_key(
            Method::POST,
            "/api/v1/backtests",
            &other,
            Some(run_by_ref(&id)),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Run by reference: the stored manifest carries the definition itself (version 1 here).
    let (status, run) = s
        .post(
            "/api/v1/backtests",
            Role::Analyst,
            run_by_ref(&format!("{id}@1")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    assert_eq!(
        run["manifest"]["request"]["params"]["definition"],
        definition(0.05)
    );
    assert!(run["trade_count"].as_u64().is_some_and(|n| n > 10), "{run}");
    // The same definition inline gives the same content-addressed run.
    let inline = json!({"strategy": "rules", "symbols": ["MSFT"],
        "params": {"definition": definition(0.05), "trend": 50}});
    let (_, again) = s.post("/api/v1/backtests", Role::Analyst, inline).await;
    assert_eq!(again["id"], run["id"]);
    let (status, p) = s
        .post(
            "/api/v1/backtests",
            Role::Analyst,
            run_by_ref(&format!("{id}@9")),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{p}");
    let (status, p) = s
        .post(
            "/api/v1/backtests",
            Role::Analyst,
            run_by_ref(&format!("{id}@x")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");

    // A study searches the definition's declared parameters.
    let study = json!({"backtest": {"strategy": "rules", "symbols": ["MSFT"], "params": {"definition": id}},
        "search": [{"name": "trend", "distribution": {"type": "int", "low": 20, "high": 200}}],
        "trials": 8, "batch": 4});
    let (status, p) = s
        .post("/api/v1/backtests/optimize", Role::Analyst, study)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{p}");
    let nope = json!({"backtest": {"strategy": "rules", "symbols": ["MSFT"], "params": {"definition": id}},
        "search": [{"name": "wealth", "distribution": {"type": "int", "low": 1, "high": 2}}], "trials": 8});
    let (status, p) = s
        .post("/api/v1/backtests/optimize", Role::Analyst, nope)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");

    // Feature-store values: the technical view's rsi_14 and 20-bar volatility, materialised
    // on first use; the manifest names the view version.
    let features = json!({"strategy": "rules", "symbols": ["MSFT"], "params": {"definition": {
        "name": "feature_rule",
        "long": {"entry": "feature(\"rsi_14\") < 35 and feature(\"technical.vol_20\") < 0.5",
                 "exit": "feature(\"rsi_14\") > 65"}}}});
    let (status, run) = s.post("/api/v1/backtests", Role::Analyst, features).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    assert!(run["trade_count"].as_u64().is_some_and(|n| n > 5), "{run}");
    let views = &run["manifest"]["inputs"]["feature_views"];
    assert!(
        views["technical"]["version"].is_string(),
        "{}",
        run["manifest"]["inputs"]
    );
    let unknown = json!({"strategy": "rules", "symbols": ["MSFT"], "params": {"definition": {
        "name": "x", "long": {"entry": "feature(\"nope\") > 0"}}}});
    let (status, p) = s.post("/api/v1/backtests", Role::Analyst, unknown).await;
    // Found when the bars load (like an unknown ML model): 400, naming the view's features.
    assert_eq!(status, StatusCode::BAD_REQUEST, "{p}");
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("rsi_14")),
        "{p}"
    );

    // Checked before it is saved: a feature the built-in view lacks.
    let typo = json!({"definition": {"name": "x", "long": {"entry": "feature(\"rsi_41\") < 30"}}});
    let (status, p) = s
        .post("/api/v1/strategies/definitions/check", Role::Analyst, typo)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("rsi_14")),
        "{p}"
    );

    // Examples: the library strategies as definitions.
    let (status, ex) = s.get("/api/v1/strategies/examples", Role::Viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ex["items"].as_array().is_some_and(|a| a.len() >= 8), "{ex}");

    let (status, _, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/strategies/definitions/{id}"),
            Some(s.key(Role::Analyst)),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .get(
            &format!("/api/v1/strategies/definitions/{id}"),
            Role::Analyst,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
