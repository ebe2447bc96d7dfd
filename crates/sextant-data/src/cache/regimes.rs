//! Regime labels live next to the bars in DuckDB: a long daily series per regime model that
//! backtests read as an external series and dashboards aggregate.

use super::Cache;
use crate::{DataError, Result};
use chrono::NaiveDate;
use duckdb::params;

/// One stored label of a regime model.
#[derive(Debug, Clone, PartialEq)]
pub struct RegimeLabel {
    /// The session labelled.
    pub day: NaiveDate,
    /// The regime name (`bull`, `bear`, `sideways`, `high_vol`).
    pub label: String,
    /// p(regime | data up to `day`), in the model's column order.
    pub probabilities: Vec<f64>,
    /// The last day of the fit of the model that produced the label (before `day`, or `day`
    /// itself for the first label of a fit).
    pub fitted_to: NaiveDate,
}

impl Cache {
    /// Stores the labels of several models in one transaction: for each `(model, after,
    /// labels)`, the labels after `after` replace those stored after it, or (with `None`) all
    /// the labels replace the model's.
    #[allow(clippy::type_complexity)]
    pub fn write_regime_labels(
        &self,
        writes: &[(String, Option<NaiveDate>, Vec<RegimeLabel>)],
    ) -> Result<()> {
        self.write(|conn| {
            for (model, after, _) in writes {
                match after {
                    Some(a) => conn.execute(
                        "DELETE FROM regime_labels WHERE model = ? AND day > ?",
                        params![model, a],
                    )?,
                    None => {
                        conn.execute("DELETE FROM regime_labels WHERE model = ?", params![model])?
                    }
                };
            }
            let mut app = conn.appender("regime_labels")?;
            for (model, after, labels) in writes {
                for l in labels.iter().filter(|l| after.is_none_or(|a| l.day > a)) {
                    let probs = serde_json::to_string(&l.probabilities)
                        .map_err(|e| DataError::Invalid(format!("regime probabilities: {e}")))?;
                    app.append_row(params![model, l.day, l.label, probs, l.fitted_to])?;
                }
            }
            app.flush()?;
            Ok(())
        })
    }

    /// The labels of `model` between `from` and `to` (inclusive, open when `None`), oldest
    /// first; empty when the model has none.
    pub fn regime_labels(
        &self,
        model: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<RegimeLabel>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT day, label, probabilities, fitted_to FROM regime_labels \
             WHERE model = ? AND (? IS NULL OR day >= ?) AND (? IS NULL OR day <= ?) ORDER BY day",
        )?;
        let rows = stmt
            .query_map(params![model, from, from, to, to], |r| {
                Ok((
                    r.get::<_, NaiveDate>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, NaiveDate>(3)?,
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(day, label, probs, fitted_to)| {
                let probabilities = serde_json::from_str(&probs).map_err(|e| {
                    DataError::Invalid(format!(
                        "stored regime probabilities of {model} on {day}: {e}"
                    ))
                })?;
                Ok(RegimeLabel {
                    day,
                    label,
                    probabilities,
                    fitted_to,
                })
            })
            .collect()
    }
}
