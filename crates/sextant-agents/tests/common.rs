//! Shared fixtures: the real embedding model, the catalog index, the evaluation set.
#![allow(dead_code)]

use serde::Deserialize;
use serde_json::Value;
use sextant_agents::catalog::{catalog, CatalogIndex};
use sextant_agents::embed::MiniLm;
use std::sync::Arc;

/// The model from `scripts/setup-minilm` (a missing model fails the test with the fix).
pub fn minilm() -> MiniLm {
    MiniLm::load(MiniLm::default_dir()).unwrap_or_else(|e| panic!("{e}"))
}

pub async fn index(m: &MiniLm) -> Arc<CatalogIndex> {
    Arc::new(
        CatalogIndex::build(catalog(), m)
            .await
            .expect("catalog embeds"),
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct Item {
    pub id: String,
    pub split: String,
    pub kind: String,
    pub request: String,
    pub expect: Value,
}

pub fn eval_set() -> Vec<Item> {
    let path = &format!(
        "{}/tests/eval/builder_requests.jsonl",
        std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR, set by cargo test")
    );
    std::fs::read_to_string(path)
        .expect("eval set")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("eval line"))
        .collect()
}

pub const REGIME_MODEL: &str = "spy_regimes";
pub const ML_MODEL: &str = "spy_signal";
