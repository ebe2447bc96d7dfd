//! The history a forecast learns from, read point in time: daily log returns on total-return
//! prices (splits and dividends are not moves) up to the origin, with their dates, and the
//! value held at the origin.
//!
//! Several assets share only the days on which every one of them has a return; the others are
//! left out and counted (`excluded_days`), never filled.

use super::ForecastServiceError;
use chrono::NaiveDate;
use sextant_data::cache::BarReader;
use sextant_domain::{EquityPoint, PriceBasis, Resolution, Symbol};
use sextant_forecasts::Target;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A target with its dates.
#[derive(Debug, Clone)]
pub struct History {
    /// The holdings and their returns.
    pub target: Target,
    /// The date of each return row (the session the return ends on), ascending.
    pub dates: Vec<NaiveDate>,
    /// What is held: symbols, or the run id of a backtest's equity.
    pub assets: Vec<String>,
    /// Days on which some asset had a return and another did not: left out of the rows.
    pub excluded_days: usize,
}

impl History {
    /// The origin: the last session the forecast sees.
    pub fn as_of(&self) -> Option<NaiveDate> {
        self.dates.last().copied()
    }

    /// sha256 over the rows, dates and holdings: the exact inputs of the forecast.
    pub fn snapshot(&self) -> String {
        let mut h = Sha256::new();
        for d in &self.dates {
            h.update(d.to_string().as_bytes());
        }
        for r in self.target.returns() {
            h.update(r.to_le_bytes());
        }
        for (a, v) in self.assets.iter().zip(self.target.values()) {
            h.update(a.as_bytes());
            h.update(v.to_le_bytes());
        }
        h.update(self.target.cash().to_le_bytes());
        hex::encode(h.finalize())
    }
}

/// Daily total-return log returns of `symbol` up to `as_of`, by date (non-positive closes are
/// refused).
pub fn symbol_returns(
    reader: &dyn BarReader,
    symbol: &Symbol,
    as_of: Option<NaiveDate>,
) -> Result<BTreeMap<NaiveDate, f64>, ForecastServiceError> {
    let bars = reader.bars_on(
        symbol,
        Resolution::Daily,
        None,
        as_of,
        PriceBasis::TotalReturn,
    )?;
    if bars.len() < 2 {
        return Err(ForecastServiceError::NotFound(format!(
            "{symbol} has {} daily bars{}: a forecast needs history",
            bars.len(),
            as_of.map_or(String::new(), |d| format!(" up to {d}"))
        )));
    }
    log_returns(
        bars.iter().map(|b| (b.ts.date(), b.close)),
        &format!("{symbol}: close"),
    )
}

/// Log returns of a positive series by the date each return ends on. A non-positive value is
/// refused (`what` names it): it is a data fault, and a return through it is not a number.
fn log_returns(
    points: impl Iterator<Item = (NaiveDate, f64)>,
    what: &str,
) -> Result<BTreeMap<NaiveDate, f64>, ForecastServiceError> {
    let mut out = BTreeMap::new();
    let mut prev: Option<f64> = None;
    for (date, v) in points {
        if !v.is_finite() || v <= 0.0 {
            return Err(ForecastServiceError::Invalid(format!(
                "{what} is not positive on {date}: a log-return model cannot use it"
            )));
        }
        if let Some(p) = prev {
            out.insert(date, (v / p).ln());
        }
        prev = Some(v);
    }
    Ok(out)
}

/// The raw close of `symbol` on its last session up to `as_of`: the price a holder sees.
pub fn last_close(
    reader: &dyn BarReader,
    symbol: &Symbol,
    as_of: NaiveDate,
) -> Result<f64, ForecastServiceError> {
    reader
        .bars(symbol, Resolution::Daily, Some(as_of), Some(as_of))?
        .last()
        .map(|b| b.close)
        .ok_or_else(|| ForecastServiceError::NotFound(format!("{symbol} has no bar on {as_of}")))
}

/// The joint history of several assets held at `values` (market value each) plus `cash`.
pub fn joint(
    series: Vec<(String, BTreeMap<NaiveDate, f64>)>,
    values: Vec<f64>,
    cash: f64,
) -> Result<History, ForecastServiceError> {
    let mut all: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for (_, s) in &series {
        for d in s.keys() {
            *all.entry(*d).or_default() += 1;
        }
    }
    let n = series.len();
    let dates: Vec<NaiveDate> = all
        .iter()
        .filter(|(_, c)| **c == n)
        .map(|(d, _)| *d)
        .collect();
    let excluded_days = all.len() - dates.len();
    let mut returns = Vec::with_capacity(dates.len() * n);
    for d in &dates {
        for (_, s) in &series {
            returns.push(s[d]);
        }
    }
    let assets = series.into_iter().map(|(a, _)| a).collect();
    Ok(History {
        target: Target::new(returns, n, values, cash)?,
        dates,
        assets,
        excluded_days,
    })
}

/// A backtest's equity as one asset: log returns of the equity curve up to `as_of`, worth the
/// last equity.
pub fn equity_history(
    run_id: &str,
    curve: &[EquityPoint],
    as_of: Option<NaiveDate>,
) -> Result<History, ForecastServiceError> {
    let points: Vec<&EquityPoint> = curve
        .iter()
        .filter(|p| as_of.is_none_or(|d| p.ts.date() <= d))
        .collect();
    let Some(last) = points.last() else {
        return Err(ForecastServiceError::NotFound(format!(
            "run {run_id} has no equity curve{}",
            as_of.map_or(String::new(), |d| format!(" up to {d}"))
        )));
    };
    // One value per session: the last mark of each day (an intraday run's close).
    let daily: BTreeMap<NaiveDate, f64> = points.iter().map(|p| (p.ts.date(), p.equity)).collect();
    // Weekly or monthly marks are not daily returns: the models' days would be weeks.
    let dates: Vec<&NaiveDate> = daily.keys().collect();
    let long_gaps = dates
        .windows(2)
        .filter(|w| (*w[1] - *w[0]).num_days() > 5)
        .count();
    if dates.len() > 2 && long_gaps * 2 > dates.len() - 1 {
        return Err(ForecastServiceError::Invalid(format!(
            "run {run_id} marks its equity less often than daily: forecasts need daily equity"
        )));
    }
    let series = log_returns(daily.into_iter(), &format!("run {run_id}: equity"))?;
    joint(vec![(run_id.to_string(), series)], vec![last.equity], 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn point(ts: &str, equity: f64) -> EquityPoint {
        EquityPoint {
            ts: NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M").expect("ts"),
            equity,
            cash: 0.0,
        }
    }

    #[test]
    fn intraday_equity_becomes_one_return_per_session() {
        let curve = [
            point("2024-01-02 10:00", 100.0),
            point("2024-01-02 16:00", 101.0),
            point("2024-01-03 10:00", 99.0),
            point("2024-01-03 16:00", 102.0),
            point("2024-01-04 16:00", 103.0),
        ];
        let h = equity_history("bt", &curve, None).expect("history");
        assert_eq!(h.dates.len(), 2, "one return per pair of sessions");
        assert!((h.target.returns()[0] - (102.0f64 / 101.0).ln()).abs() < 1e-15);
        assert_eq!(h.target.start_value(), 103.0);
    }

    #[test]
    fn weekly_equity_is_refused_and_non_positive_values_named() {
        let weekly: Vec<EquityPoint> = (0..10)
            .map(|w| {
                point(
                    &format!("2024-01-{:02} 16:00", 1 + 7 * (w % 4)),
                    100.0 + w as f64,
                )
            })
            .collect();
        let mut weekly = weekly;
        weekly.sort_by_key(|p| p.ts);
        weekly.dedup_by_key(|p| p.ts);
        assert!(matches!(
            equity_history("bt", &weekly, None),
            Err(ForecastServiceError::Invalid(_))
        ));
        let bad = [
            point("2024-01-02 16:00", 100.0),
            point("2024-01-03 16:00", 0.0),
        ];
        match equity_history("bt", &bad, None) {
            Err(ForecastServiceError::Invalid(m)) => assert!(m.contains("2024-01-03"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
