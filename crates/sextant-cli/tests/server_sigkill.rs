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
