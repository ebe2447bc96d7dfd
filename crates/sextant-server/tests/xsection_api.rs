//! Universes, portfolio backtests over a universe and factor evaluation over HTTP: roles, the
//! survivorship notice, the relative figures, a tearsheet figure as SVG, and bad requests
//! answered as problem+json.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sextant_server::auth::Role;
use sextant_server::Limits;

use crate::common;
use common::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn universes_portfolios_and_factors_over_http() {
    let s = start(Limits::default()).await;
    let viewer = s.key(Role::Viewer).to_string();
    let analyst = s.key(Role::Analyst).to_string();

    // A viewer reads the built-in universe but may not store one.
    let (st, u) = s.get("/api/v1/universes/cache", Role::Viewer).await;
    assert_eq!(st, StatusCode::OK, "{u}");
    assert_eq!(u["members"].as_array().map(Vec::len), Some(5));
    assert!(u["survivorship_notice"].is_string());
    let csv = "symbol,from,to\nAAPL,,\nGOOG,,\nIBM,,2008-12-31\nMSFT,2009-01-01,\n";
    let body = json!({"description": "IBM leaves, MSFT joins", "csv": csv});
    let (st, _) = s
        .as_key(
            Method::PUT,
            "/api/v1/universes/pit",
            &viewer,
            Some(body.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, saved) = s
        .as_key(Method::PUT, "/api/v1/universes/pit", &analyst, Some(body))
        .await;
    assert_eq!(st, StatusCode::OK, "{saved}");
    let (st, list) = s.get("/api/v1/universes", Role::Viewer).await;
    assert_eq!(st, StatusCode::OK);
    assert!(list
        .as_array()
        .is_some_and(|l| l.iter().any(|u| u["name"] == "pit")));

    // Exactly one source of members; a bad date names its line.
    let both = json!({"csv": csv, "from_cache": []});
    let (st, p) = s
        .as_key(Method::PUT, "/api/v1/universes/x", &analyst, Some(both))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let bad = json!({"csv": "symbol,from\nAAPL,2009-13-01\n"});
    let (st, p) = s
        .as_key(Method::PUT, "/api/v1/universes/x", &analyst, Some(bad))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(p.to_string().contains("line 2"), "{p}");

    // A portfolio backtest over the universe: membership and relative figures in the run.
    let req = json!({"strategy": "topk_dropout", "universe": "pit",
        "params": {"topk": 2, "n_drop": 1, "signal": "momentum", "lookback": 40},
        "from": "2005-01-01", "to": "2012-12-31"});
    let (st, run) = s.post("/api/v1/backtests", Role::Analyst, req).await;
    assert_eq!(st, StatusCode::CREATED, "{run}");
    assert_eq!(
        run["manifest"]["request"]["symbols"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    assert_eq!(run["manifest"]["inputs"]["universe"]["delisted"], 1);
    assert!(run["manifest"]["inputs"]["universe"]["survivorship_notice"].is_null());
    assert!(run["relative"]["beta"].is_number(), "{}", run["relative"]);
    // Symbols and a universe together are refused; so is an unknown universe.
    let both = json!({"strategy": "topk_dropout", "universe": "pit", "symbols": ["AAPL"]});
    let (st, p) = s.post("/api/v1/backtests", Role::Analyst, both).await;
    assert!(st.is_client_error(), "{st} {p}");
    let unknown = json!({"strategy": "topk_dropout", "universe": "nope"});
    let (st, p) = s.post("/api/v1/backtests", Role::Analyst, unknown).await;
    assert!(st.is_client_error(), "{st} {p}");

    // A factor evaluation as JSON, then its IC figure as SVG.
    let f = json!({"universe": "cache", "signal": {"signal": "momentum", "lookback": 20},
        "from": "2005-01-01", "to": "2012-12-31", "quantiles": 2});
    let (st, e) = s
        .post("/api/v1/factors/evaluate", Role::Analyst, f.clone())
        .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!(e["report"]["ic"].as_array().map(Vec::len), Some(3));
    assert!(e["report"]["ic"][0]["summary"]["mean"].is_number());
    let (st, svg, ctype) = s
        .call(
            Method::POST,
            "/api/v1/factors/evaluate?format=svg&figure=quantiles",
            Some(analyst.as_str()),
            Some(f),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(ctype.starts_with("image/svg+xml"), "{ctype}");
    assert!(svg.as_str().is_some_and(|t| t.starts_with("<svg")));
    // A bad horizon is a problem naming it (400, as every invalid backtest request), not a 500.
    let bad = json!({"universe": "cache", "periods": [0]});
    let (st, p) = s.post("/api/v1/factors/evaluate", Role::Analyst, bad).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("periods")),
        "{p}"
    );
    let _: Value = p;
    // A viewer may not run an evaluation (it is a write-class, costly request).
    let (st, _, _) = s
        .call(
            Method::POST,
            "/api/v1/factors/evaluate",
            Some(viewer.as_str()),
            Some(json!({"universe": "cache"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // Deleting a universe.
    let (st, _) = s
        .as_key(Method::DELETE, "/api/v1/universes/pit", &analyst, None)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s.get("/api/v1/universes/pit", Role::Viewer).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
