//! The built-in features compiled to Rust: each [`Kernel`] is one family of feature
//! expressions, with the exact SQL the view declares ([`Kernel::sql`]) and a one-pass Rust
//! implementation of the same values.
//!
//! Kernels are recognised from a feature's SQL text, never from a flag a caller sets: a
//! feature whose SQL is byte-for-byte a kernel's SQL is computed by that kernel, anything else
//! (a user's own expression) by DuckDB. So a view's version (a hash of its SQL) means the same
//! values whichever engine computes it, and `tests/kernels.rs` checks the two engines agree on
//! real and generated data.

mod compute;
mod insert;
mod ranks;
mod run;

pub(crate) use run::materialize;
pub use run::{profile, Profile};

use crate::views::{FeatureDef, FeatureView, Stage};

/// One family of built-in feature expressions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kernel {
    /// `r1`: the 1-bar log return.
    Ret1,
    /// `ln(c / lag(c, k))`: the log return over `k` bars.
    LogRet(u32),
    /// Sample standard deviation of the 1-bar log return over `n` bars.
    Vol(u32),
    /// Cutler's RSI over `n` price changes (simple averages of gains and losses).
    Rsi(u32),
    /// The `a`-bar over the `b`-bar simple moving average of the close, minus 1.
    SmaRatio(u32, u32),
    /// The close over its `n`-bar simple moving average, minus 1.
    CloseSma(u32),
    /// The volume's z-score over `n` bars.
    VolumeZ(u32),
    /// The `n`-bar average true range over the close.
    Atr(u32),
    /// `(h - l) / c`.
    Range,
    /// `ln(o / lag(c))`.
    Gap,
    /// ISO day of week of the session.
    DayOfWeek,
    /// Calendar month of the session.
    Month,
    /// Cross-sectional percentile of a time-series feature of the same view.
    CsRank(String),
}

/// A rolling aggregate over the last `n` rows that is NULL until `n` values exist. `rn` (the
/// row's position in its symbol, from 1) decides that instead of a second windowed `count`:
/// the prepared columns are never NULL except the first row of those built on the previous
/// close (`r1`, `gain`, `loss`), which start one row later.
pub(crate) fn rolling(agg: &str, expr: &str, n: u32) -> String {
    let k = n - 1;
    let first = n + u32::from(matches!(expr, "r1" | "gain" | "loss"));
    format!(
        "CASE WHEN rn >= {first} THEN {agg}({expr}) OVER (w ROWS BETWEEN {k} PRECEDING AND CURRENT ROW) END"
    )
}

/// The percentile of `col` among the symbols that have it at the same timestamp (NULL where
/// the symbol has none, so warm-up rows are not ranked as the lowest).
pub(crate) fn cs_rank(col: &str) -> String {
    format!(
        "CASE WHEN {col} IS NOT NULL THEN percent_rank() OVER (PARTITION BY ts, {col} IS NULL ORDER BY {col}) END"
    )
}

impl Kernel {
    /// The SQL the feature view declares for this kernel (what DuckDB computes when the view
    /// is materialised in SQL, and what the version hash covers).
    pub fn sql(&self) -> String {
        match self {
            Kernel::Ret1 => "r1".into(),
            Kernel::LogRet(k) => format!("ln(c / lag(c, {k}) OVER w)"),
            Kernel::Vol(n) => rolling("stddev_samp", "r1", *n),
            Kernel::Rsi(n) => {
                let (g, l) = (rolling("avg", "gain", *n), rolling("avg", "loss", *n));
                // All-up windows are 100, flat ones 50 (not undefined).
                format!(
                    "CASE WHEN ({l}) = 0 THEN CASE WHEN ({g}) = 0 THEN 50 ELSE 100 END \
                     ELSE 100 - 100 / (1 + ({g}) / ({l})) END"
                )
            }
            Kernel::SmaRatio(a, b) => format!(
                "({}) / ({}) - 1",
                rolling("avg", "c", *a),
                rolling("avg", "c", *b)
            ),
            Kernel::CloseSma(n) => format!("c / ({}) - 1", rolling("avg", "c", *n)),
            Kernel::VolumeZ(n) => format!(
                "(v - ({})) / nullif({}, 0)",
                rolling("avg", "v", *n),
                rolling("stddev_samp", "v", *n)
            ),
            Kernel::Atr(n) => format!("({}) / c", rolling("avg", "tr", *n)),
            Kernel::Range => "(h - l) / c".into(),
            Kernel::Gap => "ln(o / lag(c) OVER w)".into(),
            Kernel::DayOfWeek => "isodow(session)".into(),
            Kernel::Month => "month(session)".into(),
            Kernel::CsRank(col) => cs_rank(col),
        }
    }

    /// Where the kernel's feature is evaluated.
    pub fn stage(&self) -> Stage {
        match self {
            Kernel::CsRank(_) => Stage::CrossSection,
            _ => Stage::TimeSeries,
        }
    }

    /// The kernel whose SQL is exactly `def.sql` (and whose stage is `def.stage`), if any.
    /// `series` are the view's time-series feature names (what a rank may refer to).
    pub fn recognise(def: &FeatureDef, series: &[&str]) -> Option<Kernel> {
        let numbers = numbers_in(&def.sql);
        let mut candidates = vec![
            Kernel::Ret1,
            Kernel::Range,
            Kernel::Gap,
            Kernel::DayOfWeek,
            Kernel::Month,
        ];
        for &n in numbers.iter().filter(|&&n| n >= 1) {
            candidates.extend([
                Kernel::LogRet(n),
                Kernel::Vol(n),
                Kernel::Rsi(n),
                Kernel::CloseSma(n),
                Kernel::VolumeZ(n),
                Kernel::Atr(n),
            ]);
            for &m in numbers.iter().filter(|&&m| m >= 1) {
                candidates.push(Kernel::SmaRatio(n, m));
            }
        }
        candidates.extend(series.iter().map(|s| Kernel::CsRank(s.to_string())));
        candidates
            .into_iter()
            .find(|k| k.stage() == def.stage && k.sql() == def.sql)
    }
}

/// The window lengths and lags `sql` may be written with: each decimal integer in it and its
/// neighbours (a window of `n` rows is written `n - 1 PRECEDING` and `rn >= n` or `n + 1`).
fn numbers_in(sql: &str) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    for part in sql.split(|c: char| !c.is_ascii_digit()) {
        if let Ok(n) = part.parse::<u32>() {
            for m in [n.saturating_sub(1), n, n.saturating_add(1)] {
                if m <= 100_000 && !out.contains(&m) {
                    out.push(m);
                }
            }
        }
    }
    out
}

/// A view compiled to kernels: one per feature, in the view's column order.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledView {
    /// The kernel of each feature, in the view's column order.
    pub kernels: Vec<Kernel>,
}

impl CompiledView {
    /// Compiles `view` when every feature is a kernel and the view joins no economic series;
    /// `None` sends it to DuckDB.
    pub fn compile(view: &FeatureView) -> Option<CompiledView> {
        if !view.macros.is_empty() {
            return None;
        }
        let series: Vec<&str> = view
            .features
            .iter()
            .filter(|f| f.stage == Stage::TimeSeries)
            .map(|f| f.name.as_str())
            .collect();
        let kernels = view
            .features
            .iter()
            .map(|f| Kernel::recognise(f, &series))
            .collect::<Option<Vec<_>>>()?;
        Some(CompiledView { kernels })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_view_without_macros_compiles() {
        for view in crate::builtin() {
            let compiled = CompiledView::compile(&view);
            assert_eq!(compiled.is_some(), view.macros.is_empty(), "{}", view.name);
            if let Some(c) = compiled {
                for (k, f) in c.kernels.iter().zip(&view.features) {
                    assert_eq!(k.sql(), f.sql, "{}", f.name);
                }
            }
        }
    }

    #[test]
    fn the_builtin_versions_did_not_move() {
        // The versions from before the SQL moved into `Kernel::sql`: a moved version would
        // orphan every materialised table and every model trained on one.
        assert_eq!(crate::views::technical().version(), "4d6d47fbbe54");
        assert_eq!(crate::views::technical_intraday().version(), "04d9bb21022d");
    }

    #[test]
    fn a_changed_expression_is_not_a_kernel() {
        let mut view = crate::views::technical();
        view.features[4].sql = view.features[4].sql.replace("stddev_samp", "stddev_pop");
        assert!(CompiledView::compile(&view).is_none());
        // A rank of something that is not a time-series feature of the view.
        let def = FeatureDef {
            name: "x".into(),
            stage: Stage::CrossSection,
            sql: cs_rank("volume"),
            description: String::new(),
        };
        assert_eq!(Kernel::recognise(&def, &["ret_5"]), None);
        // The right SQL at the wrong stage.
        let def = FeatureDef {
            name: "x".into(),
            stage: Stage::CrossSection,
            sql: "r1".into(),
            description: String::new(),
        };
        assert_eq!(Kernel::recognise(&def, &[]), None);
    }

    #[test]
    fn other_window_lengths_are_recognised() {
        let def = FeatureDef {
            name: "x".into(),
            stage: Stage::TimeSeries,
            sql: Kernel::SmaRatio(5, 200).sql(),
            description: String::new(),
        };
        assert_eq!(Kernel::recognise(&def, &[]), Some(Kernel::SmaRatio(5, 200)));
    }
}
