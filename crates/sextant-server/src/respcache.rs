//! A response cache for read-mostly market data: bars only change when an ingest commits, and the
//! cache's write generation says when that happened, so a cached body is valid exactly while the
//! generation is unchanged. No TTL guesswork, no stale data.

use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::RwLock;

/// Bodies by request key: (content type, body).
type Entries = HashMap<String, (&'static str, Bytes)>;

/// Serialized bodies keyed by request, tagged with the data generation they were built from.
/// Bounded in entries and in bytes: requests for many distinct ranges cannot make it hold more
/// than [`MAX_CACHE_BYTES`] of bodies.
pub struct ResponseCache {
    max_entries: usize,
    max_bytes: usize,
    inner: RwLock<(u64, Entries, usize)>,
}

/// The most bytes of bodies the cache holds (64 MiB).
pub const MAX_CACHE_BYTES: usize = 64 << 20;

impl ResponseCache {
    /// An empty cache holding at most `max_entries` bodies and [`MAX_CACHE_BYTES`] bytes.
    pub fn new(max_entries: usize) -> Self {
        ResponseCache {
            max_entries,
            max_bytes: MAX_CACHE_BYTES,
            inner: RwLock::new((0, HashMap::new(), 0)),
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
        if body.len() > self.max_bytes / 4 {
            return; // one body must not evict everything else
        }
        if guard.0 != generation
            || guard.1.len() >= self.max_entries
            || guard.2 + body.len() > self.max_bytes
        {
            guard.1.clear();
            guard.2 = 0;
            guard.0 = generation;
        }
        guard.2 += body.len();
        if let Some(old) = guard.1.insert(key, (content_type, body)) {
            guard.2 -= old.1.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_in_bytes() {
        let c = ResponseCache::new(1_000_000);
        let body = Bytes::from(vec![b'x'; 1 << 20]);
        for i in 0..200 {
            c.put(1, format!("k{i}"), "application/json", body.clone());
        }
        let held = c.inner.read().map(|g| g.2).unwrap_or(usize::MAX);
        assert!(held <= MAX_CACHE_BYTES, "{held} bytes held");
        assert!(c.get(1, "k199").is_some());
        // A body larger than a quarter of the budget is not cached at all.
        c.put(
            1,
            "big".into(),
            "application/json",
            Bytes::from(vec![0u8; MAX_CACHE_BYTES / 2]),
        );
        assert!(c.get(1, "big").is_none());
    }
}
