//! A minimal W3C WebDriver client over reqwest, enough to drive headless Chromium through
//! chromedriver: sessions, navigation, elements, script, screenshots and the browser console log.
//!
//! Why not fantoccini: measured here, adding it pulled the ICU 1.x stack (22 crates) and turned on
//! syn features that the binary's build does not use, so the test build and `cargo build --bin
//! sextant` stopped sharing their proc-macro tree; that cost 9 min 28 s of recompilation on 2
//! cores. These eleven commands need nothing beyond the HTTP client the tests already use.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The W3C key of an element reference in a response.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A running chromedriver, killed on drop.
pub struct Driver {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts `bin` on a free loopback port and waits until it answers `/status`.
    pub async fn start(bin: &std::ffi::OsStr) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let t0 = Instant::now();
        while reqwest::get(format!("{}/status", driver.url))
            .await
            .is_err()
        {
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }
}

/// One browser session.
pub struct Session {
    http: reqwest::Client,
    base: String,
}

impl Session {
    /// Opens a browser with these `capabilities` (W3C `alwaysMatch`).
    pub async fn new(driver: &Driver, capabilities: Value) -> Session {
        let http = reqwest::Client::new();
        let body = json!({"capabilities": {"alwaysMatch": capabilities}});
        let resp: Value = http
            .post(format!("{}/session", driver.url))
            .json(&body)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session json");
        let id = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {resp}"));
        Session {
            http,
            base: format!("{}/session/{id}", driver.url),
        }
    }

    /// Sends one command; a WebDriver error is returned as `Err(value)`.
    pub async fn cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("webdriver request");
        let ok = resp.status().is_success();
        let v: Value = resp.json().await.expect("webdriver json");
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if ok {
            Ok(value)
        } else {
            Err(value)
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.cmd(reqwest::Method::POST, path, Some(body))
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// Navigates to `url`.
    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        let v = self
            .cmd(reqwest::Method::GET, "/url", None)
            .await
            .expect("url");
        v.as_str().unwrap_or_default().to_string()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The reference of the first element matching `css`, if any.
    pub async fn find(&self, css: &str) -> Option<String> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await
            .ok()?;
        v[ELEMENT].as_str().map(str::to_string)
    }

    /// Polls for `css` until `timeout`.
    pub async fn wait(&self, css: &str, timeout: Duration) -> Option<String> {
        let t0 = Instant::now();
        loop {
            if let Some(e) = self.find(css).await {
                return Some(e);
            }
            if t0.elapsed() > timeout {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element (a real pointer click through the browser).
    pub async fn click(&self, element: &str) {
        self.post(&format!("/element/{element}/click"), json!({}))
            .await;
    }

    /// Types `text` into the element.
    pub async fn type_text(&self, element: &str, text: &str) {
        self.post(&format!("/element/{element}/value"), json!({"text": text}))
            .await;
    }

    /// Resizes the browser window (CSS pixels).
    pub async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    /// Presses Tab on whatever has the focus (a real key event through the browser).
    pub async fn tab(&self) {
        let active = self
            .cmd(reqwest::Method::GET, "/element/active", None)
            .await
            .expect("active element");
        let id = active[ELEMENT]
            .as_str()
            .expect("active element id")
            .to_string();
        self.post(&format!("/element/{id}/value"), json!({"text": "\u{E004}"}))
            .await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let v = self
            .cmd(reqwest::Method::GET, "/screenshot", None)
            .await
            .expect("screenshot");
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("base64 png")
    }

    /// The browser console entries since the last call (chromedriver's `se/log`; needs the
    /// `goog:loggingPrefs` capability).
    pub async fn console(&self) -> Vec<Value> {
        let v = self.post("/se/log", json!({"type": "browser"})).await;
        v.as_array().cloned().unwrap_or_default()
    }

    /// Ends the session (closes the browser).
    pub async fn close(self) {
        let _ = self.cmd(reqwest::Method::DELETE, "", None).await;
    }
}
