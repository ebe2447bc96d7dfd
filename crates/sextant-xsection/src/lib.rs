#![warn(missing_docs)]
//! Cross-sectional research: rank a universe by a signal each period and judge the signal the
//! way alphalens does, as pure computation on date × asset panels.
//!
//! - [`Panel`]: values by date (rows) and asset (columns), NaN for missing.
//! - [`forward_returns`]: `p[t+k] / p[t] - 1` after forward-filling prices, as alphalens'
//!   `compute_forward_returns` (cumulative). The caller chooses the prices, and with them the
//!   timing: next-open prices make the label start at the next open, as the ML labels do.
//! - [`clean`]: the (date, asset) cells where the factor and every horizon's forward return are
//!   known, alphalens' `get_clean_factor_and_forward_returns` without the outlier filter (a
//!   z-score filter on forward returns looks ahead).
//! - [`rank_ic`]: Spearman's rank correlation per date; [`ic_summary`]: mean, standard
//!   deviation, ICIR and t-statistic.
//! - [`quantize`], [`mean_return_by_quantile`], [`quantile_turnover`],
//!   [`rank_autocorrelation`].
//! - [`evaluate`]: all of it for one factor ([`FactorReport`]: IC decay by horizon,
//!   quantile returns and spread, turnover, IC by regime); [`figures`]: its tearsheet plots as
//!   SVG.

mod eval;
pub mod figures;
mod panel;
mod report;
mod stats;

pub use eval::{
    clean, ic_summary, mean_return_by_quantile, quantile_turnover, quantize, rank_autocorrelation,
    rank_ic, CleanPanel, IcSummary,
};
pub use panel::{forward_returns, Panel, PanelError};
pub use report::{evaluate, FactorReport, HorizonIc, RegimeIc, Spread};
pub use stats::{average_ranks, pearson};
