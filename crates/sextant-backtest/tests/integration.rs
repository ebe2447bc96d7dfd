//! Every integration test of this crate in one binary: the shared dependencies are compiled
//! and linked once instead of once per file (most of a fresh build's time went to
//! dozens of near-identical test binaries). Each file is a module; run one with
//! `cargo test -p sextant-backtest --test integration <file>::`.

#[path = "backtest_golden.rs"]
mod backtest_golden;
#[path = "common/mod.rs"]
mod common;
#[path = "indicators_golden.rs"]
mod indicators_golden;
#[path = "indicators_streaming.rs"]
mod indicators_streaming;
#[path = "lean_vs_simulator.rs"]
mod lean_vs_simulator;
#[path = "metrics_compute.rs"]
mod metrics_compute;
#[path = "metrics_golden.rs"]
mod metrics_golden;
#[path = "metrics_relative.rs"]
mod metrics_relative;
#[path = "metrics_riskfree.rs"]
mod metrics_riskfree;
#[path = "portfolio_risk.rs"]
mod portfolio_risk;
#[path = "rules_fuzz.rs"]
mod rules_fuzz;
#[path = "rules_golden.rs"]
mod rules_golden;
#[path = "rules_library.rs"]
mod rules_library;
#[path = "simulator.rs"]
mod simulator;
#[path = "simulator_inputs.rs"]
mod simulator_inputs;
#[path = "sweep_vs_simulator.rs"]
mod sweep_vs_simulator;
#[path = "topk_pandas.rs"]
mod topk_pandas;
#[path = "truncation.rs"]
mod truncation;
