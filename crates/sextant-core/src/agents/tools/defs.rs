//! The tool definitions: name, one-sentence description, JSON schema of the arguments, least
//! role (the role of the HTTP route doing the same thing), whether it writes, and how operators
//! ask for it (the offline router embeds the examples).
//!
//! Argument names are shared with the offline router's extractors (`symbol`, `job_id`, `id`,
//! `limit`, `model`): keep them.

use serde_json::{json, Value};
use sextant_agents::chat::ToolDef;
use sextant_domain::Role;

/// `GET /api/v1/market-data/status` plus the per-resolution coverage counts.
pub(crate) const GET_CACHE_STATUS: &str = "get_cache_status";
/// `GET /api/v1/market-data/symbols` and `/coverage`, with staleness.
pub(crate) const GET_DATA_FRESHNESS: &str = "get_data_freshness";
/// The Alpha Vantage part of `/ready`, plus recent ingest errors.
pub(crate) const GET_ALPHA_VANTAGE_STATUS: &str = "get_alpha_vantage_status";
/// `GET /api/v1/jobs?status=failed`.
pub(crate) const LIST_RECENT_FAILURES: &str = "list_recent_failures";
/// `GET /api/v1/quality/quarantine?status=pending`.
pub(crate) const GET_QUALITY_QUEUE: &str = "get_quality_queue";
/// `GET /api/v1/market-data/regime?symbol=`.
pub(crate) const GET_CURRENT_REGIMES: &str = "get_current_regimes";
/// `GET /api/v1/models` and `/api/v1/models/{id}`.
pub(crate) const GET_MODEL_DRIFT: &str = "get_model_drift";
/// `POST /api/v1/market-data/ingest`.
pub(crate) const REFRESH_SYMBOL: &str = "refresh_symbol";
/// `POST /api/v1/jobs/{id}/cancel`.
pub(crate) const CANCEL_JOB: &str = "cancel_job";
/// `POST /api/v1/quality/quarantine/{id}/approve`.
pub(crate) const APPROVE_QUARANTINE: &str = "approve_quarantine";
/// `POST /api/v1/quality/quarantine/{id}/reject`.
pub(crate) const REJECT_QUARANTINE: &str = "reject_quarantine";

/// Most rows a listing tool returns.
pub(crate) const MAX_LIMIT: usize = 50;
/// Rows a listing tool returns when no `limit` is given.
pub(crate) const DEFAULT_LIMIT: usize = 10;
/// Longest reviewer note (as `POST .../approve` accepts).
pub(crate) const MAX_NOTE_CHARS: usize = 1000;

/// The arguments object: exactly these properties, these required.
fn object(properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn symbol_prop(what: &str) -> Value {
    json!({
        "type": "string",
        "description": format!("{what}: a ticker such as AAPL, BRK.B or ^GSPC (1-32 of A-Z 0-9 . - ^ _ /)"),
        "minLength": 1,
        "maxLength": 32,
    })
}

fn limit_prop(what: &str) -> Value {
    json!({
        "type": "integer",
        "description": format!("Most {what} to return, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"),
        "minimum": 1,
        "maximum": MAX_LIMIT,
        "default": DEFAULT_LIMIT,
    })
}

fn quarantine_props() -> Value {
    json!({
        "id": {
            "type": "string",
            "description": "The quarantined bar's id as listed by get_quality_queue, e.g. \"12\"",
            "pattern": "^[0-9]{1,18}$",
        },
        "note": {
            "type": "string",
            "description": "Why, kept in the review's audit record (optional)",
            "maxLength": MAX_NOTE_CHARS,
        },
    })
}

/// Every tool, reads first.
pub(crate) fn all() -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: GET_CACHE_STATUS,
            description: "Returns a summary of the bar cache: how many symbols and bars it holds, its oldest and newest bar, symbol and bar counts per resolution, and the cache file's size (its path only for admins).",
            parameters: object(json!({}), &[]),
            min_role: Role::Viewer,
            writes: false,
            examples: &[
                "is the cache healthy?",
                "how big is the bar cache?",
                "how many symbols do we have data for?",
                "what's in the market data cache?",
            ],
        },
        ToolDef {
            name: GET_DATA_FRESHNESS,
            description: "Returns, for every cached symbol or the one given, its newest and oldest bar date, bar count, covered ranges per resolution, last refresh time and how many calendar days its newest bar is behind today, stalest first (at most 50 symbols).",
            parameters: object(
                json!({ "symbol": symbol_prop("Only this symbol (default: every cached symbol)") }),
                &[],
            ),
            min_role: Role::Viewer,
            writes: false,
            examples: &[
                "is AAPL data up to date?",
                "which symbols are stale?",
                "when was MSFT last refreshed?",
                "how fresh is our market data?",
            ],
        },
        ToolDef {
            name: GET_ALPHA_VANTAGE_STATUS,
            description: "Returns whether an Alpha Vantage API key is configured (never the key), the requests this server has used and has left in its rolling daily and per-minute limits, and the errors of recent Alpha Vantage ingest jobs.",
            parameters: object(json!({}), &[]),
            min_role: Role::Viewer,
            writes: false,
            examples: &[
                "how much Alpha Vantage quota is left?",
                "is Alpha Vantage configured?",
                "are we rate limited by Alpha Vantage?",
                "why are Alpha Vantage downloads failing?",
            ],
        },
        ToolDef {
            name: LIST_RECENT_FAILURES,
            description: "Returns the most recent failed jobs newest first (id, kind, error, finish time) and recent Alpha Vantage ingest jobs that failed for some of their symbols; non-admins see only their own jobs.",
            parameters: object(json!({ "limit": limit_prop("failed jobs") }), &[]),
            min_role: Role::Viewer,
            writes: false,
            examples: &[
                "why did last night's refresh fail?",
                "show me recent job failures",
                "what failed today?",
                "did any ingest jobs error?",
            ],
        },
        ToolDef {
            name: GET_QUALITY_QUEUE,
            description: "Returns the bars held in quarantine awaiting review, newest first (id, symbol, resolution, date, the checks that held them, severity), with the total number pending.",
            parameters: object(json!({ "limit": limit_prop("held bars") }), &[]),
            min_role: Role::Viewer,
            writes: false,
            examples: &[
                "what's in the quarantine queue?",
                "are there bars waiting for review?",
                "show pending data quality issues",
                "how many bars are quarantined?",
            ],
        },
        ToolDef {
            name: GET_CURRENT_REGIMES,
            description: "Returns the current market regime of a symbol (bull, bear, sideways or high_vol) with each regime's probability, the day labelled and the model's fit date; the symbol's model is fitted on first use, which can take a while.",
            parameters: object(json!({ "symbol": symbol_prop("The symbol") }), &["symbol"]),
            min_role: Role::Viewer,
            writes: false,
            examples: &[
                "what regime is SPY in?",
                "is QQQ in a bear market?",
                "current regime probabilities for AAPL",
                "what's the market regime right now?",
            ],
        },
        ToolDef {
            name: GET_MODEL_DRIFT,
            description: "Returns the registered ML signal models (or the versions of the one named) with their training metadata, training-time scores (in-sample, cross-validated and holdout AUC, Brier, calibration error) and the age of their training data; no drift monitor exists, so no drift figures are reported.",
            parameters: object(
                json!({ "model": {
                    "type": "string",
                    "description": "A model id (mdl_...) or name (default: the 20 newest models)",
                    "minLength": 1,
                    "maxLength": 64,
                } }),
                &[],
            ),
            min_role: Role::Viewer,
            writes: false,
            examples: &[
                "is the momentum model drifting?",
                "how are our ML models doing?",
                "when was the signal model last trained?",
                "show the holdout AUC of our models",
            ],
        },
        ToolDef {
            name: REFRESH_SYMBOL,
            description: "Queues an Alpha Vantage refresh job for one symbol (daily bars, incremental: only what is missing or stale) and returns the job id to follow.",
            parameters: object(json!({ "symbol": symbol_prop("The symbol to refresh") }), &["symbol"]),
            min_role: Role::Analyst,
            writes: true,
            examples: &[
                "refresh AAPL",
                "pull fresh data for MSFT",
                "re-download TSLA from Alpha Vantage",
                "update the bars for SPY",
            ],
        },
        ToolDef {
            name: CANCEL_JOB,
            description: "Cancels a queued or running job by id and returns its updated status.",
            parameters: object(
                json!({ "job_id": {
                    "type": "string",
                    "description": "The job's id, as list_recent_failures or refresh_symbol show it",
                    "pattern": "^[A-Za-z0-9_-]{1,64}$",
                } }),
                &["job_id"],
            ),
            min_role: Role::Analyst,
            writes: true,
            examples: &[
                "cancel job 3f2a9c1e-77b0-4c1d-9a55-0d6f3b2e8a41",
                "stop that ingest job",
                "kill the running backtest job",
                "abort job 42",
            ],
        },
        ToolDef {
            name: APPROVE_QUARANTINE,
            description: "Approves a quarantined bar by id, merging it into the cache as received, and returns the reviewed bar and the merge batch.",
            parameters: object(quarantine_props(), &["id"]),
            min_role: Role::Admin,
            writes: true,
            examples: &[
                "approve quarantine 12",
                "release held bar 7 into the cache",
                "that bar is fine, approve it",
                "accept quarantined bar 42",
            ],
        },
        ToolDef {
            name: REJECT_QUARANTINE,
            description: "Rejects a quarantined bar by id so that it never enters the cache, and returns the reviewed bar.",
            parameters: object(quarantine_props(), &["id"]),
            min_role: Role::Admin,
            writes: true,
            examples: &[
                "reject quarantine 12",
                "drop held bar 7",
                "that spike is bad data, reject it",
                "discard quarantined bar 42",
            ],
        },
    ]
}

/// The definition of `name`, if there is such a tool.
pub(crate) fn find(name: &str) -> Option<ToolDef> {
    all().into_iter().find(|d| d.name == name)
}
