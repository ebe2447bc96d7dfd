//! Stable cursor pagination over metadata collections: the cursor is the (sort value, id) of the
//! last item, hex-encoded, so pages stay correct while documents are inserted or deleted.

use crate::error::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sextant_meta::{Cursor, Filter, MetaStore, Query};
use utoipa::{IntoParams, ToSchema};

/// Page size and position of a listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 2, pattern = "^([0-9a-f]{2})+$")]
    pub cursor: Option<String>,
}

/// A page of items.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// This page's items, newest first.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    v: Value,
    id: String,
}

fn decode(cursor: &str) -> ApiResult<Cursor> {
    let bad = || ApiError::field("cursor", "not a cursor returned by this API");
    let bytes = hex::decode(cursor).map_err(|_| bad())?;
    let w: Wire = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(Cursor {
        value: w.v,
        id: w.id,
    })
}

fn encode(c: &Cursor) -> String {
    hex::encode(
        serde_json::to_vec(&Wire {
            v: c.value.clone(),
            id: c.id.clone(),
        })
        .unwrap_or_default(),
    )
}

/// Fetches one page of `collection` newest first by `sort_field`.
pub async fn fetch(
    meta: &dyn MetaStore,
    collection: &str,
    filter: Filter,
    sort_field: &str,
    page: &PageQuery,
) -> ApiResult<Page<Value>> {
    let limit = page.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 200"));
    }
    let mut q = Query::new()
        .filter(filter)
        .sort_desc(sort_field)
        .limit(u64::from(limit) + 1);
    if let Some(c) = &page.cursor {
        q = q.after(decode(c)?);
    }
    let mut items = meta.find(collection, &q).await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if more {
        q.cursor_after(&items).map(|c| encode(&c))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}
