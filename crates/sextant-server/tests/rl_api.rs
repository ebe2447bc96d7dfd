//! End-to-end: an RL policy trained over HTTP as a `train_rl` job (`POST /api/v1/jobs`), its
//! result naming the registered policy and its out-of-sample window; invalid requests refused
//! at submission.

use reqwest::StatusCode;
use serde_json::json;
use sextant_server::auth::Role;
use sextant_server::Limits;
use std::time::Duration;

mod common;
use common::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_a_policy_as_a_job() {
    let s = start(Limits::default()).await;
    let params = json!({"symbol": "MSFT", "train_to": "2008-12-31", "test_to": "2010-12-31",
        "steps": 4096, "seed": 2, "reward": {"kind": "drawdown", "penalty": 1.0}});
    let job = |p: serde_json::Value| json!({"kind": "train_rl", "params": p});
    let (status, _) = s
        .post("/api/v1/jobs", Role::Viewer, job(params.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for bad in [
        json!({"symbol": "MSFT"}),
        json!({"symbol": "MSFT", "train_to": "2008-12-31", "bogus": 1}),
        json!({"symbol": "MSFT", "train_to": "2008-12-31", "steps": 2_000_000}),
        json!({"symbol": "MSFT", "train_to": "2008-12-31", "test_to": "2008-01-01"}),
        json!({"symbol": "MSFT", "train_to": "2008-12-31", "actions": "weights"}),
    ] {
        let (status, problem) = s
            .post("/api/v1/jobs", Role::Analyst, job(bad.clone()))
            .await;
        assert!(status.is_client_error(), "{bad}: {status} {problem}");
    }
    let (status, submitted) = s.post("/api/v1/jobs", Role::Analyst, job(params)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{submitted}");
    assert_eq!(submitted["kind"], "train_rl");
    let done = s
        .wait_job(
            submitted["id"].as_str().expect("job id"),
            Duration::from_secs(120),
        )
        .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let id = done["result"]["policy_id"].as_str().expect("policy id");
    assert!(id.starts_with("rlp_"), "{done}");
    assert_eq!(done["result"]["oos_from"], "2009-01-02");
    assert_eq!(done["result"]["oos_to"], "2010-12-31");
    assert!(done["result"]["oos_return"].is_number(), "{done}");
}
