//! When a portfolio is rebalanced.
//!
//! A decision bar is known from the bars up to it: the first bar of each new week or month
//! (never "the last bar of the week", which would need the next bar's date and so break the
//! truncation test). The decision is taken on its close and trades at the next fill.

use chrono::{DateTime, Datelike};
use strum::{Display, EnumString, VariantNames};

/// How often the target portfolio is recomputed and traded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Display, EnumString, VariantNames)]
#[strum(serialize_all = "snake_case")]
pub enum Schedule {
    /// Every bar.
    Daily,
    /// The first bar of each ISO week (Monday-based, UTC date of the bar).
    Weekly,
    /// The first bar of each calendar month.
    Monthly,
    /// Every bar, but trade only when the selected names differ from the last traded set.
    OnChange,
    /// Only the first trade: buy and hold (the benchmark of the portfolio strategies).
    Once,
}

impl Schedule {
    /// Whether the bar at the end of `ts` (Unix seconds, UTC, oldest first) is a decision bar.
    /// The first bar always is.
    pub fn due(self, ts: &[i64]) -> bool {
        let Some((&now, before)) = ts.split_last() else {
            return false;
        };
        let Some(&prev) = before.last() else {
            return true;
        };
        match self {
            Schedule::Daily | Schedule::OnChange | Schedule::Once => true,
            Schedule::Weekly => week(now) != week(prev),
            Schedule::Monthly => month(now) != month(prev),
        }
    }
}

/// Monday-based week number since the epoch (1970-01-01 was a Thursday).
fn week(ts: i64) -> i64 {
    (ts.div_euclid(86_400) + 3).div_euclid(7)
}

fn month(ts: i64) -> (i32, u32) {
    DateTime::from_timestamp(ts, 0).map_or((0, 0), |d| (d.year(), d.month()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(d: &str) -> i64 {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .expect("date")
            .and_hms_opt(0, 0, 0)
            .expect("time")
            .and_utc()
            .timestamp()
    }

    #[test]
    fn weekly_and_monthly_fire_on_the_first_bar_of_a_period() {
        // Fri 2021-01-29, Mon 2021-02-01, Tue 2021-02-02.
        let fri = ts("2021-01-29");
        let mon = ts("2021-02-01");
        let tue = ts("2021-02-02");
        assert!(Schedule::Weekly.due(&[fri]));
        assert!(Schedule::Weekly.due(&[fri, mon]));
        assert!(!Schedule::Weekly.due(&[fri, mon, tue]));
        assert!(Schedule::Monthly.due(&[fri, mon]));
        assert!(!Schedule::Monthly.due(&[mon, tue]));
        // A Sunday and the Monday after it are in different ISO weeks.
        assert!(Schedule::Weekly.due(&[ts("2021-01-31"), mon]));
        assert!(!Schedule::Weekly.due(&[ts("2021-01-25"), ts("2021-01-31")]));
        assert!(!Schedule::Daily.due(&[]));
    }
}
