//! Building blocks shared by the watchlist, portfolio and dashboard services: field-naming
//! validation errors, keyset pages with opaque cursor tokens, the mapping between typed records
//! and metadata documents, and daily closes read from the cache.
//!
//! They live in one place so that the three services page, validate and store the same way and
//! the HTTP layer maps their errors with one rule.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use sextant_data::{Cache, DataError};
use sextant_domain::{Resolution, Symbol};
use sextant_meta::{Cursor, MetaError, MetaStore, Query};

/// An input rejected by a service, naming the offending field (`name`, `symbols[3]`, `cursor`)
/// so that the API can answer 422 with a per-field message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{field}: {message}")]
pub struct InvalidField {
    /// Where the bad value was, as the caller named it: `name`, `symbols[3]`, `cursor`.
    pub field: String,
    /// What is wrong with it, readable by a person ("must not be empty").
    pub message: String,
}

impl InvalidField {
    /// An error naming `field` with `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Page size when the caller gives none.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page a caller may ask for: bounds the memory and latency of one request.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Which page to read: the `next_cursor` of the previous page (none for the first) and a size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// The `next_cursor` of the previous page, passed back unchanged; none for the first page.
    /// A token not issued by the same listing is rejected as an invalid `cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Largest number of items to return, 1 to [`MAX_PAGE_SIZE`]; other values are rejected as
    /// an invalid `limit`. Default: [`DEFAULT_PAGE_SIZE`].
    #[serde(default)]
    pub limit: Option<u32>,
}

impl PageRequest {
    /// The first page of `limit` items.
    pub fn first(limit: u32) -> Self {
        PageRequest {
            cursor: None,
            limit: Some(limit),
        }
    }

    /// The page after `cursor`.
    pub fn after(cursor: impl Into<String>, limit: u32) -> Self {
        PageRequest {
            cursor: Some(cursor.into()),
            limit: Some(limit),
        }
    }
}

/// One page of results. `next_cursor` is absent on the last page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items of this page in the listing's sort order; at most the requested `limit`.
    pub items: Vec<T>,
    /// Opaque token to pass as [`PageRequest::cursor`] for the following page; none when this
    /// page is the last.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub(crate) fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            next_cursor: self.next_cursor,
        })
    }
}

/// Reads one page of `query` (which must carry its filter and sort). The store's keyset cursor
/// (sort value, `_id`) is handed out as an opaque hex token, so pages stay correct while
/// documents are inserted or deleted between requests, which `skip` would not.
pub(crate) async fn find_page<E: From<InvalidField> + From<MetaError>>(
    meta: &dyn MetaStore,
    collection: &str,
    query: Query,
    page: &PageRequest,
) -> Result<Page<Value>, E> {
    let limit = page.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(
            InvalidField::new("limit", format!("must be between 1 and {MAX_PAGE_SIZE}")).into(),
        );
    }
    let mut query = query;
    if let Some(token) = &page.cursor {
        let cursor = decode_cursor(token)
            .ok_or_else(|| InvalidField::new("cursor", "not a cursor returned by this list"))?;
        query = query.after(cursor);
    }
    // One extra document tells whether another page exists without a count query.
    let mut items = meta
        .find(collection, &query.clone().limit(u64::from(limit) + 1))
        .await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if more {
        query.cursor_after(&items).map(|c| encode_cursor(&c))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

fn encode_cursor(c: &Cursor) -> String {
    let json = serde_json::json!([c.value, c.id]).to_string();
    hex::encode(json.as_bytes())
}

fn decode_cursor(token: &str) -> Option<Cursor> {
    let bytes = hex::decode(token).ok()?;
    let (value, id): (Value, String) = serde_json::from_slice(&bytes).ok()?;
    let scalar = !(value.is_array() || value.is_object());
    (scalar && !id.is_empty()).then_some(Cursor { value, id })
}

/// A typed record as a metadata document: the record's `id` is the document's `_id`, so it is
/// not stored twice.
pub(crate) fn to_doc<T: Serialize>(record: &T) -> Result<Value, serde_json::Error> {
    let mut v = serde_json::to_value(record)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
    }
    Ok(v)
}

/// The inverse of [`to_doc`]: `_id` becomes `id`.
pub(crate) fn from_doc<T: DeserializeOwned>(doc: Value) -> Result<T, serde_json::Error> {
    let mut doc = doc;
    if let Some(o) = doc.as_object_mut() {
        if let Some(id) = o.remove("_id") {
            o.insert("id".into(), id);
        }
    }
    serde_json::from_value(doc)
}

/// A stored document as `T`, or `None` with a warning naming `what` when it does not read (one
/// written by another build, say): a list skips it rather than failing whole, and says so.
pub(crate) fn readable<T: DeserializeOwned>(doc: Value, what: &str) -> Option<T> {
    match serde_json::from_value(doc) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(error = %e, what, "a stored document does not read: skipped");
            None
        }
    }
}

/// Timestamps stored with a fixed nine-digit fraction, so that their strings sort in time order
/// (chrono's default drops trailing zeros, and "…:05Z" would sort after "…:05.1Z"). Lists sort on
/// these strings and update compare-and-swaps match them exactly.
pub mod fixed_ts {
    use super::*;

    /// Writes `t` as [`format()`] does (for `#[serde(with = "fixed_ts")]`).
    pub fn serialize<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    /// Reads any RFC 3339 timestamp, so values written with a shorter fraction still load.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }

    /// `t` as RFC 3339 in UTC with exactly nine fractional digits
    /// (`2024-01-02T03:04:05.000000000Z`). Use it wherever a stored timestamp is compared as a
    /// string.
    pub fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Nanos, true)
    }
}

/// A trimmed, non-empty name of at most `max` characters without control characters.
pub(crate) fn clean_name(field: &str, value: &str, max: usize) -> Result<String, InvalidField> {
    let v = value.trim();
    if v.is_empty() {
        return Err(InvalidField::new(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(InvalidField::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(InvalidField::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(v.to_string())
}

/// Longest owner identifier (an API key's principal, a user name).
pub const MAX_OWNER_LEN: usize = 128;

pub(crate) fn clean_owner(owner: &str) -> Result<String, InvalidField> {
    clean_name("owner", owner, MAX_OWNER_LEN)
}

/// Daily closes of `symbol`, oldest first. Stored daily bars when there are any, else daily bars
/// derived from finer stored bars (a symbol ingested only intraday still has closes).
pub fn daily_closes(cache: &Cache, symbol: &Symbol) -> Result<Vec<(NaiveDate, f64)>, DataError> {
    let stored = cache.closes(symbol, Resolution::Daily)?;
    if !stored.is_empty() {
        return Ok(stored.into_iter().map(|(t, c)| (t.date(), c)).collect());
    }
    let derived = cache.bars(symbol, Resolution::Daily, None, None)?;
    Ok(derived
        .into_iter()
        .map(|b| (b.ts.date(), b.close))
        .collect())
}

/// Runs blocking cache work off the async executor (DuckDB calls block).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DataError> + Send + 'static,
) -> Result<T, DataError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DataError::Invalid(format!("cache task failed: {e}")))?
}

/// The last value at or before `date` in a series sorted by date, with its date: the
/// carry-forward rule of every valuation here.
pub fn value_at(series: &[(NaiveDate, f64)], date: NaiveDate) -> Option<(NaiveDate, f64)> {
    let n = series.partition_point(|(d, _)| *d <= date);
    n.checked_sub(1).and_then(|i| series.get(i)).copied()
}

/// Who acts on a stored object: an API key (its id) and whether it may act on every owner's
/// objects (admins). Services take one wherever an object has an owner, so the ownership rule
/// is the same for every entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    /// The acting key's id (what objects record as their `owner`).
    pub key: &'a str,
    /// Admins act on any owner's objects.
    pub admin: bool,
}

impl Actor<'_> {
    /// True when this actor may read or change an object owned by `owner`.
    pub fn may(&self, owner: &str) -> bool {
        self.admin || self.key == owner
    }

    /// The owner filter of a listing: an admin sees every owner's objects, anyone else only
    /// their own.
    pub fn scope(&self) -> Option<&str> {
        (!self.admin).then_some(self.key)
    }
}
