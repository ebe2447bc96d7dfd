//! Every integration test of this crate in one binary: the shared dependencies are compiled
//! and linked once instead of once per file (most of a fresh build's time went to
//! dozens of near-identical test binaries). Each file is a module; run one with
//! `cargo test -p sextant-narrative --test integration <file>::`.

#[path = "common/mod.rs"]
mod common;
#[path = "library.rs"]
mod library;
#[path = "prompt_injection.rs"]
mod prompt_injection;
#[path = "service.rs"]
mod service;
#[path = "validators.rs"]
mod validators;
