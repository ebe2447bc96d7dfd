//! Shared state of the server: the service registry plus the HTTP layer's own parts.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::metrics::HttpMetrics;
use axum::http::StatusCode;
use sextant_core::jobs::handlers::default_handlers;
use sextant_core::jobs::{JobConfig, JobManager};
use sextant_core::Services;
use sextant_data::Cache;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Cloned into every handler (everything inside is shared).
#[derive(Clone)]
pub struct AppState {
    pub services: Arc<Services>,
    pub auth: Auth,
    pub rate: Arc<RateLimiter>,
    pub metrics: Arc<HttpMetrics>,
    pub started: Instant,
    /// Narratives of backtests (offline grounded writer or an OpenAI-compatible endpoint).
    pub reports: Arc<sextant_narrative::service::ReportGenerationService>,
    /// The job queue and (once started) the in-process worker pool.
    pub jobs: Arc<JobManager>,
    /// Serialized market-data responses, valid while the cache's write generation is unchanged.
    pub responses: Arc<crate::respcache::ResponseCache>,
    /// Extra DuckDB connections for concurrent reads (each has its own lock).
    readers: Arc<Vec<Arc<Cache>>>,
    next_reader: Arc<AtomicUsize>,
}

impl AppState {
    pub fn new(services: Arc<Services>, limits: &Limits) -> Self {
        let readers = (0..READERS)
            .filter_map(|_| services.cache.try_clone().ok().map(Arc::new))
            .collect();
        let jobs = JobManager::new(
            services.meta.clone(),
            default_handlers(&services),
            JobConfig::default(),
        );
        let reports = crate::reports::report_service(&services.config.llm, services.meta.clone())
            .or_else(|e| {
                tracing::error!(error = %e, "LLM configuration unusable: narratives use the offline writer");
                crate::reports::report_service(&Default::default(), services.meta.clone())
            })
            .map(Arc::new)
            .unwrap_or_else(|e| panic!("the offline narrative writer cannot fail to build: {e}"));
        AppState {
            reports,
            jobs,
            readers: Arc::new(readers),
            next_reader: Arc::new(AtomicUsize::new(0)),
            responses: Arc::new(crate::respcache::ResponseCache::new(10_000)),
            auth: Auth::new(services.meta.clone()),
            rate: Arc::new(RateLimiter::new(limits.requests_per_second, limits.burst)),
            metrics: Arc::new(HttpMetrics::default()),
            services,
            started: Instant::now(),
        }
    }
}

const READERS: usize = 4;

impl AppState {
    /// A connection for a read, round robin over the read pool (the main one if the pool is
    /// empty).
    pub fn read_cache(&self) -> Arc<Cache> {
        if self.readers.is_empty() {
            return self.services.cache.clone();
        }
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].clone()
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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            requests_per_second: 2_000.0,
            burst: 4_000.0,
            max_body_bytes: 1 << 20,
            timeout_secs: 60,
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
    pub fn new(rate: f64, burst: f64) -> Self {
        RateLimiter {
            rate: rate.max(0.001),
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`, or says when to retry.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64;
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
