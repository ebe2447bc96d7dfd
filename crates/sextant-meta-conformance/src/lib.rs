#![warn(missing_docs)]
//! The backend conformance suite: the executable specification of [`MetaStore`].
//!
//! Every backend must pass every case. Each case is a public `async fn(Arc<dyn MetaStore>)`
//! that panics on failure and uses its own collections (prefixed `cf_`), so all cases can share
//! one store. Two ways to run them:
//!
//! * [`run_all`] runs every case in sequence against one store;
//! * [`meta_conformance_tests!`](crate::meta_conformance_tests) expands to one `#[tokio::test]`
//!   per case (so failures are reported by name), given an expression producing
//!   `Option<Fixture>` (`None` skips, e.g. when no server is configured):
//!
//! ```no_run
//! use sextant_meta_conformance::Fixture;
//! use sextant_meta::{open_store, MetaConfig};
//!
//! async fn fixture() -> Option<Fixture> {
//!     let dir = tempfile::tempdir().ok()?;
//!     let store = open_store(&MetaConfig::embedded(dir.path().join("m.db"))).await.ok()?;
//!     Some(Fixture::with_guard(store, dir))
//! }
//!
//! sextant_meta_conformance::meta_conformance_tests!(fixture());
//! # fn main() {}
//! ```
//!
//! The suite is a crate of its own, not a `tests/` file, so a third backend (or a caching
//! wrapper around one) can be checked against the same contract, and it ships in no library.

mod concurrency;
mod crud;
mod index;
mod paging;
mod query;

use std::any::Any;
use std::sync::Arc;

use serde_json::Value;

use sextant_meta::{MetaError, MetaStore, Result};

pub use concurrency::*;
pub use crud::*;
pub use index::*;
pub use paging::*;
pub use query::*;

/// A store under test plus whatever must outlive it (a temporary directory, a server handle).
pub struct Fixture {
    store: Arc<dyn MetaStore>,
    _guard: Option<Box<dyn Any + Send + Sync>>,
}

impl Fixture {
    /// A fixture that needs no clean-up.
    pub fn new(store: Arc<dyn MetaStore>) -> Self {
        Fixture {
            store,
            _guard: None,
        }
    }

    /// A fixture that keeps `guard` alive (dropped after the store's last use in the test).
    pub fn with_guard(store: Arc<dyn MetaStore>, guard: impl Any + Send + Sync) -> Self {
        Fixture {
            store,
            _guard: Some(Box::new(guard)),
        }
    }

    /// The store under test.
    pub fn store(&self) -> Arc<dyn MetaStore> {
        Arc::clone(&self.store)
    }
}

/// Lists every case exactly once and hands the list to `$callback` (internal).
#[doc(hidden)]
#[macro_export]
macro_rules! __sextant_meta_cases {
    ($callback:ident { $($args:tt)* }) => {
        $crate::$callback! { { $($args)* }
            ping_and_backend_name,
            insert_generates_uuid_v4_ids,
            round_trip_preserves_values,
            insert_duplicate_id_is_typed_error,
            invalid_inputs_are_rejected,
            missing_documents_and_collections,
            replace_semantics,
            upsert_semantics,
            update_fields_semantics,
            update_if_semantics,
            delete_semantics,
            collections_are_isolated,
            find_equality_on_nested_fields,
            find_any_of,
            find_ranges_are_type_bracketed,
            find_null_missing_exists_ne,
            find_array_fields_match_any_element,
            count_matches_find,
            sort_orders_types_and_unicode,
            sort_ties_break_on_id,
            skip_and_limit,
            default_order_is_by_id,
            find_one_returns_first,
            keyset_pagination_visits_everything_once,
            keyset_pagination_stable_across_writes,
            ensure_index_is_idempotent,
            unique_index_is_enforced_on_every_write,
            unique_index_over_existing_duplicates_fails,
            concurrent_inserts_all_land,
            concurrent_field_updates_lose_nothing,
            update_if_race_has_one_winner,
            compare_and_swap_counter,
            concurrent_upserts_of_one_id,
            job_queue_claims_are_exclusive,
            concurrent_unique_inserts_have_one_winner,
        }
    };
}

/// Expands to one `#[tokio::test]` per conformance case. `$fixture` is an expression of type
/// `impl Future<Output = Option<Fixture>>`, evaluated afresh in every test; `None` skips.
#[macro_export]
macro_rules! meta_conformance_tests {
    ($fixture:expr) => {
        $crate::__sextant_meta_cases!(__sextant_meta_gen_tests { $fixture });
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __sextant_meta_gen_tests {
    ({ $fixture:expr } $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(fixture) = $fixture.await else { return };
                $crate::$case(fixture.store()).await;
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __sextant_meta_run_all {
    ({ $store:expr } $($case:ident),* $(,)?) => {
        $(
            tracing::info!(case = stringify!($case), "conformance");
            $crate::$case(::std::sync::Arc::clone(&$store)).await;
        )*
    };
}

/// Runs every case, in order, against `store`.
pub async fn run_all(store: Arc<dyn MetaStore>) {
    crate::__sextant_meta_cases!(__sextant_meta_run_all { store });
}

#[doc(hidden)]
#[macro_export]
macro_rules! __sextant_meta_names {
    ({} $($case:ident),* $(,)?) => {
        &[$(stringify!($case)),*]
    };
}

/// Names of all cases, in the order [`run_all`] runs them.
pub fn case_names() -> &'static [&'static str] {
    crate::__sextant_meta_cases!(__sextant_meta_names {})
}

// ---- helpers shared by the cases ----

pub(crate) fn ok<T>(r: Result<T>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error: {e}"),
    }
}

pub(crate) fn assert_invalid<T: std::fmt::Debug>(r: Result<T>, what: &str) {
    match r {
        Err(MetaError::Invalid(_)) => {}
        other => panic!("{what}: expected MetaError::Invalid, got {other:?}"),
    }
}

pub(crate) fn assert_duplicate<T: std::fmt::Debug>(r: Result<T>, what: &str) {
    match r {
        Err(MetaError::Duplicate { .. }) => {}
        other => panic!("{what}: expected MetaError::Duplicate, got {other:?}"),
    }
}

/// The `_id`s of documents, in order.
pub(crate) fn ids(docs: &[Value]) -> Vec<String> {
    docs.iter()
        .map(|d| {
            d.get("_id")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("document without string _id: {d}"))
                .to_owned()
        })
        .collect()
}

/// Inserts documents, panicking on failure.
pub(crate) async fn seed(store: &dyn MetaStore, collection: &str, docs: Vec<Value>) {
    for d in docs {
        ok(store.insert(collection, d).await, "seed insert");
    }
}

/// Sorted copy of string ids, for order-insensitive comparisons.
pub(crate) fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

pub(crate) fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}
