//! Extractors whose rejections are problem+json (axum's defaults answer in plain text).

use crate::error::{ApiError, FieldError};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// A JSON object body. Parsed to a value first so that only objects are accepted (serde would
/// otherwise also build a struct from an array), then typed, with the failing field named.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state).await?;
        if !value.is_object() {
            return Err(ApiError::field("body", "must be a JSON object"));
        }
        serde_json::from_value(value).map(ApiJson).map_err(|e| {
            let text = e.to_string();
            let field = text.split('`').nth(1).unwrap_or("body").to_string();
            let mut err =
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", text.clone());
            err.errors.push(FieldError {
                field,
                message: text,
            });
            err
        })
    }
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Checks a `from`/`to` pair of query dates: supported dates (`sextant_domain::dates`) and
/// `from` not after `to`; a 422 naming the field otherwise.
pub fn date_range(
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
) -> Result<(), crate::error::ApiError> {
    sextant_domain::dates::check_range(from, to)
        .map_err(|(field, message)| crate::error::ApiError::field(field, message))
}
