//! The transport against a real NATS server with JetStream (started by `scripts/test`; set
//! `SEXTANT_TEST_NATS_URL` to run these elsewhere): publish with de-duplication, pull,
//! in-progress acknowledgements, redelivery after `ack_wait`, `nak` delays, `max_deliver`,
//! and the core cancel subject.

use sextant_queue::{JobMessage, Queue, QueueConfig};
use std::time::{Duration, Instant};

fn nats_url() -> Option<String> {
    match std::env::var("SEXTANT_TEST_NATS_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("SEXTANT_REQUIRE_NATS").as_deref() != Ok("1"),
                "SEXTANT_REQUIRE_NATS=1 but SEXTANT_TEST_NATS_URL is not set"
            );
            eprintln!("skipped: no NATS server (SEXTANT_TEST_NATS_URL)");
            None
        }
    }
}

/// A queue on its own stream and subjects, so tests never see each other's messages.
async fn queue(url: &str, ack_wait_ms: u64, max_deliver: i64) -> Queue {
    let tag = format!("t{}", uuid_like());
    let mut c = QueueConfig::new(url);
    c.prefix = tag.clone();
    c.stream = tag.to_ascii_uppercase();
    c.ack_wait = Duration::from_millis(ack_wait_ms);
    c.max_deliver = max_deliver;
    Queue::connect(c).await.expect("connect")
}

fn uuid_like() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}{:x}", t, std::process::id())
}

fn msg(id: &str) -> JobMessage {
    JobMessage {
        job_id: id.into(),
        kind: "work".into(),
    }
}

#[tokio::test]
async fn publish_pull_ack_and_dedupe() {
    let Some(url) = nats_url() else { return };
    let q = queue(&url, 5_000, 3).await;
    assert!(q.publish(&msg("j1"), "j1.0").await.expect("publish"));
    assert!(
        !q.publish(&msg("j1"), "j1.0").await.expect("publish"),
        "a second publish with the same id is a duplicate"
    );
    assert!(q.publish(&msg("j2"), "j2.0").await.expect("publish"));
    assert_eq!(q.pending().await.expect("pending"), 2);
    let c = q.consumer("work").await.expect("consumer");
    let a = c
        .next(Duration::from_secs(2))
        .await
        .expect("pull")
        .expect("a message");
    assert_eq!((a.job.job_id.as_str(), a.delivered), ("j1", 1));
    a.ack().await.expect("ack");
    let b = c
        .next(Duration::from_secs(2))
        .await
        .expect("pull")
        .expect("a message");
    assert_eq!(b.job.job_id, "j2");
    b.ack().await.expect("ack");
    let none = c.next(Duration::from_millis(300)).await.expect("pull");
    assert!(none.is_none(), "both were acknowledged: {none:?}");
    // Acknowledged messages leave a work-queue stream.
    let t0 = Instant::now();
    while q.pending().await.expect("pending") != 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "acked messages stayed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(q
        .publish(
            &JobMessage {
                job_id: "x".into(),
                kind: "a.b".into()
            },
            "x"
        )
        .await
        .is_err());
}

#[tokio::test]
async fn unacknowledged_messages_come_back_after_ack_wait_unless_in_progress() {
    let Some(url) = nats_url() else { return };
    let q = queue(&url, 600, 5).await;
    q.publish(&msg("slow"), "slow.0").await.expect("publish");
    q.publish(&msg("dead"), "dead.0").await.expect("publish");
    let c = q.consumer("work").await.expect("consumer");
    let slow = c
        .next(Duration::from_secs(2))
        .await
        .expect("pull")
        .expect("slow");
    let dead = c
        .next(Duration::from_secs(2))
        .await
        .expect("pull")
        .expect("dead");
    assert_eq!(
        (slow.job.job_id.as_str(), dead.job.job_id.as_str()),
        ("slow", "dead")
    );
    // "slow" keeps sending in-progress acknowledgements; "dead" is silent (its worker died).
    let t0 = Instant::now();
    let mut back = None;
    while t0.elapsed() < Duration::from_millis(2500) {
        slow.progress().await.expect("progress");
        if let Some(m) = c.next(Duration::from_millis(200)).await.expect("pull") {
            back = Some((m, t0.elapsed()));
            break;
        }
    }
    let (m, after) = back.expect("the silent message is redelivered");
    assert_eq!(m.job.job_id, "dead");
    assert_eq!(m.delivered, 2);
    assert!(
        after >= Duration::from_millis(400),
        "redelivered after ack_wait, not at once: {after:?}"
    );
    m.ack().await.expect("ack");
    slow.ack().await.expect("ack");
    assert!(c
        .next(Duration::from_millis(900))
        .await
        .expect("pull")
        .is_none());
}

#[tokio::test]
async fn nak_delays_and_max_deliver_ends_redelivery() {
    let Some(url) = nats_url() else { return };
    let q = queue(&url, 300, 3).await;
    q.publish(&msg("p"), "p.0").await.expect("publish");
    let c = q.consumer("work").await.expect("consumer");
    let first = c
        .next(Duration::from_secs(2))
        .await
        .expect("pull")
        .expect("p");
    assert!(!first.is_last());
    let t0 = Instant::now();
    first.nak(Duration::from_millis(500)).await.expect("nak");
    let second = loop {
        if let Some(m) = c.next(Duration::from_millis(200)).await.expect("pull") {
            break m;
        }
        assert!(t0.elapsed() < Duration::from_secs(3), "never redelivered");
    };
    assert!(
        t0.elapsed() >= Duration::from_millis(450),
        "nak delay honoured: {:?}",
        t0.elapsed()
    );
    assert_eq!(second.delivered, 2);
    drop(second); // silent: ack_wait brings it back once more, the last time
    let third = loop {
        if let Some(m) = c.next(Duration::from_millis(200)).await.expect("pull") {
            break m;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "never redelivered");
    };
    assert_eq!(third.delivered, 3);
    assert!(third.is_last());
    drop(third);
    assert!(
        c.next(Duration::from_millis(1200))
            .await
            .expect("pull")
            .is_none(),
        "no delivery past max_deliver"
    );
}

#[tokio::test]
async fn cancels_and_events_reach_subscribers() {
    let Some(url) = nats_url() else { return };
    let q = queue(&url, 5_000, 3).await;
    let mut cancels = q.cancels().await.expect("subscribe");
    let mut events = q.events().await.expect("subscribe");
    q.publish_cancel("job-7").await.expect("cancel");
    q.publish_event("job-7", b"{\"x\":1}".to_vec())
        .await
        .expect("event");
    let got = tokio::time::timeout(
        Duration::from_secs(2),
        futures::StreamExt::next(&mut cancels),
    )
    .await
    .expect("a cancel within 2 s");
    assert_eq!(got.as_deref(), Some("job-7"));
    let ev = tokio::time::timeout(
        Duration::from_secs(2),
        futures::StreamExt::next(&mut events),
    )
    .await
    .expect("an event within 2 s")
    .expect("event");
    assert_eq!(ev, ("job-7".to_string(), b"{\"x\":1}".to_vec()));
}
