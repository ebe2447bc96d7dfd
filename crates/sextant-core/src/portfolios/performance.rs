//! Portfolio performance: a daily value series, time-weighted returns, KPIs, drawdowns and the
//! allocation, from cached closes.
//!
//! Conventions:
//! * **Dates.** The series has a point on every date in `[from, to]` with a cached close of a
//!   symbol the portfolio ever traded, plus every transaction date (so a deposit after the
//!   cache's last bar still shows).
//! * **Point in time.** The value on date `d` is cash plus positions × price after every
//!   transaction dated on or before `d`: a transaction on `d` affects values from `d`. Prices
//!   carry forward (see [`super`]).
//! * **Opening value.** Transactions dated before the first point form the opening state,
//!   valued on the day before it (for a window starting at inception: the base cash).
//! * **Time-weighted return.** External flows (deposits, withdrawals) count at the start of
//!   their day: `r_t = V_t / (V_{t-1} + F_t) − 1`. Putting the flow in the denominator lets a
//!   portfolio start from zero with a deposit, and buying with fresh cash on the deposit day is
//!   measured against that cash. The return is undefined (null, skipped by the KPIs) when the
//!   denominator is not positive.
//! * **KPIs** are `sextant_backtest::metrics` (empyrical conventions) on those returns, 252
//!   periods a year.

use super::holdings::value_ledger;
use super::ledger::{ActionFeed, Ledger};
use super::prices::PriceBook;
use super::transactions::Transaction;
use super::{PortfolioError, PortfolioService};
use crate::common::{blocking, InvalidField};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sextant_backtest::metrics::{drawdown_series, nonfinite, Metrics, MetricsConfig, MetricsInput};
use sextant_domain::Symbol;
use std::collections::BTreeSet;

/// The portfolio on one date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValuePoint {
    /// The date of the point.
    pub date: NaiveDate,
    /// Cash plus positions at their last known prices.
    pub value: f64,
    /// Cash after the transactions up to `date`, dividends included.
    pub cash: f64,
    /// Deposits minus withdrawals taking effect on this point.
    pub net_flow: f64,
    /// Time-weighted return since the previous point; null when undefined.
    pub daily_return: Option<f64>,
    /// Compounded time-weighted return since the start of the window.
    pub cumulative_return: f64,
    /// Of the compounded time-weighted curve from its running peak (≤ 0).
    pub drawdown: f64,
}

/// Performance ratios of the window (NaN serialises as null).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PortfolioKpis {
    /// Compounded time-weighted return of the window, as a fraction (0.25 = +25 %).
    #[serde(with = "nonfinite")]
    pub total_return: f64,
    /// Compound annual growth rate, as a fraction per year.
    #[serde(with = "nonfinite")]
    pub cagr: f64,
    /// Sample standard deviation of the daily returns, annualised (√252).
    #[serde(with = "nonfinite")]
    pub annual_volatility: f64,
    /// Annualised Sharpe ratio of the daily returns, risk-free rate 0.
    #[serde(with = "nonfinite")]
    pub sharpe: f64,
    /// Annualised Sortino ratio, minimum acceptable return 0.
    #[serde(with = "nonfinite")]
    pub sortino: f64,
    /// Deepest fall of the time-weighted curve from a running peak, as a fraction (≤ 0).
    #[serde(with = "nonfinite")]
    pub max_drawdown: f64,
    /// CAGR over the absolute max drawdown; null when the curve never fell.
    #[serde(with = "nonfinite")]
    pub calmar: f64,
    /// Return periods (points of the series).
    pub periods: usize,
}

/// One line of the allocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocationEntry {
    /// The symbol held.
    pub symbol: Symbol,
    /// Quantity × last known price at the allocation date (negative for a short).
    pub market_value: f64,
    /// Share of the total value; null when the total is not positive.
    pub weight: Option<f64>,
}

/// What the portfolio holds at the end of the window, by symbol and cash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// The end of the window.
    pub as_of: NaiveDate,
    /// Cash plus the positions' market values.
    pub total_value: f64,
    /// Cash held at `as_of`.
    pub cash: f64,
    /// Cash over the total value; null when the total is not positive.
    pub cash_weight: Option<f64>,
    /// Every open position, by symbol.
    pub positions: Vec<AllocationEntry>,
}

/// `get_portfolio_performance`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortfolioPerformance {
    /// The portfolio measured.
    pub portfolio_id: String,
    /// First date of the window (inclusive), as requested or defaulted.
    pub from: NaiveDate,
    /// Last date of the window (inclusive), as requested or defaulted.
    pub to: NaiveDate,
    /// Value before the first point (the opening state).
    pub start_value: f64,
    /// Value at the last point; `start_value` when the window has no point.
    pub end_value: f64,
    /// Deposits minus withdrawals within the window.
    pub net_flows: f64,
    /// `end_value − start_value − net_flows`: what the market (and fees) did.
    pub pnl: f64,
    /// Ratios of the daily time-weighted returns of `series`.
    pub kpis: PortfolioKpis,
    /// What is held at `to`.
    pub allocation: Allocation,
    /// One point per date in the window with a close or a transaction, oldest first.
    pub series: Vec<ValuePoint>,
    /// The value distribution over the next 10 sessions from `to` (filtered historical
    /// simulation, stored with its quantiles); null when it could not be made, and then
    /// `forecast_note` says why.
    pub forecast: Option<PerformanceForecast>,
    /// Why `forecast` is null (no positions, too little history, …).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub forecast_note: Option<String>,
}

/// The forecast a performance report carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceForecast {
    /// The stored forecast (`GET /api/v1/forecasts/{id}` returns its quantiles).
    pub forecast_id: String,
    /// The model.
    pub model: sextant_forecasts::ModelKind,
    /// The origin: the last session of the holdings' history up to `to`.
    pub as_of: NaiveDate,
    /// Sessions ahead.
    pub horizon: usize,
    /// The value's 5 % and 95 % quantiles after the next session.
    pub band_5_95_next_day: [f64; 2],
    /// The value's 5 % and 95 % quantiles at the horizon.
    pub band_5_95: [f64; 2],
    /// VaR and CVaR at 1 and 10 sessions, 95 and 99 %.
    pub var: Vec<crate::forecasts::RiskLine>,
}

/// The performance of a history over `[from, to]`. `txs` must be in order.
pub(crate) fn compute(
    portfolio_id: &str,
    base_cash: f64,
    txs: &[Transaction],
    book: &PriceBook,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<PortfolioPerformance, PortfolioError> {
    let mut dates: BTreeSet<NaiveDate> = book.close_dates(from, to).collect();
    dates.extend(
        txs.iter()
            .map(|t| t.date)
            .filter(|d| (from..=to).contains(d)),
    );
    let start = dates.first().copied().unwrap_or(from);
    let mut ledger = Ledger::new(base_cash);
    let mut feed = ActionFeed::new(&book.actions);
    let mut pending = txs.iter().peekable();
    let before = start.pred_opt().unwrap_or(start);
    while let Some(tx) = pending.next_if(|t| t.date < start) {
        feed.apply_through(&mut ledger, tx.date);
        ledger.apply(tx, true)?;
    }
    feed.apply_through(&mut ledger, before);
    let start_value = ledger_value(&ledger, book, before);
    let (mut prev, mut net_flows) = (start_value, 0.0);
    let mut series = Vec::with_capacity(dates.len());
    for date in dates {
        let mut flow = 0.0;
        // Splits and dividends effective today act on the positions held into today; the
        // dividend cash is income (part of the return), not an external flow.
        feed.apply_through(&mut ledger, date);
        while let Some(tx) = pending.next_if(|t| t.date <= date) {
            flow += ledger.apply(tx, true)?;
        }
        let value = ledger_value(&ledger, book, date);
        let base = prev + flow;
        let r = if base > 0.0 && value.is_finite() {
            value / base - 1.0
        } else {
            f64::NAN
        };
        net_flows += flow;
        prev = value;
        series.push(ValuePoint {
            date,
            value,
            cash: ledger.cash,
            net_flow: flow,
            daily_return: (!r.is_nan()).then_some(r),
            cumulative_return: 0.0,
            drawdown: 0.0,
        });
    }
    let returns: Vec<f64> = series
        .iter()
        .map(|p| p.daily_return.unwrap_or(f64::NAN))
        .collect();
    let mut growth = 1.0;
    for (p, dd) in series.iter_mut().zip(drawdown_series(&returns)) {
        growth *= 1.0 + p.daily_return.unwrap_or(0.0);
        p.cumulative_return = growth - 1.0;
        p.drawdown = dd;
    }
    let m = Metrics::compute(
        &MetricsInput {
            returns: &returns,
            ..MetricsInput::default()
        },
        &MetricsConfig::equities_daily(),
    )?;
    let kpis = PortfolioKpis {
        total_return: m.total_return,
        cagr: m.cagr,
        annual_volatility: m.annual_volatility,
        sharpe: m.sharpe,
        sortino: m.sortino,
        max_drawdown: m.max_drawdown,
        calmar: m.calmar,
        periods: m.periods,
    };
    let end_value = series.last().map_or(start_value, |p| p.value);
    Ok(PortfolioPerformance {
        portfolio_id: portfolio_id.to_string(),
        from,
        to,
        start_value,
        end_value,
        net_flows,
        pnl: end_value - start_value - net_flows,
        kpis,
        allocation: allocation(portfolio_id, &ledger, book, to),
        series,
        forecast: None,
        forecast_note: None,
    })
}

fn ledger_value(ledger: &Ledger, book: &PriceBook, date: NaiveDate) -> f64 {
    let positions: f64 = ledger
        .positions
        .iter()
        .map(|(s, p)| p.quantity * book.mark(s, date).map_or(p.average_cost, |m| m.price))
        .sum();
    ledger.cash + ledger.receivable() + positions
}

fn allocation(
    portfolio_id: &str,
    ledger: &Ledger,
    book: &PriceBook,
    as_of: NaiveDate,
) -> Allocation {
    let h = value_ledger(portfolio_id, ledger, book, as_of);
    let weight = |v: f64| (h.total_value > 0.0).then(|| v / h.total_value);
    Allocation {
        as_of,
        total_value: h.total_value,
        cash: h.cash,
        cash_weight: weight(h.cash),
        positions: h
            .positions
            .into_iter()
            .map(|p| AllocationEntry {
                symbol: p.symbol,
                market_value: p.market_value,
                weight: p.weight,
            })
            .collect(),
    }
}

impl PortfolioService {
    /// Performance over `[from, to]`. `from` defaults to the first transaction's date (the
    /// creation date without transactions); `to` to the newest cached close or transaction
    /// (today when there is neither).
    pub async fn get_portfolio_performance(
        &self,
        portfolio_id: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<PortfolioPerformance, PortfolioError> {
        let p = self.get(portfolio_id).await?;
        let txs = self.all_transactions(portfolio_id).await?;
        let cache = self.cache.clone();
        let history = txs.clone();
        let book = blocking(move || PriceBook::load(&cache, &history)).await?;
        let from =
            from.unwrap_or_else(|| txs.first().map_or(p.created_at.date_naive(), |t| t.date));
        let to = to.unwrap_or_else(|| {
            let last_tx = txs.iter().map(|t| t.date).max();
            book.last_close_date()
                .max(last_tx)
                .unwrap_or_else(|| Utc::now().date_naive())
        });
        if to < from {
            return Err(InvalidField::new("to", format!("{to} is before `from` ({from})")).into());
        }
        let mut perf = compute(portfolio_id, p.base_cash, &txs, &book, from, to)?;
        self.add_forecast(&mut perf).await;
        Ok(perf)
    }

    /// Fills `forecast` (or `forecast_note`) when an inference engine is attached.
    async fn add_forecast(&self, perf: &mut PortfolioPerformance) {
        let Some(engine) = self.forecasts.get().and_then(std::sync::Weak::upgrade) else {
            return;
        };
        let req = crate::forecasts::ForecastRequest {
            as_of: Some(perf.to),
            baselines: false,
            ..Default::default()
        };
        match engine.forecast_portfolio(&perf.portfolio_id, &req).await {
            Ok(f) => {
                perf.forecast = Some(PerformanceForecast {
                    forecast_id: f.forecast_id,
                    model: f.model,
                    as_of: f.history.last,
                    horizon: f.horizon,
                    band_5_95_next_day: f
                        .fan
                        .first()
                        .map_or([f64::NAN; 2], |d| [d.quantiles[1], d.quantiles[7]]),
                    band_5_95: f.band_5_95,
                    var: f.var,
                })
            }
            Err(e) => perf.forecast_note = Some(e.to_string()),
        }
    }
}
