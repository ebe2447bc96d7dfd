//! Every integration test of this crate in one binary: the shared dependencies are compiled
//! and linked once instead of once per file (most of a fresh build's time went to
//! dozens of near-identical test binaries). Each file is a module; run one with
//! `cargo test -p sextant-tuning --test integration <file>::`.

#[path = "no_lookahead.rs"]
mod no_lookahead;
#[path = "overfit_reference.rs"]
mod overfit_reference;
#[path = "samplers.rs"]
mod samplers;
