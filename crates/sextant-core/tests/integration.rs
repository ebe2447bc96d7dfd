//! Every integration test of this crate in one binary: the shared dependencies are compiled
//! and linked once instead of once per file (most of a fresh build's time went to
//! dozens of near-identical test binaries). Each file is a module; run one with
//! `cargo test -p sextant-core --test integration <file>::`.

#[path = "agents_routing.rs"]
mod agents_routing;
#[path = "asset_classes.rs"]
mod asset_classes;
#[path = "backtest_service.rs"]
mod backtest_service;
#[path = "common/mod.rs"]
mod common;
#[path = "dashboard.rs"]
mod dashboard;
#[path = "definitions.rs"]
mod definitions;
#[path = "forecasts.rs"]
mod forecasts;
#[path = "jobs/main.rs"]
mod jobs;
#[path = "mlops.rs"]
mod mlops;
#[path = "mlops_eval.rs"]
mod mlops_eval;
#[path = "mlops_schedules.rs"]
mod mlops_schedules;
#[path = "portfolios.rs"]
mod portfolios;
#[path = "price_basis.rs"]
mod price_basis;
#[path = "quality_service.rs"]
mod quality_service;
#[path = "reference_nothing_written.rs"]
mod reference_nothing_written;
#[path = "refresh.rs"]
mod refresh;
#[path = "regime_service.rs"]
mod regime_service;
#[path = "regimes.rs"]
mod regimes;
#[path = "rl.rs"]
mod rl;
#[path = "scale_snapshots.rs"]
mod scale_snapshots;
#[path = "signals.rs"]
mod signals;
#[path = "tuning.rs"]
mod tuning;
#[path = "watchlists.rs"]
mod watchlists;
#[path = "xsection.rs"]
mod xsection;
