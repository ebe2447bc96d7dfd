//! The quality benchmark: known corruptions injected with a seed into real daily bars, ingested
//! through the normal path, and scored. The same code backs `sextant bench quality` and the
//! acceptance test, so the figures in the docs are the ones the test enforces.
//!
//! Scoring counts *items*: a bar key with at least one flag of any severity (notices included),
//! and each missing session a reported gap covers. An item is a true positive when a corruption
//! made it (the corrupted bar, a dropped or shifted-away session); everything else, including
//! flags on untouched real bars, is a false positive.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Serialize;
use sextant_data::cache::{sql_literal, FileOptions};
use sextant_data::{Cache, Result};
use sextant_domain::{Resolution, Source};
use sextant_quality::calendar::Calendar;
use sextant_quality::iforest::SplitMix;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::Path;

/// The corruptions the benchmark injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// One bar's close (and adjusted close) moved 20–50% up or down, reverting on the next bar.
    PriceSpike,
    /// One of the bar's open, high, low or close multiplied by 10 or by 0.1.
    FatFinger,
    /// The bar removed: a missing session the gap check must report.
    DroppedDay,
    /// High and low exchanged (only on bars where high > low).
    SwappedHighLow,
    /// The bar written a second time, identical, at the end of the file.
    DuplicatedRow,
    /// The 2 to 4 bars after the chosen one replaced by copies of it (their dates kept); each copy
    /// is one injected item.
    StaleRun,
    /// Volume multiplied by 100.
    VolumeX100,
    /// The bar re-dated to the next calendar day where that day is not a session (a time-zone
    /// slip: a Friday's bar stamped Saturday).
    ShiftedDay,
}

impl Fault {
    /// Every fault, in injection order (which, with the seed, fixes the random draws).
    pub const ALL: [Fault; 8] = [
        Fault::PriceSpike,
        Fault::FatFinger,
        Fault::DroppedDay,
        Fault::SwappedHighLow,
        Fault::DuplicatedRow,
        Fault::StaleRun,
        Fault::VolumeX100,
        Fault::ShiftedDay,
    ];
}

/// One injected corruption: the bar key it corrupted (for a dropped day, the missing session).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Injected {
    /// The corruption applied.
    pub fault: Fault,
    /// Ticker of the corrupted series.
    pub symbol: String,
    /// Date of the corrupted bar as written: for a dropped day the missing session, for a shifted
    /// day the non-session date it landed on.
    pub date: NaiveDate,
    /// For a shifted day: the session it was moved away from (now missing).
    pub moved_from: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq)]
struct Daily {
    ticker: String,
    date: NaiveDate,
    o: f64,
    h: f64,
    l: f64,
    c: f64,
    v: f64,
    adj: f64,
}

fn read_daily(path: &Path) -> Result<Vec<Daily>> {
    let conn = duckdb::Connection::open_in_memory()?;
    let mut stmt = conn.prepare(&format!(
        "SELECT \"Ticker\", CAST(\"Date\" AS DATE), \"Open\", \"High\", \"Low\", \"Close\", \
         CAST(\"Volume\" AS DOUBLE), \"Adj Close\" FROM read_csv({}, header = true) ORDER BY 1, 2",
        sql_literal(&path.to_string_lossy())
    ))?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Daily {
                ticker: r.get(0)?,
                date: r.get(1)?,
                o: r.get(2)?,
                h: r.get(3)?,
                l: r.get(4)?,
                c: r.get(5)?,
                v: r.get(6)?,
                adj: r.get(7)?,
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn write_daily(path: &Path, rows: &[Daily]) -> Result<()> {
    let io = |source| sextant_data::DataError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    writeln!(f, "Ticker,Date,Open,High,Low,Close,Volume,Adj Close").map_err(io)?;
    for r in rows {
        writeln!(
            f,
            "{},{},{},{},{},{},{},{}",
            r.ticker, r.date, r.o, r.h, r.l, r.c, r.v, r.adj
        )
        .map_err(io)?;
    }
    f.flush().map_err(io)
}

/// Real splits in the bundled data (unadjusted prices): these must never be flagged.
pub const REAL_SPLITS: [(&str, (i32, u32, u32)); 3] = [
    ("AAPL", (2000, 6, 21)),
    ("AAPL", (2005, 2, 28)),
    ("MSFT", (2003, 2, 18)),
];

/// Writes a corrupted copy of the daily CSV at `src` to `out`: `per_fault` corruptions of each
/// kind at random bars (never within 3 bars of another corruption, of a real split, or in a
/// series' first 30 bars, which bootstrap its statistics).
pub fn inject(src: &Path, out: &Path, per_fault: usize, seed: u64) -> Result<Vec<Injected>> {
    let mut rows = read_daily(src)?;
    let mut rng = SplitMix::new(seed);
    let mut cal = Calendar::new();
    let splits: HashSet<(String, NaiveDate)> = REAL_SPLITS
        .iter()
        .filter_map(|(s, (y, m, d))| Some((s.to_string(), NaiveDate::from_ymd_opt(*y, *m, *d)?)))
        .collect();
    // Position of each row within its symbol.
    let mut pos = vec![0usize; rows.len()];
    for i in 1..rows.len() {
        pos[i] = if rows[i].ticker == rows[i - 1].ticker {
            pos[i - 1] + 1
        } else {
            0
        };
    }
    let mut taken = vec![false; rows.len()];
    let mut truth = Vec::new();
    let mut dropped = Vec::new();
    let mut dups = Vec::new();
    for fault in Fault::ALL {
        let mut done = 0;
        let mut tries = 0;
        while done < per_fault && tries < 100_000 {
            tries += 1;
            let i = rng.below(rows.len());
            let span = if fault == Fault::StaleRun { 4 } else { 0 };
            let lo = i.saturating_sub(3);
            let hi = (i + span + 3).min(rows.len() - 1);
            let free = pos[i] >= 30
                && (lo..=hi).all(|j| !taken[j] && rows[j].ticker == rows[i].ticker)
                && (lo..=hi).all(|j| !splits.contains(&(rows[j].ticker.clone(), rows[j].date)));
            if !free {
                continue;
            }
            let sym = rows[i].ticker.clone();
            let mark = |d: NaiveDate, from: Option<NaiveDate>| Injected {
                fault,
                symbol: sym.clone(),
                date: d,
                moved_from: from,
            };
            match fault {
                Fault::PriceSpike => {
                    let k = 1.0
                        + (0.2 + 0.3 * rng.next_f64()) * if rng.below(2) == 0 { 1.0 } else { -1.0 };
                    let r = &mut rows[i];
                    r.c *= k;
                    r.adj *= k;
                    r.h = r.h.max(r.c);
                    r.l = r.l.min(r.c);
                    truth.push(mark(r.date, None));
                }
                Fault::FatFinger => {
                    let k = if rng.below(2) == 0 { 10.0 } else { 0.1 };
                    let r = &mut rows[i];
                    match rng.below(4) {
                        0 => r.o *= k,
                        1 => r.h *= k,
                        2 => r.l *= k,
                        _ => {
                            r.c *= k;
                            r.adj *= k;
                        }
                    }
                    truth.push(mark(r.date, None));
                }
                Fault::DroppedDay => {
                    dropped.push(i);
                    truth.push(mark(rows[i].date, None));
                }
                Fault::SwappedHighLow => {
                    if rows[i].h <= rows[i].l {
                        continue;
                    }
                    let r = &mut rows[i];
                    std::mem::swap(&mut r.h, &mut r.l);
                    truth.push(mark(r.date, None));
                }
                Fault::DuplicatedRow => {
                    dups.push(rows[i].clone());
                    truth.push(mark(rows[i].date, None));
                }
                Fault::StaleRun => {
                    let k = 2 + rng.below(3);
                    for j in 1..=k {
                        let d = rows[i + j].date;
                        rows[i + j] = Daily {
                            date: d,
                            ..rows[i].clone()
                        };
                        truth.push(mark(d, None));
                    }
                }
                Fault::VolumeX100 => {
                    rows[i].v *= 100.0;
                    truth.push(mark(rows[i].date, None));
                }
                Fault::ShiftedDay => {
                    // A time-zone slip: the bar lands on the next calendar day, chosen where that
                    // day is not a session (a Friday's bar stamped Saturday).
                    let Some(next) = rows[i].date.succ_opt() else {
                        continue;
                    };
                    if cal.is_session(next) || rows[i].date.weekday() == Weekday::Sun {
                        continue;
                    }
                    let from = rows[i].date;
                    rows[i].date = next;
                    truth.push(mark(next, Some(from)));
                }
            }
            for t in taken.iter_mut().take(hi + 1).skip(lo) {
                *t = true;
            }
            done += 1;
        }
    }
    let drop: HashSet<usize> = dropped.into_iter().collect();
    let mut out_rows: Vec<Daily> = rows
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !drop.contains(i))
        .map(|(_, r)| r)
        .collect();
    out_rows.extend(dups);
    write_daily(out, &out_rows)?;
    Ok(truth)
}

/// Precision and recall, per fault and overall.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Score {
    /// Per fault ([`Fault::as_str`]): (items injected, items detected).
    pub injected: BTreeMap<String, (u64, u64)>,
    /// Items injected in total (a stale run counts each repeated bar).
    pub faults: u64,
    /// Injected items found: a flag of any severity on the bar's date, or for a dropped day a gap
    /// covering the session.
    pub detected: u64,
    /// `detected / faults`, a fraction in [0, 1] (0 when nothing was injected).
    pub recall: f64,
    /// Distinct items reported: (symbol, date) pairs with a flag, plus each session a gap covers.
    pub items: u64,
    /// Reported items that a corruption made (including the session a shifted day left empty).
    pub true_items: u64,
    /// `true_items / items`, a fraction in [0, 1]; 1 when nothing was reported.
    pub precision: f64,
    /// The false positives, each as `"<flag|gap> <symbol> <date>"`, in sorted order.
    pub false_items: Vec<String>,
    /// Per fault: injected bars the policy held out of the cache (pending review). Dropped
    /// days cannot be held (there is no bar), duplicates are collapsed, not held.
    pub held: BTreeMap<String, u64>,
    /// Untouched real bars the policy held.
    pub held_real: u64,
}

impl Fault {
    /// True for corruptions no market can produce (a high below the low, a bar on a day the
    /// exchange was closed, a missing session, a repeated key): the checks must find these
    /// under every policy.
    pub fn is_structural(self) -> bool {
        matches!(
            self,
            Fault::SwappedHighLow | Fault::ShiftedDay | Fault::DroppedDay | Fault::DuplicatedRow
        )
    }

    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::PriceSpike => "price_spike",
            Fault::FatFinger => "fat_finger",
            Fault::DroppedDay => "dropped_day",
            Fault::SwappedHighLow => "swapped_high_low",
            Fault::DuplicatedRow => "duplicated_row",
            Fault::StaleRun => "stale_run",
            Fault::VolumeX100 => "volume_x100",
            Fault::ShiftedDay => "shifted_day",
        }
    }
}

/// Scores what `cache` flagged against the injected `truth`.
pub fn score(cache: &Cache, truth: &[Injected]) -> Result<Score> {
    let flags = cache.quality_flags(None, usize::MAX >> 1)?;
    let gaps = cache.quality_gaps(None)?;
    let mut cal = Calendar::new();
    let mut items: BTreeSet<(String, NaiveDate, &'static str)> = BTreeSet::new();
    for f in &flags {
        items.insert((f.symbol.clone(), f.ts.date(), "flag"));
    }
    for g in &gaps {
        let (a, b) = (g.first_missing.date(), g.last_missing.date());
        let pre = a.pred_opt().unwrap_or(a);
        let post = b.succ_opt().unwrap_or(b);
        for d in cal.sessions_between(pre, post) {
            items.insert((g.symbol.clone(), d, "gap"));
        }
    }
    let mut truth_keys: HashSet<(String, NaiveDate, &'static str)> = HashSet::new();
    for t in truth {
        let kind = if t.fault == Fault::DroppedDay {
            "gap"
        } else {
            "flag"
        };
        truth_keys.insert((t.symbol.clone(), t.date, kind));
        if let Some(from) = t.moved_from {
            truth_keys.insert((t.symbol.clone(), from, "gap"));
        }
    }
    let (pending, _) = cache.quarantined(&sextant_data::cache::QuarantineQuery {
        symbol: None,
        status: Some("pending".into()),
        limit: 1_000_000,
        offset: 0,
    })?;
    let held_keys: HashSet<(String, NaiveDate)> = pending
        .iter()
        .map(|b| (b.symbol.clone(), b.ts.date()))
        .collect();
    let mut held: BTreeMap<String, u64> = BTreeMap::new();
    let mut injected_keys: HashSet<(String, NaiveDate)> = HashSet::new();
    for t in truth {
        injected_keys.insert((t.symbol.clone(), t.date));
        let n = held.entry(t.fault.as_str().to_string()).or_insert(0);
        if held_keys.contains(&(t.symbol.clone(), t.date)) {
            *n += 1;
        }
    }
    let held_real = held_keys
        .iter()
        .filter(|k| !injected_keys.contains(*k))
        .count() as u64;
    let mut injected: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut detected = 0;
    for t in truth {
        let kind = if t.fault == Fault::DroppedDay {
            "gap"
        } else {
            "flag"
        };
        let hit = items.contains(&(t.symbol.clone(), t.date, kind));
        let e = injected
            .entry(t.fault.as_str().to_string())
            .or_insert((0, 0));
        e.0 += 1;
        if hit {
            e.1 += 1;
            detected += 1;
        }
    }
    let true_items = items.iter().filter(|k| truth_keys.contains(*k)).count() as u64;
    let false_items = items
        .iter()
        .filter(|k| !truth_keys.contains(*k))
        .map(|(s, d, k)| format!("{k} {s} {d}"))
        .collect();
    let n = items.len() as u64;
    Ok(Score {
        injected,
        faults: truth.len() as u64,
        detected,
        recall: detected as f64 / truth.len().max(1) as f64,
        items: n,
        true_items,
        precision: if n == 0 {
            1.0
        } else {
            true_items as f64 / n as f64
        },
        false_items,
        held,
        held_real,
    })
}

/// Ingests `path` (a daily CSV) into a fresh in-memory cache with the default checks and scores
/// it against `truth`.
pub fn ingest_and_score(path: &Path, truth: &[Injected]) -> Result<(Score, f64)> {
    ingest_and_score_with(path, truth, sextant_quality::QualityPolicy::default())
}

/// [`ingest_and_score`] under a chosen policy.
pub fn ingest_and_score_with(
    path: &Path,
    truth: &[Injected],
    policy: sextant_quality::QualityPolicy,
) -> Result<(Score, f64)> {
    let cache = Cache::open_in_memory()?.with_quality(sextant_quality::QualityConfig {
        policy,
        ..sextant_quality::QualityConfig::default()
    });
    let opts = FileOptions {
        resolution: Some(Resolution::Daily),
        source: Source::File,
        ..FileOptions::default()
    };
    let t = std::time::Instant::now();
    cache.ingest_file(path, &opts)?;
    let secs = t.elapsed().as_secs_f64();
    Ok((score(&cache, truth)?, secs))
}
