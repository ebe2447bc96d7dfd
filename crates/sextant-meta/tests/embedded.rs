//! The conformance suite and multi-connection / multi-process tests for the embedded backend.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use sextant_meta::{open_store, Filter, MetaConfig, MetaError, MetaStore, SqliteStore};
use sextant_meta_conformance::{self as conformance, Fixture};

/// A fresh database file in its own temporary directory per test.
async fn fixture() -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(&MetaConfig::embedded(dir.path().join("meta.db")))
        .await
        .expect("open embedded store");
    Some(Fixture::with_guard(store, dir))
}

sextant_meta_conformance::meta_conformance_tests!(fixture());

/// The whole suite in sequence against one store, as `run_all` offers it to other crates.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_all_on_one_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(&MetaConfig::embedded(dir.path().join("all.db")))
        .await
        .expect("open");
    conformance::run_all(store).await;
    assert!(conformance::case_names().len() >= 30);
}

#[tokio::test]
async fn open_creates_parent_dirs_and_uses_wal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/deeper/meta.db");
    let store = open_store(&MetaConfig::embedded(&path))
        .await
        .expect("open");
    store
        .insert("jobs", json!({"_id": "j"}))
        .await
        .expect("insert");
    assert_eq!(store.backend_name(), "sqlite");
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn data_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("meta.db");
    {
        let store = SqliteStore::open(&path).expect("open");
        store
            .insert("models", json!({"_id": "m1", "auc": 0.71}))
            .await
            .expect("insert");
        store
            .ensure_index("models", "auc", true)
            .await
            .expect("index");
    }
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(
        store.get("models", "m1").await.expect("get"),
        Some(json!({"_id": "m1", "auc": 0.71}))
    );
    let dup = store.insert("models", json!({"auc": 0.71})).await;
    assert!(matches!(dup, Err(MetaError::Duplicate { .. })), "{dup:?}");
}

#[test]
fn memory_and_uri_paths_are_refused() {
    for p in [":memory:", "", "file:x.db?mode=memory"] {
        let r = SqliteStore::open(p);
        assert!(matches!(r, Err(MetaError::Invalid(_))), "{p:?}");
    }
}

#[tokio::test]
async fn corrupt_row_is_a_backend_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("meta.db");
    let store = SqliteStore::open(&path).expect("open");
    store
        .insert("notes", json!({"_id": "ok"}))
        .await
        .expect("insert");
    let raw = rusqlite::Connection::open(&path).expect("raw");
    raw.execute(
        "INSERT INTO c_notes (id, doc) VALUES ('bad', 'not json')",
        [],
    )
    .expect("raw insert");
    let got = store.get("notes", "bad").await;
    assert!(matches!(got, Err(MetaError::Backend(_))), "{got:?}");
    let all = store.find("notes", &Default::default()).await;
    assert!(matches!(all, Err(MetaError::Backend(_))), "{all:?}");
    assert!(store.get("notes", "ok").await.expect("good row").is_some());
}

// ---- several connections / processes on one file ----

const INSERTS: usize = 400;
const INCREMENTS: usize = 120;

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// One writer's workload: inserts stamped with a wall-clock time, and compare-and-swap
/// increments of a shared counter. Runs on its own runtime and its own connections.
fn writer(path: &Path, tag: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = SqliteStore::open(path).expect("open");
        for i in 0..INSERTS {
            let doc =
                json!({"_id": format!("{tag}-{i}"), "tag": tag, "at": now_nanos().to_string()});
            store.insert("events", doc).await.expect("insert");
            if i % 4 == 0 {
                increment(&store).await;
            }
        }
        for _ in 0..(INCREMENTS - INSERTS.div_ceil(4)) {
            increment(&store).await;
        }
    });
}

async fn increment(store: &SqliteStore) {
    loop {
        let doc = store
            .get("counters", "c")
            .await
            .expect("get")
            .expect("counter");
        let n = doc["n"].as_i64().expect("n");
        if store
            .update_if(
                "counters",
                "c",
                &Filter::new().eq("n", n),
                json!({"n": n + 1}),
            )
            .await
            .expect("cas")
        {
            return;
        }
    }
}

async fn prepare(path: &Path) -> SqliteStore {
    let store = SqliteStore::open(path).expect("open");
    store
        .insert("counters", json!({"_id": "c", "n": 0}))
        .await
        .expect("counter");
    store
}

/// Checks both writers' work landed and that their time spans overlapped (so the writes really
/// were concurrent, not one after the other).
async fn verify(store: &SqliteStore, tags: [&str; 2]) {
    let total = store.count("events", &Filter::new()).await.expect("count");
    assert_eq!(total as usize, 2 * INSERTS);
    let mut spans = Vec::new();
    for tag in tags {
        let docs = store
            .find("events", &Filter::new().eq("tag", tag).into())
            .await
            .expect("find");
        assert_eq!(docs.len(), INSERTS, "{tag}");
        let times: Vec<u128> = docs
            .iter()
            .map(|d| d["at"].as_str().and_then(|s| s.parse().ok()).expect("at"))
            .collect();
        let (lo, hi) = (times.iter().min().copied(), times.iter().max().copied());
        spans.push((lo.expect("min"), hi.expect("max")));
    }
    let overlap = spans[0].0 < spans[1].1 && spans[1].0 < spans[0].1;
    assert!(overlap, "writers did not overlap in time: {spans:?}");
    let counter = store
        .get("counters", "c")
        .await
        .expect("get")
        .expect("counter");
    assert_eq!(counter["n"], json!(2 * INCREMENTS));
}

/// Two stores (separate connection pools) in two OS threads write the same file at once.
#[tokio::test]
async fn two_connections_in_threads_write_one_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shared.db");
    let store = prepare(&path).await;
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let threads: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|tag| {
            let (path, barrier) = (path.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                writer(&path, tag);
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer thread panicked");
    }
    verify(&store, ["a", "b"]).await;
}

const CHILD_DB: &str = "SEXTANT_META_TEST_CHILD_DB";

/// A child process (this test binary re-run in "child" mode) and this process write the same
/// file at once — the server-plus-CLI situation.
#[test]
fn two_processes_write_one_file() {
    if let Ok(path) = std::env::var(CHILD_DB) {
        let path = PathBuf::from(path);
        std::fs::write(path.with_extension("ready"), b"").expect("ready file");
        let go = path.with_extension("go");
        let start = Instant::now();
        while !go.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "parent never said go"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        writer(&path, "child");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shared.db");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = rt.block_on(prepare(&path));
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "two_processes_write_one_file",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &path)
        // The child's own "test result" line must not be mistaken for this run's.
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn child");
    let start = Instant::now();
    while !path.with_extension("ready").exists() {
        if let Some(status) = child.try_wait().expect("poll child") {
            panic!("child exited early: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "child never got ready"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    std::fs::write(path.with_extension("go"), b"").expect("go file");
    writer(&path, "parent");
    let status = child.wait().expect("wait child");
    assert!(status.success(), "child failed: {status}");
    rt.block_on(verify(&store, ["parent", "child"]));
}
