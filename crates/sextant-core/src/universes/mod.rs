//! Universes: named symbol sets with point-in-time membership, stored in the metadata store
//! (collection [`COLLECTION`]), and what a backtest or a factor evaluation over one records.
//!
//! A member belongs from its `from` date to its `to` date (inclusive; open-ended when absent).
//! Membership comes from a file (`symbol,from,to`), from a list, or from the cache's own
//! history (`from_cache`: each name from its first to its last cached bar, and delisted when its
//! last bar is more than [`DELISTED_AFTER_DAYS`] before the newest bar of the cache). The
//! built-in universe [`CACHE_UNIVERSE`] is that, over every cached symbol, read at request time.
//!
//! A universe without a single member whose membership ended (none delisted) is what today's
//! constituents look like looking back: results over it carry survivorship bias, and every
//! result says so ([`Universe::survivorship_notice`]).

mod series;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sextant_backtest::run::limits::MAX_UNIVERSE_SYMBOLS;
use sextant_data::cache::ReadPool;
use sextant_data::DataError;
use sextant_domain::Symbol;
use sextant_meta::{MetaError, MetaStore, Query};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Metadata collection holding universes, keyed by name.
pub const COLLECTION: &str = "universes";
/// The universe of every cached symbol, membership from each one's cached history.
pub const CACHE_UNIVERSE: &str = "cache";
/// A name whose last cached bar is this many days before the cache's newest bar is taken as
/// delisted by [`UniverseService::from_cache`] (a month: longer than any exchange holiday).
pub const DELISTED_AFTER_DAYS: i64 = 30;

/// Why a universe operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UniverseError {
    /// A request was refused (name, members, dates, file); the message says which.
    #[error("{0}")]
    Invalid(String),
    /// No universe has this name.
    #[error(
        "no universe {0:?}: list them with `sextant universe ls` (the built-in one is \"cache\")"
    )]
    NotFound(String),
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The cache failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A stored universe does not deserialise.
    #[error("stored universe is malformed: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// One member and when it belongs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The ticker.
    pub symbol: Symbol,
    /// First day of membership (inclusive); none: from the start of data.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Last day of membership (inclusive); none: still a member. A date here means the name
    /// left (delisted, dropped from the index).
    #[serde(default)]
    pub to: Option<NaiveDate>,
}

impl Member {
    /// Whether the member belongs on `day`.
    pub fn on(&self, day: NaiveDate) -> bool {
        self.from.is_none_or(|f| day >= f) && self.to.is_none_or(|t| day <= t)
    }
}

/// A named universe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Universe {
    /// Its name: 1 to 64 of `A-Z a-z 0-9 _ . -`.
    pub name: String,
    /// What it is, for people.
    #[serde(default)]
    pub description: String,
    /// Where the membership came from: `file`, `list` or `cache`.
    pub source: String,
    /// Members, sorted by symbol.
    pub members: Vec<Member>,
    /// When it was stored (now, for the built-in one).
    pub created_at: DateTime<Utc>,
}

impl Universe {
    /// Members whose membership ended.
    pub fn delisted(&self) -> usize {
        self.members.iter().filter(|m| m.to.is_some()).count()
    }

    /// The survivorship-bias notice every result over this universe carries, or none when
    /// some member left it.
    pub fn survivorship_notice(&self) -> Option<String> {
        (self.delisted() == 0).then(|| {
            format!(
                "universe {:?} lists no member that left it (no delisted names): results over it carry survivorship bias, since names that failed or were dropped before today are missing",
                self.name
            )
        })
    }
}

/// Stores universes and resolves them against the cache.
pub struct UniverseService {
    reads: Arc<ReadPool>,
    meta: Arc<dyn MetaStore>,
    /// The last universe a backtest load resolved, with when (see `series.rs`).
    memo: std::sync::Mutex<Option<(String, Arc<Universe>, std::time::Instant)>>,
}

fn check_name(name: &str) -> Result<(), UniverseError> {
    if sextant_backtest::strategy::is_identifier(name) {
        Ok(())
    } else {
        Err(UniverseError::Invalid(format!(
            "universe name {name:?} must be 1 to 64 characters of A-Z, a-z, 0-9, _, . and -"
        )))
    }
}

impl UniverseService {
    /// A service over the cache's read pool and the metadata store.
    pub fn new(reads: Arc<ReadPool>, meta: Arc<dyn MetaStore>) -> Self {
        UniverseService {
            reads,
            meta,
            memo: std::sync::Mutex::new(None),
        }
    }

    fn forget(&self) {
        if let Ok(mut m) = self.memo.lock() {
            *m = None;
        }
    }

    /// Stores (or replaces) a universe. Members are checked: 1 to
    /// [`MAX_UNIVERSE_SYMBOLS`], each symbol once, `from` not after `to`.
    pub async fn save(
        &self,
        name: &str,
        description: &str,
        source: &str,
        mut members: Vec<Member>,
    ) -> Result<Universe, UniverseError> {
        check_name(name)?;
        if name == CACHE_UNIVERSE {
            return Err(UniverseError::Invalid(format!(
                "{CACHE_UNIVERSE:?} is the built-in universe of every cached symbol; choose another name"
            )));
        }
        if members.is_empty() || members.len() > MAX_UNIVERSE_SYMBOLS {
            return Err(UniverseError::Invalid(format!(
                "a universe has 1 to {MAX_UNIVERSE_SYMBOLS} members, got {}",
                members.len()
            )));
        }
        members.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        let mut seen = BTreeSet::new();
        for m in &members {
            if !seen.insert(m.symbol.clone()) {
                return Err(UniverseError::Invalid(format!(
                    "{} is listed twice",
                    m.symbol
                )));
            }
            if let (Some(f), Some(t)) = (m.from, m.to) {
                if f > t {
                    return Err(UniverseError::Invalid(format!(
                        "{}: membership from {f} is after its end {t}",
                        m.symbol
                    )));
                }
            }
        }
        let u = Universe {
            name: name.to_string(),
            description: description.chars().take(500).collect(),
            source: source.to_string(),
            members,
            created_at: Utc::now(),
        };
        self.meta
            .upsert(COLLECTION, name, serde_json::to_value(&u)?)
            .await?;
        self.forget();
        Ok(u)
    }

    /// Parses a membership file: a header with `symbol` and optionally `from` (or `start`) and
    /// `to` (or `end`) columns, dates as `YYYY-MM-DD`, empty for open-ended. Every bad line is
    /// an error naming it.
    pub fn parse_csv(text: &str) -> Result<Vec<Member>, UniverseError> {
        let mut rd = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let bad = |m: String| UniverseError::Invalid(m);
        let headers = rd
            .headers()
            .map_err(|e| bad(format!("header: {e}")))?
            .clone();
        let col = |names: &[&str]| {
            headers
                .iter()
                .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
        };
        let sym = col(&["symbol", "ticker"])
            .ok_or_else(|| bad("the file needs a symbol (or ticker) column".into()))?;
        let (from, to) = (col(&["from", "start"]), col(&["to", "end"]));
        let mut out = Vec::new();
        for (i, rec) in rd.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| bad(format!("line {line}: {e}")))?;
            let date = |c: Option<usize>| -> Result<Option<NaiveDate>, UniverseError> {
                match c.and_then(|c| rec.get(c)).filter(|v| !v.is_empty()) {
                    None => Ok(None),
                    Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                        .map(Some)
                        .map_err(|_| bad(format!("line {line}: {v:?} is not a YYYY-MM-DD date"))),
                }
            };
            let s = rec
                .get(sym)
                .ok_or_else(|| bad(format!("line {line}: no symbol field")))?;
            let symbol = Symbol::new(s).map_err(|e| bad(format!("line {line}: {e}")))?;
            out.push(Member {
                symbol,
                from: date(from)?,
                to: date(to)?,
            });
        }
        Ok(out)
    }

    /// Members from the cache's own history: each of `symbols` (all cached symbols when empty)
    /// from its first to its last cached bar, open-ended unless that last bar is more than
    /// [`DELISTED_AFTER_DAYS`] before the cache's newest bar.
    pub fn from_cache(&self, symbols: &[Symbol]) -> Result<Vec<Member>, UniverseError> {
        let infos = self.reads.get().symbols()?;
        let newest = infos.iter().map(|i| i.last_ts.date()).max();
        let wanted: BTreeSet<&str> = symbols.iter().map(Symbol::as_str).collect();
        let mut out = Vec::new();
        for i in &infos {
            if !wanted.is_empty() && !wanted.contains(i.symbol.as_str()) {
                continue;
            }
            let Ok(symbol) = Symbol::new(&i.symbol) else {
                continue;
            };
            let last = i.last_ts.date();
            let gone = newest.is_some_and(|n| (n - last).num_days() > DELISTED_AFTER_DAYS);
            out.push(Member {
                symbol,
                from: Some(i.first_ts.date()),
                to: gone.then_some(last),
            });
        }
        if let Some(missing) = symbols
            .iter()
            .find(|s| !out.iter().any(|m| m.symbol == **s))
        {
            return Err(UniverseError::Invalid(format!(
                "{missing} has no cached bars: ingest it first"
            )));
        }
        Ok(out)
    }

    /// A universe by name ([`CACHE_UNIVERSE`] is built from the cache now).
    pub async fn get(&self, name: &str) -> Result<Universe, UniverseError> {
        if name == CACHE_UNIVERSE {
            let svc = UniverseService::new(self.reads.clone(), self.meta.clone());
            let members = tokio::task::spawn_blocking(move || svc.from_cache(&[]))
                .await
                .map_err(|e| UniverseError::Invalid(format!("cache task failed: {e}")))??;
            return Ok(Universe {
                name: CACHE_UNIVERSE.into(),
                description: "Every cached symbol, each from its first to its last cached bar."
                    .into(),
                source: "cache".into(),
                members,
                created_at: Utc::now(),
            });
        }
        check_name(name)?;
        match self.meta.get(COLLECTION, name).await? {
            Some(doc) => Ok(serde_json::from_value(strip_id(doc))?),
            None => Err(UniverseError::NotFound(name.to_string())),
        }
    }

    /// Every stored universe, by name.
    pub async fn list(&self) -> Result<Vec<Universe>, UniverseError> {
        let docs = self
            .meta
            .find(COLLECTION, &Query::new().sort_asc("name"))
            .await?;
        docs.into_iter()
            .map(|d| serde_json::from_value(strip_id(d)).map_err(UniverseError::from))
            .collect()
    }

    /// Deletes a stored universe; false when there was none.
    pub async fn delete(&self, name: &str) -> Result<bool, UniverseError> {
        check_name(name)?;
        self.forget();
        Ok(self.meta.delete(COLLECTION, name).await?)
    }

    /// The request with `symbols` filled from its universe's members that have cached bars
    /// at the request's resolution (sorted), or unchanged when it names no universe. A
    /// universe whose members have no bars at all is refused.
    pub async fn expand(
        &self,
        mut req: sextant_backtest::run::BacktestRequest,
    ) -> Result<sextant_backtest::run::BacktestRequest, UniverseError> {
        let Some(name) = req.universe.clone() else {
            return Ok(req);
        };
        if !req.symbols.is_empty() {
            return Err(UniverseError::Invalid(
                "give either symbols or a universe, not both".into(),
            ));
        }
        let u = self.get(&name).await?;
        let cached = self.cached_symbols(req.resolution).await?;
        req.symbols = u
            .members
            .iter()
            .filter(|m| cached.contains(m.symbol.as_str()))
            .filter(|m| {
                // Members whose membership ends before the range, or starts after it, add
                // nothing but empty columns.
                req.from.is_none_or(|f| m.to.is_none_or(|t| t >= f))
                    && req.to.is_none_or(|t| m.from.is_none_or(|f| f <= t))
            })
            .map(|m| m.symbol.clone())
            .collect();
        if req.symbols.is_empty() {
            return Err(UniverseError::Invalid(format!(
                "no member of universe {name:?} has cached {} bars in the range",
                req.resolution
            )));
        }
        Ok(req)
    }

    /// The members of universe `name` with cached bars at `resolution`, sorted (every member
    /// ever, whatever its dates: for pooling training samples).
    pub async fn members_with_bars(
        &self,
        name: &str,
        resolution: sextant_domain::Resolution,
    ) -> Result<Vec<Symbol>, UniverseError> {
        let u = self.get(name).await?;
        let cached = self.cached_symbols(resolution).await?;
        Ok(u.members
            .into_iter()
            .filter(|m| cached.contains(m.symbol.as_str()))
            .map(|m| m.symbol)
            .collect())
    }

    async fn cached_symbols(
        &self,
        resolution: sextant_domain::Resolution,
    ) -> Result<BTreeSet<String>, UniverseError> {
        let reads = self.reads.clone();
        let infos = tokio::task::spawn_blocking(move || reads.get().symbols())
            .await
            .map_err(|e| UniverseError::Invalid(format!("cache task failed: {e}")))??;
        let res = resolution.to_string();
        Ok(infos
            .into_iter()
            .filter(|i| i.resolutions.contains(&res))
            .map(|i| i.symbol)
            .collect())
    }
}

fn strip_id(mut doc: serde_json::Value) -> serde_json::Value {
    if let Some(o) = doc.as_object_mut() {
        o.remove("_id");
        o.remove("id");
    }
    doc
}
