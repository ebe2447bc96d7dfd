//! `TREASURY_YIELD`, `FEDERAL_FUNDS_RATE` and `CPI` over SYNTHETIC, plausible values.
//!
//! Daily values follow straight lines between yearly anchors close to the real levels of
//! 2000–2014, plus a small seeded wobble per day (so weekly and monthly averages agree with the
//! daily values they average). Treasury yields of each maturity lie between the funds rate and
//! the 10-year level. Daily Treasury yields have a missing value, written `"."` as FRED writes
//! it, on New Year's Day, Independence Day and Christmas when they fall on a weekday (bond
//! markets are closed); Alpha Vantage's own spelling of a missing value is not confirmed.
//! A test can also write `"."` anywhere with a malformed-value fault on `value`.
//!
//! Dates: daily from [`ECONOMIC_FIRST_DATE`] to [`ECONOMIC_LAST_DATE`] (Treasury on weekdays, the
//! funds rate every day); weekly averages dated the week's Friday; monthly averages (and CPI)
//! dated the month's first day, whole months only; CPI semiannual dated January 1 and July 1.

use super::faults::invalid_call;
use super::fx::date;
use super::intraday::SplitMix;
use super::render::{Answer, Body, Field, Records};
use super::synth::{round, seed_of};
use chrono::{Datelike, NaiveDate, TimeDelta, Weekday};
use std::collections::BTreeMap;

/// First daily observation.
pub const ECONOMIC_FIRST_DATE: NaiveDate = date(2000, 1, 3);
/// Last daily observation (the bundled dataset's last session).
pub const ECONOMIC_LAST_DATE: NaiveDate = date(2013, 3, 1);

/// A series as served: the vendor's name and unit, and observations oldest first (`None`
/// written as `"."`).
#[derive(Debug, Clone, PartialEq)]
pub struct EconomicData {
    /// The vendor's `name`.
    pub name: String,
    /// The vendor's `unit`.
    pub unit: String,
    /// (date, value) oldest first.
    pub rows: Vec<(NaiveDate, Option<f64>)>,
}

/// Yearly anchors (January 1) of the effective funds rate and the 10-year yield, 2000–2014.
const FUNDS: [f64; 15] = [
    5.45, 5.98, 1.73, 1.24, 1.00, 2.28, 4.29, 5.25, 3.94, 0.15, 0.11, 0.17, 0.08, 0.14, 0.07,
];
const TEN_YEAR: [f64; 15] = [
    6.58, 5.16, 5.04, 4.05, 4.15, 4.22, 4.42, 4.76, 3.74, 2.52, 3.73, 3.39, 1.97, 1.91, 2.86,
];

fn anchored(anchors: &[f64; 15], d: NaiveDate) -> f64 {
    let i = ((d.year() - 2000).clamp(0, 13)) as usize;
    let t = f64::from(d.ordinal0()) / 365.0;
    anchors[i] + (anchors[i + 1] - anchors[i]) * t
}

/// How far a maturity sits between the short rate (0) and the 10-year yield (1).
fn weight(maturity: &str) -> Option<f64> {
    Some(match maturity {
        "3month" => 0.0,
        "2year" => 0.3,
        "5year" => 0.7,
        "7year" => 0.85,
        "10year" => 1.0,
        "30year" => 1.15,
        _ => return None,
    })
}

fn wobble(name: &str, d: NaiveDate) -> f64 {
    let mut rng = SplitMix::new(seed_of(0xEC0, &format!("{name}{d}")));
    (rng.unit() - 0.5) * 0.06
}

fn is_bond_holiday(d: NaiveDate) -> bool {
    matches!((d.month(), d.day()), (1, 1) | (7, 4) | (12, 25))
}

fn weekday(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Daily values: Treasury on weekdays with holidays missing, the funds rate every day.
fn daily(function: &str, maturity: Option<&str>) -> Option<Vec<(NaiveDate, Option<f64>)>> {
    let days = ECONOMIC_FIRST_DATE
        .iter_days()
        .take_while(|d| *d <= ECONOMIC_LAST_DATE);
    match function {
        "FEDERAL_FUNDS_RATE" => Some(
            days.map(|d| {
                let v = anchored(&FUNDS, d) + wobble("ff", d) / 3.0;
                (d, Some(round(v.max(0.01), 2)))
            })
            .collect(),
        ),
        "TREASURY_YIELD" => {
            let m = maturity?;
            let w = weight(m)?;
            Some(
                days.filter(|d| weekday(*d))
                    .map(|d| {
                        if is_bond_holiday(d) {
                            return (d, None);
                        }
                        let short = (anchored(&FUNDS, d) - 0.05).max(0.01);
                        let long = anchored(&TEN_YEAR, d);
                        let v = short + (long - short) * w + wobble(m, d);
                        (d, Some(round(v.max(0.01), 2)))
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Averages of the present values per period (`key` names a date's period, `label` dates it);
/// whole periods only up to `last`.
fn averaged(
    rows: &[(NaiveDate, Option<f64>)],
    key: impl Fn(NaiveDate) -> NaiveDate,
    decimals: u32,
) -> Vec<(NaiveDate, Option<f64>)> {
    let mut groups: BTreeMap<NaiveDate, Vec<f64>> = BTreeMap::new();
    for (d, v) in rows {
        let g = groups.entry(key(*d)).or_default();
        if let Some(v) = v {
            g.push(*v);
        }
    }
    groups
        .into_iter()
        .map(|(d, vs)| {
            let v =
                (!vs.is_empty()).then(|| round(vs.iter().sum::<f64>() / vs.len() as f64, decimals));
            (d, v)
        })
        .collect()
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The Friday on or after `d`.
fn friday(d: NaiveDate) -> NaiveDate {
    let ahead = (4 + 7 - d.weekday().num_days_from_monday()) % 7;
    d + TimeDelta::days(i64::from(ahead))
}

fn cpi_monthly() -> Vec<(NaiveDate, Option<f64>)> {
    (0..158)
        .filter_map(|i: u32| {
            let d = date(2000, 1, 1).checked_add_months(chrono::Months::new(i))?;
            let v = 168.8 * (0.0021 * f64::from(i)).exp()
                + 0.3 * (f64::from(i) * std::f64::consts::PI / 6.0).sin();
            Some((d, Some(round(v, 3))))
        })
        .collect()
}

/// The vendor's name and unit (the 10-year, funds-rate and CPI strings are confirmed; the other
/// maturities follow the 10-year pattern, which is not).
fn name_unit(function: &str, maturity: Option<&str>) -> Option<(String, String)> {
    Some(match function {
        "TREASURY_YIELD" => {
            let label = match maturity? {
                "3month" => "3-Month",
                "2year" => "2-Year",
                "5year" => "5-Year",
                "7year" => "7-Year",
                "10year" => "10-Year",
                "30year" => "30-Year",
                _ => return None,
            };
            (
                format!("{label} Treasury Constant Maturity Rate"),
                "percent".into(),
            )
        }
        "FEDERAL_FUNDS_RATE" => ("Effective Federal Funds Rate".into(), "percent".into()),
        "CPI" => (
            "Consumer Price Index for all Urban Consumers".into(),
            "index 1982-1984=100".into(),
        ),
        _ => return None,
    })
}

/// The series served for `function` at `interval` (and `maturity` for Treasury yields); `None`
/// for a combination the vendor does not serve.
pub fn economic_series(
    function: &str,
    interval: &str,
    maturity: Option<&str>,
) -> Option<EconomicData> {
    let (name, unit) = name_unit(function, maturity)?;
    let whole_months = |rows: Vec<(NaiveDate, Option<f64>)>| -> Vec<(NaiveDate, Option<f64>)> {
        rows.into_iter()
            .filter(|(d, _)| *d < month_start(ECONOMIC_LAST_DATE))
            .collect()
    };
    let rows = match (function, interval) {
        ("CPI", "monthly") => cpi_monthly(),
        ("CPI", "semiannual") => {
            let half = |d: NaiveDate| date(d.year(), if d.month() <= 6 { 1 } else { 7 }, 1);
            let monthly = cpi_monthly();
            let mut halves = averaged(&monthly, half, 3);
            halves.retain(|(d, _)| monthly.iter().filter(|(m, _)| half(*m) == *d).count() == 6);
            halves
        }
        ("CPI", _) => return None,
        (_, "daily") => daily(function, maturity)?,
        (_, "weekly") => averaged(&daily(function, maturity)?, friday, 2),
        (_, "monthly") => whole_months(averaged(&daily(function, maturity)?, month_start, 2)),
        _ => return None,
    };
    Some(EconomicData { name, unit, rows })
}

/// `TREASURY_YIELD`, `FEDERAL_FUNDS_RATE` or `CPI`, newest first. Defaults as documented:
/// monthly, and the 10-year maturity for Treasury yields.
pub(crate) fn answer(params: &BTreeMap<String, String>) -> Result<Answer, String> {
    let function = params.get("function").map(String::as_str).unwrap_or("");
    let interval = params.get("interval").map_or("monthly", String::as_str);
    let maturity = match function {
        "TREASURY_YIELD" => Some(params.get("maturity").map_or("10year", String::as_str)),
        _ => None,
    };
    let data =
        economic_series(function, interval, maturity).ok_or_else(|| invalid_call(function))?;
    let rows = data
        .rows
        .iter()
        .rev()
        .map(|(d, v)| {
            let value = match v {
                Some(x) if function == "CPI" => format!("{x:.3}"),
                Some(x) => format!("{x:.2}"),
                None => ".".to_string(),
            };
            vec![
                Field::new("date", "timestamp", d.to_string()),
                Field::new("value", "value", value),
            ]
        })
        .collect();
    Ok(Answer::both(Body::Records(Records {
        head: vec![
            ("name".into(), data.name),
            ("interval".into(), interval.to_string()),
            ("unit".into(), data.unit),
        ],
        list_key: "data".into(),
        csv_header: vec!["timestamp".into(), "value".into()],
        rows,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_plausible_and_aligned() {
        let ten = economic_series("TREASURY_YIELD", "daily", Some("10year")).expect("10y");
        assert_eq!(ten.name, "10-Year Treasury Constant Maturity Rate");
        assert!(ten.rows.iter().all(|(d, _)| weekday(*d)));
        let missing: Vec<_> = ten.rows.iter().filter(|(_, v)| v.is_none()).collect();
        assert!(missing.iter().any(|(d, _)| *d == date(2012, 12, 25)));
        assert!(ten
            .rows
            .iter()
            .flat_map(|(_, v)| v)
            .all(|v| (0.0..8.0).contains(v)));
        let weekly = economic_series("TREASURY_YIELD", "weekly", Some("2year")).expect("weekly");
        assert!(weekly.rows.iter().all(|(d, _)| d.weekday() == Weekday::Fri));
        let monthly = economic_series("FEDERAL_FUNDS_RATE", "monthly", None).expect("ff");
        assert_eq!(monthly.rows.first().map(|r| r.0), Some(date(2000, 1, 1)));
        assert_eq!(monthly.rows.last().map(|r| r.0), Some(date(2013, 2, 1)));
        let cpi = economic_series("CPI", "semiannual", None).expect("cpi");
        assert_eq!(cpi.rows.last().map(|r| r.0), Some(date(2012, 7, 1)));
        assert!(economic_series("CPI", "daily", None).is_none());
        assert!(economic_series("TREASURY_YIELD", "daily", Some("1year")).is_none());
        assert_eq!(friday(date(2013, 3, 2)), date(2013, 3, 8));
        assert_eq!(friday(date(2013, 3, 1)), date(2013, 3, 1));
    }
}
