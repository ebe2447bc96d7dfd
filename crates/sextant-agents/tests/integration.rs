//! Every integration test of this crate in one binary: the shared dependencies are compiled
//! and linked once instead of once per file (most of a fresh build's time went to
//! dozens of near-identical test binaries). Each file is a module; run one with
//! `cargo test -p sextant-agents --test integration <file>::`.

#[path = "builder_eval.rs"]
mod builder_eval;
#[path = "builder_llm_eval.rs"]
mod builder_llm_eval;
#[path = "common.rs"]
mod common;
#[path = "minilm_parity.rs"]
mod minilm_parity;
#[path = "openai_embeddings.rs"]
mod openai_embeddings;
