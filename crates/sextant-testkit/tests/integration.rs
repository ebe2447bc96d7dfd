//! Every integration test of this crate in one binary: the shared dependencies are compiled
//! and linked once instead of once per file (most of a fresh build's time went to
//! dozens of near-identical test binaries). Each file is a module; run one with
//! `cargo test -p sextant-testkit --test integration <file>::`.

#[path = "alphavantage_more_server.rs"]
mod alphavantage_more_server;
#[path = "alphavantage_server.rs"]
mod alphavantage_server;
