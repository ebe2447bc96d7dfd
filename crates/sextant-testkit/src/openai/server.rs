//! The axum server: a queue of [`Reply`]s, a request log, and the two routes.

use super::wire::{self, Answer};
use super::Reply;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::task::JoinHandle;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Path and query, e.g. `/v1/chat/completions?api-version=2024-06-01`.
    pub uri: String,
    /// The `Authorization` header, if any (test keys are fake, so it is kept verbatim).
    pub authorization: Option<String>,
    /// The `api-key` header (Azure style), if any.
    pub api_key: Option<String>,
    /// The JSON body; a body that is not JSON is kept as a JSON string.
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    replies: VecDeque<Reply>,
    log: Vec<RecordedRequest>,
}

struct Shared {
    inner: Mutex<Inner>,
}

impl Shared {
    /// A poisoned lock only means a test thread panicked; the log is still worth reading.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running fake Chat Completions API; stops when dropped.
pub struct OpenAiServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for OpenAiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl OpenAiServer {
    /// Binds `127.0.0.1:0` and serves `replies` in order on the current tokio runtime.
    pub async fn start(replies: impl IntoIterator<Item = Reply>) -> std::io::Result<OpenAiServer> {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                replies: replies.into_iter().collect(),
                log: Vec::new(),
            }),
        });
        let router = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/chat/completions", post(chat))
            .route("/v1/embeddings", post(embeddings))
            .route("/embeddings", post(embeddings))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "openai test server stopped");
            }
        });
        tracing::debug!(%addr, "openai test server listening");
        Ok(OpenAiServer { addr, shared, task })
    }

    /// The address the server listens on (`127.0.0.1` and the port the OS picked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL a client is given: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Appends a reply to the queue.
    pub fn push(&self, reply: Reply) {
        self.shared.lock().replies.push_back(reply);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().log.clone()
    }

    /// Replies not yet consumed.
    pub fn remaining(&self) -> usize {
        self.shared.lock().replies.len()
    }
}

fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Logs a request (its body parsed as JSON, or kept as a string) and takes the next reply;
/// returns the body, the request's number (1-based) and the reply.
fn record(
    shared: &Shared,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> (Value, usize, Option<Reply>) {
    let body: Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    let mut g = shared.lock();
    g.log.push(RecordedRequest {
        uri: uri.to_string(),
        authorization: header_string(headers, "authorization"),
        api_key: header_string(headers, "api-key"),
        body: body.clone(),
    });
    (body, g.log.len(), g.replies.pop_front())
}

async fn chat(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (body, n, reply) = record(&shared, &uri, &headers, &body);
    let answer = match reply {
        None => {
            let e = wire::error(
                "sextant-testkit: the scripted reply queue is empty",
                "server_error",
                None,
            );
            return json(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        }
        Some(Reply::Text(t)) => Answer::Content(t),
        Some(Reply::Json(v)) => Answer::Content(v.to_string()),
        Some(Reply::ToolCall { name, arguments }) => Answer::ToolCall { name, arguments },
        Some(Reply::MalformedJson) => {
            return json(
                StatusCode::OK,
                "{\"id\": \"chatcmpl-broken\", \"choices\": [".into(),
            )
        }
        Some(Reply::Status(code, text)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = json(status, text);
            if status == StatusCode::TOO_MANY_REQUESTS {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            }
            return r;
        }
        Some(Reply::Timeout(delay)) => {
            tokio::time::sleep(delay).await;
            Answer::Content("late".into())
        }
        Some(Reply::Embeddings(_)) => {
            let e = wire::error(
                "sextant-testkit: an embeddings reply was scripted for a chat request",
                "server_error",
                None,
            );
            return json(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        }
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("unknown-model");
    let prompt = wire::prompt_tokens(&body);
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        let with_usage = body
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true);
        let sse = wire::sse(n, model, &answer, prompt, with_usage);
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/event-stream")],
            sse,
        )
            .into_response();
    }
    json(
        StatusCode::OK,
        wire::completion(n, model, &answer, prompt).to_string(),
    )
}

async fn embeddings(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (body, _, reply) = record(&shared, &uri, &headers, &body);
    match reply {
        Some(Reply::Embeddings(vectors)) => {
            let data: Vec<Value> = vectors
                .iter()
                .enumerate()
                .rev()
                .map(
                    |(i, v)| serde_json::json!({"object": "embedding", "index": i, "embedding": v}),
                )
                .collect();
            let model = body.get("model").cloned().unwrap_or(Value::Null);
            let out = serde_json::json!({"object": "list", "data": data, "model": model,
                                         "usage": {"prompt_tokens": 0, "total_tokens": 0}});
            json(StatusCode::OK, out.to_string())
        }
        Some(Reply::Status(code, text)) => json(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            text,
        ),
        _ => {
            let e = wire::error(
                "sextant-testkit: no embeddings reply scripted",
                "server_error",
                None,
            );
            json(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
    }
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
