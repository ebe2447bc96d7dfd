//! End-to-end: the feature store, model training as a job, scoring, the registry and an
//! ML-signal backtest over HTTP.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use sextant_server::auth::Role;
use sextant_server::Limits;

use crate::common;
use common::{start, Server};

/// Polls a job until it is terminal (60 s at most).
async fn wait_job(s: &Server, id: &str) -> Value {
    s.wait_job(id, std::time::Duration::from_secs(60)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feature_views_panels_and_validation() {
    let s = start(Limits::default()).await;
    let (status, list) = s.get("/api/v1/features", Role::Viewer).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let technical = list["views"]
        .as_array()
        .expect("views")
        .iter()
        .find(|v| v["name"] == "technical")
        .cloned()
        .expect("technical view");
    let version = technical["version"].as_str().expect("version").to_string();
    assert!(!version.is_empty());
    assert!(technical["features"].as_array().map(Vec::len) > Some(0));

    let panel = "/api/v1/features/technical?symbols=MSFT,AAPL&from=2010-01-04&to=2010-01-08";
    let (status, problem, ctype) = s
        .call(Method::GET, panel, Some(s.key(Role::Viewer)), None)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "not materialised yet: {problem}"
    );
    assert_eq!(ctype, "application/problem+json");
    let (status, problem) = s
        .get("/api/v1/features/nope?symbols=MSFT", Role::Viewer)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");

    let materialize = "/api/v1/features/technical/materialize";
    let (status, _) = s.post(materialize, Role::Viewer, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, mv) = s.post(materialize, Role::Analyst, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{mv}");
    assert!(mv["rows"].as_u64().expect("rows") > 10_000, "{mv}");
    assert_eq!(mv["version"], version.as_str());
    let (_, list) = s.get("/api/v1/features", Role::Viewer).await;
    let names: Vec<&Value> = list["materialized"].as_array().unwrap().iter().collect();
    assert!(names.iter().any(|m| m["name"] == "technical"), "{list}");

    let (status, body) = s.get(panel, Role::Viewer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], version.as_str());
    let features: Vec<String> = body["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    let rows = body["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 10, "2 symbols x 5 sessions: {body}");
    for row in rows {
        assert!(row["symbol"] == "MSFT" || row["symbol"] == "AAPL", "{row}");
        let ts = row["ts"].as_str().expect("ts");
        assert!(("2010-01-04".."2010-01-09").contains(&&ts[..10]), "{ts}");
        let numeric = features.iter().filter(|f| row[f.as_str()].is_f64()).count();
        assert_eq!(
            numeric,
            features.len(),
            "every feature defined in 2010: {row}"
        );
    }
    let (_, one) = s
        .get(
            "/api/v1/features/technical?symbols=MSFT&from=2010-01-04&to=2010-01-04",
            Role::Viewer,
        )
        .await;
    assert_eq!(one["rows"].as_array().map(Vec::len), Some(1), "{one}");

    let many = (0..51)
        .map(|i| format!("S{i}"))
        .collect::<Vec<_>>()
        .join(",");
    for (query, field) in [
        ("symbols=".to_string(), "symbols"),
        ("symbols=,,".to_string(), "symbols"),
        (format!("symbols={many}"), "symbols"),
        (
            "symbols=MSFT&from=2010-02-01&to=2010-01-01".to_string(),
            "from",
        ),
        ("symbols=bad%20symbol!".to_string(), "symbol"),
    ] {
        let path = format!("/api/v1/features/technical?{query}");
        let (status, problem, ctype) = s
            .call(Method::GET, &path, Some(s.key(Role::Viewer)), None)
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {problem}"
        );
        assert_eq!(ctype, "application/problem+json");
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    let (status, _) = s.get("/api/v1/features/technical", Role::Viewer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "symbols is required");
}

const TRAIN: &str = r#"{"name": "api", "symbols": ["MSFT", "IBM"], "train_to": "2009-12-31",
    "test_from": "2010-01-01", "validation": {"kind": "none"}, "params": {"n_trees": 20}, "seed": 3}"#;

/// Trains the `api` model through the API (a `train_signal` job) and returns its id.
async fn train_api_model(s: &Server) -> String {
    let req: Value = serde_json::from_str(TRAIN).expect("request");
    let (status, job) = s.post("/api/v1/models/train", Role::Analyst, req).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["kind"], "train_signal", "{job}");
    let done = wait_job(s, job["id"].as_str().expect("job id")).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let id = done["result"]["model_id"].as_str().expect("model id");
    assert!(id.starts_with("mdl_"), "{done}");
    id.to_string()
}

/// An `ml_signal` backtest of MSFT from 2010 with the `api` model.
fn ml_backtest() -> Value {
    json!({"strategy": "ml_signal", "params": {"model": "api", "lower": 0.48, "upper": 0.52},
        "symbols": ["MSFT"], "from": "2010-01-01"})
}

/// The same backtest as a `backtest` job (`BacktestService::run`): its run summary.
async fn ml_backtest_as_job(s: &Server) -> Value {
    let body = json!({"kind": "backtest", "params": ml_backtest()});
    let (status, job) = s.post("/api/v1/jobs", Role::Analyst, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let done = wait_job(s, job["id"].as_str().expect("job id")).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    done["result"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_score_promote_and_backtest() {
    let s = start(Limits::default()).await;
    let req: Value = serde_json::from_str(TRAIN).expect("request");
    let (status, _) = s.post("/api/v1/models/train", Role::Viewer, req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Bodies that are not a training request are refused at submission (not a 500).
    for bad in [
        json!({"name": ""}),
        json!({"name": "api"}),
        json!({"name": "api", "symbols": "MSFT"}),
        json!({"name": "api", "symbols": ["MSFT"], "validation": {"kind": "bogus"}}),
        json!({"name": "api", "symbols": ["MSFT"], "unknown": 1}),
        json!({"name": "api", "symbols": ["bad symbol!"]}),
    ] {
        let (status, problem) = s
            .post("/api/v1/models/train", Role::Analyst, bad.clone())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {problem}");
    }
    let model_id = train_api_model(&s).await;

    let (status, models) = s.get("/api/v1/models", Role::Viewer).await;
    assert_eq!(status, StatusCode::OK);
    let items = models["items"].as_array().expect("items");
    assert!(
        items.iter().any(|m| m["id"] == model_id.as_str()),
        "{models}"
    );
    let (_, named) = s.get("/api/v1/models?name=nope", Role::Viewer).await;
    assert_eq!(named["items"].as_array().map(Vec::len), Some(0));
    let (status, rec) = s
        .get(&format!("/api/v1/models/{model_id}"), Role::Viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{rec}");
    let auc = rec["metrics"]["holdout"]["auc"]
        .as_f64()
        .expect("holdout auc");
    assert!((0.0..=1.0).contains(&auc), "{auc}");
    assert!(!rec["data_snapshot"].as_str().expect("snapshot").is_empty());
    assert_eq!(rec["stage"], "staging");
    assert_eq!(rec["seed"], 3);
    let (status, _) = s.get("/api/v1/models/mdl_doesnotexist", Role::Viewer).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, sig) = s
        .get("/api/v1/signals/MSFT?model=api&explain=true", Role::Viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{sig}");
    assert_eq!(sig["model_id"], model_id.as_str());
    let p = sig["probability"].as_f64().expect("probability");
    assert!(p > 0.0 && p < 1.0, "{p}");
    let shap = sig["shap"].as_array().expect("shap");
    assert_eq!(shap.len(), rec["features"].as_array().unwrap().len());
    let sum: f64 = shap
        .iter()
        .map(|pair| pair[1].as_f64().expect("shap value"))
        .sum();
    let base = sig["expected_value"].as_f64().expect("expected value");
    let logit = (p / (1.0 - p)).ln();
    assert!(
        (sum + base - logit).abs() < 1e-9,
        "{sum} + {base} vs {logit}"
    );
    let (_, plain) = s
        .get(
            &format!("/api/v1/signals/MSFT?model={model_id}"),
            Role::Viewer,
        )
        .await;
    assert_eq!(plain["probability"], sig["probability"], "by id = by name");
    assert!(plain["shap"].is_null(), "{plain}");
    let (status, problem, ctype) = s
        .call(
            Method::GET,
            "/api/v1/signals/MSFT?model=nope",
            Some(s.key(Role::Viewer)),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    assert_eq!(ctype, "application/problem+json");
    let (status, _) = s.get("/api/v1/signals/ZZZZ?model=api", Role::Viewer).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no features for an uncached symbol"
    );
    let (status, _) = s.get("/api/v1/signals/MSFT", Role::Viewer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "model is required");

    let promote = format!("/api/v1/models/{model_id}/promote");
    let (status, _) = s
        .post(&promote, Role::Viewer, json!({"stage": "production"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = s
        .post(&promote, Role::Analyst, json!({"stage": "bogus"}))
        .await;
    assert!(status.is_client_error(), "{status} {problem}");
    let (status, out) = s
        .post(&promote, Role::Analyst, json!({"stage": "production"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["stage"], "production");
    let (_, rec) = s
        .get(&format!("/api/v1/models/{model_id}"), Role::Viewer)
        .await;
    assert_eq!(rec["stage"], "production");
    let (status, _) = s
        .post(
            "/api/v1/models/mdl_doesnotexist/promote",
            Role::Analyst,
            json!({"stage": "staging"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The ml_signal strategy: inline (201) and as a job, which trades on the probabilities.
    let (status, run) = s
        .post("/api/v1/backtests", Role::Analyst, ml_backtest())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    assert!(run["trade_count"].is_u64(), "{run}");
    let job_run = ml_backtest_as_job(&s).await;
    assert!(
        job_run["trade_count"].as_u64().expect("trades") > 0,
        "{job_run}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_ml_signal_backtest_trades_on_the_model() {
    let s = start(Limits::default()).await;
    train_api_model(&s).await;
    let job_run = ml_backtest_as_job(&s).await;
    assert!(job_run["trade_count"].as_u64() > Some(0), "{job_run}");
    let (status, run) = s
        .post("/api/v1/backtests", Role::Analyst, ml_backtest())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let mut wrong = Vec::new();
    if run["trade_count"] != job_run["trade_count"] {
        wrong.push(format!(
            "inline {} trades, job {}",
            run["trade_count"], job_run["trade_count"]
        ));
    }
    // Both paths name the run by its request and data: one id for two different results.
    let id = job_run["run_id"].as_str().expect("run id");
    let (_, stored) = s
        .get(&format!("/api/v1/backtests/{id}"), Role::Analyst)
        .await;
    if run["id"] == id && stored["trade_count"] != job_run["trade_count"] {
        wrong.push(format!(
            "run {id} stored with {} trades",
            stored["trade_count"]
        ));
    }
    let bad = json!({"strategy": "ml_signal", "params": {"model": "nope"}, "symbols": ["MSFT"]});
    let (status, _) = s.post("/api/v1/backtests", Role::Analyst, bad).await;
    if !status.is_client_error() {
        wrong.push(format!("unknown model: {status}"));
    }
    // The same rule written in the language reads the model's probabilities through
    // ml_proba("api") and trades exactly as ml_signal does.
    let definition = json!({"name": "ml_rule", "let": {"p": "ml_proba(\"api\")"},
        "long": {"entry": "p > 0.52", "exit": "p < 0.48"}});
    let rules = json!({"strategy": "rules", "params": {"definition": definition},
        "symbols": ["MSFT"], "from": "2010-01-01"});
    let (status, by_rule) = s.post("/api/v1/backtests", Role::Analyst, rules).await;
    if status != StatusCode::CREATED
        || by_rule["trade_count"] != run["trade_count"]
        || by_rule["final_equity"] != run["final_equity"]
    {
        wrong.push(format!(
            "rule {status}: {} trades, equity {} vs ml_signal {} and {}",
            by_rule["trade_count"],
            by_rule["final_equity"],
            run["trade_count"],
            run["final_equity"]
        ));
    }
    if by_rule["manifest"]["inputs"]["models"]["ml_proba:api"]["name"] != "api" {
        wrong.push(format!("provenance: {}", by_rule["manifest"]["inputs"]));
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_training_request_is_refused_at_submission() {
    let s = start(Limits::default()).await;
    let mut accepted = Vec::new();
    for bad in [
        json!({"name": "", "symbols": ["MSFT"]}),
        json!({"name": "mdl_x", "symbols": ["MSFT"]}),
        json!({"name": "api", "symbols": []}),
        json!({"name": "api", "symbols": ["MSFT"], "train_to": "2010-01-01", "test_from": "2009-01-01"}),
    ] {
        let (status, body) = s
            .post("/api/v1/models/train", Role::Analyst, bad.clone())
            .await;
        assert!(!status.is_server_error(), "{bad}: {status} {body}");
        if !status.is_client_error() {
            accepted.push(format!("{bad} -> {status}"));
        }
    }
    assert!(accepted.is_empty(), "accepted: {accepted:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_promotion_records_and_rule_judged_retrains_over_http() {
    let s = start(Limits::default()).await;
    let model_id = train_api_model(&s).await;

    // A promotion by hand is recorded with the key and the reason.
    let (status, out) = s
        .post(
            &format!("/api/v1/models/{model_id}/promote"),
            Role::Analyst,
            json!({"stage": "production", "reason": "beats the 2010 holdout"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (status, recs) = s
        .get("/api/v1/mlops/promotions?model=api", Role::Viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{recs}");
    assert_eq!(recs[0]["model_id"], json!(model_id));
    assert_eq!(recs[0]["actor"]["kind"], "key");
    assert_eq!(recs[0]["reason"], "beats the 2010 holdout");
    assert!(
        recs[0]["id"]
            .as_str()
            .is_some_and(|i| i.starts_with("prm_")),
        "{recs}"
    );
    let long = "x".repeat(501);
    let (status, _) = s
        .post(
            &format!("/api/v1/models/{model_id}/promote"),
            Role::Analyst,
            json!({"stage": "production", "reason": long}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Schedules: created (201), refused when malformed (422) or duplicate (409), private to
    // their owner, deleted (204).
    let spec = json!({"name": "api-weekly", "model": "api", "cron": "0 6 * * MON",
        "trigger": {"kind": "drift", "band": "alert"}});
    let (status, sch) = s
        .post("/api/v1/mlops/schedules", Role::Analyst, spec.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sch}");
    let sch_id = sch["id"].as_str().expect("id").to_string();
    assert!(sch["next_run_ms"].as_i64().expect("next") > chrono::Utc::now().timestamp_millis());
    assert_eq!(sch["spec"]["trigger"]["band"], "alert");
    let (status, _) = s.post("/api/v1/mlops/schedules", Role::Analyst, spec).await;
    assert_eq!(status, StatusCode::CONFLICT);
    for bad in [
        json!({"name": "b", "model": "api", "cron": "0 6 * *"}),
        json!({"name": "b", "model": "api", "cron": "@daily", "trigger": {"kind": "drift", "band": "none"}}),
        json!({"name": "b", "model": "nosuchmodel", "cron": "@daily"}),
        json!({"name": "b", "model": "api", "cron": "@daily", "surprise": 1}),
    ] {
        let (status, body) = s
            .post("/api/v1/mlops/schedules", Role::Analyst, bad.clone())
            .await;
        assert!(status.is_client_error(), "{bad} -> {status} {body}");
    }
    let (status, _) = s
        .post("/api/v1/mlops/schedules", Role::Viewer, json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, list) = s.get("/api/v1/mlops/schedules", Role::Analyst).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let other = s.new_key(Role::Analyst).await;
    let path = format!("/api/v1/mlops/schedules/{sch_id}");
    let (status, _) = s.as_key(Method::GET, &path, &other, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.as_key(Method::DELETE, &path, &other, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, by_name) = s
        .get("/api/v1/mlops/schedules/api-weekly", Role::Analyst)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_name["id"], json!(sch_id));
    let (status, _) = s
        .as_key(Method::DELETE, &path, s.key(Role::Analyst), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s.get(&path, Role::Analyst).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A retrain as a job: the candidate lands in staging and the rule's decision is recorded.
    let (status, job) = s
        .post(
            &format!("/api/v1/models/{model_id}/retrain"),
            Role::Analyst,
            json!({"as_of": "2012-12-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["kind"], "retrain_model");
    let done = wait_job(&s, job["id"].as_str().expect("job")).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let out = &done["result"];
    assert_eq!(out["retrained"], true, "{out}");
    let promoted = out["decision"]["promote"].as_bool().expect("decision");
    let stage = if promoted { "production" } else { "staging" };
    assert_eq!(out["candidate_stage"], stage, "{out}");
    let (_, recs) = s
        .get("/api/v1/mlops/promotions?model=api", Role::Viewer)
        .await;
    assert_eq!(recs[0]["actor"]["kind"], "rule", "{recs}");
    assert_eq!(recs[0]["model_id"], out["candidate"]);
    let (status, _) = s
        .post(
            &format!("/api/v1/models/{model_id}/retrain"),
            Role::Analyst,
            json!({"model": "other"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A drift check as a job.
    let (status, job) = s
        .post(
            "/api/v1/mlops/drift-checks",
            Role::Analyst,
            json!({"model": "api", "as_of": "2012-12-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let done = wait_job(&s, job["id"].as_str().expect("job")).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        done["result"]["checked"].as_array().map(Vec::len),
        Some(1),
        "{done}"
    );

    // The evaluation harness: stored (201), listed, private to its owner, and an HTML page.
    let (status, ev) = s
        .post(
            "/api/v1/mlops/evals",
            Role::Analyst,
            json!({"backtest": {"strategy": "sma_cross", "params": {"fast": 10, "slow": 40},
                "symbols": ["MSFT"]}, "windows": ["gfc", "covid"], "simulations": 200,
                "resamples": 200}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ev}");
    let ev_id = ev["id"].as_str().expect("id").to_string();
    assert_eq!(ev["windows"][0]["arms"][1]["arm"], "buy_and_hold", "{ev}");
    assert!(
        ev["windows"][1]["skipped"].is_string(),
        "covid is after the sample"
    );
    let (_, list) = s.get("/api/v1/mlops/evals", Role::Analyst).await;
    assert_eq!(list[0]["id"], json!(ev_id), "{list}");
    assert!(list[0]["windows"][0]["buy_and_hold_return"]
        .as_f64()
        .is_some_and(|r| r < -0.25));
    let path = format!("/api/v1/mlops/evals/{ev_id}");
    let (status, _) = s.as_key(Method::GET, &path, &other, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let report = format!("{path}/report");
    let (status, _, _) = s
        .call(Method::GET, &report, Some(s.key(Role::Viewer)), None)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a viewer key is another owner"
    );
    let (status, html, ctype) = s
        .call(Method::GET, &report, Some(s.key(Role::Analyst)), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(html
        .as_str()
        .is_some_and(|h| h.contains("<svg") && h.contains("gfc")));
    let (status, _) = s
        .post(
            "/api/v1/mlops/evals",
            Role::Analyst,
            json!({"backtest": {"strategy": "sma_cross", "symbols": ["MSFT"]}, "windows": ["mars"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
