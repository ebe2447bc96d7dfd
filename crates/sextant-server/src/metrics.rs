//! Prometheus text exposition of the HTTP layer's counters (no client library needed for a few
//! counters and one histogram).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::state::AppState;

const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// Request counts by status class and a latency histogram.
#[derive(Default)]
pub struct HttpMetrics {
    by_class: [AtomicU64; 6],
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl HttpMetrics {
    /// Counts one response with HTTP `status` that took `secs` seconds. Statuses of 600 and
    /// above count with the 5xx class.
    pub fn record(&self, status: u16, secs: f64) {
        let class = usize::from(status / 100).min(5);
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
    }

    /// The counters in the Prometheus text format (version 0.0.4): requests by status class,
    /// then the latency histogram, then each `(name, type, value)` of `extra` as its own metric.
    pub fn render(&self, extra: &[(&str, &str, f64)]) -> String {
        let mut out = String::from("# TYPE sextant_http_requests_total counter\n");
        for (class, c) in self.by_class.iter().enumerate().skip(1) {
            out.push_str(&format!(
                "sextant_http_requests_total{{class=\"{class}xx\"}} {}\n",
                c.load(Ordering::Relaxed)
            ));
        }
        out.push_str("# TYPE sextant_http_request_duration_seconds histogram\n");
        for (i, le) in BUCKETS.iter().enumerate() {
            out.push_str(&format!(
                "sextant_http_request_duration_seconds_bucket{{le=\"{le}\"}} {}\n",
                self.buckets[i].load(Ordering::Relaxed)
            ));
        }
        let n = self.count.load(Ordering::Relaxed);
        out.push_str(&format!(
            "sextant_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {n}\n"
        ));
        out.push_str(&format!(
            "sextant_http_request_duration_seconds_sum {}\nsextant_http_request_duration_seconds_count {n}\n",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        ));
        for (name, kind, value) in extra {
            out.push_str(&format!("# TYPE {name} {kind}\n{name} {value}\n"));
        }
        out
    }
}

/// Records every response's status and latency.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let t = Instant::now();
    let resp = next.run(req).await;
    state
        .metrics
        .record(resp.status().as_u16(), t.elapsed().as_secs_f64());
    resp
}
