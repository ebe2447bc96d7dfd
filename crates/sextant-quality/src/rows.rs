//! Bars as the checks see them: plain numbers in time order, so the checks need no storage.

use sextant_domain::{Resolution, SessionModel};

/// One bar as the checks see it. Times are epoch microseconds (UTC) and session days since 1970.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// Bar timestamp (interval start, or the session date at 00:00 for daily bars), epoch
    /// microseconds UTC.
    pub ts: i64,
    /// The trading session the bar belongs to, in days since 1970-01-01.
    pub session: i64,
    /// Opening price, unadjusted.
    pub open: f64,
    /// Highest price, unadjusted.
    pub high: f64,
    /// Lowest price, unadjusted.
    pub low: f64,
    /// Closing price, unadjusted.
    pub close: f64,
    /// Shares traded, not split-adjusted.
    pub volume: f64,
    /// NaN when the source has no adjusted close.
    pub adj: f64,
    /// The vendor's split coefficient on this bar (2.0 for a 2:1 split); 1.0 when there is none.
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
    /// Symbol of the rows, copied into every [`crate::Flag`] and [`crate::Gap`].
    pub symbol: String,
    /// Bar length of the rows: sets the timestamp grid, the gap rules and the intraday
    /// thresholds.
    pub resolution: Resolution,
    /// Bars in ascending `ts` order, one per timestamp: stored history and the batch's rows.
    pub rows: Vec<Row>,
    /// When the symbol trades: decides which days are sessions, whether an intraday bar falls in
    /// trading hours and where gaps are. The NYSE calendar for a symbol with no instrument record.
    pub session: SessionModel,
}
