//! What a run needs beyond its bars: the instruments' session model (the annualisation) and the
//! risk-free rate per bar, resolved from the request's `risk_free` and the cached economic series.

use super::BacktestError;
use chrono::{DateTime, NaiveDate};
use sextant_backtest::run::{as_of, BacktestRequest, RiskFree, RiskFreeInput, RiskFreeUsed};
use sextant_backtest::simulator::MarketData;
use sextant_data::cache::BarReader;
use sextant_domain::{SeriesKey, SessionModel};
use sha2::{Digest, Sha256};

/// The session model and risk-free rate of a run on `market`; the string says why the rate is
/// zero when there is none.
pub(crate) fn resolve(
    cache: &dyn BarReader,
    req: &BacktestRequest,
    market: &MarketData,
) -> Result<(SessionModel, Option<RiskFreeInput>, String), BacktestError> {
    let session = match (cache.common_session(&req.symbols), req.periods_per_year) {
        (Ok(model), _) => model,
        // An explicit annualisation needs no common session: mixed instruments may run (the
        // manifest then names no session model).
        (Err(_), Some(_)) => SessionModel::Xnys,
        (Err(e), None) => return Err(BacktestError::invalid(e.to_string())),
    };
    let dates: Vec<NaiveDate> = market
        .ts()
        .iter()
        .map(|&t| DateTime::from_timestamp(t, 0).map(|d| d.date_naive()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| BacktestError::invalid("a bar time is out of range"))?;
    let (key, reason) = match &req.risk_free {
        RiskFree::None => return Ok((session, None, "requested: zero".into())),
        RiskFree::Series(k) => (k.clone(), "requested".to_string()),
        RiskFree::Auto => match default_series(cache)? {
            Some(k) => (k, "default: the cached 3-month Treasury yield".to_string()),
            None => {
                return Ok((
                    session,
                    None,
                    "default: no 3-month Treasury yield cached (sextant ingest macro treasury_yield --maturity 3month), so zero"
                        .into(),
                ))
            }
        },
    };
    let observations = cache.economic_available(&key)?;
    if observations.is_empty() {
        return Err(BacktestError::invalid(format!(
            "risk_free: the economic series {key} is not cached (sextant ingest macro)"
        )));
    }
    let last = dates.last().copied().unwrap_or(NaiveDate::MIN);
    let used: Vec<&(NaiveDate, f64)> = observations.iter().filter(|(d, _)| *d <= last).collect();
    let mut h = Sha256::new();
    h.update(key.id().as_bytes());
    for (d, v) in &used {
        h.update(format!("|{d}={v:e}").as_bytes());
    }
    let annual_pct = as_of(&dates, &observations);
    let finite: Vec<f64> = annual_pct
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let mean = if finite.is_empty() {
        0.0
    } else {
        finite.iter().sum::<f64>() / finite.len() as f64
    };
    let used = RiskFreeUsed {
        series: key.id(),
        reason,
        mean_annual_pct: mean,
        bars_without_rate: annual_pct.len() - finite.len(),
        snapshot: Some(format!("{:x}", h.finalize())),
    };
    Ok((
        session,
        Some(RiskFreeInput { used, annual_pct }),
        String::new(),
    ))
}

/// The finest cached 3-month Treasury yield (daily, else weekly, else monthly).
fn default_series(cache: &dyn BarReader) -> Result<Option<SeriesKey>, BacktestError> {
    for interval in ["daily", "weekly", "monthly"] {
        let key = SeriesKey {
            interval: interval.into(),
            ..SeriesKey::risk_free_default()
        };
        if !cache.economic_available(&key)?.is_empty() {
            return Ok(Some(key));
        }
    }
    Ok(None)
}
