//! Helpers shared by the service tests (the fixtures themselves live in `sextant-test-support`).
#![allow(dead_code)]

use sextant_core::Services;
#[allow(unused_imports)]
pub use sextant_test_support::d;

/// The services on the embedded defaults in `dir` (the bundled sample is loaded).
pub async fn services(dir: &std::path::Path) -> Services {
    Services::build(sextant_test_support::config_in(dir))
        .await
        .expect("services")
}
