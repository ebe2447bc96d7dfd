//! The cross-sectional entries of the strategy library ([`crate::portfolio`]): their
//! parameters, and how a parameter object becomes a signal, a schedule and a rule.

use super::registry::{float, int, Entry};
use super::schema::{ParamError, ParamKind, ParamSpec, Params};
use super::Strategy;
use crate::portfolio::{
    Construction, Limits, PortfolioStrategy, Rule, Schedule, Selection, Signal, Weighting,
    SIGNAL_SERIES,
};
use serde_json::Value;
use std::str::FromStr;
use strum::VariantNames;

/// The names of the cross-sectional strategies.
pub const PORTFOLIO_STRATEGIES: &[&str] = &["topk_dropout", "topk_weighted", "long_short"];

const fn text(name: &'static str, description: &'static str, default: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        description,
        kind: ParamKind::Str { default },
    }
}

const SIGNAL: ParamSpec = text(
    "signal",
    "What ranks the names (higher is better): momentum, reversal or low_vol over `lookback` bars of each name's closes; model (the `model`'s point-in-time probabilities); feature (the feature-store column `feature`, as view.column); series (an attached series named by `series`).",
    "momentum",
);
const LOOKBACK: ParamSpec = int(
    "lookback",
    "Bars of the momentum, reversal and low_vol signals.",
    1,
    2000,
    60,
);
const MODEL: ParamSpec = text(
    "model",
    "With signal=model: a model id (mdl_…) or name.",
    "",
);
const FEATURE: ParamSpec = text(
    "feature",
    "With signal=feature: view.column of a materialised feature view.",
    "",
);
const SERIES: ParamSpec = text(
    "series",
    "With signal=series: the name of an attached series.",
    "",
);
const REBALANCE: ParamSpec = text(
    "rebalance",
    "When to rebalance: daily, weekly (first bar of each ISO week), monthly (first bar of each month), on_change (when the selected names change) or once (buy and hold). Decided on that bar's close, traded at the next fill.",
    "weekly",
);
const WEIGHTING: ParamSpec = text(
    "weighting",
    "How each side's names share it: equal, inverse_vol, risk_parity (equal risk contributions, Ledoit-Wolf covariance) or mean_variance (long-only, Ledoit-Wolf covariance, expected returns from the scores' z-scores).",
    "equal",
);
const VOL_LOOKBACK: ParamSpec = int("vol_lookback", "Returns in the volatility and covariance estimates; a name needs them all to be weighted by risk.", 2, 1000, 60);
const RISK_AVERSION: ParamSpec = float(
    "risk_aversion",
    "Mean-variance risk aversion (lambda).",
    1e-6,
    1e6,
    5.0,
);
const ALPHA_SCALE: ParamSpec = float("alpha_scale", "Mean-variance expected return per bar of a score one cross-sectional standard deviation above the mean.", 0.0, 1.0, 0.001);
const MAX_WEIGHT: ParamSpec = float("max_weight", "Largest absolute weight of one name (fraction of equity); the excess goes to the others, or stays cash.", 1e-4, 10.0, 1.0);
const GROSS: ParamSpec = float(
    "gross",
    "Gross exposure sum(|w|) aimed at; above 1 borrows.",
    0.0,
    10.0,
    1.0,
);
const TURNOVER: ParamSpec = float(
    "turnover",
    "Largest one-way turnover sum(|w_new - w_old|) per rebalance; 0 = no budget.",
    0.0,
    20.0,
    0.0,
);

/// The library entries, appended to the single-symbol ones by the registry.
pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        name: "topk_dropout",
        description: "Qlib's TopkDropout over a universe: hold the topk best-ranked names; each rebalance sells the held names among the n_drop worst of (held + best candidates) and buys as many new best names with equal shares of risk_degree x the cash left. Kept names are not traded.",
        params: &[
            SIGNAL, LOOKBACK, MODEL, FEATURE, SERIES, REBALANCE,
            int("topk", "Names held.", 1, 1000, 50),
            int("n_drop", "Names replaced per rebalance at most.", 1, 1000, 5),
            float("risk_degree", "Share of the cash after the sells that the buys spend.", 0.01, 1.0, 0.95),
        ],
        build: |p| {
            let rule = Rule::Dropout { topk: p.usize("topk"), n_drop: p.usize("n_drop"), risk_degree: p.float("risk_degree") };
            portfolio("topk_dropout", p, rule)
        },
    },
    Entry {
        name: "topk_weighted",
        description: "Long the topk best-ranked names of a universe, weighted equally, by inverse volatility, by risk parity or by mean-variance, within a weight cap and a turnover budget; rebalanced to the target on schedule.",
        params: &[
            SIGNAL, LOOKBACK, MODEL, FEATURE, SERIES, REBALANCE,
            int("topk", "Names held (before names without enough history for a risk weighting are passed over).", 1, 1000, 50),
            WEIGHTING, VOL_LOOKBACK, RISK_AVERSION, ALPHA_SCALE, MAX_WEIGHT, GROSS, TURNOVER,
        ],
        build: |p| {
            let c = construction(p, Selection::TopK(p.usize("topk")), 0.0)?;
            portfolio("topk_weighted", p, Rule::Weights(c))
        },
    },
    Entry {
        name: "long_short",
        description: "Long the top quantile and short the bottom quantile of a universe's ranking, each side weighted equally, by inverse volatility or by risk parity, with gross and net exposure targets, a weight cap and a turnover budget.",
        params: &[
            SIGNAL, LOOKBACK, MODEL, FEATURE, SERIES, REBALANCE,
            int("quantiles", "The ranking is cut into this many quantiles; the first is long, the last short.", 2, 100, 5),
            WEIGHTING, VOL_LOOKBACK, MAX_WEIGHT, GROSS,
            float("net", "Net exposure aimed at, as a fraction of gross (0 = dollar neutral).", -1.0, 1.0, 0.0),
            TURNOVER,
        ],
        build: |p| {
            let c = construction(p, Selection::LongShort { quantiles: p.usize("quantiles") }, p.float("net"))?;
            if c.weighting == Weighting::MeanVariance {
                return Err(ParamError::invalid("weighting", "mean_variance is long-only: use topk_weighted"));
            }
            portfolio("long_short", p, Rule::Weights(c))
        },
    },
];

fn one_of<T: FromStr + VariantNames>(p: &Params, field: &str) -> Result<T, ParamError> {
    T::from_str(p.str(field)).map_err(|_| {
        ParamError::invalid(field, format!("must be one of {}", T::VARIANTS.join(", ")))
    })
}

fn construction(p: &Params, selection: Selection, net: f64) -> Result<Construction, ParamError> {
    // long_short has no mean-variance parameters: they read as NaN there and are never used.
    let or = |v: f64, default: f64| if v.is_nan() { default } else { v };
    Ok(Construction {
        selection,
        weighting: one_of(p, "weighting")?,
        vol_lookback: p.usize("vol_lookback"),
        risk_aversion: or(p.float("risk_aversion"), 5.0),
        alpha_scale: or(p.float("alpha_scale"), 0.001),
        limits: Limits {
            max_weight: p.float("max_weight"),
            gross: p.float("gross"),
            net,
            turnover: p.float("turnover"),
        },
    })
}

fn portfolio(name: &'static str, p: &Params, rule: Rule) -> Result<Box<dyn Strategy>, ParamError> {
    let signal = signal(p)?;
    let schedule: Schedule = one_of(p, "rebalance")?;
    Ok(Box::new(PortfolioStrategy::new(
        name, signal, schedule, rule,
    )))
}

/// The signal a portfolio strategy's parameters name (`signal` and its companions), validated
/// as the strategy validates it: what the factor evaluation ranks by.
pub fn signal_of(strategy: &str, params: &Value) -> Result<Signal, ParamError> {
    let entry = ENTRIES
        .iter()
        .find(|e| e.name == strategy)
        .ok_or_else(|| ParamError::UnknownStrategy(strategy.to_string()))?;
    signal(&super::schema::validate(entry.params, params)?)
}

fn signal(p: &Params) -> Result<Signal, ParamError> {
    let lookback = p.usize("lookback");
    let need = |field: &str| -> Result<String, ParamError> {
        let v = p.str(field).trim();
        if v.is_empty() {
            return Err(ParamError::invalid(
                field,
                format!("signal={} needs {field}", p.str("signal")),
            ));
        }
        Ok(v.to_string())
    };
    let signal = match p.str("signal") {
        "momentum" => Signal::Momentum(lookback),
        "reversal" => Signal::Reversal(lookback),
        "low_vol" => Signal::LowVol(lookback.max(2)),
        "model" => {
            need("model")?;
            Signal::Series(SIGNAL_SERIES.into())
        }
        "feature" => {
            let f = need("feature")?;
            if !f.contains('.') {
                return Err(ParamError::invalid("feature", "must be view.column"));
            }
            Signal::Series(SIGNAL_SERIES.into())
        }
        "series" => Signal::Series(need("series")?),
        _ => {
            return Err(ParamError::invalid(
                "signal",
                "must be one of momentum, reversal, low_vol, model, feature, series",
            ))
        }
    };
    Ok(signal)
}

/// The benchmark of a portfolio run: every name of its universe bought in equal weights on
/// the first bar it can be (after one bar of history) and held, on the same data and
/// simulator settings.
pub fn equal_weight_benchmark(symbols: usize) -> (String, Value) {
    let params = serde_json::json!({"topk": symbols.clamp(1, 1000), "weighting": "equal",
        "rebalance": "once", "signal": "momentum", "lookback": 1});
    ("topk_weighted".to_string(), params)
}

/// What a portfolio request's signal needs from the services: `("model", reference)` or
/// `("feature", "view.column")`; `None` for the built-in signals, a plain series, or a strategy
/// that is not a portfolio strategy.
pub fn signal_source(strategy: &str, params: &Value) -> Option<(&'static str, String)> {
    if !PORTFOLIO_STRATEGIES.contains(&strategy) {
        return None;
    }
    let field = |f: &str| params.get(f).and_then(Value::as_str).map(str::to_string);
    match params.get("signal").and_then(Value::as_str) {
        // Without its name the strategy itself refuses the parameters.
        Some("model") => field("model").map(|m| ("model", m)),
        Some("feature") => field("feature").map(|f| ("feature", f)),
        _ => None,
    }
}
