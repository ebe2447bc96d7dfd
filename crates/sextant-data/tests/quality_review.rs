//! The quality checks across ingests and reviews: incremental judgement against stored history,
//! the quarantine review round trip, the switches, and the acceptance tests on the bundled real
//! data (no flag on real splits, few flags, no gaps, the injected-fault benchmark, point in time).

use chrono::{NaiveDate, NaiveDateTime};
use sextant_data::cache::{Decision, FileOptions, QuarantineQuery, QuarantinedBar};

use sextant_bench::quality as bench;
use sextant_data::{Cache, DataError};
use sextant_domain::{Bar, Resolution, Source, Symbol};
use sextant_quality::{Check, Flag, QualityConfig, QualityPolicy, QualityReport, Severity};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common;
use common::{cache, series, SYM};

/// A cache under the strict policy: these tests exercise the quarantine's mechanics (incremental
/// judgement, review, rejected values, flag-only mode) with a single synthetic series, whose
/// spikes only the strict policy holds (the default needs a cross-section; see `quality.rs`).
fn strict_cache() -> Cache {
    cache().with_quality(strict())
}

fn strict() -> QualityConfig {
    QualityConfig {
        policy: QualityPolicy::Strict,
        ..QualityConfig::default()
    }
}

fn spike(b: &mut Bar) {
    b.close *= 1.4;
    b.high = b.high.max(b.close);
}

fn flags(c: &Cache) -> Vec<Flag> {
    c.quality_flags(Some(SYM), 1000).expect("flags")
}

fn stored_ts(c: &Cache) -> Vec<NaiveDateTime> {
    let sym = Symbol::new(SYM).expect("symbol");
    let bars = c.bars(&sym, Resolution::Daily, None, None).expect("bars");
    bars.into_iter().map(|b| b.ts).collect()
}

fn held(c: &Cache, status: Option<&str>) -> (Vec<QuarantinedBar>, u64) {
    let q = QuarantineQuery {
        symbol: Some(SYM.into()),
        status: status.map(str::to_string),
        limit: 1000,
        offset: 0,
    };
    c.quarantined(&q).expect("quarantined")
}

#[test]
fn incremental_batch_is_judged_against_stored_history() {
    let all = series(65);
    let c = strict_cache();
    let first = c
        .ingest_bars(&all[..60], Source::File, "test")
        .expect("first");
    assert_eq!((first.quality.flags, first.quarantined), (0, 0));
    let mut batch = all[60..65].to_vec();
    spike(&mut batch[2]);
    let t = batch[2].ts;
    let s = c.ingest_bars(&batch, Source::File, "test").expect("second");
    assert_eq!(s.quality.judged, 5);
    assert_eq!((s.quarantined, s.inserted), (1, 4));
    let f = flags(&c);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].ts, f[0].check), (t, Check::PriceSpike));
    assert!(!stored_ts(&c).contains(&t));
    assert_eq!(stored_ts(&c).len(), 64);
    assert_eq!(held(&c, None).1, 1);

    // The five bars alone are too short to make the spike stand out: the flag above came from
    // the stored history.
    let alone = cache();
    alone
        .ingest_bars(&batch, Source::File, "test")
        .expect("alone");
    assert!(flags(&alone).iter().all(|f| f.check != Check::PriceSpike));

    // Re-ingesting the same batch: only the held row is new again (the other four are unchanged
    // and not judged); it is kept out of bars and not held a second time.
    let again = c.ingest_bars(&batch, Source::File, "test").expect("again");
    assert_eq!(again.quality.judged, 1);
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 4));
    assert_eq!(held(&c, None).1, 1);
    assert_eq!(held(&c, Some("pending")).1, 1);
    assert!(!stored_ts(&c).contains(&t));
    assert_eq!(flags(&c).len(), 1);

    // A changed row is judged again; unchanged ones are not.
    batch[0].volume += 1.0;
    let changed = c
        .ingest_bars(&batch, Source::File, "test")
        .expect("changed");
    assert_eq!(changed.quality.judged, 2);
    assert_eq!(changed.updated, 1);
    assert_eq!(held(&c, None).1, 1);
}

/// 80 bars with a reverting spike on bar 30 and swapped high/low on bar 60: both held.
fn with_two_held() -> (Cache, Vec<Bar>, i64, i64) {
    let mut bars = series(80);
    spike(&mut bars[30]);
    let x = &mut bars[60];
    std::mem::swap(&mut x.high, &mut x.low);
    let c = strict_cache();
    let s = c.ingest_bars(&bars, Source::File, "test").expect("ingest");
    assert_eq!(s.quarantined, 2);
    let (rows, total) = held(&c, Some("pending"));
    assert_eq!(total, 2);
    let id = |i: usize| rows.iter().find(|q| q.ts == bars[i].ts).expect("held").id;
    let (spike_id, bounds_id) = (id(30), id(60));
    (c, bars, spike_id, bounds_id)
}

#[test]
fn review_round_trip() {
    let (c, bars, spike_id, bounds_id) = with_two_held();
    let held_spike = c.quarantined_bar(spike_id).expect("get").expect("some");
    assert_eq!(held_spike.reasons, vec!["price_spike"]);
    assert_eq!(
        (held_spike.severity.as_str(), held_spike.source.as_str()),
        ("warning", "file")
    );
    assert_eq!(held_spike.close, bars[30].close);

    let out = c
        .review(spike_id, Decision::Approve, "alice", Some("real move"))
        .expect("approve");
    assert_eq!(out.bar.status, "approved");
    assert_eq!(out.bar.reviewed_by.as_deref(), Some("alice"));
    assert!(out.bar.reviewed_at.is_some());
    assert_eq!(out.bar.review_note.as_deref(), Some("real move"));
    assert_eq!(out.merged.as_ref().map(|m| m.inserted), Some(1));
    let sym = Symbol::new(SYM).expect("symbol");
    let day = bars[30].ts.date();
    let got = c
        .bars(&sym, Resolution::Daily, Some(day), Some(day))
        .expect("bars");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].close, bars[30].close);
    let stored = c.quarantined_bar(spike_id).expect("get").expect("some");
    assert_eq!(stored.status, "approved");
    assert_eq!(stored.reviewed_by.as_deref(), Some("alice"));
    assert!(stored.reviewed_at.is_some());

    let out = c
        .review(bounds_id, Decision::Reject, "bob", None)
        .expect("reject");
    assert_eq!(out.bar.status, "rejected");
    assert_eq!(out.bar.reviewed_by.as_deref(), Some("bob"));
    assert!(out.bar.reviewed_at.is_some());
    assert!(out.merged.is_none());
    assert!(!stored_ts(&c).contains(&bars[60].ts));

    for (id, decision) in [(spike_id, Decision::Reject), (bounds_id, Decision::Approve)] {
        match c.review(id, decision, "carol", None) {
            Err(DataError::AlreadyReviewed { id: got, .. }) => assert_eq!(got, id),
            other => panic!("second review of {id}: {other:?}"),
        }
    }
    match c.review(987_654, Decision::Approve, "carol", None) {
        Err(DataError::NotInQuarantine { id }) => assert_eq!(id, 987_654),
        other => panic!("unknown id: {other:?}"),
    }

    // Re-ingesting the original batch: the rejected row stays out and is not queued again; the
    // approved row stays in bars.
    c.ingest_bars(&bars, Source::File, "test")
        .expect("re-ingest");
    let ts = stored_ts(&c);
    assert!(!ts.contains(&bars[60].ts));
    assert!(ts.contains(&bars[30].ts));
    assert_eq!(ts.len(), 79);
    assert_eq!(held(&c, Some("pending")).1, 0);
    assert_eq!(held(&c, None).1, 2);
    let totals = c.quality_totals().expect("totals");
    assert_eq!(
        (totals.pending, totals.approved, totals.rejected),
        (0, 1, 1)
    );
}

/// A rejected bar must never come back into `bars` by re-ingest, even in a batch whose context
/// no longer makes the check fire (here: one day of a rejected three-day zero-volume run).
#[test]

fn rejected_bar_never_returns_via_partial_reingest() {
    let mut bars = series(80);
    bars[40..43].iter_mut().for_each(|b| b.volume = 0.0);
    let c = strict_cache();
    c.ingest_bars(&bars, Source::File, "test").expect("ingest");
    let (rows, total) = held(&c, Some("pending"));
    assert_eq!(total, 3);
    for q in rows {
        c.review(q.id, Decision::Reject, "bob", None)
            .expect("reject");
    }
    c.ingest_bars(&bars[41..42], Source::File, "test")
        .expect("re-ingest one day");
    assert!(
        !stored_ts(&c).contains(&bars[41].ts),
        "a rejected bar is back in bars"
    );
}

/// A bad print (the whole bar ×1.4, range normal) that reverts the next day.
fn bad_print(b: &mut Bar) {
    for p in [&mut b.open, &mut b.high, &mut b.low, &mut b.close] {
        *p *= 1.4;
    }
}

#[test]
fn bad_print_inside_a_batch_is_held() {
    let mut bars = series(66);
    bad_print(&mut bars[60]);
    let c = strict_cache();
    c.ingest_bars(&bars, Source::File, "test").expect("ingest");
    assert_eq!(
        held(&c, None).0.iter().map(|q| q.ts).collect::<Vec<_>>(),
        vec![bars[60].ts]
    );
    assert!(!stored_ts(&c).contains(&bars[60].ts));
}

/// The daily refresh appends one bar per batch. A reverting spike can only be seen once the next
/// bar exists, but by then the spiked bar is stored and no longer judged (checks report on new
/// or changed rows only), so it stays in `bars` with a ReturnJump notice, and the good bar after
/// it gets a ReturnJump notice too. The same bars in one batch are held (test above).
#[test]

fn bad_print_arriving_in_a_daily_refresh_is_held() {
    let mut bars = series(66);
    bad_print(&mut bars[60]);
    let c = strict_cache();
    c.ingest_bars(&bars[..60], Source::File, "test")
        .expect("history");
    for b in &bars[60..] {
        c.ingest_bars(std::slice::from_ref(b), Source::File, "refresh")
            .expect("refresh");
    }
    assert!(
        !stored_ts(&c).contains(&bars[60].ts),
        "flags: {:?}",
        flags(&c)
    );
}

#[test]
fn flag_only_mode_merges_and_records() {
    let mut bars = series(80);
    spike(&mut bars[30]);
    let c = cache().with_quality(QualityConfig {
        quarantine: false,
        ..strict()
    });
    let s = c.ingest_bars(&bars, Source::File, "test").expect("ingest");
    assert_eq!(
        (s.inserted, s.quarantined, s.quality.quarantined),
        (80, 0, 0)
    );
    assert!(s.quality.flags >= 1);
    let f = flags(&c);
    assert!(
        f.iter()
            .any(|f| f.ts == bars[30].ts && f.check == Check::PriceSpike),
        "{f:?}"
    );
    assert!(stored_ts(&c).contains(&bars[30].ts));
    assert_eq!(held(&c, None).1, 0);
    let day = bars[30].ts.date();
    let by_day = c.quality_by_day(Some(SYM), day, day).expect("by day");
    assert_eq!(by_day.len(), 1);
    assert_eq!(
        (by_day[0].quarantined, by_day[0].max_severity.as_str()),
        (0, "warning")
    );
}

#[test]
fn disabled_checks_record_nothing() {
    let mut bars = series(80);
    spike(&mut bars[30]);
    bars[50].volume = -5.0;
    let c = cache().with_quality(QualityConfig {
        enabled: false,
        ..QualityConfig::default()
    });
    let s = c.ingest_bars(&bars, Source::File, "test").expect("ingest");
    assert_eq!(s.quality, QualityReport::default());
    assert_eq!((s.inserted, s.quarantined), (80, 0));
    assert!(flags(&c).is_empty());
    assert!(c.quality_gaps(None).expect("gaps").is_empty());
    assert_eq!(held(&c, None).1, 0);
    assert_eq!(stored_ts(&c).len(), 80);
}

// ---- the bundled real data ----

fn write_sample(dir: &Path) -> PathBuf {
    let p = dir.join("sample.csv.gz");
    std::fs::write(&p, sextant_data::providers::sample::BYTES).expect("write sample");
    p
}

fn split_day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

#[test]
fn real_sample_is_clean() {
    let c = cache();
    let s = c.ingest_sample().expect("sample");
    let f = c.quality_flags(None, usize::MAX >> 1).expect("flags");
    for (sym, (y, m, d)) in bench::REAL_SPLITS {
        let day = split_day(y, m, d);
        let on = f
            .iter()
            .filter(|x| x.symbol == sym && x.ts.date() == day)
            .collect::<Vec<_>>();
        assert!(on.is_empty(), "real split {sym} {day} flagged: {on:?}");
    }
    let keys: BTreeSet<(&str, NaiveDateTime)> =
        f.iter().map(|x| (x.symbol.as_str(), x.ts)).collect();
    let rate = keys.len() as f64 / s.rows_in as f64;
    assert!(
        rate < 0.005,
        "flag rate {rate}: {} keys over {} rows",
        keys.len(),
        s.rows_in
    );
    assert_eq!(
        s.quarantined as usize,
        f.iter()
            .filter(|x| x.severity >= Severity::Warning)
            .map(|x| (&x.symbol, x.ts))
            .collect::<BTreeSet<_>>()
            .len()
    );
    let gaps = c.quality_gaps(None).expect("gaps");
    assert!(gaps.is_empty(), "{gaps:?}");
}

fn bench_seed(seed: u64) {
    let dir = tempfile::tempdir().expect("tmp");
    let src = write_sample(dir.path());
    let out = dir.path().join("corrupted.csv");
    let truth = bench::inject(&src, &out, 25, seed).expect("inject");
    assert!(truth.len() >= 8 * 25);
    let (score, secs) = bench::ingest_and_score(&out, &truth).expect("score");
    eprintln!(
        "seed {seed}: recall {:.3} precision {:.3} ({secs:.2} s)",
        score.recall, score.precision
    );
    assert!(
        score.recall >= 0.95,
        "seed {seed}: recall {} {:?}",
        score.recall,
        score.injected
    );
    assert!(
        score.precision >= 0.90,
        "seed {seed}: precision {} false {:?}",
        score.precision,
        score.false_items
    );
}

#[test]
fn benchmark_seeds_1_2_3() {
    for seed in 1..=3 {
        bench_seed(seed);
    }
}

/// Flags (symbol, ts, check) of a daily CSV ingested into a fresh cache.
fn flag_keys(path: &Path) -> BTreeSet<(String, NaiveDateTime, Check)> {
    let c = cache();
    let opts = FileOptions {
        resolution: Some(Resolution::Daily),
        ..FileOptions::default()
    };
    c.ingest_file(path, &opts).expect("ingest");
    let f = c.quality_flags(None, usize::MAX >> 1).expect("flags");
    f.into_iter().map(|x| (x.symbol, x.ts, x.check)).collect()
}

/// The corrupted sample in full and cut after 2008-12-31 (same corruption): the flags before
/// 2008-12-30 must agree. Returns (full, truncated) restricted to ts < 2008-12-30.
type Keys = BTreeSet<(String, NaiveDateTime, Check)>;
fn full_and_truncated() -> (Keys, Keys) {
    let dir = tempfile::tempdir().expect("tmp");
    let src = write_sample(dir.path());
    let full = dir.path().join("full.csv");
    bench::inject(&src, &full, 25, 7).expect("inject");
    let text = std::fs::read_to_string(&full).expect("read");
    let cut: String = text
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || l.split(',').nth(1).is_some_and(|d| d <= "2008-12-31"))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let truncated = dir.path().join("truncated.csv");
    std::fs::write(&truncated, cut).expect("write");
    let before = split_day(2008, 12, 30).and_hms_opt(0, 0, 0).expect("ts");
    let keep = |k: Keys| -> Keys { k.into_iter().filter(|x| x.1 < before).collect() };
    (keep(flag_keys(&full)), keep(flag_keys(&truncated)))
}

/// Everything except the isolation forest is point in time on this data: the trailing
/// statistics only use earlier bars (the first-20-bar bootstrap lies in 2000, identical in both
/// files), and the one-bar look-ahead of the spike and volume checks only reaches the bar after,
/// which is why the comparison stops one session before the cut (2008-12-30).
#[test]
fn checks_other_than_the_forest_are_point_in_time() {
    let (a, b) = full_and_truncated();
    assert!(a.iter().any(|k| k.2 != Check::Multivariate));
    let not_forest = |k: &&(String, NaiveDateTime, Check)| k.2 != Check::Multivariate;
    let diff: Vec<_> = a.symmetric_difference(&b).filter(not_forest).collect();
    assert!(
        diff.is_empty(),
        "flags before the cut depend on later bars: {diff:?}"
    );
}

/// The multivariate notice is not: `checks::relative` fits the forest on the features of every
/// clean bar of the loaded series, including bars after the one it scores, so truncating the
/// future changes notices years earlier (seen: AAPL 2004-11-22, IBM 2000-10-18, IBM 2002-04-08,
/// MSFT 2000-04-24, MSFT 2000-10-19 with seed 7), and the same bar's flags depend on how the
/// data was split into batches.
#[test]

fn multivariate_notices_are_point_in_time() {
    let (a, b) = full_and_truncated();
    let diff: Vec<_> = a.symmetric_difference(&b).collect();
    assert!(
        diff.is_empty(),
        "flags before the cut depend on later bars: {diff:?}"
    );
}
