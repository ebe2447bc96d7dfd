//! The conformance suite against MongoDB (or SecantusDB, a MongoDB-wire-compatible server).
//!
//! Needs `SEXTANT_TEST_MONGO_URI`, e.g. from `eval "$(scripts/start-mongo-test-server)"`.
//! Without it every test prints that it skipped and passes — unless `SEXTANT_REQUIRE_MONGO=1`,
//! which turns the missing server into a failure (for CI, where skipping would hide a gap).

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use sextant_meta::{open_store, MetaConfig, MetaError, MongoStore};
use sextant_meta_conformance::{self as conformance, Fixture};

const URI_VAR: &str = "SEXTANT_TEST_MONGO_URI";
const REQUIRE_VAR: &str = "SEXTANT_REQUIRE_MONGO";

/// The server URI, or `None` (skip) when unset and not required.
fn mongo_uri() -> Option<String> {
    match std::env::var(URI_VAR) {
        Ok(uri) if !uri.trim().is_empty() => Some(uri),
        _ if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") => panic!(
            "{REQUIRE_VAR}=1 but {URI_VAR} is not set: start a server with \
             `eval \"$(scripts/start-mongo-test-server)\"`"
        ),
        _ => {
            eprintln!("skipped: {URI_VAR} is not set (MongoDB conformance tests not run)");
            None
        }
    }
}

/// One database per test run, so runs never see each other's data.
fn database() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("sextant_test_{}_{nanos}", std::process::id())
    })
}

/// A client per test: each `#[tokio::test]` has its own runtime, and a driver client must not
/// outlive the runtime it was created on.
async fn fixture() -> Option<Fixture> {
    let uri = mongo_uri()?;
    let store = open_store(&MetaConfig::mongo(uri, database()))
        .await
        .unwrap_or_else(|e| panic!("cannot open MongoDB store: {e}"));
    Some(Fixture::new(store))
}

sextant_meta_conformance::meta_conformance_tests!(fixture());

/// The whole suite in sequence against one store, in a database of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_all_on_one_store() {
    let Some(uri) = mongo_uri() else { return };
    let db = format!("{}_all", database());
    let store = open_store(&MetaConfig::mongo(uri, db)).await.expect("open");
    assert_eq!(store.backend_name(), "mongodb");
    conformance::run_all(store).await;
}

/// An unreachable server fails fast at open with a backend error (runs without a server).
#[tokio::test]
async fn unreachable_server_is_a_backend_error() {
    let uri = "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300&connectTimeoutMS=300";
    match MongoStore::connect(uri, "x").await {
        Err(MetaError::Backend(msg)) => assert!(msg.starts_with("mongodb:"), "{msg}"),
        other => panic!("expected Backend error, got {other:?}"),
    }
}

/// Bad database names are refused before connecting (runs without a server).
#[tokio::test]
async fn bad_database_names_are_invalid() {
    for db in ["", "a.b", "a/b", "a b", "x$"] {
        let r =
            MongoStore::connect("mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300", db).await;
        assert!(matches!(r, Err(MetaError::Invalid(_))), "{db:?}: {r:?}");
    }
}
