//! Library strategies named by keyword, and their parameters read from the request's numbers.

use super::text::{pattern, to_bars};
use regex::{Captures, Regex};
use serde_json::{json, Map, Value};
use std::sync::LazyLock;

/// Keyword cues per library strategy, most specific first.
const CUES: &[(&str, &str)] = &[
    ("macd", r"\bmacd\b"),
    (
        "bollinger_reversion",
        r"\bbollinger\b|\bbb\b|\b(?:lower|upper|bottom|top|middle|bollinger|boll) bands?\b|\bsd\b[^,;]*\b(?:mean|average)\b|\b(?:mean|average)\b[^,;]*\bsd\b",
    ),
    (
        "donchian_breakout",
        r"\bdonchian\b|\bbreakouts?\b|\bchannel\b|\bturtle\b|\b\d+ (?:day|week) (?:highs?|rule)\b|\bhighest high\b",
    ),
    ("rsi_reversion", r"\brsi\b"),
    (
        "ts_momentum",
        r"\btime series momentum\b|\babsolute momentum\b|\b\d+ (?:day|week|month|year) (?:momentum|time series)\b|\bmomentum\b[^,;]*\b\d+ (?:day|week|month|year)|\b(?:trailing|past|last) (?:\d+ )?(?:year|month)s?'? returns?\b|\breturn is positive\b|\bhigher than it was\b|\blookback\b[^,;]*\bmomentum\b",
    ),
    (
        "ema_cross",
        r"\bema\b[^,;]*\bcross|\bcross[^,;]*\bema\b|\bexponential(?:ly weighted)? (?:moving )?averages?\b[^,;]*\bcross|\bexponential(?:ly weighted)?\b[^,;]*\bcross|\bema\s*\(\d+\)\s*x\s*ema|\b\d+\s*/\s*\d+ ema\b|\bema \d+\s*/\s*\d+\b|\bema crossover\b|\bexponentially weighted averages\b[^,;]*\b(?:cross|bullish)",
    ),
    (
        "sma_cross",
        r"\bgolden cross\b|\bdeath cross\b|\bsma\b[^,;]*\bcross|\bcross[^,;]*\bsma\b|\bmoving averages?\b[^,;]*\bcross|\bmoving average crossover\b|\baverages?\b[^,;]*\b(?:crosses|pokes|cross)\b|\b\d+\s*/\s*\d+ sma\b|\bsma \d+\s*/\s*\d+\b|\bfast\s*/\s*slow\b",
    ),
    (
        "buy_and_hold",
        r"\bbuy and hold\b|\bnever sell\b|\bwhole period\b|\bno trading\b|\bpassive\b|\bhold forever\b",
    ),
];

static CUE_RES: LazyLock<Vec<(&'static str, Regex)>> =
    LazyLock::new(|| CUES.iter().map(|(n, p)| (*n, pattern(p))).collect());

/// The library strategies whose cues appear in `text`, in [`CUES`] order.
pub fn families(text: &str) -> Vec<&'static str> {
    CUE_RES
        .iter()
        .filter(|(_, re)| re.is_match(text))
        .map(|(n, _)| *n)
        .collect()
}

/// Why the parameters could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamTrouble {
    /// The numbers given contradict the strategy (fast ≥ slow, lower ≥ upper).
    Contradiction(String),
    /// A number is there but which parameter it sets is unclear.
    Unclear(String),
}

fn int(v: f64) -> Value {
    json!(v.round() as i64)
}

fn nums(c: &Captures) -> Vec<f64> {
    c.iter()
        .skip(1)
        .flatten()
        .filter_map(|m| m.as_str().parse().ok())
        .collect()
}

static NUM_UNIT: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?:^|[^\w.])(\d+(?:\.\d+)?)(?:\s*-)?(?:\s*(day|week|month|year|bar|period|session)s?)?\b",
    )
});

/// Every number with its unit converted to bars, in order of appearance.
fn periods(text: &str) -> Vec<(f64, bool)> {
    let units: Vec<Option<String>> = NUM_UNIT
        .captures_iter(text)
        .map(|c| c.get(2).map(|m| m.as_str().to_string()))
        .collect();
    // "12- and 26-period", "2 and 10 week": a unit given once applies to its bare partner.
    let shared = units.iter().flatten().next().cloned();
    NUM_UNIT
        .captures_iter(text)
        .zip(units)
        .filter_map(|(c, u)| {
            let n: f64 = c[1].parse().ok()?;
            let had = u.is_some();
            let unit = u.or_else(|| shared.clone()).unwrap_or_else(|| "day".into());
            Some((f64::from(to_bars(n, &unit)?), had))
        })
        .collect()
}

fn labelled(text: &str, label: &str) -> Option<f64> {
    let re = pattern(&format!(
        r"\b{label}\b\s*(?:period|window|line|length|ma|average|lookback)?\s*(?:of|=|:|is|at)?\s*(\d+(?:\.\d+)?)"
    ));
    re.captures(text).and_then(|c| c[1].parse().ok())
}

fn cross(text: &str) -> Result<Map<String, Value>, ParamTrouble> {
    let mut p = Map::new();
    let (fast, slow) = (labelled(text, "fast"), labelled(text, "slow"));
    if let (Some(f), Some(s)) = (fast, slow) {
        if f >= s {
            return Err(ParamTrouble::Contradiction(format!(
                "fast {f} is not shorter than slow {s}"
            )));
        }
        p.insert("fast".into(), int(f));
        p.insert("slow".into(), int(s));
        return Ok(p);
    }
    let ps: Vec<f64> = periods(text).into_iter().map(|(n, _)| n).collect();
    match ps.as_slice() {
        [] if text.contains("golden cross") || text.contains("death cross") => {
            p.insert("fast".into(), json!(50));
            p.insert("slow".into(), json!(200));
        }
        [] => {}
        [a, b] => {
            let (f, s) = if a < b { (a, b) } else { (b, a) };
            if f == s {
                return Err(ParamTrouble::Contradiction(format!("both windows are {f}")));
            }
            p.insert("fast".into(), int(*f));
            p.insert("slow".into(), int(*s));
        }
        _ => {
            return Err(ParamTrouble::Unclear(format!(
                "the numbers {ps:?} do not say which windows to cross"
            )))
        }
    }
    Ok(p)
}

static RSI_PERIOD: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"\brsi\s*\(?\s*(\d+)\s*\)?|(\d+) (?:day|bar|period|session) rsi\b|\bperiod\s*(?:of|=|:)?\s*(\d+)|\brsi\b[^,;\d]*\bon an? (\d+) (?:day|bar|period) rsi",
    )
});
static PAIR: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"\b(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\b"));
static LOW_WORD: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"\b(?:oversold|lower(?: threshold| band| level)?|buy[^,;]*?|long[^,;]*?|enter[^,;]*?)\s*(?:is|at|of|=|:)?\s*(?:under|below|<)?\s*(\d+(?:\.\d+)?)|\b(?:under|below|<)\s*(\d+(?:\.\d+)?)",
    )
});
static HIGH_WORD: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"\b(?:overbought|upper(?: threshold| band| level)?)\s*(?:is|at|of|=|:)?\s*(?:over|above|>)?\s*(\d+(?:\.\d+)?)|\b(?:over|above|>)\s*(\d+(?:\.\d+)?)",
    )
});

fn rsi(text: &str) -> Result<Map<String, Value>, ParamTrouble> {
    let mut p = Map::new();
    let mut rest = text.to_string();
    if let Some(c) = RSI_PERIOD.captures(text) {
        if let Some(n) = nums(&c).first() {
            p.insert("period".into(), int(*n));
            rest = rest.replacen(&c[0], " rsi ", 1);
        }
    }
    let (mut lower, mut upper) = (None, None);
    if let Some(c) = PAIR.captures(&rest) {
        let v = nums(&c);
        lower = v.first().copied();
        upper = v.get(1).copied();
    } else {
        for c in LOW_WORD.captures_iter(&rest) {
            if lower.is_none() {
                lower = nums(&c).first().copied();
            }
        }
        for c in HIGH_WORD.captures_iter(&rest) {
            if upper.is_none() {
                upper = nums(&c).first().copied();
            }
        }
        // "lower ... 70 and the upper is 30": labels win over positions.
        if let (Some(l), Some(u)) = (labelled(&rest, "lower"), labelled(&rest, "upper")) {
            lower = Some(l);
            upper = Some(u);
        }
    }
    if let (Some(l), Some(u)) = (lower, upper) {
        if l >= u {
            return Err(ParamTrouble::Contradiction(format!(
                "lower {l} is not below upper {u}"
            )));
        }
    }
    for (k, v) in [("lower", lower), ("upper", upper)] {
        if let Some(v) = v {
            if !(0.0..=100.0).contains(&v) {
                return Err(ParamTrouble::Unclear(format!(
                    "RSI threshold {v} is outside 0-100"
                )));
            }
            p.insert(k.into(), json!(v));
        }
    }
    Ok(p)
}

static BB_CALL: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"\b(?:bb|bollinger(?: bands?)?)\s*\(\s*(\d+)\s*,\s*(\d+(?:\.\d+)?)\s*\)|\b(\d+)\s*[/,]\s*(\d+(?:\.\d+)?)\b",
    )
});
static BB_K: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(\d+(?:\.\d+)?)\s*-?\s*sd\b|\bk\s*(?:=|of|:)?\s*(\d+(?:\.\d+)?)|\bat (\d+(?:\.\d+)?) sd\b",
    )
});
static BB_N: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(\d+) (?:day|bar|period|session)s?\b|\bperiod\s*(?:of|=|:)?\s*(\d+)|\blookback\s*(?:of|=|:)?\s*(\d+)",
    )
});

fn bollinger(text: &str) -> Map<String, Value> {
    let mut p = Map::new();
    if let Some(c) = BB_CALL.captures(text) {
        let v = nums(&c);
        if let [n, k] = v.as_slice() {
            p.insert("period".into(), int(*n));
            p.insert("k".into(), json!(k));
            return p;
        }
    }
    if let Some(c) = BB_K.captures(text) {
        if let Some(k) = nums(&c).first() {
            p.insert("k".into(), json!(k));
        }
    }
    if let Some(c) = BB_N.captures(text) {
        if let Some(n) = nums(&c).first() {
            p.insert("period".into(), int(*n));
        }
    }
    p
}

static TRIPLE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(\d+)\s*[/,]\s*(\d+)\s*[/,]\s*(?:and\s+)?(\d+)"));

fn macd(text: &str) -> Result<Map<String, Value>, ParamTrouble> {
    let mut p = Map::new();
    if let Some(c) = TRIPLE.captures(text) {
        let v = nums(&c);
        for (k, x) in ["fast", "slow", "signal"].iter().zip(v) {
            p.insert((*k).into(), int(x));
        }
    } else {
        for (key, label) in [
            ("fast", "fast"),
            ("slow", "slow"),
            ("signal", "signal"),
            ("signal", "trigger"),
        ] {
            if let Some(v) = labelled(text, label) {
                p.insert(key.into(), int(v));
            }
        }
    }
    if let (Some(f), Some(s)) = (
        p.get("fast").and_then(Value::as_f64),
        p.get("slow").and_then(Value::as_f64),
    ) {
        if f >= s {
            return Err(ParamTrouble::Contradiction(format!(
                "fast {f} is not shorter than slow {s}"
            )));
        }
    }
    Ok(p)
}

static DC_ENTRY: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(\d+) (day|week|month|bar)s? (?:entry|highs?|high close|high breakout|breakout)\b|\bhighest high of the (?:previous|last|prior) (\d+) (day|week|bar)s?|\babove the (\d+) (day|week|bar)s? high\b|\bentry\s*(?:of|=|:)?\s*(\d+)\s*()",
    )
});
static DC_EXIT: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(\d+) (day|week|month|bar)s? (?:exit|lows?)\b|\blowest low of the (?:previous|last|prior) (\d+) (day|week|bar)s?|\bbelow the (\d+) (day|week|bar)s? low\b|\bexit\s*(?:of|=|:)?\s*(\d+)\s*()",
    )
});

fn first_bars(c: &Captures) -> Option<u32> {
    let mut i = 1;
    while i < c.len() - 1 {
        if let Some(n) = c.get(i) {
            let unit = c.get(i + 1).map_or("day", |m| {
                if m.as_str().is_empty() {
                    "day"
                } else {
                    m.as_str()
                }
            });
            return to_bars(n.as_str().parse().ok()?, unit);
        }
        i += 2;
    }
    None
}

fn donchian(text: &str) -> Map<String, Value> {
    let mut p = Map::new();
    if let Some(c) = PAIR.captures(text) {
        let v = nums(&c);
        if let [a, b] = v.as_slice() {
            p.insert("entry".into(), int(*a));
            p.insert("exit".into(), int(*b));
            return p;
        }
    }
    if let Some(n) = DC_ENTRY.captures(text).and_then(|c| first_bars(&c)) {
        p.insert("entry".into(), json!(n));
    }
    if let Some(n) = DC_EXIT.captures(text).and_then(|c| first_bars(&c)) {
        p.insert("exit".into(), json!(n));
    }
    p
}

fn momentum(text: &str) -> Map<String, Value> {
    let mut p = Map::new();
    if let Some((n, _)) = periods(text)
        .into_iter()
        .find(|(_, had_unit)| *had_unit)
        .or_else(|| periods(text).into_iter().next())
    {
        p.insert("lookback".into(), int(n));
    }
    p
}

/// The parameters of `family` stated in `text` (defaults are not written).
///
/// # Errors
///
/// [`ParamTrouble`] when the numbers contradict the strategy or cannot be placed.
pub fn params(family: &str, text: &str) -> Result<Map<String, Value>, ParamTrouble> {
    match family {
        "sma_cross" | "ema_cross" => cross(text),
        "rsi_reversion" => rsi(text),
        "bollinger_reversion" => Ok(bollinger(text)),
        "macd" => macd(text),
        "donchian_breakout" => Ok(donchian(text)),
        "ts_momentum" => Ok(momentum(text)),
        _ => Ok(Map::new()),
    }
}
