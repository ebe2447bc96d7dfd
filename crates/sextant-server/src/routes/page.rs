//! The API's page parameters and page body; paging itself is the services' (keyset cursors
//! over the metadata store, so pages stay correct while documents are inserted or deleted).

use crate::error::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use sextant_core::common::PageRequest;
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

/// Largest page the API serves (the services allow more; the API documents 200).
const MAX_API_PAGE: u32 = 200;

impl PageQuery {
    /// The service-layer page request, after the API's own bound on `limit`.
    pub fn to_request(&self) -> ApiResult<PageRequest> {
        if let Some(l) = self.limit {
            if !(1..=MAX_API_PAGE).contains(&l) {
                return Err(ApiError::field(
                    "limit",
                    format!("must be between 1 and {MAX_API_PAGE}"),
                ));
            }
        }
        Ok(PageRequest {
            cursor: self.cursor.clone(),
            limit: self.limit,
        })
    }
}
