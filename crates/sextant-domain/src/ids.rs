//! Identifiers checked once, where they enter: after construction nobody re-checks them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a string is not a valid identifier of some kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {kind}: {rule}")]
pub struct InvalidId {
    /// The kind of identifier expected (`run id`, `model id`, `name`).
    pub kind: &'static str,
    /// The rejected input (cut to 80 characters).
    pub value: String,
    /// What a valid one looks like.
    pub rule: &'static str,
}

fn invalid(kind: &'static str, value: &str, rule: &'static str) -> InvalidId {
    InvalidId {
        kind,
        value: value.chars().take(80).collect(),
        rule,
    }
}

/// The one rule for names and ids users type (model names, document ids): 1 to 64 characters
/// of `A-Z`, `a-z`, `0-9`, `_` and `-`. Safe in a URL path, a file name and a log line.
pub fn is_plain_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn prefixed_hex(s: &str, prefix: &str, digits: usize) -> bool {
    s.strip_prefix(prefix).is_some_and(|h| {
        h.len() == digits
            && h.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $prefix:literal, $digits:literal, $rule:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// Checks `s`.
            ///
            /// # Errors
            /// [`InvalidId`] unless `s` is the prefix followed by exactly the number of
            /// lower-case hexadecimal digits this kind has.
            pub fn new_checked(s: &str) -> Result<Self, InvalidId> {
                if prefixed_hex(s, $prefix, $digits) {
                    Ok($name(s.to_string()))
                } else {
                    Err(invalid($kind, s, $rule))
                }
            }

            /// The id as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                $name::new_checked(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

hex_id!(
    /// A backtest run's id: `bt_` and the first 24 hex digits of the sha256 of its manifest, so
    /// the same request on the same data gets the same id.
    RunId,
    "run id",
    "bt_",
    24,
    "bt_ followed by 24 lower-case hex digits"
);

hex_id!(
    /// A trained model's id: `mdl_` and 20 hex digits of the hash of its training inputs.
    ModelId,
    "model id",
    "mdl_",
    20,
    "mdl_ followed by 20 lower-case hex digits"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_once() {
        assert!(RunId::new_checked("bt_c3c25faae7e8e75f8ccaed34").is_ok());
        for bad in [
            "",
            "bt_",
            "bt_C3C25FAAE7E8E75F8CCAED34",
            "bt_c3c25faae7e8e75f8ccaed3",
            "x_c3c25faae7e8e75f8ccaed34",
            "bt_../../etc/passwd",
        ] {
            assert!(RunId::new_checked(bad).is_err(), "{bad}");
        }
        assert!(ModelId::new_checked("mdl_0123456789abcdef0123").is_ok());
        assert!(ModelId::new_checked("mdl_0123456789abcdef012").is_err());
        let json = serde_json::to_string(
            &RunId::new_checked("bt_c3c25faae7e8e75f8ccaed34").unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(
            json.ok().as_deref(),
            Some("\"bt_c3c25faae7e8e75f8ccaed34\"")
        );
        assert!(serde_json::from_str::<ModelId>("\"mdl_nothex\"").is_err());
    }

    #[test]
    fn plain_names() {
        assert!(is_plain_name("momentum_v2-final"));
        for bad in ["", "a b", "é", "../x", &"a".repeat(65)] {
            assert!(!is_plain_name(bad), "{bad}");
        }
    }
}
