//! The exchange calendar equals `exchange_calendars`' XNYS for every weekday from 1980 to 2027:
//! which are sessions, and when each session closes.

use chrono::{Datelike, NaiveDate, Weekday};
use sextant_quality::calendar::Calendar;
use std::collections::BTreeMap;

const GOLDEN: &str = include_str!("golden/xnys_sessions.txt");

#[test]
fn xnys_sessions_and_early_closes_match_exchange_calendars() {
    let mut closed = std::collections::BTreeSet::new();
    let mut early = BTreeMap::new();
    for line in GOLDEN
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let day = NaiveDate::parse_from_str(parts[1], "%Y-%m-%d").expect("date");
        match parts[0] {
            "closed" => {
                closed.insert(day);
            }
            "early" => {
                let (h, m) = parts[2].split_once(':').expect("HH:MM");
                let minute: u32 = h.parse::<u32>().expect("h") * 60 + m.parse::<u32>().expect("m");
                early.insert(day, minute);
            }
            other => panic!("unexpected golden line kind {other}"),
        }
    }
    assert!(closed.len() > 400 && early.len() > 80, "golden file parsed");
    let mut cal = Calendar::new();
    let mut d = NaiveDate::from_ymd_opt(1980, 1, 1).expect("start");
    let end = NaiveDate::from_ymd_opt(2027, 12, 31).expect("end");
    let mut wrong = Vec::new();
    let mut sessions = 0;
    while d <= end {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            let want_session = !closed.contains(&d);
            if cal.is_session(d) != want_session {
                wrong.push(format!(
                    "{d}: session {} vs golden {want_session}",
                    !want_session
                ));
            }
            if want_session {
                sessions += 1;
                let want_close = early.get(&d).copied().unwrap_or(16 * 60);
                let got = cal.close_minute(d);
                if got != want_close {
                    wrong.push(format!("{d}: close {got} vs golden {want_close}"));
                }
            }
        }
        d = d.succ_opt().expect("next day");
    }
    assert_eq!(sessions, 12_097, "sessions in the golden range");
    assert!(
        wrong.is_empty(),
        "{} differences:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
