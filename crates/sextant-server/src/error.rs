//! RFC 9457 problem details for every error the API returns.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sextant_core::backtest::BacktestError;
use sextant_data::DataError;
use sextant_meta::MetaError;
use utoipa::ToSchema;

/// A field that failed validation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's name; nested fields are dotted, e.g. `params.fast`, and `body` stands for
    /// the whole body.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// `application/problem+json` body (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status's reason phrase, e.g. `Not Found`.
    pub title: String,
    /// The HTTP status code, repeated from the response.
    pub status: u16,
    /// What went wrong in this request. For a 500 only a reference to quote; the cause stays in
    /// the server log.
    pub detail: String,
    /// Validation errors, each naming the offending field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// An error on its way to becoming a problem response.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {detail}")]
pub struct ApiError {
    /// The response status.
    pub status: StatusCode,
    /// Short kebab-case name of the problem type, the last segment of the problem's `type`.
    pub slug: &'static str,
    /// Message for the client; for a 500 it is logged and replaced by a reference.
    pub detail: String,
    /// Field-level validation errors (the problem's `errors`).
    pub errors: Vec<FieldError>,
    /// Seconds to send in a `Retry-After` header (rate limits, stream slots).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `status`, problem type `slug` and `detail`, and no field errors.
    pub fn new(status: StatusCode, slug: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            slug,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }
    /// 400 `bad-request`: the request is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }
    /// 404 `not-found`; also used for objects the caller may not see, so their existence does
    /// not leak.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }
    /// 401 `unauthorized`: no key, or one that is unknown or revoked.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
    /// 403 `forbidden`: a valid key whose role is too low.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }
    /// 500 `internal`: `detail` goes to the server log only, under a reference the client is
    /// given instead.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }
    /// A validation error naming one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let (field, message) = (field.into(), message.into());
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            format!("{field}: {message}"),
        );
        e.errors.push(FieldError { field, message });
        e
    }
}

tokio::task_local! {
    /// The id of the request being served (its `x-request-id`), set by [`request_scope`]: a
    /// 500 is logged and answered under it, so a client's report finds the log line.
    static REQUEST_ID: Option<String>;
}

/// Middleware that makes the request's `x-request-id` available to error responses built while
/// it is served. Must run inside the layer that sets the id.
pub async fn request_scope(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    REQUEST_ID.scope(id, next.run(req)).await
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut detail = self.detail;
        if self.status == StatusCode::INTERNAL_SERVER_ERROR {
            // The cause stays in the log, under the request's id (a fresh one outside a
            // request); the client learns only that id, nothing of the server's internals
            // (paths, SQL, library messages).
            // Outside a request, or without an id, a fresh reference stands in.
            let reference = match REQUEST_ID.try_with(Clone::clone) {
                Ok(Some(id)) if !id.is_empty() => id,
                _ => uuid::Uuid::new_v4().simple().to_string(),
            };
            tracing::error!(%reference, cause = %detail, "internal error");
            detail =
                format!("internal error (reference {reference}); the cause is in the server log");
        } else if self.status.is_server_error() {
            tracing::error!(status = %self.status, %detail, "request failed");
        }
        let body = Problem {
            kind: format!("https://sextant.dev/problems/{}", self.slug),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail,
            errors: self.errors,
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let text = r.body_text();
        // serde's message names the path: "Failed to deserialize ... : field: message at line".
        let field = text
            .split(": ")
            .nth(1)
            .filter(|f| !f.contains(' '))
            .unwrap_or("body")
            .to_string();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(status, "too-large", text);
        }
        if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            return ApiError::new(status, "unsupported-media-type", text);
        }
        let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", text.clone());
        if status == StatusCode::BAD_REQUEST {
            e.status = StatusCode::BAD_REQUEST;
            e.slug = "malformed-json";
        }
        e.errors.push(FieldError {
            field,
            message: text,
        });
        e
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        let text = r.body_text();
        let field = text
            .rsplit(": ")
            .next()
            .and_then(|t| t.split_whitespace().next())
            .unwrap_or("query")
            .to_string();
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, "bad-query", text.clone());
        e.errors.push(FieldError {
            field,
            message: text,
        });
        e
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-path", r.body_text())
    }
}

impl From<DataError> for ApiError {
    fn from(e: DataError) -> Self {
        match &e {
            DataError::Symbol(_) => ApiError::field("symbol", e.to_string()),
            DataError::Resolution(_) => ApiError::field("resolution", e.to_string()),
            DataError::NoData { .. }
            | DataError::NotInQuarantine { .. }
            | DataError::NoFeatureView { .. } => ApiError::not_found(e.to_string()),
            DataError::AlreadyReviewed { .. } => {
                ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            DataError::Locked { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "locked", e.to_string())
            }
            DataError::InvalidBar { .. }
            | DataError::ConflictingDuplicate { .. }
            | DataError::File { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad-data", e.to_string())
            }
            DataError::BadResample { .. } | DataError::Invalid(_) => {
                ApiError::bad_request(e.to_string())
            }
            _ => ApiError::internal(e.to_string()),
        }
    }
}

impl From<sextant_core::quality::QualityError> for ApiError {
    fn from(e: sextant_core::quality::QualityError) -> Self {
        match e {
            sextant_core::quality::QualityError::Data(d) => d.into(),
            sextant_core::quality::QualityError::Meta(m) => m.into(),
        }
    }
}

impl From<sextant_core::signals::SignalError> for ApiError {
    fn from(e: sextant_core::signals::SignalError) -> Self {
        use sextant_core::signals::SignalError as S;
        match e {
            S::Data(d) => d.into(),
            S::Meta(m) => m.into(),
            S::NotFound(_) | S::NoFeatures { .. } => ApiError::not_found(e.to_string()),
            S::Invalid(_) | S::Ml(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-request",
                e.to_string(),
            ),
            _ => ApiError::internal(e.to_string()),
        }
    }
}

impl From<MetaError> for ApiError {
    fn from(e: MetaError) -> Self {
        match &e {
            MetaError::NotFound { .. } => ApiError::not_found(e.to_string()),
            MetaError::Duplicate { .. } => {
                ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            MetaError::Invalid(_) => ApiError::bad_request(e.to_string()),
            _ => ApiError::internal(e.to_string()),
        }
    }
}

impl From<sextant_core::reports::NarrativeError> for ApiError {
    fn from(e: sextant_core::reports::NarrativeError) -> Self {
        match e {
            sextant_core::reports::NarrativeError::Backtest(b) => b.into(),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<sextant_core::backtest::RunError> for ApiError {
    fn from(e: sextant_core::backtest::RunError) -> Self {
        use sextant_core::backtest::RunError as R;
        match e {
            R::Params(p) => {
                let text = p.to_string();
                let field = p
                    .field()
                    .map(|f| format!("params.{f}"))
                    .unwrap_or_else(|| "strategy".into());
                ApiError::field(field, text)
            }
            R::Sim(s) => ApiError::field("sim", s.to_string()),
            R::Invalid(t) => ApiError::bad_request(t),
            R::Limit { field, message } => ApiError::field(field, message),
            R::Cancelled => ApiError::new(StatusCode::CONFLICT, "cancelled", e.to_string()),
            R::Bars(_) | R::Metrics(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "backtest", e.to_string())
            }
        }
    }
}

impl From<BacktestError> for ApiError {
    fn from(e: BacktestError) -> Self {
        match e {
            BacktestError::Run(r) => r.into(),
            BacktestError::NoBars { .. } => ApiError::not_found(e.to_string()),
            BacktestError::Data(d) => d.into(),
            BacktestError::Meta(m) => m.into(),
            BacktestError::DataChanged { .. } => {
                ApiError::new(StatusCode::CONFLICT, "data-changed", e.to_string())
            }
        }
    }
}

/// The result of a handler: its value or a problem response.
pub type ApiResult<T> = Result<T, ApiError>;

impl From<sextant_core::common::InvalidField> for ApiError {
    fn from(e: sextant_core::common::InvalidField) -> Self {
        ApiError::field(e.field, e.message)
    }
}

impl From<sextant_core::configs::ConfigStoreError> for ApiError {
    fn from(e: sextant_core::configs::ConfigStoreError) -> Self {
        use sextant_core::configs::ConfigStoreError as C;
        match e {
            C::Invalid(f) => f.into(),
            C::NotFound(_) => ApiError::not_found(e.to_string()),
            C::Meta(m) => m.into(),
            C::Corrupt { .. } => ApiError::internal(e.to_string()),
        }
    }
}

impl From<sextant_core::watchlists::WatchlistError> for ApiError {
    fn from(e: sextant_core::watchlists::WatchlistError) -> Self {
        use sextant_core::watchlists::WatchlistError as W;
        match e {
            W::Invalid(f) => f.into(),
            W::NotFound(_) => ApiError::not_found(e.to_string()),
            W::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            W::Meta(m) => m.into(),
            W::Data(d) => d.into(),
            W::Corrupt(_) => ApiError::internal(e.to_string()),
        }
    }
}

impl From<sextant_core::portfolios::PortfolioError> for ApiError {
    fn from(e: sextant_core::portfolios::PortfolioError) -> Self {
        use sextant_core::portfolios::PortfolioError as P;
        match e {
            P::Invalid(f) => f.into(),
            P::NotFound(_) | P::TransactionNotFound { .. } => ApiError::not_found(e.to_string()),
            P::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            P::Meta(m) => m.into(),
            P::Data(d) => d.into(),
            P::Metrics(_) | P::Corrupt(_) => ApiError::internal(e.to_string()),
        }
    }
}

impl From<sextant_core::dashboard::DashboardError> for ApiError {
    fn from(e: sextant_core::dashboard::DashboardError) -> Self {
        use sextant_core::dashboard::DashboardError as D;
        match e {
            D::Portfolio(p) => p.into(),
            D::Meta(m) => m.into(),
            D::Data(d) => d.into(),
        }
    }
}
