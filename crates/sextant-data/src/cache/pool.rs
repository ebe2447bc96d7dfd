//! Extra connections to one bar store for concurrent readers in one process.

use super::Cache;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A round-robin pool of read connections to one store. A DuckDB connection runs one statement
/// at a time, so concurrent requests on one connection queue behind each other; each pooled
/// connection has its own lock. Writes keep going through the main connection.
pub struct ReadPool {
    main: Arc<Cache>,
    readers: Vec<Arc<Cache>>,
    next: AtomicUsize,
}

impl ReadPool {
    /// A pool of up to `n` extra connections to `main`'s database. A connection that cannot be
    /// opened is left out (logged); with none, every read uses `main`.
    pub fn new(main: Arc<Cache>, n: usize) -> Self {
        let readers = (0..n)
            .filter_map(|_| match main.try_clone() {
                Ok(c) => Some(Arc::new(c)),
                Err(e) => {
                    tracing::warn!(error = %e, "a read connection could not be opened");
                    None
                }
            })
            .collect();
        ReadPool {
            main,
            readers,
            next: AtomicUsize::new(0),
        }
    }

    /// A connection for one read, round robin over the pool (the main one when it is empty).
    pub fn get(&self) -> Arc<Cache> {
        if self.readers.is_empty() {
            return self.main.clone();
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].clone()
    }

    /// The main connection (the one that writes).
    pub fn main(&self) -> &Arc<Cache> {
        &self.main
    }
}
