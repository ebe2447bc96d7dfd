//! The forecast routes end to end: a symbol's forecast as JSON and as an SVG fan chart, the
//! stored forecast read back by id, calibration, portfolio and backtest forecasts that reveal
//! nothing of another key's objects, and bad requests answered as problem+json, never a 500.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sextant_server::auth::Role;
use sextant_server::Limits;

use crate::common;
use common::{start, Server};

const PROBLEM: &str = "application/problem+json";

fn len(v: &Value) -> Option<usize> {
    v.as_array().map(Vec::len)
}

/// A GET with `key` (none: anonymous), returning status, body and content type.
async fn get(s: &Server, path: &str, key: Option<&str>) -> (StatusCode, Value, String) {
    s.call(Method::GET, path, key, None).await
}

/// Asserts a client error answered as a problem document (not a 500, not plain text).
fn assert_problem(status: StatusCode, body: &Value, ctype: &str, what: &str) {
    assert!(status.is_client_error(), "{what}: {status} {body}");
    assert!(ctype.starts_with(PROBLEM), "{what}: content type {ctype:?}");
    assert_eq!(body["status"], json!(status.as_u16()), "{what}: {body}");
}

/// The field a 422 validation problem names.
fn field(body: &Value) -> Option<&str> {
    body["errors"][0]["field"].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symbol_forecast_as_json_svg_and_stored_quantiles() {
    let s = start(Limits::default()).await;
    let viewer = s.key(Role::Viewer).to_string();
    let path = "/api/v1/market-data/forecast/AAPL?horizon=5&paths=500&seed=3";
    let (status, f, ctype) = get(&s, path, Some(viewer.as_str())).await;
    assert_eq!(status, StatusCode::OK, "{f}");
    assert!(ctype.starts_with("application/json"), "{ctype}");
    assert_eq!(f["target"], "AAPL");
    assert_eq!(f["target_kind"], "symbol");
    assert_eq!(f["model"], "fhs_gjr", "the default model of a symbol");
    assert_eq!(f["horizon"], 5);
    assert_eq!(f["seed"], 3);
    assert_eq!(f["stored"], true);
    assert_eq!(
        f["quantile_levels"],
        json!([0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99])
    );
    assert_eq!(len(&f["fan"]), Some(5), "{f}");
    for p in f["fan"].as_array().expect("fan") {
        let q: Vec<f64> = p["quantiles"]
            .as_array()
            .expect("quantiles")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        assert_eq!(q.len(), 9, "{p}");
        assert!(q.windows(2).all(|w| w[0] <= w[1]), "{p}");
        assert!(p["date"].is_string(), "{p}");
    }
    assert_eq!(len(&f["var"]), Some(4), "{f}");
    assert_eq!(len(&f["baselines"]), Some(2), "{f}");
    assert_eq!(
        f["history"]["last"], "2013-03-01",
        "the last session of the sample"
    );
    let start_value = f["start_value"].as_f64().expect("start value");
    assert!(start_value > 0.0);

    // The stored forecast, by its id.
    let id = f["forecast_id"].as_str().expect("id").to_string();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let (status, stored, _) = get(
        &s,
        &format!("/api/v1/forecasts/{id}"),
        Some(viewer.as_str()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["forecast_id"], json!(id));
    assert_eq!(stored["target_kind"], "symbol");
    assert_eq!(stored["target"], "AAPL");
    assert_eq!(stored["model"], "fhs_gjr");
    assert_eq!(stored["horizon"], 5);
    assert_eq!(stored["as_of"], "2013-03-01");
    assert_eq!(stored["start_value"], f["start_value"]);
    assert_eq!(stored["snapshot"], f["history"]["snapshot"]);
    assert_eq!(stored["request"]["paths"], 500, "{stored}");
    let quantiles = stored["quantiles"].as_array().expect("quantiles");
    assert_eq!(quantiles.len(), 9 * 5);
    // The stored forecast is scored against what followed: nothing yet, its origin is the
    // last bar.
    let (status, score, _) = get(
        &s,
        "/api/v1/market-data/forecast/AAPL/scores",
        Some(viewer.as_str()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{score}");
    assert!(
        score["forecasts"].as_u64().is_some_and(|n| n >= 1),
        "{score}"
    );
    assert_eq!(score["pending"], score["forecasts"], "{score}");
    assert_eq!(score["scored_days"], 0, "{score}");
    let (status, _, _) = get(
        &s,
        "/api/v1/market-data/forecast/IBM/scores",
        Some(viewer.as_str()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no stored forecast of IBM");
    // Ordered by day then level, the fan's values.
    for (i, q) in quantiles.iter().enumerate() {
        let (day, k) = (i / 9, i % 9);
        assert_eq!(q["day"], json!(day + 1), "{q}");
        assert_eq!(q["quantile"], f["quantile_levels"][k], "{q}");
        assert_eq!(q["value"], f["fan"][day]["quantiles"][k], "{q}");
    }

    // The fan chart.
    let (status, body, ctype) = get(&s, &format!("{path}&format=svg"), Some(viewer.as_str())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ctype, "image/svg+xml");
    let svg = body.as_str().expect("SVG text");
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    assert!(svg.trim_end().ends_with("</svg>"));

    // Unknown ids: 404, whether well-formed or not.
    for bad in ["0123456789abcdef0123456789abcdef", "not-a-forecast"] {
        let (status, body, ctype) = get(
            &s,
            &format!("/api/v1/forecasts/{bad}"),
            Some(viewer.as_str()),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}: {body}");
        assert_problem(status, &body, &ctype, bad);
    }

    // No key, no forecast.
    let (status, body, ctype) = get(&s, path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_problem(status, &body, &ctype, "no key");
    let (status, _, _) = get(&s, &format!("/api/v1/forecasts/{id}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_forecast_requests_are_problems_not_500s() {
    let s = start(Limits::default()).await;
    let viewer = s.key(Role::Viewer).to_string();
    let base = "/api/v1/market-data/forecast";

    // Values the route validates itself: 422 naming the field.
    for (query, name) in [
        ("model=arima", "model"),
        ("format=pdf", "format"),
        ("regime_model=no%20such!", "regime_model"),
    ] {
        let (status, body, ctype) =
            get(&s, &format!("{base}/AAPL?{query}"), Some(viewer.as_str())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_problem(status, &body, &ctype, query);
        assert_eq!(field(&body), Some(name), "{query}: {body}");
    }

    // An unknown symbol.
    let (status, body, ctype) =
        get(&s, &format!("{base}/ZZZZ?paths=500"), Some(viewer.as_str())).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_problem(status, &body, &ctype, "ZZZZ");

    // Numbers out of range are refused by the engine (422); numbers that do not parse, and
    // parameters that do not exist, by the query extractor (400). Either way a 4xx problem.
    for query in [
        "horizon=0",
        "horizon=1001",
        "paths=50",
        "paths=100001",
        "paths=20000&horizon=600",
        "model=regime",
    ] {
        let (status, body, ctype) =
            get(&s, &format!("{base}/AAPL?{query}"), Some(viewer.as_str())).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {status} {body}"
        );
        assert_problem(status, &body, &ctype, query);
    }
    for query in ["horizon=-1", "paths=many", "horizn=5"] {
        let (status, body, ctype) =
            get(&s, &format!("{base}/AAPL?{query}"), Some(viewer.as_str())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_problem(status, &body, &ctype, query);
    }
    // A regime model that was never fitted.
    let (status, body, ctype) = get(
        &s,
        &format!("{base}/AAPL?model=regime&regime_model=nosuch&paths=500"),
        Some(viewer.as_str()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_problem(status, &body, &ctype, "regime model nosuch");

    // Calibration parameters.
    for (query, name) in [
        ("horizons=0", "horizons"),
        ("models=fhs,arima", "models"),
        ("paths=50", "paths"),
        ("step=0", "step"),
    ] {
        let (status, body, ctype) = get(
            &s,
            &format!("{base}/AAPL/calibration?{query}"),
            Some(viewer.as_str()),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_problem(status, &body, &ctype, query);
        assert_eq!(field(&body), Some(name), "{query}: {body}");
    }

    // A date outside the supported range names the parameter the caller sent.
    let (status, body, ctype) = get(
        &s,
        &format!("{base}/AAPL?as_of=1700-01-01"),
        Some(viewer.as_str()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_problem(status, &body, &ctype, "as_of 1700");
    assert_eq!(field(&body), Some("as_of"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calibration_lists_every_model_beside_the_baselines() {
    let s = start(Limits::default()).await;
    let (status, c) = s
        .get(
            "/api/v1/market-data/forecast/AAPL/calibration?step=20&paths=200",
            Role::Viewer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["target"], "AAPL");
    assert_eq!(c["assets"], json!(["AAPL"]));
    assert!(c["origins"].as_u64().is_some_and(|n| n > 100), "{c}");
    let models = c["models"].as_array().expect("models");
    let names: Vec<&str> = models.iter().filter_map(|m| m["model"].as_str()).collect();
    let defaults: Vec<String> = sextant_forecasts::EvalSpec::default()
        .models
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(names, defaults, "the default models, in order");
    for name in ["naive", "historical", "bootstrap", "garch", "fhs"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    for m in models {
        let baseline = matches!(m["model"].as_str(), Some("naive" | "historical"));
        assert_eq!(m["baseline"], json!(baseline), "{m}");
        assert!(m.get("error").is_none(), "{m}");
        assert_eq!(len(&m["horizons"]), Some(2), "{m}");
        for h in m["horizons"].as_array().expect("horizons") {
            for b in h["bands"].as_array().expect("bands") {
                let cov = b["coverage"].as_f64().expect("coverage");
                assert!((0.0..=1.0).contains(&cov), "{b}");
            }
            assert_eq!(len(&h["var"]), Some(2), "{h}");
        }
    }
    assert_eq!(len(&c["best"]), Some(2), "{c}");
    assert_eq!(c["spec"]["step"], 20);
    assert_eq!(c["spec"]["paths"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portfolio_and_backtest_forecasts_are_visible_to_their_owner_only() {
    let s = start(Limits::default()).await;
    let alice = s.new_key(Role::Analyst).await;
    let bob = s.new_key(Role::Analyst).await;
    let viewer = s.key(Role::Viewer).to_string();

    let (status, p) = s
        .as_key(
            Method::POST,
            "/api/v1/portfolios",
            &alice,
            Some(json!({"name": "forecast me", "base_cash": 10000.0})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let id = p["id"].as_str().expect("portfolio id").to_string();
    let (status, tx) = s
        .as_key(
            Method::POST,
            &format!("/api/v1/portfolios/{id}/transactions"),
            &alice,
            Some(
                json!({"kind": "buy", "date": "2012-06-01", "symbol": "MSFT",
                        "quantity": 100.0, "price": 28.0}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tx}");

    let path = format!("/api/v1/portfolios/{id}/forecast?paths=500&horizon=5");
    let (status, f, _) = get(&s, &path, Some(alice.as_str())).await;
    assert_eq!(status, StatusCode::OK, "{f}");
    assert_eq!(f["target_kind"], "portfolio");
    assert_eq!(f["target"], json!(id));
    assert_eq!(f["assets"], json!(["MSFT"]));
    assert_eq!(len(&f["fan"]), Some(5));
    let cash = f["cash"].as_f64().expect("cash");
    assert!(
        cash > 7_000.0,
        "10,000 less 2,800 spent, plus dividends: {cash}"
    );
    let fid = f["forecast_id"].as_str().expect("forecast id").to_string();

    // Another key's portfolio does not exist, as far as that key can tell.
    for (who, key) in [("bob", bob.as_str()), ("viewer", viewer.as_str())] {
        let (status, body, ctype) = get(&s, &path, Some(key)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who}: {body}");
        assert_problem(status, &body, &ctype, who);
        let (status, body, _) = get(&s, &format!("/api/v1/forecasts/{fid}"), Some(key)).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{who} reads alice's stored portfolio forecast: {body}"
        );
    }
    let (status, stored, _) = get(
        &s,
        &format!("/api/v1/forecasts/{fid}"),
        Some(alice.as_str()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["target_kind"], "portfolio");
    assert_eq!(len(&stored["quantiles"]), Some(9 * 5));

    // A portfolio holding only cash has nothing to forecast.
    let (status, empty) = s
        .as_key(
            Method::POST,
            "/api/v1/portfolios",
            &alice,
            Some(json!({"name": "cash", "base_cash": 500.0})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{empty}");
    let empty_id = empty["id"].as_str().expect("id");
    let (status, body, ctype) = get(
        &s,
        &format!("/api/v1/portfolios/{empty_id}/forecast?paths=500"),
        Some(alice.as_str()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_problem(status, &body, &ctype, "cash only");

    // A backtest's equity, from its final equity; another key's run is not found.
    let (status, run) = s
        .as_key(
            Method::POST,
            "/api/v1/backtests",
            &alice,
            Some(json!({"strategy": "sma_cross", "symbols": ["IBM"], "from": "2010-01-01"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let run_id = run["id"].as_str().expect("run id").to_string();
    let path = format!("/api/v1/backtests/{run_id}/forecast?paths=500&horizon=5");
    let (status, f, _) = get(&s, &path, Some(alice.as_str())).await;
    assert_eq!(status, StatusCode::OK, "{f}");
    assert_eq!(f["target_kind"], "backtest");
    assert_eq!(f["target"], json!(run_id));
    let (start_value, final_equity) = (
        f["start_value"].as_f64().expect("start value"),
        run["final_equity"].as_f64().expect("final equity"),
    );
    assert!(
        (start_value - final_equity).abs() <= 1e-9 * final_equity.abs(),
        "{start_value} vs {final_equity}"
    );
    let (status, body, _) = get(&s, &path, Some(bob.as_str())).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "bob: {body}");
    let bid = f["forecast_id"].as_str().expect("forecast id");
    let (status, body, _) = get(&s, &format!("/api/v1/forecasts/{bid}"), Some(bob.as_str())).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "bob reads alice's run forecast: {body}"
    );
}
