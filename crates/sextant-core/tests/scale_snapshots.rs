//! Data snapshots for remote workers: what a worker loads from a snapshot is what the server
//! loads from its own cache (same bars, same snapshot hash, same held bars, same risk-free
//! series), the snapshot's name is a content hash, and a worker refuses one cut from another
//! cache schema.

use sextant_core::backtest::BacktestService;
use sextant_core::scale::snapshots::{Snapshots, MANIFESTS};
use sextant_core::scale::ScaleOut;
use sextant_test_support::{d, request, services, sym};
use std::sync::Arc;

#[tokio::test]
async fn a_worker_loads_from_a_snapshot_what_the_server_loads_from_its_cache() {
    let s = services().await;
    let scale = ScaleOut::new(s.snapshots.clone(), s.cache.clone());
    let mut req = request("sma_cross", &["MSFT", "AAPL"]);
    req.from = Some(d("2005-01-01"));
    req.to = Some(d("2010-12-31"));
    let key = scale.snapshot_for(&req).await.expect("publish");
    assert_eq!(
        scale.snapshot_for(&req).await.expect("publish again"),
        key,
        "equal data, equal name"
    );
    let mut other = req.clone();
    other.symbols = vec![sym("IBM")];
    assert_ne!(scale.snapshot_for(&other).await.expect("publish"), key);

    // A worker: the same object store, its own directory, no access to the server's cache.
    let local = tempfile::tempdir().expect("tmp");
    let worker = Snapshots::new(s.objects.clone(), local.path().join("w1"));
    let cache = worker.open(&key).await.expect("open");
    let again = worker.open(&key).await.expect("open twice");
    assert!(Arc::ptr_eq(&cache, &again), "imported once, then shared");
    let there = BacktestService::load(cache.as_ref(), &req).expect("load on the worker");
    let here = BacktestService::load(s.cache.as_ref(), &req).expect("load on the server");
    assert_eq!(there.snapshot, here.snapshot);
    assert_eq!(there.market.ts(), here.market.ts());
    assert_eq!(there.excluded, here.excluded);
    assert_eq!(there.inputs, here.inputs);
    assert_eq!(there.risk_free, here.risk_free);
    // Other symbols are not in it.
    assert!(BacktestService::load(cache.as_ref(), &request("sma_cross", &["IBM"])).is_err());

    // A second worker process imports into its own file; a restart finds the file.
    let w2 = Snapshots::new(s.objects.clone(), local.path().join("w2"));
    w2.open(&key).await.expect("open");
    drop(w2);
    let w2 = Snapshots::new(s.objects.clone(), local.path().join("w2"));
    let reopened = w2.open(&key).await.expect("reopen");
    assert_eq!(
        BacktestService::load(reopened.as_ref(), &req)
            .expect("load")
            .snapshot,
        here.snapshot
    );
}

#[tokio::test]
async fn a_manifest_from_another_schema_or_unknown_is_refused() {
    let s = services().await;
    let local = tempfile::tempdir().expect("tmp");
    let worker = Snapshots::new(s.objects.clone(), local.path().to_path_buf());
    let missing = "0".repeat(64);
    assert!(worker.open(&missing).await.is_err());
    let scale = ScaleOut::new(s.snapshots.clone(), s.cache.clone());
    let key = scale
        .snapshot_for(&request("sma_cross", &["MSFT"]))
        .await
        .expect("publish");
    let mut manifest = worker.manifest(&key).await.expect("manifest");
    manifest.schema_version += 1;
    let forged = s
        .objects
        .put_hashed(
            MANIFESTS,
            "json",
            serde_json::to_vec(&manifest).expect("json"),
        )
        .await
        .expect("put");
    match worker.open(&forged).await {
        Ok(_) => panic!("a snapshot of another schema was opened"),
        Err(e) => assert!(e.to_string().contains("schema"), "{e}"),
    }
}
