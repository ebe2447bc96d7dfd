//! The job transport of a scaled-out Sextant, on NATS JetStream.
//!
//! Why JetStream and not a home-made queue on the metadata store: it already gives what a job
//! queue across machines needs and is hard to get right: at-least-once delivery with explicit
//! acknowledgement, redelivery after `ack_wait` when a worker dies silently, a `max_deliver`
//! bound so a poison message cannot loop, in-progress acknowledgements that extend `ack_wait`
//! for long jobs, and publish de-duplication by message id. The official client `async-nats`
//! speaks it.
//!
//! What travels here is small: a [`JobMessage`] names a job whose record (parameters, status,
//! lease) stays in the metadata store, which remains the only source of truth. The store's
//! compare-and-swap claim is what keeps a redelivered message from running a job twice at once;
//! JetStream only decides *who is woken* and *when to try again*.
//!
//! Layout:
//! * one work-queue stream ([`QueueConfig::stream`], default `SEXTANT_JOBS`) over
//!   `<prefix>.jobs.<kind>`, file storage, a one-hour de-duplication window;
//! * one durable pull consumer per kind (`jobs-<kind>`): a work-queue stream allows one
//!   consumer per subject, and per-kind consumers let a worker serve only some kinds;
//! * core (not persisted) subjects for what must be fast and may be lost: cancel requests
//!   (`<prefix>.cancel`) and job events (`<prefix>.events.<job id>`), which the metadata store
//!   backs up (a missed cancel is seen at the next heartbeat, a missed event at the next read).

#![warn(missing_docs)]

use async_nats::jetstream::{self, consumer, stream, AckKind};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Connecting to the NATS server failed.
    #[error("connecting to NATS at {url}: {message}")]
    Connect {
        /// The URL tried.
        url: String,
        /// The client's reason.
        message: String,
    },
    /// A JetStream or core NATS operation failed.
    #[error("NATS {op}: {message}")]
    Nats {
        /// What was being done (`create stream`, `publish`, …).
        op: &'static str,
        /// The client's reason.
        message: String,
    },
    /// A kind name is not a valid subject token (`[a-z0-9_]+`).
    #[error("job kind {0:?} is not a valid subject token ([a-z0-9_]+)")]
    BadKind(String),
}

fn nats<E: std::fmt::Display>(op: &'static str) -> impl Fn(E) -> QueueError {
    move |e| QueueError::Nats {
        op,
        message: e.to_string(),
    }
}

/// Where the queue lives and how JetStream treats its messages.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueConfig {
    /// The NATS server, e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// The work-queue stream's name. Default `SEXTANT_JOBS`.
    pub stream: String,
    /// First token of every subject. Default `sextant`; give two deployments sharing one NATS
    /// server different prefixes (and streams).
    pub prefix: String,
    /// How long a delivered message may go without an acknowledgement (or an in-progress
    /// heartbeat) before JetStream delivers it again. Default 30 s: six missed 5 s heartbeats.
    pub ack_wait: Duration,
    /// Deliveries of one message before JetStream gives up on it. Default 5; the worker that
    /// receives the last delivery of a job that is not finished fails it (see the job docs).
    pub max_deliver: i64,
}

impl QueueConfig {
    /// The defaults for a server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        QueueConfig {
            url: url.into(),
            stream: "SEXTANT_JOBS".into(),
            prefix: "sextant".into(),
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
        }
    }
}

/// What a job message says: which job to run. Everything else is in the job's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    /// The job's id in the metadata store.
    pub job_id: String,
    /// Its kind (also the subject's last token).
    pub kind: String,
}

/// A connection to the queue: publishing jobs, pulling them, and the cancel and event
/// subjects. Cheap to clone.
#[derive(Clone)]
pub struct Queue {
    client: async_nats::Client,
    js: jetstream::Context,
    config: QueueConfig,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("config", &self.config)
            .finish()
    }
}

fn check_kind(kind: &str) -> Result<(), QueueError> {
    let ok = !kind.is_empty()
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(QueueError::BadKind(kind.to_string()))
    }
}

impl Queue {
    /// Connects and creates (or updates) the work-queue stream.
    pub async fn connect(config: QueueConfig) -> Result<Queue, QueueError> {
        let client = async_nats::ConnectOptions::new()
            .name("sextant")
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(5))
            .connect(config.url.as_str());
        let client = tokio::time::timeout(Duration::from_secs(15), client)
            .await
            .map_err(|_| QueueError::Connect {
                url: config.url.clone(),
                message: "no answer within 15 s".into(),
            })?
            .map_err(|e| QueueError::Connect {
                url: config.url.clone(),
                message: e.to_string(),
            })?;
        let js = jetstream::new(client.clone());
        js.create_or_update_stream(stream::Config {
            name: config.stream.clone(),
            subjects: vec![format!("{}.jobs.*", config.prefix)],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(3600),
            ..Default::default()
        })
        .await
        .map_err(nats("create stream"))?;
        tracing::info!(url = %config.url, stream = %config.stream, "job queue connected");
        Ok(Queue { client, js, config })
    }

    /// The configuration in force.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    fn job_subject(&self, kind: &str) -> String {
        format!("{}.jobs.{kind}", self.config.prefix)
    }

    /// Publishes a job and waits for JetStream to store it. `dedupe` is the message id: a
    /// second publish with the same id within an hour is dropped by the server (so re-publishing
    /// a queued job after a restart is harmless). Returns false for such a duplicate.
    pub async fn publish(&self, msg: &JobMessage, dedupe: &str) -> Result<bool, QueueError> {
        check_kind(&msg.kind)?;
        let payload = serde_json::to_vec(msg).map_err(nats("encode"))?;
        let publish = jetstream::message::PublishMessage::build()
            .payload(payload.into())
            .message_id(dedupe);
        let ack = self
            .js
            .send_publish(self.job_subject(&msg.kind), publish)
            .await
            .map_err(nats("publish"))?
            .await
            .map_err(nats("publish ack"))?;
        Ok(!ack.duplicate)
    }

    /// The shared durable consumer of `kind`'s jobs (created on first use).
    pub async fn consumer(&self, kind: &str) -> Result<KindConsumer, QueueError> {
        check_kind(kind)?;
        let name = format!("jobs-{kind}");
        let stream = self
            .js
            .get_stream(&self.config.stream)
            .await
            .map_err(nats("get stream"))?;
        let consumer = stream
            .get_or_create_consumer(
                &name,
                consumer::pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: self.job_subject(kind),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: self.config.ack_wait,
                    max_deliver: self.config.max_deliver,
                    ..Default::default()
                },
            )
            .await
            .map_err(nats("create consumer"))?;
        Ok(KindConsumer {
            consumer,
            max_deliver: self.config.max_deliver,
        })
    }

    /// Asks whichever worker runs `job_id` to stop it now.
    pub async fn publish_cancel(&self, job_id: &str) -> Result<(), QueueError> {
        let subject = format!("{}.cancel", self.config.prefix);
        self.client
            .publish(subject, job_id.to_string().into())
            .await
            .map_err(nats("publish cancel"))?;
        self.client.flush().await.map_err(nats("flush"))
    }

    /// Cancel requests, as job ids, from now on.
    pub async fn cancels(
        &self,
    ) -> Result<impl futures::Stream<Item = String> + Send + Unpin + 'static, QueueError> {
        let subject = format!("{}.cancel", self.config.prefix);
        let sub = self
            .client
            .subscribe(subject)
            .await
            .map_err(nats("subscribe cancel"))?;
        Ok(sub.map(|m| String::from_utf8_lossy(&m.payload).into_owned()))
    }

    /// Publishes an event of `job_id` (progress or a status change, JSON) for the server's
    /// streams. Fire and forget: the store holds the same state.
    pub async fn publish_event(&self, job_id: &str, event: Vec<u8>) -> Result<(), QueueError> {
        let subject = format!("{}.events.{job_id}", self.config.prefix);
        self.client
            .publish(subject, event.into())
            .await
            .map_err(nats("publish event"))
    }

    /// Every job's events from now on, as (job id, payload).
    pub async fn events(
        &self,
    ) -> Result<impl futures::Stream<Item = (String, Vec<u8>)> + Send + Unpin + 'static, QueueError>
    {
        let prefix = format!("{}.events.", self.config.prefix);
        let sub = self
            .client
            .subscribe(format!("{prefix}*"))
            .await
            .map_err(nats("subscribe events"))?;
        // Only subjects under the prefix arrive (the subscription's filter says so).
        Ok(sub.filter_map(move |m| {
            let id = m.subject.as_str().strip_prefix(&prefix).map(str::to_string);
            std::future::ready(id.map(|id| (id, m.payload.to_vec())))
        }))
    }

    /// Messages in the stream not yet acknowledged (waiting or being worked on), for `/ready`
    /// and the benchmarks.
    pub async fn pending(&self) -> Result<u64, QueueError> {
        let mut stream = self
            .js
            .get_stream(&self.config.stream)
            .await
            .map_err(nats("get stream"))?;
        let info = stream.info().await.map_err(nats("stream info"))?;
        Ok(info.state.messages)
    }

    /// Whether the connection to the server is up.
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }
}

/// The pull consumer of one kind, shared by every worker serving it.
pub struct KindConsumer {
    consumer: consumer::PullConsumer,
    max_deliver: i64,
}

impl KindConsumer {
    /// The next message, waiting at most `wait` for one. `Ok(None)` when none came; a message
    /// that is not a [`JobMessage`] is terminated (it would never parse) and skipped.
    pub async fn next(&self, wait: Duration) -> Result<Option<Delivery>, QueueError> {
        let mut batch = self
            .consumer
            .batch()
            .max_messages(1)
            .expires(wait)
            .messages()
            .await
            .map_err(nats("pull"))?;
        while let Some(m) = batch.next().await {
            let m = m.map_err(nats("pull"))?;
            let delivered = m.info().map(|i| i.delivered).unwrap_or(1);
            let (message, acker) = m.split();
            match serde_json::from_slice::<JobMessage>(&message.payload) {
                Ok(job) => {
                    return Ok(Some(Delivery {
                        job,
                        delivered,
                        max_deliver: self.max_deliver,
                        acker,
                    }))
                }
                Err(e) => {
                    tracing::error!(error = %e, "malformed job message: terminated");
                    acker.ack_with(AckKind::Term).await.map_err(nats("term"))?;
                }
            }
        }
        Ok(None)
    }
}

/// One delivery of a job message: acknowledge it when the job is finished, send in-progress
/// heartbeats while it runs, ask for redelivery later, or terminate it.
pub struct Delivery {
    /// The job named.
    pub job: JobMessage,
    /// This delivery's number, from 1.
    pub delivered: i64,
    /// The consumer's `max_deliver`.
    pub max_deliver: i64,
    acker: jetstream::message::Acker,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("job", &self.job)
            .field("delivered", &self.delivered)
            .finish()
    }
}

impl Delivery {
    /// True on the last delivery JetStream will make.
    pub fn is_last(&self) -> bool {
        self.max_deliver > 0 && self.delivered >= self.max_deliver
    }

    /// The job is finished (any outcome): remove the message.
    pub async fn ack(&self) -> Result<(), QueueError> {
        self.acker.ack().await.map_err(nats("ack"))
    }

    /// The job is still running: restart the `ack_wait` clock.
    pub async fn progress(&self) -> Result<(), QueueError> {
        self.acker
            .ack_with(AckKind::Progress)
            .await
            .map_err(nats("progress"))
    }

    /// Not now: deliver again after `delay` (to any worker).
    pub async fn nak(&self, delay: Duration) -> Result<(), QueueError> {
        self.acker
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(nats("nak"))
    }

    /// Never deliver again (the job was settled otherwise).
    pub async fn term(&self) -> Result<(), QueueError> {
        self.acker
            .ack_with(AckKind::Term)
            .await
            .map_err(nats("term"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_must_be_subject_tokens() {
        assert!(check_kind("trial_batch").is_ok());
        for bad in ["", "a.b", "a b", "A", "a*", "a>"] {
            assert!(check_kind(bad).is_err(), "{bad:?}");
        }
    }
}
