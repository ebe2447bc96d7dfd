//! API keys and roles.
//!
//! A key is `sx_<id>_<secret>`; the store keeps only sha256(secret) with the role, so a leaked
//! metadata store leaks no usable key. Roles are ordered viewer < analyst < admin and enforced in
//! one middleware from the method and path (see [`required_role`]), so no route can forget a check:
//! reads need viewer, writes and jobs analyst, `/api/v1/admin/*` and `/metrics` admin.
//! 401 = no or unknown key; 403 = a valid key whose role is too low.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sextant_meta::{Filter, MetaStore, Query};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// Collection holding the hashed keys.
pub const KEYS: &str = "api_keys";

pub use sextant_domain::Role;

/// Who is calling (inserted into request extensions by the middleware).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Id of the verified key (the `<id>` of `sx_<id>_<secret>`); it owns what the caller creates.
    pub key_id: String,
    /// The key's role.
    pub role: Role,
}

impl Caller {
    /// The caller as an actor on stored objects (admins act on every owner's).
    pub fn actor(&self) -> sextant_core::common::Actor<'_> {
        sextant_core::common::Actor {
            key: &self.key_id,
            admin: self.role >= Role::Admin,
        }
    }
}

/// A created key: the secret is shown once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewKey {
    /// The key's id: 12 hex digits, used to list and revoke it.
    pub id: String,
    /// The role the key carries.
    pub role: Role,
    /// The label given at creation.
    pub name: String,
    /// The full key. Store it now: only its hash is kept.
    pub key: String,
}

/// A key as listed (never the secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyInfo {
    /// The key's id (the `<id>` of `sx_<id>_<secret>`).
    pub id: String,
    /// The role the key carries.
    pub role: Role,
    /// The label given at creation.
    pub name: String,
    /// When the key was created (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// True once revoked: the key is then refused with 401.
    pub revoked: bool,
}

/// Key verification with an in-memory cache of verified keys (no store round trip on the hot
/// path). A revocation through this process clears the cache at once; one made by another
/// process (`sextant keys revoke` while the server runs) takes effect within [`REVERIFY_AFTER`].
#[derive(Clone)]
pub struct Auth {
    meta: Arc<dyn MetaStore>,
    verified: Arc<RwLock<HashMap<String, (Caller, Instant)>>>,
}

/// How long a verified key is trusted before the store is asked again.
pub const REVERIFY_AFTER: Duration = Duration::from_secs(10);

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl Auth {
    /// Verification against the keys in `meta`, starting with an empty cache.
    pub fn new(meta: Arc<dyn MetaStore>) -> Self {
        Auth {
            meta,
            verified: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    /// Creates a key with `role`.
    pub async fn create(&self, role: Role, name: &str) -> Result<NewKey, ApiError> {
        if name.trim().is_empty() || name.len() > 100 {
            return Err(ApiError::field("name", "1 to 100 characters"));
        }
        let mut raw = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut raw);
        let mut idb = [0u8; 6];
        rand::thread_rng().fill_bytes(&mut idb);
        let id = hex::encode(idb);
        let secret = hex::encode(raw);
        let doc = json!({
            "_id": id, "role": role, "name": name, "hash": hash(&secret),
            "created_at": chrono::Utc::now().to_rfc3339(), "revoked": false,
        });
        self.meta.insert(KEYS, doc).await?;
        Ok(NewKey {
            key: format!("sx_{id}_{secret}"),
            id,
            role,
            name: name.to_string(),
        })
    }

    /// Every key, oldest first, revoked ones included; never a secret or a hash. A stored
    /// document that does not read as a key is skipped.
    pub async fn list(&self) -> Result<Vec<KeyInfo>, ApiError> {
        let docs = self
            .meta
            .find(KEYS, &Query::new().sort_asc("created_at"))
            .await?;
        Ok(docs
            .into_iter()
            .filter_map(|d| {
                Some(KeyInfo {
                    id: d.get("_id")?.as_str()?.to_string(),
                    role: serde_json::from_value(d.get("role")?.clone()).ok()?,
                    name: d.get("name")?.as_str()?.to_string(),
                    created_at: d.get("created_at")?.as_str()?.to_string(),
                    // As `verify` reads it: a key without a readable flag is refused, so it is
                    // listed as revoked.
                    revoked: d.get("revoked").and_then(|v| v.as_bool()).unwrap_or(true),
                })
            })
            .collect())
    }

    /// Marks key `id` revoked and drops it from this process's cache, so this process refuses
    /// it at once. `Ok(false)` when no key has that id.
    pub async fn revoke(&self, id: &str) -> Result<bool, ApiError> {
        let done = self
            .meta
            .update_fields(KEYS, id, json!({"revoked": true}))
            .await?;
        if let Ok(mut v) = self.verified.write() {
            v.retain(|_, (c, _)| c.key_id != id);
        }
        Ok(done)
    }

    /// True when no usable admin key exists (first start).
    pub async fn needs_bootstrap(&self) -> Result<bool, ApiError> {
        let n = self
            .meta
            .count(
                KEYS,
                &Filter::new().eq("role", "admin").eq("revoked", false),
            )
            .await?;
        Ok(n == 0)
    }

    /// Verifies a presented key.
    pub async fn verify(&self, presented: &str) -> Result<Caller, ApiError> {
        if let Ok(v) = self.verified.read() {
            if let Some((c, at)) = v.get(presented) {
                if at.elapsed() < REVERIFY_AFTER {
                    return Ok(c.clone());
                }
            }
        }
        let unknown = || ApiError::unauthorized("unknown or revoked API key");
        let rest = presented.strip_prefix("sx_").ok_or_else(unknown)?;
        let (id, secret) = rest.split_once('_').ok_or_else(unknown)?;
        if id.is_empty() || id.len() > 32 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(unknown());
        }
        let doc = self.meta.get(KEYS, id).await?.ok_or_else(unknown)?;
        let stored = doc.get("hash").and_then(|h| h.as_str()).unwrap_or("");
        let revoked = doc.get("revoked").and_then(|v| v.as_bool()).unwrap_or(true);
        if revoked || !constant_time_eq(stored.as_bytes(), hash(secret).as_bytes()) {
            return Err(unknown());
        }
        let role: Role = doc
            .get("role")
            .cloned()
            .and_then(|r| serde_json::from_value(r).ok())
            .ok_or_else(unknown)?;
        let caller = Caller {
            key_id: id.to_string(),
            role,
        };
        if let Ok(mut v) = self.verified.write() {
            v.insert(presented.to_string(), (caller.clone(), Instant::now()));
        }
        Ok(caller)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The Slack slash-command endpoint (signature-verified, no API key).
pub const SLACK_PATH: &str = "/api/v1/slack/commands";
/// The MCP (Model Context Protocol) endpoint, Streamable HTTP transport.
pub const MCP_PATH: &str = "/mcp";

/// The minimum role for a request, or `None` for public endpoints.
pub fn required_role(method: &Method, path: &str) -> Option<Role> {
    // The Slack endpoint is authenticated by Slack's request signature, not an API key.
    let public = [
        "/health",
        "/ready",
        "/api/v1/openapi.json",
        "/docs",
        SLACK_PATH,
    ];
    if public.contains(&path) {
        return None;
    }
    // The dashboard's and the explorer's static files hold no data: the pages they load call
    // the API with the user's key like any other client.
    let page = path == "/" || path.starts_with("/ui/");
    if page && matches!(*method, Method::GET | Method::HEAD) {
        return None;
    }
    // Chat and MCP are open to every role: each tool behind them is checked against the
    // caller's role (the same least role as its HTTP route) and writes need confirmation.
    if path == MCP_PATH || path == "/api/v1/chat" || path.starts_with("/api/v1/chat/") {
        return Some(Role::Viewer);
    }
    // Releasing a held bar into the shared cache (or dropping it) is a data steward's call.
    let review = *method == Method::POST && path.starts_with("/api/v1/quality/quarantine/");
    if path == "/metrics" || path.starts_with("/api/v1/admin") || review {
        return Some(Role::Admin);
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        Some(Role::Viewer)
    } else {
        Some(Role::Analyst)
    }
}

/// Rate-limit tokens a request costs: requests that run simulations, training, ingests or
/// narratives weigh [`COSTLY`] tokens, everything else one, so a key's budget measures work
/// rather than request count.
pub fn request_cost(method: &Method, path: &str) -> f64 {
    let costly_post = *method == Method::POST
        && (path.starts_with("/api/v1/backtests")
            || path.starts_with("/api/v1/models/train")
            || path.starts_with("/api/v1/rl/train")
            || path == "/api/v1/jobs"
            || path.starts_with("/api/v1/factors")
            || path.ends_with("/materialize")
            || path.starts_with("/api/v1/market-data/ingest")
            || path.starts_with("/api/v1/ingest/")
            || path.starts_with("/api/v1/market-data/regime"));
    // A symbol's regime model is fitted on first use: the read may run a walk-forward fit.
    // A forecast simulates thousands of paths; a calibration re-forecasts every past day.
    let costly_get = *method == Method::GET
        && (path.ends_with("/report")
            || path.starts_with("/api/v1/market-data/regime")
            || path.ends_with("/forecast")
            || path.ends_with("/calibration")
            || path.starts_with("/api/v1/market-data/forecast/"));
    if costly_post || costly_get {
        COSTLY
    } else {
        1.0
    }
}

/// The weight of a costly request (see [`request_cost`]).
pub const COSTLY: f64 = 20.0;

/// The auth middleware: resolves the caller, enforces the role, applies the per-key rate limit.
///
/// Public paths (see [`required_role`]) pass without a key. Otherwise the key is read from
/// `Authorization: Bearer <key>` or `X-API-Key`, and the request is refused with 400 when both
/// carry different keys, 401 without a known, unrevoked key (429 instead once the client address
/// has failed too many key checks), 403 when the key's role is below the one required, and 429
/// when the key's rate budget is spent (see [`request_cost`]). An admitted request carries its
/// [`Caller`] in the request extensions.
pub async fn middleware(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(needed) = required_role(req.method(), req.uri().path()) else {
        return Ok(next.run(req).await);
    };
    // One documented precedence: `Authorization: Bearer <key>` (the scheme in any case), then
    // `X-API-Key`; a request carrying both with different keys is refused rather than guessed.
    let bearer = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, k)| k.trim().to_string());
    let x_key = req
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string());
    let presented =
        match (bearer, x_key) {
            (Some(b), Some(x)) if b != x => return Err(ApiError::bad_request(
                "two different API keys: send one, as `Authorization: Bearer <key>` or `X-API-Key`",
            )),
            (Some(k), _) | (None, Some(k)) => k,
            (None, None) => {
                return Err(ApiError::unauthorized(
                    "missing API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
                ))
            }
        };
    let client = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
    // Failed key checks are counted per client address; past the allowance the answer is 429
    // instead of 401. A valid key always passes: a guesser sharing an address (a NAT) cannot
    // lock its legitimate users out.
    let caller = match state.auth.verify(&presented).await {
        Ok(c) => c,
        Err(e) => {
            if e.status == StatusCode::UNAUTHORIZED && state.auth_failures.check(&client).is_err() {
                let mut limited = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    "too many failed key checks from this address; wait before trying again",
                );
                limited.retry_after = Some(5);
                return Err(limited);
            }
            return Err(e);
        }
    };
    if caller.role < needed {
        return Err(ApiError::forbidden(format!(
            "this request needs the {needed:?} role; the key has {:?}",
            caller.role
        )));
    }
    state
        .rate
        .take(&caller.key_id, request_cost(req.method(), req.uri().path()))?;
    req.extensions_mut().insert(caller);
    Ok(next.run(req).await)
}
