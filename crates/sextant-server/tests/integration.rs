//! Every integration test of this crate in one binary: the shared dependencies are compiled
//! and linked once instead of once per file (most of a fresh build's time went to
//! dozens of near-identical test binaries). Each file is a module; run one with
//! `cargo test -p sextant-server --test integration <file>::`.
#![recursion_limit = "256"]

#[path = "agents_api.rs"]
mod agents_api;
#[path = "api.rs"]
mod api;
#[path = "common/mod.rs"]
mod common;
#[path = "definitions_api.rs"]
mod definitions_api;
#[path = "forecast_api.rs"]
mod forecast_api;
#[path = "hardening.rs"]
mod hardening;
#[path = "ml_api.rs"]
mod ml_api;
#[path = "openapi_client.rs"]
mod openapi_client;
#[path = "quality_api.rs"]
mod quality_api;
#[path = "reference_api.rs"]
mod reference_api;
#[path = "regime_api.rs"]
mod regime_api;
#[path = "rl_api.rs"]
mod rl_api;
#[path = "xsection_api.rs"]
mod xsection_api;
