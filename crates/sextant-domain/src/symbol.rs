use serde::{Deserialize, Serialize};
use std::fmt;

/// A ticker symbol, normalised to upper case. Only `A-Z 0-9 . - ^ _ /` are allowed, at most
/// 32 characters, so a symbol is always safe to log, to put in a URL and to bind in SQL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol(String);

/// Why a string is not a valid symbol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid symbol {0:?}: use 1-32 characters from A-Z, 0-9, '.', '-', '^', '_', '/'")]
pub struct InvalidSymbol(pub String);

impl Symbol {
    /// Trims `s`, upper-cases it and validates it.
    ///
    /// # Errors
    ///
    /// [`InvalidSymbol`] when the result is empty, longer than 32 characters or contains a character
    /// outside `A-Z 0-9 . - ^ _ /`.
    pub fn new(s: &str) -> Result<Self, InvalidSymbol> {
        let t = s.trim().to_ascii_uppercase();
        let ok = !t.is_empty()
            && t.len() <= 32
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '^' | '_' | '/'));
        if ok {
            Ok(Symbol(t))
        } else {
            Err(InvalidSymbol(s.to_string()))
        }
    }

    /// The normalised (upper-case) symbol.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Symbol {
    type Error = InvalidSymbol;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Symbol::new(&s)
    }
}

impl From<Symbol> for String {
    fn from(s: Symbol) -> String {
        s.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Symbol {
    type Err = InvalidSymbol;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Symbol::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_rejects() {
        assert_eq!(
            Symbol::new(" msft ").map(String::from),
            Ok("MSFT".to_string())
        );
        assert!(Symbol::new("BRK.B").is_ok());
        assert!(Symbol::new("").is_err());
        assert!(Symbol::new("a'; drop table bars").is_err());
    }
}
