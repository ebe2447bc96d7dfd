//! Concurrent use from many tasks: no lost writes, and compare-and-swap with one winner.

use std::collections::HashSet;
use std::sync::Arc;

use futures::future::join_all;
use serde_json::json;
use tokio::task::JoinHandle;

use super::ok;
use sextant_meta::{Filter, MetaError, MetaStore, Query};

async fn join<T>(handles: Vec<JoinHandle<T>>) -> Vec<T> {
    join_all(handles)
        .await
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("task failed: {e}")))
        .collect()
}

/// 8 tasks × 25 inserts (half with generated ids) all land, with distinct ids.
pub async fn concurrent_inserts_all_land(store: Arc<dyn MetaStore>) {
    let c = "cf_conc_insert";
    let handles = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..25 {
                    let doc = if i % 2 == 0 {
                        json!({"task": t, "i": i})
                    } else {
                        json!({"_id": format!("t{t}-{i}"), "task": t, "i": i})
                    };
                    ids.push(ok(store.insert(c, doc).await, "concurrent insert"));
                }
                ids
            })
        })
        .collect();
    let ids: Vec<String> = join(handles).await.into_iter().flatten().collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 200);
    assert_eq!(ok(store.count(c, &Filter::new()).await, "count"), 200);
    for t in 0..8 {
        assert_eq!(
            ok(store.count(c, &Filter::new().eq("task", t)).await, "count"),
            25
        );
    }
}

/// 8 tasks each set their own field of one document 10 times; no update is lost.
pub async fn concurrent_field_updates_lose_nothing(store: Arc<dyn MetaStore>) {
    let c = "cf_conc_fields";
    ok(
        store.insert(c, json!({"_id": "doc", "base": true})).await,
        "insert",
    );
    let handles = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..10 {
                    let patch = json!({ format!("f{t}"): i });
                    assert!(ok(store.update_fields(c, "doc", patch).await, "update"));
                }
            })
        })
        .collect();
    join(handles).await;
    let mut expected = json!({"_id": "doc", "base": true});
    for t in 0..8 {
        expected[format!("f{t}")] = json!(9);
    }
    assert_eq!(ok(store.get(c, "doc").await, "get"), Some(expected));
}

/// 12 tasks race to claim each of 10 queued jobs with `update_if`; exactly one wins each, and
/// the stored claimant is the winner.
pub async fn update_if_race_has_one_winner(store: Arc<dyn MetaStore>) {
    let c = "cf_conc_claim";
    for j in 0..10 {
        ok(
            store
                .insert(c, json!({"_id": format!("job{j}"), "status": "queued"}))
                .await,
            "insert",
        );
    }
    for j in 0..10 {
        let id = format!("job{j}");
        let handles = (0..12)
            .map(|w| {
                let (store, id) = (Arc::clone(&store), id.clone());
                tokio::spawn(async move {
                    let queued = Filter::new().eq("status", "queued");
                    let patch = json!({"status": "running", "worker": w});
                    (
                        w,
                        ok(store.update_if(c, &id, &queued, patch).await, "claim"),
                    )
                })
            })
            .collect();
        let winners: Vec<i32> = join(handles)
            .await
            .into_iter()
            .filter_map(|(w, won)| won.then_some(w))
            .collect();
        assert_eq!(winners.len(), 1, "job {id}: winners {winners:?}");
        let doc = ok(store.get(c, &id).await, "get").expect("job exists");
        assert_eq!(doc["worker"], json!(winners[0]));
        assert_eq!(doc["status"], json!("running"));
    }
}

/// 6 tasks × 10 increments of one counter through read + `update_if(n == old)` retries end at
/// exactly 60: compare-and-swap never lets two increments from the same value both succeed.
pub async fn compare_and_swap_counter(store: Arc<dyn MetaStore>) {
    let c = "cf_conc_cas";
    ok(
        store.insert(c, json!({"_id": "counter", "n": 0})).await,
        "insert",
    );
    let handles = (0..6)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut conflicts = 0u32;
                for _ in 0..10 {
                    loop {
                        let doc = ok(store.get(c, "counter").await, "get").expect("counter");
                        let n = doc["n"].as_i64().expect("n is an integer");
                        let expected = Filter::new().eq("n", n);
                        if ok(
                            store
                                .update_if(c, "counter", &expected, json!({"n": n + 1}))
                                .await,
                            "cas",
                        ) {
                            break;
                        }
                        conflicts += 1;
                        assert!(conflicts < 10_000, "livelock");
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    join(handles).await;
    let doc = ok(store.get(c, "counter").await, "get").expect("counter");
    assert_eq!(doc["n"], json!(60));
}

/// 10 concurrent upserts of one new id: no error, exactly one reports creating it, and the final
/// document is one of the written ones.
pub async fn concurrent_upserts_of_one_id(store: Arc<dyn MetaStore>) {
    let c = "cf_conc_upsert";
    let handles = (0..10)
        .map(|t| {
            let store = Arc::clone(&store);
            tokio::spawn(
                async move { ok(store.upsert(c, "shared", json!({"t": t})).await, "upsert") },
            )
        })
        .collect();
    let created = join(handles).await.into_iter().filter(|c| *c).count();
    assert_eq!(created, 1);
    let doc = ok(store.get(c, "shared").await, "get").expect("shared");
    let t = doc["t"].as_i64().expect("t");
    assert!((0..10).contains(&t));
    assert_eq!(ok(store.count(c, &Filter::new()).await, "count"), 1);
}

/// A job queue: 5 workers repeatedly take the highest-priority queued job and claim it with
/// `update_if`. Every job is claimed exactly once.
pub async fn job_queue_claims_are_exclusive(store: Arc<dyn MetaStore>) {
    let c = "cf_conc_queue";
    for j in 0..30 {
        ok(
            store
                .insert(
                    c,
                    json!({"_id": format!("q{j:02}"), "status": "queued", "priority": j % 4}),
                )
                .await,
            "insert",
        );
    }
    let handles = (0..5)
        .map(|w| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let queued = Filter::new().eq("status", "queued");
                let next = Query::new().filter(queued.clone()).sort_desc("priority");
                let mut mine = Vec::new();
                while let Some(job) = ok(store.find_one(c, &next).await, "find_one") {
                    let id = job["_id"].as_str().expect("id").to_owned();
                    let patch = json!({"status": "running", "worker": w});
                    if ok(store.update_if(c, &id, &queued, patch).await, "claim") {
                        mine.push(id);
                    }
                }
                mine
            })
        })
        .collect();
    let claims: Vec<String> = join(handles).await.into_iter().flatten().collect();
    assert_eq!(claims.len(), 30, "claims: {claims:?}");
    assert_eq!(claims.iter().collect::<HashSet<_>>().len(), 30);
    assert_eq!(
        ok(
            store.count(c, &Filter::new().eq("status", "running")).await,
            "count"
        ),
        30
    );
}

/// 10 tasks insert the same value of a uniquely indexed field at once: exactly one succeeds,
/// every other gets `Duplicate`.
pub async fn concurrent_unique_inserts_have_one_winner(store: Arc<dyn MetaStore>) {
    let c = "cf_conc_unique";
    ok(
        store.ensure_index(c, "key_hash", true).await,
        "unique index",
    );
    for round in 0..5 {
        let handles = (0..10)
            .map(|t| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    store
                        .insert(c, json!({"key_hash": format!("h{round}"), "t": t}))
                        .await
                })
            })
            .collect();
        let results = join(handles).await;
        let wins = results.iter().filter(|r| r.is_ok()).count();
        let dups = results
            .iter()
            .filter(|r| matches!(r, Err(MetaError::Duplicate { .. })))
            .count();
        assert_eq!((wins, dups), (1, 9), "round {round}: {results:?}");
    }
    assert_eq!(ok(store.count(c, &Filter::new()).await, "count"), 5);
}
