//! Timestamps on the wire: RFC 3339 in UTC with a `Z`, whatever shape the services keep them in.
//!
//! The project's convention is that a naive timestamp is UTC (bars, quarantine rows, feature
//! rows, model training windows). The domain types serialise them the way they are stored in
//! the metadata store (`2008-09-26T00:00:00`, no zone), and some stored strings carry `+00:00`;
//! changing their serde would need a data migration. So the API converts at its edge instead:
//! typed DTOs call [`utc`], and untyped bodies pass through [`normalise`] in
//! [`crate::routes::to_json`]. Generated clients then parse every timestamp as an aware
//! datetime, and the exchange-local session date is a field of its own where it matters
//! (`session_date` on bars and equity points).

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone};
use serde_json::Value;
use sextant_domain::{Resolution, SessionModel};

/// `ts` (UTC by convention) as RFC 3339 with `Z`: `2008-09-26T00:00:00Z`; fractional seconds
/// are kept (3, 6 or 9 digits) when there are any.
pub fn utc(ts: NaiveDateTime) -> String {
    ts.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The exchange-local session a bar at `ts` (UTC) belongs to. Daily and coarser bars are keyed
/// by their session date at 00:00, so it is that date. An intraday bar of an around-the-clock
/// model (FX, crypto) belongs to the session the model assigns (FX days roll at 17:00 New
/// York); on an exchange it is the local date in the exchange's time zone `tz` (UTC when `tz`
/// is not an IANA name).
pub fn session_date(
    ts: NaiveDateTime,
    resolution: Resolution,
    model: SessionModel,
    tz: &str,
) -> NaiveDate {
    if !resolution.is_intraday() {
        return ts.date();
    }
    if let Some(d) = model.session_of(ts) {
        return d;
    }
    match tz.parse::<chrono_tz::Tz>() {
        Ok(zone) => zone.from_utc_datetime(&ts).date_naive(),
        Err(_) => ts.date(),
    }
}

/// A timestamp string rewritten as RFC 3339 with `Z`, when it is one the services emit without
/// a zone (`YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DDTHH:MM:SS`, either with a fraction) or with the
/// UTC offset spelt `+00:00`. Anything else (dates, other offsets, text) gives `None`: only the
/// exact shapes are touched, so narrative text or identifiers that contain a time never change.
pub fn normalise_str(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 19 || !(b[10] == b' ' || b[10] == b'T') {
        return None;
    }
    let (body, zoned) = match s.strip_suffix("+00:00") {
        Some(rest) => (rest, true),
        None => (s, false),
    };
    if !naive_shape(body.as_bytes()) {
        return None;
    }
    if zoned {
        // Already UTC; only the spelling of the zone changes.
        let t = DateTime::parse_from_rfc3339(s).ok()?;
        return Some(utc(t.naive_utc()));
    }
    let t =
        NaiveDateTime::parse_from_str(&body.replacen(' ', "T", 1), "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Some(utc(t))
}

/// `YYYY-MM-DD?HH:MM:SS` with an optional `.` and 1 to 9 digits, nothing else.
fn naive_shape(b: &[u8]) -> bool {
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let fixed = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
        .into_iter()
        .all(digit)
        && b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && b.get(13) == Some(&b':')
        && b.get(16) == Some(&b':');
    if !fixed {
        return false;
    }
    match b.len() {
        19 => true,
        n if (21..=29).contains(&n) => b[19] == b'.' && (20..n).all(digit),
        _ => false,
    }
}

/// Rewrites every string of `v` that [`normalise_str`] recognises, in place (object keys are
/// left alone: they are names, not values).
pub fn normalise(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let Some(t) = normalise_str(s) {
                *s = t;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        Value::Object(map) => map.values_mut().for_each(normalise),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn naive_and_utc_offset_shapes_become_z() {
        for (raw, want) in [
            ("2008-09-26 00:00:00", "2008-09-26T00:00:00Z"),
            ("2008-09-26T00:00:00", "2008-09-26T00:00:00Z"),
            ("2024-01-02T14:30:05.123456", "2024-01-02T14:30:05.123456Z"),
            ("2024-01-02 14:30:05.5", "2024-01-02T14:30:05.500Z"),
            (
                "2026-12-06T05:50:46.964473662+00:00",
                "2026-12-06T05:50:46.964473662Z",
            ),
            ("2026-12-06T05:50:46+00:00", "2026-12-06T05:50:46Z"),
        ] {
            assert_eq!(normalise_str(raw).as_deref(), Some(want), "{raw}");
        }
    }

    #[test]
    fn everything_else_is_left_alone() {
        for raw in [
            "2008-09-26",
            "2008-09-26T00:00:00Z",
            "2008-09-26T00:00:00-05:00",
            "2008-09-26T00:00:00.123+02:00",
            "2008-13-45 00:00:00",
            "2008-09-26 00:00:00 was the day",
            "on 2008-09-26 00:00:00",
            "2008-09-26T00:00:00.",
            "2008-09-26T00:00:00.1234567890",
            "bt_0123456789abcdef01234567",
            "",
        ] {
            assert_eq!(normalise_str(raw), None, "{raw}");
        }
    }

    #[test]
    fn normalise_walks_values_but_not_keys() {
        let mut v = json!({
            "ts": "2008-09-26 00:00:00",
            "2008-09-26 00:00:00": 1,
            "rows": [{"ts": "2008-09-29T00:00:00"}, "2008-09-30"],
            "text": "The run began 2008-09-26 00:00:00.",
            "n": 3
        });
        normalise(&mut v);
        assert_eq!(
            v,
            json!({
                "ts": "2008-09-26T00:00:00Z",
                "2008-09-26 00:00:00": 1,
                "rows": [{"ts": "2008-09-29T00:00:00Z"}, "2008-09-30"],
                "text": "The run began 2008-09-26 00:00:00.",
                "n": 3
            })
        );
    }

    #[test]
    fn session_dates_follow_the_model_and_zone() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // A daily bar is its date.
        let daily = session_date(
            at("2008-09-26 00:00:00"),
            Resolution::Daily,
            SessionModel::Xnys,
            "America/New_York",
        );
        assert_eq!(daily, d("2008-09-26"));
        // 01:00 UTC on the 27th is the evening of the 26th in New York.
        let nyse = session_date(
            at("2008-09-27 01:00:00"),
            Resolution::Min60,
            SessionModel::Xnys,
            "America/New_York",
        );
        assert_eq!(nyse, d("2008-09-26"));
        // FX rolls at 17:00 New York (21:00 UTC in summer): 22:00 UTC Tuesday is Wednesday.
        let fx = session_date(
            at("2024-07-02 22:00:00"),
            Resolution::Min60,
            SessionModel::Fx24x5,
            "UTC",
        );
        assert_eq!(fx, d("2024-07-03"));
        // An unknown zone falls back to the UTC date.
        let odd = session_date(
            at("2024-07-02 23:30:00"),
            Resolution::Min30,
            SessionModel::Weekdays,
            "Nowhere/Special",
        );
        assert_eq!(odd, d("2024-07-02"));
    }
}
