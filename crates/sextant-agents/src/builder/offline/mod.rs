//! The offline strategy parser: deterministic, no model, grounded by the catalog embeddings.
//!
//! In order: requests the library cannot serve are caught (a lexicon, then the nearest
//! catalog limitation); costs, risk exits, size, shorting and filters are extracted; explicit
//! "buy when ..., sell when ..." rules are parsed condition by condition (and recognised as a
//! library strategy when they are exactly one); otherwise a strategy keyword picks the library
//! strategy and its numbers fill the parameters; with no keyword, the nearest catalog strategy
//! is taken only when it is clearly nearest. Anything left unclear becomes a question.

mod cond;
mod extract;
mod family;
mod text;

pub use extract::Models;

use crate::builder::spec::{BuildSpec, CUSTOM};
use crate::catalog::{EntryKind, Hit};
use cond::{parse_condition, Ctx};
use extract::{extract_filters, extract_risk_and_costs, Missing};
use family::{families, params, ParamTrouble};
use regex::Regex;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::sync::LazyLock;
use text::{normalise, pattern};

/// Why the builder asks instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ClarifyReason {
    /// The request does not determine one strategy (or contradicts itself).
    Ambiguous,
    /// The request needs something the library cannot do.
    Unsupported,
}

/// What the offline parser made of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A spec, plus the catalog entries that decided it.
    Spec {
        /// The structured request.
        spec: Box<BuildSpec>,
        /// Catalog ids the decision rests on.
        used: Vec<String>,
    },
    /// A clarifying question.
    Clarify {
        /// Ambiguous or unsupported.
        reason: ClarifyReason,
        /// The question, naming what is unclear or unavailable.
        question: String,
        /// Catalog ids the decision rests on (the limitation, the competing strategies).
        used: Vec<String>,
    },
}

/// Embedding thresholds for choosing a strategy with no keyword: the nearest strategy entry
/// must score at least `MIN_SCORE` and lead the runner-up by `MIN_MARGIN`.
const MIN_SCORE: f32 = 0.55;
const MIN_MARGIN: f32 = 0.05;
/// A request this close to a catalog limitation, with no strategy keyword, is unsupported.
const LIMITATION_SCORE: f32 = 0.6;

static UNSUPPORTED: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        ("sentiment", r"\bsentiment\b|\btweets?\b|\btwitter\b|\breddit\b|\bnews\b|\bheadlines?\b|\bsocial media\b"),
        ("derivatives", r"\boptions?\b|\bcalls\b|\bcall options?\b|\bputs\b|\bput (?:options?|spreads?|contracts?)\b|\bbuy puts?\b|\bsell puts?\b|\biron condor\b|\bstraddle\b|\bstrangle\b|\bfutures\b|\bdte\b|\bfront month\b|\bexpiry\b|\bcontango\b|\bcovered call"),
        ("fundamentals", r"\bp/?e\b|\bearnings\b|\bdividends?\b|\byield\b|\binsiders?\b|\bform 4\b|\bfundamentals?\b|\bbook value\b|\brevenue\b|\beps\b|\b13f\b|\bbuybacks?\b"),
        ("portfolio", r"\bpairs?\b|\brebalanc|\bequal[- ]weight|\brisk parity\b|\bacross \d+ (?:stocks|names|assets|etfs)\b|\bbasket\b|\bsector rotation\b|\bcross[- ]sectional\b|\btop \d+ (?:stocks|names)\b|\bspread\b|\bhedge\b|\bvs\.? [a-z]{2,5}\b"),
        ("intraday", r"\d{1,2}:\d{2}|\d\s*(?:am|pm)\b|\bmarket[- ]on[- ]close\b|\bmoc\b|\blimit orders?\b|\bintraday\b|\bopening bell\b|\bvwap\b|\bminute bars?\b"),
        ("model_training", r"\blstm\b|\bneural\b|\bdeep learning\b|\btrain(?:ing)? an?\b|\bfit an?\b|\btransformer model\b|\breinforcement\b|\bgpt\b|\bllm\b|\bpredict(?:s|ion)? tomorrow"),
        ("external_data", r"\bvix\b|\bgdp\b|\bcpi\b|\binflation\b|\bfed funds\b|\binterest rates?\b|\bunemployment\b|\byield curve\b|\bweather\b|\bon[- ]chain\b"),
        ("scheduling", r"\bdollar[- ]cost\b|\bdca\b|\bevery (?:month|week|quarter)\b|\bmonthly contributions?\b|\bscale (?:in|into|out)\b|\bpyramid|\bin thirds\b|\bmartingale\b|\baverag(?:e|ing) down\b"),
    ]
    .into_iter()
    .map(|(k, p)| (k, pattern(p)))
    .collect()
});

static AMBIGUOUS: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"\bwhichever\b|\byou (?:pick|choose|decide)\b|\bnot sure\b|\bdunno\b|\bsmarter\b|\bsomething like\b|\bsharpe\b|\bbest (?:strategy|one|performing)\b|\band also when\b|\bnever sell before\b|\bmake money\b|\bbeat the market\b|\bsomething (?:good|profitable|that works)\b|\bany strategy\b",
    )
});
/// Style words that name a family of strategies but not one strategy.
static GENERIC: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"\btrend[- ]following\b|\bmean reversion\b|\bmomentum\b|\bmoving average\b|\bcrossover\b|\bdip\b|\breversal\b|\bswing\b|\bscalp|\bbreakout\b|\boversold\b|\boverbought\b",
    )
});
static NOISE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"\b(?:from |since |in |over )?(?:19|20)\d{2}(?:-\d{2}-\d{2})?(?:\s*(?:-|to|through)\s*(?:(?:19|20)\d{2}|now|today))?\b|\$\s?\d[\d,]*(?:\.\d+)?|\blong[- ]only\b|\bpls\b|\bplease\b",
    )
});
static EXIT_MARK: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?:[,;.]|\band\b|\bthen\b)\s*(?:then\s+)?(?:sell(?: it)?|exit|get out|go flat|flat|bail|dump it|close(?: it| the position| out)?|cover|out)\s+(?:when|if|on|once|as soon as|at|after|whenever)\b",
    )
});
static ENTRY_LEAD: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^.*\b(?:buy|go long|long|enter|get long|purchase|be long)\b\s*(?:the moment|when|if|on|once|after|whenever|as soon as)\s+|^.*\bbuy\s+(?:a |new )",
    )
});
static BOTH: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(\S+(?: is| are)?) (above|below) both the (\d+) and (\d+) (?:day )?(sma|ema|moving average)s?",
    )
});

fn unsupported(t: &str) -> Option<&'static str> {
    UNSUPPORTED
        .iter()
        .find(|(_, re)| re.is_match(t))
        .map(|(k, _)| *k)
}

fn limitation_text(key: &str) -> &'static str {
    crate::catalog::LIMITATIONS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map_or(
            "That is outside what the strategy library can do.",
            |(_, t, _)| *t,
        )
}

fn clarify(reason: ClarifyReason, question: impl Into<String>, used: Vec<String>) -> Parsed {
    Parsed::Clarify {
        reason,
        question: question.into(),
        used,
    }
}

const STRATEGY_LIST: &str = "buy_and_hold, sma_cross, ema_cross, rsi_reversion, bollinger_reversion, macd, donchian_breakout, ts_momentum, or explicit entry and exit conditions";

/// Splits a condition list on top-level `and` (or `or`), keeping parenthesised groups whole.
fn split_top(expr: &str, word: &str) -> Vec<String> {
    let sep = format!(" {word} ");
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ => {}
        }
        if depth == 0 && expr[i..].starts_with(&sep) {
            out.push(expr[start..i].trim().to_string());
            i += sep.len();
            start = i;
            continue;
        }
        i += 1;
    }
    out.push(expr[start..].trim().to_string());
    out.retain(|s| !s.is_empty());
    out
}

/// The text up to the first comma or semicolon outside parentheses.
fn first_clause(text: &str) -> &str {
    let mut depth = 0i32;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | ';' if depth == 0 => return &text[..i],
            _ => {}
        }
    }
    text
}

/// Parses a list of conditions joined by `joiner` ("and" for entries, "or" for exits).
fn conditions(text: &str, joiner: &str, ctx: &mut Ctx) -> Option<Vec<String>> {
    let text = BOTH.replace_all(text, "$1 $2 the $3 day $5 and $1 $2 the $4 day $5");
    let text = text.trim().trim_start_matches("either ");
    let mut out = Vec::new();
    for part in text
        .split(&format!(" {joiner} "))
        .flat_map(|p| p.split(" when "))
    {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (e, next) = parse_condition(part, Some(ctx))?;
        *ctx = next;
        out.extend(split_top(&e, "and"));
    }
    (!out.is_empty()).then_some(out)
}

static LIB_RSI: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^rsi\(close, (\d+)\) (<|>) (-?\d+(?:\.\d+)?)$"));
static LIB_CROSS: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(crossover|crossunder)\((sma|ema)\(close, (\d+)\), (sma|ema)\(close, (\d+)\)\)$|^(sma|ema)\(close, (\d+)\) (<) (sma|ema)\(close, (\d+)\)$",
    )
});
static LIB_HIGH: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^close > highest\(high, (\d+)\)\[1\]$"));
static LIB_LOW: LazyLock<Regex> = LazyLock::new(|| pattern(r"^close < lowest\(low, (\d+)\)\[1\]$"));

/// A library strategy whose rules are exactly `entry` and `exit`, with its parameters.
fn as_library(entry: &[String], exit: &[String]) -> Option<(&'static str, Map<String, Value>)> {
    let mut p = Map::new();
    // A moving-average cross given only as an entry is the library cross (whose exit is the
    // opposite cross): "buy when the 10-day average crosses above the 50-day".
    if let ([e], []) = (entry, exit) {
        let a = LIB_CROSS.captures(e)?;
        if a.get(1).map(|m| m.as_str()) != Some("crossover") || a[2] != a[4] {
            return None;
        }
        p.insert("fast".into(), json!(a[3].parse::<i64>().ok()?));
        p.insert("slow".into(), json!(a[5].parse::<i64>().ok()?));
        return Some((
            if &a[2] == "sma" {
                "sma_cross"
            } else {
                "ema_cross"
            },
            p,
        ));
    }
    let ([e], [x]) = (entry, exit) else {
        return None;
    };
    if let (Some(a), Some(b)) = (LIB_RSI.captures(e), LIB_RSI.captures(x)) {
        if a[1] == b[1] && &a[2] == "<" && &b[2] == ">" {
            p.insert("period".into(), json!(a[1].parse::<i64>().ok()?));
            p.insert("lower".into(), json!(a[3].parse::<f64>().ok()?));
            p.insert("upper".into(), json!(b[3].parse::<f64>().ok()?));
            return Some(("rsi_reversion", p));
        }
    }
    if let (Some(a), Some(b)) = (LIB_HIGH.captures(e), LIB_LOW.captures(x)) {
        p.insert("entry".into(), json!(a[1].parse::<i64>().ok()?));
        p.insert("exit".into(), json!(b[1].parse::<i64>().ok()?));
        return Some(("donchian_breakout", p));
    }
    if let (Some(a), Some(b)) = (LIB_CROSS.captures(e), LIB_CROSS.captures(x)) {
        if a.get(1).map(|m| m.as_str()) != Some("crossover") || a[2] != a[4] {
            return None;
        }
        let exit_ok = match b.get(1) {
            Some(m) => m.as_str() == "crossunder" && b[2] == a[2] && b[3] == a[3] && b[5] == a[5],
            None => b[6] == a[2] && b[7] == a[3] && b[10] == a[5],
        };
        if exit_ok {
            p.insert("fast".into(), json!(a[3].parse::<i64>().ok()?));
            p.insert("slow".into(), json!(a[5].parse::<i64>().ok()?));
            return Some((
                if &a[2] == "sma" {
                    "sma_cross"
                } else {
                    "ema_cross"
                },
                p,
            ));
        }
    }
    None
}

/// Explicit entry (and exit) rules, when the request is written that way and every
/// condition parses.
fn explicit_rules(t: &str) -> Option<(Vec<String>, Vec<String>)> {
    let (entry_text, exit_text) = match EXIT_MARK.find(t) {
        Some(m) => (&t[..m.start()], Some(&t[m.end()..])),
        None => (t, None),
    };
    let lead = ENTRY_LEAD.find(entry_text)?;
    let entry_text = entry_text[lead.end()..].trim();
    let entry_text = entry_text
        .trim_end_matches(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .trim_end_matches("get long")
        .trim_end_matches("go long")
        .trim_end_matches([',', ' ']);
    let mut ctx = Ctx::default();
    let entry = conditions(entry_text, "and", &mut ctx)?;
    let exit = match exit_text {
        Some(x) => conditions(first_clause(x), "or", &mut ctx)?,
        None => Vec::new(),
    };
    Some((entry, exit))
}

/// Parses `request`; `hits` are the catalog entries ranked against it.
pub fn parse(request: &str, models: &Models, hits: &[Hit]) -> Parsed {
    let mut t = normalise(request);
    t = NOISE.replace_all(&t, " ").into_owned();
    if let Some(key) = unsupported(&t) {
        return clarify(
            ClarifyReason::Unsupported,
            format!("{} Could you describe it with price, volume and indicator rules ({STRATEGY_LIST})?", limitation_text(key)),
            vec![format!("limitation.{key}")],
        );
    }
    let mut spec = BuildSpec::default();
    extract_risk_and_costs(&mut t, &mut spec);
    if let Err(Missing(what)) = extract_filters(&mut t, &mut spec, models) {
        let q = match what.as_str() {
            "regime_model" => "Which regime model should the regime filter read? None is configured for this request (pass regime_model).",
            _ => "Which ML signal model should the probability filter read? None is configured for this request (pass ml_model).",
        };
        return clarify(
            ClarifyReason::Ambiguous,
            q,
            vec![format!(
                "filter.{}",
                if what == "regime_model" {
                    "regime"
                } else {
                    "ml"
                }
            )],
        );
    }
    let fams = families(&t);
    if AMBIGUOUS.is_match(&t) || (fams.len() >= 2 && t.contains(" or ")) {
        return clarify(
            ClarifyReason::Ambiguous,
            format!(
                "The request leaves the strategy open. Which one do you mean: {STRATEGY_LIST}?"
            ),
            fams.iter().map(|f| format!("strategy.{f}")).collect(),
        );
    }
    let mut used = Vec::new();
    if let Some((entry, exit)) = explicit_rules(&t) {
        match as_library(&entry, &exit) {
            Some((name, p)) => {
                spec.strategy = name.to_string();
                for (k, v) in p {
                    spec.params.insert(k, v);
                }
                used.push(format!("strategy.{name}"));
            }
            None => {
                if spec.params.contains_key("allow_short") {
                    return clarify(
                        ClarifyReason::Unsupported,
                        "Custom rules built here are long-only; short rules need a definition written in the rule language.",
                        vec![],
                    );
                }
                spec.strategy = CUSTOM.to_string();
                spec.entry = entry;
                spec.exit = exit;
                used.push("indicator.custom_rules".into());
            }
        }
        return Parsed::Spec {
            spec: Box::new(spec),
            used,
        };
    }
    let family = match fams.first() {
        Some(f) => *f,
        None => {
            let best = |kind: EntryKind| hits.iter().filter(move |h| h.kind == kind);
            if let Some(l) = best(EntryKind::Limitation).next() {
                let top_strategy = best(EntryKind::Strategy).next().map_or(0.0, |h| h.score);
                if l.score >= LIMITATION_SCORE && l.score > top_strategy {
                    let key = l.id.trim_start_matches("limitation.");
                    return clarify(
                        ClarifyReason::Unsupported,
                        format!(
                            "{} Could you describe it with price, volume and indicator rules?",
                            limitation_text(key)
                        ),
                        vec![l.id.clone()],
                    );
                }
            }
            let mut strategies = best(EntryKind::Strategy);
            let (first, second) = (strategies.next(), strategies.next());
            match first {
                Some(h)
                    if !GENERIC.is_match(&t)
                        && h.score >= MIN_SCORE
                        && h.score - second.map_or(0.0, |s| s.score) >= MIN_MARGIN =>
                {
                    used.push(h.id.clone());
                    let name = h.id.trim_start_matches("strategy.");
                    crate::builder::spec::library_name(name).unwrap_or("buy_and_hold")
                }
                _ => {
                    return clarify(
                        ClarifyReason::Ambiguous,
                        format!("Which strategy should this use: {STRATEGY_LIST}?"),
                        [first, second]
                            .into_iter()
                            .flatten()
                            .map(|h| h.id.clone())
                            .collect(),
                    )
                }
            }
        }
    };
    if used.is_empty() {
        used.push(format!("strategy.{family}"));
    }
    match params(family, &t) {
        Ok(p) => {
            for (k, v) in p {
                spec.params.insert(k, v);
            }
        }
        Err(ParamTrouble::Contradiction(m)) | Err(ParamTrouble::Unclear(m)) => {
            return clarify(
                ClarifyReason::Ambiguous,
                format!("The parameters are unclear: {m}. What values do you want?"),
                used,
            )
        }
    }
    spec.strategy = family.to_string();
    Parsed::Spec {
        spec: Box::new(spec),
        used,
    }
}
