//! Feature views, declared as data: a name, a description, the resolution, and one SQL
//! expression per feature over the prepared bar columns (see [`super::store`]). The version is
//! a hash of the whole definition, so changing any expression makes a new version and the old
//! one stays readable (its table is kept) and reproducible (its definition is stored).
//!
//! Every expression may use only the current and earlier rows of its symbol (window frames end
//! at `CURRENT ROW`), or other symbols' values at the same timestamp (cross-sectional ranks):
//! a value at `t` depends on bars `≤ t` only. `tests/features.rs` proves it by truncation for
//! every view.

use crate::kernels::Kernel;
use serde::{Deserialize, Serialize};
use sextant_domain::Resolution;
use sha2::{Digest, Sha256};

/// Where a feature's expression is evaluated: per symbol over time, or across symbols at one
/// timestamp (over the per-symbol features, which are then available by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Evaluated per symbol in time order over the prepared bar columns (window `w`).
    TimeSeries,
    /// Evaluated across symbols at one timestamp, after every time-series feature, which it may
    /// name.
    CrossSection,
}

/// One feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDef {
    /// Column name of the feature; must be unique within its view.
    pub name: String,
    /// Where the expression is evaluated.
    pub stage: Stage,
    /// A DuckDB SQL expression; time-series window functions use the named window `w` (per
    /// symbol, in time order); cross-sectional ones partition by `ts`.
    pub sql: String,
    /// Human-readable meaning, for listings; not part of the version hash.
    pub description: String,
}

/// A named, versioned set of features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureView {
    /// The view's name, unique among views; versions are stored under it.
    pub name: String,
    /// Human-readable summary, for listings; not part of the version hash.
    pub description: String,
    /// Bar resolution the view is computed at (serialised as its name: `daily`, `1min`, …).
    pub resolution: Resolution,
    /// The features, in output column order; cross-sectional ones are evaluated after every
    /// time-series one wherever they are listed.
    pub features: Vec<FeatureDef>,
    /// Economic series ids (`treasury_yield_3month_daily`, `cpi_monthly`) joined point in time:
    /// each is a prepared column `m_<id>` holding, at every bar, the latest observation whose
    /// release date (`SeriesKey::available_from`: the period's end plus the indicator's release
    /// lag) is on or before the bar's session, so a value is never seen before it was published.
    /// Empty for views on prices alone. Materialising needs each series cached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub macros: Vec<String>,
}

/// Bumped when the prepared columns or the SQL scaffolding change meaning.
const SCAFFOLD_VERSION: u32 = 3;

impl FeatureView {
    /// The version: the first 12 hex digits of a SHA-256 over the canonical definition.
    pub fn version(&self) -> String {
        let mut h = Sha256::new();
        h.update(SCAFFOLD_VERSION.to_le_bytes());
        for part in [self.name.as_str(), self.resolution.as_str()] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        for m in &self.macros {
            h.update(b"macro:");
            h.update(m.as_bytes());
            h.update([0]);
        }
        for f in &self.features {
            h.update(f.name.as_bytes());
            h.update([0]);
            h.update(
                serde_json::to_string(&f.stage)
                    .unwrap_or_default()
                    .as_bytes(),
            );
            h.update(f.sql.as_bytes());
            h.update([0]);
        }
        hex::encode(h.finalize())[..12].to_string()
    }

    /// The table a version materialises into.
    pub fn table_name(&self) -> String {
        format!("fv_{}_{}", self.name, self.version())
    }

    /// The feature names in column order.
    pub fn feature_names(&self) -> Vec<String> {
        self.features.iter().map(|f| f.name.clone()).collect()
    }
}

fn ts(name: &str, sql: &str, description: &str) -> FeatureDef {
    FeatureDef {
        name: name.into(),
        stage: Stage::TimeSeries,
        sql: sql.into(),
        description: description.into(),
    }
}

fn cs(name: &str, sql: &str, description: &str) -> FeatureDef {
    FeatureDef {
        name: name.into(),
        stage: Stage::CrossSection,
        sql: sql.into(),
        description: description.into(),
    }
}

/// The built-in technical view: returns, volatility, RSI, moving-average ratios, volume
/// z-score, ATR, range, gap, calendar, and cross-sectional ranks across the universe.
///
/// Prices are adjusted by the vendor's adjusted-to-raw ratio (splits and dividends), which is
/// point-in-time for every *ratio* used here: a back-adjustment multiplies a price and its
/// predecessors by the same factor. RSI is Cutler's (simple averages of gains and losses over
/// 14 bars); TA-Lib's RSI uses Wilder's recursive smoothing, which SQL windows cannot express.
pub fn technical() -> FeatureView {
    let mut features = vec![ts("ret_1", &Kernel::Ret1.sql(), "log return over 1 bar")];
    for k in [5, 10, 20] {
        features.push(ts(
            &format!("ret_{k}"),
            &Kernel::LogRet(k).sql(),
            &format!("log return over {k} bars"),
        ));
    }
    for n in [10, 20] {
        features.push(ts(
            &format!("vol_{n}"),
            &Kernel::Vol(n).sql(),
            &format!("standard deviation of 1-bar log returns over {n} bars"),
        ));
    }
    features.extend([
        ts(
            "rsi_14",
            &Kernel::Rsi(14).sql(),
            "relative strength index over 14 price changes (Cutler: simple averages)",
        ),
        ts(
            "sma_ratio_10_50",
            &Kernel::SmaRatio(10, 50).sql(),
            "10-bar over 50-bar simple moving average, minus 1",
        ),
        ts(
            "close_sma_20",
            &Kernel::CloseSma(20).sql(),
            "close over its 20-bar simple moving average, minus 1",
        ),
        ts(
            "volume_z_20",
            &Kernel::VolumeZ(20).sql(),
            "volume z-score over 20 bars (split-adjusted volume)",
        ),
        ts(
            "atr_14",
            &Kernel::Atr(14).sql(),
            "average true range over 14 bars, relative to the close",
        ),
        ts(
            "range",
            &Kernel::Range.sql(),
            "high-low range relative to the close",
        ),
        ts(
            "gap",
            &Kernel::Gap.sql(),
            "log gap from the previous close to the open",
        ),
        ts(
            "day_of_week",
            &Kernel::DayOfWeek.sql(),
            "ISO day of week (1 = Monday)",
        ),
        ts("month", &Kernel::Month.sql(), "calendar month"),
        cs(
            "cs_rank_ret_5",
            &Kernel::CsRank("ret_5".into()).sql(),
            "cross-sectional percentile of ret_5 at the same timestamp",
        ),
        cs(
            "cs_rank_vol_20",
            &Kernel::CsRank("vol_20".into()).sql(),
            "cross-sectional percentile of vol_20 at the same timestamp",
        ),
    ]);
    FeatureView {
        name: "technical".into(),
        description:
            "price, volatility, momentum, volume and calendar features with cross-sectional ranks"
                .into(),
        resolution: Resolution::Daily,
        features,
        macros: Vec::new(),
    }
}

/// The same features on one-minute bars (the intraday benchmark's view).
pub fn technical_intraday() -> FeatureView {
    let mut v = technical();
    v.name = "technical_1min".into();
    v.resolution = Resolution::Min1;
    v.description = "the technical view on 1-minute bars".into();
    v
}

/// The 3-month Treasury yield (daily) and the CPI (monthly), the series [`macro_view`] joins.
pub const MACRO_SERIES: [&str; 2] = ["treasury_yield_3month_daily", "cpi_monthly"];

/// The technical view plus the economy, point in time: the 3-month Treasury yield and its
/// 20-bar change, and CPI inflation over the last 12 published months. Needs both
/// [`MACRO_SERIES`] cached (`sextant ingest macro`).
pub fn macro_view() -> FeatureView {
    let mut v = technical();
    v.name = "technical_macro".into();
    v.description = "the technical view plus the 3-month Treasury yield and CPI inflation, each as published by the bar's session".into();
    v.macros = MACRO_SERIES.iter().map(|s| s.to_string()).collect();
    let (rate, cpi) = ("m_treasury_yield_3month_daily", "m_cpi_monthly");
    v.features.extend([
        ts(
            "rate_3m",
            rate,
            "3-month Treasury yield, percent, as published by the session",
        ),
        ts(
            "rate_3m_chg_20",
            &format!("{rate} - lag({rate}, 20) OVER w"),
            "change of the 3-month yield over 20 bars, percentage points",
        ),
        ts(
            "cpi_yoy",
            &format!("ln({cpi} / {cpi}_12)"),
            "log CPI inflation over the 12 months before the latest published index",
        ),
    ]);
    v
}

/// Every built-in view.
pub fn builtin() -> Vec<FeatureView> {
    vec![technical(), technical_intraday(), macro_view()]
}
