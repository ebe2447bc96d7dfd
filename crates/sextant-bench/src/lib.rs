#![warn(missing_docs)]
//! Benchmarks that need the whole data path, kept out of the library crates they measure.
//!
//! - [`quality`]: known corruptions injected with a seed into real bars, ingested through the
//!   normal path and scored for recall and precision per check and policy.

pub mod quality;
