//! A response cache for read-mostly market data: bars only change when an ingest commits, and the
//! cache's write generation says when that happened, so a cached body is valid exactly while the
//! generation is unchanged. No TTL guesswork, no stale data.

use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::RwLock;

/// Bodies by request key: (content type, body).
type Entries = HashMap<String, (&'static str, Bytes)>;

/// Serialized bodies keyed by request, tagged with the data generation they were built from.
pub struct ResponseCache {
    max_entries: usize,
    inner: RwLock<(u64, Entries)>,
}

impl ResponseCache {
    pub fn new(max_entries: usize) -> Self {
        ResponseCache {
            max_entries,
            inner: RwLock::new((0, HashMap::new())),
        }
    }

    /// The body for `key`, if it was built at `generation`.
    pub fn get(&self, generation: u64, key: &str) -> Option<(&'static str, Bytes)> {
        let guard = self.inner.read().ok()?;
        if guard.0 != generation {
            return None;
        }
        guard.1.get(key).cloned()
    }

    /// Stores a body built at `generation` (dropping everything older; bounded in size).
    pub fn put(&self, generation: u64, key: String, content_type: &'static str, body: Bytes) {
        let Ok(mut guard) = self.inner.write() else {
            return;
        };
        if guard.0 != generation || guard.1.len() >= self.max_entries {
            guard.1.clear();
            guard.0 = generation;
        }
        guard.1.insert(key, (content_type, body));
    }
}
