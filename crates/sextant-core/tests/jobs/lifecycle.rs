//! One manager: run, progress, concurrency limit, cancellation, failures, listing, validation.

use super::support::*;
use serde_json::json;
use sextant_core::common::PageRequest;
use sextant_core::jobs::{JobError, JobFilter, JobManager, JobStatus};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::Semaphore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_runs_to_success_with_ordered_progress_events() {
    let dir = tempfile::tempdir().expect("tmp");
    let handlers = vec![job("echo", false, Behaviour::Echo)];
    let mgr = JobManager::new(
        store(&dir.path().join("m.db")).await,
        handlers,
        config("n", 2),
    );
    let rec = mgr
        .submit("echo", json!({"x": 1}), "alice")
        .await
        .expect("submit");
    assert_eq!(rec.status, JobStatus::Queued);
    assert_eq!((rec.owner.as_str(), rec.attempts), ("alice", 0));

    // Subscribed before the pool starts, so every event of the run is seen.
    let mut sub = mgr.subscribe(&rec.id).await.expect("subscribe");
    assert_eq!(sub.snapshot.status, JobStatus::Queued);
    mgr.start().await.expect("start");
    let mut events = Vec::new();
    let collect = async {
        while let Ok(e) = sub.events.recv().await {
            events.push(e);
        }
    };
    tokio::time::timeout(HANG_GUARD, collect)
        .await
        .expect("stream ends");

    let fractions: Vec<f64> = events.iter().map(|e| e.progress.fraction).collect();
    assert_eq!(
        fractions,
        vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.0],
        "{events:?}"
    );
    assert_eq!(events[0].status, JobStatus::Running);
    assert_eq!(events[2].progress.message, "step 2");
    let last = events.last().expect("terminal event");
    assert_eq!(last.status, JobStatus::Succeeded);
    assert_eq!(last.result, Some(json!({"echo": {"x": 1}})));

    let done = mgr.get(&rec.id).await.expect("get");
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(done.result, Some(json!({"echo": {"x": 1}})));
    assert_eq!(done.progress.fraction, 1.0);
    assert_eq!(done.attempts, 1);
    assert_eq!(done.worker.as_deref(), Some(mgr.instance_id()));
    assert!(done.started_at.is_some() && done.finished_at >= done.started_at);

    // A finished job's subscription holds its final state and closes at once.
    let mut late = mgr.subscribe(&rec.id).await.expect("subscribe late");
    assert_eq!(late.snapshot.status, JobStatus::Succeeded);
    assert!(late.events.recv().await.is_err());
    mgr.shutdown(HANG_GUARD).await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limit_is_respected() {
    let dir = tempfile::tempdir().expect("tmp");
    let gate = Arc::new(Semaphore::new(0));
    let gauge = Arc::new(Gauge::default());
    let handlers = vec![job(
        "gate",
        false,
        Behaviour::Gate(gate.clone(), gauge.clone()),
    )];
    let mgr = JobManager::new(
        store(&dir.path().join("m.db")).await,
        handlers,
        config("n", 2),
    );
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(mgr.submit("gate", json!({}), "o").await.expect("submit").id);
    }
    mgr.start().await.expect("start");
    // Let the jobs through one at a time, each time once two are inside.
    for _ in 0..4 {
        until(|| gauge.current.load(Ordering::SeqCst) == 2).await;
        gate.add_permits(1);
    }
    gate.add_permits(1);
    for id in &ids {
        assert_eq!(finished(&mgr, id).await.status, JobStatus::Succeeded);
    }
    assert_eq!(gauge.max.load(Ordering::SeqCst), 2);
    mgr.shutdown(HANG_GUARD).await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_queued_running_and_finished() {
    let dir = tempfile::tempdir().expect("tmp");
    let handlers = vec![
        job("block", false, Behaviour::Block),
        job("echo", false, Behaviour::Echo),
    ];
    let mgr = JobManager::new(
        store(&dir.path().join("m.db")).await,
        handlers,
        config("n", 1),
    );

    // Queued (the pool is not started): cancelled at once.
    let queued = mgr.submit("block", json!({}), "o").await.expect("submit");
    let c = mgr.cancel(&queued.id).await.expect("cancel queued");
    assert_eq!(c.status, JobStatus::Cancelled);
    assert!(c.cancel_requested && c.finished_at.is_some());

    // Running: the handler sees the token and stops.
    let running = mgr.submit("block", json!({}), "o").await.expect("submit");
    mgr.start().await.expect("start");
    wait_for(&mgr, &running.id, |r| r.progress.fraction > 0.0).await;
    let c = mgr.cancel(&running.id).await.expect("cancel running");
    assert!(c.cancel_requested);
    let done = finished(&mgr, &running.id).await;
    assert_eq!(done.status, JobStatus::Cancelled);

    // Finished: typed refusals.
    let ok = mgr.submit("echo", json!({}), "o").await.expect("submit");
    finished(&mgr, &ok.id).await;
    match mgr.cancel(&ok.id).await {
        Err(JobError::NotCancellable { status }) => assert_eq!(status, JobStatus::Succeeded),
        other => panic!("expected NotCancellable, got {other:?}"),
    }
    assert!(matches!(
        mgr.cancel(&queued.id).await,
        Err(JobError::NotCancellable {
            status: JobStatus::Cancelled
        })
    ));
    assert!(matches!(
        mgr.cancel("no-such-job").await,
        Err(JobError::NotFound(_))
    ));
    assert!(matches!(
        mgr.get("../bad id").await,
        Err(JobError::NotFound(_))
    ));
    mgr.shutdown(HANG_GUARD).await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_and_panicking_handlers_fail_the_job_not_the_worker() {
    let dir = tempfile::tempdir().expect("tmp");
    let handlers = vec![
        job("fail", false, Behaviour::Fail),
        job("panic", false, Behaviour::Panic),
        job("echo", false, Behaviour::Echo),
    ];
    // One slot: the echo job only runs if the panicking job gave its slot back.
    let mgr = JobManager::new(
        store(&dir.path().join("m.db")).await,
        handlers,
        config("n", 1),
    );
    mgr.start().await.expect("start");
    let f = mgr.submit("fail", json!({}), "o").await.expect("submit");
    let p = mgr.submit("panic", json!({}), "o").await.expect("submit");
    let e = mgr.submit("echo", json!({}), "o").await.expect("submit");

    let f = finished(&mgr, &f.id).await;
    assert_eq!(f.status, JobStatus::Failed);
    assert_eq!(f.error.as_deref(), Some("boom: bad input"));
    let p = finished(&mgr, &p.id).await;
    assert_eq!(p.status, JobStatus::Failed);
    assert!(
        p.error
            .as_deref()
            .is_some_and(|m| m.contains("panicked: kaboom")),
        "{p:?}"
    );
    assert_eq!(finished(&mgr, &e.id).await.status, JobStatus::Succeeded);
    mgr.shutdown(HANG_GUARD).await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_validates_kind_params_and_owner() {
    let dir = tempfile::tempdir().expect("tmp");
    let handlers = vec![job("echo", true, Behaviour::Echo)];
    let mgr = JobManager::new(
        store(&dir.path().join("m.db")).await,
        handlers,
        config("n", 1),
    );
    assert!(matches!(
        mgr.submit("nope", json!({}), "o").await,
        Err(JobError::UnknownKind(k)) if k == "nope"
    ));
    assert!(matches!(
        mgr.submit("echo", json!([1]), "o").await,
        Err(JobError::InvalidParams(_))
    ));
    assert!(matches!(
        mgr.submit("echo", json!({}), "  ").await,
        Err(JobError::Invalid(f)) if f.field == "owner"
    ));
    let r = mgr.submit("echo", json!({}), "o").await.expect("submit");
    assert!(r.resumable, "the handler's flag is recorded");
    assert_eq!(mgr.kinds(), vec!["echo"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_and_pages_newest_first() {
    let dir = tempfile::tempdir().expect("tmp");
    let handlers = vec![
        job("a", false, Behaviour::Echo),
        job("b", false, Behaviour::Echo),
    ];
    let mgr = JobManager::new(
        store(&dir.path().join("m.db")).await,
        handlers,
        config("n", 1),
    );
    let mut all = Vec::new();
    for i in 0..7 {
        let (kind, owner) = (
            if i % 2 == 0 { "a" } else { "b" },
            if i < 5 { "alice" } else { "bob" },
        );
        all.push(
            mgr.submit(kind, json!({ "i": i }), owner)
                .await
                .expect("submit"),
        );
    }
    mgr.cancel(&all[1].id).await.expect("cancel");

    let pages = |filter: JobFilter| {
        let mgr = mgr.clone();
        async move {
            let (mut ids, mut cursor) = (Vec::new(), None);
            loop {
                let page = PageRequest {
                    cursor,
                    limit: Some(2),
                };
                let p = mgr.list(&filter, &page).await.expect("list");
                assert!(p.items.len() <= 2);
                ids.extend(p.items.into_iter().map(|r| r.id));
                match p.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => return ids,
                }
            }
        }
    };
    let newest_first = |pred: &dyn Fn(usize) -> bool| -> Vec<String> {
        (0..7)
            .rev()
            .filter(|&i| pred(i))
            .map(|i| all[i].id.clone())
            .collect()
    };
    assert_eq!(pages(JobFilter::default()).await, newest_first(&|_| true));
    let alice = JobFilter {
        owner: Some("alice".into()),
        ..JobFilter::default()
    };
    assert_eq!(pages(alice).await, newest_first(&|i| i < 5));
    let kind_b = JobFilter {
        kind: Some("b".into()),
        ..JobFilter::default()
    };
    assert_eq!(pages(kind_b).await, newest_first(&|i| i % 2 == 1));
    let queued = JobFilter {
        status: Some(JobStatus::Queued),
        ..JobFilter::default()
    };
    assert_eq!(pages(queued).await, newest_first(&|i| i != 1));
    let cancelled = JobFilter {
        status: Some(JobStatus::Cancelled),
        ..JobFilter::default()
    };
    assert_eq!(pages(cancelled).await, vec![all[1].id.clone()]);

    let bad = PageRequest {
        cursor: Some("zz".into()),
        limit: Some(2),
    };
    assert!(matches!(
        mgr.list(&JobFilter::default(), &bad).await,
        Err(JobError::Invalid(f)) if f.field == "cursor"
    ));
    let zero = PageRequest {
        cursor: None,
        limit: Some(0),
    };
    assert!(matches!(
        mgr.list(&JobFilter::default(), &zero).await,
        Err(JobError::Invalid(f)) if f.field == "limit"
    ));
}

/// One owner cannot fill the queue (a quota on open jobs) nor hold every worker: with two
/// workers and one running job per owner, the second worker takes another owner's job even
/// though the first owner's jobs are older.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_owner_quota_and_fair_claims() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = config("n", 2);
    cfg.max_open_per_owner = 3;
    cfg.max_running_per_owner = 1;
    let mgr = JobManager::new(
        store(&dir.path().join("m.db")).await,
        vec![job("block", false, Behaviour::Block)],
        cfg,
    );
    let mut alice = Vec::new();
    for _ in 0..3 {
        alice.push(
            mgr.submit("block", json!({}), "alice")
                .await
                .expect("submit")
                .id,
        );
    }
    match mgr.submit("block", json!({}), "alice").await {
        Err(JobError::Quota { open, limit, .. }) => assert_eq!((open, limit), (3, 3)),
        other => panic!("expected a quota error, got {other:?}"),
    }
    let bob = mgr.submit("block", json!({}), "bob").await.expect("bob").id;
    mgr.start().await.expect("start");
    wait_for(&mgr, &alice[0], |r| r.status == JobStatus::Running).await;
    wait_for(&mgr, &bob, |r| r.status == JobStatus::Running).await;
    for id in &alice[1..] {
        assert_eq!(mgr.get(id).await.expect("get").status, JobStatus::Queued);
    }
    // Finishing alice's running job lets her next one start.
    mgr.cancel(&alice[0]).await.expect("cancel");
    wait_for(&mgr, &alice[1], |r| r.status == JobStatus::Running).await;
    mgr.shutdown(std::time::Duration::ZERO)
        .await
        .expect("shutdown");
}
