//! What a regime model is (its spec) and what the service stores and serves about it: state,
//! the regime of a day, per-regime summaries, alerts.

use super::features::{default_features, RegimeFeature};
use super::RegimeServiceError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sextant_domain::Symbol;
use sextant_regimes::{Regime, Segment, WalkConfig};
use std::collections::HashMap;

/// Metadata collection of regime models (spec and state; id = the model's name).
pub const REGIME_MODELS: &str = "regime_models";
/// Metadata collection of confirmed regime changes.
pub const REGIME_ALERTS: &str = "regime_alerts";
/// Most symbols in one regime model.
pub const MAX_REGIME_SYMBOLS: usize = 1000;
/// Most work one update may be configured for, in row-iterations (fits × restarts × max_iter ×
/// rows): an upper bound on EM's cost that keeps one request from holding a core for long.
/// The defaults on 20 years of daily bars need about 2.3e8.
pub const MAX_REGIME_WORK: f64 = 2e9;

fn default_confirm() -> usize {
    3
}

/// A valid regime model name: 1 to 64 characters of A-Z, a-z, 0-9, `_`, `.`, `^` and `-` (a
/// symbol's own model is named after it, and index symbols start with `^`).
pub fn is_model_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '^'))
}

/// What a regime model is fitted on and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeSpec {
    /// The model's name: 1 to 64 of A-Z, a-z, 0-9, `_`, `.`, `-`.
    pub name: String,
    /// One symbol, or the members of an equal-weight universe.
    pub symbols: Vec<Symbol>,
    /// The inputs, `return` first. Default: `["return", "volatility"]`.
    #[serde(default = "default_features")]
    pub features: Vec<RegimeFeature>,
    /// Model family, states, restarts, seed and the refit schedule. Default: a 3-state HMM,
    /// first fit on 504 days, refitted every 252.
    #[serde(default)]
    pub walk: WalkConfig,
    /// Consecutive days a new label must hold before a change is confirmed and alerted.
    /// Default: 3.
    #[serde(default = "default_confirm")]
    pub confirm_bars: usize,
    /// An `http(s)://` URL that receives each new alert as a JSON POST. Default: none.
    #[serde(default)]
    pub webhook: Option<String>,
}

impl RegimeSpec {
    /// The default model of one symbol, named after it.
    pub fn for_symbol(symbol: &Symbol) -> RegimeSpec {
        RegimeSpec {
            name: symbol.to_string(),
            symbols: vec![symbol.clone()],
            features: default_features(),
            walk: WalkConfig::default(),
            confirm_bars: default_confirm(),
            webhook: None,
        }
    }

    pub(super) fn check(&self) -> Result<(), RegimeServiceError> {
        let bad = |m: String| Err(RegimeServiceError::Invalid(m));
        if !is_model_name(&self.name) {
            return bad("name must be 1 to 64 characters of A-Z, a-z, 0-9, _, ., ^ and -".into());
        }
        if self.symbols.is_empty() || self.symbols.len() > MAX_REGIME_SYMBOLS {
            return bad(format!(
                "symbols must list 1 to {MAX_REGIME_SYMBOLS} symbols, got {}",
                self.symbols.len()
            ));
        }
        if !(1..=250).contains(&self.confirm_bars) {
            return bad(format!(
                "confirm_bars must be 1 to 250, got {}",
                self.confirm_bars
            ));
        }
        if let Some(url) = &self.webhook {
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 2000 {
                return bad("webhook must be an http:// or https:// URL".into());
            }
        }
        self.walk.check()?;
        Ok(())
    }
}

/// The regime on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeNow {
    /// The session.
    pub day: NaiveDate,
    /// The most probable regime given data up to `day`.
    pub regime: String,
    /// p(regime | data up to `day`) by regime name.
    pub probabilities: HashMap<String, f64>,
    /// The last day of the fit of the model that labelled `day`.
    pub fitted_to: NaiveDate,
}

/// What one regime looked like over the labelled days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeSummary {
    /// The regime.
    pub regime: Regime,
    /// Labelled days in it.
    pub days: usize,
    /// Share of the labelled days.
    pub share: f64,
    /// Mean daily return (first feature) on those days; `None` without any.
    pub mean_return: Option<f64>,
    /// Annualised standard deviation of that return on those days; `None` with fewer than
    /// two.
    pub volatility: Option<f64>,
}

/// A regime model as stored: its spec and its latest state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeState {
    /// What it is fitted on and how.
    pub spec: RegimeSpec,
    /// The regimes with a probability column, in order.
    pub columns: Vec<Regime>,
    /// Every fitted model (walk-forward), oldest first, with its fit-end day in `fit_days`.
    pub segments: Vec<Segment>,
    /// The last day of each segment's fit.
    pub fit_days: Vec<NaiveDate>,
    /// The first and last labelled day.
    pub first_day: NaiveDate,
    /// The last labelled day.
    pub last_day: NaiveDate,
    /// The regime on the last day.
    pub latest: RegimeNow,
    /// Days with bars that have no feature row (members missing, windows filling).
    pub days_left_out: usize,
    /// Days before the first fit ended (no model yet, no label).
    pub days_unlabelled: usize,
    /// Each regime's share and statistics over the labelled days.
    pub summary: Vec<RegimeSummary>,
    /// Models fitted by the latest update (the rest were reused).
    pub fitted_last_update: usize,
    /// When it was last updated (RFC 3339, UTC).
    pub updated_at: String,
}

/// A confirmed regime change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeAlert {
    /// `{model}:{day}`.
    pub id: String,
    /// The regime model.
    pub model: String,
    /// The day the change was confirmed (the `confirm_bars`-th day of the new label).
    pub day: NaiveDate,
    /// The first day of the new label's run.
    pub began: NaiveDate,
    /// The regime confirmed before.
    pub from: Regime,
    /// The regime confirmed now.
    pub to: Regime,
    /// What triggered it: the hysteresis used and the probabilities on `day`.
    pub confirm_bars: usize,
    /// p(regime | data up to `day`) on the confirmation day.
    pub probabilities: HashMap<String, f64>,
    /// True for changes found when a model was first fitted over history (not sent to the
    /// webhook).
    pub backfill: bool,
    /// What the webhook answered (`"sent: 200"`, `"failed: …"`), when one is configured.
    pub webhook: Option<String>,
    /// When it was recorded (RFC 3339, UTC).
    pub created_at: String,
}
