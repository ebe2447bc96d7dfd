//! Rows parked for a DuckDB table function for the length of a statement or an ingest.
//!
//! sextant hands columns it computed or parsed in Rust to DuckDB through table functions (the
//! staged bars of a fast CSV ingest, the feature store's parallel insert), so DuckDB can scan
//! them on all its threads without a copy into a table first. The columns never pass through
//! SQL: they are parked here under a token, and the function's bind looks the token up; a
//! call naming no parked token (a user's SQL naming the function) finds nothing and fails.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

type Registry = Mutex<HashMap<u64, Arc<dyn Any + Send + Sync>>>;

static PARKED: LazyLock<Registry> = LazyLock::new(|| Mutex::new(HashMap::new()));

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// Rows parked under a token; unparked when this is dropped.
#[derive(Debug)]
pub struct Parked(u64);

impl Parked {
    /// Parks `rows` under a fresh token.
    pub fn new<T: Any + Send + Sync>(rows: Arc<T>) -> Parked {
        let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        PARKED
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token, rows);
        Parked(token)
    }

    /// The token a table function is called with.
    pub fn token(&self) -> u64 {
        self.0
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        PARKED
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.0);
    }
}

/// Registers a table function on `conn` (in its database's catalog, shared by its
/// connections), one registration at a time in this process: two first registrations at once
/// can fail in DuckDB (about a third of 300 races did, measured with its C API); later ones
/// replace the entry (~2 µs).
pub fn register<T: duckdb::vtab::VTab>(
    conn: &duckdb::Connection,
    name: &str,
) -> duckdb::Result<()> {
    static REGISTERING: Mutex<()> = Mutex::new(());
    let _one = REGISTERING.lock().unwrap_or_else(|p| p.into_inner());
    conn.register_table_function::<T>(name)
}

/// The rows parked under `token`, when there are rows of type `T` there.
pub fn get<T: Any + Send + Sync>(token: u64) -> Option<Arc<T>> {
    let rows = PARKED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&token)
        .cloned()?;
    rows.downcast::<T>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_parked_until_dropped_and_typed() {
        let parked = Parked::new(Arc::new(vec![1_i64, 2, 3]));
        let token = parked.token();
        assert_eq!(get::<Vec<i64>>(token).as_deref(), Some(&vec![1, 2, 3]));
        assert!(
            get::<Vec<f64>>(token).is_none(),
            "another type finds nothing"
        );
        drop(parked);
        assert!(get::<Vec<i64>>(token).is_none());
    }
}
