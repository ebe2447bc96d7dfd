//! The dates Sextant accepts anywhere a user gives one.
//!
//! Market data starts well after 1800 and nothing is forecast past 2200; a date outside that
//! range is a typing error (or a probe), and refusing it at the edge with the field's name is
//! better than handing it to the database, whose date arithmetic stops at year 9999.

use chrono::NaiveDate;

/// The earliest supported date, 1800-01-01.
pub const MIN_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1800, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// The latest supported date, 2199-12-31.
pub const MAX_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2199, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MAX,
};

/// Why a date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {date} is outside the supported dates {MIN_DATE} to {MAX_DATE}")]
pub struct DateOutOfRange {
    /// The input that carried it (`from`, `to`, `date`, …).
    pub field: String,
    /// The refused date.
    pub date: NaiveDate,
}

/// Checks that `date` (from input `field`) is a supported date.
pub fn check_date(field: &str, date: NaiveDate) -> Result<(), DateOutOfRange> {
    if (MIN_DATE..=MAX_DATE).contains(&date) {
        Ok(())
    } else {
        Err(DateOutOfRange {
            field: field.to_string(),
            date,
        })
    }
}

/// Checks an optional `from`/`to` pair: both supported, `from` not after `to`.
pub fn check_range(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<(), (String, String)> {
    for (field, d) in [("from", from), ("to", to)] {
        if let Some(d) = d {
            check_date(field, d).map_err(|e| (field.to_string(), e.to_string()))?;
        }
    }
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            return Err(("from".into(), format!("{a} is after `to` ({b})")));
        }
    }
    Ok(())
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`): integer arithmetic only, for hot loops over millions of rows
/// where a calendar type per row would cost more than the work itself.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).expect("date");
        assert!(check_date("from", d(1987, 10, 19)).is_ok());
        assert!(check_date("from", MIN_DATE).is_ok() && check_date("to", MAX_DATE).is_ok());
        let e = check_date("to", d(10000, 1, 1)).expect_err("far future");
        assert!(e.to_string().starts_with("to: "), "{e}");
        assert!(check_date("from", d(1799, 12, 31)).is_err());
        assert!(check_range(Some(d(2001, 1, 1)), Some(d(2000, 1, 1))).is_err());
        assert!(check_range(None, Some(d(2000, 1, 1))).is_ok());
    }
}
