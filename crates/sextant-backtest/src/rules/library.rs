//! The library strategies that the language can express, as definitions. Each gives the same
//! trades and equity as its Rust implementation (`tests/rules_library.rs` checks all of them on
//! the bundled data, both fill modes, long-only and long-short).

use serde_json::{json, Value};

fn short_param() -> Value {
    json!({"type": "bool", "default": false,
           "description": "Go short on the bearish signal instead of only closing the long."})
}

fn cross(name: &str, ma: &str, fast: i64, slow: i64) -> Value {
    json!({
        "name": name,
        "description": format!("Long when {ma}(fast) crosses above {ma}(slow), out (or short) when it crosses below."),
        "params": {
            "fast": {"type": "int", "min": 1, "max": 1000, "default": fast, "description": "Fast window in bars."},
            "slow": {"type": "int", "min": 2, "max": 2000, "default": slow, "description": "Slow window in bars; must exceed fast."},
            "allow_short": short_param(),
        },
        "require": ["fast < slow"],
        "let": {"f": format!("{ma}(close, fast)"), "s": format!("{ma}(close, slow)")},
        "long": {"entry": "crossover(f, s)", "exit": "crossunder(f, s)"},
        "short": {"entry": "allow_short and crossunder(f, s)", "exit": "crossover(f, s)"},
    })
}

/// `(library strategy name, definition)` for every library strategy the language expresses.
pub fn library_definitions() -> Vec<(&'static str, Value)> {
    vec![
        (
            "buy_and_hold",
            json!({
                "name": "buy_and_hold",
                "description": "Buy on the first bar and hold to the end.",
                "long": {"entry": "true"},
            }),
        ),
        ("sma_cross", cross("sma_cross", "sma", 10, 20)),
        ("ema_cross", cross("ema_cross", "ema", 12, 26)),
        (
            "rsi_reversion",
            json!({
                "name": "rsi_reversion",
                "description": "Long while RSI(period) is below lower, out (or short) while it is above upper.",
                "params": {
                    "period": {"type": "int", "min": 2, "max": 500, "default": 14},
                    "lower": {"type": "float", "min": 0.0, "max": 100.0, "default": 30.0},
                    "upper": {"type": "float", "min": 0.0, "max": 100.0, "default": 70.0},
                    "allow_short": short_param(),
                },
                "require": ["lower < upper"],
                "let": {"r": "rsi(close, period)"},
                "long": {"entry": "r < lower", "exit": "r > upper"},
                "short": {"entry": "allow_short and r > upper", "exit": "r < lower"},
            }),
        ),
        (
            "bollinger_reversion",
            json!({
                "name": "bollinger_reversion",
                "description": "Long below the lower Bollinger band, short (if allowed) above the upper; exit at the middle band.",
                "params": {
                    "period": {"type": "int", "min": 2, "max": 500, "default": 20},
                    "k": {"type": "float", "min": 0.1, "max": 10.0, "default": 2.0},
                    "allow_short": short_param(),
                },
                "long": {"entry": "close < bb_lower(close, period, k)", "exit": "close >= bb_middle(close, period, k)"},
                "short": {"entry": "allow_short and close > bb_upper(close, period, k)", "exit": "close <= bb_middle(close, period, k)"},
            }),
        ),
        (
            "macd",
            json!({
                "name": "macd",
                "description": "Long when the MACD line crosses above its signal line, out (or short) when it crosses below.",
                "params": {
                    "fast": {"type": "int", "min": 1, "max": 500, "default": 12},
                    "slow": {"type": "int", "min": 2, "max": 1000, "default": 26},
                    "signal": {"type": "int", "min": 1, "max": 500, "default": 9},
                    "allow_short": short_param(),
                },
                "require": ["fast < slow"],
                "let": {"m": "macd(close, fast, slow, signal)", "g": "macd_signal(close, fast, slow, signal)"},
                "long": {"entry": "crossover(m, g)", "exit": "crossunder(m, g)"},
                "short": {"entry": "allow_short and crossunder(m, g)", "exit": "crossover(m, g)"},
            }),
        ),
        (
            "donchian_breakout",
            json!({
                "name": "donchian_breakout",
                "description": "Long on a close above the previous `entry`-bar high, short (if allowed) below the low; exit on the opposite `exit`-bar channel.",
                "params": {
                    "entry": {"type": "int", "min": 1, "max": 1000, "default": 20},
                    "exit": {"type": "int", "min": 1, "max": 1000, "default": 10},
                    "allow_short": short_param(),
                },
                "long": {"entry": "close > highest(high, entry)[1]", "exit": "close < lowest(low, exit)[1]"},
                "short": {"entry": "allow_short and close < lowest(low, entry)[1]", "exit": "close > highest(high, exit)[1]"},
            }),
        ),
        (
            "ts_momentum",
            json!({
                "name": "ts_momentum",
                "description": "Time-series momentum: long while the lookback return is positive, out (or short) while negative.",
                "params": {
                    "lookback": {"type": "int", "min": 1, "max": 5000, "default": 252},
                    "allow_short": short_param(),
                },
                "let": {"r": "roc(close, lookback)"},
                "long": {"entry": "r > 0", "exit": "r < 0"},
                "short": {"entry": "allow_short and r < 0", "exit": "r > 0"},
            }),
        ),
    ]
}
