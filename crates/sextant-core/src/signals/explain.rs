//! A model explained over a window: which features drive its probabilities (mean |SHAP| over
//! the window's rows) and, row by row, the smallest single-feature change that flips its
//! signal (a counterfactual).
//!
//! Counterfactual search: for each feature, the 99 percentiles of its training rows are tried
//! in place of the row's value, the others fixed; of the changes that move the probability
//! across the threshold, the one smallest in training standard deviations is kept. Changes of
//! several features at once are not searched (a gap), and a row no single change flips is
//! counted, not hidden.

use super::registry::ModelRecord;
use super::{MlSignalService, SignalError};
use chrono::NaiveDate;
use sextant_mlops::drift::quantile_sorted;
use sextant_mlops::eval::{Counterfactual, Explanation, ShapSummary};

/// Most rows in a SHAP summary.
pub const MAX_SHAP_ROWS: usize = 2000;
/// Rows given a counterfactual.
pub const COUNTERFACTUAL_ROWS: usize = 50;

/// `k` indices spread evenly over `0..n` (all of them when `n <= k`).
fn spread(n: usize, k: usize) -> Vec<usize> {
    if n <= k {
        return (0..n).collect();
    }
    (0..k).map(|i| i * (n - 1) / (k - 1).max(1)).collect()
}

impl MlSignalService {
    /// Explains model `rec` on its symbols' rows in `from..=to` against signal `threshold`.
    pub fn explain_window(
        &self,
        rec: &ModelRecord,
        from: NaiveDate,
        to: NaiveDate,
        threshold: f64,
    ) -> Result<Explanation, SignalError> {
        if !(threshold > 0.0 && threshold < 1.0) {
            return Err(SignalError::Invalid(format!(
                "signal threshold must be in (0, 1), not {threshold}"
            )));
        }
        let model = self.model(rec)?;
        let (reference, window) = self.training_and_window(rec, from, to)?;
        let f = rec.features.len();
        // Per feature: the training rows' percentiles 1..99 and standard deviation.
        let grid: Vec<(Vec<f64>, f64)> = (0..f)
            .map(|j| {
                let mut v: Vec<f64> = reference.columns[j]
                    .iter()
                    .copied()
                    .filter(|x| x.is_finite())
                    .collect();
                v.sort_by(f64::total_cmp);
                if v.len() < 2 {
                    return (Vec::new(), 0.0);
                }
                let n = v.len() as f64;
                let m = v.iter().sum::<f64>() / n;
                let sd = (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)).sqrt();
                let q = (1..100)
                    .map(|p| quantile_sorted(&v, p as f64 / 100.0))
                    .collect();
                (q, sd)
            })
            .collect();
        let mut shap = vec![0.0; f];
        let shap_rows = spread(window.len(), MAX_SHAP_ROWS);
        for &i in &shap_rows {
            for (acc, v) in shap
                .iter_mut()
                .zip(model.shap_values(&window.row(i)).values)
            {
                *acc += v.abs();
            }
        }
        let mut summary: Vec<ShapSummary> = rec
            .features
            .iter()
            .zip(&shap)
            .map(|(name, s)| ShapSummary {
                feature: name.clone(),
                mean_abs: s / shap_rows.len().max(1) as f64,
            })
            .collect();
        summary.sort_by(|a, b| b.mean_abs.total_cmp(&a.mean_abs));
        let (mut counterfactuals, mut unflippable) = (Vec::new(), 0);
        for i in spread(window.len(), COUNTERFACTUAL_ROWS) {
            let row = window.row(i);
            let p = model.predict_proba(&row);
            let side = p >= threshold;
            let mut best: Option<Counterfactual> = None;
            for (j, (values, sd)) in grid.iter().enumerate() {
                if *sd <= 0.0 || !row[j].is_finite() {
                    continue;
                }
                let mut trial = row.clone();
                for &v in values {
                    trial[j] = v;
                    let q = model.predict_proba(&trial);
                    let change = (v - row[j]) / sd;
                    let smaller = best
                        .as_ref()
                        .is_none_or(|b| change.abs() < b.change_sd.abs());
                    if (q >= threshold) != side && smaller {
                        best = Some(Counterfactual {
                            symbol: window.symbols[i].clone(),
                            day: window.ts[i].date(),
                            probability: p,
                            feature: rec.features[j].clone(),
                            value: row[j],
                            flipped_value: v,
                            change_sd: change,
                            flipped_probability: q,
                        });
                    }
                }
            }
            match best {
                Some(c) => counterfactuals.push(c),
                None => unflippable += 1,
            }
        }
        Ok(Explanation {
            model_id: rec.id.clone(),
            threshold,
            rows: shap_rows.len(),
            shap: summary,
            counterfactuals,
            unflippable,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn spread_keeps_ends_and_count() {
        assert_eq!(super::spread(3, 5), vec![0, 1, 2]);
        let s = super::spread(101, 5);
        assert_eq!(s, vec![0, 25, 50, 75, 100]);
    }
}
