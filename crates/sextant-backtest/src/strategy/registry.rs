//! The strategy library: names, descriptions, parameter schemas, and construction by name.

use super::breakout::DonchianBreakout;
use super::cross::{BuyHold, MaCross, MacdCross, TsMomentum};
use super::external::SeriesThreshold;
use super::regime::{RegimeSwitch, REGIME_LABELS};
use super::reversion::{BollingerReversion, RsiReversion};
use super::schema::{json_schema, validate, ParamError, ParamKind, ParamSpec, Params};
use super::{PerSymbol, SignalRule, Strategy};
use crate::indicators::IndicatorError;
use serde::Serialize;
use serde_json::Value;

/// A library entry as listed to API clients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrategyInfo {
    /// Registry name, as passed to [`build_strategy`].
    pub name: &'static str,
    /// What the strategy trades on, in a sentence or two.
    pub description: &'static str,
    /// JSON Schema of the parameter object.
    pub schema: Value,
}

pub(super) type Build = fn(&Params) -> Result<Box<dyn Strategy>, ParamError>;

pub(super) struct Entry {
    pub(super) name: &'static str,
    pub(super) description: &'static str,
    pub(super) params: &'static [ParamSpec],
    pub(super) build: Build,
}

pub(super) const fn int(
    name: &'static str,
    description: &'static str,
    min: i64,
    max: i64,
    default: i64,
) -> ParamSpec {
    ParamSpec {
        name,
        description,
        kind: ParamKind::Int { min, max, default },
    }
}
pub(super) const fn float(
    name: &'static str,
    description: &'static str,
    min: f64,
    max: f64,
    default: f64,
) -> ParamSpec {
    ParamSpec {
        name,
        description,
        kind: ParamKind::Float { min, max, default },
    }
}
const SHORT: ParamSpec = ParamSpec {
    name: "allow_short",
    description: "Go short on the bearish signal instead of only closing the long.",
    kind: ParamKind::Bool { default: false },
};

fn boxed<R: SignalRule + 'static>(
    name: &'static str,
    rule: Result<R, IndicatorError>,
) -> Result<Box<dyn Strategy>, ParamError> {
    let rule = rule.map_err(|e| ParamError::invalid(name, e.to_string()))?;
    Ok(Box::new(PerSymbol::new(name, rule)))
}

fn less(p: &Params, a: &str, b: &str) -> Result<(), ParamError> {
    if p.float(a) < p.float(b) {
        Ok(())
    } else {
        Err(ParamError::invalid(b, format!("must be greater than {a}")))
    }
}

const LIBRARY: &[Entry] = &[
    Entry {
        name: "buy_and_hold",
        description: "Buy on the first bar and hold to the end.",
        params: &[],
        build: |_| Ok(Box::new(PerSymbol::new("buy_and_hold", BuyHold))),
    },
    Entry {
        name: "sma_cross",
        description: "Long when SMA(fast) crosses above SMA(slow), out (or short) when it crosses below. Strict crossover: ties signal nothing.",
        params: &[
            int("fast", "Fast SMA window in bars.", 1, 1000, 10),
            int("slow", "Slow SMA window in bars; must exceed fast.", 2, 2000, 20),
            SHORT,
        ],
        build: |p| {
            less(p, "fast", "slow")?;
            boxed("sma_cross", MaCross::sma(p.usize("fast"), p.usize("slow"), p.bool("allow_short")))
        },
    },
    Entry {
        name: "ema_cross",
        description: "Long when EMA(fast) crosses above EMA(slow), out (or short) when it crosses below. EMAs are TA-Lib's (seeded with an SMA).",
        params: &[
            int("fast", "Fast EMA period in bars.", 1, 1000, 12),
            int("slow", "Slow EMA period in bars; must exceed fast.", 2, 2000, 26),
            SHORT,
        ],
        build: |p| {
            less(p, "fast", "slow")?;
            boxed("ema_cross", MaCross::ema(p.usize("fast"), p.usize("slow"), p.bool("allow_short")))
        },
    },
    Entry {
        name: "rsi_reversion",
        description: "Long while RSI(period) is below lower, out (or short) while it is above upper.",
        params: &[
            int("period", "RSI period (Wilder) in bars.", 2, 500, 14),
            float("lower", "Oversold level: buy below it.", 0.0, 100.0, 30.0),
            float("upper", "Overbought level: sell above it; must exceed lower.", 0.0, 100.0, 70.0),
            SHORT,
        ],
        build: |p| {
            less(p, "lower", "upper")?;
            let rule = RsiReversion::new(p.usize("period"), p.float("lower"), p.float("upper"), p.bool("allow_short"));
            boxed("rsi_reversion", rule)
        },
    },
    Entry {
        name: "bollinger_reversion",
        description: "Long below the lower Bollinger band, short (if allowed) above the upper; exit at the middle band.",
        params: &[
            int("period", "Band window in bars.", 2, 500, 20),
            float("k", "Band width in population standard deviations.", 0.1, 10.0, 2.0),
            SHORT,
        ],
        build: |p| {
            let rule = BollingerReversion::new(p.usize("period"), p.float("k"), p.bool("allow_short"));
            boxed("bollinger_reversion", rule)
        },
    },
    Entry {
        name: "macd",
        description: "Long when the MACD line crosses above its signal line, out (or short) when it crosses below.",
        params: &[
            int("fast", "Fast EMA period.", 1, 500, 12),
            int("slow", "Slow EMA period; must exceed fast.", 2, 1000, 26),
            int("signal", "Signal EMA period.", 1, 500, 9),
            SHORT,
        ],
        build: |p| {
            less(p, "fast", "slow")?;
            let rule = MacdCross::new(p.usize("fast"), p.usize("slow"), p.usize("signal"), p.bool("allow_short"));
            boxed("macd", rule)
        },
    },
    Entry {
        name: "donchian_breakout",
        description: "Long on a close above the previous `entry`-bar high, short (if allowed) below the low; exit on the opposite `exit`-bar channel.",
        params: &[
            int("entry", "Breakout channel length in bars.", 1, 1000, 20),
            int("exit", "Exit channel length in bars.", 1, 1000, 10),
            SHORT,
        ],
        build: |p| boxed("donchian_breakout", DonchianBreakout::new(p.usize("entry"), p.usize("exit"), p.bool("allow_short"))),
    },
    Entry {
        name: "ts_momentum",
        description: "Time-series momentum: long while the lookback return is positive, out (or short) while negative.",
        params: &[int("lookback", "Return lookback in bars (252 = one year of daily bars).", 1, 5000, 252), SHORT],
        build: |p| boxed("ts_momentum", TsMomentum::new(p.usize("lookback"), p.bool("allow_short"))),
    },
    Entry {
        name: "series_threshold",
        description: "Trade an external series aligned to the bars (e.g. an ML probability): long above upper, out (or short) below lower.",
        params: &[
            ParamSpec {
                name: "series",
                description: "Name of the external series attached to each symbol's bars.",
                kind: ParamKind::Str { default: "ml_proba" },
            },
            float("lower", "Bearish below this value.", -1e12, 1e12, 0.45),
            float("upper", "Bullish above this value; must not be below lower.", -1e12, 1e12, 0.55),
            SHORT,
        ],
        build: |p| {
            if p.float("upper") < p.float("lower") {
                return Err(ParamError::invalid("upper", "must not be below lower"));
            }
            let rule = SeriesThreshold::new(p.str("series").to_string(), p.float("lower"), p.float("upper"), p.bool("allow_short"));
            Ok(Box::new(PerSymbol::new("series_threshold", rule)))
        },
    },
    Entry {
        name: "ml_signal",
        description: "Trade a trained ML model's probability of an up move, with hysteresis: long above upper, out (or short) below lower, unchanged in between. The service attaches the model's point-in-time probabilities to the bars.",
        params: &[
            ParamSpec {
                name: "model",
                description: "A model id (mdl_…) or name (its production model, else its newest); see `sextant models ls`.",
                kind: ParamKind::Str { default: "" },
            },
            float("lower", "Exit (or go short) below this probability.", 0.0, 1.0, 0.45),
            float("upper", "Go long above this probability; must not be below lower.", 0.0, 1.0, 0.55),
            SHORT,
        ],
        build: |p| {
            if p.str("model").trim().is_empty() {
                return Err(ParamError::invalid("model", "a model id or name is required"));
            }
            if p.float("upper") < p.float("lower") {
                return Err(ParamError::invalid("upper", "must not be below lower"));
            }
            let rule = SeriesThreshold::new("ml_proba".to_string(), p.float("lower"), p.float("upper"), p.bool("allow_short"));
            Ok(Box::new(PerSymbol::new("ml_signal", rule)))
        },
    },
    Entry {
        name: "regime_switch",
        description: "One parameter set of a library strategy per market regime (bull, bear, sideways, high_vol), or flat in a regime given none. Labels come from a fitted regime model, point in time (forward filter). Each regime's strategy runs throughout on its own virtual book, so its stance is current when its regime begins.",
        params: &[
            ParamSpec {
                name: "model",
                description: "The regime model whose labels switch the parameters; see `sextant regime ls`.",
                kind: ParamKind::Str { default: "" },
            },
            ParamSpec {
                name: "strategy",
                description: "The library strategy each regime runs (not regime_switch, nor one that needs its own external series).",
                kind: ParamKind::Str { default: "sma_cross" },
            },
            ParamSpec { name: "bull", description: "Parameters in bull; null: flat.", kind: ParamKind::Object },
            ParamSpec { name: "bear", description: "Parameters in bear; null: flat.", kind: ParamKind::Object },
            ParamSpec { name: "sideways", description: "Parameters in sideways; null: flat.", kind: ParamKind::Object },
            ParamSpec { name: "high_vol", description: "Parameters in high_vol; null: flat.", kind: ParamKind::Object },
        ],
        build: |p| {
            if p.str("model").trim().is_empty() {
                return Err(ParamError::invalid("model", "a regime model name is required"));
            }
            let inner = p.str("strategy");
            if inner == crate::rules::RULES {
                // Its stops and sizes are orders a virtual arm book cannot follow; a definition
                // conditions on regimes itself with in_regime() and regime_prob().
                return Err(ParamError::invalid("strategy", "a rules definition cannot run inside regime_switch: use in_regime(\"model\", \"bull\") in the definition"));
            }
            if inner == "regime_switch" || required_series(inner).is_some() {
                return Err(ParamError::invalid("strategy", format!("{inner} cannot run inside regime_switch")));
            }
            let mut arms = Vec::with_capacity(REGIME_LABELS.len());
            for regime in REGIME_LABELS {
                arms.push(match p.object(regime) {
                    None => None,
                    Some(params) => Some(build_strategy(inner, params).map_err(|e| ParamError::invalid(regime, e.to_string()))?),
                });
            }
            Ok(Box::new(RegimeSwitch::new(arms)))
        },
    },
];

/// The single-symbol library, then the cross-sectional portfolio strategies.
fn entries() -> impl Iterator<Item = &'static Entry> {
    LIBRARY.iter().chain(super::portfolio::ENTRIES)
}

/// The external series a library strategy cannot run without, with what supplies it: the
/// loader refuses such a request when no source is installed instead of running a strategy
/// that would never see a value.
pub fn required_series(strategy: &str) -> Option<(&'static str, &'static str)> {
    match strategy {
        "ml_signal" => Some((
            "ml_proba",
            "the ML signal service to attach the model's probabilities",
        )),
        "regime_switch" => Some((
            super::REGIME_SERIES,
            "the regime service to attach the regime model's labels",
        )),
        _ => None,
    }
}

/// Every strategy with its description and parameter schema; the last entry, `rules`, runs a
/// user-defined definition ([`crate::rules`]), whose own parameters sit beside it.
pub fn strategy_library() -> Vec<StrategyInfo> {
    let mut out: Vec<StrategyInfo> = entries()
        .map(|e| StrategyInfo {
            name: e.name,
            description: e.description,
            schema: json_schema(e.name, e.description, e.params),
        })
        .collect();
    out.push(StrategyInfo {
        name: crate::rules::RULES,
        description: RULES_DESCRIPTION,
        schema: serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": crate::rules::RULES,
            "description": RULES_DESCRIPTION,
            "type": "object",
            "properties": {"definition": {
                "type": ["object", "string"],
                "description": "The definition (name, params, require, let, long, short), or a saved definition's id (usd_…, optionally @version)."}},
            "required": ["definition"],
            "additionalProperties": true,
        }),
    });
    out
}

const RULES_DESCRIPTION: &str = "A user-defined strategy in the rule language: params.definition holds the definition (or a saved one's id) and the other keys its parameter values.";

/// The parameter schema of `strategy` as run with `params`: a library strategy's own, or for
/// `rules` the schema of the definition in `params.definition` (its declared parameters, so a
/// tuner searches them like a library strategy's). `None` for an unknown strategy or a
/// definition that does not read.
pub fn schema_for(strategy: &str, params: &Value) -> Option<Value> {
    if strategy == crate::rules::RULES {
        return crate::rules::definition_of(params)
            .ok()
            .map(|d| d.params_schema());
    }
    strategy_library()
        .into_iter()
        .find(|s| s.name == strategy)
        .map(|s| s.schema)
}

/// Builds strategy `name` from a JSON parameter object (`null` or missing fields take defaults).
/// `rules` compiles the definition in `params.definition`.
pub fn build_strategy(name: &str, params: &Value) -> Result<Box<dyn Strategy>, ParamError> {
    if name == crate::rules::RULES {
        return Ok(Box::new(crate::rules::build(params)?));
    }
    let entry = entries()
        .find(|e| e.name == name)
        .ok_or_else(|| ParamError::UnknownStrategy(name.to_string()))?;
    let p = validate(entry.params, params)?;
    (entry.build)(&p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn library_lists_every_strategy_with_a_schema() {
        let lib = strategy_library();
        assert_eq!(lib.len(), entries().count() + 1, "the library and `rules`");
        for info in &lib {
            assert_eq!(info.schema["type"], "object");
            if info.name == crate::rules::RULES {
                let e = build_strategy(info.name, &Value::Null).err();
                assert!(
                    matches!(e, Some(ParamError::Invalid { ref field, .. }) if field == "definition"),
                    "{e:?}"
                );
                let ok = json!({"definition": {"name": "d", "long": {"entry": "close > 0"}}});
                assert!(build_strategy(info.name, &ok).is_ok());
                continue;
            }
            if info.name == "regime_switch" {
                let e = build_strategy(info.name, &Value::Null).err();
                assert!(
                    matches!(e, Some(ref e) if e.to_string().contains("model")),
                    "{e:?}"
                );
                let ok = json!({"model": "m", "bull": {"fast": 5, "slow": 20}});
                assert!(build_strategy(info.name, &ok).is_ok());
                let bad = json!({"model": "m", "bull": {"fast": 30, "slow": 20}});
                let e = build_strategy(info.name, &bad).err();
                assert!(
                    matches!(e, Some(ParamError::Invalid { ref field, .. }) if field == "bull"),
                    "{e:?}"
                );
                let e = build_strategy(
                    info.name,
                    &json!({"model": "m", "strategy": "rules", "bull": {"definition": {}}}),
                )
                .err();
                assert!(
                    matches!(e, Some(ParamError::Invalid { ref field, .. }) if field == "strategy"),
                    "{e:?}"
                );
                let e = build_strategy(info.name, &json!({"model": "m", "strategy": "ml_signal"}))
                    .err();
                assert!(
                    matches!(e, Some(ParamError::Invalid { ref field, .. }) if field == "strategy"),
                    "{e:?}"
                );
                continue;
            }
            if info.name == "ml_signal" {
                // The one strategy with a required reference: the model to trade.
                let e = build_strategy(info.name, &Value::Null).err();
                assert!(
                    matches!(e, Some(ref e) if e.to_string().contains("model")),
                    "{e:?}"
                );
                assert!(build_strategy(info.name, &json!({"model": "m"})).is_ok());
                continue;
            }
            assert!(
                build_strategy(info.name, &Value::Null).is_ok(),
                "{} with defaults",
                info.name
            );
        }
    }

    #[test]
    fn errors_are_typed() {
        assert!(matches!(
            build_strategy("nope", &Value::Null),
            Err(ParamError::UnknownStrategy(_))
        ));
        let e = build_strategy("sma_cross", &json!({"fast": 30, "slow": 20})).err();
        assert!(matches!(e, Some(ParamError::Invalid { ref field, .. }) if field == "slow"));
        let e = build_strategy("rsi_reversion", &json!({"period": "x"})).err();
        assert!(matches!(e, Some(ParamError::WrongType { ref field, .. }) if field == "period"));
        let e = build_strategy("macd", &json!({"signal": 0})).err();
        assert!(matches!(e, Some(ParamError::OutOfRange { ref field, .. }) if field == "signal"));
    }
}
