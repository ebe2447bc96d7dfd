//! Strict conversion of Alpha Vantage's string values: numbers, series keys, time zones.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
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

/// A `YYYY-MM-DD` date, exactly ten characters (no `2024-5-3`).
pub(crate) fn date(s: &str) -> Result<NaiveDate, String> {
    if s.len() != 10 {
        return Err("expected a YYYY-MM-DD date".into());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| format!("expected a YYYY-MM-DD date: {e}"))
}

/// How a zone turns wall-clock time into UTC.
#[derive(Debug, Clone)]
pub(crate) enum ZoneKind {
    /// An IANA zone with daylight-saving rules.
    Named(Tz),
    /// A fixed offset east of UTC (`GMT+8` = UTC+08:00).
    Fixed(FixedOffset),
}

/// A vendor time zone: the zone for conversions and the name stored on bars.
#[derive(Debug, Clone)]
pub(crate) struct Zone {
    pub kind: ZoneKind,
    pub name: String,
}

impl Zone {
    /// UTC itself (FX and crypto answers since 2020, and their CSV answers, which carry no zone).
    pub(crate) fn utc() -> Zone {
        Zone {
            kind: ZoneKind::Named(Tz::UTC),
            name: "UTC".to_string(),
        }
    }

    /// The UTC instant of a wall-clock time in this zone. A time that does not exist or occurs
    /// twice (daylight-saving changes of a named zone) has no single instant and is rejected.
    pub(crate) fn to_utc(&self, local: NaiveDateTime) -> Result<NaiveDateTime, String> {
        let result = match &self.kind {
            ZoneKind::Named(tz) => tz.from_local_datetime(&local).map(|t| t.naive_utc()),
            ZoneKind::Fixed(off) => off.from_local_datetime(&local).map(|t| t.naive_utc()),
        };
        match result {
            chrono::LocalResult::Single(t) => Ok(t),
            chrono::LocalResult::Ambiguous(..) => Err(format!(
                "ambiguous wall-clock time in {} (clocks go back)",
                self.name
            )),
            chrono::LocalResult::None => Err(format!(
                "wall-clock time does not exist in {} (clocks go forward)",
                self.name
            )),
        }
    }
}

/// `GMT+8`, `UTC-04`, `GMT+05:30` → the offset *as written* (east of UTC is `+`). Alpha Vantage
/// wrote `GMT+8` on 2018–2019 FX answers meaning UTC+08:00; the tz database's `Etc/GMT+8` means
/// the opposite (UTC−08:00, POSIX sign), so these spellings are read here and never handed to it.
fn fixed_offset(s: &str) -> Option<FixedOffset> {
    let rest = s.strip_prefix("GMT").or_else(|| s.strip_prefix("UTC"))?;
    let (sign, rest) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None => (rest, "0"),
    };
    let ok = |p: &str, max: i32| {
        (1..=2).contains(&p.len())
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<i32>().is_ok_and(|v| v <= max)
    };
    if !ok(h, 14) || !ok(m, 59) {
        return None;
    }
    let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
    FixedOffset::east_opt(sign * secs)
}

/// Resolves Alpha Vantage's `Time Zone` (`"US/Eastern"`, `"UTC"`, `"GMT+8"`) to a zone. The legacy
/// `US/*` names are links in the tz database; bars store the canonical name so that every
/// provider agrees on one spelling. A missing zone means US equities (`TIME_SERIES_*` CSV answers
/// carry none); FX and crypto callers pass [`Zone::utc`] instead.
pub(crate) fn zone(name: Option<&str>) -> Result<Zone, String> {
    let raw = name.map(str::trim).filter(|s| !s.is_empty());
    if let Some(off) = raw.and_then(fixed_offset) {
        // Stored under its tz-database name where one exists (`Etc/GMT-8` is UTC+08:00: the
        // database's sign is POSIX's, the opposite of the vendor's), so bars keep an IANA name.
        let secs = off.local_minus_utc();
        let name = match (secs / 3600, secs % 3600) {
            (0, 0) => "UTC".to_string(),
            (h, 0) => format!("Etc/GMT{:+}", -h),
            _ => raw.unwrap_or_default().to_string(),
        };
        return Ok(Zone {
            kind: ZoneKind::Fixed(off),
            name,
        });
    }
    let canonical = match raw {
        None => sextant_domain::DEFAULT_EXCHANGE_TZ,
        Some("US/Eastern") | Some("EST5EDT") => "America/New_York",
        Some("US/Central") => "America/Chicago",
        Some("US/Mountain") => "America/Denver",
        Some("US/Pacific") => "America/Los_Angeles",
        Some("GMT") | Some("Etc/UTC") | Some("Z") => "UTC",
        Some(other) => other,
    };
    let tz: Tz = canonical
        .parse()
        .map_err(|_| format!("unknown time zone {canonical:?}"))?;
    Ok(Zone {
        kind: ZoneKind::Named(tz),
        name: canonical.to_string(),
    })
}

/// A `YYYY-MM-DD HH:MM:SS` wall-clock time, exactly nineteen characters.
pub(crate) fn datetime(key: &str) -> Result<NaiveDateTime, String> {
    if key.len() != 19 {
        return Err("expected a YYYY-MM-DD HH:MM:SS datetime".into());
    }
    NaiveDateTime::parse_from_str(key, "%Y-%m-%d %H:%M:%S")
        .map_err(|e| format!("expected a YYYY-MM-DD HH:MM:SS datetime: {e}"))
}

/// Parses a series key. Daily and coarser keys are dates (`YYYY-MM-DD`), stored as the date at
/// 00:00 (a session label, not an instant). Intraday keys are wall-clock datetimes in `zone`,
/// converted to UTC. Returns `(local wall-clock, stored ts)`.
pub(crate) fn timestamp(
    key: &str,
    intraday: bool,
    zone: &Zone,
) -> Result<(NaiveDateTime, NaiveDateTime), String> {
    if !intraday {
        let local = date(key)?.and_time(chrono::NaiveTime::MIN);
        return Ok((local, local));
    }
    let local = datetime(key)?;
    Ok((local, zone.to_utc(local)?))
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

    #[test]
    fn gmt_offsets_read_the_sign_as_written() {
        let z = zone(Some("GMT+8")).expect("gmt+8");
        assert_eq!(z.name, "Etc/GMT-8");
        let t = timestamp("2018-08-31 08:30:00", true, &z).expect("ts").1;
        assert_eq!(t.to_string(), "2018-08-31 00:30:00");
        assert_eq!(zone(Some("UTC-04")).expect("utc-04").name, "Etc/GMT+4");
        assert_eq!(zone(Some("GMT+0")).expect("gmt+0").name, "UTC");
        assert_eq!(zone(Some("GMT+05:30")).expect("india").name, "GMT+05:30");
        // The stored name means the same offset to the tz database.
        let etc: Tz = "Etc/GMT-8".parse().expect("etc");
        let local = datetime("2018-08-31 08:30:00").expect("dt");
        assert_eq!(
            etc.from_local_datetime(&local)
                .single()
                .map(|t| t.naive_utc()),
            Some(t)
        );
        let z = zone(Some("UTC-04")).expect("utc-04");
        let t = timestamp("2018-08-31 08:30:00", true, &z).expect("ts").1;
        assert_eq!(t.to_string(), "2018-08-31 12:30:00");
        let z = zone(Some("GMT+05:30")).expect("india");
        assert_eq!(
            z.to_utc(datetime("2018-08-31 05:30:00").expect("dt"))
                .expect("utc")
                .to_string(),
            "2018-08-31 00:00:00"
        );
        let utc = zone(Some("UTC")).expect("utc");
        assert_eq!(utc.name, "UTC");
        assert_eq!(
            timestamp("2023-06-29 06:40:00", true, &utc)
                .expect("ts")
                .1
                .to_string(),
            "2023-06-29 06:40:00"
        );
        for bad in ["GMT+", "GMT+99", "GMT+8:75", "GMT*8", "UTC+1x"] {
            assert!(zone(Some(bad)).is_err(), "{bad}");
        }
        // The tz database's own spelling keeps its POSIX meaning.
        let etc = zone(Some("Etc/GMT+8")).expect("etc");
        assert_eq!(
            etc.to_utc(datetime("2018-08-31 00:00:00").expect("dt"))
                .expect("utc")
                .to_string(),
            "2018-08-31 08:00:00"
        );
    }
}
