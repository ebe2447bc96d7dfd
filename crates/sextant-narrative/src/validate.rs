//! Validation of a narrative against its [`FactSheet`]: structure, numbers, claims, policy.
//!
//! Each check is rule-based and explainable, so a rejected LLM answer comes with a reason a
//! person (or a retry prompt) can act on, and a template answer is never falsely rejected.

use crate::facts::{FactSheet, Unit};
use crate::numbers::{scan, Number, Token};
use serde::{Deserialize, Serialize};

/// What kind of rule a narrative broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// A required `## ` section heading is absent (no span).
    MissingSection,
    /// A number that matches no fact, allowed number or period year within its displayed rounding.
    UnsupportedNumber,
    /// An ISO date that is not one of the sheet's named dates.
    UnsupportedDate,
    /// A directional or comparative claim the sheet contradicts (span: the whole sentence).
    ContradictedClaim,
    /// Personalised investment advice or a promise of results (see
    /// [`crate::policy::ADVICE_PHRASES`]).
    Advice,
    /// Abusive language (see [`crate::policy::TOXIC_WORDS`]).
    Toxic,
    /// Personal data or a secret: an e-mail address, a phone or social-security number, a
    /// payment card number (Luhn-valid), an API key or a private key (see
    /// [`crate::policy::check_pii`]).
    Pii,
}

/// Byte range in the validated text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// First byte of the range.
    pub start: usize,
    /// Byte just past the range (exclusive).
    pub end: usize,
}

/// One broken rule, explained so that a person or a retry prompt can act on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// Which rule was broken.
    pub kind: ViolationKind,
    /// What is wrong, in words; quoted verbatim in the retry prompt.
    pub detail: String,
    /// Where in the text; `None` for a violation with no location (a missing section).
    pub span: Option<Span>,
}

/// The verdict on one narrative: it passes only with no violation at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// True when `violations` is empty.
    pub ok: bool,
    /// Every violation found, by validator: structure, numbers and dates, claims, policy.
    pub violations: Vec<Violation>,
}

/// What the validators require and allow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidatorConfig {
    /// Markdown `## ` headings that must be present (case-insensitive).
    pub required_sections: Vec<String>,
    /// Numbers always allowed besides the facts (e.g. a horizon named in the prompt).
    pub allowed_numbers: Vec<f64>,
}

/// The five sections every narrative has.
pub const DEFAULT_SECTIONS: [&str; 5] = ["Summary", "Performance", "Risk", "Trades", "Caveats"];

impl Default for ValidatorConfig {
    fn default() -> Self {
        ValidatorConfig {
            required_sections: DEFAULT_SECTIONS.iter().map(|s| s.to_string()).collect(),
            allowed_numbers: Vec::new(),
        }
    }
}

/// Runs every validator with the default configuration.
pub fn validate(text: &str, sheet: &FactSheet) -> ValidationReport {
    validate_with(text, sheet, &ValidatorConfig::default())
}

/// Runs every validator: structure, numbers and dates, directional claims, policy.
pub fn validate_with(text: &str, sheet: &FactSheet, config: &ValidatorConfig) -> ValidationReport {
    let mut violations = check_structure(text, &config.required_sections);
    violations.extend(check_numbers(text, sheet, &config.allowed_numbers));
    violations.extend(crate::claims::check_claims(text, sheet));
    violations.extend(crate::policy::check_policy(text));
    ValidationReport {
        ok: violations.is_empty(),
        violations,
    }
}

/// (a) Every required section is a `## ` heading, optionally numbered (`## 2. Risk`).
pub fn check_structure(text: &str, required: &[String]) -> Vec<Violation> {
    let headings: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("## "))
        .map(|h| {
            let h = h.trim();
            let unnumbered =
                h.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ')');
            unnumbered.trim().to_lowercase()
        })
        .collect();
    required
        .iter()
        .filter(|r| !headings.contains(&r.trim().to_lowercase()))
        .map(|r| Violation {
            kind: ViolationKind::MissingSection,
            detail: format!("missing section \"## {r}\""),
            span: None,
        })
        .collect()
}

/// Slack for binary floating point on top of the displayed rounding.
const EPS: f64 = 1e-9;

fn within(value: f64, written: f64, tol: f64) -> bool {
    (value - written).abs() <= tol * (1.0 + EPS) + EPS * value.abs().max(1.0)
}

/// Whether a written number states some fact (or allowed number) within its displayed rounding.
///
/// - `12.3%` matches a `Percent` fact f when |100·f − 12.3| ≤ 0.05 (and any allowed number
///   written as a percentage, e.g. the 95 of "95% VaR");
/// - a plain number matches any fact's value as is (so 0.123 states a fraction 0.1234 and 0.20
///   a Sharpe ratio of 0.202);
/// - without an explicit sign a number may state a magnitude ("lost 12.3%" for −0.123); with
///   one, the sign must agree.
pub fn number_matches(n: &Number, sheet: &FactSheet, extra_allowed: &[f64]) -> bool {
    let tol = n.tolerance();
    let ok = |v: f64| within(v, n.value, tol) || (!n.signed && within(v.abs(), n.value, tol));
    let fact_hit = sheet.facts.iter().any(|f| {
        if n.percent {
            f.unit == Unit::Percent && ok(f.value * 100.0)
        } else {
            ok(f.value)
        }
    });
    let allowed = sheet.whitelisted_numbers();
    fact_hit
        || allowed
            .iter()
            .chain(extra_allowed)
            .any(|&v| ok(v) || (n.percent && ok(v * 100.0)))
}

/// Years the narrative may name: those of the period and of every fact date.
fn year_ok(n: &Number, sheet: &FactSheet) -> bool {
    if n.decimals != 0
        || n.percent
        || n.currency
        || n.signed
        || !(1900.0..=2100.0).contains(&n.value)
    {
        return false;
    }
    let year = n.value as i32;
    use chrono::Datelike;
    let in_period = match (sheet.start, sheet.end) {
        (Some(s), Some(e)) => (s.year()..=e.year()).contains(&year),
        _ => false,
    };
    in_period || sheet.dates.values().any(|d| d.year() == year)
}

/// (b) Every number and date in the text is a fact within its rounding, an allowed number, or a
/// year inside the backtest period; every ISO date is one of the sheet's dates.
pub fn check_numbers(text: &str, sheet: &FactSheet, allowed: &[f64]) -> Vec<Violation> {
    let mut out = Vec::new();
    for s in scan(text) {
        let span = Some(Span {
            start: s.start,
            end: s.end,
        });
        let written = &text[s.start..s.end];
        match s.token {
            Token::Date(d) => {
                if !sheet.dates.values().any(|&f| f == d) {
                    out.push(Violation {
                        kind: ViolationKind::UnsupportedDate,
                        detail: format!("date {written} is not in the fact sheet"),
                        span,
                    });
                }
            }
            Token::Number(n) => {
                if !number_matches(&n, sheet, allowed) && !year_ok(&n, sheet) {
                    out.push(Violation {
                        kind: ViolationKind::UnsupportedNumber,
                        detail: format!("number {written} matches no fact within its rounding"),
                        span,
                    });
                }
            }
        }
    }
    out
}
