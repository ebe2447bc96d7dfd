#![warn(missing_docs)]
//! Data quality: every write into the cache is judged before it is merged.
//!
//! The checks run inside the ingest transaction, on the staged rows that are new or changed, in
//! the context of the stored history just before them (a bounded tail, never a rescan):
//!
//! - **structural** (critical): price bounds (`low ≤ open, close ≤ high`), positive prices,
//!   non-negative volume, timestamps off the resolution's grid, bars on non-trading days;
//! - **completeness**: sessions missing against the exchange calendar ([`calendar`]), reported
//!   as gaps with ranges (a missing bar cannot be quarantined, only reported);
//! - **statistical** (warning or notice): reverting price spikes and unexplained jumps by robust
//!   z-score against the symbol's own history *and* net of the cross-section's move that day,
//!   volume spikes, stale repeated bars, zero-volume runs, range outliers;
//! - **multivariate** (notice): an Isolation Forest ([`iforest`]) over return, range, gap and
//!   volume features, fitted per symbol on its history.
//!
//! Corporate actions are not anomalies: a move explained by the split coefficient or by the
//! change in the vendor's adjusted-to-unadjusted ratio is judged on the adjusted return.
//!
//! What is *held* (moved to the `quarantine` table with reasons, scores and provenance, out of
//! `bars`, hence out of features and backtests, until a reviewer approves it; see
//! `Cache::review`) depends on the [`QualityPolicy`]. The default holds only what is provably
//! wrong: structural impossibilities, and reverting spikes that the rest of the market did not
//! make, that no corporate action explains and that are larger than a few price ticks. Every
//! statistical finding is recorded as a flag and the bar stays: real markets crash, gap and
//! trade a hundred times their usual volume, and a held crash day would make every backtest over
//! it look better than it was. A flag's severity says what the policy did with it: `critical`
//! and `warning` rows are held, `notice` rows are recorded only.

pub mod calendar;
mod checks;
mod cross;
mod gaps;
pub mod iforest;
mod rows;

pub use checks::{basis_return, check_series};
pub use cross::{CrossSection, Move};
pub use rows::{date, datetime, Row, Series};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use sextant_domain::Resolution;
use std::collections::BTreeMap;

/// How serious a flag is. `Critical` and `Warning` quarantine the row (when quarantine is on);
/// `Notice` only records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Recorded only; the bar stays in `bars`.
    Notice,
    /// A statistical finding the policy holds (a provable spike, or anything under `strict`).
    Warning,
    /// A structural impossibility: always held (when quarantine is on).
    Critical,
}

impl Severity {
    /// The lowercase name stored with a flag and used in the API: `notice`, `warning`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Parses a name written by [`Severity::as_str`] (exact, case-sensitive); `None` otherwise.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "notice" => Some(Severity::Notice),
            "warning" => Some(Severity::Warning),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// True for `Warning` and `Critical`: the severities that hold a bar out of `bars` when
    /// [`QualityConfig::quarantine`] is on.
    pub fn quarantines(self) -> bool {
        self >= Severity::Warning
    }
}

/// The checks, each with a fixed severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// OHLC breaks `low ≤ open, close ≤ high` (relative tolerance 1e-9). Structural.
    PriceBounds,
    /// Open, high, low or close is zero or negative. Structural.
    NonPositivePrice,
    /// Volume below zero. Structural.
    NegativeVolume,
    /// Timestamp not on the resolution's grid: not a multiple of the bar length (intraday) or not
    /// 00:00 UTC (daily and coarser). Structural.
    OffGrid,
    /// The bar's session is a weekend or exchange holiday per [`calendar`]. Structural.
    NonTradingDay,
    /// Identical copies of one key (symbol, resolution, ts) in one batch; one copy is kept.
    /// Score: the number of copies. Always a notice.
    DuplicateRow,
    /// A move reverted by the next bar, both legs beyond [`QualityConfig::spike_z`] robust z net of
    /// the market. Held only with the evidence [`QualityPolicy::Provable`] requires (or under
    /// `strict`).
    PriceSpike,
    /// OHLC and a non-zero volume repeat the previous bar exactly (daily: one repeat; intraday:
    /// five in a row, a frozen feed).
    StalePrice,
    /// At least [`QualityConfig::zero_volume_run`] consecutive zero-volume bars (daily only); every
    /// bar of the run is flagged.
    ZeroVolumeRun,
    /// Volume above [`QualityConfig::volume_ratio`] times its trailing median and more than five
    /// times the next bar's.
    VolumeSpike,
    /// High-low range above [`QualityConfig::range_ratio`] times its trailing median (and a log
    /// range over 0.1), unless the whole cross-section swung on that bar.
    RangeOutlier,
    /// A one-way return beyond [`QualityConfig::jump_z`] robust z, both against the symbol's own
    /// history and net of the market, that no corporate action explains.
    ReturnJump,
    /// A jump whose price ratio looks like a split (2:1, 3:2, …) on a bar without corporate-action
    /// data: probably a split coefficient the source did not report.
    PossibleSplit,
    /// Isolation-forest score above [`QualityConfig::isolation_score`] on the bar's return, range,
    /// gap and volume features.
    Multivariate,
    /// An FX bar in the hour after the Friday 17:00 New York close or before the Sunday 17:00
    /// open: venues and vendors place the weekly edges up to an hour apart (their daylight-saving
    /// rules differ), so it is a real print, kept with its adjacent session and reported. Always
    /// a notice. (A bar deeper in the weekend is [`Check::NonTradingDay`].)
    SessionEdge,
}

impl Check {
    /// Every check, in declaration order.
    pub const ALL: [Check; 15] = [
        Check::PriceBounds,
        Check::NonPositivePrice,
        Check::NegativeVolume,
        Check::OffGrid,
        Check::NonTradingDay,
        Check::DuplicateRow,
        Check::PriceSpike,
        Check::StalePrice,
        Check::ZeroVolumeRun,
        Check::VolumeSpike,
        Check::RangeOutlier,
        Check::ReturnJump,
        Check::PossibleSplit,
        Check::Multivariate,
        Check::SessionEdge,
    ];

    /// The snake_case name stored with a flag, used as the [`QualityReport::by_check`] key and in
    /// the API (`price_spike`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Check::PriceBounds => "price_bounds",
            Check::NonPositivePrice => "non_positive_price",
            Check::NegativeVolume => "negative_volume",
            Check::OffGrid => "off_grid",
            Check::NonTradingDay => "non_trading_day",
            Check::DuplicateRow => "duplicate_row",
            Check::PriceSpike => "price_spike",
            Check::StalePrice => "stale_price",
            Check::ZeroVolumeRun => "zero_volume_run",
            Check::VolumeSpike => "volume_spike",
            Check::RangeOutlier => "range_outlier",
            Check::ReturnJump => "return_jump",
            Check::PossibleSplit => "possible_split",
            Check::Multivariate => "multivariate",
            Check::SessionEdge => "session_edge",
        }
    }

    /// Parses a name written by [`Check::as_str`] (exact, case-sensitive); `None` otherwise.
    pub fn parse(s: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The severity under [`QualityPolicy::Strict`] (every statistical warning held).
    pub fn strict_severity(self) -> Severity {
        match self {
            Check::PriceBounds
            | Check::NonPositivePrice
            | Check::NegativeVolume
            | Check::OffGrid
            | Check::NonTradingDay => Severity::Critical,
            Check::PriceSpike
            | Check::StalePrice
            | Check::ZeroVolumeRun
            | Check::VolumeSpike
            | Check::RangeOutlier => Severity::Warning,
            Check::DuplicateRow
            | Check::ReturnJump
            | Check::PossibleSplit
            | Check::Multivariate
            | Check::SessionEdge => Severity::Notice,
        }
    }

    /// True for the checks that prove a bar impossible (no market produces it).
    pub fn is_structural(self) -> bool {
        self.strict_severity() == Severity::Critical
    }
}

/// Which findings hold a bar out of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityPolicy {
    /// Hold structural impossibilities only; everything else is a notice.
    Structural,
    /// Hold structural impossibilities and *provable* spikes: a move and its reversal, both
    /// extreme against the symbol's history and net of the cross-section's move that day (at
    /// least three symbols must have traded), unexplained by a corporate action and larger than
    /// a few price ticks. A symbol loaded alone has no cross-section, so its spikes are notices
    /// that say so. Statistical findings are notices.
    #[default]
    #[serde(alias = "default")]
    Provable,
    /// Hold every structural and statistical warning (spikes without a cross-section, range
    /// outliers, volume spikes, stale bars, zero-volume runs): for a feed known to be dirty.
    Strict,
}

impl QualityPolicy {
    /// Every policy.
    pub const ALL: [QualityPolicy; 3] = [
        QualityPolicy::Structural,
        QualityPolicy::Provable,
        QualityPolicy::Strict,
    ];

    /// The name used in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            QualityPolicy::Structural => "structural",
            QualityPolicy::Provable => "provable",
            QualityPolicy::Strict => "strict",
        }
    }

    /// Parses a configuration value (`default` names the default policy).
    pub fn parse(s: &str) -> Option<QualityPolicy> {
        match s.trim().to_ascii_lowercase().as_str() {
            "default" => Some(QualityPolicy::default()),
            v => QualityPolicy::ALL.into_iter().find(|p| p.as_str() == v),
        }
    }

    /// The severity of a finding of `check` under this policy. `provable_spike` says whether a
    /// price spike met the evidence the default policy requires (ignored for other checks).
    pub fn severity(self, check: Check, provable_spike: bool) -> Severity {
        let strict = check.strict_severity();
        match self {
            QualityPolicy::Strict => strict,
            _ if check.is_structural() => Severity::Critical,
            QualityPolicy::Provable if check == Check::PriceSpike && provable_spike => {
                Severity::Warning
            }
            _ => Severity::Notice,
        }
    }
}

/// One finding about one bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    /// Symbol of the flagged bar.
    pub symbol: String,
    /// Resolution of the flagged bar (serialised as its name: `daily`, `5min`, …).
    pub resolution: Resolution,
    /// Timestamp of the flagged bar (UTC); with `symbol` and `resolution` it keys the bar.
    pub ts: NaiveDateTime,
    /// The check that fired.
    pub check: Check,
    /// What the policy made of the finding: `Warning` and `Critical` hold the bar (when
    /// quarantine is on), `Notice` only records it.
    pub severity: Severity,
    /// The check's statistic (a robust z-score, a ratio, an isolation score; 1 for yes/no checks).
    pub score: f64,
    /// Human-readable explanation with the numbers behind the finding.
    pub detail: String,
}

/// Bars missing against the exchange calendar, as one range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    /// Symbol of the series.
    pub symbol: String,
    /// Resolution of the series (serialised as its name: `daily`, `5min`, …).
    pub resolution: Resolution,
    /// First missing bar (UTC). When whole sessions are missing, the first such session's date at
    /// 00:00, at every resolution.
    pub first_missing: NaiveDateTime,
    /// Last missing bar (UTC), inclusive; same convention as `first_missing`.
    pub last_missing: NaiveDateTime,
    /// Bars missing in the range: for whole sessions, sessions times the bars of a regular
    /// 390-minute session (1 per session for daily bars).
    pub missing: u64,
}

/// What the checks of one ingest found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// Rows judged (new or changed); unchanged re-ingested rows were judged when first written.
    pub judged: u64,
    /// Findings of every severity, notices included.
    pub flags: u64,
    /// Staged rows moved to quarantine instead of `bars` (including rows equal to a rejected one).
    pub quarantined: u64,
    /// Stored bars this batch revealed as bad (a spike whose reversal just arrived), moved from
    /// `bars` to quarantine.
    pub held_stored: u64,
    /// Findings recorded as `Notice` (the bar was kept).
    pub notices: u64,
    /// Gap ranges found (see [`Gap`]).
    pub gaps: u64,
    /// Bars missing across all gaps (the sum of [`Gap::missing`]).
    pub missing_bars: u64,
    /// Number of findings per check, keyed by [`Check::as_str`].
    pub by_check: BTreeMap<String, u64>,
}

/// Thresholds and switches. The defaults were chosen on the bundled real data (see the
/// quality benchmark): they flag none of its real splits and few of its real bars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityConfig {
    /// Run the checks at all.
    pub enabled: bool,
    /// Move critical and warning rows to quarantine (off: record flags, merge the rows anyway).
    pub quarantine: bool,
    /// Which findings are warnings that hold a bar (default `provable`).
    pub policy: QualityPolicy,
    /// Bars of stored history each series is judged against.
    pub history: usize,
    /// |robust z| of both legs of a reverting spike.
    pub spike_z: f64,
    /// |robust z| (own and net of the market) of an unexplained one-way jump.
    pub jump_z: f64,
    /// Volume over its trailing median for a volume spike.
    pub volume_ratio: f64,
    /// High-low range over its trailing median for a range outlier.
    pub range_ratio: f64,
    /// Isolation-forest score above which a bar is a multivariate outlier.
    pub isolation_score: f64,
    /// Consecutive zero-volume daily bars that make a run.
    pub zero_volume_run: usize,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            enabled: true,
            quarantine: true,
            policy: QualityPolicy::default(),
            history: 250,
            spike_z: 4.0,
            jump_z: 12.0,
            volume_ratio: 30.0,
            range_ratio: 8.0,
            isolation_score: 0.75,
            zero_volume_run: 3,
        }
    }
}

impl QualityReport {
    /// The counts of a batch's findings; `quarantined` and `held_stored` are filled in by the
    /// quarantine step, which knows what it actually moved.
    pub fn from_flags(judged: u64, flags: &[Flag], gaps: &[Gap]) -> Self {
        let mut by_check = BTreeMap::new();
        for f in flags {
            *by_check.entry(f.check.as_str().to_string()).or_insert(0) += 1;
        }
        QualityReport {
            judged,
            flags: flags.len() as u64,
            quarantined: 0,
            held_stored: 0,
            notices: flags
                .iter()
                .filter(|f| f.severity == Severity::Notice)
                .count() as u64,
            gaps: gaps.len() as u64,
            missing_bars: gaps.iter().map(|g| g.missing).sum(),
            by_check,
        }
    }
}
