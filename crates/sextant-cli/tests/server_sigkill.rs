//! SIGKILL the real server while a job runs, restart it: the job is settled (re-queued and run
//! again, since ingest jobs are idempotent), and no stored data is lost.

use serde_json::{json, Value};
use sextant_testkit::alphavantage::AlphaVantageServer;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Running {
    child: Child,
    base: String,
    key: Option<String>,
}

fn start(data: &Path, av_url: &str) -> Running {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sextant"))
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("ALPHAVANTAGE_API_KEY", "TESTKEY")
        .env("SEXTANT_ALPHAVANTAGE_BASE_URL", av_url)
        .env("SEXTANT_ALPHAVANTAGE_PER_MINUTE", "1000")
        .env("SEXTANT_ALPHAVANTAGE_PER_DAY", "1000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let stdout = child.stdout.take().expect("stdout");
    let mut key = None;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(k) = line.split_whitespace().find(|w| w.starts_with("sx_")) {
            key = Some(k.to_string());
        }
        if line.contains("serving on") {
            break;
        }
    }
    // Keep draining the server's output so it never writes into a closed pipe.
    std::thread::spawn(move || for _ in lines {});
    Running {
        child,
        base: format!("http://127.0.0.1:{port}"),
        key,
    }
}

async fn call(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = c.request(method, url).bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[test]
fn sigkill_during_a_running_job_then_restart() {
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        // Slow vendor answers keep the ingest job running long enough to kill the server mid-job.
        let av = AlphaVantageServer::builder()
            .latency(Duration::from_millis(1500))
            .start()
            .await
            .expect("av server");
        let dir = tempfile::tempdir().expect("tmp");
        let mut server = start(dir.path(), &av.base_url());
        let key = server.key.clone().expect("admin key printed at first start");
        let c = reqwest::Client::new();

        let (status, run) = call(&c, reqwest::Method::POST, format!("{}/api/v1/backtests", server.base), &key,
            Some(json!({"strategy": "sma_cross", "symbols": ["MSFT"]}))).await;
        assert_eq!(status, 201, "{run}");
        let run_id = run["id"].as_str().expect("id").to_string();

        let (status, job) = call(&c, reqwest::Method::POST, format!("{}/api/v1/jobs", server.base), &key,
            Some(json!({"kind": "ingest_alphavantage", "params": {"symbols": ["IBM", "AAPL", "GOOG", "FB"]}}))).await;
        assert_eq!(status, 202, "{job}");
        let job_id = job["id"].as_str().expect("job id").to_string();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, j) = call(&c, reqwest::Method::GET, format!("{}/api/v1/jobs/{job_id}", server.base), &key, None).await;
            if j["status"] == "running" && j["progress"]["fraction"].as_f64().unwrap_or(0.0) > 0.0 {
                break;
            }
            assert!(Instant::now() < deadline, "job never ran: {j}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server.child.kill().expect("SIGKILL");
        let _ = server.child.wait();

        let mut again = start(dir.path(), &av.base_url());
        assert!(again.key.is_none(), "the existing admin key survives; no new one is minted");
        let deadline = Instant::now() + Duration::from_secs(90);
        let settled = loop {
            let (_, j) = call(&c, reqwest::Method::GET, format!("{}/api/v1/jobs/{job_id}", again.base), &key, None).await;
            match j["status"].as_str() {
                Some("succeeded") | Some("failed") | Some("cancelled") => break j,
                _ => {}
            }
            assert!(Instant::now() < deadline, "job never settled after the restart: {j}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(settled["status"], "succeeded", "an idempotent job is re-run after the crash: {settled}");
        assert!(settled["attempts"].as_u64().unwrap_or(0) >= 2, "{settled}");
        let (status, bars) = call(&c, reqwest::Method::GET, format!("{}/api/v1/market-data/bars/FB", again.base), &key, None).await;
        assert_eq!(status, 200);
        assert_eq!(bars["count"], 196);
        // Data stored before the crash is all there.
        let (status, got) = call(&c, reqwest::Method::GET, format!("{}/api/v1/backtests/{run_id}", again.base), &key, None).await;
        assert_eq!(status, 200, "{got}");
        let (status, curve) = call(&c, reqwest::Method::GET, format!("{}/api/v1/backtests/{run_id}/equity", again.base), &key, None).await;
        assert_eq!(status, 200);
        assert_eq!(curve.as_array().map(Vec::len), Some(3270));
        let _ = again.child.kill();
        let _ = again.child.wait();
    });
}

/// Finished trials of a study, from the trials route: number → the whole stored document.
async fn finished_trials(
    c: &reqwest::Client,
    base: &str,
    key: &str,
    study: &str,
) -> std::collections::BTreeMap<u64, Value> {
    let mut out = std::collections::BTreeMap::new();
    let mut offset = 0;
    loop {
        let (status, page) = call(
            c,
            reqwest::Method::GET,
            format!("{base}/api/v1/studies/{study}/trials?offset={offset}&limit=1000"),
            key,
            None,
        )
        .await;
        if status == 404 {
            return out; // the job has not started the study yet
        }
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        for t in &items {
            if t["state"] != "running" {
                out.insert(t["number"].as_u64().expect("number"), t.clone());
            }
        }
        if items.len() < 1000 {
            return out;
        }
        offset += 1000;
    }
}

#[test]
fn sigkill_during_a_study_then_restart_resumes_without_rerunning_trials() {
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tmp");
        let mut server = start(dir.path(), "http://127.0.0.1:9");
        let key = server
            .key
            .clone()
            .expect("admin key printed at first start");
        let c = reqwest::Client::new();
        let study = json!({
            "backtest": {"strategy": "rsi_reversion", "symbols": ["AAPL", "IBM", "MSFT"]},
            "search": [
                {"name": "period", "distribution": {"type": "int", "low": 2, "high": 60}},
                {"name": "lower", "distribution": {"type": "float", "low": 10.0, "high": 45.0}},
                {"name": "upper", "distribution": {"type": "float", "low": 55.0, "high": 90.0}}
            ],
            "sampler": "random", "trials": 6000, "batch": 8, "seed": 3
        });
        let (status, job) = call(
            &c,
            reqwest::Method::POST,
            format!("{}/api/v1/backtests/optimize", server.base),
            &key,
            Some(study),
        )
        .await;
        assert_eq!(status, 202, "{job}");
        let (job_id, study_id) = (
            job["id"].as_str().expect("job").to_string(),
            job["study_id"].as_str().expect("study").to_string(),
        );
        // The study is readable at once, queued or already running.
        let (status, rec) = call(
            &c,
            reqwest::Method::GET,
            format!("{}/api/v1/studies/{study_id}", server.base),
            &key,
            None,
        )
        .await;
        assert_eq!(status, 200, "{rec}");
        assert!(
            matches!(rec["state"].as_str(), Some("queued" | "running")),
            "{rec}"
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        let before = loop {
            let done = finished_trials(&c, &server.base, &key, &study_id).await;
            if done.len() >= 100 {
                break done;
            }
            assert!(Instant::now() < deadline, "the study never got going");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        server.child.kill().expect("SIGKILL");
        let _ = server.child.wait();
        assert!(before.len() < 6000, "killed mid-study");

        let mut again = start(dir.path(), "http://127.0.0.1:9");
        let deadline = Instant::now() + Duration::from_secs(180);
        let settled = loop {
            let (_, j) = call(
                &c,
                reqwest::Method::GET,
                format!("{}/api/v1/jobs/{job_id}", again.base),
                &key,
                None,
            )
            .await;
            if matches!(
                j["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            ) {
                break j;
            }
            assert!(
                Instant::now() < deadline,
                "the study never finished after the restart: {j}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(settled["status"], "succeeded", "{settled}");
        assert!(
            settled["attempts"].as_u64().unwrap_or(0) >= 2,
            "re-queued after the crash: {settled}"
        );
        let after = finished_trials(&c, &again.base, &key, &study_id).await;
        assert_eq!(after.len(), 6000);
        assert_eq!(
            after.keys().copied().collect::<Vec<_>>(),
            (0..6000).collect::<Vec<_>>()
        );
        // Every trial finished before the kill is untouched: same values, same measured
        // duration (a re-run would have measured its own).
        for (n, t) in &before {
            assert_eq!(after.get(n), Some(t), "trial {n} was run again");
        }
        let (status, board) = call(
            &c,
            reqwest::Method::GET,
            format!("{}/api/v1/studies/{study_id}/leaderboard", again.base),
            &key,
            None,
        )
        .await;
        assert_eq!(status, 200, "{board}");
        assert!(board["analysis"]["pbo"]["pbo"].is_number(), "{board}");
        assert!(
            board["analysis"]["deflated_sharpe"]["dsr"].is_number(),
            "{board}"
        );
        let _ = again.child.kill();
        let _ = again.child.wait();
    });
}
