//! Stored forecasts judged by the bars that arrived after them: for every stored forecast of a
//! symbol and every day of its horizon that has happened, was the value inside each band?
//! This is the historical evaluation the stored quantiles exist for; unlike the walk-forward
//! calibration it scores exactly what was served, with the paths, seed and model of the day.

use super::engine::InferenceEngine;
use super::ForecastServiceError;
use crate::common::blocking;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sextant_data::cache::{ForecastQuantile, StoredForecast};
use sextant_domain::Symbol;
use std::collections::BTreeMap;

/// The central bands scored: nominal coverage and their lower and upper quantile levels.
const BANDS: [(f64, f64, f64); 4] = [
    (0.5, 0.25, 0.75),
    (0.8, 0.10, 0.90),
    (0.9, 0.05, 0.95),
    (0.98, 0.01, 0.99),
];

/// Coverage of one band over the realised (forecast, day) pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StoredBand {
    /// Nominal coverage (0.9 = the 5–95 % band).
    pub level: f64,
    /// Pairs scored.
    pub observations: usize,
    /// Share of realised values inside the band.
    pub coverage: f64,
    /// Share below it.
    pub below: f64,
    /// Share above it.
    pub above: f64,
}

/// How a symbol's stored forecasts fared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredScore {
    /// The symbol.
    pub target: String,
    /// Stored forecasts of it.
    pub forecasts: usize,
    /// Of those, forecasts with no realised day yet (their origin is the last bar).
    pub pending: usize,
    /// Realised (forecast, day) pairs.
    pub scored_days: usize,
    /// Every band over every realised day of every forecast (days of one forecast overlap:
    /// the pairs are not independent).
    pub bands: Vec<StoredBand>,
    /// The same bands over the first day of each forecast only (independent across origins).
    pub next_day: Vec<StoredBand>,
    /// Stored forecasts whose origin is not a session with a bar any more (left out).
    pub orphaned: usize,
}

impl InferenceEngine {
    /// Scores every stored forecast of `symbol` against the total-return bars after its
    /// origin: the realised value on day `d` is the forecast's start value times the
    /// total-return ratio from the origin to the `d`-th session after it.
    pub async fn score_stored(&self, symbol: &Symbol) -> Result<StoredScore, ForecastServiceError> {
        let reader = self.reads().get();
        let sym = symbol.clone();
        let (stored, closes) = blocking(move || {
            let stored = reader.forecasts_of("symbol", sym.as_str())?;
            let mut quantiles = reader.forecast_quantiles_of("symbol", sym.as_str())?;
            // A forecast replaced between the two reads is simply not scored.
            let with_q: Vec<_> = stored
                .into_iter()
                .filter_map(|f| {
                    let q = quantiles.remove(&f.id)?;
                    Some((f, q))
                })
                .collect();
            let closes = reader.bars_on(
                &sym,
                sextant_domain::Resolution::Daily,
                None,
                None,
                sextant_domain::PriceBasis::TotalReturn,
            )?;
            Ok((with_q, closes))
        })
        .await?;
        if stored.is_empty() {
            return Err(ForecastServiceError::NotFound(format!(
                "no stored forecasts of {symbol}"
            )));
        }
        let series: Vec<(NaiveDate, f64)> = closes.iter().map(|b| (b.ts.date(), b.close)).collect();
        Ok(score(symbol.as_str(), &stored, &series))
    }
}

/// Tallies per band: (inside, below, above).
type Tally = [(usize, usize, usize); 4];

fn score(
    target: &str,
    stored: &[(StoredForecast, Vec<ForecastQuantile>)],
    closes: &[(NaiveDate, f64)],
) -> StoredScore {
    let index: BTreeMap<NaiveDate, usize> = closes
        .iter()
        .enumerate()
        .map(|(i, (d, _))| (*d, i))
        .collect();
    let (mut all, mut first): (Tally, Tally) = Default::default();
    let (mut pending, mut orphaned, mut scored) = (0, 0, 0);
    for (f, quantiles) in stored {
        let Some(&o) = index.get(&f.as_of) else {
            orphaned += 1;
            continue;
        };
        let base = closes[o].1;
        let mut by_day: BTreeMap<u32, Vec<&ForecastQuantile>> = BTreeMap::new();
        for q in quantiles {
            by_day.entry(q.day).or_default().push(q);
        }
        let mut any = false;
        for (day, qs) in &by_day {
            let Some((_, close)) = closes.get(o + *day as usize) else {
                continue;
            };
            let value = f.start_value * close / base;
            let at = |level: f64| {
                qs.iter()
                    .find(|q| (q.quantile - level).abs() < 1e-9)
                    .map(|q| q.value)
            };
            for (k, (_, lo, hi)) in BANDS.iter().enumerate() {
                let (Some(l), Some(h)) = (at(*lo), at(*hi)) else {
                    continue;
                };
                let cell = if value < l {
                    (0, 1, 0)
                } else if value > h {
                    (0, 0, 1)
                } else {
                    (1, 0, 0)
                };
                add(&mut all[k], cell);
                if *day == 1 {
                    add(&mut first[k], cell);
                }
            }
            any = true;
            scored += 1;
        }
        if !any {
            pending += 1;
        }
    }
    StoredScore {
        target: target.to_string(),
        forecasts: stored.len(),
        pending,
        scored_days: scored,
        bands: bands(&all),
        next_day: bands(&first),
        orphaned,
    }
}

fn add(t: &mut (usize, usize, usize), c: (usize, usize, usize)) {
    t.0 += c.0;
    t.1 += c.1;
    t.2 += c.2;
}

fn bands(t: &Tally) -> Vec<StoredBand> {
    BANDS
        .iter()
        .zip(t)
        .map(|((level, _, _), (inside, below, above))| {
            let n = inside + below + above;
            let share = |x: usize| if n > 0 { x as f64 / n as f64 } else { f64::NAN };
            StoredBand {
                level: *level,
                observations: n,
                coverage: share(*inside),
                below: share(*below),
                above: share(*above),
            }
        })
        .collect()
}
