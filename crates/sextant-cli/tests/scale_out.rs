//! Scale-out on loopback, real processes: a NATS server (started by `scripts/test`), `sextant
//! serve` and three `sextant worker` processes sharing the metadata store and the object store
//! directory (never the server's DuckDB file).
//!
//! * a 500-trial study and a 20-window walk-forward give exactly the single-process results,
//!   with one worker SIGKILLed mid-job and the server SIGKILLed mid-study and restarted;
//! * a poison job (aborts every worker that runs it) ends `failed`, it does not loop;
//! * a cancel reaches the remote worker within a second.

mod cluster;

use cluster::{
    call, free_port, get, nats_url, running, serve, settle, spawn, submit, worker, Cluster,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

/// Every trial of a study without its measured duration (not part of the result).
async fn trials(c: &reqwest::Client, base: &str, key: &str, study: &str) -> BTreeMap<u64, Value> {
    let (status, page) = get(
        c,
        base,
        key,
        &format!("/api/v1/studies/{study}/trials?offset=0&limit=1000"),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| {
            let mut t = t.clone();
            if let Some(o) = t.as_object_mut() {
                o.remove("duration_ms");
            }
            (t["number"].as_u64().expect("number"), t)
        })
        .collect()
}

fn study_request() -> Value {
    json!({
        "backtest": {"strategy": "rsi_reversion", "symbols": ["AAPL", "IBM", "MSFT"]},
        "search": [
            {"name": "period", "distribution": {"type": "int", "low": 2, "high": 60}},
            {"name": "lower", "distribution": {"type": "float", "low": 10.0, "high": 45.0}},
            {"name": "upper", "distribution": {"type": "float", "low": 55.0, "high": 90.0}}
        ],
        "sampler": "tpe", "trials": 500, "batch": 12, "seed": 11
    })
}

/// 20 windows: 3270 bars, 270 training bars, test windows of 150.
fn walk_forward_params() -> Value {
    let candidates: Vec<Value> = [(5, 20), (10, 40), (20, 60), (30, 90), (50, 200)]
        .iter()
        .map(|(f, s)| json!({"fast": f, "slow": s}))
        .collect();
    json!({
        "request": {"strategy": "sma_cross", "symbols": ["MSFT"]},
        "spec": {"train_bars": 270, "test_bars": 150, "anchored": false, "candidates": candidates}
    })
}

#[test]
fn distributed_results_equal_single_process_through_worker_and_server_kills() {
    let Some(url) = nats_url() else { return };
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let c = reqwest::Client::new();
        // Reference: one process, the in-process pool.
        let ref_dir = tempfile::tempdir().expect("tmp");
        let (reference, key) = serve(None, ref_dir.path(), free_port());
        let key = key.expect("admin key");
        let wf_ref = submit(
            &c,
            &reference.base,
            &key,
            "walk_forward",
            walk_forward_params(),
        )
        .await;
        let wf_ref = settle(&c, &reference.base, &key, &wf_ref, Duration::from_secs(120)).await;
        assert_eq!(wf_ref["status"], "succeeded", "{wf_ref}");
        assert_eq!(
            wf_ref["result"]["windows"].as_array().map(Vec::len),
            Some(20)
        );
        let (status, job) = call(
            &c,
            reqwest::Method::POST,
            format!("{}/api/v1/backtests/optimize", reference.base),
            &key,
            Some(study_request()),
        )
        .await;
        assert_eq!(status, 202, "{job}");
        let study_id = job["study_id"].as_str().expect("study").to_string();
        let done = settle(
            &c,
            &reference.base,
            &key,
            job["id"].as_str().expect("id"),
            Duration::from_secs(300),
        )
        .await;
        assert_eq!(done["status"], "succeeded", "{done}");
        let ref_trials = trials(&c, &reference.base, &key, &study_id).await;
        let (_, ref_board) = get(
            &c,
            &reference.base,
            &key,
            &format!("/api/v1/studies/{study_id}/leaderboard"),
        )
        .await;
        assert_eq!(ref_trials.len(), 500);
        drop(reference);

        // Scale-out: server + 3 workers.
        let dir = tempfile::tempdir().expect("tmp");
        let caches = tempfile::tempdir().expect("tmp");
        let cluster = Cluster::new(&url, dir.path(), "so");
        let port = free_port();
        let (server, key) = serve(Some(&cluster), dir.path(), port);
        let key = key.expect("admin key");
        let w1 = worker(&cluster, "w1", caches.path());
        let _w2 = worker(&cluster, "w2", caches.path());
        let _w3 = worker(&cluster, "w3", caches.path());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, ready) = get(&c, &server.base, &key, "/ready").await;
            if ready["jobs"]["workers"].as_array().map_or(0, Vec::len) == 3 {
                assert_eq!(ready["jobs"]["transport"], "nats");
                assert_eq!(ready["jobs"]["nats_connected"], true);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "workers never registered: {ready}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        // The walk-forward: its windows run on the workers, and the report is the same.
        let wf = submit(
            &c,
            &server.base,
            &key,
            "walk_forward",
            walk_forward_params(),
        )
        .await;
        let wf = settle(&c, &server.base, &key, &wf, Duration::from_secs(120)).await;
        assert_eq!(wf["status"], "succeeded", "{wf}");
        assert_eq!(
            wf["result"], wf_ref["result"],
            "walk-forward differs from the single-process run"
        );
        let (_, children) = get(
            &c,
            &server.base,
            &key,
            "/api/v1/jobs?kind=walk_forward_windows&limit=200",
        )
        .await;
        let workers: std::collections::BTreeSet<String> = children["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|j| {
                j["worker"]
                    .as_str()
                    .and_then(|w| w.split('/').next())
                    .map(str::to_string)
            })
            .collect();
        assert!(
            workers.len() >= 2,
            "windows ran on one worker only: {workers:?}"
        );

        // The study: SIGKILL worker w1 while it runs a trial batch, then the server mid-study.
        let (status, job) = call(
            &c,
            reqwest::Method::POST,
            format!("{}/api/v1/backtests/optimize", server.base),
            &key,
            Some(study_request()),
        )
        .await;
        assert_eq!(status, 202, "{job}");
        assert_eq!(
            job["study_id"],
            study_id.as_str(),
            "same request, same bars, same study id"
        );
        let job_id = job["id"].as_str().expect("id").to_string();
        let deadline = Instant::now() + Duration::from_secs(60);
        let victim = loop {
            let (_, running) = get(
                &c,
                &server.base,
                &key,
                "/api/v1/jobs?kind=trial_batch&status=running&limit=200",
            )
            .await;
            let on_w1 = running["items"]
                .as_array()
                .expect("items")
                .iter()
                .find(|j| j["worker"].as_str().is_some_and(|w| w.starts_with("w1/")))
                .and_then(|j| j["id"].as_str().map(str::to_string));
            if let Some(id) = on_w1 {
                break id;
            }
            assert!(Instant::now() < deadline, "w1 never ran a trial batch");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        drop(w1); // SIGKILL
        let victim_job = settle(&c, &server.base, &key, &victim, Duration::from_secs(60)).await;
        assert_eq!(
            victim_job["status"], "succeeded",
            "the killed worker's job was redelivered: {victim_job}"
        );
        assert!(
            victim_job["crashes"].as_u64().unwrap_or(0) >= 1,
            "{victim_job}"
        );
        assert!(
            !victim_job["worker"]
                .as_str()
                .unwrap_or("w1/")
                .starts_with("w1/"),
            "{victim_job}"
        );

        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let n = trials(&c, &server.base, &key, &study_id)
                .await
                .values()
                .filter(|t| t["state"] != "running")
                .count();
            if n >= 150 {
                assert!(
                    n < 500,
                    "the study finished before the server could be killed"
                );
                break;
            }
            assert!(Instant::now() < deadline, "the study never got going");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(server); // SIGKILL mid-study
        let (server, again) = serve(Some(&cluster), dir.path(), port);
        assert!(again.is_none(), "the admin key survives the restart");
        let done = settle(&c, &server.base, &key, &job_id, Duration::from_secs(300)).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert!(
            done["attempts"].as_u64().unwrap_or(0) >= 2,
            "re-run after the server's crash: {done}"
        );

        let got = trials(&c, &server.base, &key, &study_id).await;
        assert_eq!(got.len(), 500, "no trial lost or added");
        for (n, t) in &ref_trials {
            assert_eq!(
                got.get(n),
                Some(t),
                "trial {n} differs from the single-process run"
            );
        }
        let (_, board) = get(
            &c,
            &server.base,
            &key,
            &format!("/api/v1/studies/{study_id}/leaderboard"),
        )
        .await;
        assert_eq!(board["best"], ref_board["best"]);
        assert_eq!(board["analysis"], ref_board["analysis"], "analysis differs");
    });
}

#[test]
fn a_poison_job_fails_instead_of_looping() {
    let Some(url) = nats_url() else { return };
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let c = reqwest::Client::new();
        let dir = tempfile::tempdir().expect("tmp");
        let caches = tempfile::tempdir().expect("tmp");
        let cluster = Cluster::new(&url, dir.path(), "po");
        let (server, key) = serve(Some(&cluster), dir.path(), free_port());
        let key = key.expect("admin key");
        let mut workers = vec![
            worker(&cluster, "p1", caches.path()),
            worker(&cluster, "p2", caches.path()),
        ];
        let id = submit(&c, &server.base, &key, "debug_abort", json!({})).await;
        let job = settle(&c, &server.base, &key, &id, Duration::from_secs(60)).await;
        assert_eq!(job["status"], "failed", "{job}");
        assert!(job["crashes"].as_u64().unwrap_or(0) >= 2, "{job}");
        assert!(
            job["error"]
                .as_str()
                .unwrap_or_default()
                .contains("interrupted"),
            "{job}"
        );
        // Both workers took it once and died; nothing else runs it afterwards.
        for w in &mut workers {
            let status = w.child.wait().expect("wait");
            assert!(!status.success(), "{status:?}");
        }
        let fresh = worker(&cluster, "p3", caches.path());
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (_, again) = get(&c, &server.base, &key, &format!("/api/v1/jobs/{id}")).await;
        assert_eq!(again["status"], "failed");
        assert_eq!(
            again["attempts"], job["attempts"],
            "a failed poison job is never started again"
        );
        drop(fresh);
    });
}

#[test]
fn a_cancel_reaches_the_remote_worker_within_a_second() {
    let Some(url) = nats_url() else { return };
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let c = reqwest::Client::new();
        let dir = tempfile::tempdir().expect("tmp");
        let caches = tempfile::tempdir().expect("tmp");
        // Heartbeats 5 s apart: a cancel seen within a second can only have come over NATS.
        let mut cluster = Cluster::new(&url, dir.path(), "ca");
        cluster.heartbeat_ms = 5_000;
        cluster.stale_ms = 20_000;
        let (server, key) = serve(Some(&cluster), dir.path(), free_port());
        let key = key.expect("admin key");
        let _w = worker(&cluster, "c1", caches.path());
        let id = submit(
            &c,
            &server.base,
            &key,
            "debug_sleep",
            json!({"seconds": 120}),
        )
        .await;
        let j = running(&c, &server.base, &key, &id).await;
        assert!(
            j["worker"].as_str().is_some_and(|w| w.starts_with("c1/")),
            "{j}"
        );
        // The server's event stream of the job, fed by the worker's events over NATS.
        let mut sse = c
            .get(format!("{}/api/v1/jobs/{id}/events", server.base))
            .bearer_auth(&key)
            .send()
            .await
            .expect("events");
        assert_eq!(sse.status().as_u16(), 200);
        let t0 = Instant::now();
        let (status, _) = call(
            &c,
            reqwest::Method::POST,
            format!("{}/api/v1/jobs/{id}/cancel", server.base),
            &key,
            None,
        )
        .await;
        assert_eq!(status, 200);
        let job = settle(&c, &server.base, &key, &id, Duration::from_secs(10)).await;
        let took = t0.elapsed();
        assert_eq!(job["status"], "cancelled", "{job}");
        assert!(took < Duration::from_secs(1), "cancel took {took:?}");
        let mut text = String::new();
        while !text.contains("\"cancelled\"") {
            match tokio::time::timeout(Duration::from_secs(5), sse.chunk()).await {
                Ok(Ok(Some(b))) => text.push_str(&String::from_utf8_lossy(&b)),
                other => {
                    panic!("the event stream ended without the terminal event: {other:?}; {text}")
                }
            }
        }
        eprintln!("cancel reached the worker and was written in {took:?}");
    });
}

#[test]
fn sigterm_drains_a_worker_and_hands_its_job_to_another() {
    let Some(url) = nats_url() else { return };
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let c = reqwest::Client::new();
        let dir = tempfile::tempdir().expect("tmp");
        let caches = tempfile::tempdir().expect("tmp");
        // Long leases: a job that moves on within seconds was handed back, not found dead.
        let mut cluster = Cluster::new(&url, dir.path(), "dr");
        cluster.heartbeat_ms = 5_000;
        cluster.stale_ms = 60_000;
        let (server, key) = serve(Some(&cluster), dir.path(), free_port());
        let key = key.expect("admin key");
        let mut cmd = cluster.command(&[
            "worker",
            "--node",
            "d1",
            "--concurrency",
            "1",
            "--drain-secs",
            "1",
        ]);
        cmd.env("SEXTANT_WORKER_CACHE", caches.path().join("d1"));
        let (mut first, _) = spawn(cmd, "sextant worker");
        let id = submit(&c, &server.base, &key, "debug_sleep", json!({"seconds": 4})).await;
        running(&c, &server.base, &key, &id).await;
        let _second = worker(&cluster, "d2", caches.path());
        let t0 = Instant::now();
        let killed = Command::new("kill")
            .args(["-TERM", &first.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let status = first.child.wait().expect("wait");
        assert!(
            status.success(),
            "a drained worker exits cleanly: {status:?}"
        );
        let job = settle(&c, &server.base, &key, &id, Duration::from_secs(30)).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        assert!(
            job["worker"].as_str().is_some_and(|w| w.starts_with("d2/")),
            "{job}"
        );
        assert_eq!(job["attempts"], 2, "{job}");
        assert_eq!(job["crashes"], 0, "a drain is not a crash: {job}");
        // Handed back at once: well inside the 65 s a dead worker's message would take.
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "took {:?}",
            t0.elapsed()
        );
    });
}
