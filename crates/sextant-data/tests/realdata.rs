//! Acceptance on real daily data from sources the checks were not written against (index and
//! stock prices shipped inside PyPI packages, fetched by `scripts/realdata/fetch`): under the
//! default policy no bar is held, no crash day is more than a notice, and notices stay under
//! 0.5 % of bars. `scripts/test` fetches the files and sets `SEXTANT_REQUIRE_REALDATA=1`, so
//! there a missing file fails the test instead of skipping it.

use sextant_data::cache::audit::audit_file;
use sextant_domain::Symbol;
use sextant_quality::QualityConfig;
use std::path::PathBuf;

/// (file, symbol, what it is).
const SETS: [(&str, &str, &str); 4] = [
    ("arch_sp500.csv", "SPX", "S&P 500 index 1999-2018 (arch)"),
    (
        "arch_nasdaq.csv",
        "NDQ",
        "NASDAQ Composite 1999-2018 (arch)",
    ),
    (
        "pmdarima_msft.csv",
        "MSFT",
        "MSFT 1986-2017, adjusted, sub-$1 until 1991 (pmdarima)",
    ),
    (
        "backtesting_goog.csv",
        "GOOG",
        "GOOG 2004-2013, another vendor (backtesting.py)",
    ),
];

fn dir() -> Option<PathBuf> {
    let d = std::env::var_os("SEXTANT_REALDATA")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/sextant/realdata"))
        })?;
    let complete = SETS.iter().all(|(f, _, _)| d.join(f).is_file());
    if complete {
        Some(d)
    } else if std::env::var("SEXTANT_REQUIRE_REALDATA").as_deref() == Ok("1") {
        panic!(
            "real data sets missing in {}: run scripts/realdata/fetch",
            d.display()
        );
    } else {
        eprintln!("SKIPPED: real data sets not fetched (scripts/realdata/fetch)");
        None
    }
}

#[test]
fn default_policy_keeps_real_history_and_notices_little() {
    let Some(dir) = dir() else { return };
    let cfg = QualityConfig::default();
    let mut total_bars = 0;
    for (file, sym, what) in SETS {
        let symbol = Symbol::new(sym).expect("symbol");
        let r = audit_file(&dir.join(file), Some(&symbol), &cfg).expect("audit");
        eprintln!(
            "{what}: {} bars, {} held, flags {:?}, notices {:.3}%, market days {:?}",
            r.bars,
            r.held,
            r.by_check,
            100.0 * r.notice_rate,
            r.market_days
        );
        total_bars += r.bars;
        assert_eq!(r.held, 0, "{what}: held {:?}", r.held_bars);
        assert!(
            r.notice_rate < 0.005,
            "{what}: notice rate {}",
            r.notice_rate
        );
        assert!(
            !r.market_days.is_empty(),
            "{what}: no known market day in range"
        );
        for (day, name, severity) in &r.market_days {
            assert!(
                severity == "none" || severity == "notice",
                "{what}: {day} ({name}) is a {severity}"
            );
        }
        if sym == "MSFT" {
            assert!(r.market_days.iter().any(|d| d.0 == "1987-10-19"));
        }
    }
    assert!(total_bars > 20_000, "{total_bars} bars");
}
