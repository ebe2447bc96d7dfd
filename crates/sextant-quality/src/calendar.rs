//! The US equity exchange calendar (NYSE/Nasdaq): which dates are sessions, and when a session
//! closes early. Rules, not a downloaded table, so that the cache judges completeness offline and
//! for any year; the one-off closures (a hurricane, national mourning, 9/11, Sandy) are listed.
//!
//! Checked against the `exchange_calendars` package's XNYS calendar for every day from 1980 to
//! 2027 (`tests/golden/xnys_sessions.txt`, written by `scripts/golden/make_calendar_golden.py`).
//! Early closes: Christmas Eve (14:00 before 1993, 13:00 after), the day after Thanksgiving
//! (from 1992), the day before Independence Day (from 1995, with the exchange's own exceptions
//! listed below), each when it is a weekday session.

use chrono::{Datelike, NaiveDate, Weekday};
use sextant_domain::SessionModel;

/// One-off full-day closures since 1980.
const SPECIAL_CLOSURES: [(i32, u32, u32); 12] = [
    (1985, 9, 27),
    (1994, 4, 27),
    (2001, 9, 11),
    (2001, 9, 12),
    (2001, 9, 13),
    (2001, 9, 14),
    (2004, 6, 11),
    (2007, 1, 2),
    (2012, 10, 29),
    (2012, 10, 30),
    (2018, 12, 5),
    (2025, 1, 9),
];

/// Early closes that follow no yearly rule.
const EARLY_ONE_OFFS: [(i32, u32, u32); 5] = [
    (1996, 7, 5),
    (1997, 12, 26),
    (1999, 12, 31),
    (2002, 7, 5),
    (2003, 12, 26),
];

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// The `n`-th (1-based) `weekday` of a month.
fn nth_weekday(y: i32, m: u32, weekday: Weekday, n: u32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(y, m, weekday, n as u8)
}

fn last_weekday(y: i32, m: u32, weekday: Weekday) -> Option<NaiveDate> {
    (1..=5)
        .rev()
        .find_map(|n| NaiveDate::from_weekday_of_month_opt(y, m, weekday, n))
}

/// Easter Sunday (anonymous Gregorian algorithm).
fn easter(y: i32) -> Option<NaiveDate> {
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    ymd(y, month as u32, day as u32)
}

/// A fixed-date holiday moved off the weekend: Saturday to Friday, Sunday to Monday.
fn observed(d: NaiveDate) -> NaiveDate {
    match d.weekday() {
        Weekday::Sat => d.pred_opt().unwrap_or(d),
        Weekday::Sun => d.succ_opt().unwrap_or(d),
        _ => d,
    }
}

/// The exchange holidays of year `y` that fall on weekdays.
pub fn holidays(y: i32) -> Vec<NaiveDate> {
    let mut out = Vec::with_capacity(12);
    // New Year's Day: a Saturday New Year is not observed on the Friday before (NYSE rule 7.2).
    if let Some(ny) = ymd(y, 1, 1) {
        match ny.weekday() {
            Weekday::Sat => {}
            Weekday::Sun => out.extend(ny.succ_opt()),
            _ => out.push(ny),
        }
    }
    if y >= 1998 {
        out.extend(nth_weekday(y, 1, Weekday::Mon, 3));
    }
    out.extend(nth_weekday(y, 2, Weekday::Mon, 3));
    out.extend(easter(y).and_then(|e| e.checked_sub_days(chrono::Days::new(2))));
    out.extend(last_weekday(y, 5, Weekday::Mon));
    if y >= 2022 {
        out.extend(ymd(y, 6, 19).map(observed));
    }
    out.extend(ymd(y, 7, 4).map(observed));
    out.extend(nth_weekday(y, 9, Weekday::Mon, 1));
    // Election Day (the Tuesday after the first Monday of November) until 1980.
    if y <= 1980 {
        out.extend(
            nth_weekday(y, 11, Weekday::Mon, 1)
                .and_then(|m| m.checked_add_days(chrono::Days::new(1))),
        );
    }
    out.extend(nth_weekday(y, 11, Weekday::Thu, 4));
    out.extend(ymd(y, 12, 25).map(observed));
    out.extend(
        SPECIAL_CLOSURES
            .iter()
            .filter(|(yy, _, _)| *yy == y)
            .filter_map(|&(yy, m, d)| ymd(yy, m, d)),
    );
    out.retain(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun));
    out.sort();
    out.dedup();
    out
}

/// The sessions of one [`SessionModel`], with the NYSE's holiday lists cached by year so that
/// scanning a long range costs one computation a year.
#[derive(Debug)]
pub struct Calendar {
    model: SessionModel,
    years: std::collections::HashMap<i32, Vec<NaiveDate>>,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar::for_session(SessionModel::Xnys)
    }
}

impl Calendar {
    /// The NYSE calendar; each year's holidays are computed on first use.
    pub fn new() -> Self {
        Calendar::default()
    }

    /// The calendar of `model`: the NYSE's for [`SessionModel::Xnys`], weekdays for other equity
    /// venues and FX (whose sessions are labelled Monday to Friday), every day for crypto.
    pub fn for_session(model: SessionModel) -> Self {
        Calendar {
            model,
            years: std::collections::HashMap::new(),
        }
    }

    /// The session model this calendar follows.
    pub fn model(&self) -> SessionModel {
        self.model
    }

    /// True when `d` is a regular trading session.
    pub fn is_session(&mut self, d: NaiveDate) -> bool {
        if self.model != SessionModel::Xnys {
            return self.model.is_weekday_session(d);
        }
        if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            return false;
        }
        let hol = self
            .years
            .entry(d.year())
            .or_insert_with(|| holidays(d.year()));
        hol.binary_search(&d).is_err()
    }

    /// The sessions strictly between `a` and `b`.
    pub fn sessions_between(&mut self, a: NaiveDate, b: NaiveDate) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut d = a.succ_opt();
        while let Some(day) = d {
            if day >= b {
                break;
            }
            if self.is_session(day) {
                out.push(day);
            }
            d = day.succ_opt();
        }
        out
    }

    /// The local closing time of session `d` in minutes after midnight: 16:00, or 13:00 on an
    /// early-close day (14:00 before 1993).
    pub fn close_minute(&mut self, d: NaiveDate) -> u32 {
        let y = d.year();
        // The exchange closed early on July 5 instead of July 3 in these years.
        let july3 = d.month() == 7 && d.day() == 3 && y >= 1995 && !matches!(y, 1996 | 2002);
        let black_friday = y >= 1992
            && nth_weekday(y, 11, Weekday::Thu, 4)
                .and_then(|t| t.succ_opt())
                .is_some_and(|f| f == d);
        let christmas_eve = d.month() == 12 && d.day() == 24;
        let one_off = EARLY_ONE_OFFS
            .iter()
            .any(|&(yy, m, dd)| (yy, m, dd) == (y, d.month(), d.day()));
        if (july3 || black_friday || christmas_eve || one_off) && self.is_session(d) {
            if y < 1993 {
                14 * 60
            } else {
                13 * 60
            }
        } else {
            16 * 60
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }

    #[test]
    fn known_holidays() {
        let h2012 = holidays(2012);
        for x in [
            d(2012, 1, 2),
            d(2012, 1, 16),
            d(2012, 2, 20),
            d(2012, 4, 6),
            d(2012, 5, 28),
            d(2012, 7, 4),
            d(2012, 9, 3),
            d(2012, 10, 29),
            d(2012, 10, 30),
            d(2012, 11, 22),
            d(2012, 12, 25),
        ] {
            assert!(h2012.contains(&x), "{x}");
        }
        assert_eq!(h2012.len(), 11);
        // 2011: New Year on a Saturday is not observed; Christmas on Sunday moves to Monday.
        let h2011 = holidays(2011);
        assert!(!h2011.contains(&d(2010, 12, 31)));
        assert!(h2011.contains(&d(2011, 12, 26)));
        // Juneteenth from 2022; Independence Day on Saturday observed Friday.
        assert!(holidays(2022).contains(&d(2022, 6, 20)));
        assert!(holidays(2020).contains(&d(2020, 7, 3)));
        assert!(holidays(2001).contains(&d(2001, 9, 14)));
    }

    #[test]
    fn sessions_and_early_closes() {
        let mut c = Calendar::new();
        assert!(!c.is_session(d(2005, 2, 26)));
        assert!(c.is_session(d(2005, 2, 28)));
        assert_eq!(
            c.sessions_between(d(2012, 10, 26), d(2012, 11, 1)),
            vec![d(2012, 10, 31)]
        );
        assert_eq!(c.close_minute(d(2013, 11, 29)), 13 * 60);
        assert_eq!(c.close_minute(d(2013, 12, 24)), 13 * 60);
        assert_eq!(c.close_minute(d(2013, 12, 23)), 16 * 60);
    }
}
