//! End-to-end: the real router on a loopback port, driven by a real HTTP client.

use reqwest::{Method, StatusCode};
use serde_json::json;

use sextant_server::auth::{required_role, Role};
use sextant_server::Limits;

use crate::common;
use common::start;

/// `^[a-z]+(_[a-z0-9]+)*$`: snake_case, starting with a word (what generators turn into
/// function names).
fn snake_case_id(id: &str) -> bool {
    let mut parts = id.split('_');
    let first = parts.next().unwrap_or_default();
    !first.is_empty()
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// What client generators need of the served spec: every operation has a unique, descriptive
/// operationId (duplicates made openapi-python-client drop operations), and every JSON response
/// is a named component or an array of one (inline objects become `<op>Response200` models that
/// collide, bare `object`s become untyped dicts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_spec_names_every_operation_and_response() {
    let s = start(Limits::default()).await;
    let (status, spec, _) = s
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut ids = std::collections::BTreeMap::<String, Vec<String>>::new();
    let mut unnamed = Vec::new();
    let mut json_responses = 0;
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let at = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(snake_case_id(id), "{at}: operationId {id:?}");
            ids.entry(id.to_string()).or_default().push(at.clone());
            for (code, resp) in op["responses"].as_object().expect("responses") {
                for (ctype, media) in resp["content"].as_object().into_iter().flatten() {
                    if !ctype.ends_with("json") {
                        continue;
                    }
                    json_responses += 1;
                    let schema = &media["schema"];
                    let named = schema.get("$ref").is_some()
                        || (schema["type"] == "array" && schema["items"].get("$ref").is_some());
                    if !named {
                        unnamed.push(format!("{at} {code} {ctype}: {schema}"));
                    }
                }
            }
        }
    }
    let duplicated: Vec<_> = ids.iter().filter(|(_, at)| at.len() > 1).collect();
    assert!(
        duplicated.is_empty(),
        "duplicate operationIds: {duplicated:?}"
    );
    assert!(ids.len() > 100, "{} operations", ids.len());
    assert!(
        unnamed.is_empty(),
        "{} of {json_responses} JSON responses have no named schema:\n{}",
        unnamed.len(),
        unnamed.join("\n")
    );
    // The named schemas exist.
    let schemas = spec["components"]["schemas"].as_object().expect("schemas");
    let text = spec.to_string();
    for name in text
        .split("\"#/components/schemas/")
        .skip(1)
        .filter_map(|t| t.split('"').next())
    {
        assert!(schemas.contains_key(name), "dangling $ref {name}");
    }
    assert!(snake_case_id("get_backtest_equity") && snake_case_id("list_v2_items"));
    assert!(!snake_case_id("GetOne") && !snake_case_id("_x") && !snake_case_id("x__y"));
    assert!(!snake_case_id("2fa") && !snake_case_id(""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_matrix_over_every_route_in_the_served_spec() {
    let s = start(Limits::default()).await;
    let (status, spec, _) = s
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        spec["openapi"].as_str().map(|v| v.starts_with("3.1")),
        Some(true)
    );
    let paths = spec["paths"].as_object().expect("paths");
    let mut checked = 0;
    for (path, item) in paths {
        for method in item.as_object().expect("item").keys() {
            let m: Method = method.to_uppercase().parse().expect("method");
            let concrete = path
                .replace("{symbol}", "MSFT")
                .replace("{id}", "doesnotexist");
            let needed = required_role(&m, &concrete);
            let body = matches!(m, Method::POST | Method::PUT).then(|| json!({}));
            for (role, key) in [
                (None, None),
                (Some(Role::Viewer), Some(s.key(Role::Viewer))),
                (Some(Role::Analyst), Some(s.key(Role::Analyst))),
                (Some(Role::Admin), Some(s.key(Role::Admin))),
            ] {
                let (status, problem, ctype) =
                    s.call(m.clone(), &concrete, key, body.clone()).await;
                let expected_denial = match (needed, role) {
                    (None, _) => None,
                    (Some(_), None) => Some(StatusCode::UNAUTHORIZED),
                    (Some(n), Some(r)) if r < n => Some(StatusCode::FORBIDDEN),
                    _ => None,
                };
                match expected_denial {
                    Some(code) => {
                        assert_eq!(status, code, "{method} {concrete} as {role:?}");
                        assert_eq!(ctype, "application/problem+json");
                        assert_eq!(problem["status"], code.as_u16());
                    }
                    None => assert!(
                        status != StatusCode::UNAUTHORIZED
                            && status != StatusCode::FORBIDDEN
                            && !status.is_server_error(),
                        "{method} {concrete} as {role:?}: {status} {problem}"
                    ),
                }
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 4 * 15,
        "every route × every role ({checked} checked)"
    );
    // A revoked or made-up key is 401, not 403.
    let (status, _, _) = s
        .call(
            Method::GET,
            "/api/v1/strategies",
            Some("sx_abcdef_nope"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backtest_round_trip_and_validation_errors_name_fields() {
    let s = start(Limits::default()).await;
    let analyst = s.key(Role::Analyst);
    // Raw prices: the golden parity with backtesting.py is defined on the printed prices.
    let req = json!({"strategy": "sma_cross", "params": {"fast": 10, "slow": 20}, "symbols": ["MSFT"],
        "prices": "raw",
        "sim": {"costs": {"commission_pct": 0.002, "commission_fixed": 0.0, "slippage_bps": 0.0}}});
    let (status, run, _) = s
        .call(
            Method::POST,
            "/api/v1/backtests",
            Some(analyst),
            Some(req.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let id = run["id"].as_str().expect("id").to_string();
    assert!(
        (run["final_equity"].as_f64().expect("eq") - 13028.18).abs() < 0.01,
        "{run}"
    );
    let (_, again, _) = s
        .call(Method::POST, "/api/v1/backtests", Some(analyst), Some(req))
        .await;
    assert_eq!(again["id"], run["id"], "content-addressed id");
    // Runs belong to the keys that ran them: another key (here a viewer) does not see it.
    let viewer = s.key(Role::Viewer);
    let (status, _, _) = s
        .call(
            Method::GET,
            &format!("/api/v1/backtests/{id}"),
            Some(viewer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let viewer = analyst;
    let (status, got, _) = s
        .call(
            Method::GET,
            &format!("/api/v1/backtests/{id}"),
            Some(viewer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["final_equity"], run["final_equity"]);
    let (status, trades, _) = s
        .call(
            Method::GET,
            &format!("/api/v1/backtests/{id}/trades"),
            Some(viewer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        trades.as_array().map(Vec::len),
        run["trade_count"].as_u64().map(|n| n as usize)
    );
    let (status, curve, _) = s
        .call(
            Method::GET,
            &format!("/api/v1/backtests/{id}/equity"),
            Some(viewer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(curve.as_array().map(Vec::len), Some(3270));
    let (status, page, _) = s
        .call(Method::GET, "/api/v1/backtests?limit=1", Some(viewer), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));

    let bad = json!({"strategy": "sma_cross", "params": {"fast": 0}, "symbols": ["MSFT"]});
    let (status, problem, ctype) = s
        .call(Method::POST, "/api/v1/backtests", Some(analyst), Some(bad))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(ctype, "application/problem+json");
    assert_eq!(problem["errors"][0]["field"], "params.fast", "{problem}");
    let (status, problem, _) = s
        .call(
            Method::GET,
            "/api/v1/market-data/bars/MSFT?from=2010-01-01&to=2009-01-01",
            Some(viewer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "from");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_rate_and_body_size() {
    let limits = Limits {
        requests_per_second: 1.0,
        burst: 3.0,
        max_body_bytes: 1024,
        timeout_secs: 30,
        ..Limits::default()
    };
    let s = start(limits).await;
    let viewer = s.key(Role::Viewer);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            s.call(Method::GET, "/api/v1/strategies", Some(viewer), None)
                .await
                .0,
        );
    }
    assert_eq!(&statuses[..3], &[StatusCode::OK; 3]);
    assert_eq!(statuses[4], StatusCode::TOO_MANY_REQUESTS);
    let analyst = s.key(Role::Analyst);
    let big = json!({"name": "x".repeat(4096), "strategy": "sma_cross"});
    let (status, problem, _) = s
        .call(
            Method::POST,
            "/api/v1/strategies/configs",
            Some(analyst),
            Some(big),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_bars_follow_every_ingest() {
    let s = start(Limits::default()).await;
    let viewer = s.key(Role::Viewer);
    let path = "/api/v1/market-data/bars/MSFT?from=2008-10-10&to=2008-10-10";
    let (_, first, _) = s.call(Method::GET, path, Some(viewer), None).await;
    assert_eq!(first["bars"][0]["close"], 21.5);
    let (_, again, _) = s.call(Method::GET, path, Some(viewer), None).await;
    assert_eq!(again, first, "served from the response cache");
    // A vendor correction arrives: the next read must see it.
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("fix.csv");
    std::fs::write(&file, "Ticker,Date,Open,High,Low,Close,Volume\nMSFT,2008-10-10,21.79,22.35,20.65,21.55,228467500\n").expect("write");
    let cache = s.services.cache.clone();
    tokio::task::spawn_blocking(move || cache.ingest_file(&file, &Default::default()))
        .await
        .expect("join")
        .expect("ingest");
    let (_, fixed, _) = s.call(Method::GET, path, Some(viewer), None).await;
    assert_eq!(fixed["bars"][0]["close"], 21.55);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_bars_as_csv_and_arrow_ipc() {
    let s = start(Limits::default()).await;
    let viewer = s.key(Role::Viewer);
    let url = |fmt: &str| {
        format!(
            "{}/api/v1/market-data/bars/MSFT?from=2008-01-01&to=2008-12-31&format={fmt}",
            s.base
        )
    };
    let csv = s
        .client
        .get(url("csv"))
        .bearer_auth(viewer)
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    assert_eq!(csv.lines().count(), 254, "header + 253 sessions of 2008");
    let resp = s
        .client
        .get(url("arrow"))
        .bearer_auth(viewer)
        .send()
        .await
        .expect("arrow");
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.apache.arrow.stream"
    );
    let bytes = resp.bytes().await.expect("bytes");
    let reader =
        arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).expect("ipc");
    let rows: usize = reader.map(|b| b.expect("batch").num_rows()).sum();
    assert_eq!(rows, 253);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_stream_progress_and_refuse_late_cancels() {
    let s = start(Limits::default()).await;
    let analyst = s.key(Role::Analyst);
    let body = json!({"kind": "backtest", "params": {"strategy": "ema_cross", "symbols": ["AAPL", "IBM"]}});
    let (status, job, _) = s
        .call(Method::POST, "/api/v1/jobs", Some(analyst), Some(body))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().expect("id").to_string();
    // The SSE stream ends with the terminal event.
    let text = s
        .client
        .get(format!("{}/api/v1/jobs/{id}/events", s.base))
        .bearer_auth(analyst)
        .send()
        .await
        .expect("sse")
        .text()
        .await
        .expect("stream");
    assert!(text.contains("event: succeeded"), "{text}");
    let (_, done, _) = s
        .call(
            Method::GET,
            &format!("/api/v1/jobs/{id}"),
            Some(analyst),
            None,
        )
        .await;
    assert_eq!(done["status"], "succeeded");
    let run_id = done["result"]["run_id"].as_str().expect("run id");
    let (status, _, _) = s
        .call(
            Method::GET,
            &format!("/api/v1/backtests/{run_id}"),
            Some(analyst),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem, _) = s
        .call(
            Method::POST,
            &format!("/api/v1/jobs/{id}/cancel"),
            Some(analyst),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, problem, _) = s
        .call(
            Method::POST,
            "/api/v1/jobs",
            Some(analyst),
            Some(json!({"kind": "nope", "params": {}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "kind");
    // The owner lists its job; another key (here a viewer) sees only its own jobs: none.
    let (status, page, _) = s
        .call(
            Method::GET,
            "/api/v1/jobs?status=succeeded",
            Some(analyst),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    let (status, page, _) = s
        .call(
            Method::GET,
            "/api/v1/jobs?status=succeeded",
            Some(s.key(Role::Viewer)),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(0));
}

/// A report compares with buy and hold on the run's own (total-return) prices, and answers 409
/// once the run's bars have changed instead of describing a different run under its id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_uses_adjusted_buy_and_hold_and_refuses_changed_data() {
    let s = start(Limits::default()).await;
    let req =
        json!({"strategy": "sma_cross", "params": {"fast": 10, "slow": 20}, "symbols": ["MSFT"]});
    let (status, run) = s.post("/api/v1/backtests", Role::Analyst, req).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    assert_eq!(run["manifest"]["prices"], "total_return");
    let id = run["id"].as_str().expect("id").to_string();
    let (status, report) = s
        .get(&format!("/api/v1/backtests/{id}/report"), Role::Analyst)
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let facts = report["facts"].to_string();
    // MSFT buy and hold over the bundled range: −19.2 % on total-return prices (the raw
    // −69.0 % counts the 2003 split as a loss).
    assert!(facts.contains("-0.192"), "{facts}");
    assert!(!facts.contains("-0.689"), "{facts}");
    let msft = sextant_domain::Symbol::new("MSFT").expect("symbol");
    let mut bar = s
        .services
        .cache
        .bars(&msft, sextant_domain::Resolution::Daily, None, None)
        .expect("bars")[500]
        .clone();
    bar.volume += 100.0;
    s.services
        .cache
        .ingest_bars(&[bar], sextant_domain::Source::File, "revision")
        .expect("revise");
    let (status, problem) = s
        .get(&format!("/api/v1/backtests/{id}/report"), Role::Analyst)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("changed"),
        "{problem}"
    );
}

/// Every time on the wire is RFC 3339 in UTC with `Z`, and a bar's exchange-local session is a
/// field of its own: the bar's date for daily bars, the session model's session for intraday FX
/// (days roll at 17:00 New York), in JSON and CSV alike; equity points too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_are_rfc3339_utc_with_session_dates() {
    let s = start(Limits::default()).await;
    let (status, bars) = s
        .get(
            "/api/v1/market-data/bars/MSFT?from=2008-09-26&to=2008-09-29",
            Role::Viewer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bars}");
    assert_eq!(bars["bars"][0]["ts"], "2008-09-26T00:00:00Z", "{bars}");
    assert_eq!(bars["bars"][0]["session_date"], "2008-09-26");
    assert_eq!(bars["bars"][1]["ts"], "2008-09-29T00:00:00Z");
    let csv = s
        .client
        .get(format!(
            "{}/api/v1/market-data/bars/MSFT?from=2008-09-26&to=2008-09-29&format=csv",
            s.base
        ))
        .bearer_auth(s.key(Role::Viewer))
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("ts,session_date,open,high,low,close,volume,adj_close,dividend,split_coefficient,source")
    );
    let first = lines.next().expect("a bar");
    assert!(
        first.starts_with("2008-09-26T00:00:00Z,2008-09-26,"),
        "{first}"
    );
    let (_, symbols) = s.get("/api/v1/market-data/symbols", Role::Viewer).await;
    let msft = symbols
        .as_array()
        .and_then(|l| l.iter().find(|x| x["symbol"] == "MSFT"))
        .expect("MSFT");
    assert_eq!(msft["first"], "2000-03-01T00:00:00Z", "{msft}");

    let run = json!({"strategy": "sma_cross", "params": {"fast": 5, "slow": 20},
        "symbols": ["MSFT"], "from": "2008-09-01", "to": "2008-10-31"});
    let (status, run) = s.post("/api/v1/backtests", Role::Analyst, run).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let id = run["id"].as_str().expect("id");
    assert_eq!(run["first_ts"], "2008-09-02T00:00:00Z", "{run}");
    let (status, curve) = s
        .get(&format!("/api/v1/backtests/{id}/equity"), Role::Analyst)
        .await;
    assert_eq!(status, StatusCode::OK, "{curve}");
    assert_eq!(
        (&curve[0]["ts"], &curve[0]["session_date"]),
        (&json!("2008-09-02T00:00:00Z"), &json!("2008-09-02"))
    );

    // Hourly EUR/USD (UTC stamps) on Tuesday 2 July 2024: New York is on EDT, so the FX day
    // rolls at 21:00 UTC and the 21:00 and 22:00 bars belong to Wednesday's session.
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("eurusd_h1.csv");
    let mut text = String::from("Datetime,Open,High,Low,Close,Volume\n");
    for (i, hour) in (17..=22).enumerate() {
        let px = 1.0700 + i as f64 * 0.0001;
        text.push_str(&format!(
            "2024-07-02 {hour:02}:00:00,{px:.4},{:.4},{:.4},{:.4},100\n",
            px + 0.0002,
            px - 0.0001,
            px + 0.0001
        ));
    }
    std::fs::write(&file, text).expect("write");
    let opts = sextant_data::cache::FileOptions {
        symbol: Some(sextant_domain::Symbol::new("EURUSD").expect("symbol")),
        resolution: Some(sextant_domain::Resolution::Min60),
        tz: "UTC".into(),
        timestamps_utc: true,
        source: sextant_domain::Source::File,
        asset: Some(sextant_domain::AssetClass::Fx),
        ..Default::default()
    };
    let md = s.services.market_data.clone();
    tokio::task::spawn_blocking(move || md.ingest_file(&file, &opts))
        .await
        .expect("join")
        .expect("ingest");
    let (status, fx) = s
        .get(
            "/api/v1/market-data/bars/EURUSD?resolution=60min",
            Role::Viewer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{fx}");
    let by_ts: std::collections::BTreeMap<&str, &str> = fx["bars"]
        .as_array()
        .expect("bars")
        .iter()
        .filter_map(|b| Some((b["ts"].as_str()?, b["session_date"].as_str()?)))
        .collect();
    assert_eq!(
        by_ts.get("2024-07-02T20:00:00Z"),
        Some(&"2024-07-02"),
        "{fx}"
    );
    assert_eq!(
        by_ts.get("2024-07-02T21:00:00Z"),
        Some(&"2024-07-03"),
        "{fx}"
    );
    assert_eq!(
        by_ts.get("2024-07-02T22:00:00Z"),
        Some(&"2024-07-03"),
        "{fx}"
    );
}
