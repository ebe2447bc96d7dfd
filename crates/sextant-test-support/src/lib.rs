#![warn(missing_docs)]
//! Fixtures shared by the workspace's tests, so that every test builds its services, its sample
//! file and its requests the same way.
//!
//! Fixtures panic on failure (a fixture that cannot be built is a broken test environment, not
//! a result to assert on). Only test code depends on this crate.

use chrono::NaiveDate;
use serde_json::json;
use sextant_backtest::run::BacktestRequest;
use sextant_core::{Config, Services};
use sextant_domain::{Resolution, Symbol};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;

/// The services on a temporary data directory, which lives as long as this value.
pub struct TestServices {
    /// The services, shared (handlers, servers and jobs take an `Arc`).
    pub services: Arc<Services>,
    /// The data directory (DuckDB file, metadata store, models).
    pub dir: TempDir,
}

impl Deref for TestServices {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.services
    }
}

/// The embedded-default configuration with its data in `dir` (the bundled sample is loaded
/// at startup).
pub fn config_in(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    }
}

/// The services on the embedded defaults in a fresh temporary directory.
pub async fn services() -> TestServices {
    services_with(|_| {}).await
}

/// [`services`] after `edit` has changed the configuration (a loopback vendor's URL, a key,
/// a policy).
pub async fn services_with(edit: impl FnOnce(&mut Config)) -> TestServices {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = config_in(dir.path());
    edit(&mut config);
    let services = Services::build(config).await.expect("services");
    TestServices {
        services: Arc::new(services),
        dir,
    }
}

/// Writes the bundled sample (real daily prices, gzipped CSV) into `dir` and returns its path.
pub fn sample_file(dir: &Path) -> PathBuf {
    let path = dir.join("sample.csv.gz");
    std::fs::write(&path, sextant_data::providers::sample::BYTES).expect("write the sample");
    path
}

/// A date from `YYYY-MM-DD`.
pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a YYYY-MM-DD date")
}

/// A symbol from a literal.
pub fn sym(s: &str) -> Symbol {
    Symbol::new(s).expect("a valid symbol")
}

/// A daily backtest request of `strategy` with its default parameters on `symbols`, over the
/// whole history, with the default simulator and price basis.
pub fn request(strategy: &str, symbols: &[&str]) -> BacktestRequest {
    BacktestRequest {
        strategy: strategy.to_string(),
        params: json!({}),
        symbols: symbols.iter().map(|s| sym(s)).collect(),
        universe: None,
        resolution: Resolution::Daily,
        from: None,
        to: None,
        sim: Default::default(),
        seed: 0,
        periods_per_year: None,
        prices: Default::default(),
        risk_free: Default::default(),
    }
}
