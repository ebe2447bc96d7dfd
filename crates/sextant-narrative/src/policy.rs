//! (d) Policy filter: abusive language and personalised investment advice.
//!
//! A narrative describes a historical simulation; telling a reader what to trade, or promising
//! results, is out of scope whatever the numbers say. Phrases are matched case-insensitively on
//! whole words (curly apostrophes normalised), so "recommendation" is not "we recommend".

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

/// Advice and toxic-language violations, one per occurrence.
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
    out
}
