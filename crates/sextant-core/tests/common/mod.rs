//! Helpers shared by the service tests.
#![allow(dead_code)]

use chrono::NaiveDate;
use sextant_core::{Config, Services};

/// The services on the embedded defaults in `dir` (the bundled sample is loaded).
pub async fn services(dir: &std::path::Path) -> Services {
    let config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    Services::build(config).await.expect("services")
}

/// A date from `YYYY-MM-DD`.
pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}
