//! Fixtures of the scale-out tests: a cluster of real processes on loopback (a NATS server
//! started by `scripts/test`, `sextant serve`, `sextant worker`s) and the HTTP calls the tests
//! make. Each test binary uses part of it.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn nats_url() -> Option<String> {
    match std::env::var("SEXTANT_TEST_NATS_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("SEXTANT_REQUIRE_NATS").as_deref() != Ok("1"),
                "SEXTANT_REQUIRE_NATS=1 but SEXTANT_TEST_NATS_URL is not set"
            );
            eprintln!("skipped: no NATS server (SEXTANT_TEST_NATS_URL)");
            None
        }
    }
}

/// How the processes of one test reach NATS: its own subject prefix and stream.
#[derive(Clone)]
pub struct Cluster {
    pub url: String,
    pub prefix: String,
    pub data: PathBuf,
    pub heartbeat_ms: u64,
    pub stale_ms: u64,
    /// MongoDB (a database of its own) when the test command started one: the metadata
    /// backend of a multi-machine setup. The embedded SQLite file otherwise.
    pub mongo: Option<(String, String)>,
}

impl Cluster {
    pub fn new(url: &str, data: &Path, tag: &str) -> Cluster {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        Cluster {
            url: url.to_string(),
            prefix: format!("{tag}{nanos:x}{}", std::process::id()),
            data: data.to_path_buf(),
            // Short leases so a killed process is noticed in about two seconds.
            heartbeat_ms: 300,
            stale_ms: 1500,
            mongo: std::env::var("SEXTANT_TEST_MONGO_URI")
                .ok()
                .filter(|u| !u.is_empty())
                .map(|u| (u, format!("scale_{tag}_{nanos:x}"))),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sextant"));
        c.arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .env("SEXTANT_NATS_URL", &self.url)
            .env("SEXTANT_NATS_PREFIX", &self.prefix)
            .env("SEXTANT_JOB_HEARTBEAT_MS", self.heartbeat_ms.to_string())
            .env("SEXTANT_JOB_STALE_MS", self.stale_ms.to_string())
            .env("SEXTANT_DEBUG_JOBS", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some((uri, db)) = &self.mongo {
            c.env("SEXTANT_METADATA_BACKEND", "mongodb")
                .env("SEXTANT_MONGODB_URI", uri)
                .env("SEXTANT_MONGODB_DATABASE", db);
        }
        c
    }
}

pub struct Proc {
    pub child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` and reads its output until a line containing `ready`; returns the process and
/// every line read (then keeps draining its output).
pub fn spawn(mut cmd: Command, ready: &str) -> (Proc, Vec<String>) {
    let mut child = cmd.spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        let done = line.contains(ready);
        seen.push(line);
        if done {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.contains(ready)),
        "process exited before {ready:?}: {seen:?}"
    );
    std::thread::spawn(move || for _ in lines {});
    (Proc { child }, seen)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub struct Server {
    /// Killed (SIGKILL) when the server is dropped.
    pub process: Proc,
    pub base: String,
}

/// `sextant serve`; the admin key is returned on the first start.
pub fn serve(cluster: Option<&Cluster>, data: &Path, port: u16) -> (Server, Option<String>) {
    let addr = format!("127.0.0.1:{port}");
    let cmd = match cluster {
        Some(c) => c.command(&["serve", "--addr", &addr]),
        None => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_sextant"));
            c.arg("--data-dir")
                .arg(data)
                .args(["serve", "--addr", &addr])
                .stdout(Stdio::piped())
                .stderr(Stdio::null());
            c
        }
    };
    let (proc, lines) = spawn(cmd, "serving on");
    let key = lines
        .iter()
        .flat_map(|l| l.split_whitespace())
        .find(|w| w.starts_with("sx_"))
        .map(str::to_string);
    let server = Server {
        process: proc,
        base: format!("http://{addr}"),
    };
    (server, key)
}

pub fn worker(cluster: &Cluster, node: &str, cache: &Path) -> Proc {
    let mut cmd = cluster.command(&["worker", "--node", node, "--concurrency", "2"]);
    cmd.env("SEXTANT_WORKER_CACHE", cache.join(node));
    spawn(cmd, "sextant worker").0
}

pub async fn call(
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

pub async fn get(c: &reqwest::Client, base: &str, key: &str, path: &str) -> (u16, Value) {
    call(c, reqwest::Method::GET, format!("{base}{path}"), key, None).await
}

pub async fn submit(
    c: &reqwest::Client,
    base: &str,
    key: &str,
    kind: &str,
    params: Value,
) -> String {
    let (status, job) = call(
        c,
        reqwest::Method::POST,
        format!("{base}/api/v1/jobs"),
        key,
        Some(json!({"kind": kind, "params": params})),
    )
    .await;
    assert_eq!(status, 202, "{job}");
    job["id"].as_str().expect("job id").to_string()
}

/// Waits for job `id` to end (the server may be restarting: connection errors are retried).
pub async fn settle(
    c: &reqwest::Client,
    base: &str,
    key: &str,
    id: &str,
    within: Duration,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(resp) = c
            .get(format!("{base}/api/v1/jobs/{id}"))
            .bearer_auth(key)
            .send()
            .await
        {
            let j: Value = resp.json().await.unwrap_or(Value::Null);
            if matches!(
                j["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            ) {
                return j;
            }
            assert!(Instant::now() < deadline, "job {id} never finished: {j}");
        }
        assert!(Instant::now() < deadline, "job {id} never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (20 s at most) for job `id` to run; returns it.
pub async fn running(c: &reqwest::Client, base: &str, key: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, j) = get(c, base, key, &format!("/api/v1/jobs/{id}")).await;
        if j["status"] == "running" {
            return j;
        }
        assert!(Instant::now() < deadline, "never started: {j}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
