//! Every integration test of this crate in one binary: the shared dependencies are compiled
//! and linked once instead of once per file (most of a fresh build's time went to
//! dozens of near-identical test binaries). Each file is a module; run one with
//! `cargo test -p sextant-genai --test integration <file>::`.

#[path = "client.rs"]
mod client;
#[path = "errors.rs"]
mod errors;
#[path = "offline_prompts.rs"]
mod offline_prompts;
