//! The dashboard overview: one owner's portfolios at a glance, the latest backtests, how fresh
//! the cached data is and what the job queue is doing, in one call so that a front page needs
//! one request.

use crate::backtest::RUNS;
use crate::common::{blocking, PageRequest, MAX_PAGE_SIZE};
use crate::portfolios::{PortfolioError, PortfolioService};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sextant_data::{Cache, DataError};
use sextant_meta::{lookup, Filter, MetaError, MetaStore, Query};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Metadata collection of jobs (written by the jobs subsystem; only `status` is read here).
pub const JOBS: &str = "jobs";
/// Backtests listed in the overview.
pub const RECENT_BACKTESTS: u64 = 10;
/// Distinct job statuses counted; more would mean statuses are not an enumeration.
const MAX_JOB_STATUSES: usize = 64;

/// Why the overview could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// Listing the owner's portfolios or valuing one of them failed.
    #[error(transparent)]
    Portfolio(#[from] PortfolioError),
    /// The metadata store failed (runs or jobs).
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The market-data cache failed (coverage or quality totals).
    #[error(transparent)]
    Data(#[from] DataError),
}

/// One portfolio's headline numbers, as of its latest point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortfolioSummary {
    /// The portfolio's id.
    pub id: String,
    /// The portfolio's display name.
    pub name: String,
    /// Date of the latest point; null for a portfolio with no transactions and no prices.
    pub as_of: Option<NaiveDate>,
    /// Market value at `as_of` (holdings at carried-forward closes plus cash).
    pub value: f64,
    /// Change of value since the previous point, external flows excluded.
    pub day_change: Option<f64>,
    /// The latest time-weighted daily return.
    pub day_change_pct: Option<f64>,
    /// Time-weighted return since the first transaction.
    pub total_return: Option<f64>,
    /// Value minus opening value minus net deposits, since the first transaction.
    pub pnl: f64,
    /// The 10-session forecast from `as_of`: the 5–95 % band of the value and VaR/CVaR at 1
    /// and 10 sessions (null when it could not be made; `forecast_note` says why).
    pub forecast: Option<crate::portfolios::PerformanceForecast>,
    /// Why `forecast` is null.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub forecast_note: Option<String>,
}

/// The owner's portfolios together. Time-weighted returns of different portfolios do not add
/// up, so the combined return is the money return: P&L over the capital put in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortfolioTotals {
    /// Number of portfolios of the owner.
    pub count: usize,
    /// Sum of the portfolios' latest values.
    pub value: f64,
    /// Sum of the portfolios' day changes (portfolios without one count as 0).
    pub day_change: f64,
    /// Sum of the portfolios' P&L since their first transaction.
    pub pnl: f64,
    /// Opening values plus net deposits.
    pub contributed: f64,
    /// `pnl / contributed`; null when nothing was contributed.
    pub total_return: Option<f64>,
}

/// A stored backtest run, summarised (see [`crate::backtest::BacktestRun`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestSummary {
    /// The run's id: fetch the full run with it from the backtest service.
    pub id: String,
    /// Strategy name, when the stored run records one.
    pub strategy: Option<String>,
    /// Symbols the run traded, in request order; empty when not recorded.
    pub symbols: Vec<String>,
    /// Null when undefined (or infinite).
    pub total_return: Option<f64>,
    /// Annualised Sharpe ratio; null when undefined (or infinite).
    pub sharpe: Option<f64>,
    /// When the run was stored; null when missing or unreadable.
    pub created_at: Option<DateTime<Utc>>,
}

/// How current the cache is for one symbol, over all its resolutions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolFreshness {
    /// The ticker as stored in the cache.
    pub symbol: String,
    /// The resolutions with cached bars for the symbol (`daily`, `1min`, ...).
    pub resolutions: Vec<String>,
    /// The newest bar covered.
    pub last_bar: NaiveDateTime,
    /// When data for the symbol was last written.
    pub last_refreshed: NaiveDateTime,
}

/// Jobs by status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobActivity {
    /// All job documents, with or without a status.
    pub total: u64,
    /// Number of jobs per status (`queued`, `running`, ...). Jobs whose status is missing, an
    /// object or an array are counted only in `total`.
    pub by_status: BTreeMap<String, u64>,
}

/// The whole overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// Whose portfolios and backtests the overview shows.
    pub owner: String,
    /// When the overview was built.
    pub generated_at: DateTime<Utc>,
    /// The owner's portfolios added together.
    pub totals: PortfolioTotals,
    /// Each of the owner's portfolios, newest first.
    pub portfolios: Vec<PortfolioSummary>,
    /// Newest first: the owner's runs and those stored without an owner.
    pub recent_backtests: Vec<BacktestSummary>,
    /// Every cached symbol (for all owners), in symbol order.
    pub data_freshness: Vec<SymbolFreshness>,
    /// The job queue of the whole deployment, not only the owner's jobs.
    pub jobs: JobActivity,
    /// The data-quality review queue and flag counts.
    pub data_quality: sextant_data::cache::QualityTotals,
    /// Every regime model's latest label and each regime's statistics, by model name.
    #[serde(default)]
    pub regimes: Vec<RegimeCard>,
    /// The newest tuning studies the owner may read: leaderboard heads with their deflated
    /// Sharpe ratio, PBO and out-of-sample Sharpe beside buy and hold.
    #[serde(default)]
    pub studies: Vec<crate::tuning::card::StudyCard>,
}

/// A regime model as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeCard {
    /// The model's name.
    pub model: String,
    /// Its members.
    pub symbols: Vec<String>,
    /// The latest label, its day and probabilities.
    pub latest: crate::regimes::RegimeNow,
    /// Each regime's share of the labelled days and statistics.
    pub summary: Vec<crate::regimes::service::RegimeSummary>,
    /// When it was last updated (RFC 3339).
    pub updated_at: String,
}

/// Studies on the overview.
pub const RECENT_STUDIES: u64 = 5;

/// Builds overviews from the other services' stores.
pub struct DashboardService {
    cache: Arc<Cache>,
    meta: Arc<dyn MetaStore>,
    portfolios: Arc<PortfolioService>,
    regimes: Option<Arc<crate::regimes::RegimeService>>,
}

impl DashboardService {
    /// The service over the shared cache and metadata store; portfolio figures come from
    /// `portfolios` so the dashboard values them as the portfolio endpoints do.
    pub fn new(
        cache: Arc<Cache>,
        meta: Arc<dyn MetaStore>,
        portfolios: Arc<PortfolioService>,
    ) -> Self {
        DashboardService {
            cache,
            meta,
            portfolios,
            regimes: None,
        }
    }

    /// Shows every regime model's latest label in the overview.
    pub fn with_regimes(mut self, regimes: Arc<crate::regimes::RegimeService>) -> Self {
        self.regimes = Some(regimes);
        self
    }

    async fn regime_cards(&self) -> Vec<RegimeCard> {
        let Some(svc) = &self.regimes else {
            return Vec::new();
        };
        match svc.list().await {
            Ok(list) => list
                .into_iter()
                .map(|st| RegimeCard {
                    model: st.spec.name,
                    symbols: st.spec.symbols.iter().map(|s| s.to_string()).collect(),
                    latest: st.latest,
                    summary: st.summary,
                    updated_at: st.updated_at,
                })
                .collect(),
            Err(e) => {
                // A dashboard without its regime cards beats no dashboard.
                tracing::warn!(error = %e, "regime models unreadable: the overview omits them");
                Vec::new()
            }
        }
    }

    /// The overview for `owner`: every portfolio it owns (each valued in full, so cost grows
    /// with the number of portfolios), the [`RECENT_BACKTESTS`] newest runs it may read, cache
    /// freshness, job counts and data-quality totals.
    ///
    /// # Errors
    /// [`DashboardError`] when a store or the valuation of a portfolio fails.
    pub async fn overview(&self, owner: &str) -> Result<Overview, DashboardError> {
        let portfolios = self.portfolio_summaries(owner).await?;
        let contributed: f64 = portfolios.iter().map(|p| p.value - p.pnl).sum();
        let pnl: f64 = portfolios.iter().map(|p| p.pnl).sum();
        let totals = PortfolioTotals {
            count: portfolios.len(),
            value: portfolios.iter().map(|p| p.value).sum(),
            day_change: portfolios.iter().filter_map(|p| p.day_change).sum(),
            pnl,
            contributed,
            total_return: (contributed > 0.0).then(|| pnl / contributed),
        };
        Ok(Overview {
            owner: owner.to_string(),
            generated_at: Utc::now(),
            totals,
            portfolios,
            recent_backtests: self.recent_backtests(owner).await?,
            data_freshness: self.data_freshness().await?,
            jobs: self.job_activity().await?,
            data_quality: {
                let cache = self.cache.clone();
                blocking(move || cache.quality_totals()).await?
            },
            regimes: self.regime_cards().await,
            studies: crate::tuning::card::recent(self.meta.as_ref(), owner, RECENT_STUDIES).await?,
        })
    }

    /// Every portfolio of `owner`, newest first.
    async fn portfolio_summaries(
        &self,
        owner: &str,
    ) -> Result<Vec<PortfolioSummary>, DashboardError> {
        let mut out = Vec::new();
        let mut page = PageRequest::first(MAX_PAGE_SIZE);
        loop {
            let batch = self.portfolios.list(Some(owner), &page).await?;
            for p in batch.items {
                let perf = self
                    .portfolios
                    .get_portfolio_performance(&p.id, None, None)
                    .await?;
                let last = perf.series.last();
                let previous = perf
                    .series
                    .iter()
                    .rev()
                    .nth(1)
                    .map_or(perf.start_value, |q| q.value);
                out.push(PortfolioSummary {
                    id: p.id,
                    name: p.name,
                    as_of: last.map(|q| q.date),
                    value: perf.end_value,
                    day_change: last.map(|q| q.value - previous - q.net_flow),
                    day_change_pct: last.and_then(|q| q.daily_return),
                    total_return: Some(perf.kpis.total_return).filter(|r| r.is_finite()),
                    pnl: perf.pnl,
                    forecast: perf.forecast.clone(),
                    forecast_note: perf.forecast_note.clone(),
                });
            }
            match batch.next_cursor {
                Some(c) => page = PageRequest::after(c, MAX_PAGE_SIZE),
                None => return Ok(out),
            }
        }
    }

    /// The newest runs `owner` may read: its own and those stored without an owner (the
    /// CLI's).
    async fn recent_backtests(&self, owner: &str) -> Result<Vec<BacktestSummary>, DashboardError> {
        let mut docs = Vec::new();
        for filter in [
            Filter::new().eq("owners", owner),
            Filter::new().exists("owners", false),
        ] {
            let query = Query::new()
                .filter(filter)
                .sort_desc("created_at")
                .limit(RECENT_BACKTESTS);
            docs.extend(self.meta.find(RUNS, &query).await?);
        }
        let created = |d: &serde_json::Value| {
            d.get("created_at")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        docs.sort_by_key(|d| std::cmp::Reverse(created(d)));
        docs.truncate(RECENT_BACKTESTS as usize);
        Ok(docs.iter().filter_map(backtest_summary).collect())
    }

    async fn data_freshness(&self) -> Result<Vec<SymbolFreshness>, DashboardError> {
        let cache = self.cache.clone();
        let reports = blocking(move || cache.coverage(None)).await?;
        let mut by_symbol: BTreeMap<String, SymbolFreshness> = BTreeMap::new();
        for r in reports {
            for range in &r.ranges {
                let f = by_symbol
                    .entry(r.symbol.clone())
                    .or_insert_with(|| SymbolFreshness {
                        symbol: r.symbol.clone(),
                        resolutions: Vec::new(),
                        last_bar: range.last_ts,
                        last_refreshed: range.last_refreshed,
                    });
                f.last_bar = f.last_bar.max(range.last_ts);
                f.last_refreshed = f.last_refreshed.max(range.last_refreshed);
                let name = r.resolution.to_string();
                if !f.resolutions.contains(&name) {
                    f.resolutions.push(name);
                }
            }
        }
        Ok(by_symbol.into_values().collect())
    }

    /// Counts jobs per status without reading every job: find one job whose status is not yet
    /// counted, count that status, exclude it, repeat. Two small queries per distinct status
    /// instead of loading a queue that may hold many large documents.
    async fn job_activity(&self) -> Result<JobActivity, DashboardError> {
        let mut by_status = BTreeMap::new();
        let mut uncounted = Filter::new().ne("status", Value::Null);
        for _ in 0..MAX_JOB_STATUSES {
            let query = Query::new().filter(uncounted.clone());
            let Some(doc) = self.meta.find_one(JOBS, &query).await? else {
                break;
            };
            // An object or array status cannot be filtered on; such jobs stay uncounted.
            let Some(status) = doc
                .get("status")
                .filter(|s| !s.is_object() && !s.is_array())
            else {
                break;
            };
            let n = self
                .meta
                .count(JOBS, &Filter::new().eq("status", status.clone()))
                .await?;
            let label = status
                .as_str()
                .map_or_else(|| status.to_string(), str::to_string);
            by_status.insert(label, n);
            uncounted = uncounted.ne("status", status.clone());
        }
        let total = self.meta.count(JOBS, &Filter::new()).await?;
        Ok(JobActivity { total, by_status })
    }
}

/// Reads the fields the overview needs and nothing else, so a change elsewhere in the stored
/// run's shape does not break the dashboard.
/// `None` for a document without an id (it could not be opened from the dashboard).
fn backtest_summary(doc: &Value) -> Option<BacktestSummary> {
    let text = |path: &str| {
        lookup(doc, path)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let number = |path: &str| {
        lookup(doc, path)
            .and_then(Value::as_f64)
            .filter(|x| x.is_finite())
    };
    Some(BacktestSummary {
        id: text("_id")?,
        strategy: text("strategy").or_else(|| text("manifest.request.strategy")),
        symbols: lookup(doc, "manifest.request.symbols")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        total_return: number("metrics.total_return"),
        sharpe: number("metrics.sharpe"),
        created_at: text("created_at").and_then(|t| t.parse().ok()),
    })
}
