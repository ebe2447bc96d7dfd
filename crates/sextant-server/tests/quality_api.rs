//! End-to-end: the data-quality review queue over HTTP, from a corrupted ingest to what a
//! feature panel and a backtest see after the review.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use sextant_server::auth::Role;
use sextant_server::Limits;

use crate::common;
use common::{ingest_corrupted, start, Server};

/// The id part of an `sx_<id>_<secret>` key (what reviews record as the reviewer).
fn key_id(key: &str) -> String {
    key.split('_').nth(1).expect("key id").to_string()
}

/// The session date (YYYY-MM-DD) of a timestamp in either `T` or space form.
fn day(ts: &Value) -> String {
    ts.as_str().expect("ts")[..10].to_string()
}

fn shift(date: &str, days: i64) -> String {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date");
    (d + chrono::Duration::days(days)).to_string()
}

/// `ts` dates of the daily bars of `symbol` between two dates (empty on 404).
async fn bar_days(s: &Server, symbol: &str, from: &str, to: &str) -> Vec<String> {
    let path = format!("/api/v1/market-data/bars/{symbol}?from={from}&to={to}");
    let (status, body) = s.get(&path, Role::Viewer).await;
    if status == StatusCode::NOT_FOUND {
        return Vec::new();
    }
    assert_eq!(status, StatusCode::OK, "{body}");
    body["bars"]
        .as_array()
        .expect("bars")
        .iter()
        .map(|b| day(&b["ts"]))
        .collect()
}

async fn pending_total(s: &Server) -> u64 {
    let (status, ready, _) = s.call(Method::GET, "/ready", None, None).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    ready["quarantine"]["pending"].as_u64().expect("pending")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_queue_end_to_end() {
    let s = start(Limits::default()).await;
    ingest_corrupted(&s).await;
    let pending0 = pending_total(&s).await;
    let (status, page) = s
        .get(
            "/api/v1/quality/quarantine?status=pending&limit=500",
            Role::Viewer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page["total"].as_u64().expect("total") > 0, "{page}");
    assert!(page["total"].as_u64() <= Some(pending0));

    // Two held bars of the renamed series on weekdays that are not in `bars`.
    let mut picked: Vec<Value> = Vec::new();
    for item in page["items"].as_array().expect("items") {
        let sym = item["symbol"].as_str().expect("symbol");
        let d = day(&item["ts"]);
        let date = chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").expect("date");
        use chrono::Datelike;
        if !sym.starts_with('X') || date.weekday().number_from_monday() > 5 {
            continue;
        }
        if picked
            .iter()
            .any(|p| p["symbol"] == item["symbol"] && day(&p["ts"]) == d)
        {
            continue;
        }
        if bar_days(&s, sym, &d, &d).await.is_empty() {
            picked.push(item.clone());
        }
        if picked.len() == 2 {
            break;
        }
    }
    assert_eq!(picked.len(), 2, "two reviewable held weekday bars: {page}");
    let (approve, reject) = (&picked[0], &picked[1]);
    let (a_id, r_id) = (
        approve["id"].as_i64().unwrap(),
        reject["id"].as_i64().unwrap(),
    );
    let (a_sym, r_sym) = (
        approve["symbol"].as_str().unwrap(),
        reject["symbol"].as_str().unwrap(),
    );
    let (a_day, r_day) = (day(&approve["ts"]), day(&reject["ts"]));

    // Reviewing is an admin action; reading is not.
    for role in [Role::Viewer, Role::Analyst] {
        for verb in ["approve", "reject"] {
            let path = format!("/api/v1/quality/quarantine/{a_id}/{verb}");
            let (status, problem) = s.post(&path, role, json!({})).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{verb} as {role:?}: {problem}"
            );
        }
    }
    let (status, one) = s
        .get(&format!("/api/v1/quality/quarantine/{a_id}"), Role::Viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["status"], "pending");

    // Approve: merged into the cache and served by the bars endpoint.
    let admin_id = key_id(s.key(Role::Admin));
    let (status, out) = s
        .post(
            &format!("/api/v1/quality/quarantine/{a_id}/approve"),
            Role::Admin,
            json!({"note": "checked against the vendor"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["bar"]["status"], "approved", "{out}");
    assert_eq!(out["bar"]["reviewed_by"], admin_id.as_str(), "{out}");
    assert_eq!(out["bar"]["review_note"], "checked against the vendor");
    let path = format!("/api/v1/market-data/bars/{a_sym}?from={a_day}&to={a_day}");
    let (status, bars) = s.get(&path, Role::Viewer).await;
    assert_eq!(status, StatusCode::OK, "approved bar served: {bars}");
    let close = bars["bars"][0]["close"].as_f64().expect("close");
    assert!(
        (close - approve["close"].as_f64().unwrap()).abs() < 1e-9,
        "{bars}"
    );

    // Reject: recorded, and never in the bars.
    let (status, out) = s
        .post(
            &format!("/api/v1/quality/quarantine/{r_id}/reject"),
            Role::Admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["bar"]["status"], "rejected", "{out}");
    assert_eq!(out["bar"]["reviewed_by"], admin_id.as_str());
    assert!(out["merged_batch"].is_null(), "{out}");
    let around = bar_days(&s, r_sym, &shift(&r_day, -10), &shift(&r_day, 10)).await;
    assert!(!around.is_empty(), "neighbours of {r_day} are served");
    assert!(
        !around.contains(&r_day),
        "rejected {r_sym} {r_day}: {around:?}"
    );

    // A bar is reviewed once; unknown ids are 404.
    for (id, verb) in [(a_id, "reject"), (r_id, "approve"), (a_id, "approve")] {
        let path = format!("/api/v1/quality/quarantine/{id}/{verb}");
        let (status, problem) = s.post(&path, Role::Admin, json!({})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{verb} #{id}: {problem}");
    }
    let (status, _) = s
        .post(
            "/api/v1/quality/quarantine/987654321/approve",
            Role::Admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .get("/api/v1/quality/quarantine/987654321", Role::Viewer)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, one) = s
        .get(&format!("/api/v1/quality/quarantine/{r_id}"), Role::Viewer)
        .await;
    assert_eq!(one["status"], "rejected");
    let (_, page) = s
        .get("/api/v1/quality/quarantine?status=rejected", Role::Viewer)
        .await;
    assert!(page["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == r_id));
    assert_eq!(
        pending_total(&s).await,
        pending0 - 2,
        "two reviews left the queue"
    );

    // A rejected row never reaches a feature...
    let (status, mv) = s
        .post(
            "/api/v1/features/technical/materialize",
            Role::Analyst,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{mv}");
    let panel_days = |sym: &str, d: &str| {
        format!(
            "/api/v1/features/technical?symbols={sym}&from={}&to={}",
            shift(d, -10),
            shift(d, 10)
        )
    };
    let (status, panel) = s.get(&panel_days(r_sym, &r_day), Role::Viewer).await;
    assert_eq!(status, StatusCode::OK, "{panel}");
    let days: Vec<String> = panel["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| day(&r["ts"]))
        .collect();
    assert!(!days.is_empty(), "{panel}");
    assert!(
        !days.contains(&r_day),
        "rejected day has no feature row: {days:?}"
    );
    let (_, panel) = s.get(&panel_days(a_sym, &a_day), Role::Viewer).await;
    let days: Vec<String> = panel["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| day(&r["ts"]))
        .collect();
    assert!(
        days.contains(&a_day),
        "approved day has a feature row: {days:?}"
    );

    // ...nor a backtest.
    let req = json!({"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbols": [r_sym],
        "from": shift(&r_day, -200), "to": shift(&r_day, 120)});
    let (status, run) = s.post("/api/v1/backtests", Role::Analyst, req).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let id = run["id"].as_str().expect("run id");
    let (status, curve) = s
        .get(&format!("/api/v1/backtests/{id}/equity"), Role::Analyst)
        .await;
    assert_eq!(status, StatusCode::OK, "{curve}");
    let curve_days: Vec<String> = curve
        .as_array()
        .unwrap()
        .iter()
        .map(|p| day(&p["ts"]))
        .collect();
    assert!(curve_days.len() > 100, "{}", curve_days.len());
    assert!(
        curve_days.contains(&around[0]),
        "curve covers the neighbourhood"
    );
    assert!(
        !curve_days.contains(&r_day),
        "rejected day {r_day} is not in the equity curve"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quality_reads_and_parameter_validation() {
    let s = start(Limits::default()).await;
    ingest_corrupted(&s).await;
    let (status, ready, _) = s.call(Method::GET, "/ready", None, None).await;
    assert_eq!(status, StatusCode::OK);
    for k in ["pending", "approved", "rejected"] {
        assert!(ready["quarantine"][k].is_u64(), "{ready}");
    }
    let (status, summary) = s.get("/api/v1/quality/summary", Role::Viewer).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["pending"], ready["quarantine"]["pending"]);
    assert!(summary["pending"].as_u64().unwrap() > 0, "{summary}");
    let (status, page) = s
        .get(
            "/api/v1/quality/quarantine?symbol=XMSFT&limit=5",
            Role::Viewer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().expect("items");
    assert!(!items.is_empty() && items.len() <= 5, "{page}");
    assert!(items.iter().all(|i| i["symbol"] == "XMSFT"));
    let ids: Vec<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");

    for path in [
        "/api/v1/quality/flags?symbol=XMSFT",
        "/api/v1/quality/gaps",
        "/api/v1/quality/gaps?symbol=XMSFT",
        "/api/v1/quality/daily?from=2000-01-01&to=2013-12-31",
    ] {
        let (status, body) = s.get(path, Role::Viewer).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let items = body["items"].as_array().expect("items");
        assert!(!items.is_empty(), "{path}: {body}");
    }
    let (_, flags) = s
        .get("/api/v1/quality/flags?symbol=XMSFT&limit=3", Role::Viewer)
        .await;
    let flags = flags["items"].as_array().unwrap();
    assert_eq!(flags.len(), 3);
    // Gaps obey their limit too (the corrupted copy has dozens of dropped days).
    let (_, all_gaps) = s.get("/api/v1/quality/gaps", Role::Viewer).await;
    assert!(
        all_gaps["items"].as_array().unwrap().len() > 2,
        "{all_gaps}"
    );
    let (_, gaps) = s.get("/api/v1/quality/gaps?limit=2", Role::Viewer).await;
    assert_eq!(gaps["items"].as_array().unwrap().len(), 2, "{gaps}");
    assert!(flags.iter().all(|f| f["symbol"] == "XMSFT"));
    let (_, daily) = s
        .get(
            "/api/v1/quality/daily?symbol=XMSFT&from=2000-01-01&to=2013-12-31",
            Role::Viewer,
        )
        .await;
    assert!(daily["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["symbol"] == "XMSFT"));

    // Invalid values are field-level validation problems (422, the API's convention, see
    // api.rs); a value that does not parse at all is a query rejection (400).
    for (path, field) in [
        ("/api/v1/quality/quarantine?status=bogus", "status"),
        ("/api/v1/quality/quarantine?limit=0", "limit"),
        ("/api/v1/quality/quarantine?limit=501", "limit"),
        ("/api/v1/quality/quarantine?symbol=bad%20symbol!", "symbol"),
        ("/api/v1/quality/flags?limit=0", "limit"),
        ("/api/v1/quality/flags?symbol=bad%20symbol!", "symbol"),
        ("/api/v1/quality/gaps?symbol=bad%20symbol!", "symbol"),
        (
            "/api/v1/quality/daily?from=2010-01-02&to=2010-01-01",
            "from",
        ),
    ] {
        let (status, problem, ctype) = s
            .call(Method::GET, path, Some(s.key(Role::Viewer)), None)
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {problem}"
        );
        assert_eq!(ctype, "application/problem+json", "{path}");
        assert_eq!(problem["errors"][0]["field"], field, "{path}: {problem}");
    }
    for path in [
        "/api/v1/quality/quarantine?limit=-1",
        "/api/v1/quality/quarantine?nope=1",
        "/api/v1/quality/daily?from=2010-13-01",
        "/api/v1/quality/quarantine/notanumber",
    ] {
        let (status, problem, ctype) = s
            .call(Method::GET, path, Some(s.key(Role::Viewer)), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {problem}");
        assert_eq!(ctype, "application/problem+json", "{path}");
    }
    // A review note is bounded and the body shape is checked.
    let (_, page) = s
        .get(
            "/api/v1/quality/quarantine?status=pending&limit=1",
            Role::Viewer,
        )
        .await;
    let id = page["items"][0]["id"].as_i64().expect("id");
    let path = format!("/api/v1/quality/quarantine/{id}/reject");
    let (status, problem) = s
        .post(&path, Role::Admin, json!({"note": "x".repeat(1001)}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "note");
    let (status, problem) = s.post(&path, Role::Admin, json!({"verdict": "no"})).await;
    assert!(status.is_client_error(), "{status} {problem}");
    let (_, one) = s
        .get(&format!("/api/v1/quality/quarantine/{id}"), Role::Viewer)
        .await;
    assert_eq!(one["status"], "pending", "failed reviews change nothing");
    // Without a key, the queue is not readable.
    let (status, _, _) = s
        .call(Method::GET, "/api/v1/quality/summary", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
