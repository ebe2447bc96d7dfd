//! Route groups, one module per resource.

pub mod admin;
pub mod backtests;
pub mod dashboards;
pub mod jobs;
pub mod market_data;
pub mod ops;
pub mod page;
pub mod portfolios;
pub mod strategies;
pub mod watchlists;
