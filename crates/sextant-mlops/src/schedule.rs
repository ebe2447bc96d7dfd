//! Retraining schedules: what a schedule is, and when it fires next.
//!
//! A schedule names a model (by registry name), a cron pattern saying when it is evaluated, a
//! condition ([`Trigger`]: every slot, when drift reaches a band, when the production model is
//! older than N days) and an [`Action`]. The firing itself (claiming a slot exactly once,
//! submitting the job, surviving a restart) lives with the job system in `sextant-core`; this
//! module is the pure part: parsing and validating the pattern and computing the next slot.
//!
//! Cron patterns are evaluated in UTC by [croner] (POSIX/Vixie semantics with the usual
//! extensions `L`, `#`, `W` and the aliases `@daily`, `@weekly`…). Only five-field patterns
//! (minute granularity) are accepted: a model is not retrained every second.

use crate::drift::DriftBand;
use crate::MlopsError;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// When a schedule's slot acts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// At every slot (for example every Monday 06:00 UTC).
    Every,
    /// When a drift check of the production model at the slot reaches `band` (`warn` or
    /// `alert`).
    Drift {
        /// The band that triggers: `warn` or `alert`.
        band: DriftBand,
    },
    /// When the production model was trained more than `max_days` days before the slot.
    Age {
        /// Largest age in days, 1 to 3650.
        max_days: u32,
    },
}

impl Trigger {
    /// Refuses a drift trigger at band `none` (it would fire at every slot: use `every`) and
    /// ages outside 1..=3650 days.
    pub fn validate(&self) -> Result<(), MlopsError> {
        match *self {
            Trigger::Drift {
                band: DriftBand::None,
            } => Err(MlopsError::Input(
                "a drift trigger needs band warn or alert (use kind every to act at each slot)"
                    .into(),
            )),
            Trigger::Age { max_days } if !(1..=3650).contains(&max_days) => Err(MlopsError::Input(
                format!("max_days must be 1 to 3650, not {max_days}"),
            )),
            _ => Ok(()),
        }
    }
}

/// What a schedule's slot does.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    /// Retrain the model on data up to the newest bar (when the trigger holds); the new version
    /// lands in staging and is promoted only by the promotion rule.
    Retrain,
    /// Check the production model's drift and store the report (alerts on a band).
    DriftCheck,
}

/// A parsed, validated five-field cron pattern in UTC.
#[derive(Debug, Clone)]
pub struct CronPattern {
    text: String,
    cron: croner::Cron,
}

impl CronPattern {
    /// Parses `text`: five fields (`min hour dom mon dow`) or an alias (`@daily`, `@weekly`,
    /// `@monthly`, `@yearly`, `@hourly`). Seconds and years are refused.
    pub fn parse(text: &str) -> Result<CronPattern, MlopsError> {
        let t = text.trim();
        let fields = t.split_whitespace().count();
        if !(t.starts_with('@') && fields == 1) && fields != 5 {
            return Err(MlopsError::Input(format!(
                "cron pattern {t:?}: give five fields (minute hour day-of-month month day-of-week, \
                 in UTC) or an alias such as @weekly"
            )));
        }
        let cron = croner::Cron::from_str(t)
            .map_err(|e| MlopsError::Input(format!("cron pattern {t:?}: {e}")))?;
        Ok(CronPattern {
            text: t.to_string(),
            cron,
        })
    }

    /// The pattern as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first slot strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, MlopsError> {
        self.cron
            .find_next_occurrence(&after, false)
            .map_err(|e| MlopsError::Input(format!("cron pattern {:?}: {e}", self.text)))
    }

    /// [`Self::next_after`] in epoch milliseconds, the form schedules store (so that one
    /// numeric comparison finds the due ones on both metadata backends).
    pub fn next_after_ms(&self, after_ms: i64) -> Result<i64, MlopsError> {
        let after = Utc
            .timestamp_millis_opt(after_ms)
            .single()
            .ok_or_else(|| MlopsError::Input(format!("time {after_ms} ms is out of range")))?;
        Ok(self.next_after(after)?.timestamp_millis())
    }

    /// A readable description ("At 06:00 on Monday").
    pub fn describe(&self) -> String {
        self.cron.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .expect("test time")
    }

    #[test]
    fn weekly_pattern_fires_next_monday_in_utc() {
        let p = CronPattern::parse("0 6 * * MON").expect("pattern");
        // 2026-12-06 is a Sunday.
        let n = p.next_after(at("2026-12-06T08:00:00Z")).expect("next");
        assert_eq!(n, at("2026-12-07T06:00:00Z"));
        // Strictly after: at the slot itself, the next one is a week later.
        let n2 = p.next_after(n).expect("next");
        assert_eq!(n2, at("2026-12-14T06:00:00Z"));
        assert_eq!(
            p.next_after_ms(n.timestamp_millis()).expect("ms"),
            n2.timestamp_millis()
        );
    }

    #[test]
    fn aliases_and_bad_patterns() {
        let p = CronPattern::parse("@daily").expect("alias");
        assert_eq!(
            p.next_after(at("2026-12-06T08:00:00Z")).expect("next"),
            at("2026-12-07T00:00:00Z")
        );
        for bad in [
            "",
            "* * * *",
            "0 0 6 * * MON",
            "61 * * * *",
            "0 6 * * FUNDAY",
            "@often",
        ] {
            assert!(CronPattern::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn triggers_validate() {
        assert!(Trigger::Drift {
            band: DriftBand::None
        }
        .validate()
        .is_err());
        assert!(Trigger::Age { max_days: 0 }.validate().is_err());
        assert!(Trigger::Age { max_days: 30 }.validate().is_ok());
        let t: Trigger = serde_json::from_str(r#"{"kind":"drift","band":"alert"}"#).expect("json");
        assert_eq!(
            t,
            Trigger::Drift {
                band: DriftBand::Alert
            }
        );
    }
}
