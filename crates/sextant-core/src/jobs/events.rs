//! Progress and status events for live streams (the API's server-sent events).
//!
//! Every event is a full snapshot of the job's status and progress, not a delta, so a receiver
//! that lags and misses some (a slow SSE client) is still correct with the next one. Events are
//! broadcast in-process; the store stays the source of truth. When workers run in other
//! processes, the same serialisable [`JobEvent`] is what they publish (over NATS).

use super::{lock, JobRecord, JobStatus, Progress};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Events buffered per job for a slow receiver before it starts to lag.
const CHANNEL_CAPACITY: usize = 64;

/// A snapshot of a job's state, sent on every progress report and status change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEvent {
    /// The job the event is about.
    pub job_id: String,
    /// Its status at the time of the event.
    pub status: JobStatus,
    /// Its latest progress report (every report, not only the persisted ones).
    pub progress: Progress,
    /// The handler's result, on the `succeeded` event only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Why it failed or was cancelled, on a terminal event only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl JobEvent {
    /// The last event of a job: a stream can end after it.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}

impl From<&JobRecord> for JobEvent {
    fn from(r: &JobRecord) -> Self {
        JobEvent {
            job_id: r.id.clone(),
            status: r.status,
            progress: r.progress.clone(),
            result: r.result.clone(),
            error: r.error.clone(),
        }
    }
}

/// What [`super::JobManager::subscribe`] returns: the job as it was when the subscription began
/// (send it first), then every later event. `events` closes after the terminal event, at once
/// when the job had already finished.
///
/// A job run by a `sextant worker` elsewhere reaches here through NATS (see
/// [`super::JobManager::use_queue`]); one run by a process sharing only the store emits no
/// events here: poll [`super::JobManager::get`] for those.
#[derive(Debug)]
pub struct JobSubscription {
    /// The job as read when the subscription began: send it before any event.
    pub snapshot: JobRecord,
    /// Later events of the job, closed after its terminal event. A receiver that falls more
    /// than 64 events behind gets a `Lagged` error and then the newest events.
    pub events: broadcast::Receiver<JobEvent>,
}

/// Per-job broadcast channels, created when someone subscribes and removed after the job's
/// terminal event (dropping the sender is what closes the receivers).
#[derive(Clone, Default)]
pub(crate) struct Broadcaster {
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<JobEvent>>>>,
    /// Every event also goes here when set: a worker forwards its jobs' events to the server
    /// over NATS.
    tap: Arc<Mutex<Option<tokio::sync::mpsc::UnboundedSender<JobEvent>>>>,
}

impl Broadcaster {
    pub(crate) fn subscribe(&self, job_id: &str) -> broadcast::Receiver<JobEvent> {
        let mut map = lock(&self.channels);
        // Channels whose every receiver went away (a closed SSE connection) are dropped here,
        // so the map stays as small as the number of live subscriptions.
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.entry(job_id.to_string())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe()
    }

    /// Sends every later event to `tap` as well.
    pub(crate) fn set_tap(&self, tap: tokio::sync::mpsc::UnboundedSender<JobEvent>) {
        *lock(&self.tap) = Some(tap);
    }

    /// Sends to the job's subscribers, if any; the terminal event also closes the channel.
    pub(crate) fn publish(&self, event: JobEvent) {
        if let Some(tap) = lock(&self.tap).as_ref() {
            let _ = tap.send(event.clone());
        }
        let mut map = lock(&self.channels);
        let terminal = event.is_terminal();
        if let Some(tx) = map.get(&event.job_id) {
            // An error only means nobody listens any more.
            let _ = tx.send(event.clone());
        }
        if terminal {
            map.remove(&event.job_id);
        }
    }

    /// Closes the job's channel without an event (the job had already finished).
    pub(crate) fn close(&self, job_id: &str) {
        lock(&self.channels).remove(job_id);
    }
}
