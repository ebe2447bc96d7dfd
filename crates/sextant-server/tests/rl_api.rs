//! End-to-end: an RL policy trained through `POST /api/v1/rl/train` (a `train_rl` job whose
//! progress carries the reward curve), listed and read back with its out-of-sample evaluation;
//! the same training as a generic `POST /api/v1/jobs` of kind `train_rl`.

use reqwest::StatusCode;
use serde_json::json;
use sextant_server::auth::Role;
use sextant_server::Limits;
use std::time::Duration;

use crate::common;
use common::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_list_and_read_a_policy() {
    let s = start(Limits::default()).await;
    let req = json!({"symbol": "MSFT", "train_to": "2008-12-31", "test_to": "2010-12-31",
        "steps": 4096, "seed": 2, "reward": {"kind": "drawdown", "penalty": 1.0}});
    let (status, _) = s.post("/api/v1/rl/train", Role::Viewer, req.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (bad, code) in [
        (json!({"symbol": "MSFT"}), StatusCode::BAD_REQUEST),
        (
            json!({"symbol": "MSFT", "train_to": "2008-12-31", "bogus": 1}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"symbol": "MSFT", "train_to": "2008-12-31", "steps": 2_000_000}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"symbol": "MSFT", "train_to": "2008-12-31", "test_to": "2008-01-01"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"symbol": "MSFT", "train_to": "2008-12-31", "actions": "weights"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, problem) = s.post("/api/v1/rl/train", Role::Analyst, bad.clone()).await;
        assert_eq!(status, code, "{bad}: {problem}");
    }
    let req_again = req.clone();
    let (status, job) = s.post("/api/v1/rl/train", Role::Analyst, req).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["kind"], "train_rl");
    let done = s
        .wait_job(
            job["id"].as_str().expect("job id"),
            Duration::from_secs(120),
        )
        .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let id = done["result"]["policy_id"]
        .as_str()
        .expect("policy id")
        .to_string();
    assert!(id.starts_with("rlp_"));
    assert_eq!(done["result"]["oos_from"], "2009-01-02");

    let (status, list) = s.get("/api/v1/rl/policies", Role::Viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"][0]["id"], id.as_str(), "{list}");
    let (status, p) = s
        .get(&format!("/api/v1/rl/policies/{id}"), Role::Viewer)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        p["request"]["reward"],
        json!({"kind": "drawdown", "penalty": 1.0})
    );
    assert!(p["curve"].as_array().expect("curve").len() >= 2, "{p}");
    for leg in ["policy", "buy_and_hold", "flat", "best_rule"] {
        assert!(
            p["evaluation"][leg]["total_return"].is_number(),
            "{leg}: {p}"
        );
    }
    let (status, _) = s
        .get("/api/v1/rl/policies/rlp_000000000000", Role::Viewer)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The generic job route runs the same training: same seed and data, same checkpoint.
    let (status, submitted) = s
        .post(
            "/api/v1/jobs",
            Role::Analyst,
            json!({"kind": "train_rl", "params": req_again}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{submitted}");
    let again = s
        .wait_job(
            submitted["id"].as_str().expect("job id"),
            Duration::from_secs(120),
        )
        .await;
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(again["result"]["policy_id"], id.as_str(), "{again}");
}
