//! Pulls the parts of a request that are not the strategy itself: costs, risk exits, position
//! size, shorting and entry filters (regime, ML probability, trend). Each extractor removes the
//! words it used, so the strategy parser downstream does not read a stop's "5" as a period.

use super::cond::parse_condition;
use super::text::{pattern, to_bars};
use crate::builder::spec::BuildSpec;
use regex::{Captures, Regex};
use std::sync::LazyLock;

/// The build context's model names, written into filter conditions.
#[derive(Debug, Clone)]
pub struct Models {
    /// The regime model `in_regime` reads.
    pub regime: Option<String>,
    /// The ML signal model `ml_proba` reads.
    pub ml: Option<String>,
}

/// Something the request asked for that needs a clarifying question.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing(pub String);

const NUM: &str = r"(\d+(?:\.\d+)?)";

fn num(c: &Captures, i: usize) -> f64 {
    c.get(i)
        .and_then(|m| m.as_str().parse().ok())
        .unwrap_or(f64::NAN)
}

/// Removes every match of `re` from `text`, calling `f` on each.
fn take(text: &mut String, re: &Regex, mut f: impl FnMut(&Captures)) -> bool {
    let mut found = false;
    let out = re
        .replace_all(text, |c: &Captures| {
            found = true;
            f(c);
            " ; ".to_string()
        })
        .into_owned();
    *text = out;
    found
}

fn pct_or_bps(v: f64, unit: Option<&str>) -> f64 {
    match unit {
        Some("%") => v / 100.0,
        Some("bps") => v / 10_000.0,
        _ => v,
    }
}

static COMMISSION: LazyLock<[Regex; 2]> = LazyLock::new(|| {
    [
        pattern(&format!(
            r"\b(?:commissions?|fees?|comm|costs?)\s*(?:of|=|:|at|is)?\s*{NUM}\s*(%|bps)?(?:\s*(?:per side|per trade|each way|round trip))?"
        )),
        pattern(&format!(
            r"{NUM}\s*(%|bps)\s*(?:in\s+)?(?:commissions?|fees?|comm)\b"
        )),
    ]
});
static SLIPPAGE: LazyLock<[Regex; 2]> = LazyLock::new(|| {
    [
        pattern(&format!(r"{NUM}\s*(%|bps)\s*(?:of\s+)?slippage\b")),
        pattern(&format!(
            r"\bslippage\s*(?:of|=|:|at|is)?\s*{NUM}\s*(%|bps)?"
        )),
    ]
});
static TRAILING: LazyLock<[Regex; 2]> = LazyLock::new(|| {
    [
        pattern(&format!(r"{NUM}\s*%\s*trailing(?:\s+stop(?:\s+loss)?)?")),
        pattern(&format!(
            r"\btrailing\s+stop(?:\s+loss)?\s*(?:of|at|=|:)?\s*{NUM}\s*%"
        )),
    ]
});
static ATR_STOP: LazyLock<[Regex; 2]> = LazyLock::new(|| {
    [
        pattern(&format!(
            r"{NUM}\s*(?:x\s*)?atrs?\s*(?:stop(?:\s+loss)?|sl)\b"
        )),
        pattern(&format!(
            r"\b(?:stop(?:\s+loss)?|sl)\s*(?:of|at|=|:)?\s*{NUM}\s*(?:x\s*)?atrs?\b"
        )),
    ]
});
static STOP: LazyLock<[Regex; 2]> = LazyLock::new(|| {
    [
        pattern(&format!(r"{NUM}\s*(%|bps)\s*(?:stop(?:\s+loss)?|sl)\b")),
        pattern(&format!(
            r"\b(?:stop(?:\s+loss)?|sl)\s*(?:of|at|=|:)?\s*{NUM}\s*(%|bps)"
        )),
    ]
});
static TARGET: LazyLock<[Regex; 2]> = LazyLock::new(|| {
    [
        pattern(&format!(
            r"\b(?:take profit|tp|profit target|target)\s*(?:of|at|=|:)?\s*{NUM}\s*%"
        )),
        pattern(&format!(
            r"{NUM}\s*%\s*(?:take profit|tp|profit target|target|profit taker|profit)\b"
        )),
    ]
});
static MAX_BARS: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"\b(?:hold(?:ing)?(?:\s+(?:period|time))?|max(?:imum)?\s+holding(?:\s+period)?|close (?:any|each|the|every) (?:trade|position)|exit|time stop|get out)\s*(?:of|for|is|:)?\s*(?:at most|max(?:imum)?|no more than|up to)?\s*(?:after\s+)?(\d+|a|an)\s+(day|bar|week|month|session|period)s?\b|\bnever hold (?:more|longer) than\s+(\d+|a|an)\s+(day|bar|week|month|session|period)s?\b",
    )
});
static SIZE: LazyLock<[Regex; 2]> = LazyLock::new(|| {
    [
        pattern(&format!(
            r"{NUM}\s*%\s*of\s+(?:equity|capital|the account|the portfolio|portfolio|cash)(?:\s+(?:in|per|on)\s+(?:each|every)\s+(?:trade|position))?"
        )),
        pattern(r"\b(half|quarter)[- ](?:position[- ]size|size|sized positions?|position)\b"),
    ]
});
static SHORT: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"\b(?:and )?short(?:ing)? (?:the )?[^,;]*\b(?:too|as well)\b|\blong\s*/\s*short\b|\blong[- ]short\b|\blong and short\b|\ballow(?:ing|s)?\s+short(?:s|ing)?\b|\bshort(?:s|ing)?\s+(?:allowed|enabled)\b|\bshort on the (?:bearish|opposite|sell)[^,;]*|\bgo short\b|\bshorting\b|\band short\b",
    )
});

/// Costs, risk exits, size and shorting, written into `spec`; their words removed from `text`.
pub fn extract_risk_and_costs(text: &mut String, spec: &mut BuildSpec) {
    for re in COMMISSION.iter().rev() {
        take(text, re, |c| {
            spec.commission = Some(pct_or_bps(num(c, 1), c.get(2).map(|m| m.as_str())))
        });
    }
    for re in SLIPPAGE.iter() {
        take(text, re, |c| {
            let v = num(c, 1);
            spec.slippage_bps = Some(match c.get(2).map(|m| m.as_str()) {
                Some("%") => v * 100.0,
                _ => v,
            });
        });
    }
    for re in TRAILING.iter() {
        take(text, re, |c| spec.trailing_stop = Some(num(c, 1) / 100.0));
    }
    for re in ATR_STOP.iter() {
        take(text, re, |c| spec.stop_loss_atr = Some(num(c, 1)));
    }
    // Label-first forms before number-first ones, so "tp 4% sl 2%" reads 4 % as the target.
    take(text, &TARGET[0], |c| {
        spec.take_profit = Some(num(c, 1) / 100.0)
    });
    take(text, &STOP[1], |c| {
        spec.stop_loss = Some(pct_or_bps(num(c, 1), c.get(2).map(|m| m.as_str())))
    });
    take(text, &TARGET[1], |c| {
        spec.take_profit = Some(num(c, 1) / 100.0)
    });
    take(text, &STOP[0], |c| {
        spec.stop_loss = Some(pct_or_bps(num(c, 1), c.get(2).map(|m| m.as_str())))
    });
    take(text, &MAX_BARS, |c| {
        let (n, unit) = match (c.get(1), c.get(2)) {
            (Some(n), Some(u)) => (n.as_str(), u.as_str()),
            _ => (
                c.get(3).map_or("", |m| m.as_str()),
                c.get(4).map_or("", |m| m.as_str()),
            ),
        };
        let n = if n == "a" || n == "an" {
            1.0
        } else {
            n.parse().unwrap_or(f64::NAN)
        };
        spec.max_bars = to_bars(n, unit);
    });
    take(text, &SIZE[0], |c| {
        spec.size_fraction = Some(num(c, 1) / 100.0)
    });
    take(text, &SIZE[1], |c| {
        spec.size_fraction = Some(if &c[1] == "half" { 0.5 } else { 0.25 });
    });
    if take(text, &SHORT, |_| {}) {
        spec.params
            .insert("allow_short".into(), serde_json::Value::Bool(true));
    }
}

static REGIME_STATE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"\b(bull|bear|sideways|high_vol)(?:ish)?\b(?:\s+(?:or|and|/)\s+(bull|bear|sideways|high_vol)\b)?",
    )
});
static REGIME_WORD: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"\bregimes?\b|\bmarkets?\b|\bstates?\b|\bconditions\b|\benvironments?\b|\bphases?\b")
});
static NEGATION: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"\b(?:not|avoid(?:ing)?|skip(?:ping)?|except|excluding|outside(?: of)?|no|never|without|stay out|sit out|stand aside)\b",
    )
});
static ML: LazyLock<Regex> = LazyLock::new(|| {
    pattern(&format!(
        r"\b(?:ml|model'?s?|classifier'?s?|signal model'?s?|spy_signal|predicted|prediction)\b[^,;]*?\b(?:prob(?:ability)?|proba|p)\b[^,;0-9]*?(>=|>|at least|above|exceeds|exceeding|exceed|over|greater than|more than|higher than|is above)\s*{NUM}\s*(%)?|\b(?:ml|model)\s+filter\s+(?:p|prob|proba)\s*(>=|>)\s*{NUM}"
    ))
});
static FILTER_LEAD: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"\b(?:but\s+)?only\s+(?:take\s+(?:longs?|entries|trades|the signals|signals)\s+)?(?:when|while|if|during)?\s*|\bfiltered (?:by|to|on)\s+|\bgated on\s+|\b(?:but )?(?:while|as long as)\s+",
    )
});

static REGIME_LEAD: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"\b(?:but|only|not|avoid(?:ing)?|skip(?:ping)?|except|excluding|outside|filtered|gated|when|while|during|in|don't|do not|until|as long as)\b",
    )
});

/// The clause without its regime filter: from the filter's lead word ("but", "only", "not",
/// within 60 bytes before the state) to the regime word after the state, keeping the strategy
/// words before it ("bollinger 20/2.5 reversion but not during high-vol regimes").
fn cut_regime_words(clause: &str, state_start: usize, state_end: usize) -> String {
    let end = REGIME_WORD
        .find_at(clause, state_end)
        .filter(|m| m.start() - state_end < 24)
        .map_or(state_end, |m| m.end());
    let mut window = state_start.saturating_sub(60);
    while !clause.is_char_boundary(window) {
        window += 1;
    }
    let start = REGIME_LEAD
        .find_iter(&clause[..state_start])
        .map(|m| m.start())
        .find(|s| *s >= window)
        .unwrap_or(state_start);
    format!("{} {}", &clause[..start], &clause[end..])
}

fn ml_op(word: &str) -> &'static str {
    match word {
        ">=" | "at least" => ">=",
        _ => ">",
    }
}

/// Regime and ML filters anywhere in the text, then trend filters in `only ...` clauses.
///
/// # Errors
///
/// [`Missing`] when a filter needs a model the context does not name.
pub fn extract_filters(
    text: &mut String,
    spec: &mut BuildSpec,
    models: &Models,
) -> Result<(), Missing> {
    // ML probability thresholds.
    let mut missing = None;
    take(text, &ML, |c| {
        let (op, v, pc) = match c.get(1) {
            Some(op) => (ml_op(op.as_str()), num(c, 2), c.get(3).is_some()),
            None => (
                ml_op(c.get(4).map_or(">", |m| m.as_str())),
                num(c, 5),
                false,
            ),
        };
        let v = if pc || v > 1.0 { v / 100.0 } else { v };
        match &models.ml {
            Some(m) => spec.filters.push(format!("ml_proba(\"{m}\") {op} {v}")),
            None => missing = Some(Missing("ml_model".into())),
        }
    });
    if let Some(m) = missing {
        return Err(m);
    }
    // Regime states: a clause (between commas) naming a state and a regime word.
    let clauses: Vec<String> = text.split([',', ';']).map(str::to_string).collect();
    let mut kept = Vec::with_capacity(clauses.len());
    for clause in clauses {
        let says_regime = REGIME_WORD.is_match(&clause) || clause.contains("regime");
        match REGIME_STATE.captures(&clause) {
            Some(c) if says_regime => {
                let Some(model) = &models.regime else {
                    return Err(Missing("regime_model".into()));
                };
                let states: Vec<&str> = [c.get(1), c.get(2)]
                    .into_iter()
                    .flatten()
                    .map(|m| m.as_str())
                    .collect();
                let negated = NEGATION.is_match(&clause[..c.get(0).map_or(0, |m| m.start())])
                    && !clause.contains("until");
                let any = states
                    .iter()
                    .map(|s| format!("in_regime(\"{model}\", \"{s}\")"))
                    .collect::<Vec<_>>()
                    .join(" or ");
                spec.filters.push(if negated {
                    if states.len() > 1 {
                        format!("not ({any})")
                    } else {
                        format!("not {any}")
                    }
                } else {
                    any
                });
                kept.push(cut_regime_words(
                    &clause,
                    c.get(0).map_or(0, |m| m.start()),
                    c.get(0).map_or(0, |m| m.end()),
                ));
            }
            _ => kept.push(clause),
        }
    }
    *text = kept.join(",");
    // Trend and indicator filters: `only when <condition>` clauses that parse as conditions.
    let clauses: Vec<String> = text.split([',', ';']).map(str::to_string).collect();
    let mut kept = Vec::with_capacity(clauses.len());
    for clause in clauses {
        let Some(lead) = FILTER_LEAD.find(&clause) else {
            kept.push(clause);
            continue;
        };
        let rest = clause[lead.end()..].trim();
        let rest = rest
            .strip_prefix("the close is ")
            .map_or(rest.to_string(), |r| format!("close {r}"));
        let rest =
            if rest.starts_with("above") || rest.starts_with("below") || rest.starts_with("on top")
            {
                format!("close is {rest}")
            } else {
                rest
            };
        let parts: Vec<&str> = rest.split(" and only ").collect();
        let parsed: Option<Vec<String>> = parts
            .iter()
            .map(|p| parse_condition(p, None).map(|(e, _)| e))
            .collect();
        match parsed {
            Some(conds) if !conds.is_empty() => {
                spec.filters.extend(conds);
                kept.push(clause[..lead.start()].to_string());
            }
            _ => kept.push(clause),
        }
    }
    *text = kept.join(",");
    // `with an ADX(14) > 20 filter`
    static WITH_FILTER: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"\bwith an? ([^,;]+?) filter\b"));
    let mut extra = Vec::new();
    let copy = text.clone();
    for c in WITH_FILTER.captures_iter(&copy) {
        if let Some((e, _)) = parse_condition(&c[1], None) {
            extra.push(e);
            *text = text.replacen(&c[0], " ; ", 1);
        }
    }
    spec.filters.extend(extra);
    Ok(())
}
