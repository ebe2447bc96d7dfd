//! Several managers on one store file: crash recovery, stale leases, claim races, cancel across
//! processes, graceful shutdown.

use super::support::*;
use serde_json::json;
use sextant_core::jobs::{JobManager, JobStatus, INTERRUPTED};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Manager "A" on its own runtime, killed mid-job by dropping that runtime (its tasks vanish
/// without writing anything, as in a crash). Returns the ids of a non-resumable and a resumable
/// job it left running.
async fn crashed_worker(path: &std::path::Path, node: &str) -> (String, String) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let handlers = vec![
        job("fragile", false, Behaviour::Block),
        job("sturdy", true, Behaviour::Block),
    ];
    let a = JobManager::new(store(path).await, handlers, config(node, 2));
    let fragile = a
        .submit("fragile", json!({}), "o")
        .await
        .expect("submit")
        .id;
    let sturdy = a.submit("sturdy", json!({}), "o").await.expect("submit").id;
    let starter = a.clone();
    rt.spawn(async move { starter.start().await })
        .await
        .expect("join")
        .expect("start");
    for id in [&fragile, &sturdy] {
        wait_for(&a, id, |r| {
            r.status == JobStatus::Running && r.progress.fraction > 0.0
        })
        .await;
    }
    rt.shutdown_background();
    (fragile, sturdy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_fails_the_interrupted_job_and_resumes_the_resumable_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("m.db");
    let (fragile, sturdy) = crashed_worker(&path, "local").await;

    // The restarted process (same node name, new instance) settles its predecessor's jobs.
    let handlers = vec![
        job("fragile", false, Behaviour::Block),
        job("sturdy", true, Behaviour::Attempt),
    ];
    let b = JobManager::new(store(&path).await, handlers, config("local", 2));
    let report = b.recover().await.expect("recover");
    assert_eq!(report.failed, vec![fragile.clone()]);
    assert_eq!(report.requeued, vec![sturdy.clone()]);
    let f = b.get(&fragile).await.expect("get");
    assert_eq!(f.status, JobStatus::Failed);
    assert!(
        f.error
            .as_deref()
            .is_some_and(|e| e.starts_with(INTERRUPTED)),
        "{:?}",
        f.error
    );
    assert!(f.finished_at.is_some());
    let s = b.get(&sturdy).await.expect("get");
    assert_eq!((s.status, s.worker.as_deref()), (JobStatus::Queued, None));

    b.start().await.expect("start");
    let s = finished(&b, &sturdy).await;
    assert_eq!(s.status, JobStatus::Succeeded);
    assert_eq!(s.result, Some(json!({"attempt": 2})));
    assert_eq!(s.attempts, 2);
    assert_eq!(s.worker.as_deref(), Some(b.instance_id()));
    b.shutdown(HANG_GUARD).await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_nodes_wait_for_a_stale_lease_before_recovering() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("m.db");
    let (fragile, sturdy) = crashed_worker(&path, "node-a").await;
    let handlers = || {
        vec![
            job("fragile", false, Behaviour::Block),
            job("sturdy", true, Behaviour::Attempt),
        ]
    };

    // Another node starting up must not take jobs whose lease may still be alive.
    let patient = JobManager::new(store(&path).await, handlers(), config("node-b", 1));
    assert!(patient.recover().await.expect("recover").is_empty());
    assert_eq!(
        patient.get(&fragile).await.expect("get").status,
        JobStatus::Running
    );

    // With a short lease, the periodic sweep of a running pool settles them once stale.
    let mut cfg = config("node-c", 1);
    cfg.stale_after = Duration::from_millis(300);
    let sweeper = JobManager::new(store(&path).await, handlers(), cfg);
    sweeper.start().await.expect("start");
    let f = finished(&sweeper, &fragile).await;
    assert_eq!(f.status, JobStatus::Failed);
    assert!(f
        .error
        .as_deref()
        .is_some_and(|e| e.starts_with(INTERRUPTED)));
    assert_eq!(f.crashes, 1);
    assert!(f.last_interruption.is_some());
    let s = finished(&sweeper, &sturdy).await;
    assert_eq!(s.status, JobStatus::Succeeded);
    assert_eq!(s.result, Some(json!({"attempt": 2})));
    sweeper.shutdown(HANG_GUARD).await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_never_run_the_same_job_twice() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("m.db");
    let counts = Arc::new(Mutex::new(HashMap::new()));
    let mut managers = Vec::new();
    for node in ["w1", "w2"] {
        // Each worker opens the file itself, as separate processes would.
        let handlers = vec![job("count", false, Behaviour::Count(counts.clone()))];
        managers.push(JobManager::new(
            store(&path).await,
            handlers,
            config(node, 3),
        ));
    }
    for m in &managers {
        m.start().await.expect("start");
    }
    let mut ids = Vec::new();
    for i in 0..40 {
        let m = &managers[i % 2];
        ids.push(
            m.submit("count", json!({ "i": i }), "o")
                .await
                .expect("submit")
                .id,
        );
    }
    for id in &ids {
        let r = finished(&managers[0], id).await;
        assert_eq!((r.status, r.attempts), (JobStatus::Succeeded, 1));
    }
    let counts = counts.lock().expect("counts").clone();
    assert_eq!(counts.len(), ids.len());
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    for m in &managers {
        m.shutdown(HANG_GUARD).await.expect("shutdown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_from_another_process_reaches_the_worker_by_heartbeat() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("m.db");
    let worker = JobManager::new(
        store(&path).await,
        vec![job("block", false, Behaviour::Block)],
        config("worker", 1),
    );
    worker.start().await.expect("start");
    let id = worker
        .submit("block", json!({}), "o")
        .await
        .expect("submit")
        .id;
    wait_for(&worker, &id, |r| r.progress.fraction > 0.0).await;

    // An API process that runs no jobs itself.
    let api = JobManager::new(
        store(&path).await,
        vec![job("block", false, Behaviour::Block)],
        config("api", 1),
    );
    let c = api.cancel(&id).await.expect("cancel");
    assert_eq!((c.status, c.cancel_requested), (JobStatus::Running, true));
    assert_eq!(finished(&api, &id).await.status, JobStatus::Cancelled);
    worker.shutdown(HANG_GUARD).await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_settles_jobs_still_running_after_the_grace_period() {
    let dir = tempfile::tempdir().expect("tmp");
    let handlers = vec![
        job("fragile", false, Behaviour::Block),
        job("sturdy", true, Behaviour::Block),
    ];
    let mgr = JobManager::new(
        store(&dir.path().join("m.db")).await,
        handlers,
        config("n", 2),
    );
    mgr.start().await.expect("start");
    let fragile = mgr
        .submit("fragile", json!({}), "o")
        .await
        .expect("submit")
        .id;
    let sturdy = mgr
        .submit("sturdy", json!({}), "o")
        .await
        .expect("submit")
        .id;
    for id in [&fragile, &sturdy] {
        wait_for(&mgr, id, |r| r.progress.fraction > 0.0).await;
    }
    let report = mgr.shutdown(Duration::ZERO).await.expect("shutdown");
    assert_eq!(report.failed, vec![fragile.clone()]);
    assert_eq!(report.requeued, vec![sturdy.clone()]);
    let f = mgr.get(&fragile).await.expect("get");
    assert_eq!(
        (f.status, f.error.as_deref()),
        (JobStatus::Failed, Some(INTERRUPTED))
    );
    assert_eq!(
        mgr.get(&sturdy).await.expect("get").status,
        JobStatus::Queued
    );

    // Stopped for good: a new submission stays queued for the next process.
    let later = mgr.submit("sturdy", json!({}), "o").await.expect("submit");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        mgr.get(&later.id).await.expect("get").status,
        JobStatus::Queued
    );
}

/// A resumable job whose process stops while running it is re-queued once; when the process
/// running it stops again, the job may be what stops it (say, one that exhausts memory), so it
/// fails with the reason instead of taking the next restart down too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_keeps_stopping_its_process_is_not_rerun_blindly() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("m.db");
    let (_fragile, sturdy) = crashed_worker(&path, "local").await;
    let handlers = || {
        vec![
            job("fragile", false, Behaviour::Block),
            job("sturdy", true, Behaviour::Block),
        ]
    };
    // The second process re-queues it (one interruption so far), runs it, and dies too.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let b = JobManager::new(store(&path).await, handlers(), config("local", 2));
    let report = b.recover().await.expect("recover");
    assert_eq!(report.requeued, vec![sturdy.clone()]);
    let s = b.get(&sturdy).await.expect("get");
    assert_eq!((s.status, s.crashes), (JobStatus::Queued, 1));
    assert!(s
        .last_interruption
        .as_deref()
        .is_some_and(|r| r.contains("stopped")));
    let starter = b.clone();
    rt.spawn(async move { starter.start().await })
        .await
        .expect("join")
        .expect("start");
    wait_for(&b, &sturdy, |r| {
        r.status == JobStatus::Running && r.progress.fraction > 0.0
    })
    .await;
    rt.shutdown_background();

    // The third process does not run it again.
    let c = JobManager::new(store(&path).await, handlers(), config("local", 2));
    let report = c.recover().await.expect("recover");
    assert_eq!(report.failed, vec![sturdy.clone()]);
    let s = c.get(&sturdy).await.expect("get");
    assert_eq!((s.status, s.crashes, s.attempts), (JobStatus::Failed, 2, 2));
    let error = s.error.expect("error");
    assert!(
        error.starts_with(INTERRUPTED) && error.contains("2 interruptions"),
        "{error}"
    );
}
