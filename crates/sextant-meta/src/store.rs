//! The [`MetaStore`] trait: the whole contract both backends implement.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::{MetaError, Result};
use crate::query::{Filter, Query};

/// A collection-oriented JSON document store.
///
/// Documents are JSON objects with a string `_id`. Collections are created on first write and
/// reading one that was never written is not an error (it is empty). Every method validates its
/// arguments the same way on every backend and fails with [`MetaError::Invalid`] before touching
/// the database.
///
/// Single-document operations are atomic. [`MetaStore::update_if`] is the compare-and-swap
/// primitive for coordination between processes (claiming jobs, leases, counters).
#[async_trait]
pub trait MetaStore: Send + Sync {
    /// Short backend identifier (`"sqlite"` or `"mongodb"`), for logs and health endpoints.
    fn backend_name(&self) -> &'static str;

    /// Checks that the backend answers.
    async fn ping(&self) -> Result<()>;

    /// Inserts a new document and returns its `_id`, generating a UUID v4 when the document has
    /// none. An existing `_id` (or a unique-index clash) fails with [`MetaError::Duplicate`].
    async fn insert(&self, collection: &str, doc: Value) -> Result<String>;

    /// Fetches a document by `_id`.
    async fn get(&self, collection: &str, id: &str) -> Result<Option<Value>>;

    /// Like [`MetaStore::get`] but absence is [`MetaError::NotFound`].
    async fn get_required(&self, collection: &str, id: &str) -> Result<Value> {
        self.get(collection, id)
            .await?
            .ok_or_else(|| MetaError::NotFound {
                collection: collection.to_owned(),
                id: id.to_owned(),
            })
    }

    /// Replaces the whole document `id` (its `_id`, if given, must equal `id`). Returns false,
    /// creating nothing, when no such document exists.
    async fn replace(&self, collection: &str, id: &str, doc: Value) -> Result<bool>;

    /// Replaces document `id`, or creates it. Returns true when it was created.
    async fn upsert(&self, collection: &str, id: &str, doc: Value) -> Result<bool>;

    /// Sets the given top-level fields (MongoDB `$set`), leaving the others alone. A field set to
    /// null is kept with a null value. Returns false when the document does not exist.
    async fn update_fields(&self, collection: &str, id: &str, patch: Value) -> Result<bool>;

    /// Atomically applies `patch` (as [`MetaStore::update_fields`]) only if document `id` exists
    /// and matches `expected`. Returns whether it was applied. When many callers race on the
    /// same document with the same `expected` state, exactly one wins.
    async fn update_if(
        &self,
        collection: &str,
        id: &str,
        expected: &Filter,
        patch: Value,
    ) -> Result<bool>;

    /// Deletes document `id`. Returns whether it existed.
    async fn delete(&self, collection: &str, id: &str) -> Result<bool>;

    /// Returns the matching documents in the query's order.
    async fn find(&self, collection: &str, query: &Query) -> Result<Vec<Value>>;

    /// The first document in the query's order, if any.
    async fn find_one(&self, collection: &str, query: &Query) -> Result<Option<Value>> {
        let q = query.clone().limit(1);
        Ok(self.find(collection, &q).await?.into_iter().next())
    }

    /// Counts the documents matching `filter`.
    async fn count(&self, collection: &str, filter: &Filter) -> Result<u64>;

    /// Creates an index on a dotted field if it does not exist yet (idempotent).
    ///
    /// A unique index constrains only documents where the field is present and not null, on both
    /// backends, so optional unique fields work. Existing duplicates make it fail with
    /// [`MetaError::Duplicate`]. `_id` is always unique and indexing it is a no-op.
    async fn ensure_index(&self, collection: &str, field: &str, unique: bool) -> Result<()>;
}
