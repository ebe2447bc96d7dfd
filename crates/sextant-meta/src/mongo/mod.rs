//! The MongoDB backend, through the official async driver.
//!
//! Every operation maps onto one single-document command, which MongoDB executes atomically, so
//! no multi-document transactions (and no replica set) are needed: `update_if` is an
//! `updateOne` whose filter carries the expected state.
//!
//! Tested against SecantusDB 0.7 (a MongoDB-wire-compatible server, see
//! `scripts/start-mongo-test-server`), which passes the whole conformance suite with this code:
//! no operation used here is missing from it, so no workaround for SecantusDB was needed. The
//! backend sticks to the common core both servers implement, and a few choices keep it portable
//! to older real MongoDB servers as well:
//! * unique indexes are *partial* on `{field: {$type: [number, string, bool, object, array]}}`
//!   rather than `sparse`, so documents with a null or missing field are not constrained (a
//!   sparse index still indexes explicit nulls), matching the embedded backend;
//! * an empty `$set` is never sent (MongoDB before 5.0 rejects it; SecantusDB accepts it); the
//!   existence check is a `countDocuments` instead;
//! * keyset pagination uses `$or` of `$type` / `$gt` / `$eq` clauses rather than aggregation
//!   expressions;
//! * nothing needs multi-document transactions or a replica set.

mod convert;
mod filter;

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document as BsonDoc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::IndexOptions;
use mongodb::{Client, Collection, Database, IndexModel};
use serde_json::Value;

use crate::doc::{
    prepare_insert, prepare_patch, prepare_replacement, validate_collection, validate_field,
    validate_id, Document,
};
use crate::error::{invalid, MetaError, Result};
use crate::query::{Filter, Query};
use crate::store::MetaStore;
use convert::{from_bson_doc, to_bson_doc};

/// MongoDB's duplicate-key error codes (11001 and 12582 are legacy spellings).
const DUPLICATE_CODES: [i32; 3] = [11000, 11001, 12582];

/// [`MetaStore`] over one MongoDB database.
#[derive(Clone, Debug)]
pub struct MongoStore {
    db: Database,
}

fn backend(e: impl std::fmt::Display) -> MetaError {
    MetaError::Backend(format!("mongodb: {e}"))
}

fn is_duplicate(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => DUPLICATE_CODES.contains(&w.code),
        ErrorKind::Command(c) => DUPLICATE_CODES.contains(&c.code),
        ErrorKind::InsertMany(m) => m
            .write_errors
            .iter()
            .flatten()
            .any(|w| DUPLICATE_CODES.contains(&w.code)),
        _ => false,
    }
}

/// Whether a duplicate-key message is about the `_id` index (MongoDB and SecantusDB both say
/// `... index: _id_ dup key: ...`).
fn on_id_index(message: &str) -> bool {
    message.contains("index: _id_ ")
}

fn map_err<'a>(
    collection: &'a str,
    id: Option<&'a str>,
) -> impl Fn(mongodb::error::Error) -> MetaError + 'a {
    move |e| {
        if is_duplicate(&e) {
            let message = e.to_string();
            let detail = match id {
                Some(id) if on_id_index(&message) => format!("_id {id:?} already exists"),
                _ => message,
            };
            MetaError::Duplicate {
                collection: collection.to_owned(),
                detail,
            }
        } else {
            backend(e)
        }
    }
}

/// Database names MongoDB accepts on every platform.
fn validate_database(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.len() > 63
        || name
            .chars()
            .any(|c| "/\\. \"$*<>:|?\0".contains(c) || c.is_control());
    if bad {
        return Err(invalid(format!(
            "MongoDB database name {name:?} must be 1-63 characters without /\\. \"$*<>:|?"
        )));
    }
    Ok(())
}

impl MongoStore {
    /// Connects to `uri`, uses database `database`, and checks the server answers a ping, so a
    /// wrong URI fails at start-up rather than on the first request.
    pub async fn connect(uri: &str, database: &str) -> Result<Self> {
        validate_database(database)?;
        let client = Client::with_uri_str(uri).await.map_err(backend)?;
        let store = MongoStore {
            db: client.database(database),
        };
        store.ping().await?;
        Ok(store)
    }

    /// The database in use.
    pub fn database(&self) -> &Database {
        &self.db
    }

    fn coll(&self, collection: &str) -> Result<Collection<BsonDoc>> {
        validate_collection(collection)?;
        Ok(self.db.collection(collection))
    }

    /// `updateOne({_id, ...expected}, {$set: patch})`; an empty patch only checks for a match.
    async fn patch_where(
        &self,
        collection: &str,
        id: &str,
        expected: &Filter,
        patch: Document,
    ) -> Result<bool> {
        let coll = self.coll(collection)?;
        let mut clauses = vec![doc! {"_id": id}];
        clauses.extend(filter::clauses(expected)?);
        let selector = filter::and(clauses);
        if patch.is_empty() {
            let n = coll
                .count_documents(selector)
                .limit(1)
                .await
                .map_err(backend)?;
            return Ok(n > 0);
        }
        let res = coll
            .update_one(selector, doc! {"$set": to_bson_doc(&patch)?})
            .await
            .map_err(map_err(collection, None))?;
        Ok(res.matched_count > 0)
    }
}

#[async_trait]
impl MetaStore for MongoStore {
    fn backend_name(&self) -> &'static str {
        "mongodb"
    }

    async fn ping(&self) -> Result<()> {
        self.db
            .run_command(doc! {"ping": 1})
            .await
            .map(drop)
            .map_err(backend)
    }

    async fn insert(&self, collection: &str, doc: Value) -> Result<String> {
        let coll = self.coll(collection)?;
        let (id, doc) = prepare_insert(doc)?;
        coll.insert_one(to_bson_doc(&doc)?)
            .await
            .map_err(map_err(collection, Some(&id)))?;
        Ok(id)
    }

    async fn get(&self, collection: &str, id: &str) -> Result<Option<Value>> {
        let coll = self.coll(collection)?;
        validate_id(id)?;
        let found = coll.find_one(doc! {"_id": id}).await.map_err(backend)?;
        Ok(found.map(from_bson_doc))
    }

    async fn replace(&self, collection: &str, id: &str, doc: Value) -> Result<bool> {
        let coll = self.coll(collection)?;
        let doc = to_bson_doc(&prepare_replacement(id, doc)?)?;
        let res = coll
            .replace_one(doc! {"_id": id}, doc)
            .await
            .map_err(map_err(collection, None))?;
        Ok(res.matched_count > 0)
    }

    async fn upsert(&self, collection: &str, id: &str, doc: Value) -> Result<bool> {
        let coll = self.coll(collection)?;
        let doc = to_bson_doc(&prepare_replacement(id, doc)?)?;
        // Two concurrent upserts of a new `_id` can both miss and both insert; MongoDB then
        // fails the loser with a duplicate-key error on `_id`. Retrying once turns that into the
        // replace it should have been. A duplicate on another unique index persists and is
        // reported.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match coll
                .replace_one(doc! {"_id": id}, doc.clone())
                .upsert(true)
                .await
            {
                Ok(res) => return Ok(res.upserted_id.is_some()),
                Err(e) if is_duplicate(&e) && on_id_index(&e.to_string()) && attempt < 3 => {
                    continue
                }
                Err(e) => return Err(map_err(collection, None)(e)),
            }
        }
    }

    async fn update_fields(&self, collection: &str, id: &str, patch: Value) -> Result<bool> {
        let patch = prepare_patch(id, patch)?;
        self.patch_where(collection, id, &Filter::new(), patch)
            .await
    }

    async fn update_if(
        &self,
        collection: &str,
        id: &str,
        expected: &Filter,
        patch: Value,
    ) -> Result<bool> {
        expected.validate()?;
        let patch = prepare_patch(id, patch)?;
        self.patch_where(collection, id, expected, patch).await
    }

    async fn delete(&self, collection: &str, id: &str) -> Result<bool> {
        let coll = self.coll(collection)?;
        validate_id(id)?;
        let res = coll.delete_one(doc! {"_id": id}).await.map_err(backend)?;
        Ok(res.deleted_count > 0)
    }

    async fn find(&self, collection: &str, query: &Query) -> Result<Vec<Value>> {
        let coll = self.coll(collection)?;
        query.validate()?;
        if query.limit == Some(0) {
            return Ok(Vec::new());
        }
        let field = Some(query.sort_field()).filter(|f| *f != "_id");
        let mut clauses = filter::clauses(&query.filter)?;
        if let Some(cursor) = &query.after {
            clauses.push(filter::keyset(field, query.order(), cursor)?);
        }
        let mut action = coll
            .find(filter::and(clauses))
            .sort(filter::sort(field, query.order()));
        if query.skip > 0 {
            action = action.skip(query.skip);
        }
        if let Some(n) = query.limit {
            // Limit 0 means "no limit" to MongoDB; it was answered above.
            action = action.limit(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let docs: Vec<BsonDoc> = action
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        Ok(docs.into_iter().map(from_bson_doc).collect())
    }

    async fn count(&self, collection: &str, filter: &Filter) -> Result<u64> {
        let coll = self.coll(collection)?;
        filter.validate()?;
        coll.count_documents(filter::and(filter::clauses(filter)?))
            .await
            .map_err(backend)
    }

    async fn ensure_index(&self, collection: &str, field: &str, unique: bool) -> Result<()> {
        let coll = self.coll(collection)?;
        validate_field(field)?;
        if field == "_id" {
            return Ok(());
        }
        let options = if unique {
            IndexOptions::builder()
                .name(format!("sx_{field}_u"))
                .unique(true)
                .partial_filter_expression(doc! {
                    field: {"$type": ["number", "string", "bool", "object", "array"]}
                })
                .build()
        } else {
            IndexOptions::builder()
                .name(format!("sx_{field}_i"))
                .build()
        };
        let model = IndexModel::builder()
            .keys(doc! {field: 1})
            .options(options)
            .build();
        coll.create_index(model)
            .await
            .map(drop)
            .map_err(map_err(collection, None))
    }
}
