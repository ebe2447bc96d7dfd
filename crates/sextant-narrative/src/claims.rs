//! (c) Directional and comparative claims, checked sentence by sentence with keyword rules.
//!
//! Rules (deliberately simple, so every rejection can be explained):
//! 1. Text is split into sentences at `.`/`!`/`?` (not a decimal point) and line breaks, and
//!    sentences into clauses at `,` `;` `:` and "but/while/whereas/although".
//! 2. Entities: the benchmark ("buy and hold", "buy-and-hold", "buy & hold", "benchmark") and
//!    the strategy ("strategy", its library name with `_` as spaces). An entity right after an
//!    object marker ("than", "compared with/to", "relative to", "versus", "vs", "against") or
//!    right after a comparative verb ("outperformed buy and hold") is the *object*; the subject
//!    is the first entity that is not an object, else the opposite of the object.
//! 3. Comparative claims need the benchmark in the sentence. Each keyword claims the subject is
//!    better or worse: outperform/beat/exceed/ahead/better/best/stronger (better),
//!    underperform/lag/trail/behind/worse/worst/weaker (worse), higher/more/greater/larger/
//!    bigger (higher) and lower/less/smaller (lower), deeper (worse), shallower/milder (better).
//!    The metric is the metric word (Sharpe, drawdown, return) nearest the keyword in its
//!    clause, total return if none; on drawdowns "higher/larger" means deeper, i.e. worse.
//!    A verb followed by "by" is passive ("was beaten by the strategy"): subject and object swap.
//! 4. Sign claims (gained/profitable/positive return vs lost/unprofitable/negative return) apply
//!    to a sentence naming exactly one entity and not about trades, drawdowns, days or months.
//! 5. Negation: "not", "n't", "never", "no", "failed" among the three words before a keyword
//!    flips it ("did not outperform" = underperformed or matched; a claim of "not better" is
//!    contradicted only when the subject was strictly better).

use crate::comparison::Side;
use crate::facts::FactSheet;
use crate::text::{sentences, words};
use crate::validate::{Span, Violation, ViolationKind};

const BENCHMARK: [&str; 4] = ["buy and hold", "buy-and-hold", "buy & hold", "benchmark"];
const OBJECT_MARKERS: [&str; 9] = [
    "than",
    "compared with",
    "compared to",
    "relative to",
    "versus",
    "vs",
    "vs.",
    "against",
    "over",
];
const VERBS: [&str; 10] = [
    "outperform",
    "underperform",
    "beat",
    "beats",
    "lagged",
    "lag",
    "trailed",
    "trail",
    "exceeded",
    "exceed",
];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Entity {
    Strategy,
    Benchmark,
}

/// A keyword's claim about the subject on a metric: +1 better/higher, −1 worse/lower.
fn keyword(word: &str) -> Option<(i8, bool)> {
    // (direction, is_raw_height) — raw heights flip on drawdowns.
    let w = word;
    if w.starts_with("outperform") || w.starts_with("exceed") {
        return Some((1, false));
    }
    if w.starts_with("underperform") {
        return Some((-1, false));
    }
    Some(match w {
        "beat" | "beats" | "beaten" | "beating" | "ahead" | "better" | "best" | "stronger"
        | "shallower" | "milder" => (1, false),
        "lag" | "lags" | "lagged" | "lagging" | "trail" | "trails" | "trailed" | "behind"
        | "worse" | "worst" | "weaker" | "deeper" => (-1, false),
        "higher" | "more" | "greater" | "larger" | "bigger" => (1, true),
        "lower" | "less" | "smaller" => (-1, true),
        _ => return None,
    })
}

fn metric_of(word: &str) -> Option<&'static str> {
    if word.starts_with("sharpe") {
        Some("sharpe")
    } else if word.starts_with("drawdown") {
        Some("max_drawdown")
    } else if word.starts_with("return")
        || word == "performance"
        || word == "gain"
        || word == "gains"
    {
        Some("total_return")
    } else {
        None
    }
}

/// Entity mentions in a lower-cased sentence: (offset, entity, is_object).
fn entities(lower: &str, sheet: &FactSheet) -> Vec<(usize, Entity, bool)> {
    let name = sheet.strategy.replace('_', " ").to_lowercase();
    let mut found = Vec::new();
    let mut push_all = |pat: &str, e: Entity| {
        for (i, _) in lower.match_indices(pat) {
            let boundary = lower[..i]
                .chars()
                .last()
                .is_none_or(|c| !c.is_alphanumeric());
            if boundary && !found.iter().any(|&(j, _, _)| j == i) {
                found.push((i, e, is_object(&lower[..i])));
            }
        }
    };
    for p in BENCHMARK {
        push_all(p, Entity::Benchmark);
    }
    if name != "buy and hold" {
        push_all(&name, Entity::Strategy);
    }
    push_all("strategy", Entity::Strategy);
    found.sort_by_key(|&(i, _, _)| i);
    found
}

fn is_object(before: &str) -> bool {
    let mut t = before.trim_end();
    for filler in ["the", "that of", "those of", "a passive", "passive"] {
        if let Some(rest) = t.strip_suffix(filler) {
            t = rest.trim_end();
        }
    }
    let last = t.rsplit(|c: char| c.is_whitespace()).next().unwrap_or("");
    OBJECT_MARKERS
        .iter()
        .any(|m| t.ends_with(&format!(" {m}")) || t == *m)
        || VERBS.iter().any(|v| last.starts_with(v))
}

fn negated(words: &[(usize, String)], k: usize) -> bool {
    words[k.saturating_sub(3)..k].iter().any(|(_, w)| {
        matches!(w.as_str(), "not" | "never" | "no" | "failed")
            || w.ends_with("n't")
            || w.ends_with("n\u{2019}t")
    })
}

/// Checks every sentence's comparative and sign claims against the sheet.
pub fn check_claims(text: &str, sheet: &FactSheet) -> Vec<Violation> {
    let mut out = Vec::new();
    for (offset, sentence) in sentences(text) {
        let lower = sentence.to_lowercase();
        let ents = entities(&lower, sheet);
        let span = Some(Span {
            start: offset,
            end: offset + sentence.len(),
        });
        let mut flag = |detail: String| {
            out.push(Violation {
                kind: ViolationKind::ContradictedClaim,
                detail,
                span,
            });
        };
        let subject = ents.iter().find(|e| !e.2).map(|e| e.1).or_else(|| {
            ents.first().map(|e| match e.1 {
                Entity::Benchmark => Entity::Strategy,
                Entity::Strategy => Entity::Benchmark,
            })
        });
        let ws = words(&lower);
        let has_benchmark = ents.iter().any(|e| e.1 == Entity::Benchmark);
        if let (true, Some(subject)) = (has_benchmark, subject) {
            for (k, (pos, w)) in ws.iter().enumerate() {
                let Some((dir, raw)) = keyword(w) else {
                    continue;
                };
                let metric = nearest_metric(&lower, &ws, *pos).unwrap_or("total_return");
                let Some(cmp) = sheet.comparison(metric) else {
                    continue;
                };
                let mut better = dir > 0;
                if raw && metric == "max_drawdown" {
                    better = !better;
                }
                let mut subj = subject;
                if ws.get(k + 1).is_some_and(|(_, n)| n == "by") {
                    subj = if subj == Entity::Strategy {
                        Entity::Benchmark
                    } else {
                        Entity::Strategy
                    };
                }
                let strategy_better = better == (subj == Entity::Strategy);
                let neg = negated(&ws, k);
                let contradicted = match (cmp.higher, neg) {
                    (Side::Unknown, _) => false,
                    (Side::Equal, false) => true,
                    (Side::Equal, true) => false,
                    (Side::Strategy, n) => strategy_better == n,
                    (Side::Benchmark, n) => strategy_better != n,
                };
                if contradicted {
                    let actual = match cmp.higher {
                        Side::Strategy => "the strategy was ahead",
                        Side::Benchmark => "buy and hold was ahead",
                        _ => "they were equal",
                    };
                    flag(format!(
                        "\"{w}\" on {metric} contradicts the facts: {actual}"
                    ));
                }
            }
        }
        if ents.is_empty() || ents.iter().any(|e| e.1 != ents[0].1) {
            continue;
        }
        if ws.iter().any(|(_, w)| {
            matches!(
                w.as_str(),
                "trade" | "trades" | "drawdown" | "drawdowns" | "day" | "days" | "month" | "months"
            )
        }) {
            continue;
        }
        let id = if ents[0].1 == Entity::Strategy {
            "kpi.total_return"
        } else {
            "benchmark.total_return"
        };
        let Some(ret) = sheet.fact(id).map(|f| f.value) else {
            continue;
        };
        for (k, (_, w)) in ws.iter().enumerate() {
            let next = ws.get(k + 1).map(|(_, n)| n.as_str());
            let claim = match (w.as_str(), next) {
                ("gained" | "profitable", _) | ("positive", Some("return" | "returns")) => 1,
                ("lost" | "unprofitable", _) | ("negative", Some("return" | "returns")) => -1,
                _ => continue,
            };
            let claim = if negated(&ws, k) { -claim } else { claim };
            let holds = if claim > 0 { ret > 0.0 } else { ret < 0.0 };
            // A negated claim ("was not profitable") only says ≤ 0, so zero does not contradict it.
            if !(holds || negated(&ws, k) && ret == 0.0) {
                flag(format!("\"{w}\" contradicts a total return of {ret}"));
            }
        }
    }
    out
}

/// The metric word in the keyword's clause nearest to the keyword.
fn nearest_metric(lower: &str, ws: &[(usize, String)], pos: usize) -> Option<&'static str> {
    let stops = [",", ";", ":", " but ", " while ", " whereas ", " although "];
    let from = stops
        .iter()
        .filter_map(|s| lower[..pos].rfind(s))
        .max()
        .unwrap_or(0);
    let to = stops
        .iter()
        .filter_map(|s| lower[pos..].find(s).map(|i| i + pos))
        .min()
        .unwrap_or(lower.len());
    ws.iter()
        .filter(|(p, _)| (from..to).contains(p))
        .filter_map(|(p, w)| metric_of(w).map(|m| (p.abs_diff(pos), m)))
        .min_by_key(|&(d, _)| d)
        .map(|(_, m)| m)
}
