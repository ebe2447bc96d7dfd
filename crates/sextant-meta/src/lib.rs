#![warn(missing_docs)]
//! Sextant's metadata document store.
//!
//! Strategies, backtest results, watchlists, models, trials, regime labels, anomaly flags,
//! narratives, jobs and API keys are small JSON documents that evolve faster than a relational
//! schema would. They live behind one async trait, [`MetaStore`], with two interchangeable
//! backends:
//!
//! * [`SqliteStore`] — the embedded default: one SQLite file, no server to run, safe for an API
//!   server and a CLI writing at the same time.
//! * [`MongoStore`] — MongoDB (or a wire-compatible server) for shared deployments.
//!
//! Both pass the same conformance suite (the `sextant-meta-conformance` crate), so code written
//! against the trait behaves the same on either. Pick one at run time with [`open_store`]:
//!
//! ```no_run
//! # async fn demo() -> sextant_meta::Result<()> {
//! use sextant_meta::{open_store, Filter, MetaConfig, Query};
//! use serde_json::json;
//!
//! let store = open_store(&MetaConfig::embedded(".sextant/meta.db")).await?;
//! let id = store.insert("jobs", json!({"status": "queued", "priority": 2})).await?;
//! let claimed = store
//!     .update_if("jobs", &id, &Filter::new().eq("status", "queued"),
//!                json!({"status": "running", "worker": "w1"}))
//!     .await?;
//! assert!(claimed);
//! let page = store.find("jobs", &Query::new().sort_desc("priority").limit(50)).await?;
//! # let _ = page; Ok(()) }
//! ```

mod doc;
mod error;
mod mongo;
mod query;
mod sqlite;
mod store;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use doc::{
    lookup, validate_collection, validate_field, validate_id, Document, MAX_COLLECTION_LEN,
    MAX_DEPTH, MAX_FIELD_LEN, MAX_ID_LEN,
};
pub use error::{MetaError, Result};
pub use mongo::MongoStore;
pub use query::{Cond, Cursor, Filter, Op, Order, Query, Sort};
pub use sqlite::{SqliteStore, BUSY_TIMEOUT};
pub use store::MetaStore;

/// Which backend to open. Deserialises from configuration as
/// `{ backend = "embedded", path = "..." }` or
/// `{ backend = "mongo", uri = "mongodb://...", database = "sextant" }`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "snake_case")]
pub enum MetaConfig {
    /// SQLite file at `path` (created with its parent directories if missing).
    Embedded {
        /// Database file.
        path: PathBuf,
    },
    /// MongoDB server.
    Mongo {
        /// Connection string; may carry credentials, so `Debug` redacts it.
        uri: String,
        /// Database holding the collections.
        database: String,
    },
}

impl MetaConfig {
    /// The embedded backend at `path`.
    pub fn embedded(path: impl Into<PathBuf>) -> Self {
        MetaConfig::Embedded { path: path.into() }
    }

    /// The MongoDB backend.
    pub fn mongo(uri: impl Into<String>, database: impl Into<String>) -> Self {
        MetaConfig::Mongo {
            uri: uri.into(),
            database: database.into(),
        }
    }
}

impl fmt::Debug for MetaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetaConfig::Embedded { path } => {
                f.debug_struct("Embedded").field("path", path).finish()
            }
            MetaConfig::Mongo { uri, database } => f
                .debug_struct("Mongo")
                .field("uri", &redact(uri))
                .field("database", database)
                .finish(),
        }
    }
}

/// Hides the `user:password@` part of a connection string.
fn redact(uri: &str) -> String {
    match (uri.find("://"), uri.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &uri[..scheme], &uri[at + 1..])
        }
        _ => uri.to_owned(),
    }
}

/// Opens the configured backend, checking it is reachable.
pub async fn open_store(config: &MetaConfig) -> Result<Arc<dyn MetaStore>> {
    match config {
        MetaConfig::Embedded { path } => {
            let path = path.clone();
            // Opening touches the file system and may wait on another process's lock.
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(path))
                .await
                .map_err(|e| MetaError::Backend(format!("sqlite: open task failed: {e}")))??;
            Ok(Arc::new(store))
        }
        MetaConfig::Mongo { uri, database } => {
            Ok(Arc::new(MongoStore::connect(uri, database).await?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_credentials() {
        let c = MetaConfig::mongo("mongodb://alice:s3cret@db.example:27017/?tls=true", "x");
        let s = format!("{c:?}");
        assert!(
            !s.contains("s3cret") && s.contains("db.example:27017"),
            "{s}"
        );
    }

    #[test]
    fn config_deserialises_from_tagged_json() {
        let c: MetaConfig =
            serde_json::from_str(r#"{"backend":"embedded","path":"/tmp/m.db"}"#).expect("parse");
        assert_eq!(c, MetaConfig::embedded("/tmp/m.db"));
        let c: MetaConfig =
            serde_json::from_str(r#"{"backend":"mongo","uri":"mongodb://h","database":"d"}"#)
                .expect("parse");
        assert_eq!(c, MetaConfig::mongo("mongodb://h", "d"));
    }
}
