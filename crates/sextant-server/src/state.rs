//! Shared state of the server: the service registry plus the HTTP layer's own parts.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::metrics::HttpMetrics;
use axum::http::StatusCode;
use sextant_core::jobs::handlers::default_handlers;
use sextant_core::jobs::{JobConfig, JobManager};
use sextant_core::Services;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Cloned into every handler (everything inside is shared).
#[derive(Clone)]
pub struct AppState {
    /// The service registry the routes call, the same one the CLI builds.
    pub services: Arc<Services>,
    /// API-key verification (with its cache of verified keys) and key management.
    pub auth: Auth,
    /// Requests per API key ([`Limits::requests_per_second`], [`Limits::burst`]): the auth
    /// middleware takes each request's cost from it once the key is verified.
    pub rate: Arc<RateLimiter>,
    /// Response counts by status class and the latency histogram, served as Prometheus text.
    pub metrics: Arc<HttpMetrics>,
    /// When this state was built: the origin of the uptime the ops routes report.
    pub started: Instant,
    /// The job queue and (once started) the in-process worker pool.
    pub jobs: Arc<JobManager>,
    /// Bar series rendered for the bars endpoint, valid while the cache's write generation is
    /// unchanged.
    pub series: Arc<crate::series_cache::SeriesCache>,
    /// Failed key checks per client address: past the allowance a failed check is answered
    /// 429 (retry after 5 s) instead of 401. The key is checked first, so a valid key always
    /// passes.
    pub auth_failures: Arc<RateLimiter>,
    /// Open server-sent-event streams, capped per key and in total.
    pub sse: Arc<SseSlots>,
    /// The strategy builder and the ChatOps agent (built on first use).
    pub agents: Arc<sextant_core::agents::AgentsService>,
}

impl AppState {
    /// The HTTP layer around `services`: the job manager with the built-in handlers and the
    /// reference-data ingests ([`crate::reference_jobs`]) (not started: call
    /// `jobs.start()`), the series cache, rate and stream caps of `limits`.
    pub fn new(services: Arc<Services>, limits: &Limits) -> Self {
        let mut handlers = default_handlers(&services);
        if let Ok(av) = services.alphavantage() {
            handlers.extend(crate::reference_jobs::handlers(
                services.reference.clone(),
                av,
            ));
        }
        let jobs = JobManager::new(
            services.meta.clone(),
            handlers,
            services.config.jobs.job_config(&JobConfig::default().node),
        );
        let agents = Arc::new(sextant_core::agents::AgentsService::new(
            services.clone(),
            jobs.clone(),
        ));
        AppState {
            agents,
            jobs,
            series: Arc::new(crate::series_cache::SeriesCache::new(
                limits.series_cache_bytes,
            )),
            auth: Auth::new(services.meta.clone()),
            rate: Arc::new(RateLimiter::new(limits.requests_per_second, limits.burst)),
            auth_failures: Arc::new(RateLimiter::new(
                limits.failed_auth_per_second,
                limits.failed_auth_burst,
            )),
            sse: Arc::new(SseSlots::new(limits.sse_per_key, limits.sse_total)),
            metrics: Arc::new(HttpMetrics::default()),
            services,
            started: Instant::now(),
        }
    }
}

/// Request limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Sustained requests per second per API key.
    pub requests_per_second: f64,
    /// Bucket size: how many requests a key may send at once.
    pub burst: f64,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Per-request timeout.
    pub timeout_secs: u64,
    /// Failed key checks one client address may make per second (sustained) and at once.
    pub failed_auth_per_second: f64,
    /// Failed key checks one client address may make at once (bucket size). Default: 30.
    pub failed_auth_burst: f64,
    /// Open event streams per key, and in total.
    pub sse_per_key: usize,
    /// Open event streams on the whole server, all keys together. Default: 256.
    pub sse_total: usize,
    /// Bytes of rendered bar series the bars endpoint keeps in memory (least recently used
    /// evicted first). Default: [`crate::series_cache::MAX_SERIES_BYTES`].
    pub series_cache_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            requests_per_second: 2_000.0,
            burst: 4_000.0,
            max_body_bytes: 1 << 20,
            timeout_secs: 60,
            failed_auth_per_second: 1.0,
            failed_auth_burst: 30.0,
            sse_per_key: 8,
            sse_total: 256,
            series_cache_bytes: crate::series_cache::MAX_SERIES_BYTES,
        }
    }
}

/// A token bucket per API key.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter refilling each key's bucket at `rate` tokens a second (at least 0.001) up to
    /// `burst` tokens (at least 1). A key's bucket starts full and is kept for the life of the
    /// process.
    pub fn new(rate: f64, burst: f64) -> Self {
        RateLimiter {
            rate: rate.max(0.001),
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`, or says when to retry.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        self.take(key, 1.0)
    }

    /// Takes `cost` tokens for `key` (a costly request weighs more than a cheap one), or says
    /// when to retry.
    pub fn take(&self, key: &str, cost: f64) -> Result<(), ApiError> {
        let cost = cost.clamp(1.0, self.burst);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= cost {
            *tokens -= cost;
            Ok(())
        } else {
            let wait = ((cost - *tokens) / self.rate).ceil().max(1.0) as u64;
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                format!(
                    "rate limit of {} requests/s for this key exceeded",
                    self.rate
                ),
            );
            e.retry_after = Some(wait);
            Err(e)
        }
    }
}

/// Open server-sent-event streams: at most `per_key` for one key and `total` for the server.
pub struct SseSlots {
    per_key: usize,
    total: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream; dropping it (the client went away, or the stream ended) frees the slot.
pub struct SseSlot {
    slots: Arc<SseSlots>,
    key: String,
}

impl SseSlots {
    /// Slots for at most `per_key` streams per key and `total` in all (each at least 1).
    pub fn new(per_key: usize, total: usize) -> Self {
        SseSlots {
            per_key: per_key.max(1),
            total: total.max(1),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// A slot for `key`, or 429 when the key (or the server) has as many streams open as
    /// allowed.
    pub fn acquire(self: &Arc<Self>, key: &str) -> Result<SseSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let total: usize = open.values().sum();
        let mine = open.get(key).copied().unwrap_or(0);
        if mine >= self.per_key || total >= self.total {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-streams",
                format!(
                    "at most {} event streams per key ({} in all) may be open; close one first",
                    self.per_key, self.total
                ),
            );
            e.retry_after = Some(5);
            return Err(e);
        }
        *open.entry(key.to_string()).or_insert(0) += 1;
        Ok(SseSlot {
            slots: self.clone(),
            key: key.to_string(),
        })
    }

    /// Streams open now for `key`.
    pub fn open_for(&self, key: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(key).copied().unwrap_or(0)
    }
}

impl Drop for SseSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}
