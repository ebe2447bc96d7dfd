//! Every integration test of this crate in one binary: the shared dependencies are compiled
//! and linked once instead of once per file (most of a fresh build's time went to
//! dozens of near-identical test binaries). Each file is a module; run one with
//! `cargo test -p sextant-xsection --test integration <file>::`.

#[path = "alphalens_parity.rs"]
mod alphalens_parity;
#[path = "alphalens_pse.rs"]
mod alphalens_pse;
#[path = "common/mod.rs"]
mod common;
#[path = "truncation.rs"]
mod truncation;
