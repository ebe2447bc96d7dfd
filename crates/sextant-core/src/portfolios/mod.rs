//! Portfolios: an opening cash balance plus dated transactions (buys, sells, deposits,
//! withdrawals), stored in the metadata store ([`PORTFOLIOS`], [`TRANSACTIONS`]) and valued from
//! the cache's daily closes.
//!
//! * [`transactions`]: recording and validating transactions;
//! * [`holdings`]: positions, average cost and unrealised P&L on a date;
//! * [`performance`]: the daily value series, time-weighted returns, KPIs, drawdowns and the
//!   allocation.
//!
//! Pricing rule everywhere: a symbol is worth its last known price on or before the date —
//! its latest cached daily close, or the price of a later trade in it when the cache has no
//! close that recent (a missing close carries the last one forward). Prices are raw closes, as
//! transactions are recorded in the shares and prices of their day; splits are applied to the
//! positions held into their ex-date and dividends credited as cash (income, not a flow), so a
//! split is no loss and a sale of post-split shares no short.

pub mod holdings;
mod ledger;
pub mod performance;
mod prices;
pub mod transactions;

pub use holdings::{Holding, Holdings};
pub use performance::{
    Allocation, AllocationEntry, PerformanceForecast, PortfolioKpis, PortfolioPerformance,
    ValuePoint,
};
pub use prices::PriceSource;
pub use transactions::{NewTransaction, Transaction, TransactionKind};

use crate::common::{
    clean_name, clean_owner, find_page, fixed_ts, from_doc, to_doc, InvalidField, Page, PageRequest,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sextant_data::{Cache, DataError};
use sextant_meta::{Filter, MetaError, MetaStore, Query};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Metadata collection of portfolios.
pub const PORTFOLIOS: &str = "portfolios";
/// Metadata collection of their transactions (field `portfolio_id` links them).
pub const TRANSACTIONS: &str = "portfolio_transactions";
/// Longest portfolio name, in characters.
pub const MAX_NAME_LEN: usize = 100;
/// Attempts of a read-validate-write before reporting a conflict.
const CAS_ATTEMPTS: usize = 8;

/// Why a portfolio operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PortfolioError {
    /// An input was rejected; the error names the field (HTTP 422).
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// No portfolio has this id, or it belongs to another owner (not revealed).
    #[error("portfolio {0} not found")]
    NotFound(String),
    /// The portfolio has no transaction with this id.
    #[error("transaction {transaction} not found in portfolio {portfolio}")]
    TransactionNotFound {
        /// The portfolio searched.
        portfolio: String,
        /// The transaction id that was not found in it.
        transaction: String,
    },
    /// Concurrent writers changed the portfolio on every attempt of a read-validate-write
    /// (8 attempts); retrying the request is safe.
    #[error("portfolio {0} kept changing during the update; retry")]
    Conflict(String),
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The market-data cache failed (closes or corporate actions).
    #[error(transparent)]
    Data(#[from] DataError),
    /// A performance KPI could not be computed from the value series.
    #[error("metrics: {0}")]
    Metrics(#[from] sextant_backtest::metrics::MetricsError),
    /// A stored portfolio or transaction does not deserialise.
    #[error("stored portfolio document is malformed: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// A portfolio as stored and returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Portfolio {
    /// The store's id, assigned at creation.
    pub id: String,
    /// Display name: trimmed, 1 to [`MAX_NAME_LEN`] characters, no control characters.
    pub name: String,
    /// The key that created it; only that key (or an admin) may use it.
    pub owner: String,
    /// Cash held before the first transaction (not an external flow: it is the opening value).
    pub base_cash: f64,
    /// Whether sells may exceed the quantity held, opening a short position.
    pub allow_short: bool,
    /// Incremented by every change to the portfolio or its transactions; writers compare-and-swap
    /// on it, so two concurrent sells cannot both pass the "enough held" check.
    #[serde(default)]
    pub revision: u64,
    /// When it was created; lists sort on it, newest first.
    #[serde(with = "fixed_ts")]
    pub created_at: DateTime<Utc>,
    /// When it or its transactions last changed.
    #[serde(with = "fixed_ts")]
    pub updated_at: DateTime<Utc>,
}

/// What a new portfolio needs besides its owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPortfolio {
    /// Display name: trimmed, 1 to [`MAX_NAME_LEN`] characters, no control characters.
    pub name: String,
    /// Opening cash: finite and not negative. Default: `0`.
    #[serde(default)]
    pub base_cash: f64,
    /// Whether sells may exceed the quantity held. Default: `false`.
    #[serde(default)]
    pub allow_short: bool,
}

/// A partial update: absent fields are left alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PortfolioUpdate {
    /// A new display name (validated as in [`NewPortfolio::name`]).
    #[serde(default)]
    pub name: Option<String>,
    /// A new opening cash balance, finite and not negative; the whole history is revalued
    /// with it.
    #[serde(default)]
    pub base_cash: Option<f64>,
    /// Turning shorting off is refused while the transactions go short at any time.
    #[serde(default)]
    pub allow_short: Option<bool>,
}

/// Portfolios, their transactions and their valuation.
pub struct PortfolioService {
    cache: Arc<Cache>,
    meta: Arc<dyn MetaStore>,
    /// The `portfolio_id` index, created on first use (building the registry stays synchronous
    /// in this respect and a store that is down does not stop the process from starting).
    indexed: OnceCell<()>,
    /// The inference engine whose 10-day forecast a performance report carries (attached by
    /// the registry after both exist; weak, since the engine reads holdings through this
    /// service).
    forecasts: std::sync::OnceLock<std::sync::Weak<crate::forecasts::InferenceEngine>>,
}

impl PortfolioService {
    /// The corporate actions of the symbols `txs` trade (a blocking cache read, off the
    /// executor).
    pub(crate) async fn actions(
        &self,
        txs: &[Transaction],
    ) -> Result<ledger::ActionBook, PortfolioError> {
        let symbols = prices::traded_symbols(txs);
        let cache = self.cache.clone();
        Ok(crate::common::blocking(move || prices::load_actions(&cache, &symbols)).await?)
    }

    /// The service over the shared cache (closes and corporate actions) and metadata store
    /// (portfolios and transactions).
    pub fn new(cache: Arc<Cache>, meta: Arc<dyn MetaStore>) -> Self {
        PortfolioService {
            cache,
            meta,
            indexed: OnceCell::new(),
            forecasts: std::sync::OnceLock::new(),
        }
    }

    /// Makes performance reports carry the engine's forecast band and VaR. A second call is
    /// ignored.
    pub fn attach_forecasts(&self, engine: std::sync::Weak<crate::forecasts::InferenceEngine>) {
        let _ = self.forecasts.set(engine);
    }

    /// Creates an empty portfolio named `name` with `base_cash` opening cash, owned by `owner`,
    /// shorting disallowed. See [`PortfolioService::create_with`] for the rules.
    pub async fn create(
        &self,
        name: &str,
        base_cash: f64,
        owner: &str,
    ) -> Result<Portfolio, PortfolioError> {
        let new = NewPortfolio {
            name: name.to_string(),
            base_cash,
            allow_short: false,
        };
        self.create_with(&new, owner).await
    }

    /// Creates an empty portfolio owned by `owner` from `new`.
    ///
    /// # Errors
    /// [`PortfolioError::Invalid`] for a bad name, owner or base cash; [`PortfolioError::Meta`]
    /// when the store fails.
    pub async fn create_with(
        &self,
        new: &NewPortfolio,
        owner: &str,
    ) -> Result<Portfolio, PortfolioError> {
        let now = Utc::now();
        let mut p = Portfolio {
            id: String::new(),
            name: clean_name("name", &new.name, MAX_NAME_LEN)?,
            owner: clean_owner(owner)?,
            base_cash: check_base_cash(new.base_cash)?,
            allow_short: new.allow_short,
            revision: 0,
            created_at: now,
            updated_at: now,
        };
        p.id = self.meta.insert(PORTFOLIOS, to_doc(&p)?).await?;
        Ok(p)
    }

    /// The portfolio `id` if `actor` may use it; another owner's portfolio is reported as not
    /// found (its existence is not revealed).
    pub async fn get_as(
        &self,
        id: &str,
        actor: crate::common::Actor<'_>,
    ) -> Result<Portfolio, PortfolioError> {
        let p = self.get(id).await?;
        if actor.may(&p.owner) {
            Ok(p)
        } else {
            Err(PortfolioError::NotFound(id.into()))
        }
    }

    /// The portfolio `id`, whoever owns it (for trusted callers; use
    /// [`PortfolioService::get_as`] on behalf of an API key). An unknown or malformed id is
    /// [`PortfolioError::NotFound`].
    pub async fn get(&self, id: &str) -> Result<Portfolio, PortfolioError> {
        match self.meta.get(PORTFOLIOS, id).await {
            Ok(Some(doc)) => Ok(from_doc(doc)?),
            // An id the store cannot even hold names no portfolio.
            Ok(None) | Err(MetaError::Invalid(_)) => Err(PortfolioError::NotFound(id.into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Newest first; `owner` restricts to one owner's portfolios.
    pub async fn list(
        &self,
        owner: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<Portfolio>, PortfolioError> {
        let filter = owner.map_or_else(Filter::new, |o| Filter::new().eq("owner", o));
        let query = Query::new().filter(filter).sort_desc("created_at");
        let page = find_page::<PortfolioError>(self.meta.as_ref(), PORTFOLIOS, query, page).await?;
        page.try_map(|d| Ok(from_doc(d)?))
    }

    /// Applies `update` and bumps the revision. When shorting is off after the update, the
    /// transactions are replayed first and the update is refused with an [`InvalidField`] on
    /// `allow_short` if the history would go short.
    ///
    /// # Errors
    /// [`PortfolioError::Invalid`], [`PortfolioError::NotFound`], and
    /// [`PortfolioError::Conflict`] when concurrent writers keep winning.
    pub async fn update(
        &self,
        id: &str,
        update: &PortfolioUpdate,
    ) -> Result<Portfolio, PortfolioError> {
        let name = update
            .name
            .as_deref()
            .map(|n| clean_name("name", n, MAX_NAME_LEN))
            .transpose()?;
        let base_cash = update.base_cash.map(check_base_cash).transpose()?;
        for _ in 0..CAS_ATTEMPTS {
            let mut p = self.get(id).await?;
            if let Some(n) = &name {
                p.name.clone_from(n);
            }
            p.base_cash = base_cash.unwrap_or(p.base_cash);
            p.allow_short = update.allow_short.unwrap_or(p.allow_short);
            if !p.allow_short {
                // Shorts already recorded would otherwise become invalid history.
                let txs = self.all_transactions(id).await?;
                let actions = self.actions(&txs).await?;
                ledger::replay(p.base_cash, &txs, false, &actions, None)
                    .map_err(|e| InvalidField::new("allow_short", e.message))?;
            }
            if let Some(saved) = self.bump(&p, to_doc(&p)?).await? {
                return Ok(saved);
            }
        }
        Err(PortfolioError::Conflict(id.to_string()))
    }

    /// Deletes the portfolio and then its transactions; returns how many transactions went.
    /// The portfolio goes first so that an interrupted delete leaves only unreachable
    /// transactions behind, never a portfolio with part of its history.
    pub async fn delete(&self, id: &str) -> Result<u64, PortfolioError> {
        let existed = match self.meta.delete(PORTFOLIOS, id).await {
            Ok(existed) => existed,
            Err(MetaError::Invalid(_)) => false,
            Err(e) => return Err(e.into()),
        };
        if !existed {
            return Err(PortfolioError::NotFound(id.to_string()));
        }
        self.ensure_index().await?;
        let query = Query::new().filter(Filter::new().eq("portfolio_id", id));
        let mut deleted = 0;
        for doc in self.meta.find(TRANSACTIONS, &query).await? {
            if let Some(tx_id) = doc.get("_id").and_then(|v| v.as_str()) {
                deleted += u64::from(self.meta.delete(TRANSACTIONS, tx_id).await?);
            }
        }
        Ok(deleted)
    }

    /// Writes `doc` (fields to set) with `revision + 1` if the stored revision is still
    /// `p.revision`; `None` when another writer got there first.
    async fn bump(
        &self,
        p: &Portfolio,
        doc: serde_json::Value,
    ) -> Result<Option<Portfolio>, PortfolioError> {
        let mut next = p.clone();
        next.revision = p.revision + 1;
        next.updated_at = Utc::now().max(p.updated_at);
        let mut patch = doc;
        if let Some(o) = patch.as_object_mut() {
            o.insert("revision".into(), json!(next.revision));
            o.insert(
                "updated_at".into(),
                json!(fixed_ts::format(&next.updated_at)),
            );
        }
        let expected = Filter::new().eq("revision", p.revision);
        let applied = self
            .meta
            .update_if(PORTFOLIOS, &p.id, &expected, patch)
            .await?;
        Ok(applied.then_some(next))
    }

    async fn ensure_index(&self) -> Result<(), PortfolioError> {
        self.indexed
            .get_or_try_init(|| self.meta.ensure_index(TRANSACTIONS, "portfolio_id", false))
            .await?;
        Ok(())
    }
}

fn check_base_cash(v: f64) -> Result<f64, InvalidField> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(InvalidField::new(
            "base_cash",
            "must be a finite amount, zero or more",
        ))
    }
}
