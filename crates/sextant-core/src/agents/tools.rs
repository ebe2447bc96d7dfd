//! [`CoreTools`]: the ChatOps agent's tools over the services.
//!
//! Each tool calls the service methods its HTTP route calls and needs that route's least role
//! (see `sextant_server::auth::required_role`): reads are for viewers, refreshing a symbol and
//! cancelling a job for analysts, quarantine review for admins. Objects with an owner (jobs)
//! are seen and changed as the HTTP API does: a caller acts as the key `caller.id`, and only
//! admins act on every owner's objects.
//!
//! The definitions are in `defs`, the read tools in `read`, the write tools in `write`.

mod defs;
mod read;
mod write;

use crate::common::Actor;
use crate::jobs::{JobError, JobManager};
use crate::market_data::MarketDataService;
use crate::quality::{QualityError, QualityService};
use crate::regimes::{RegimeService, RegimeServiceError};
use crate::signals::{MlSignalService, SignalError};
use crate::Services;
use serde_json::{Map, Value};
use sextant_agents::chat::{Caller, ToolDef, ToolError, ToolHost};
use sextant_data::cache::Decision;
use sextant_data::providers::alphavantage::AlphaVantage;
use sextant_data::DataError;
use sextant_domain::{Role, Symbol};
use std::sync::Arc;

/// The tools of the ChatOps agent, run against the same services as the HTTP API. Cheap to
/// clone (every field is an `Arc`); build one per process with [`CoreTools::new`] and share it.
#[derive(Clone)]
pub struct CoreTools {
    market_data: Arc<MarketDataService>,
    quality: Arc<QualityService>,
    regimes: Arc<RegimeService>,
    signals: Arc<MlSignalService>,
    jobs: Arc<JobManager>,
    /// The registry's provider (one rate limiter for the whole process); `None` only if the
    /// registry could not hand it out.
    alphavantage: Option<Arc<AlphaVantage>>,
}

impl CoreTools {
    /// The tools over `services` and the process's job manager. The job manager is passed on
    /// its own because the registry does not hold one: the HTTP layer builds it (with
    /// `jobs::default_handlers(services)`) and the tools must submit to and cancel in that same
    /// queue, so refreshes queued by chat run on the same workers as those queued over HTTP.
    pub fn new(services: &Services, jobs: Arc<JobManager>) -> Self {
        let alphavantage = match services.alphavantage() {
            Ok(av) => Some(av),
            Err(e) => {
                tracing::warn!(error = %e, "agent tools: no Alpha Vantage provider");
                None
            }
        };
        CoreTools {
            market_data: services.market_data.clone(),
            quality: services.quality.clone(),
            regimes: services.regimes.clone(),
            signals: services.signals.clone(),
            jobs,
            alphavantage,
        }
    }

    async fn run(
        &self,
        caller: &Caller,
        def: &ToolDef,
        args: &Args<'_>,
    ) -> Result<Value, ToolError> {
        match def.name {
            defs::GET_CACHE_STATUS => self.cache_status(caller).await,
            defs::GET_DATA_FRESHNESS => self.data_freshness(args.opt_symbol("symbol")?).await,
            defs::GET_ALPHA_VANTAGE_STATUS => self.alpha_vantage_status(caller).await,
            defs::LIST_RECENT_FAILURES => {
                let limit = args.limit("limit", defs::DEFAULT_LIMIT, defs::MAX_LIMIT)?;
                self.recent_failures(caller, limit).await
            }
            defs::GET_QUALITY_QUEUE => {
                let limit = args.limit("limit", defs::DEFAULT_LIMIT, defs::MAX_LIMIT)?;
                self.quality_queue(limit).await
            }
            defs::GET_CURRENT_REGIMES => self.current_regime(args.symbol("symbol")?).await,
            defs::GET_MODEL_DRIFT => self.model_drift(args.opt_str("model", 64)?).await,
            defs::REFRESH_SYMBOL => self.refresh_symbol(caller, args.symbol("symbol")?).await,
            defs::CANCEL_JOB => self.cancel_job(caller, args.job_id("job_id")?).await,
            defs::APPROVE_QUARANTINE | defs::REJECT_QUARANTINE => {
                let decision = if def.name == defs::APPROVE_QUARANTINE {
                    Decision::Approve
                } else {
                    Decision::Reject
                };
                let id = args.quarantine_id("id")?;
                let note = args
                    .opt_str("note", defs::MAX_NOTE_CHARS)?
                    .map(str::to_string);
                self.review(caller, id, decision, note).await
            }
            other => Err(ToolError::NotFound(format!("no tool {other:?}"))),
        }
    }
}

#[async_trait::async_trait]
impl ToolHost for CoreTools {
    fn tools(&self) -> Vec<ToolDef> {
        defs::all()
    }

    async fn call(&self, caller: &Caller, name: &str, args: &Value) -> Result<Value, ToolError> {
        let def =
            defs::find(name).ok_or_else(|| ToolError::NotFound(format!("no tool {name:?}")))?;
        // Defence in depth: the agent filtered by role already.
        if caller.role < def.min_role {
            return Err(ToolError::Forbidden(format!(
                "{name} needs the {} role; {} acts as {}",
                def.min_role, caller.id, caller.role
            )));
        }
        let parsed = Args::parse(&def, args)?;
        let out = self.run(caller, &def, &parsed).await;
        match &out {
            Ok(_) if def.writes => tracing::info!(
                tool = name, caller = %caller.id, channel = %caller.channel, "agent write tool ran"
            ),
            Ok(_) => tracing::debug!(tool = name, caller = %caller.id, "agent tool ran"),
            Err(e) => {
                tracing::warn!(tool = name, caller = %caller.id, error = %e, "agent tool failed")
            }
        }
        out
    }
}

/// The caller as an actor on owned objects: admins act on every owner's, others on their own.
fn actor(caller: &Caller) -> Actor<'_> {
    Actor {
        key: &caller.id,
        admin: caller.role >= Role::Admin,
    }
}

fn invalid(message: impl Into<String>) -> ToolError {
    ToolError::InvalidArguments(message.into())
}

/// A tool call's arguments, checked against the properties its definition declares (the
/// schemas say `additionalProperties: false`). `null` is read as no arguments.
struct Args<'a> {
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Args<'a> {
    fn parse(def: &ToolDef, args: &'a Value) -> Result<Args<'a>, ToolError> {
        let map = match args {
            Value::Null => None,
            Value::Object(m) => Some(m),
            _ => {
                return Err(invalid(format!(
                    "{}: arguments must be a JSON object",
                    def.name
                )))
            }
        };
        let declared = def.parameters.get("properties").and_then(Value::as_object);
        if let Some(m) = map {
            if let Some(key) = m
                .keys()
                .find(|k| !declared.is_some_and(|p| p.contains_key(*k)))
            {
                return Err(invalid(format!("{}: unknown argument {key:?}", def.name)));
            }
        }
        Ok(Args { map })
    }

    /// The value of `key`; a `null` counts as absent.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    /// A trimmed, non-empty string of at most `max` characters without control characters.
    fn opt_str(&self, key: &str, max: usize) -> Result<Option<&'a str>, ToolError> {
        let s = match self.get(key) {
            None => return Ok(None),
            Some(Value::String(s)) => s.trim(),
            Some(_) => return Err(invalid(format!("{key} must be a string"))),
        };
        if s.is_empty() {
            return Err(invalid(format!("{key} must not be empty")));
        }
        if s.chars().count() > max {
            return Err(invalid(format!("{key} must be at most {max} characters")));
        }
        if s.chars().any(char::is_control) {
            return Err(invalid(format!(
                "{key} must not contain control characters"
            )));
        }
        Ok(Some(s))
    }

    fn req_str(&self, key: &str, max: usize) -> Result<&'a str, ToolError> {
        self.opt_str(key, max)?
            .ok_or_else(|| invalid(format!("{key} is required")))
    }

    fn opt_symbol(&self, key: &str) -> Result<Option<Symbol>, ToolError> {
        self.opt_str(key, 64)?
            .map(|s| Symbol::new(s).map_err(|e| invalid(e.to_string())))
            .transpose()
    }

    fn symbol(&self, key: &str) -> Result<Symbol, ToolError> {
        self.opt_symbol(key)?
            .ok_or_else(|| invalid(format!("{key} is required")))
    }

    /// An integer from 1 to `max` (a string of digits is accepted too); `default` when absent.
    fn limit(&self, key: &str, default: usize, max: usize) -> Result<usize, ToolError> {
        let n = match self.get(key) {
            None => return Ok(default),
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(_) => None,
        };
        match n.and_then(|n| usize::try_from(n).ok()) {
            Some(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(invalid(format!("{key} must be an integer from 1 to {max}"))),
        }
    }

    /// A job id: 1 to 64 of `A-Za-z0-9_-` (the store's ids are UUIDs).
    fn job_id(&self, key: &str) -> Result<&'a str, ToolError> {
        let id = self.req_str(key, 64)?;
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(format!(
                "{key} must be 1 to 64 of A-Z, a-z, 0-9, - and _"
            )));
        }
        Ok(id)
    }

    /// A quarantine row id: a positive integer, given as a string of digits (optionally led by
    /// `#`) or as a number.
    fn quarantine_id(&self, key: &str) -> Result<i64, ToolError> {
        let id = match self.get(key) {
            None => return Err(invalid(format!("{key} is required"))),
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => {
                let t = s.trim();
                let t = t.strip_prefix('#').unwrap_or(t);
                let digits =
                    !t.is_empty() && t.len() <= 18 && t.bytes().all(|b| b.is_ascii_digit());
                if digits {
                    t.parse::<i64>().ok()
                } else {
                    None
                }
            }
            Some(_) => None,
        };
        id.filter(|i| *i > 0)
            .ok_or_else(|| invalid(format!("{key} must be a quarantine id such as \"12\"")))
    }
}

/// The data layer's "no such thing" errors are not-found, bad symbols are the arguments'
/// fault, everything else is a failure of the service.
fn data_err(e: DataError) -> ToolError {
    match e {
        DataError::NotInQuarantine { .. }
        | DataError::NoData { .. }
        | DataError::NoFeatureView { .. } => ToolError::NotFound(e.to_string()),
        DataError::Symbol(_) | DataError::Resolution(_) => {
            ToolError::InvalidArguments(e.to_string())
        }
        _ => ToolError::Failed(e.to_string()),
    }
}

fn quality_err(e: QualityError) -> ToolError {
    match e {
        QualityError::Data(d) => data_err(d),
        QualityError::Meta(m) => ToolError::Failed(m.to_string()),
    }
}

fn job_err(e: JobError) -> ToolError {
    match e {
        JobError::NotFound(_) => ToolError::NotFound(e.to_string()),
        JobError::InvalidParams(_) | JobError::Invalid(_) => {
            ToolError::InvalidArguments(e.to_string())
        }
        _ => ToolError::Failed(e.to_string()),
    }
}

fn regime_err(e: RegimeServiceError) -> ToolError {
    match e {
        RegimeServiceError::NotFound(_) => ToolError::NotFound(e.to_string()),
        RegimeServiceError::Data(d) => data_err(d),
        _ => ToolError::Failed(e.to_string()),
    }
}

fn signal_err(e: SignalError) -> ToolError {
    match e {
        SignalError::NotFound(_) | SignalError::NoFeatures { .. } => {
            ToolError::NotFound(e.to_string())
        }
        SignalError::Invalid(_) => ToolError::InvalidArguments(e.to_string()),
        SignalError::Data(d) => data_err(d),
        _ => ToolError::Failed(e.to_string()),
    }
}

/// A finite float as JSON, `null` otherwise (JSON has no NaN).
fn finite(x: f64) -> Value {
    if x.is_finite() {
        Value::from(x)
    } else {
        Value::Null
    }
}

/// At most `max` characters of `s`, marked when cut (error texts can be long).
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashSet;

    fn def(name: &str) -> ToolDef {
        defs::find(name).unwrap_or_else(|| panic!("no tool {name}"))
    }

    #[test]
    fn definitions_are_consistent_and_roles_match_the_routes() {
        let all = defs::all();
        let names: HashSet<&str> = all.iter().map(|d| d.name).collect();
        assert_eq!(names.len(), all.len(), "tool names are unique");
        for d in &all {
            assert_eq!(
                d.parameters["additionalProperties"],
                json!(false),
                "{}",
                d.name
            );
            let props = d.parameters["properties"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for r in d.parameters["required"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let r = r.as_str().unwrap_or_default().to_string();
                assert!(
                    props.contains_key(&r),
                    "{}: required {r} is a property",
                    d.name
                );
            }
            assert!((3..=4).contains(&d.examples.len()), "{}", d.name);
            // GET routes are viewer reads; POST routes write.
            assert_eq!(d.writes, d.min_role > Role::Viewer, "{}", d.name);
        }
        assert_eq!(def(defs::REFRESH_SYMBOL).min_role, Role::Analyst);
        assert_eq!(def(defs::CANCEL_JOB).min_role, Role::Analyst);
        assert_eq!(def(defs::APPROVE_QUARANTINE).min_role, Role::Admin);
        assert_eq!(def(defs::REJECT_QUARANTINE).min_role, Role::Admin);
    }

    #[test]
    fn arguments_are_checked() {
        let d = def(defs::LIST_RECENT_FAILURES);
        let none = Value::Null;
        assert_eq!(
            Args::parse(&d, &none).and_then(|a| a.limit("limit", 10, 50)),
            Ok(10)
        );
        let ok = json!({ "limit": "7" });
        assert_eq!(
            Args::parse(&d, &ok).and_then(|a| a.limit("limit", 10, 50)),
            Ok(7)
        );
        let big = json!({ "limit": 51 });
        assert!(Args::parse(&d, &big)
            .and_then(|a| a.limit("limit", 10, 50))
            .is_err());
        let extra = json!({ "limit": 5, "$where": 1 });
        assert!(Args::parse(&d, &extra).is_err());
        assert!(Args::parse(&d, &json!([1])).is_err());

        let q = def(defs::APPROVE_QUARANTINE);
        let id = json!({ "id": "#12" });
        assert_eq!(
            Args::parse(&q, &id).and_then(|a| a.quarantine_id("id")),
            Ok(12)
        );
        for bad in [
            json!({ "id": "-3" }),
            json!({ "id": "12x" }),
            json!({ "id": 0 }),
            json!({}),
        ] {
            assert!(Args::parse(&q, &bad)
                .and_then(|a| a.quarantine_id("id"))
                .is_err());
        }

        let r = def(defs::REFRESH_SYMBOL);
        let sym = json!({ "symbol": " msft " });
        let parsed = Args::parse(&r, &sym).and_then(|a| a.symbol("symbol"));
        assert_eq!(parsed.map(|s| s.to_string()), Ok("MSFT".to_string()));
        let bad = json!({ "symbol": "a'; drop" });
        assert!(Args::parse(&r, &bad)
            .and_then(|a| a.symbol("symbol"))
            .is_err());

        let c = def(defs::CANCEL_JOB);
        let bad = json!({ "job_id": "../x" });
        assert!(Args::parse(&c, &bad)
            .and_then(|a| a.job_id("job_id").map(str::to_string))
            .is_err());
    }
}
