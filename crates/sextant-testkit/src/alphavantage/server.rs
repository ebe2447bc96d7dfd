//! The axum server, its builder, the request log and the scripted failures.

use super::crypto::CryptoLayout;
use super::dataset::Dataset;
use super::endpoints::{answer, DataOptions};
use super::faults::{
    demo_allows, invalid_call, Fault, RateLimit, RateLimitBody, DEMO_KEY, INFORMATION_RATE_LIMIT,
    MISSING_KEY, NOTE_RATE_LIMIT, PREMIUM_ENDPOINT, PREMIUM_FUNCTIONS,
};
use super::render::{LineEnd, NumberStyle};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// One `/query` request as the server saw it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    /// Arrival time, taken before any latency or [`Fault::Slow`] delay.
    #[serde(skip)]
    pub at: Instant,
    /// Milliseconds since the server started (for the control endpoint).
    pub elapsed_ms: f64,
    /// Every query parameter, `apikey` included (the keys a test uses are fake).
    pub params: BTreeMap<String, String>,
    /// `data`, `invalid_call`, `rate_limited`, `premium`, `demo_key`, `missing_key`, or the
    /// [`Fault::label`] of a scripted fault.
    pub outcome: &'static str,
}

impl RecordedRequest {
    /// The `function` parameter (`TIME_SERIES_DAILY`, ...), if sent.
    pub fn function(&self) -> Option<&str> {
        self.params.get("function").map(String::as_str)
    }
    /// The `symbol` parameter as sent (not normalised), if any.
    pub fn symbol(&self) -> Option<&str> {
        self.params.get("symbol").map(String::as_str)
    }
}

/// The largest number of `times` that fall inside any half-open window `[t, t + window)`.
/// Windows that maximise the count start at a request, so checking those is exhaustive.
pub fn max_requests_in_window(times: &[Instant], window: Duration) -> usize {
    let mut sorted = times.to_vec();
    sorted.sort();
    let mut best = 0;
    let mut end = 0;
    for start in 0..sorted.len() {
        if end < start {
            end = start;
        }
        while end < sorted.len() && sorted[end].duration_since(sorted[start]) < window {
            end += 1;
        }
        best = best.max(end - start);
    }
    best
}

struct Inner {
    log: Vec<RecordedRequest>,
    faults: VecDeque<Fault>,
    sticky: Option<Fault>,
    rate_limit: Option<RateLimit>,
    daily_limit: Option<usize>,
    premium: BTreeSet<String>,
    latency: Duration,
    opts: DataOptions,
    csv_line_end: Option<LineEnd>,
}

struct Shared {
    started: Instant,
    dataset: Arc<Dataset>,
    inner: Mutex<Inner>,
}

impl Shared {
    /// A poisoned lock only means a test thread panicked; the log is still worth reading.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Configures an [`AlphaVantageServer`] before it starts.
pub struct AlphaVantageServerBuilder {
    addr: SocketAddr,
    dataset: Option<Arc<Dataset>>,
    inner: Inner,
}

impl Default for AlphaVantageServerBuilder {
    fn default() -> Self {
        AlphaVantageServerBuilder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            dataset: None,
            inner: Inner {
                log: Vec::new(),
                faults: VecDeque::new(),
                sticky: None,
                rate_limit: None,
                daily_limit: None,
                premium: BTreeSet::new(),
                latency: Duration::ZERO,
                opts: DataOptions {
                    numbers: NumberStyle::default(),
                    intraday_seed: 0x05E8_7A47,
                    crypto_layout: CryptoLayout::New,
                    legacy_fx: false,
                },
                csv_line_end: None,
            },
        }
    }
}

impl AlphaVantageServerBuilder {
    /// Listen address; default `127.0.0.1:0` (a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }
    /// Serve this dataset instead of the bundled sample.
    pub fn dataset(mut self, dataset: Arc<Dataset>) -> Self {
        self.dataset = Some(dataset);
        self
    }
    /// Answer `function` with the premium-endpoint body (entitlements are runtime-discovered).
    pub fn premium_function(mut self, function: &str) -> Self {
        self.inner.premium.insert(function.to_string());
        self
    }
    /// After `max` requests within `window`, answer with the `Note` rate-limit body.
    pub fn rate_limit(self, max: usize, window: Duration) -> Self {
        self.rate_limit_with(RateLimit {
            max,
            window,
            body: RateLimitBody::Note,
        })
    }
    /// A rate limit with a chosen body.
    pub fn rate_limit_with(mut self, limit: RateLimit) -> Self {
        self.inner.rate_limit = Some(limit);
        self
    }
    /// After `n` requests in total, answer with the `Information` 25-per-day body.
    pub fn daily_limit(mut self, n: usize) -> Self {
        self.inner.daily_limit = Some(n);
        self
    }
    /// Delay every answer by `latency` (after recording the arrival).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.inner.latency = latency;
        self
    }
    /// Number formatting (`"166.5000"` or `"166.5"`).
    pub fn numbers(mut self, style: NumberStyle) -> Self {
        self.inner.opts.numbers = style;
        self
    }
    /// Seed of the synthetic intraday bars.
    pub fn intraday_seed(mut self, seed: u64) -> Self {
        self.inner.opts.intraday_seed = seed;
        self
    }
    /// The row layout of `DIGITAL_CURRENCY_DAILY` / `_WEEKLY` / `_MONTHLY`: the current
    /// five-key one (the default) or the ten-key one of 2017–2023 (`1a. open (CNY)`, …).
    pub fn crypto_layout(mut self, layout: CryptoLayout) -> Self {
        self.inner.opts.crypto_layout = layout;
        self
    }
    /// Answer FX like in 2018–2019: `Time Zone` `GMT+8` with intraday keys in GMT+8 wall-clock
    /// time, and `CURRENCY_EXCHANGE_RATE` without its bid and ask fields. Default: off (UTC).
    pub fn legacy_fx(mut self, on: bool) -> Self {
        self.inner.opts.legacy_fx = on;
        self
    }
    /// Force one CSV line end for every function. Default: each function's documented one
    /// (CRLF for `TIME_SERIES_*` as this server always sent it, LF for the others as in the
    /// vendor's raw downloads).
    pub fn csv_line_end(mut self, line_end: LineEnd) -> Self {
        self.inner.csv_line_end = Some(line_end);
        self
    }
    /// Refuse the functions the documentation marks premium ([`PREMIUM_FUNCTIONS`]:
    /// `FX_INTRADAY`, `CRYPTO_INTRADAY`) with the premium body, as for a free key.
    pub fn free_tier(mut self) -> Self {
        for f in PREMIUM_FUNCTIONS {
            self.inner.premium.insert(f.to_string());
        }
        self
    }
    /// Queue a one-shot fault (applied to the next requests in order).
    pub fn fault(mut self, fault: Fault) -> Self {
        self.inner.faults.push_back(fault);
        self
    }
    /// A fault for every request that has no queued fault.
    pub fn sticky_fault(mut self, fault: Fault) -> Self {
        self.inner.sticky = Some(fault);
        self
    }

    /// Binds and spawns the server on the current tokio runtime.
    pub async fn start(self) -> std::io::Result<AlphaVantageServer> {
        let dataset = match self.dataset {
            Some(d) => d,
            None => Dataset::bundled().map_err(std::io::Error::other)?,
        };
        let shared = Arc::new(Shared {
            started: Instant::now(),
            dataset,
            inner: Mutex::new(self.inner),
        });
        let router = Router::new()
            .route("/query", get(query))
            .route("/_control/requests", get(control_requests))
            .route("/_control/fault", post(control_fault))
            .route("/_control/sticky", post(control_sticky))
            .route("/_control/reset", post(control_reset))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "alphavantage test server stopped");
            }
        });
        tracing::debug!(%addr, "alphavantage test server listening");
        Ok(AlphaVantageServer { addr, shared, task })
    }
}

/// A running fake Alpha Vantage; stops when dropped.
pub struct AlphaVantageServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for AlphaVantageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AlphaVantageServer {
    /// A builder with the defaults: bundled data, a free loopback port, no limits, no latency and
    /// no faults.
    pub fn builder() -> AlphaVantageServerBuilder {
        AlphaVantageServerBuilder::default()
    }

    /// A server with the bundled data and no scripted failures.
    pub async fn start() -> std::io::Result<AlphaVantageServer> {
        Self::builder().start().await
    }

    /// The address the server listens on (the actual port when bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL to give a client as its base URL: `http://127.0.0.1:PORT/query`.
    pub fn base_url(&self) -> String {
        format!("http://{}/query", self.addr)
    }

    /// The data the server answers from, to compute what a client should have received.
    pub fn dataset(&self) -> &Arc<Dataset> {
        &self.shared.dataset
    }

    /// Every `/query` request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().log.clone()
    }

    /// Number of `/query` requests recorded so far.
    pub fn request_count(&self) -> usize {
        self.shared.lock().log.len()
    }

    /// Arrival times of every `/query` request.
    pub fn request_times(&self) -> Vec<Instant> {
        self.shared.lock().log.iter().map(|r| r.at).collect()
    }

    /// See [`max_requests_in_window`].
    pub fn max_requests_in_window(&self, window: Duration) -> usize {
        max_requests_in_window(&self.request_times(), window)
    }

    /// Forgets recorded requests (scripted faults stay).
    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// Queues a one-shot fault for the next request without one.
    pub fn push_fault(&self, fault: Fault) {
        self.shared.lock().faults.push_back(fault);
    }

    /// Sets or clears the fault applied to every request that has no queued fault.
    pub fn set_sticky_fault(&self, fault: Option<Fault>) {
        self.shared.lock().sticky = fault;
    }

    /// Sets or removes the sliding-window rate limit for later requests.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        self.shared.lock().rate_limit = limit;
    }

    /// Sets the crypto row layout of later answers (see [`AlphaVantageServerBuilder::crypto_layout`]).
    pub fn set_crypto_layout(&self, layout: CryptoLayout) {
        self.shared.lock().opts.crypto_layout = layout;
    }

    /// Sets the delay added to every later answer (after its arrival is recorded).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }
}

/// What the handler decided under the lock, so it can sleep without holding it.
struct Plan {
    index: usize,
    fault: Option<Fault>,
    limited: Option<&'static str>,
    latency: Duration,
    premium: bool,
    opts: DataOptions,
    csv_line_end: Option<LineEnd>,
}

async fn query(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    let at = Instant::now();
    let plan = {
        let mut g = shared.lock();
        let limited = match (&g.rate_limit, g.daily_limit) {
            (Some(rl), _)
                if g.log
                    .iter()
                    .filter(|r| at.duration_since(r.at) < rl.window)
                    .count()
                    >= rl.max =>
            {
                Some(rl.body.body())
            }
            (_, Some(n)) if g.log.len() >= n => Some(INFORMATION_RATE_LIMIT),
            _ => None,
        };
        let fault = g.faults.pop_front().or_else(|| g.sticky.clone());
        let premium = params
            .get("function")
            .is_some_and(|f| g.premium.contains(f));
        g.log.push(RecordedRequest {
            at,
            elapsed_ms: at.duration_since(shared.started).as_secs_f64() * 1000.0,
            params: params.clone(),
            outcome: "pending",
        });
        Plan {
            index: g.log.len() - 1,
            fault,
            limited,
            latency: g.latency,
            premium,
            opts: g.opts,
            csv_line_end: g.csv_line_end,
        }
    };
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    if let Some(Fault::Slow { delay_ms }) = plan.fault {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
    let (outcome, response) = respond(&shared.dataset, &params, &plan);
    if let Some(r) = shared.lock().log.get_mut(plan.index) {
        r.outcome = outcome;
    }
    response
}

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn respond(
    ds: &Dataset,
    params: &BTreeMap<String, String>,
    plan: &Plan,
) -> (&'static str, Response) {
    let function = params.get("function").map(String::as_str).unwrap_or("");
    if let Some(f) = &plan.fault {
        let label = f.label();
        let early = match f {
            Fault::RateLimitNote => Some(json(NOTE_RATE_LIMIT.into())),
            Fault::RateLimitDaily => Some(json(INFORMATION_RATE_LIMIT.into())),
            Fault::Premium => Some(json(PREMIUM_ENDPOINT.into())),
            Fault::DemoKey => Some(json(DEMO_KEY.into())),
            Fault::MissingKey => Some(json(MISSING_KEY.into())),
            Fault::InvalidCall => Some(json(invalid_call(function))),
            Fault::HttpStatus { status } => {
                let code =
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                Some((code, "Internal Server Error").into_response())
            }
            Fault::Raw {
                status,
                content_type,
                body,
            } => {
                let code = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
                Some(
                    (
                        code,
                        [(header::CONTENT_TYPE, content_type.clone())],
                        body.clone(),
                    )
                        .into_response(),
                )
            }
            Fault::MalformedValue { .. } | Fault::Truncated | Fault::Slow { .. } => None,
        };
        if let Some(r) = early {
            return (label, r);
        }
    }
    if let Some(body) = plan.limited {
        return ("rate_limited", json(body.to_string()));
    }
    let key = params.get("apikey").map(String::as_str).unwrap_or("");
    if key.is_empty() {
        return ("missing_key", json(MISSING_KEY.into()));
    }
    if key == "demo" && !demo_allows(params) {
        return ("demo_key", json(DEMO_KEY.into()));
    }
    if plan.premium {
        return ("premium", json(PREMIUM_ENDPOINT.into()));
    }
    let mut answer = match answer(ds, params, plan.opts) {
        Ok(a) => a,
        Err(body) => return ("invalid_call", json(body)),
    };
    if let Some(Fault::MalformedValue { row, field, value }) = &plan.fault {
        answer.corrupt(*row, field, value);
    }
    let csv = answer.is_csv(params.get("datatype").is_some_and(|d| d == "csv"));
    let mut body = if csv {
        answer.to_csv(plan.csv_line_end.unwrap_or(answer.line_end))
    } else {
        answer.to_json()
    };
    let label = match &plan.fault {
        Some(Fault::Truncated) => {
            let mut cut = body.len() / 2;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
            "truncated"
        }
        Some(f @ (Fault::MalformedValue { .. } | Fault::Slow { .. })) => f.label(),
        _ => "data",
    };
    let content_type = if csv {
        "application/x-download"
    } else {
        "application/json"
    };
    (
        label,
        ([(header::CONTENT_TYPE, content_type)], body).into_response(),
    )
}

async fn control_requests(State(shared): State<Arc<Shared>>) -> Json<Vec<RecordedRequest>> {
    Json(shared.lock().log.clone())
}

async fn control_fault(State(shared): State<Arc<Shared>>, Json(fault): Json<Fault>) -> StatusCode {
    shared.lock().faults.push_back(fault);
    StatusCode::NO_CONTENT
}

async fn control_sticky(
    State(shared): State<Arc<Shared>>,
    Json(fault): Json<Option<Fault>>,
) -> StatusCode {
    shared.lock().sticky = fault;
    StatusCode::NO_CONTENT
}

async fn control_reset(State(shared): State<Arc<Shared>>) -> StatusCode {
    let mut g = shared.lock();
    g.log.clear();
    g.faults.clear();
    g.sticky = None;
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_count_is_exhaustive() {
        let t0 = Instant::now();
        let ms = |m| t0 + Duration::from_millis(m);
        let times = [ms(0), ms(10), ms(990), ms(1000), ms(1500), ms(1999)];
        assert_eq!(
            max_requests_in_window(&times, Duration::from_millis(1000)),
            3
        );
        assert_eq!(
            max_requests_in_window(&times, Duration::from_millis(1001)),
            4
        );
        assert_eq!(max_requests_in_window(&times, Duration::from_millis(10)), 1);
        assert_eq!(max_requests_in_window(&[], Duration::from_secs(1)), 0);
    }
}
