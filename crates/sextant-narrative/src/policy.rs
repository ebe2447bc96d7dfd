//! (d) Policy filter: abusive language, personalised investment advice, personal data and secrets.
//!
//! A narrative describes a historical simulation; telling a reader what to trade, or promising
//! results, is out of scope whatever the numbers say. Phrases are matched case-insensitively on
//! whole words (curly apostrophes normalised), so "recommendation" is not "we recommend".
//!
//! Personal data is matched by pattern ([`check_pii`]), tuned so that what narratives are made
//! of (dates, percentages, prices, counts, run ids) never matches: a card number must pass the
//! Luhn check, a phone number needs the 3-3-4 grouping with separators. Names and postal
//! addresses are not detected; the toxicity list is a lexicon, not a classifier.

use crate::validate::{Span, Violation, ViolationKind};

/// Personalised advice or promises.
pub const ADVICE_PHRASES: [&str; 16] = [
    "you should buy",
    "you should sell",
    "you should invest",
    "we recommend",
    "i recommend",
    "guaranteed",
    "guarantees",
    "buy now",
    "sell now",
    "can't lose",
    "cannot lose",
    "can not lose",
    "financial advice",
    "investment advice",
    "risk-free profit",
    "sure thing",
];

/// A small list of abusive words.
pub const TOXIC_WORDS: [&str; 10] = [
    "idiot", "idiots", "stupid", "moron", "morons", "dumb", "crap", "shit", "fuck", "retard",
];

fn find_words(lower: &str, phrase: &str) -> Vec<usize> {
    lower
        .match_indices(phrase)
        .map(|(i, _)| i)
        .filter(|&i| {
            let before = lower[..i].chars().last();
            let after = lower[i + phrase.len()..].chars().next();
            before.is_none_or(|c| !c.is_alphanumeric())
                && after.is_none_or(|c| !c.is_alphanumeric())
        })
        .collect()
}

/// Patterns of personal data and secrets, each with what it is.
static PII: std::sync::LazyLock<Vec<(regex::Regex, &'static str)>> =
    std::sync::LazyLock::new(|| {
        [
            (
                r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b",
                "an e-mail address",
            ),
            (
                r"(?:\(\d{3}\)\s?|\b\d{3}[-. ])\d{3}[-. ]\d{4}\b",
                "a phone number",
            ),
            (r"\+[1-9]\d{7,14}\b", "a phone number"),
            (r"\b\d{3}-\d{2}-\d{4}\b", "a social-security number"),
            (r"\bsx_[A-Za-z0-9]+_[A-Za-z0-9]{16,}", "an API key"),
            (r"\bsk-[A-Za-z0-9_-]{20,}", "an API key"),
            (r"\bAKIA[0-9A-Z]{16}\b", "an AWS access key"),
            (r"-----BEGIN [A-Z ]*PRIVATE KEY-----", "a private key"),
        ]
        .into_iter()
        .filter_map(|(p, what)| regex::Regex::new(p).ok().map(|r| (r, what)))
        .collect()
    });

/// Card-like numbers: 13 to 19 digits in one run, or groups of four separated by a space or a
/// dash (so two ISO dates side by side never look like one).
static CARD: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"\b(?:\d{4}[ -]){3}\d{1,7}\b|\b\d{13,19}\b").ok()
});

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if !i.is_multiple_of(2) {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Personal data and secrets, one violation per match.
pub fn check_pii(text: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    for (re, what) in PII.iter() {
        for m in re.find_iter(text) {
            out.push(Violation {
                kind: ViolationKind::Pii,
                detail: format!("text looks like {what}"),
                span: Some(Span {
                    start: m.start(),
                    end: m.end(),
                }),
            });
        }
    }
    if let Some(card) = CARD.as_ref() {
        for m in card.find_iter(text) {
            let digits: Vec<u32> = m.as_str().chars().filter_map(|c| c.to_digit(10)).collect();
            if luhn(&digits) {
                out.push(Violation {
                    kind: ViolationKind::Pii,
                    detail: "text looks like a payment card number".into(),
                    span: Some(Span {
                        start: m.start(),
                        end: m.end(),
                    }),
                });
            }
        }
    }
    out
}

/// Advice, toxic-language and personal-data violations, one per occurrence.
pub fn check_policy(text: &str) -> Vec<Violation> {
    // Spans are offsets in the lower-cased, apostrophe-normalised text: exact for ASCII text.
    let lower = text.to_lowercase().replace('\u{2019}', "'");
    let mut out = Vec::new();
    let lists: [(&[&str], ViolationKind, &str); 2] = [
        (
            &ADVICE_PHRASES,
            ViolationKind::Advice,
            "investment advice or a promise",
        ),
        (&TOXIC_WORDS, ViolationKind::Toxic, "abusive language"),
    ];
    for (list, kind, what) in lists {
        for p in list {
            for i in find_words(&lower, p) {
                out.push(Violation {
                    kind,
                    detail: format!("\"{p}\" is {what}"),
                    span: Some(Span {
                        start: i,
                        end: i + p.len(),
                    }),
                });
            }
        }
    }
    out.extend(check_pii(text));
    out
}
