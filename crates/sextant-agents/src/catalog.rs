//! The capability catalog: every strategy, indicator, filter, risk exit, cost, regime and signal
//! source the builder can use, and the requests it cannot serve, as short documented entries
//! with example phrasings. The builder embeds them once and retrieves the nearest entries for
//! each request: the offline parser uses them to pick a strategy family when no keyword names
//! one, the LLM prompt carries them as grounding, and every answer lists the entries it used.

use crate::embed::{cosine, EmbedError, Embedder};
use serde::Serialize;
use sextant_backtest::rules::FUNCTIONS;
use sextant_backtest::strategy::strategy_library;
use strum::{AsRefStr, Display};

/// What a catalog entry documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Display, AsRefStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum EntryKind {
    /// A library strategy (the offline parser's families).
    Strategy,
    /// A rule-language function.
    Indicator,
    /// A condition joined to entries (regime, ML probability, trend).
    Filter,
    /// A risk exit or a position size.
    Risk,
    /// Commission or slippage.
    Cost,
    /// Something the library cannot do; a request near one gets a clarifying answer.
    Limitation,
}

/// One documented capability.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Stable id, e.g. `strategy.sma_cross`, `filter.regime`, `limitation.sentiment`.
    pub id: String,
    /// What kind of capability it is.
    pub kind: EntryKind,
    /// One or two sentences: what it does and its parameters with defaults.
    pub text: String,
    /// How users ask for it; each is embedded, and an entry scores its best example.
    pub examples: Vec<String>,
}

fn entry(id: &str, kind: EntryKind, text: &str, examples: &[&str]) -> Entry {
    Entry {
        id: id.to_string(),
        kind,
        text: text.to_string(),
        examples: examples.iter().map(|s| s.to_string()).collect(),
    }
}

/// Example phrasings per library strategy (the catalog's grounding for paraphrases).
const STRATEGY_EXAMPLES: &[(&str, &[&str])] = &[
    (
        "buy_and_hold",
        &[
            "buy and hold",
            "buy on the first day and never sell",
            "stay invested the whole period, no trading",
            "passive benchmark",
        ],
    ),
    (
        "sma_cross",
        &[
            "simple moving average crossover",
            "the fast average crosses above the slow average",
            "golden cross and death cross",
            "10/50 day moving average cross",
        ],
    ),
    (
        "ema_cross",
        &[
            "exponential moving average crossover",
            "EMA 12/26 cross",
            "the fast exponentially weighted average crosses the slow one",
        ],
    ),
    (
        "rsi_reversion",
        &[
            "RSI mean reversion",
            "buy when RSI is oversold, sell when overbought",
            "relative strength index below 30, exit above 70",
        ],
    ),
    (
        "bollinger_reversion",
        &[
            "Bollinger band mean reversion",
            "buy below the lower band and exit at the middle band",
            "fade moves two standard deviations from the moving average",
        ],
    ),
    (
        "macd",
        &[
            "MACD signal line crossover",
            "long when the MACD line crosses above its signal line",
            "MACD histogram turns positive",
        ],
    ),
    (
        "donchian_breakout",
        &[
            "Donchian channel breakout",
            "buy a new 20-day high, sell a new 10-day low",
            "turtle breakout",
            "52-week high breakout",
        ],
    ),
    (
        "ts_momentum",
        &[
            "time-series momentum",
            "long while the 12-month return is positive",
            "absolute momentum, stay in cash when the trailing return is negative",
        ],
    ),
];

/// One-line documentation of each rule-language function.
const FUNCTION_DOCS: &[(&str, &str)] = &[
    ("sma", "simple moving average sma(x, n)"),
    ("mean", "rolling mean mean(x, n), the same as sma"),
    ("ema", "exponential moving average ema(x, n)"),
    ("wma", "weighted moving average wma(x, n)"),
    ("rsi", "relative strength index rsi(x, n), 0 to 100"),
    ("roc", "rate of change roc(x, n) in percent over n bars"),
    ("mom", "momentum mom(x, n) = x - x[n]"),
    (
        "zscore",
        "z-score zscore(x, n): distance from the n-bar mean in standard deviations",
    ),
    ("std", "rolling standard deviation std(x, n)"),
    (
        "highest",
        "highest value over n bars highest(x, n); new highs use highest(high, n)[1]",
    ),
    ("lowest", "lowest value over n bars lowest(x, n)"),
    ("bb_upper", "upper Bollinger band bb_upper(x, n, k)"),
    (
        "bb_middle",
        "middle Bollinger band bb_middle(x, n, k), the n-bar mean",
    ),
    ("bb_lower", "lower Bollinger band bb_lower(x, n, k)"),
    ("macd", "MACD line macd(x, fast, slow, signal)"),
    (
        "macd_signal",
        "MACD signal line macd_signal(x, fast, slow, signal)",
    ),
    (
        "macd_hist",
        "MACD histogram macd_hist(x, fast, slow, signal)",
    ),
    ("atr", "average true range atr(n)"),
    ("adx", "average directional index adx(n), trend strength"),
    ("plus_di", "plus directional indicator plus_di(n)"),
    ("minus_di", "minus directional indicator minus_di(n)"),
    ("stoch_k", "stochastic %K stoch_k(fastk, slowk, slowd)"),
    ("stoch_d", "stochastic %D stoch_d(fastk, slowk, slowd)"),
    ("obv", "on-balance volume obv()"),
    (
        "crossover",
        "crossover(a, b): a crosses above b on this bar",
    ),
    (
        "crossunder",
        "crossunder(a, b): a crosses below b on this bar",
    ),
    ("rising", "rising(x, n): x rose on each of the last n bars"),
    (
        "falling",
        "falling(x, n): x fell on each of the last n bars",
    ),
    ("abs", "absolute value abs(x)"),
    ("min", "smaller of two values min(a, b)"),
    ("max", "larger of two values max(a, b)"),
];

/// Requests the library cannot serve, with the reason given back to the user.
pub const LIMITATIONS: &[(&str, &str, &[&str])] = &[
    ("sentiment", "News, social-media or text sentiment is not a data source here.", &["buy when twitter sentiment is positive", "trade on bullish news headlines"]),
    ("derivatives", "Options, futures spreads and other derivatives are not simulated.", &["sell an iron condor on SPX", "calendar spread on crude oil futures", "buy call options"]),
    ("fundamentals", "Fundamental data (P/E, earnings, dividends, insider filings) is not available.", &["buy when the P/E ratio is below 15", "trade earnings surprises", "hold stocks with a high dividend yield", "buy on insider purchases"]),
    ("portfolio", "Multi-asset portfolios, pairs and rebalancing are not single-symbol rules (cross-sectional research is a separate capability).", &["pairs trade KO vs PEP", "equal-weight rebalance across 20 stocks", "risk parity across SPY, TLT and GLD"]),
    ("intraday", "Time-of-day rules, limit-order entries and market-on-close exits are not in the rule language.", &["buy at 10:30 am and sell at 3:55 pm", "place limit orders 1% below yesterday's close", "exit market-on-close"]),
    ("external_data", "Outside series such as the VIX are not loaded by the builder.", &["buy SPY when the VIX is above 30"]),
    ("model_training", "The builder does not train models; ML filters use an already fitted signal model.", &["fit an LSTM to predict tomorrow's close", "train a neural network on prices"]),
    ("scheduling", "Scheduled contributions and scaling in or out in steps are not strategies here.", &["dollar-cost average $500 every month", "scale into the position in thirds"]),
];

/// Builds the catalog from the engine's strategy library and function table, plus the
/// filters, risk exits, costs and limitations documented here.
pub fn catalog() -> Vec<Entry> {
    let mut out = Vec::new();
    for info in strategy_library() {
        let Some((_, examples)) = STRATEGY_EXAMPLES.iter().find(|(n, _)| *n == info.name) else {
            continue;
        };
        let params = info
            .schema
            .get("properties")
            .and_then(|p| p.as_object())
            .map(|p| {
                p.iter()
                    .map(|(k, v)| {
                        format!(
                            "{k} (default {})",
                            v.get("default").cloned().unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        out.push(Entry {
            id: format!("strategy.{}", info.name),
            kind: EntryKind::Strategy,
            text: format!("{}: {} Parameters: {params}.", info.name, info.description),
            examples: examples.iter().map(|s| s.to_string()).collect(),
        });
    }
    for (name, _) in FUNCTIONS {
        if let Some((_, doc)) = FUNCTION_DOCS.iter().find(|(n, _)| n == name) {
            out.push(entry(
                &format!("indicator.{name}"),
                EntryKind::Indicator,
                doc,
                &[doc],
            ));
        }
    }
    out.extend([
        entry("filter.regime", EntryKind::Filter, "Regime filter: enter only while the regime model is in a state (bull, bear, sideways, high_vol): in_regime(\"model\", \"bull\"); not in_regime(...) avoids a state.", &["only in bull regimes", "avoid high-volatility regimes", "only when the regime model says bull"]),
        entry("filter.ml", EntryKind::Filter, "ML filter: enter only while the fitted signal model's up-probability is above a threshold: ml_proba(\"model\") > 0.6.", &["only when the model's probability is above 0.6", "gate entries on the classifier"]),
        entry("filter.trend", EntryKind::Filter, "Trend filter: enter only above a long moving average: close > sma(close, 200).", &["only above the 200-day moving average", "only when the 50-day is above the 200-day"]),
        entry("risk.stop_loss", EntryKind::Risk, "Stop loss: close the position when price falls a fraction below the entry close, or k ATRs below it.", &["5% stop loss", "2x ATR stop"]),
        entry("risk.take_profit", EntryKind::Risk, "Take profit: close the position at a fraction above the entry close.", &["take profit at 10%", "15% target"]),
        entry("risk.trailing_stop", EntryKind::Risk, "Trailing stop: a stop that follows the close up at a fixed distance.", &["10% trailing stop"]),
        entry("risk.max_bars", EntryKind::Risk, "Time exit: close after a number of bars.", &["hold at most 10 days", "close any trade after a month"]),
        entry("risk.size", EntryKind::Risk, "Position size as a fraction of equity (default: all in).", &["put 25% of equity in each trade", "half position size"]),
        entry("cost.commission", EntryKind::Cost, "Commission as a fraction of notional per fill.", &["0.1% commission", "10 bps fees"]),
        entry("cost.slippage", EntryKind::Cost, "Slippage in basis points per fill.", &["5 bps slippage"]),
    ]);
    for (id, text, examples) in LIMITATIONS {
        out.push(entry(
            &format!("limitation.{id}"),
            EntryKind::Limitation,
            text,
            examples,
        ));
    }
    out
}

/// A retrieved entry and how close it was to the request.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// The entry's id.
    pub id: String,
    /// Its kind.
    pub kind: EntryKind,
    /// Cosine similarity of the request to the entry's best example (or its text).
    pub score: f32,
}

/// The catalog with one vector per example and per entry text.
pub struct CatalogIndex {
    entries: Vec<Entry>,
    /// `(entry index, vector)` for every text and example.
    vectors: Vec<(usize, Vec<f32>)>,
    model: String,
}

impl CatalogIndex {
    /// Embeds every entry's text and examples with `embedder`.
    ///
    /// # Errors
    ///
    /// The embedder's error.
    pub async fn build(entries: Vec<Entry>, embedder: &dyn Embedder) -> Result<Self, EmbedError> {
        let mut owners = Vec::new();
        let mut texts = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            owners.push(i);
            texts.push(e.text.clone());
            for x in &e.examples {
                owners.push(i);
                texts.push(x.clone());
            }
        }
        let vecs = embedder.embed(&texts).await?;
        Ok(CatalogIndex {
            entries,
            vectors: owners.into_iter().zip(vecs).collect(),
            model: embedder.model().to_string(),
        })
    }

    /// The embedding model the index was built with.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Every entry.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Every entry scored against `query` (its best vector), best first.
    pub fn rank(&self, query: &[f32]) -> Vec<Hit> {
        let mut best = vec![f32::MIN; self.entries.len()];
        for (i, v) in &self.vectors {
            let s = cosine(query, v);
            if s > best[*i] {
                best[*i] = s;
            }
        }
        let mut hits: Vec<Hit> = self
            .entries
            .iter()
            .zip(best)
            .map(|(e, score)| Hit {
                id: e.id.clone(),
                kind: e.kind,
                score,
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        hits
    }
}
