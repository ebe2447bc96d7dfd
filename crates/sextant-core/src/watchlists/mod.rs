//! Watchlists: named, owned lists of symbols, stored in the metadata store (collection
//! [`COLLECTION`]), with quotes from the cache.
//!
//! Symbols the cache does not hold are accepted (a user may watch a ticker before ingesting it)
//! and reported in [`Watchlist::unknown_symbols`], computed on every read because the cache
//! changes under a stored list.
//!
//! Quotes show the last raw (as traded) close, and trailing returns on total-return closes
//! (splits neutral, dividends reinvested), so a window that spans a split is the holder's
//! return, not a −50 % move.

mod quotes;

pub use quotes::{trailing_returns, Quote, TrailingReturns, WatchlistQuotes};

use crate::common::{
    blocking, clean_name, clean_owner, find_page, fixed_ts, from_doc, to_doc, InvalidField, Page,
    PageRequest,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_data::{Cache, DataError};
use sextant_domain::Symbol;
use sextant_meta::{Filter, MetaError, MetaStore, Query};
use std::collections::HashSet;
use std::sync::Arc;

/// Metadata collection holding watchlists.
pub const COLLECTION: &str = "watchlists";
/// Longest watchlist name, in characters.
pub const MAX_NAME_LEN: usize = 100;
/// Most symbols in one watchlist: bounds the cost of one quotes request.
pub const MAX_SYMBOLS: usize = 500;
/// Attempts of a read-modify-write before reporting a conflict.
const CAS_ATTEMPTS: usize = 8;

/// Why a watchlist operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchlistError {
    /// An input was rejected; the error names the field (`name`, `symbols[3]`, ...).
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// No watchlist has this id, or it belongs to another owner (not revealed).
    #[error("watchlist {0} not found")]
    NotFound(String),
    /// Concurrent writers changed the list on every attempt of a read-modify-write
    /// (8 attempts); retrying is safe.
    #[error("watchlist {0} kept changing during the update; retry")]
    Conflict(String),
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The market-data cache failed (known symbols, quotes).
    #[error(transparent)]
    Data(#[from] DataError),
    /// A stored watchlist does not deserialise.
    #[error("stored watchlist is malformed: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// A watchlist as returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Watchlist {
    /// The store's id, assigned at creation.
    pub id: String,
    /// Display name: trimmed, 1 to [`MAX_NAME_LEN`] characters, no control characters.
    pub name: String,
    /// The key that created it; only that key (or an admin) may use it.
    pub owner: String,
    /// In the order they were added, without duplicates.
    pub symbols: Vec<Symbol>,
    /// The symbols of `symbols` with no bars in the cache right now.
    pub unknown_symbols: Vec<Symbol>,
    /// When it was created; lists sort on it, newest first.
    pub created_at: DateTime<Utc>,
    /// When it last changed; concurrent writers compare-and-swap on it.
    pub updated_at: DateTime<Utc>,
}

/// What is stored (no id, no derived fields).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    name: String,
    owner: String,
    symbols: Vec<Symbol>,
    #[serde(with = "fixed_ts")]
    created_at: DateTime<Utc>,
    #[serde(with = "fixed_ts")]
    updated_at: DateTime<Utc>,
}

/// A partial update: absent fields are left alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WatchlistUpdate {
    /// A new name (validated as [`Watchlist::name`]).
    #[serde(default)]
    pub name: Option<String>,
    /// Replaces the whole list.
    #[serde(default)]
    pub symbols: Option<Vec<String>>,
}

/// Stores watchlists and prices them from the cache.
pub struct WatchlistService {
    cache: Arc<Cache>,
    meta: Arc<dyn MetaStore>,
}

impl WatchlistService {
    /// The service over the shared cache (known symbols, quotes) and metadata store.
    pub fn new(cache: Arc<Cache>, meta: Arc<dyn MetaStore>) -> Self {
        WatchlistService { cache, meta }
    }

    /// Creates a watchlist of `symbols` (normalised, duplicates dropped, at most
    /// [`MAX_SYMBOLS`]) owned by `owner`. Symbols not in the cache are accepted.
    ///
    /// # Errors
    /// [`WatchlistError::Invalid`] for a bad name, owner or symbol, or too many symbols.
    pub async fn create(
        &self,
        name: &str,
        symbols: &[String],
        owner: &str,
    ) -> Result<Watchlist, WatchlistError> {
        let now = Utc::now();
        let stored = Stored {
            name: clean_name("name", name, MAX_NAME_LEN)?,
            owner: clean_owner(owner)?,
            symbols: merge(Vec::new(), "symbols", symbols)?,
            created_at: now,
            updated_at: now,
        };
        let id = self.meta.insert(COLLECTION, to_doc(&stored)?).await?;
        self.present(id, stored).await
    }

    /// The watchlist `id` if `actor` may use it; another owner's list is reported as not found.
    pub async fn get_as(
        &self,
        id: &str,
        actor: crate::common::Actor<'_>,
    ) -> Result<Watchlist, WatchlistError> {
        let w = self.get(id).await?;
        if actor.may(&w.owner) {
            Ok(w)
        } else {
            Err(WatchlistError::NotFound(id.into()))
        }
    }

    /// The watchlist `id`, whoever owns it (for trusted callers; use
    /// [`WatchlistService::get_as`] on behalf of an API key). An unknown or malformed id is
    /// [`WatchlistError::NotFound`].
    pub async fn get(&self, id: &str) -> Result<Watchlist, WatchlistError> {
        let stored = self.load(id).await?;
        self.present(id.to_string(), stored).await
    }

    /// Newest first; `owner` restricts to one owner's lists.
    pub async fn list(
        &self,
        owner: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<Watchlist>, WatchlistError> {
        let filter = owner.map_or_else(Filter::new, |o| Filter::new().eq("owner", o));
        let query = Query::new().filter(filter).sort_desc("created_at");
        let page = find_page::<WatchlistError>(self.meta.as_ref(), COLLECTION, query, page).await?;
        let known = self.known_symbols().await?;
        page.try_map(|doc| {
            let w: IdDoc = from_doc(doc)?;
            Ok(present_with(w.id, w.stored, &known))
        })
    }

    /// Applies `update` (every field validated before anything is written) under a
    /// compare-and-swap; [`WatchlistError::Conflict`] when concurrent writers keep winning.
    pub async fn update(
        &self,
        id: &str,
        update: &WatchlistUpdate,
    ) -> Result<Watchlist, WatchlistError> {
        let name = update
            .name
            .as_deref()
            .map(|n| clean_name("name", n, MAX_NAME_LEN))
            .transpose()?;
        let symbols = update
            .symbols
            .as_deref()
            .map(|s| merge(Vec::new(), "symbols", s))
            .transpose()?;
        self.modify(id, |w| {
            if let Some(n) = &name {
                w.name.clone_from(n);
            }
            if let Some(s) = &symbols {
                w.symbols.clone_from(s);
            }
            Ok(())
        })
        .await
    }

    /// Renames the watchlist: [`WatchlistService::update`] with only a name.
    pub async fn rename(&self, id: &str, name: &str) -> Result<Watchlist, WatchlistError> {
        let update = WatchlistUpdate {
            name: Some(name.to_string()),
            symbols: None,
        };
        self.update(id, &update).await
    }

    /// Deletes the watchlist; [`WatchlistError::NotFound`] when there was none.
    pub async fn delete(&self, id: &str) -> Result<(), WatchlistError> {
        if self.meta.delete(COLLECTION, id).await? {
            Ok(())
        } else {
            Err(WatchlistError::NotFound(id.to_string()))
        }
    }

    /// Appends the symbols not already listed.
    pub async fn add_symbols(
        &self,
        id: &str,
        symbols: &[String],
    ) -> Result<Watchlist, WatchlistError> {
        merge(Vec::new(), "symbols", symbols)?;
        self.modify(id, |w| {
            w.symbols = merge(std::mem::take(&mut w.symbols), "symbols", symbols)?;
            Ok(())
        })
        .await
    }

    /// Removes the given symbols; ones not listed are ignored (removal is idempotent).
    pub async fn remove_symbols(
        &self,
        id: &str,
        symbols: &[String],
    ) -> Result<Watchlist, WatchlistError> {
        let drop: HashSet<Symbol> = merge(Vec::new(), "symbols", symbols)?.into_iter().collect();
        self.modify(id, |w| {
            w.symbols.retain(|s| !drop.contains(s));
            Ok(())
        })
        .await
    }

    async fn load(&self, id: &str) -> Result<Stored, WatchlistError> {
        match self.meta.get(COLLECTION, id).await {
            Ok(Some(doc)) => Ok(from_doc::<IdDoc>(doc)?.stored),
            // An id the store cannot even hold names no watchlist.
            Ok(None) | Err(MetaError::Invalid(_)) => Err(WatchlistError::NotFound(id.into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Read, change, write back only if nobody wrote in between (compare-and-swap on
    /// `updated_at`), so concurrent `add_symbols` calls never lose each other's symbols.
    async fn modify(
        &self,
        id: &str,
        change: impl Fn(&mut Stored) -> Result<(), WatchlistError>,
    ) -> Result<Watchlist, WatchlistError> {
        for _ in 0..CAS_ATTEMPTS {
            let mut w = self.load(id).await?;
            let seen = fixed_ts::format(&w.updated_at);
            change(&mut w)?;
            // Strictly later than the version read, even on a coarse clock.
            w.updated_at = Utc::now().max(w.updated_at + chrono::Duration::nanoseconds(1));
            let expected = Filter::new().eq("updated_at", seen);
            if self
                .meta
                .update_if(COLLECTION, id, &expected, to_doc(&w)?)
                .await?
            {
                return self.present(id.to_string(), w).await;
            }
        }
        Err(WatchlistError::Conflict(id.to_string()))
    }

    async fn known_symbols(&self) -> Result<HashSet<String>, WatchlistError> {
        let cache = self.cache.clone();
        let infos = blocking(move || cache.symbols()).await?;
        Ok(infos.into_iter().map(|i| i.symbol).collect())
    }

    async fn present(&self, id: String, stored: Stored) -> Result<Watchlist, WatchlistError> {
        Ok(present_with(id, stored, &self.known_symbols().await?))
    }
}

#[derive(Deserialize)]
struct IdDoc {
    id: String,
    #[serde(flatten)]
    stored: Stored,
}

fn present_with(id: String, s: Stored, known: &HashSet<String>) -> Watchlist {
    let unknown_symbols = s
        .symbols
        .iter()
        .filter(|sym| !known.contains(sym.as_str()))
        .cloned()
        .collect();
    Watchlist {
        id,
        name: s.name,
        owner: s.owner,
        symbols: s.symbols,
        unknown_symbols,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

/// `current` followed by the valid, not yet present symbols of `input`, in order.
fn merge(current: Vec<Symbol>, field: &str, input: &[String]) -> Result<Vec<Symbol>, InvalidField> {
    let mut seen: HashSet<Symbol> = current.iter().cloned().collect();
    let mut out = current;
    for (i, raw) in input.iter().enumerate() {
        let s = Symbol::new(raw)
            .map_err(|e| InvalidField::new(format!("{field}[{i}]"), e.to_string()))?;
        if seen.insert(s.clone()) {
            out.push(s);
        }
    }
    if out.len() > MAX_SYMBOLS {
        return Err(too_many(out.len()));
    }
    Ok(out)
}

fn too_many(n: usize) -> InvalidField {
    InvalidField::new(
        "symbols",
        format!("at most {MAX_SYMBOLS} symbols per watchlist (got {n})"),
    )
}
