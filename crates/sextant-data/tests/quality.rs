//! The data-quality checks, each on hand-made daily bars through `Cache::ingest_bars` (one
//! corruption at a time on a smooth synthetic series), plus the exchange calendar.
//! The incremental path, the review round trip, the switches and the real-data/benchmark
//! acceptance tests are in `quality_review.rs`.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use sextant_data::cache::QuarantineQuery;
use sextant_data::{Cache, DataError};
use sextant_domain::{Bar, Resolution, Source, Symbol};
use sextant_quality::calendar::{holidays, Calendar};
use sextant_quality::{Check, Flag, QualityConfig, QualityPolicy, Severity};

use crate::common;
use common::{cache, series, SYM};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("date")
}

fn midnight(x: NaiveDate) -> NaiveDateTime {
    x.and_hms_opt(0, 0, 0).expect("midnight")
}

/// Ingests the series of `n` bars after `corrupt` changed it, under the strict policy (every
/// warning held), so each test sees what its check detects. What the default policy does with
/// the same findings is tested below (`default_policy_*`).
fn ingest_corrupted(n: usize, corrupt: impl FnOnce(&mut Vec<Bar>)) -> Cache {
    ingest_corrupted_under(QualityPolicy::Strict, n, corrupt)
}

fn ingest_corrupted_under(
    policy: QualityPolicy,
    n: usize,
    corrupt: impl FnOnce(&mut Vec<Bar>),
) -> Cache {
    let mut bars = series(n);
    corrupt(&mut bars);
    let c = cache().with_quality(QualityConfig {
        policy,
        ..QualityConfig::default()
    });
    c.ingest_bars(&bars, Source::File, "test").expect("ingest");
    c
}

fn flags(c: &Cache) -> Vec<Flag> {
    c.quality_flags(Some(SYM), 1000).expect("flags")
}

fn checks_at(c: &Cache, ts: NaiveDateTime) -> Vec<Check> {
    flags(c)
        .into_iter()
        .filter(|f| f.ts == ts)
        .map(|f| f.check)
        .collect()
}

fn stored(c: &Cache) -> Vec<Bar> {
    let sym = Symbol::new(SYM).expect("symbol");
    c.bars(&sym, Resolution::Daily, None, None).expect("bars")
}

fn held_ts(c: &Cache) -> Vec<NaiveDateTime> {
    let q = QuarantineQuery {
        symbol: Some(SYM.into()),
        limit: 1000,
        ..QuarantineQuery::default()
    };
    let mut ts: Vec<_> = c
        .quarantined(&q)
        .expect("quarantined")
        .0
        .into_iter()
        .map(|b| b.ts)
        .collect();
    ts.sort();
    ts
}

/// `check` flagged every bar at `ts`, and those bars (and only those) were moved to quarantine
/// with the check among their reasons, out of `bars`.
fn assert_held(c: &Cache, ts: &[NaiveDateTime], check: Check) {
    assert!(QualityPolicy::Strict.severity(check, false).quarantines());
    for t in ts {
        assert!(
            checks_at(c, *t).contains(&check),
            "{check:?} at {t}: {:?}",
            flags(c)
        );
        assert!(stored(c).iter().all(|b| b.ts != *t), "{t} still in bars");
    }
    assert_eq!(held_ts(c), ts, "held bars");
    let q = QuarantineQuery {
        symbol: Some(SYM.into()),
        limit: 1000,
        ..QuarantineQuery::default()
    };
    for b in c.quarantined(&q).expect("quarantined").0 {
        assert!(
            b.reasons.contains(&check.as_str().to_string()),
            "{:?}",
            b.reasons
        );
        assert_eq!(b.status, "pending");
    }
}

/// Baseline: the synthetic series itself raises nothing.
#[test]
fn clean_series_has_no_flags() {
    let c = cache();
    let s = c
        .ingest_bars(&series(80), Source::File, "test")
        .expect("ingest");
    assert_eq!(s.inserted, 80);
    assert_eq!(s.quarantined, 0);
    assert_eq!(s.quality.judged, 80);
    assert_eq!(s.quality.flags, 0, "{:?}", flags(&c));
    assert_eq!(s.quality.gaps, 0);
    assert!(flags(&c).is_empty());
    assert!(c.quality_gaps(Some(SYM)).expect("gaps").is_empty());
}

#[test]
fn price_bounds_high_below_close_and_swapped_high_low() {
    let bars = series(80);
    let (t1, t2) = (bars[40].ts, bars[55].ts);
    let c = ingest_corrupted(80, |b| {
        b[40].high = b[40].close * 0.995;
        let x = &mut b[55];
        std::mem::swap(&mut x.high, &mut x.low);
    });
    assert_held(&c, &[t1, t2], Check::PriceBounds);
    assert_eq!(stored(&c).len(), 78);
}

#[test]
fn non_positive_prices_are_held() {
    let bars = series(80);
    let (t1, t2) = (bars[40].ts, bars[55].ts);
    let c = ingest_corrupted(80, |b| {
        b[40].close = 0.0;
        b[55].close = -3.0;
    });
    assert_held(&c, &[t1, t2], Check::NonPositivePrice);
}

#[test]
fn non_finite_values_reject_the_whole_batch() {
    for field in 0..3 {
        let c = cache();
        let mut bars = series(80);
        match field {
            0 => bars[40].close = f64::NAN,
            1 => bars[40].high = f64::INFINITY,
            _ => bars[40].volume = f64::NEG_INFINITY,
        }
        let err = c
            .ingest_bars(&bars, Source::File, "test")
            .expect_err("non-finite");
        assert!(matches!(err, DataError::InvalidBar { .. }), "{err}");
        assert!(stored(&c).is_empty());
        assert!(flags(&c).is_empty());
        assert!(held_ts(&c).is_empty());
    }
}

#[test]
fn negative_volume_is_held() {
    let t = series(80)[40].ts;
    let c = ingest_corrupted(80, |b| b[40].volume = -100.0);
    assert_held(&c, &[t], Check::NegativeVolume);
}

#[test]
fn off_grid_daily_timestamp_is_held() {
    let t = series(80)[40].ts + Duration::hours(10);
    let c = ingest_corrupted(80, |b| b[40].ts += Duration::hours(10));
    assert_eq!(checks_at(&c, t), vec![Check::OffGrid]);
    assert_held(&c, &[t], Check::OffGrid);
}

#[test]
fn bar_on_a_saturday_is_held() {
    let sat = midnight(d(2013, 3, 9));
    let c = ingest_corrupted(80, |b| {
        let i = b
            .iter()
            .position(|x| x.ts.date() == d(2013, 3, 8))
            .expect("friday");
        let mut x = b[i].clone();
        x.ts = sat;
        x.volume *= 0.9;
        b.insert(i + 1, x);
    });
    assert_eq!(checks_at(&c, sat), vec![Check::NonTradingDay]);
    assert_held(&c, &[sat], Check::NonTradingDay);
    assert_eq!(stored(&c).len(), 80);
}

#[test]
fn exact_duplicate_in_one_batch_is_a_notice_and_kept_once() {
    let bars = series(80);
    let t = bars[40].ts;
    let c = cache();
    let mut dup = bars.clone();
    dup.push(bars[40].clone());
    let s = c.ingest_bars(&dup, Source::File, "test").expect("ingest");
    let f: Vec<_> = flags(&c).into_iter().filter(|f| f.ts == t).collect();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].check, f[0].severity),
        (Check::DuplicateRow, Severity::Notice)
    );
    assert_eq!(s.quality.notices, 1);
    assert_eq!(s.quarantined, 0);
    let stored = stored(&c);
    assert_eq!(stored.len(), 80);
    assert_eq!(stored.iter().filter(|b| b.ts == t).count(), 1);
    assert!(held_ts(&c).is_empty());
}

#[test]
fn conflicting_duplicate_rejects_the_whole_batch() {
    let mut bars = series(80);
    let mut other = bars[40].clone();
    other.close *= 1.001;
    bars.push(other);
    let c = cache();
    let err = c
        .ingest_bars(&bars, Source::File, "test")
        .expect_err("conflict");
    assert!(
        matches!(err, DataError::ConflictingDuplicate { .. }),
        "{err}"
    );
    assert!(stored(&c).is_empty());
    assert!(flags(&c).is_empty());
    assert!(held_ts(&c).is_empty());
}

#[test]
fn reverting_price_spike_is_held_and_neighbours_kept() {
    let t = series(80)[50].ts;
    let c = ingest_corrupted(80, |b| {
        b[50].close *= 1.4;
        b[50].high = b[50].high.max(b[50].close);
    });
    assert_held(&c, &[t], Check::PriceSpike);
    // The reverting leg (the next day) is not blamed.
    assert!(checks_at(&c, series(80)[51].ts).is_empty());
    assert_eq!(stored(&c).len(), 79);
}

#[test]
fn stale_repeated_bar_is_held() {
    let t = series(80)[50].ts;
    let c = ingest_corrupted(80, |b| {
        let prev = b[49].clone();
        b[50] = Bar {
            ts: b[50].ts,
            ..prev
        };
    });
    assert_held(&c, &[t], Check::StalePrice);
}

#[test]
fn zero_volume_run_is_held_but_two_days_are_not() {
    let bars = series(80);
    let run: Vec<_> = bars[40..43].iter().map(|b| b.ts).collect();
    let c = ingest_corrupted(80, |b| b[40..43].iter_mut().for_each(|x| x.volume = 0.0));
    assert_held(&c, &run, Check::ZeroVolumeRun);
    let c = ingest_corrupted(80, |b| b[40..42].iter_mut().for_each(|x| x.volume = 0.0));
    assert!(flags(&c).iter().all(|f| f.check != Check::ZeroVolumeRun));
    assert!(held_ts(&c).is_empty());
}

#[test]
fn volume_spike_is_held() {
    let t = series(80)[50].ts;
    let c = ingest_corrupted(80, |b| b[50].volume *= 100.0);
    assert_held(&c, &[t], Check::VolumeSpike);
}

#[test]
fn range_outlier_is_held() {
    // A 1-2 % typical range; high ×3 makes ln(high/low) > 1.1, far above range_ratio (8×) times
    // the trailing median and above the 0.1 floor.
    let t = series(80)[50].ts;
    let c = ingest_corrupted(80, |b| b[50].high *= 3.0);
    assert_held(&c, &[t], Check::RangeOutlier);
}

#[test]
fn three_dropped_sessions_make_one_gap() {
    let bars = series(80);
    let (first, last) = (bars[40].ts, bars[42].ts);
    let c = cache();
    let kept: Vec<Bar> = bars
        .iter()
        .enumerate()
        .filter(|(i, _)| !(40..43).contains(i))
        .map(|(_, b)| b.clone())
        .collect();
    let s = c.ingest_bars(&kept, Source::File, "test").expect("ingest");
    assert_eq!((s.quality.gaps, s.quality.missing_bars), (1, 3));
    let gaps = c.quality_gaps(Some(SYM)).expect("gaps");
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(
        (gaps[0].first_missing, gaps[0].last_missing, gaps[0].missing),
        (first, last, 3)
    );
    assert_eq!(gaps[0].resolution, Resolution::Daily);
    assert!(held_ts(&c).is_empty());
    assert_eq!(stored(&c).len(), 77);
}

/// A gap is a finding about `bars`; once the missing sessions are backfilled it should no longer
/// be reported (it feeds `quality_totals`, i.e. `/ready` and the dashboard).
#[test]

fn backfilled_gap_is_no_longer_reported() {
    let bars = series(80);
    let c = cache();
    let kept: Vec<Bar> = bars
        .iter()
        .enumerate()
        .filter(|(i, _)| !(40..43).contains(i))
        .map(|(_, b)| b.clone())
        .collect();
    c.ingest_bars(&kept, Source::File, "test").expect("ingest");
    assert_eq!(c.quality_gaps(Some(SYM)).expect("gaps").len(), 1);
    c.ingest_bars(&bars[40..43], Source::File, "backfill")
        .expect("backfill");
    assert_eq!(stored(&c).len(), 80);
    assert!(c.quality_gaps(Some(SYM)).expect("gaps").is_empty());
    assert_eq!(c.quality_totals().expect("totals").missing_bars, 0);
}

/// The series with a 2:1 split effective on bar 50 (unadjusted prices halve, volume doubles).
fn split_series(coefficient: bool, adjusted: bool) -> Vec<Bar> {
    let mut bars = series(80);
    for (i, b) in bars.iter_mut().enumerate() {
        let pre = i < 50;
        if !pre {
            b.open /= 2.0;
            b.high /= 2.0;
            b.low /= 2.0;
            b.close /= 2.0;
            b.volume *= 2.0;
        }
        if adjusted {
            b.adj_close = Some(if pre { b.close / 2.0 } else { b.close });
        }
    }
    if coefficient {
        bars[50].split_coefficient = 2.0;
    }
    bars
}

#[test]
fn split_explained_by_coefficient_or_adjusted_close_is_not_flagged() {
    for (coefficient, adjusted) in [(true, false), (false, true), (true, true)] {
        let c = cache();
        let s = c
            .ingest_bars(&split_series(coefficient, adjusted), Source::File, "test")
            .expect("ingest");
        assert!(
            flags(&c).is_empty(),
            "coef {coefficient} adj {adjusted}: {:?}",
            flags(&c)
        );
        assert_eq!((s.inserted, s.quarantined), (80, 0));
    }
}

#[test]
fn unexplained_split_is_a_possible_split_notice_only() {
    let bars = split_series(false, false);
    let t = bars[50].ts;
    let c = cache();
    let s = c.ingest_bars(&bars, Source::File, "test").expect("ingest");
    let at: Vec<Flag> = flags(&c).into_iter().filter(|f| f.ts == t).collect();
    assert!(at.iter().any(|f| f.check == Check::PossibleSplit), "{at:?}");
    assert!(at.iter().all(|f| f.severity == Severity::Notice), "{at:?}");
    assert_eq!((s.inserted, s.quarantined), (80, 0));
    assert!(held_ts(&c).is_empty());
    let kept = stored(&c);
    assert!(kept.iter().any(|b| b.ts == t && b.close == bars[50].close));
}

#[test]
fn calendar_one_off_closures_and_holidays() {
    let mut cal = Calendar::new();
    let closed = [
        d(2008, 3, 21), // Good Friday
        d(2001, 9, 11),
        d(2001, 9, 12),
        d(2001, 9, 13),
        d(2001, 9, 14),
        d(2012, 10, 29), // Hurricane Sandy
        d(2012, 10, 30),
        d(2013, 11, 28), // Thanksgiving
        d(2008, 11, 27),
        d(2023, 6, 19), // Juneteenth
        d(2022, 6, 20), // Juneteenth (Sunday) observed Monday
        d(2013, 1, 1),
        d(2013, 7, 4),
        d(2013, 12, 25),
    ];
    for x in closed {
        assert!(!cal.is_session(x), "{x} should be closed");
        assert!(holidays(x.year()).contains(&x), "{x} in holidays");
    }
    let open = [
        d(2008, 3, 20),
        d(2008, 3, 24),
        d(2001, 9, 10),
        d(2001, 9, 17),
        d(2012, 10, 26),
        d(2012, 10, 31),
        d(2013, 11, 29), // the day after Thanksgiving: an early close, still a session
        d(2021, 6, 18),  // before 2022 Juneteenth was not an exchange holiday
        d(2022, 6, 17),
        d(2023, 6, 20),
    ];
    for x in open {
        assert!(cal.is_session(x), "{x} should be a session");
    }
    assert_eq!(cal.close_minute(d(2013, 11, 29)), 13 * 60);
    assert!(!cal.is_session(d(2013, 3, 9)), "Saturday");
    assert_eq!(
        cal.sessions_between(d(2001, 9, 10), d(2001, 9, 18)),
        vec![d(2001, 9, 17)]
    );
    // Thanksgiving is the fourth Thursday, whatever the month's first day.
    for (y, day) in [(2012, 22), (2013, 28), (2018, 22), (2019, 28)] {
        assert!(!cal.is_session(d(y, 11, day)), "Thanksgiving {y}");
    }
}

/// A corruption of a synthetic series.
type Corrupt = fn(&mut Vec<Bar>);

/// Under the default policy every statistical finding on a symbol loaded alone is a notice and
/// the bar stays in the cache: a single series has no cross-section, so a spike cannot be
/// told from a real market move, and the notice says so.
#[test]
fn default_policy_flags_statistical_findings_and_holds_nothing() {
    let corruptions: [(Check, Corrupt); 4] = [
        (Check::PriceSpike, |b| {
            b[50].close *= 1.4;
            b[50].high = b[50].high.max(b[50].close);
        }),
        (Check::VolumeSpike, |b| b[50].volume *= 100.0),
        (Check::RangeOutlier, |b| b[50].high *= 3.0),
        (Check::StalePrice, |b| {
            let prev = b[49].clone();
            b[50] = Bar {
                ts: b[50].ts,
                ..prev
            };
        }),
    ];
    for (check, corrupt) in corruptions {
        let c = ingest_corrupted_under(QualityPolicy::Provable, 80, corrupt);
        let t = series(80)[50].ts;
        let at: Vec<Flag> = flags(&c).into_iter().filter(|f| f.ts == t).collect();
        assert!(
            at.iter()
                .any(|f| f.check == check && f.severity == Severity::Notice),
            "{check:?}: {at:?}"
        );
        assert!(
            held_ts(&c).is_empty(),
            "{check:?} held under the default policy"
        );
        assert_eq!(stored(&c).len(), 80, "{check:?}: a bar went missing");
        if check == Check::PriceSpike {
            assert!(
                at[0].detail.contains("no cross-section"),
                "{}",
                at[0].detail
            );
        }
    }
}

/// Three symbols that move together except for one day on which one symbol alone jumps 40 %
/// and comes back: with a cross-section that is provably not the market, and it is held.
/// A joint crash (every symbol −20 % and back) is the market, and nothing is held.
#[test]
fn default_policy_holds_a_spike_the_market_did_not_make_and_keeps_a_crash() {
    let make = |sym: &str, k: usize| -> Vec<Bar> {
        let mut b = series(80);
        for (i, x) in b.iter_mut().enumerate() {
            x.symbol = Symbol::new(sym).expect("symbol");
            // Slightly different noise per symbol, same market.
            let f = 1.0 + 0.001 * k as f64 * common::noise(i + 7 * k);
            x.open *= f;
            x.high *= f;
            x.low *= f;
            x.close *= f;
        }
        b
    };
    let spike_t = series(80)[50].ts;
    let crash_t = series(80)[30].ts;
    let mut all = Vec::new();
    for (k, sym) in ["AAA", "BBB", "CCC", "DDD"].iter().enumerate() {
        let mut b = make(sym, k);
        // The crash: every symbol closes 20 % lower on day 30 and recovers the next day.
        b[30].close *= 0.8;
        b[30].low = b[30].low.min(b[30].close);
        if *sym == "AAA" {
            b[50].close *= 1.4;
            b[50].high = b[50].high.max(b[50].close);
        }
        all.extend(b);
    }
    let c = cache();
    c.ingest_bars(&all, Source::File, "test").expect("ingest");
    let q = QuarantineQuery {
        limit: 1000,
        ..QuarantineQuery::default()
    };
    let held: Vec<(String, NaiveDateTime)> = c
        .quarantined(&q)
        .expect("quarantined")
        .0
        .into_iter()
        .map(|b| (b.symbol, b.ts))
        .collect();
    assert_eq!(held, vec![("AAA".to_string(), spike_t)], "held bars");
    let crash_flags: Vec<Flag> = c
        .quality_flags(None, 1000)
        .expect("flags")
        .into_iter()
        .filter(|f| f.ts == crash_t)
        .collect();
    assert!(
        crash_flags.iter().all(|f| f.severity == Severity::Notice),
        "{crash_flags:?}"
    );
}

/// On a low-priced stock one tick is several percent of the price: a move of one tick and back
/// is ordinary trading, not a spike, even when the rest of the market was quiet.
#[test]
fn default_policy_is_tick_aware_on_low_priced_stocks() {
    let mut all = Vec::new();
    for (k, sym) in ["PNY", "BBB", "CCC", "DDD"].iter().enumerate() {
        let mut b = series(80);
        for (i, x) in b.iter_mut().enumerate() {
            x.symbol = Symbol::new(sym).expect("symbol");
            if *sym == "PNY" {
                // A $0.30 stock trading on a 1-cent grid: it moves one tick or not at all.
                let c = 0.30 + 0.01 * ((i % 3) as f64 - 1.0).clamp(0.0, 1.0);
                x.open = c;
                x.close = c;
                x.high = c + 0.01;
                x.low = c - 0.01;
            } else {
                let f = 1.0 + 0.001 * k as f64;
                x.open *= f;
                x.high *= f;
                x.low *= f;
                x.close *= f;
            }
        }
        if *sym == "PNY" {
            // Two ticks up and back: +6.7 %, far outside its usual 0-3 % moves in z terms.
            b[50].close = 0.32;
            b[50].high = 0.33;
            b[51].open = 0.30;
            b[51].close = 0.30;
        }
        all.extend(b);
    }
    let c = cache();
    c.ingest_bars(&all, Source::File, "test").expect("ingest");
    let q = QuarantineQuery {
        limit: 1000,
        ..QuarantineQuery::default()
    };
    assert!(c.quarantined(&q).expect("quarantined").0.is_empty());
}
