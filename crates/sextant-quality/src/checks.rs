//! The per-series checks. Three passes, because a bad bar must not poison its neighbours'
//! statistics: (1) row-local checks (structure, grid, calendar, stale copies, zero-volume runs);
//! (2) reverting spikes, on returns between rows that passed (1); (3) everything that compares a
//! bar with its predecessor or its trailing history, against the last bar that passed (1) and (2).

use super::calendar::Calendar;
use super::cross::{median, CrossSection};
use super::iforest::IsolationForest;
use super::{Check, Flag, Gap, QualityConfig, QualityPolicy, Severity};
use crate::rows::{date, datetime, Row, Series};

use sextant_domain::{Placement, SessionModel};

const DAY_US: i64 = 86_400_000_000;

/// The return from `a` to `b` on the corporate-action-adjusted basis: the vendor's adjusted close
/// when both bars have one, else the close corrected by `b`'s split coefficient.
pub fn basis_return(a: &Row, b: &Row) -> Option<f64> {
    if !(a.close > 0.0 && b.close > 0.0) {
        return None;
    }
    if a.adj > 0.0 && b.adj > 0.0 {
        return Some((b.adj / a.adj).ln());
    }
    let r = (b.close / a.close).ln();
    Some(if b.split > 0.0 && b.split != 1.0 {
        r + b.split.ln()
    } else {
        r
    })
}

/// Trailing robust location and scale of `x` for every position: the median and 1.4826·MAD of
/// the `window` finite values before it (see [`trailing`]).
fn trailing_robust(x: &[f64], window: usize, every: usize) -> Vec<(f64, f64)> {
    // Two scratch buffers for every window (this runs once per 25 bars of every series).
    let (mut v, mut dev) = (Vec::with_capacity(window), Vec::with_capacity(window));
    trailing(x, window, every, |vals| {
        v.clear();
        v.extend(vals.iter().copied().filter(|x| x.is_finite()));
        let m = median(&mut v);
        dev.clear();
        dev.extend(v.iter().map(|x| (x - m).abs()));
        (m, 1.4826 * median(&mut dev))
    })
}

/// The trailing median alone (see [`trailing`]): the range and volume checks use no scale, and
/// the deviations' median cost as much again.
fn trailing_median(x: &[f64], window: usize, every: usize) -> Vec<f64> {
    let mut v = Vec::with_capacity(window);
    trailing(x, window, every, |vals| {
        v.clear();
        v.extend(vals.iter().copied().filter(|x| x.is_finite()));
        median(&mut v)
    })
}

/// `stat` of the `window` values before every position (it skips the non-finite ones).
/// Recomputed every `every` positions (a point-in-time statistic that lags by at most `every`
/// bars) so long intraday series stay linear. Positions with fewer than 20 finite values before
/// them use the first `window` values of the series.
fn trailing<T: Copy>(
    x: &[f64],
    window: usize,
    every: usize,
    mut stat: impl FnMut(&[f64]) -> T,
) -> Vec<T> {
    let boot = stat(&x[..x.len().min(window)]);
    let mut out = Vec::with_capacity(x.len());
    let mut cur = boot;
    for i in 0..x.len() {
        if i % every.max(1) == 0 {
            let lo = i.saturating_sub(window);
            let n = x[lo..i].iter().filter(|v| v.is_finite()).count();
            cur = if n >= 20 { stat(&x[lo..i]) } else { boot };
        }
        out.push(cur);
    }
    out
}

/// True when a price ratio looks like a split or reverse split (the one list of ratios, in
/// `sextant_domain::prices`).
fn looks_like_split(price_ratio: f64) -> bool {
    sextant_domain::prices::split_like(price_ratio).is_some()
}

struct Out<'a> {
    s: &'a Series,
    policy: QualityPolicy,
    flags: Vec<Flag>,
    bad: Vec<bool>,
}

impl Out<'_> {
    /// Rows flagged bad so far.
    fn held(&self) -> usize {
        self.bad.iter().filter(|&&b| b).count()
    }

    fn flag(&mut self, i: usize, check: Check, score: f64, detail: String) {
        let severity = self.policy.severity(check, false);
        self.flag_if(i, self.s.rows[i].judged, check, severity, score, detail);
    }

    /// Flags row `i` when `report` holds: normally "the row is new or changed", but a stored
    /// row can be revealed bad by a new neighbour (the first leg of a spike whose reversal just
    /// arrived); such a flag moves the stored bar to quarantine. A held row is left out of the
    /// statistics the later passes compute.
    fn flag_if(
        &mut self,
        i: usize,
        report: bool,
        check: Check,
        severity: Severity,
        score: f64,
        detail: String,
    ) {
        let row = &self.s.rows[i];
        if !report {
            return;
        }
        if severity.quarantines() {
            self.bad[i] = true;
        }
        self.flags.push(Flag {
            symbol: self.s.symbol.clone(),
            resolution: self.s.resolution,
            ts: datetime(row.ts),
            check,
            severity,
            score,
            detail,
        });
    }
}

/// The series' price tick near row `k` of `idx`: the smallest non-zero close-to-close change
/// among the 60 clean bars before it. On a low-priced stock (or an old, split-adjusted one) a
/// tick can be several percent of the price, and a move of a few ticks is ordinary trading.
fn tick_near(rows: &[Row], idx: &[usize], k: usize) -> f64 {
    let lo = k.saturating_sub(60);
    (lo.max(1)..k)
        .map(|j| (rows[idx[j]].close - rows[idx[j - 1]].close).abs())
        .filter(|d| *d > 1e-9)
        .fold(f64::INFINITY, f64::min)
}

/// The tick as a fraction of the price at each clean row (see [`tick_near`]), refreshed every
/// 25 rows like the other trailing statistics. 0 where no change has been seen yet.
fn relative_ticks(rows: &[Row], idx: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(idx.len());
    let mut cur = 0.0;
    for k in 0..idx.len() {
        if k % 25 == 0 {
            let t = tick_near(rows, idx, k);
            let p = rows[idx[k]].close;
            cur = if t.is_finite() && p > 0.0 {
                (1.0 + t / p).ln()
            } else {
                0.0
            };
        }
        out.push(cur);
    }
    out
}

/// A move must span this many ticks, in each leg, before it can be a provable spike.
const SPIKE_TICKS: f64 = 4.0;

/// Runs every check on one series; reports on judged rows only.
pub fn check_series(
    s: &Series,
    cfg: &QualityConfig,
    cross: &CrossSection,
) -> (Vec<Flag>, Vec<Gap>) {
    let n = s.rows.len();
    let mut out = Out {
        s,
        policy: cfg.policy,
        flags: Vec::new(),
        bad: vec![false; n],
    };
    let mut cal = Calendar::for_session(s.session);
    row_local(&mut out, cfg, &mut cal);
    let clean = Clean::of(&out, cfg, cross);
    let held = out.held();
    spikes(&mut out, cfg, cross, &clean);
    // The last pass compares with the rows that passed both: the same ones, unless a spike was
    // held (rare), and then the statistics are computed again without it.
    let clean = if out.held() == held {
        clean
    } else {
        Clean::of(&out, cfg, cross)
    };
    relative(&mut out, cfg, cross, &clean);
    let gaps = super::gaps::find(s, &mut cal);
    (out.flags, gaps)
}

fn row_local(out: &mut Out<'_>, cfg: &QualityConfig, cal: &mut Calendar) {
    let s = out.s;
    let step_us = s.resolution.minutes().map(|m| i64::from(m) * 60_000_000);
    let mut zero_run = 0usize;
    // Identical consecutive bars: one repeat is already suspect for daily bars; a quiet minute
    // can legitimately repeat the last print, so intraday needs a run (a frozen feed).
    let stale_run = if s.resolution.is_intraday() { 5 } else { 1 };
    let mut repeats = 0usize;
    // The last session date looked up and its answer: intraday rows repeat a date hundreds of
    // times, and the date conversion and calendar lookup were a tenth of this pass.
    let mut last_session: Option<(i64, bool)> = None;
    for i in 0..s.rows.len() {
        let r = s.rows[i];
        if r.open <= 0.0 || r.high <= 0.0 || r.low <= 0.0 || r.close <= 0.0 {
            let detail = format!("o={} h={} l={} c={}", r.open, r.high, r.low, r.close);
            out.flag(i, Check::NonPositivePrice, 1.0, detail);
        }
        let tol = 1e-9 * r.high.abs().max(1.0);
        if r.low > r.high + tol
            || r.low > r.open.min(r.close) + tol
            || r.high < r.open.max(r.close) - tol
        {
            let detail = format!(
                "low ≤ open, close ≤ high violated: o={} h={} l={} c={}",
                r.open, r.high, r.low, r.close
            );
            out.flag(i, Check::PriceBounds, 1.0, detail);
        }
        if r.volume < 0.0 {
            out.flag(
                i,
                Check::NegativeVolume,
                1.0,
                format!("volume {}", r.volume),
            );
        }
        let off_grid = match step_us {
            Some(step) => r.ts.rem_euclid(step) != 0,
            None => r.ts.rem_euclid(DAY_US) != 0,
        };
        if off_grid {
            let detail = format!("timestamp not on the {} grid", s.resolution);
            out.flag(i, Check::OffGrid, 1.0, detail);
        }
        if s.resolution.is_intraday() && s.session.is_around_the_clock() {
            // Around-the-clock models place a bar by the clock, not by its session's date.
            let t = datetime(r.ts);
            match s.session.placement(t) {
                Placement::Open => {}
                Placement::Edge => {
                    let detail = format!(
                        "{t} UTC is at the edge of the {} week (within an hour of the weekly close or open)",
                        s.session
                    );
                    out.flag(i, Check::SessionEdge, 1.0, detail);
                }
                Placement::Closed => {
                    let detail = format!("{t} UTC is outside the {} trading week", s.session);
                    out.flag(i, Check::NonTradingDay, 1.0, detail);
                }
            }
        } else if !is_session(cal, &mut last_session, r.session) {
            let detail = format!("{} is not a trading session", date(r.session));
            out.flag(i, Check::NonTradingDay, 1.0, detail);
        }
        if i > 0 {
            let p = s.rows[i - 1];
            let same = p.open == r.open
                && p.high == r.high
                && p.low == r.low
                && p.close == r.close
                && p.volume == r.volume;
            repeats = if same && r.volume > 0.0 {
                repeats + 1
            } else {
                0
            };
            if repeats >= stale_run {
                let detail = "open, high, low, close and volume repeat the previous bar".into();
                out.flag(i, Check::StalePrice, 1.0, detail);
            }
        }
        // FX series carry no volume (vendors report none), so a zero is no finding there.
        if !s.resolution.is_intraday() && s.session != SessionModel::Fx24x5 {
            zero_run = if r.volume == 0.0 { zero_run + 1 } else { 0 };
            let threshold = cfg.zero_volume_run.max(1);
            // The run's earlier bars are flagged when it reaches the threshold, later ones as
            // they come.
            let first = if zero_run == threshold {
                i + 1 - threshold
            } else {
                i
            };
            if zero_run >= threshold {
                for j in first..=i {
                    let detail = format!("{zero_run} consecutive bars with zero volume");
                    out.flag(j, Check::ZeroVolumeRun, zero_run as f64, detail);
                }
            }
        }
    }
}

/// Whether the session `days` (days since 1970-01-01) trades, remembering the last answer.
fn is_session(cal: &mut Calendar, last: &mut Option<(i64, bool)>, days: i64) -> bool {
    match *last {
        Some((d, open)) if d == days => open,
        _ => {
            let open = cal.is_session(date(days));
            *last = Some((days, open));
            open
        }
    }
}

/// Indices of rows not flagged bad so far.
fn clean(out: &Out<'_>) -> Vec<usize> {
    (0..out.s.rows.len()).filter(|&i| !out.bad[i]).collect()
}

/// The rows not flagged bad so far, with what the return checks compare against.
struct Clean {
    /// Their indices.
    idx: Vec<usize>,
    /// The relative tick at each (see [`relative_ticks`]).
    ticks: Vec<f64>,
    /// See [`clean_returns`].
    returns: Vec<(f64, f64, f64, f64)>,
}

impl Clean {
    fn of(out: &Out<'_>, cfg: &QualityConfig, cross: &CrossSection) -> Clean {
        let idx = clean(out);
        let ticks = relative_ticks(&out.s.rows, &idx);
        let returns = clean_returns(out, &idx, &ticks, cfg, cross);
        Clean {
            idx,
            ticks,
            returns,
        }
    }
}

/// Returns between consecutive clean rows (NaN for the first), their trailing robust stats
/// (scale floored at the relative tick `ticks[k]`), and the cross-sectional median at each row.
fn clean_returns(
    out: &Out<'_>,
    idx: &[usize],
    ticks: &[f64],
    cfg: &QualityConfig,
    cross: &CrossSection,
) -> Vec<(f64, f64, f64, f64)> {
    let rows = &out.s.rows;
    let rets: Vec<f64> = (0..idx.len())
        .map(|k| {
            if k == 0 {
                f64::NAN
            } else {
                basis_return(&rows[idx[k - 1]], &rows[idx[k]]).unwrap_or(f64::NAN)
            }
        })
        .collect();
    let stats = trailing_robust(&rets, cfg.history, 25);
    let mut market = cross.cursor(out.s.resolution);
    rets.iter()
        .zip(stats)
        .enumerate()
        .map(|(k, (r, (m, sc)))| {
            let cs = market.get(rows[idx[k]].ts);
            // A return scale below one price tick is an artefact of a quiet, tick-bound price
            // (many unchanged days), not evidence that a one-tick move is extreme.
            (*r, m, sc.max(1e-4).max(ticks[k]), cs)
        })
        .collect()
}

fn spikes(out: &mut Out<'_>, cfg: &QualityConfig, cross: &CrossSection, clean: &Clean) {
    let (idx, r) = (&clean.idx, &clean.returns);
    for k in 1..idx.len().saturating_sub(1) {
        let (r1, m1, s1, c1) = r[k];
        let (r2, m2, s2, c2) = r[k + 1];
        if !(r1.is_finite() && r2.is_finite()) {
            continue;
        }
        let z1 = (r1 - c1 - m1) / s1;
        let z2 = (r2 - c2 - m2) / s2;
        let reverts = r1.signum() != r2.signum() && (r1 + r2).abs() < 0.35 * r1.abs().min(r2.abs());
        if z1.abs() > cfg.spike_z && z2.abs() > cfg.spike_z && reverts {
            let rows = &out.s.rows;
            let (a, b, c) = (&rows[idx[k - 1]], &rows[idx[k]], &rows[idx[k + 1]]);
            let tick = tick_near(rows, idx, k);
            let ticks = (b.close - a.close).abs().min((c.close - b.close).abs()) / tick;
            let market = cross.has(out.s.resolution, b.ts) && cross.has(out.s.resolution, c.ts);
            let provable = market && ticks >= SPIKE_TICKS;
            let mut detail = format!(
                "return {:+.1}% then {:+.1}% (robust z {z1:+.1}, {z2:+.1})",
                100.0 * r1.exp_m1(),
                100.0 * r2.exp_m1()
            );
            if !market {
                detail.push_str(
                    "; no cross-section (fewer than three symbols traded that day), so the \
                     market's move is unknown: not held",
                );
            } else if ticks < SPIKE_TICKS {
                detail.push_str(&format!(
                    "; only {ticks:.1} price ticks of {tick:.4}: not held"
                ));
            }
            let report = b.judged || c.judged;
            let severity = out.policy.severity(Check::PriceSpike, provable);
            out.flag_if(
                idx[k],
                report,
                Check::PriceSpike,
                severity,
                z1.abs(),
                detail,
            );
        }
    }
}

fn relative(out: &mut Out<'_>, cfg: &QualityConfig, cross: &CrossSection, clean: &Clean) {
    let (idx, ticks, r) = (&clean.idx, &clean.ticks, &clean.returns);
    if idx.len() < 2 {
        return;
    }
    let rows = &out.s.rows;
    let hl: Vec<f64> = idx
        .iter()
        .map(|&i| (rows[i].high / rows[i].low).ln())
        .collect();
    let hl_median = trailing_median(&hl, 60, 10);
    let vol: Vec<f64> = idx.iter().map(|&i| rows[i].volume).collect();
    let vol_median = trailing_median(&vol, 60, 10);
    // Features for the isolation forest, one row per clean bar after the first.
    let mut feats: Vec<[f64; 4]> = Vec::with_capacity(idx.len());
    for k in 1..idx.len() {
        let (ret, m, sc, cs) = r[k];
        let (p, cur) = (&rows[idx[k - 1]], &rows[idx[k]]);
        let raw = (cur.close / p.close).ln();
        let ca = if ret.is_finite() { ret - raw } else { 0.0 };
        let gap = ((cur.open / p.close).ln() + ca) / sc;
        let z = (ret - cs - m) / sc;
        let hl_rel = (hl[k].max(1e-9) / hl_median[k].max(1e-9)).ln();
        let v_rel = ((vol[k] + 1.0) / (vol_median[k].max(0.0) + 1.0)).ln();
        feats.push([
            z.clamp(-50.0, 50.0),
            hl_rel.clamp(-10.0, 10.0),
            gap.clamp(-50.0, 50.0),
            v_rel.clamp(-10.0, 10.0),
        ]);
    }
    let judged: Vec<usize> = (1..idx.len()).filter(|&k| rows[idx[k]].judged).collect();
    let mut to_flag: Vec<(usize, Check, f64, String)> = Vec::new();
    let mut market = cross.cursor(out.s.resolution);
    for &k in &judged {
        let i = idx[k];
        let (ret, m, sc, cs) = r[k];
        let cur = &rows[i];
        let p = &rows[idx[k - 1]];
        // One-way jump: extreme against the symbol's own history and net of the market.
        if ret.is_finite() {
            let z_own = (ret - m) / sc;
            let z_mkt = (ret - cs - m) / sc;
            if z_own.abs() > cfg.jump_z && z_mkt.abs() > cfg.jump_z {
                let no_ca_data = !(cur.adj > 0.0 && p.adj > 0.0) && cur.split == 1.0;
                let (check, what) = if no_ca_data && looks_like_split(cur.close / p.close) {
                    (
                        Check::PossibleSplit,
                        "a split-like ratio with no corporate-action data",
                    )
                } else {
                    (Check::ReturnJump, "an unexplained move")
                };
                let detail = format!(
                    "{what}: return {:+.1}% (robust z {z_own:+.1}, net of market {z_mkt:+.1})",
                    100.0 * ret.exp_m1()
                );
                to_flag.push((i, check, z_mkt.abs(), detail));
            }
        }
        // A typical range of less than two ticks is the tick talking, not the market.
        let hl_ratio = hl[k] / hl_median[k].max(2.0 * ticks[k]).max(1e-9);
        let cs_range = market.range(cur.ts);
        let market_wide = cs_range.is_finite() && hl[k] < 0.5 * cfg.range_ratio * cs_range;
        if hl_ratio > cfg.range_ratio && hl[k] > 0.1 && !market_wide {
            let detail = format!(
                "high/low range {:.1}% is {hl_ratio:.0}× its trailing median",
                100.0 * hl[k].exp_m1()
            );
            to_flag.push((i, Check::RangeOutlier, hl_ratio, detail));
        }
        let v_ratio = vol[k] / vol_median[k].max(1.0);
        let next_ok = idx
            .get(k + 1)
            .map(|&j| vol[k] / rows[j].volume.max(1.0) > 5.0)
            .unwrap_or(true);
        if v_ratio > cfg.volume_ratio && next_ok {
            let detail = format!("volume {} is {v_ratio:.0}× its trailing median", vol[k]);
            to_flag.push((i, Check::VolumeSpike, v_ratio, detail));
        }
    }
    // The forest: fitted on the series' clean history, scoring judged bars that stand out on at
    // least one feature (the rest cannot be isolated quickly, and scoring every intraday bar
    // would cost more than the ingest itself).
    let screened: Vec<usize> = judged
        .iter()
        .copied()
        .filter(|&k| {
            let f = &feats[k - 1];
            f[0].abs() > 3.0 || f[1].abs() > 1.5 || f[2].abs() > 3.0 || f[3].abs() > 2.0
        })
        .collect();
    if !screened.is_empty() {
        // Point in time: a bar is scored by a forest fitted on the bars of earlier blocks only
        // (blocks of 1,000 daily bars, four years, or of 20,000 intraday bars, about ten weeks
        // of minutes), never on itself or later bars; the first block has no forest. A forest
        // costs about a millisecond, so blocks bound the cost on long histories.
        let block = if out.s.resolution.is_intraday() {
            20_000
        } else {
            1_000
        };
        let seed = out.s.symbol.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        // Screened rows in order, a block at a time: each block's forest scores its rows
        // together (see `IsolationForest::scores_if_above`).
        let start_of = |k: usize| ((k - 1) / block) * block;
        for group in screened.chunk_by(|&a, &b| start_of(a) == start_of(b)) {
            let start = start_of(group[0]);
            if start == 0 {
                continue;
            }
            let forest = IsolationForest::fit(&feats[..start], 100, 256, seed ^ start as u64);
            let points: Vec<&[f64; 4]> = group.iter().map(|&k| &feats[k - 1]).collect();
            let scores = forest.scores_if_above(&points, cfg.isolation_score);
            for (&k, score) in group.iter().zip(scores) {
                let Some(score) = score else { continue };
                let f = &feats[k - 1];
                let detail = format!(
                    "isolation score {score:.3} (return z {:+.1}, range ×{:.1}, gap z {:+.1}, volume ×{:.1})",
                    f[0],
                    f[1].exp(),
                    f[2],
                    f[3].exp()
                );
                to_flag.push((idx[k], Check::Multivariate, score, detail));
            }
        }
    }
    for (i, c, score, detail) in to_flag {
        out.flag(i, c, score, detail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_stats_are_point_in_time() {
        let x: Vec<f64> = (0..300).map(|i| (i % 7) as f64).collect();
        let a = trailing_robust(&x, 50, 10);
        let mut y = x.clone();
        y.truncate(200);
        let b = trailing_robust(&y, 50, 10);
        // Positions past the bootstrap do not depend on later values.
        assert_eq!(&a[30..200], &b[30..200]);
        let m = trailing_median(&x, 50, 10);
        let medians: Vec<f64> = a.iter().map(|s| s.0).collect();
        assert_eq!(m, medians);
    }

    #[test]
    fn split_ratios() {
        assert!(looks_like_split(0.5));
        assert!(looks_like_split(2.0 / 3.0));
        assert!(looks_like_split(7.0));
        assert!(looks_like_split(0.8)); // 5-for-4
        assert!(!looks_like_split(0.9));
    }
}
