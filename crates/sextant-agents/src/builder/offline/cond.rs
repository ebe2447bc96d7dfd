//! One condition in words ("the close is above the 200-day moving average", "RSI(2) drops
//! below 10", "a new 20-day high") to a rule-language expression. A condition that does not
//! parse completely gives `None`: the builder then asks instead of guessing.

use super::text::{pattern, to_bars};
use regex::Regex;
use sextant_backtest::rules::{canonical_text, check, RuleDoc};
use std::sync::LazyLock;

/// What the previous condition talked about, for "it" and a bare "the 50".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ctx {
    /// The previous left-hand side, as an expression.
    pub subject: Option<String>,
    /// The previous right-hand side (for "slips back under" with no operand).
    pub object: Option<String>,
    /// The moving-average function last named (`sma`, `ema`).
    pub ma: Option<&'static str>,
    /// The series "its" refers to (`close`, `volume`).
    pub series: Option<&'static str>,
}

/// A comparison word and the operator it means. `Cross` words give `crossover`/`crossunder`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Op(&'static str),
    CrossUp,
    CrossDown,
}

const COMPARATORS: &[(&str, Cmp)] = &[
    (
        r"crosses (?:back )?(?:above|over)|crosses up(?: through)?|pokes (?:up )?(?:above|through)|pushes (?:up )?(?:through|above)|breaks above|cuts above",
        Cmp::CrossUp,
    ),
    (
        r"crosses (?:back )?(?:below|under)|crosses down(?: through)?|breaks below|cuts below",
        Cmp::CrossDown,
    ),
    (
        r">=|is at least|at least|is not below|not below",
        Cmp::Op(">="),
    ),
    (
        r"<=|is at most|at most|is not above|not above",
        Cmp::Op("<="),
    ),
    (
        r">|(?:is |are |closes |trades |gets |goes |rises |moves |is back |gets back |comes back |'s back |back |sitting |is sitting )?(?:above|over|greater than|more than|higher than|on top of|exceeds?|exceeding)",
        Cmp::Op(">"),
    ),
    (
        r"<|(?:is |are |closes |trades |drops |dips |falls |goes |slips |moves |sinks |is back |'s back |back |slips back |goes back |falls back |drops back )?(?:below|under|less than|lower than|beneath)",
        Cmp::Op("<"),
    ),
];

static CMP_RES: LazyLock<Vec<(Regex, Cmp)>> = LazyLock::new(|| {
    COMPARATORS
        .iter()
        .map(|(p, c)| (pattern(&format!(r"(?:^|\s)(?:{p})(?:\s|$)")), *c))
        .collect()
});

const NUM: &str = r"-?\d+(?:\.\d+)?";

static SERIES: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?:the |today's |its |the current |current )?(close|closing price|price|open|opening price|high|low|volume|spot|stock|it|it's)$",
    )
});
static YESTERDAY: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?:the )?(?:yesterday's|prior day's|previous day's|the previous|the prior) (close|high|low|open)$",
    )
});
static MA: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?:the |its |a |an |both the )?(\d+) ?(day|bar|period|week|month|session)?s? ?(simple |exponential |weighted )?(sma|ema|wma|moving average|average|mean|line|ma)s?(?: of (close|price|volume))?$",
    )
});
static MA_BARE: LazyLock<Regex> = LazyLock::new(|| pattern(r"^(?:the )?(\d+)$"));
/// "the 200-day" after above/below: a moving average of that many days (SMA unless one was named).
static MA_DAYS: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^(?:the |its )?(\d+) ?(day|week|month)s?(?: line)?$"));
static FN_CALL: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"^(?:the |its )?(sma|ema|wma|rsi|roc|adx|atr|zscore|mom)\s*\(\s*(\d+)\s*\)$")
});
static FN_PRE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?:the |its |a )?(\d+) ?(day|bar|period|session)?s? ?(rsi|adx|atr|z-?score|roc)(?: of (close|price|volume))?$",
    )
});
static FN_POST: LazyLock<Regex> = LazyLock::new(|| pattern(r"^(?:the )?(rsi|adx|atr)\s*(\d+)$"));
static NUMBER: LazyLock<Regex> = LazyLock::new(|| pattern(&format!(r"^({NUM})$")));
static TIMES: LazyLock<Regex> =
    LazyLock::new(|| pattern(&format!(r"^({NUM})\s*(?:x|times)\s+(.+)$")));

/// The expression an operand phrase names, given the condition's context.
fn operand(text: &str, ctx: &Ctx, lhs_series: Option<&'static str>) -> Option<(String, Ctx)> {
    let t = text.trim().trim_end_matches('.').trim();
    let mut next = ctx.clone();
    if let Some(c) = NUMBER.captures(t) {
        return Some((c[1].to_string(), next));
    }
    if let Some(c) = TIMES.captures(t) {
        let (inner, n) = operand(&c[2], ctx, lhs_series)?;
        return Some((format!("{} * {inner}", &c[1]), n));
    }
    if let Some(c) = SERIES.captures(t) {
        let s: &'static str = match &c[1] {
            "open" | "opening price" => "open",
            "high" => "high",
            "low" => "low",
            "volume" => "volume",
            "it" | "it's" => return ctx.subject.clone().map(|s| (s, next)),
            _ => "close",
        };
        next.series = Some(s);
        return Some((s.to_string(), next));
    }
    if let Some(c) = YESTERDAY.captures(t) {
        return Some((format!("{}[1]", &c[1]), next));
    }
    if let Some(c) = MA.captures(t) {
        let n = to_bars(c[1].parse().ok()?, c.get(2).map_or("day", |m| m.as_str()))?;
        let kind = match (c.get(3).map(|m| m.as_str().trim()), &c[4]) {
            (Some("exponential"), _) | (_, "ema") => "ema",
            (Some("weighted"), _) | (_, "wma") => "wma",
            _ => "sma",
        };
        let series = match c.get(5).map(|m| m.as_str()) {
            Some("volume") => "volume",
            Some(_) => "close",
            None if t.starts_with("its ") => lhs_series.unwrap_or("close"),
            None => "close",
        };
        let f = if series == "volume" && kind == "sma" {
            "mean"
        } else {
            kind
        };
        next.ma = Some(kind);
        return Some((format!("{f}({series}, {n})"), next));
    }
    if let (Some(c), Some(kind)) = (MA_BARE.captures(t), ctx.ma) {
        return Some((format!("{kind}(close, {})", &c[1]), next));
    }
    if let Some(c) = MA_DAYS.captures(t) {
        let n = to_bars(c[1].parse().ok()?, &c[2])?;
        let kind = ctx.ma.unwrap_or("sma");
        next.ma = Some(kind);
        return Some((format!("{kind}(close, {n})"), next));
    }
    if let Some(c) = FN_CALL.captures(t) {
        return Some((call(&c[1], &c[2], "close"), next));
    }
    if let Some(c) = FN_PRE.captures(t) {
        let series = match c.get(4).map(|m| m.as_str()) {
            Some("volume") => "volume",
            _ => "close",
        };
        return Some((call(&c[3], &c[1], series), next));
    }
    if let Some(c) = FN_POST.captures(t) {
        return Some((call(&c[1], &c[2], "close"), next));
    }
    // Written in the rule language already: `ema(close, 12)`.
    if t.contains('(') && !t.contains(['<', '>']) && canonical_text(t).is_ok() {
        return Some((t.to_string(), next));
    }
    None
}

fn call(f: &str, n: &str, series: &str) -> String {
    match f {
        "adx" | "atr" => format!("{f}({n})"),
        "zscore" | "z-score" => format!("zscore({series}, {n})"),
        _ => format!("{f}({series}, {n})"),
    }
}

static NEW_HIGH: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?:on |buy |buying )?(?:a |new |a new |the )*(?:close (?:above|over) (?:the )?(?:highest high of the (?:previous|last|prior) )?)?(\d+) ?(day|week|month|bar)s? (?:highs?|high close)$|^(?:a )?(?:close|closes) (?:above|over) the (?:highest high of the |high of the )?(?:previous |last |prior )?(\d+) ?(day|week|month|bar)s?(?: high)?$",
    )
});
static NEW_LOW: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?:on |selling )?(?:a |new |a new |the )*(?:close (?:below|under) (?:the )?(?:lowest low of the (?:previous|last|prior) )?)?(\d+) ?(day|week|month|bar)s? (?:lows?|low close)$|^(?:a )?(?:close|closes|price closes|it closes) (?:below|under) the (?:lowest low of the |low of the )?(?:previous |last |prior )?(\d+) ?(day|week|month|bar)s?(?: low)?$",
    )
});
static UP_CLOSE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?:the |an |the first )?(?:up close|close is up(?: vs| versus| from| on)? (?:yesterday|the prior day|the previous close)|close is higher than yesterday's close)$",
    )
});
static CROSS_BACK: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"^(?:on )?the (?:crossunder|cross under|bearish cross|opposite cross|cross back)$")
});
static DOWN_RUN: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^(\d+) (?:down|lower) closes(?: in a row)?$"));

fn first_num(c: &regex::Captures, a: usize, b: usize) -> Option<(f64, String)> {
    let (n, u) = match (c.get(a), c.get(b)) {
        (Some(n), Some(u)) => (n, u),
        _ => (c.get(a + 2)?, c.get(b + 2)?),
    };
    Some((n.as_str().parse().ok()?, u.as_str().to_string()))
}

/// Checks that `expr` is a well-typed boolean rule expression.
fn checks(expr: &str) -> bool {
    let doc: Result<RuleDoc, _> =
        serde_json::from_value(serde_json::json!({"name": "c", "long": {"entry": expr}}));
    doc.ok().is_some_and(|d| check(&d).is_ok())
}

/// Parses one condition; `prev` is the previous condition's context ("it", a bare "the 50").
/// Returns the expression and the context for the next condition.
pub fn parse_condition(text: &str, prev: Option<&Ctx>) -> Option<(String, Ctx)> {
    let ctx = prev.cloned().unwrap_or_default();
    let t = text
        .trim()
        .trim_matches(|c: char| c == '.' || c == ',' || c == ';' || c.is_whitespace())
        .trim_start_matches("when ")
        .trim_start_matches("if ")
        .trim_start_matches("once ")
        .trim_start_matches("whenever ")
        .trim();
    let t = t
        .trim_end_matches(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .trim_end_matches(" and")
        .trim_end_matches(" or")
        .trim_end_matches(" then")
        .trim();
    if t.is_empty() {
        return None;
    }
    // Written in the rule language already (`rsi(2)` gets its series).
    static SHORT_CALL: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"\b(sma|ema|wma|rsi|roc|zscore)\((\d+)\)"));
    let literal = SHORT_CALL.replace_all(t, "$1(close, $2)").into_owned();
    if literal.contains(['(', '<', '>']) && checks(&literal) {
        let mut next = ctx;
        if let Some(i) = literal.find(['<', '>']) {
            let rhs = literal[i + 1..].trim_start_matches('=').trim();
            next.subject = Some(literal[..i].trim().to_string());
            next.object = Some(rhs.to_string());
        }
        return Some((literal, next));
    }
    if let Some(c) = NEW_HIGH.captures(t) {
        let (n, u) = first_num(&c, 1, 2)?;
        return Some((
            format!("close > highest(high, {})[1]", to_bars(n, &u)?),
            ctx,
        ));
    }
    if let Some(c) = NEW_LOW.captures(t) {
        let (n, u) = first_num(&c, 1, 2)?;
        return Some((format!("close < lowest(low, {})[1]", to_bars(n, &u)?), ctx));
    }
    if CROSS_BACK.is_match(t) {
        let (a, b) = (ctx.subject.clone()?, ctx.object.clone()?);
        return Some((format!("crossunder({a}, {b})"), ctx));
    }
    if UP_CLOSE.is_match(t) {
        return Some(("close > close[1]".into(), ctx));
    }
    if let Some(c) = DOWN_RUN.captures(t) {
        let n: usize = c[1].parse().ok()?;
        if !(1..=10).contains(&n) {
            return None;
        }
        let parts: Vec<String> = (0..n)
            .map(|k| {
                let a = if k == 0 {
                    "close".to_string()
                } else {
                    format!("close[{k}]")
                };
                format!("{a} < close[{}]", k + 1)
            })
            .collect();
        return Some((parts.join(" and "), ctx));
    }
    // `<lhs> <comparator> <rhs>`, with symbols spaced so word boundaries find them.
    static SYMBOL: LazyLock<Regex> = LazyLock::new(|| pattern(r"\s*(>=|<=|>|<)\s*"));
    let spaced = SYMBOL.replace_all(t, " $1 ");
    let t = spaced.trim();
    for (re, cmp) in CMP_RES.iter() {
        let Some(m) = re.find(t) else { continue };
        let (l, r) = (t[..m.start()].trim(), t[m.end()..].trim());
        let (lhs, c1) = if l.is_empty() || l == "it" || l == "it's" || l == "it is" {
            (ctx.subject.clone()?, ctx.clone())
        } else {
            operand(l, &ctx, None)?
        };
        let lhs_series = c1.series.or(if lhs.starts_with("volume") {
            Some("volume")
        } else {
            None
        });
        let (rhs, mut c2) = if r.is_empty() {
            (ctx.object.clone()?, c1.clone())
        } else {
            operand(r, &c1, lhs_series)?
        };
        c2.subject = Some(lhs.clone());
        c2.object = Some(rhs.clone());
        let expr = match cmp {
            Cmp::Op(op) => format!("{lhs} {op} {rhs}"),
            Cmp::CrossUp => format!("crossover({lhs}, {rhs})"),
            Cmp::CrossDown => format!("crossunder({lhs}, {rhs})"),
        };
        return checks(&expr).then_some((expr, c2));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::offline::text::normalise;

    fn p(s: &str) -> Option<String> {
        parse_condition(&normalise(s), None).map(|(e, _)| e)
    }

    #[test]
    fn common_phrasings_become_rules() {
        assert_eq!(
            p("close is above the 200-day moving average").as_deref(),
            Some("close > sma(close, 200)")
        );
        assert_eq!(
            p("RSI(2) drops below 10").as_deref(),
            Some("rsi(close, 2) < 10")
        );
        assert_eq!(
            p("price is above the 100-day EMA").as_deref(),
            Some("close > ema(close, 100)")
        );
        assert_eq!(
            p("volume is above its 20-day average").as_deref(),
            Some("volume > mean(volume, 20)")
        );
        assert_eq!(
            p("today's close is above yesterday's high").as_deref(),
            Some("close > high[1]")
        );
        assert_eq!(
            p("a new 20-day high").as_deref(),
            Some("close > highest(high, 20)[1]")
        );
        assert_eq!(p("ADX(14) > 25").as_deref(), Some("adx(14) > 25"));
        assert_eq!(
            p("the 20-day z-score of close is below -2").as_deref(),
            Some("zscore(close, 20) < -2")
        );
    }

    #[test]
    fn vague_conditions_do_not_parse() {
        assert_eq!(p("the price is above the moving average"), None);
        assert_eq!(p("RSI is really low"), None);
        assert_eq!(p("momentum is strong"), None);
    }
}
