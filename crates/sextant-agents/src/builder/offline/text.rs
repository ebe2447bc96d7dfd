//! Request text in one normal form, so the patterns downstream see one spelling per idea:
//! lower case, ASCII punctuation, number words as digits, units as `N day` / `N bps`, common
//! abbreviations expanded and near-miss spellings of key terms corrected.

use regex::Regex;
use std::sync::LazyLock;

/// Terms worth correcting a typo to (one edit away, words of five letters or more).
const VOCABULARY: &[&str] = &[
    "donchian",
    "bollinger",
    "momentum",
    "crossover",
    "reversion",
    "exponential",
    "average",
    "breakout",
    "commission",
    "slippage",
    "trailing",
    "regime",
    "regimes",
    "volatility",
    "sideways",
    "probability",
    "channel",
    "signal",
    "simple",
];

/// Real words one edit away from a vocabulary term, left alone.
const PROTECTED: &[&str] = &[
    "training", "sample", "single", "signals", "averages", "channels", "singal",
];

const NUMBER_WORDS: &[(&str, &str)] = &[
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
    ("twelve", "12"),
    ("twenty", "20"),
    ("fifty", "50"),
];

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("builder pattern {p}: {e}"))
}

static REWRITES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"[‘’`]", "'"),
        (r"[“”]", "\""),
        (r"[–—−]", "-"),
        (r"\bb\s*&\s*h\b", "buy and hold"),
        (r"\bbuy[- ]and[- ]hold\b", "buy and hold"),
        (r"\bts\s?mom\b", "time series momentum"),
        (r"\btime[- ]series\b", "time series"),
        (r"\bper\s?cent\b", "%"),
        (r"\bbasis points?\b", "bps"),
        (r"\b(\d+(?:\.\d+)?)\s*bps?\b", "$1 bps"),
        (r"\bbps?\b", "bps"),
        (r"\bavg\b", "average"),
        (r"\bmas\b", "moving averages"),
        (r"\bma\b", "moving average"),
        (r"\b(\d+)\s*dmas?\b", "$1 day moving average"),
        (r"\bdma\b", "day moving average"),
        (
            r"\bstd devs?\b|\bsds?\b|\bsigmas?\b|\bstdevs?\b|\bstandard deviations?\b",
            "sd",
        ),
        (r"\bhigh[- ]vol(?:atility)?\b", "high_vol"),
        (r"\bstop[- ]loss\b", "stop loss"),
        (r"\btake[- ]profit\b", "take profit"),
        (r"\bmean[- ]rev(?:ersion|erting|ert)?\b", "mean reversion"),
        (r"\b(\d+)\s*-?\s*(?:d|days?)\b", "$1 day"),
        (r"\b(\d+)\s*-?\s*(?:w|wk|wks|weeks?)\b", "$1 week"),
        (r"\b(\d+)\s*-?\s*(?:m|mo|mos|months?)\b", "$1 month"),
        (r"\b(\d+)\s*-?\s*(?:y|yr|yrs|years?)\b", "$1 year"),
        (r"\b(\d+)\s*-?\s*(bars?|periods?|sessions?)\b", "$1 $2"),
        (r"\s+", " "),
    ]
    .into_iter()
    .map(|(p, r)| (re(p), r))
    .collect()
});

fn edit_distance_le1(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let (mut i, mut j, mut edits) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            i += 1;
            j += 1;
            continue;
        }
        edits += 1;
        if edits > 1 {
            return false;
        }
        match a.len().cmp(&b.len()) {
            std::cmp::Ordering::Greater => i += 1,
            std::cmp::Ordering::Less => j += 1,
            std::cmp::Ordering::Equal => {
                // A swap of two neighbours counts as one edit.
                if i + 1 < a.len() && j + 1 < b.len() && a[i] == b[j + 1] && a[i + 1] == b[j] {
                    i += 2;
                    j += 2;
                    continue;
                }
                i += 1;
                j += 1;
            }
        }
    }
    edits + (a.len() - i) + (b.len() - j) <= 1
}

fn fix_word(w: &str) -> String {
    if let Some((_, d)) = NUMBER_WORDS.iter().find(|(n, _)| *n == w) {
        return (*d).to_string();
    }
    if w.len() >= 5 && !VOCABULARY.contains(&w) && !PROTECTED.contains(&w) {
        if let Some(v) = VOCABULARY.iter().find(|v| edit_distance_le1(w, v)) {
            return (*v).to_string();
        }
    }
    w.to_string()
}

/// The normal form of a request.
pub fn normalise(request: &str) -> String {
    let lower = request.to_lowercase();
    // Word-level fixes first (typos, number words), keeping punctuation in place.
    let mut words = String::with_capacity(lower.len());
    let mut cur = String::new();
    for ch in lower.chars() {
        if ch.is_alphabetic() {
            cur.push(ch);
        } else {
            if !cur.is_empty() {
                words.push_str(&fix_word(&cur));
                cur.clear();
            }
            words.push(ch);
        }
    }
    if !cur.is_empty() {
        words.push_str(&fix_word(&cur));
    }
    let mut s = words;
    for (pattern, replacement) in REWRITES.iter() {
        s = pattern.replace_all(&s, *replacement).into_owned();
    }
    s.trim().to_string()
}

/// Bars in one `unit` (`day`, `week`, `month`, `year`, `bar`, ...): 5 a week, 21 a month, 252
/// a year, the conventions of a daily equity calendar.
pub fn bars_per(unit: &str) -> Option<f64> {
    let u = unit.trim_end_matches('s');
    Some(match u {
        "day" | "bar" | "period" | "session" | "" => 1.0,
        "week" => 5.0,
        "month" => 21.0,
        "quarter" => 63.0,
        "year" => 252.0,
        _ => return None,
    })
}

/// `n` units as a whole number of bars; 52 weeks is a year (252), not 260.
pub fn to_bars(n: f64, unit: &str) -> Option<u32> {
    let u = unit.trim_end_matches('s');
    if u == "week" && n == 52.0 {
        return Some(252);
    }
    let b = n * bars_per(unit)?;
    (1.0..=100_000.0).contains(&b).then(|| b.round() as u32)
}

/// Compiles a pattern used by the parser (all are literals checked by the unit tests).
pub fn pattern(p: &str) -> Regex {
    re(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_abbreviations_and_typos_are_normalised() {
        assert_eq!(normalise("12m TSMOM"), "12 month time series momentum");
        assert_eq!(normalise("donchain 20-day"), "donchian 20 day");
        assert_eq!(normalise("1bp slippage"), "1 bps slippage");
        assert_eq!(
            normalise("200 DMA, 2.5 std devs"),
            "200 day moving average, 2.5 sd"
        );
        assert_eq!(normalise("two standard deviations"), "2 sd");
        assert_eq!(normalise("B&H"), "buy and hold");
        assert_eq!(normalise("Bolinger high-volatility"), "bollinger high_vol");
    }

    #[test]
    fn bars_follow_the_daily_calendar() {
        assert_eq!(to_bars(2.0, "week"), Some(10));
        assert_eq!(to_bars(52.0, "week"), Some(252));
        assert_eq!(to_bars(12.0, "month"), Some(252));
        assert_eq!(to_bars(1.0, "year"), Some(252));
        assert_eq!(to_bars(0.0, "day"), None);
    }
}
