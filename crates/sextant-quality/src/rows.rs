//! Bars as the checks see them: plain numbers in time order, so the checks need no storage.

use sextant_domain::Resolution;

/// One bar as the checks see it. Times are epoch microseconds (UTC) and session days since 1970.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub ts: i64,
    pub session: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    /// NaN when the source has no adjusted close.
    pub adj: f64,
    pub split: f64,
    /// New or changed in this batch: the checks report on these rows only.
    pub judged: bool,
}

/// A [`Row`] timestamp (epoch microseconds) as a UTC date-time.
pub fn datetime(us: i64) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}

/// A [`Row`] session (days since 1970-01-01) as a date.
pub fn date(days: i64) -> chrono::NaiveDate {
    chrono::NaiveDate::from_num_days_from_ce_opt(719_163 + days as i32).unwrap_or_default()
}

/// One (symbol, resolution) with its rows in time order.
#[derive(Debug, Clone)]
pub struct Series {
    pub symbol: String,
    pub resolution: Resolution,
    pub rows: Vec<Row>,
}
