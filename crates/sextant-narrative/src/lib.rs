#![warn(missing_docs)]
//! Factual guardrails for narratives (LLM-written or templated) of backtest results.
//!
//! An LLM summary of a backtest is useful only if it is true to the run, so this crate holds the
//! guardrails (pure and LLM-free) and the service that applies them to a model:
//! - [`FactSheet`]: every number and date of one run and its buy-and-hold benchmark, each
//!   number with a canonical id and a [`Unit`];
//! - [`validate`]: structure, numbers and dates, directional claims and policy checks returning
//!   a [`ValidationReport`] whose violations say what is wrong and where;
//! - [`render_template`]: a narrative grounded in the sheet that always passes [`validate`],
//!   used as the fallback when a generated one does not;
//! - [`ReportGenerationService`]: prompt, validate, re-prompt with
//!   the violations, fall back to the template, and cache and record every narrative.

pub mod claims;
pub mod comparison;
pub mod drawdowns;
pub mod facts;
pub mod numbers;
pub mod policy;
pub mod render;
pub mod service;
mod text;
pub mod validate;

pub use comparison::{benchmark_run, fact_sheet_for, Comparison, Side};
pub use drawdowns::{worst_drawdowns, DrawdownPeriod};
pub use facts::{Fact, FactSheet, Unit};
pub use render::{format_fact, format_value, render_template};
pub use service::{
    offline_provider, AttemptRecord, Outcome, Report, ReportError, ReportGenerationService,
};
pub use validate::{
    validate, validate_with, Span, ValidationReport, ValidatorConfig, Violation, ViolationKind,
};
