//! Completeness: sessions (daily) or bars within a session (intraday) that the series' session
//! model expects and the series does not have (NYSE hours for US equities, continuous trading for
//! FX and crypto; no intraday claim for venues whose hours are unknown). Judged only next to new rows, so re-ingesting history
//! does not report old gaps again.

use super::calendar::Calendar;
use super::Gap;
use crate::rows::{date, datetime, Series};
use chrono::{NaiveDate, NaiveDateTime, Offset, TimeZone};
use sextant_domain::SessionModel;

const MINUTE_US: i64 = 60_000_000;
const OPEN_MINUTE: i64 = 9 * 60 + 30;

/// The exchange zone's UTC offset in minutes on a session day (at local noon; US offsets change
/// at 02:00 on Sundays, never during a session).
fn offset_minutes(d: NaiveDate) -> i64 {
    let zone: chrono_tz::Tz = chrono_tz::America::New_York;
    d.and_hms_opt(12, 0, 0)
        .and_then(|noon| zone.from_local_datetime(&noon).earliest())
        .map(|t| i64::from(t.offset().fix().local_minus_utc()) / 60)
        .unwrap_or(-300)
}

pub(crate) fn find(s: &Series, cal: &mut Calendar) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let step = s.resolution.minutes().map(i64::from);
    let mut push = |first: NaiveDateTime, last: NaiveDateTime, missing: u64| {
        gaps.push(Gap {
            symbol: s.symbol.clone(),
            resolution: s.resolution,
            first_missing: first,
            last_missing: last,
            missing,
        })
    };
    // (session, UTC offset, close minute) of the last session seen: one zone lookup a day.
    let mut day_cache: Option<(i64, i64, i64)> = None;
    for w in s.rows.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if !(a.judged || b.judged) {
            continue;
        }
        if a.session != b.session {
            let (da, db) = (date(a.session), date(b.session));
            let missing = cal.sessions_between(da, db);
            if let (Some(f), Some(l)) = (missing.first(), missing.last()) {
                let minutes = s.session.session_minutes() as i64;
                let per_session = step.map(|m| minutes / m.max(1)).unwrap_or(1) as u64;
                push(
                    f.and_hms_opt(0, 0, 0).unwrap_or_default(),
                    l.and_hms_opt(0, 0, 0).unwrap_or_default(),
                    missing.len() as u64 * per_session,
                );
            }
            continue;
        }
        let Some(step) = step else { continue };
        if s.session.is_around_the_clock() {
            // One session is continuous trading: every grid point between the two bars is due.
            let step_us = step * MINUTE_US;
            let missing = (b.ts - a.ts) / step_us - 1;
            if missing > 0 {
                push(
                    datetime(a.ts + step_us),
                    datetime(b.ts - step_us),
                    missing as u64,
                );
            }
            continue;
        }
        if s.session != SessionModel::Xnys {
            // Another venue's trading hours are not known here: no intraday gap is claimed.
            continue;
        }
        // Inside one session: grid points strictly between the two bars that fall in regular
        // trading hours.
        let (off, close) = match day_cache {
            Some((day, off, close)) if day == a.session => (off, close),
            _ => {
                let da = date(a.session);
                let (off, close) = (offset_minutes(da), i64::from(cal.close_minute(da)));
                day_cache = Some((a.session, off, close));
                (off, close)
            }
        };
        let local = |us: i64| us.div_euclid(MINUTE_US) + off - a.session * 1440;
        let (la, lb) = (local(a.ts), local(b.ts));
        let lo = (la + step).max(OPEN_MINUTE);
        let hi = (lb - step).min(close - step);
        if hi < lo {
            continue;
        }
        let first = lo + (step - (lo - la) % step) % step;
        if first > hi {
            continue;
        }
        let missing = ((hi - first) / step + 1) as u64;
        let utc = |m: i64| datetime((a.session * 1440 + m - off) * MINUTE_US);
        push(
            utc(first),
            utc(first + (missing as i64 - 1) * step),
            missing,
        );
    }
    gaps
}
