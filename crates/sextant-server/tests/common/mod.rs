//! The shared harness of the HTTP tests: the real router on a loopback port with one key per
//! role, driven by a real HTTP client.
#![allow(dead_code)]

pub mod webdriver;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sextant_core::Services;
use sextant_server::auth::Role;
use sextant_server::{AppState, Limits};
use std::sync::Arc;

pub struct Server {
    pub services: Arc<Services>,
    /// The key store, for tests that need more keys than one per role.
    pub auth: sextant_server::auth::Auth,
    pub base: String,
    pub keys: Vec<(Role, String)>,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub async fn start(limits: Limits) -> Server {
    start_with(limits, |_| {}).await
}

/// [`start`] after `edit` has changed the configuration.
pub async fn start_with(limits: Limits, edit: impl FnOnce(&mut sextant_core::Config)) -> Server {
    let sextant_test_support::TestServices { services, dir } =
        sextant_test_support::services_with(edit).await;
    let state = AppState::new(services.clone(), &limits);
    let mut keys = Vec::new();
    for role in [Role::Viewer, Role::Analyst, Role::Admin] {
        keys.push((
            role,
            state.auth.create(role, "test").await.expect("key").key,
        ));
    }
    state.jobs.start().await.expect("jobs");
    let auth = state.auth.clone();
    let app = sextant_server::router(state, &limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(sextant_server::serve(listener, app, std::future::pending()));
    Server {
        services,
        auth,
        base,
        keys,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Server {
    pub fn key(&self, role: Role) -> &str {
        &self.keys.iter().find(|(r, _)| *r == role).expect("key").1
    }
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value, String) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
            ctype,
        )
    }
    /// A new key of `role` (a second analyst, say).
    pub async fn new_key(&self, role: Role) -> String {
        self.auth.create(role, "extra").await.expect("key").key
    }

    /// A request with an explicit key.
    pub async fn as_key(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, body, _) = self.call(method, path, Some(key), body).await;
        (status, body)
    }

    pub async fn get(&self, path: &str, role: Role) -> (StatusCode, Value) {
        let (status, body, _) = self
            .call(Method::GET, path, Some(self.key(role)), None)
            .await;
        (status, body)
    }
    pub async fn post(&self, path: &str, role: Role, body: Value) -> (StatusCode, Value) {
        let key = Some(self.key(role));
        let (status, body, _) = self.call(Method::POST, path, key, Some(body)).await;
        (status, body)
    }

    /// Polls job `id` until it ends (at most `limit`) and returns its record.
    pub async fn wait_job(&self, id: &str, limit: std::time::Duration) -> Value {
        let t0 = std::time::Instant::now();
        loop {
            let (status, job) = self.get(&format!("/api/v1/jobs/{id}"), Role::Analyst).await;
            assert!(status.is_success(), "{job}");
            if ["succeeded", "failed", "cancelled"].contains(&job["status"].as_str().unwrap_or(""))
            {
                return job;
            }
            assert!(t0.elapsed() < limit, "job {id} still {}", job["status"]);
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

/// Injects the benchmark's corruptions into a copy of the bundled sample whose tickers are all
/// prefixed with `X` (so they never collide with the sample the server loaded at startup) and
/// ingests it through the market-data service.
pub async fn ingest_corrupted(s: &Server) {
    let dir = tempfile::tempdir().expect("tmp");
    let gz = sextant_test_support::sample_file(dir.path());
    let out = dir.path().join("corrupted.csv");
    let truth = sextant_bench::quality::inject(&gz, &out, 5, 11).expect("inject");
    assert!(truth.len() >= 30, "{} corruptions", truth.len());
    let text = std::fs::read_to_string(&out).expect("read");
    let mut renamed = String::with_capacity(text.len() + 100_000);
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            renamed.push('X');
        }
        renamed.push_str(line);
        renamed.push('\n');
    }
    let file = dir.path().join("renamed.csv");
    std::fs::write(&file, renamed).expect("write renamed");
    let md = s.services.market_data.clone();
    tokio::task::spawn_blocking(move || {
        md.ingest_file(&file, &sextant_data::cache::FileOptions::default())
    })
    .await
    .expect("join")
    .expect("ingest");
}
