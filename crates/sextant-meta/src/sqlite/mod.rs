//! The embedded backend: one SQLite file, safe to share between processes.
//!
//! Why these settings:
//! * **WAL journal** — readers never block the writer and vice versa, so an API server and a CLI
//!   can use the same file at once.
//! * **`busy_timeout`** — a writer that finds the lock taken waits (up to [`BUSY_TIMEOUT`])
//!   instead of failing with `SQLITE_BUSY`.
//! * **`BEGIN IMMEDIATE`** for every write — the write lock is taken at the start of the
//!   transaction, so a read-modify-write (`update_fields`, `update_if`) can never be invalidated
//!   halfway (no `SQLITE_BUSY_SNAPSHOT`), which is what makes `update_if` a true compare-and-swap
//!   across threads and processes.
//! * **`synchronous=NORMAL`** — durable across application crashes; in WAL mode only a power
//!   loss can drop the last commits, an accepted trade-off for metadata.
//!
//! `rusqlite` is blocking, so each operation runs on Tokio's blocking pool with a connection
//! taken from a small pool of idle connections.

mod sql;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params_from_iter, Connection, ErrorCode, OptionalExtension, TransactionBehavior};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::doc::{
    apply_patch, prepare_insert, prepare_patch, prepare_replacement, validate_collection,
    validate_field, validate_id, Document,
};
use crate::error::{invalid, MetaError, Result};
use crate::query::{Filter, Query};
use crate::store::MetaStore;

/// How long a writer waits for another connection's write lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle connections kept for reuse.
const MAX_IDLE: usize = 8;
/// Operations running at once per store (each holds one connection and one blocking thread).
/// Writers serialise on SQLite's lock anyway; the cap keeps a burst of requests from opening
/// hundreds of connections.
const MAX_ACTIVE: usize = 16;

/// [`MetaStore`] over a single SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    active: Arc<Semaphore>,
    idle: Mutex<Vec<Connection>>,
    /// Collections whose table is known to exist. Tables are never dropped, so once seen a table
    /// stays; this spares a `sqlite_master` look-up per operation.
    tables: Mutex<HashSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent even if a holder panicked (plain pushes and pops).
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn backend(e: impl std::fmt::Display) -> MetaError {
    MetaError::Backend(format!("sqlite: {e}"))
}

/// Maps a uniqueness violation to [`MetaError::Duplicate`], anything else to `Backend`.
fn map_err<'a>(
    collection: &'a str,
    id: Option<&'a str>,
) -> impl Fn(rusqlite::Error) -> MetaError + 'a {
    move |e| match &e {
        rusqlite::Error::SqliteFailure(f, msg) if f.code == ErrorCode::ConstraintViolation => {
            let primary = f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                || msg.as_deref().is_some_and(|m| m.ends_with(".id"));
            let detail = match id {
                Some(id) if primary => format!("_id {id:?} already exists"),
                _ => msg.clone().unwrap_or_else(|| f.to_string()),
            };
            MetaError::Duplicate {
                collection: collection.to_owned(),
                detail,
            }
        }
        _ => backend(e),
    }
}

fn parse_doc(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| backend(format!("stored document is not JSON: {e}")))
}

fn to_text(doc: &Document) -> Result<String> {
    serde_json::to_string(doc).map_err(|e| invalid(format!("cannot serialise document: {e}")))
}

fn open_conn(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(backend)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(backend)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(backend(format!(
            "{} cannot use WAL journaling (got {mode}); is it on a network file system?",
            path.display()
        )));
    }
    conn.execute_batch("PRAGMA synchronous=NORMAL")
        .map_err(backend)?;
    Ok(conn)
}

/// Runs `f` inside `BEGIN IMMEDIATE ... COMMIT`; an error rolls back.
fn write<T>(
    conn: &mut Connection,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
) -> Result<T> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    let out = f(&tx)?;
    tx.commit().map_err(backend)?;
    Ok(out)
}

impl Inner {
    fn checkout(&self) -> Result<Connection> {
        let reused = lock(&self.idle).pop();
        match reused {
            Some(conn) => Ok(conn),
            None => open_conn(&self.path),
        }
    }

    fn checkin(&self, conn: Connection) {
        // A connection left inside a transaction (should not happen) is dropped, not reused.
        if conn.is_autocommit() {
            let mut idle = lock(&self.idle);
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }

    /// Whether the collection's table exists, without creating it.
    fn has_table(&self, conn: &Connection, collection: &str) -> Result<bool> {
        if lock(&self.tables).contains(collection) {
            return Ok(true);
        }
        let found = conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [sql::table_name(collection)],
                |_| Ok(()),
            )
            .optional()
            .map_err(backend)?
            .is_some();
        if found {
            lock(&self.tables).insert(collection.to_owned());
        }
        Ok(found)
    }

    /// Creates the collection's table if needed (its own small, idempotent transaction).
    fn create_table(&self, conn: &Connection, collection: &str) -> Result<()> {
        if lock(&self.tables).contains(collection) {
            return Ok(());
        }
        conn.execute_batch(&sql::create_table(collection))
            .map_err(backend)?;
        lock(&self.tables).insert(collection.to_owned());
        Ok(())
    }
}

impl SqliteStore {
    /// Opens (creating if needed, with parent directories) the database file at `path`.
    ///
    /// `:memory:` and URI file names are refused: every pooled connection must reach the same
    /// database, which only a real file guarantees.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = path.to_string_lossy();
        if text.is_empty() || text == ":memory:" || text.starts_with("file:") {
            return Err(invalid(format!(
                "embedded store path must be a file path, got {text:?}"
            )));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| backend(format!("cannot create {}: {e}", parent.display())))?;
        }
        let conn = open_conn(path)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                active: Arc::new(Semaphore::new(MAX_ACTIVE)),
                idle: Mutex::new(vec![conn]),
                tables: Mutex::new(HashSet::new()),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs blocking SQLite work on the blocking pool with a pooled connection.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner, &mut Connection) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let permit = Arc::clone(&inner.active)
            .acquire_owned()
            .await
            .map_err(|e| backend(format!("store is shut down: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = inner.checkout()?;
            let out = f(&inner, &mut conn);
            inner.checkin(conn);
            out
        })
        .await
        .map_err(|e| backend(format!("worker task failed: {e}")))?
    }
}

/// Reads the document `id` inside a write transaction.
fn read_in_tx(tx: &rusqlite::Transaction<'_>, sql: &sql::Sql) -> Result<Option<Document>> {
    let text: Option<String> = tx
        .query_row(&sql.text, params_from_iter(sql.params.iter()), |r| r.get(0))
        .optional()
        .map_err(backend)?;
    match text.as_deref().map(parse_doc).transpose()? {
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(backend("stored document is not an object")),
        None => Ok(None),
    }
}

/// Read-modify-write of one document: the shared core of `update_fields` and `update_if`.
fn patch_where(
    inner: &Inner,
    conn: &mut Connection,
    collection: &str,
    id: &str,
    expected: &Filter,
    patch: &Document,
) -> Result<bool> {
    if !inner.has_table(conn, collection)? {
        return Ok(false);
    }
    let select = sql::get_if(collection, id, expected);
    let update = format!(
        "UPDATE {} SET doc = ?2 WHERE id = ?1",
        sql::table(collection)
    );
    write(conn, |tx| {
        let Some(mut doc) = read_in_tx(tx, &select)? else {
            return Ok(false);
        };
        if !patch.is_empty() {
            apply_patch(&mut doc, patch);
            tx.execute(&update, (id, to_text(&doc)?))
                .map_err(map_err(collection, None))?;
        }
        Ok(true)
    })
}

#[async_trait]
impl MetaStore for SqliteStore {
    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        self.run(|_, conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(backend))
            .await
    }

    async fn insert(&self, collection: &str, doc: Value) -> Result<String> {
        validate_collection(collection)?;
        let (id, doc) = prepare_insert(doc)?;
        let text = to_text(&doc)?;
        let coll = collection.to_owned();
        self.run(move |inner, conn| {
            inner.create_table(conn, &coll)?;
            let sql = format!(
                "INSERT INTO {} (id, doc) VALUES (?1, ?2)",
                sql::table(&coll)
            );
            write(conn, |tx| {
                tx.execute(&sql, (&id, &text))
                    .map_err(map_err(&coll, Some(&id)))
            })?;
            Ok(id)
        })
        .await
    }

    async fn get(&self, collection: &str, id: &str) -> Result<Option<Value>> {
        validate_collection(collection)?;
        validate_id(id)?;
        let (coll, id) = (collection.to_owned(), id.to_owned());
        self.run(move |inner, conn| {
            if !inner.has_table(conn, &coll)? {
                return Ok(None);
            }
            let sql = format!("SELECT doc FROM {} WHERE id = ?1", sql::table(&coll));
            let text: Option<String> = conn
                .query_row(&sql, [&id], |r| r.get(0))
                .optional()
                .map_err(backend)?;
            text.as_deref().map(parse_doc).transpose()
        })
        .await
    }

    async fn replace(&self, collection: &str, id: &str, doc: Value) -> Result<bool> {
        validate_collection(collection)?;
        let doc = prepare_replacement(id, doc)?;
        let text = to_text(&doc)?;
        let (coll, id) = (collection.to_owned(), id.to_owned());
        self.run(move |inner, conn| {
            if !inner.has_table(conn, &coll)? {
                return Ok(false);
            }
            let sql = format!("UPDATE {} SET doc = ?2 WHERE id = ?1", sql::table(&coll));
            let n = write(conn, |tx| {
                tx.execute(&sql, (&id, &text)).map_err(map_err(&coll, None))
            })?;
            Ok(n > 0)
        })
        .await
    }

    async fn upsert(&self, collection: &str, id: &str, doc: Value) -> Result<bool> {
        validate_collection(collection)?;
        let doc = prepare_replacement(id, doc)?;
        let text = to_text(&doc)?;
        let (coll, id) = (collection.to_owned(), id.to_owned());
        self.run(move |inner, conn| {
            inner.create_table(conn, &coll)?;
            let table = sql::table(&coll);
            write(conn, |tx| {
                let exists = tx
                    .query_row(
                        &format!("SELECT 1 FROM {table} WHERE id = ?1"),
                        [&id],
                        |_| Ok(()),
                    )
                    .optional()
                    .map_err(backend)?
                    .is_some();
                let sql = if exists {
                    format!("UPDATE {table} SET doc = ?2 WHERE id = ?1")
                } else {
                    format!("INSERT INTO {table} (id, doc) VALUES (?1, ?2)")
                };
                tx.execute(&sql, (&id, &text))
                    .map_err(map_err(&coll, Some(&id)))?;
                Ok(!exists)
            })
        })
        .await
    }

    async fn update_fields(&self, collection: &str, id: &str, patch: Value) -> Result<bool> {
        validate_collection(collection)?;
        let patch = prepare_patch(id, patch)?;
        let (coll, id) = (collection.to_owned(), id.to_owned());
        self.run(move |inner, conn| patch_where(inner, conn, &coll, &id, &Filter::new(), &patch))
            .await
    }

    async fn update_if(
        &self,
        collection: &str,
        id: &str,
        expected: &Filter,
        patch: Value,
    ) -> Result<bool> {
        validate_collection(collection)?;
        expected.validate()?;
        let patch = prepare_patch(id, patch)?;
        let (coll, id, expected) = (collection.to_owned(), id.to_owned(), expected.clone());
        self.run(move |inner, conn| patch_where(inner, conn, &coll, &id, &expected, &patch))
            .await
    }

    async fn delete(&self, collection: &str, id: &str) -> Result<bool> {
        validate_collection(collection)?;
        validate_id(id)?;
        let (coll, id) = (collection.to_owned(), id.to_owned());
        self.run(move |inner, conn| {
            if !inner.has_table(conn, &coll)? {
                return Ok(false);
            }
            let sql = format!("DELETE FROM {} WHERE id = ?1", sql::table(&coll));
            let n = write(conn, |tx| tx.execute(&sql, [&id]).map_err(backend))?;
            Ok(n > 0)
        })
        .await
    }

    async fn find(&self, collection: &str, query: &Query) -> Result<Vec<Value>> {
        validate_collection(collection)?;
        query.validate()?;
        if query.limit == Some(0) {
            return Ok(Vec::new());
        }
        let coll = collection.to_owned();
        let sql = sql::find(&coll, query);
        self.run(move |inner, conn| {
            if !inner.has_table(conn, &coll)? {
                return Ok(Vec::new());
            }
            let mut stmt = conn.prepare(&sql.text).map_err(backend)?;
            let rows = stmt
                .query_map(params_from_iter(sql.params.iter()), |r| {
                    r.get::<_, String>(0)
                })
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(|t| parse_doc(&t)))
                .collect()
        })
        .await
    }

    async fn count(&self, collection: &str, filter: &Filter) -> Result<u64> {
        validate_collection(collection)?;
        filter.validate()?;
        let coll = collection.to_owned();
        let sql = sql::count(&coll, filter);
        self.run(move |inner, conn| {
            if !inner.has_table(conn, &coll)? {
                return Ok(0);
            }
            let n: i64 = conn
                .query_row(&sql.text, params_from_iter(sql.params.iter()), |r| r.get(0))
                .map_err(backend)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn ensure_index(&self, collection: &str, field: &str, unique: bool) -> Result<()> {
        validate_collection(collection)?;
        validate_field(field)?;
        if field == "_id" {
            return Ok(());
        }
        let coll = collection.to_owned();
        let ddl = sql::create_index(collection, field, unique);
        self.run(move |inner, conn| {
            inner.create_table(conn, &coll)?;
            write(conn, |tx| {
                tx.execute_batch(&ddl).map_err(map_err(&coll, None))
            })
        })
        .await
    }
}
