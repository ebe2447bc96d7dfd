//! The built-in handlers through a job manager on real services: backtests and walk-forwards on
//! the bundled data, Alpha Vantage refreshes against the loopback server.

use super::support::*;
use serde_json::{json, Value};
use sextant_core::jobs::handlers::default_handlers;
use sextant_core::jobs::{JobError, JobManager, JobStatus};
use sextant_core::{Config, Services};
use sextant_testkit::alphavantage::AlphaVantageServer;

fn backtest_request(symbol: &str) -> Value {
    json!({
        "strategy": "sma_cross",
        "params": {"fast": 10, "slow": 20},
        "symbols": [symbol],
        "from": "2004-01-01",
        "to": "2012-12-31",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backtest_and_walk_forward_jobs() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let s = Services::build(config).await.expect("services");
    let mgr = JobManager::new(s.meta.clone(), default_handlers(&s), config_for("n"));
    assert_eq!(
        mgr.kinds(),
        vec![
            "backtest",
            "drift_check",
            "ingest_alphavantage",
            "materialize_features",
            "optimize",
            "retrain_model",
            "train_rl",
            "train_signal",
            "walk_forward"
        ]
    );
    // The named kinds are exactly the registered ones.
    let mut named: Vec<&str> = <sextant_core::jobs::JobKind as strum::IntoEnumIterator>::iter()
        .map(|k| k.name())
        .collect();
    named.sort_unstable();
    assert_eq!(named, mgr.kinds());
    mgr.start().await.expect("start");

    let bt = mgr
        .submit("backtest", backtest_request("MSFT"), "alice")
        .await
        .expect("submit");
    assert!(bt.resumable);
    let bt = finished(&mgr, &bt.id).await;
    assert_eq!(bt.status, JobStatus::Succeeded, "{bt:?}");
    let run_id = bt
        .result
        .as_ref()
        .and_then(|r| r["run_id"].as_str())
        .expect("run id");
    let run = s
        .backtests
        .get(run_id)
        .await
        .expect("get")
        .expect("stored run");
    assert_eq!(
        Some(run.trade_count as u64),
        bt.result.as_ref().and_then(|r| r["trade_count"].as_u64())
    );

    let wf_params = json!({
        "request": backtest_request("MSFT"),
        "spec": {"train_bars": 500, "test_bars": 250},
    });
    let wf = mgr
        .submit("walk_forward", wf_params, "alice")
        .await
        .expect("submit");
    let wf = finished(&mgr, &wf.id).await;
    assert_eq!(wf.status, JobStatus::Succeeded, "{wf:?}");
    let windows = wf
        .result
        .as_ref()
        .and_then(|r| r["windows"].as_array())
        .expect("windows");
    assert!(windows.len() >= 5, "{} windows", windows.len());
    assert_eq!(wf.progress.fraction, 1.0);

    // Bad parameters are refused at submission; bad data fails the job with the service's error.
    assert!(matches!(
        mgr.submit("backtest", json!({"strategy": "sma_cross"}), "alice")
            .await,
        Err(JobError::InvalidParams(_))
    ));
    let missing = mgr
        .submit("backtest", backtest_request("ZZZZ"), "alice")
        .await
        .expect("submit");
    let missing = finished(&mgr, &missing.id).await;
    assert_eq!(missing.status, JobStatus::Failed);
    assert!(
        missing
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no daily bars for ZZZZ")),
        "{missing:?}"
    );
    mgr.shutdown(HANG_GUARD).await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_alphavantage_job_reports_each_symbol() {
    let server = AlphaVantageServer::start().await.expect("server");
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = Config {
        data_dir: dir.path().join("keyed"),
        load_sample: false,
        ..Config::default()
    };
    config.alphavantage.base_url = server.base_url();
    config.alphavantage.requests_per_minute = 1000;
    config.alphavantage.requests_per_day = 1000;
    let mut keyless = config.clone();
    keyless.data_dir = dir.path().join("keyless");
    config.alphavantage.api_key = Some("TESTKEY".into());

    let s = Services::build(config).await.expect("services");
    let mgr = JobManager::new(s.meta.clone(), default_handlers(&s), config_for("n"));
    mgr.start().await.expect("start");
    assert!(matches!(
        mgr.submit("ingest_alphavantage", json!({"symbols": []}), "o")
            .await,
        Err(JobError::InvalidParams(_))
    ));
    let params = json!({"symbols": ["IBM", "NOSUCH"], "resolution": "daily"});
    let job = mgr
        .submit("ingest_alphavantage", params, "o")
        .await
        .expect("submit");
    let job = finished(&mgr, &job.id).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    let result = job.result.expect("result");
    assert_eq!(result["failed"], json!(1));
    let ibm = &result["symbols"][0];
    assert_eq!(
        (&ibm["symbol"], &ibm["ok"], &ibm["plan"]),
        (&json!("IBM"), &json!(true), &json!("full"))
    );
    assert!(
        ibm["summary"]["inserted"]
            .as_u64()
            .is_some_and(|n| n > 3000),
        "{ibm}"
    );
    assert_eq!(result["symbols"][1]["ok"], json!(false));
    assert!(!s.cache.is_empty().expect("cache"), "bars were ingested");
    assert_eq!(result["regimes"], json!([]), "no regime model yet");

    // With a regime model over IBM, the next ingest refreshes it (nothing new: no refit).
    let spec = sextant_core::regimes::RegimeSpec::for_symbol(&sextant_test_support::sym("IBM"));
    let (fitted, _) = s.regimes.fit(spec).await.expect("regime fit");
    let job = mgr
        .submit("ingest_alphavantage", json!({"symbols": ["IBM"]}), "o")
        .await
        .expect("submit");
    let job = finished(&mgr, &job.id).await;
    let regimes = &job.result.expect("result")["regimes"];
    assert_eq!(regimes[0]["model"], json!("IBM"), "{regimes}");
    assert_eq!(regimes[0]["ok"], json!(true), "{regimes}");
    assert_eq!(regimes[0]["fitted"], json!(0), "no fit was due: {regimes}");
    assert_eq!(
        regimes[0]["latest"]["day"],
        json!(fitted.last_day),
        "{regimes}"
    );
    assert_eq!(job_drift(&mgr).await, json!([]), "no production model yet");

    // With a production model on IBM, the next ingest checks its drift too.
    let req = serde_json::from_value(json!({"name": "ibm", "symbols": ["IBM"],
        "validation": {"kind": "none"}, "params": {"n_trees": 10}, "seed": 1}))
    .expect("request");
    let model = s.signals.train(req).await.expect("train");
    s.signals
        .promote(&model.id, "production")
        .await
        .expect("promote");
    let drift = job_drift(&mgr).await;
    assert_eq!(drift[0]["model_id"], json!(model.id), "{drift}");
    assert_eq!(drift[0]["ok"], json!(true), "{drift}");
    let stored = s
        .signals
        .drift_reports(&model.id, 5)
        .await
        .expect("reports");
    assert_eq!(stored.len(), 1);
    assert_eq!(json!(stored[0].id), drift[0]["drift_id"]);
    mgr.shutdown(HANG_GUARD).await.expect("shutdown");

    // Without a key every symbol fails, so the job does.
    let s = Services::build(keyless).await.expect("services");
    let mgr = JobManager::new(s.meta.clone(), default_handlers(&s), config_for("n"));
    mgr.start().await.expect("start");
    let job = mgr
        .submit("ingest_alphavantage", json!({"symbols": ["IBM"]}), "o")
        .await
        .expect("submit");
    let job = finished(&mgr, &job.id).await;
    assert_eq!(job.status, JobStatus::Failed);
    assert!(
        job.error
            .as_deref()
            .is_some_and(|e| e.starts_with("every symbol failed: IBM:")),
        "{job:?}"
    );
    mgr.shutdown(HANG_GUARD).await.expect("shutdown");
}

/// The `drift` part of an IBM ingest job's result.
async fn job_drift(mgr: &JobManager) -> Value {
    let job = mgr
        .submit("ingest_alphavantage", json!({"symbols": ["IBM"]}), "o")
        .await
        .expect("submit");
    let job = finished(mgr, &job.id).await;
    job.result.expect("result")["drift"].clone()
}

fn config_for(node: &str) -> sextant_core::jobs::JobConfig {
    config(node, 2)
}
