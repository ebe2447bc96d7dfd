//! Tracking exported to a real MLflow tracking server (`mlflow server`, started on loopback by
//! `scripts/start-mlflow-test-server`), checked through MLflow's own REST API with a plain HTTP
//! client, not through Sextant's.
//!
//! Skips without `SEXTANT_TEST_MLFLOW_URI` unless `SEXTANT_REQUIRE_MLFLOW` is set (as
//! `scripts/test` does).

use serde_json::Value;
use sextant_meta::SqliteStore;
use sextant_mlops::mlflow::MlflowClient;
use sextant_mlops::tracking::{NewRun, Registration, RunKind, SyncState, Tracker};
use std::sync::Arc;

fn server() -> Option<String> {
    match std::env::var("SEXTANT_TEST_MLFLOW_URI") {
        Ok(u) => Some(u),
        Err(_) => {
            assert!(
                std::env::var_os("SEXTANT_REQUIRE_MLFLOW").is_none(),
                "SEXTANT_REQUIRE_MLFLOW is set but SEXTANT_TEST_MLFLOW_URI is not \
                 (eval \"$(scripts/start-mlflow-test-server)\")"
            );
            eprintln!("skipping: SEXTANT_TEST_MLFLOW_URI not set");
            None
        }
    }
}

async fn get(base: &str, path: &str, query: &[(&str, &str)]) -> Value {
    let resp = reqwest::Client::new()
        .get(format!("{base}/api/2.0/{path}"))
        .query(query)
        .send()
        .await
        .expect("mlflow");
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

fn sha256(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(b))
}

fn training_run(model: &str) -> NewRun {
    let mut metrics = vec![("holdout_auc".to_string(), 0.5731, 0)];
    // 2,500 points of one metric: a study's objective per trial, say.
    metrics.extend((0..2500).map(|i| ("objective".to_string(), (i as f64 * 0.01).sin(), i)));
    metrics.extend((0..3).map(|f| ("cv_fold_auc".to_string(), 0.55 + f as f64 * 0.01, f)));
    metrics.push(("not_finite".to_string(), f64::NAN, 0));
    NewRun {
        name: format!("train {model} v1"),
        subject: format!("mdl_{model}"),
        started_ms: 1_765_000_000_000,
        ended_ms: 1_765_000_005_000,
        params: (0..150)
            .map(|i| (format!("param_{i:03}"), format!("value {i}")))
            .collect(),
        tags: vec![("sextant.view".into(), "technical@v1".into())],
        metrics,
        artifacts: vec![
            ("model/model.json".into(), br#"{"trees":[1,2,3]}"#.to_vec()),
            ("shap_summary.json".into(), br#"{"ret_1":0.12}"#.to_vec()),
        ],
        data_snapshot: Some("a".repeat(64)),
        code_version: "0.1.0+test".into(),
        owner: "key123".into(),
        registration: Some(Registration {
            name: model.to_string(),
            artifact_dir: "model".into(),
            alias: "staging".into(),
        }),
    }
}

#[tokio::test]
async fn a_training_run_arrives_in_mlflow_batched_with_its_model_version() {
    let Some(base) = server() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let meta = Arc::new(SqliteStore::open(dir.path().join("meta.db")).expect("store"));
    let model = format!("up-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);

    // First against a server that is not there: the run is stored, the export marked failed.
    let dead = MlflowClient::new("http://127.0.0.1:9", None).expect("client");
    let offline = Tracker::new(
        meta.clone(),
        dir.path().join("artifacts"),
        Some(dead),
        "sextant",
    );
    let run = offline
        .record(RunKind::Training, training_run(&model))
        .await
        .expect("tracking never fails on an MLflow outage");
    assert_eq!(run.mlflow.state, SyncState::Failed, "{:?}", run.mlflow);
    assert!(run.mlflow.error.as_deref().is_some_and(|e| !e.is_empty()));

    // Then the retry against the real server.
    let client = MlflowClient::new(&base, None).expect("client");
    let tracker = Tracker::new(meta, dir.path().join("artifacts"), Some(client), "sextant");
    assert_eq!(tracker.sync_pending().await.expect("sync"), 1);
    let run = tracker.get(&run.id).await.expect("stored");
    assert_eq!(run.mlflow.state, SyncState::Done, "{:?}", run.mlflow);
    // 2,505 metric points + 150 params + 8 tags = 2,663 entities: three batches, not 2,663 calls.
    assert_eq!(run.mlflow.log_batch_calls, 3);
    eprintln!(
        "MLflow calls for one run: {} ({} log-batch)",
        run.mlflow.calls, run.mlflow.log_batch_calls
    );
    let run_id = run.mlflow.run_id.clone().expect("run id");

    let got = get(&base, "mlflow/runs/get", &[("run_id", &run_id)]).await;
    let data = &got["run"]["data"];
    let params = data["params"].as_array().expect("params");
    assert_eq!(params.len(), 150);
    assert!(params
        .iter()
        .any(|p| p["key"] == "param_149" && p["value"] == "value 149"));
    let tags = data["tags"].as_array().expect("tags");
    let tag = |k: &str| {
        tags.iter()
            .find(|t| t["key"] == k)
            .map(|t| t["value"].clone())
    };
    assert_eq!(tag("sextant.run_id"), Some(Value::from(run.id.clone())));
    assert_eq!(tag("sextant.view"), Some(Value::from("technical@v1")));
    assert_eq!(got["run"]["info"]["status"], "FINISHED");
    assert_eq!(got["run"]["info"]["start_time"], 1_765_000_000_000i64);

    let mut steps = Vec::new();
    let mut token = String::new();
    loop {
        let mut q = vec![
            ("run_id", run_id.as_str()),
            ("metric_key", "objective"),
            ("max_results", "1000"),
        ];
        if !token.is_empty() {
            q.push(("page_token", token.as_str()));
        }
        let h = get(&base, "mlflow/metrics/get-history", &q).await;
        steps.extend(
            h["metrics"]
                .as_array()
                .expect("history")
                .iter()
                .map(|m| m["step"].as_i64().expect("step")),
        );
        match h["next_page_token"].as_str() {
            Some(t) if !t.is_empty() => token = t.to_string(),
            _ => break,
        }
    }
    steps.sort_unstable();
    assert_eq!(steps, (0..2500).collect::<Vec<i64>>());
    let nan = get(
        &base,
        "mlflow/metrics/get-history",
        &[("run_id", &run_id), ("metric_key", "not_finite")],
    )
    .await;
    assert!(
        nan["metrics"][0]["value"].as_f64().is_none_or(f64::is_nan),
        "{nan}"
    );

    let listed = get(
        &base,
        "mlflow/artifacts/list",
        &[("run_id", &run_id), ("path", "model")],
    )
    .await;
    let file = &listed["files"][0];
    assert_eq!(file["path"], "model/model.json");
    assert_eq!(file["file_size"].as_u64(), Some(run.artifacts[0].bytes));
    let root = listed["root_uri"]
        .as_str()
        .expect("root")
        .trim_start_matches("mlflow-artifacts:/")
        .to_string();
    let bytes = reqwest::get(format!(
        "{base}/api/2.0/mlflow-artifacts/artifacts/{root}/model/model.json"
    ))
    .await
    .expect("download")
    .bytes()
    .await
    .expect("bytes");
    assert_eq!(sha256(&bytes), run.artifacts[0].sha256);

    let name = format!("sextant-{model}");
    let alias = |a: &'static str| {
        let (base, name) = (base.clone(), name.clone());
        async move {
            get(
                &base,
                "mlflow/registered-models/alias",
                &[("name", &name), ("alias", a)],
            )
            .await
        }
    };
    let staged = alias("staging").await;
    assert_eq!(staged["model_version"]["run_id"], run_id.as_str());
    assert_eq!(
        staged["model_version"]["version"],
        run.mlflow.model_version.clone().expect("v").as_str()
    );
    assert!(tracker.set_alias(&run, "production").await.expect("alias"));
    let prod = alias("production").await;
    assert_eq!(
        prod["model_version"]["version"],
        staged["model_version"]["version"]
    );
}
