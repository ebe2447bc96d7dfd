//! What is wrong with a definition, and where.

use std::fmt;

/// An error in a strategy definition, naming the field (`long.entry`, `params.fast.max`,
/// `let.trend`) and, inside an expression, the offending token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    /// The field of the document at fault, as a dotted path.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// For an expression: its text and the byte range of the offending token.
    pub token: Option<TokenAt>,
}

/// The expression an error sits in and the byte range of the offending token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAt {
    /// The expression text.
    pub text: String,
    /// First byte of the token.
    pub start: usize,
    /// One past its last byte (at least `start + 1` when the text is longer).
    pub end: usize,
}

impl TokenAt {
    /// 1-based character column of the token.
    pub fn column(&self) -> usize {
        let start = self.start.min(self.text.len());
        self.text
            .char_indices()
            .take_while(|(i, _)| *i < start)
            .count()
            + 1
    }
}

impl RuleError {
    /// An error about a field as a whole.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        RuleError {
            field: field.into(),
            message: message.into(),
            token: None,
        }
    }

    /// An error at bytes `start..end` of expression `text` in `field`.
    pub fn at(
        field: impl Into<String>,
        text: &str,
        (start, end): (usize, usize),
        message: impl Into<String>,
    ) -> Self {
        // Offsets come from byte positions; widen them to whole characters so that slicing
        // the text for display can never split one.
        let mut start = start.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = end.max(start + 1).min(text.len()).max(start);
        while !text.is_char_boundary(end) {
            end += 1;
        }
        RuleError {
            field: field.into(),
            message: message.into(),
            token: Some(TokenAt {
                text: text.to_string(),
                start,
                end,
            }),
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.token {
            None => write!(f, "{}: {}", self.field, self.message),
            Some(t) => {
                let col = t.column();
                // Short expressions are quoted with a caret under the token.
                if t.text.len() <= 160 && !t.text.contains('\n') {
                    let width = t
                        .text
                        .get(t.start..t.end)
                        .map_or(1, |s| s.chars().count().max(1));
                    write!(
                        f,
                        "{} (column {col}): {}\n  {}\n  {}{}",
                        self.field,
                        self.message,
                        t.text,
                        " ".repeat(col - 1),
                        "^".repeat(width)
                    )
                } else {
                    write!(f, "{} (column {col}): {}", self.field, self.message)
                }
            }
        }
    }
}
