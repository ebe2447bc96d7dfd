//! Every integration test of this crate in one binary: the shared dependencies are compiled
//! and linked once instead of once per file (most of a fresh build's time went to
//! dozens of near-identical test binaries). Each file is a module; run one with
//! `cargo test -p sextant-data --test integration <file>::`.

#[path = "alphavantage.rs"]
mod alphavantage;
#[path = "alphavantage_more/main.rs"]
mod alphavantage_more;
#[path = "cache_basic.rs"]
mod cache_basic;
#[path = "common/mod.rs"]
mod common;
#[path = "file_layouts.rs"]
mod file_layouts;
#[path = "quality.rs"]
mod quality;
#[path = "quality_review.rs"]
mod quality_review;
#[path = "realdata.rs"]
mod realdata;
#[path = "resample.rs"]
mod resample;
