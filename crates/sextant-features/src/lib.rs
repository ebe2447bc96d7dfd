#![warn(missing_docs)]
//! The feature store: declarative, versioned feature views over the cache's bars, materialised
//! into tables, and read back as panels for training and scoring. The built-in features are
//! computed by Rust kernels ([`kernels`]); any other expression by DuckDB window functions.

pub mod kernels;
pub mod shards;
mod store;
pub mod views;

pub use store::{view_sql, Engine, FeaturePanel, FeatureStore, MaterializedView};
pub use views::{builtin, FeatureDef, FeatureView, Stage};

/// A built-in view by name.
pub fn find(name: &str) -> Option<FeatureView> {
    builtin().into_iter().find(|v| v.name == name)
}
