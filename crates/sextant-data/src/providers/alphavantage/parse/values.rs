//! Strict conversion of Alpha Vantage's string values: numbers, series keys, time zones.

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// A decimal number as Alpha Vantage writes it: optional `-`, digits, optional `.digits`.
/// `"3.6"` and `"3.6000"` are both fine; empty strings, `NaN`, `inf`, exponents, signs other than
/// a leading `-`, spaces and stray characters are rejected rather than guessed at.
pub(crate) fn number(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// An exchange time zone: the zone for conversions and the IANA name stored on bars.
#[derive(Debug, Clone)]
pub(crate) struct Zone {
    pub tz: Tz,
    pub name: String,
}

/// Resolves Alpha Vantage's `Time Zone` (`"US/Eastern"`) to a canonical IANA zone. The legacy
/// `US/*` names are links in the tz database; bars store the canonical name so that every
/// provider agrees on one spelling. A missing zone means US equities.
pub(crate) fn zone(name: Option<&str>) -> Result<Zone, String> {
    let raw = name.map(str::trim).filter(|s| !s.is_empty());
    let canonical = match raw {
        None => sextant_domain::DEFAULT_EXCHANGE_TZ,
        Some("US/Eastern") | Some("EST5EDT") => "America/New_York",
        Some("US/Central") => "America/Chicago",
        Some("US/Mountain") => "America/Denver",
        Some("US/Pacific") => "America/Los_Angeles",
        Some(other) => other,
    };
    let tz: Tz = canonical
        .parse()
        .map_err(|_| format!("unknown time zone {canonical:?}"))?;
    Ok(Zone {
        tz,
        name: canonical.to_string(),
    })
}

/// Parses a series key. Daily and coarser keys are dates (`YYYY-MM-DD`), stored as the date at
/// 00:00 (a session label, not an instant). Intraday keys are wall-clock datetimes in `zone`,
/// converted to UTC; a wall-clock time that does not exist or occurs twice (DST changes) has no
/// single instant and is rejected. Returns `(local wall-clock, stored ts)`.
pub(crate) fn timestamp(
    key: &str,
    intraday: bool,
    zone: &Zone,
) -> Result<(NaiveDateTime, NaiveDateTime), String> {
    if !intraday {
        if key.len() != 10 {
            return Err("expected a YYYY-MM-DD date".into());
        }
        let d = NaiveDate::parse_from_str(key, "%Y-%m-%d")
            .map_err(|e| format!("expected a YYYY-MM-DD date: {e}"))?;
        let local = d.and_time(chrono::NaiveTime::MIN);
        return Ok((local, local));
    }
    if key.len() != 19 {
        return Err("expected a YYYY-MM-DD HH:MM:SS datetime".into());
    }
    let local = NaiveDateTime::parse_from_str(key, "%Y-%m-%d %H:%M:%S")
        .map_err(|e| format!("expected a YYYY-MM-DD HH:MM:SS datetime: {e}"))?;
    match zone.tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => Ok((local, t.naive_utc())),
        chrono::LocalResult::Ambiguous(..) => Err(format!(
            "ambiguous wall-clock time in {} (clocks go back)",
            zone.name
        )),
        chrono::LocalResult::None => Err(format!(
            "wall-clock time does not exist in {} (clocks go forward)",
            zone.name
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_strict() {
        assert_eq!(number("3.6"), Some(3.6));
        assert_eq!(number("3.6000"), Some(3.6));
        assert_eq!(number("4222266"), Some(4_222_266.0));
        assert_eq!(number("-0.5"), Some(-0.5));
        for bad in [
            "", "abc", "NaN", "nan", "inf", "-inf", "1e5", "+1", " 1", "1.", ".5", "12.3x",
            "1.2.3", "-",
        ] {
            assert_eq!(number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn eastern_to_utc_across_dst() {
        let z = zone(Some("US/Eastern")).expect("zone");
        assert_eq!(z.name, "America/New_York");
        let utc = |k| timestamp(k, true, &z).map(|(_, t)| t.to_string());
        assert_eq!(
            utc("2012-03-09 09:30:00").as_deref(),
            Ok("2012-03-09 14:30:00")
        );
        assert_eq!(
            utc("2012-03-12 09:30:00").as_deref(),
            Ok("2012-03-12 13:30:00")
        );
        assert!(utc("2012-03-11 02:30:00").is_err_and(|e| e.contains("does not exist")));
        assert!(utc("2012-11-04 01:30:00").is_err_and(|e| e.contains("ambiguous")));
        assert!(utc("2012-03-09").is_err());
        let daily = timestamp("2012-03-09", false, &z).expect("daily").1;
        assert_eq!(daily.to_string(), "2012-03-09 00:00:00");
        assert!(timestamp("2012-3-9", false, &z).is_err());
        assert!(zone(Some("Mars/Olympus")).is_err());
        assert_eq!(zone(None).expect("default").name, "America/New_York");
    }
}
