//! Portfolios, watchlists, universes and the dashboard overview.

use super::page_schema;
use chrono::{DateTime, NaiveDate, Utc};
use utoipa::ToSchema;

/// A portfolio: name, owner, opening cash and whether it may go short.
#[derive(ToSchema)]
#[schema(as = Portfolio)]
pub struct PortfolioDoc {
    /// The portfolio's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// The key that created it.
    pub owner: String,
    /// Cash held before the first transaction.
    pub base_cash: f64,
    /// Whether sells may exceed the quantity held.
    pub allow_short: bool,
    /// Incremented by every change to it or its transactions.
    pub revision: Option<u64>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it or its transactions last changed.
    pub updated_at: DateTime<Utc>,
}

page_schema!(
    /// A page of portfolios, newest first.
    PortfolioPage,
    PortfolioDoc
);

/// What a transaction does.
#[derive(ToSchema)]
#[schema(as = TransactionKind, rename_all = "lowercase")]
pub enum TransactionKindDoc {
    /// A purchase of `quantity` at `price`.
    Buy,
    /// A sale of `quantity` at `price`.
    Sell,
    /// Cash in from outside.
    Deposit,
    /// Cash out.
    Withdraw,
}

/// A recorded transaction.
#[derive(ToSchema)]
#[schema(as = Transaction)]
pub struct TransactionDoc {
    /// The transaction's id.
    pub id: String,
    /// The portfolio it belongs to.
    pub portfolio_id: String,
    /// What it does.
    pub kind: TransactionKindDoc,
    /// It takes effect at the close of this date.
    pub date: NaiveDate,
    /// The ticker traded; null for cash flows.
    pub symbol: Option<String>,
    /// Units traded; null for cash flows.
    pub quantity: Option<f64>,
    /// Price per unit; null for cash flows.
    pub price: Option<f64>,
    /// Fee paid (0 for cash flows).
    pub fee: f64,
    /// Gross cash moved.
    pub amount: f64,
    /// Free text given when recorded.
    pub note: Option<String>,
    /// When it was recorded (orders same-day transactions).
    pub created_at: DateTime<Utc>,
}

page_schema!(
    /// A page of a portfolio's transactions, by date then as recorded.
    TransactionPage,
    TransactionDoc
);

/// One position on the holdings date.
#[derive(ToSchema)]
#[schema(as = Holding)]
pub struct HoldingDoc {
    /// The ticker.
    pub symbol: String,
    /// Units held (negative when short).
    pub quantity: f64,
    /// Average cost per unit.
    pub average_cost: f64,
    /// The price it is marked at.
    pub last_price: f64,
    /// The date of that price.
    pub price_date: NaiveDate,
    /// Where the price came from (`close`, `trade`).
    pub price_source: String,
    /// `quantity × last_price`.
    pub market_value: f64,
    /// `(last_price − average_cost) × quantity`.
    pub unrealised_pnl: f64,
    /// Market value over the portfolio's total value; null when that total is not positive.
    pub weight: Option<f64>,
}

/// Everything a portfolio holds on a date.
#[derive(ToSchema)]
#[schema(as = Holdings)]
pub struct HoldingsDoc {
    /// The portfolio valued.
    pub portfolio_id: String,
    /// The holdings date.
    pub as_of: NaiveDate,
    /// Cash after the transactions up to `as_of`.
    pub cash: f64,
    /// Sum of the positions' market values.
    pub market_value: f64,
    /// Cash plus dividends receivable plus market value.
    pub total_value: f64,
    /// Profit realised by sells, net of fees.
    pub realised_pnl: f64,
    /// Dividends earned since the first transaction.
    pub dividends: f64,
    /// Dividends earned but not yet paid on `as_of`.
    pub dividends_receivable: f64,
    /// Sum of the positions' unrealised P&L.
    pub unrealised_pnl: f64,
    /// By symbol.
    pub positions: Vec<HoldingDoc>,
}

/// A portfolio's performance over a period, from cached prices.
#[derive(ToSchema)]
#[schema(as = PortfolioPerformance)]
pub struct PortfolioPerformanceDoc {
    /// The portfolio.
    pub portfolio_id: String,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Value at the start.
    pub start_value: f64,
    /// Value at the end.
    pub end_value: f64,
    /// Deposits minus withdrawals in the period.
    pub net_flows: f64,
    /// End value minus start value minus net flows.
    pub pnl: f64,
    /// Time-weighted return, CAGR, volatility, Sharpe, Sortino, drawdown, Calmar (null where
    /// undefined) and the periods they cover.
    #[schema(value_type = Object)]
    pub kpis: (),
    /// Weights on the last day.
    #[schema(value_type = Object)]
    pub allocation: (),
    /// The value series, day by day: value, cash, flows, returns, drawdown.
    #[schema(value_type = Vec<Object>)]
    pub series: (),
    /// The value forecast from the last day, when one could be made.
    #[schema(value_type = Option<Object>)]
    pub forecast: (),
    /// Why there is no forecast, when there is none.
    pub forecast_note: Option<String>,
}

/// A watchlist: a named list of tickers.
#[derive(ToSchema)]
#[schema(as = Watchlist)]
pub struct WatchlistDoc {
    /// The watchlist's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The key that created it.
    pub owner: String,
    /// Its tickers, in the order given.
    pub symbols: Vec<String>,
    /// Those the cache holds no bars of.
    pub unknown_symbols: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

page_schema!(
    /// A page of watchlists, newest first.
    WatchlistPage,
    WatchlistDoc
);

/// Returns over trailing windows (null where the history is too short).
#[derive(ToSchema)]
#[schema(as = TrailingReturns)]
pub struct TrailingReturnsDoc {
    /// One session.
    pub one_day: Option<f64>,
    /// One week.
    pub one_week: Option<f64>,
    /// One month.
    pub one_month: Option<f64>,
    /// Three months.
    pub three_months: Option<f64>,
    /// Since the year began.
    pub ytd: Option<f64>,
    /// One year.
    pub one_year: Option<f64>,
}

/// One ticker's latest close and trailing returns.
#[derive(ToSchema)]
#[schema(as = Quote)]
pub struct QuoteDoc {
    /// The ticker.
    pub symbol: String,
    /// Whether the cache holds bars of it.
    pub known: bool,
    /// The last traded close.
    pub last_close: Option<f64>,
    /// Its session.
    pub last_date: Option<NaiveDate>,
    /// Trailing returns (total return when adjustment data exists).
    pub returns: TrailingReturnsDoc,
    /// Whether the returns include splits and dividends.
    pub returns_adjusted: bool,
}

/// A watchlist's quotes.
#[derive(ToSchema)]
#[schema(as = WatchlistQuotes)]
pub struct WatchlistQuotesDoc {
    /// The watchlist's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// One per ticker, in the list's order.
    pub quotes: Vec<QuoteDoc>,
}

/// A member of a universe over a span of days.
#[derive(ToSchema)]
#[schema(as = UniverseMember)]
pub struct UniverseMemberDoc {
    /// The ticker.
    pub symbol: String,
    /// First day of membership; null: from the start of data.
    pub from: Option<NaiveDate>,
    /// Last day of membership; null: still a member (a date marks a name that left).
    pub to: Option<NaiveDate>,
}

/// A named universe with point-in-time membership.
#[derive(ToSchema)]
#[schema(as = Universe)]
pub struct UniverseDoc {
    /// Its name.
    pub name: String,
    /// What it is, for people.
    pub description: String,
    /// Where the membership came from: `file`, `list` or `cache`.
    pub source: String,
    /// Members, by symbol.
    pub members: Vec<UniverseMemberDoc>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

/// A universe with how many members left it and, when none did, the survivorship notice every
/// result over it carries.
#[derive(ToSchema)]
#[schema(as = UniverseDetail)]
pub struct UniverseDetailDoc {
    /// Its name.
    pub name: String,
    /// What it is, for people.
    pub description: String,
    /// Where the membership came from.
    pub source: String,
    /// Members, by symbol.
    pub members: Vec<UniverseMemberDoc>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// Members whose membership ended.
    pub delisted: u64,
    /// Null when some member left; otherwise why results over it carry survivorship bias.
    pub survivorship_notice: Option<String>,
}

/// The calling key's overview: portfolio KPIs, recent backtests, data freshness, job activity,
/// the quality queue, regimes and studies.
#[derive(ToSchema)]
#[schema(as = DashboardOverview)]
pub struct DashboardOverviewDoc {
    /// Whose portfolios and backtests it shows.
    pub owner: String,
    /// When it was built.
    pub generated_at: DateTime<Utc>,
    /// The owner's portfolios added together.
    #[schema(value_type = Object)]
    pub totals: (),
    /// Each of the owner's portfolios with its KPIs, newest first.
    #[schema(value_type = Vec<Object>)]
    pub portfolios: (),
    /// The newest runs.
    #[schema(value_type = Vec<Object>)]
    pub recent_backtests: (),
    /// Every cached symbol's last bar and refresh time.
    #[schema(value_type = Vec<Object>)]
    pub data_freshness: (),
    /// The job queue by status.
    #[schema(value_type = Object)]
    pub jobs: (),
    /// The quality review queue and flag counts.
    #[schema(value_type = Object)]
    pub data_quality: (),
    /// Every regime model's latest label and statistics.
    #[schema(value_type = Vec<Object>)]
    pub regimes: (),
    /// The newest studies with their deflated Sharpe ratio, PBO and out-of-sample result.
    #[schema(value_type = Vec<Object>)]
    pub studies: (),
}
