//! Typed Alpha Vantage failures and the classification of its non-data bodies.
//!
//! Alpha Vantage answers errors, rate limits and entitlement refusals with HTTP 200 and a one-key
//! JSON object, and the key has changed over the years (`Information` → `Note` → `Information`).
//! So a body is an error exactly when the expected series key is absent, and its kind is decided
//! by key *and* wording (see `shared/reference/alphavantage.md`).

use serde_json::{Map, Value};
use std::time::Duration;

/// A typed Alpha Vantage failure. No variant ever contains the API key.
#[derive(Debug, thiserror::Error)]
pub enum AlphaVantageError {
    /// Alpha Vantage's per-minute / per-day / burst limit (`Note` or `Information` body).
    /// Retryable: the client backs off and retries up to `max_retries` times.
    #[error("Alpha Vantage rate limit hit (retryable later): {message}")]
    RateLimited {
        /// The vendor's notice, verbatim.
        message: String,
    },

    /// The client-side daily budget is spent; returned at once instead of sleeping for a day.
    #[error("Alpha Vantage daily quota exhausted on the client side: {used} of {limit} requests used in the last {window:?}; next request possible in {retry_after:?}")]
    DailyQuotaExhausted {
        /// Requests counted in the rolling day window (in-flight ones included).
        used: u32,
        /// The configured daily budget (`requests_per_day` of the configuration).
        limit: u32,
        /// The length of the rolling day window.
        window: Duration,
        /// Time until the oldest completed request leaves the window and frees a slot.
        retry_after: Duration,
    },

    /// The key is not entitled to this function. Not retried.
    #[error("Alpha Vantage {function} is a premium endpoint for this API key: {message}")]
    PremiumEndpoint {
        /// The API function called (`TIME_SERIES_DAILY_ADJUSTED`, …).
        function: String,
        /// The vendor's notice, verbatim.
        message: String,
    },

    /// `Error Message` body: bad parameters, an unknown symbol, or a vendor QA failure on
    /// `outputsize=full`. Not retried.
    #[error("Alpha Vantage rejected the call (bad parameters or unknown symbol): {message}")]
    InvalidCall {
        /// The vendor's `Error Message`, verbatim.
        message: String,
    },

    /// The public `demo` key used for anything but its demo symbols. Not retried.
    #[error("the Alpha Vantage demo key only serves its demo symbols; set ALPHAVANTAGE_API_KEY to a real key: {message}")]
    DemoKey {
        /// The vendor's notice, verbatim.
        message: String,
    },

    /// No key configured, or Alpha Vantage says the key is invalid or missing. Not retried.
    #[error("Alpha Vantage API key missing or invalid (set ALPHAVANTAGE_API_KEY): {message}")]
    MissingKey {
        /// The vendor's message, or `no API key configured` when none was set.
        message: String,
    },

    /// A value that is not a valid number, date or timestamp. The whole response is rejected.
    #[error("Alpha Vantage sent a malformed {field} for {symbol} at {ts}: {value:?} ({reason}); the whole response was rejected")]
    Malformed {
        /// What was requested ([`super::ApiCall::subject`]): the symbol (`MSFT`, `EURUSD`,
        /// `BTCUSD`), the currency pair, the keywords or the economic series id.
        symbol: String,
        /// The offending field, by the vendor's name without its number (`open`,
        /// `adjusted close`, `amount`, `matchScore`, …), or `timestamp`, or `row` for a whole row.
        field: String,
        /// Which row: a series' timestamp key as the vendor wrote it; in reference answers the
        /// row's date or symbol (`ex_dividend_date`, `symbol`, `market_type/region`, the
        /// exchange rate's `Last Refreshed`), or its position (`#3`, `line 5`) without one.
        ts: String,
        /// The offending value as received (empty when missing; a whole row clipped to 300
        /// bytes).
        value: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The answer is for another symbol, pair or currency than the one asked for.
    #[error("Alpha Vantage answered for symbol {returned:?} but {requested} was requested")]
    SymbolMismatch {
        /// The symbol asked for (`MSFT`; `EUR/USD`, `BTC/USD` for pairs).
        requested: String,
        /// The symbol or code echoed by the answer (`Meta Data`, `symbol`, currency codes).
        returned: String,
    },

    /// A non-2xx HTTP status (Alpha Vantage itself uses 200 for its errors). 5xx and 429 are
    /// retried.
    #[error("Alpha Vantage HTTP {status} for {function}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The API function called.
        function: String,
    },

    /// Connection, timeout or body-read failure (the URL, which holds the key, is stripped).
    #[error("Alpha Vantage transport error for {function}: {message}")]
    Transport {
        /// The API function called.
        function: String,
        /// The HTTP client's error with its causes, without the URL.
        message: String,
        /// True when the request hit the configured `timeout`.
        timeout: bool,
    },

    /// A body that is neither a series nor a known error (truncated JSON, HTML, new wording).
    #[error("unexpected Alpha Vantage body for {function}: {detail}")]
    UnexpectedBody {
        /// The API function called.
        function: String,
        /// What was found instead of a series (top-level keys, or the clipped notice).
        detail: String,
    },

    /// The fetch request cannot be expressed as an Alpha Vantage call (e.g. `month` on daily).
    #[error("cannot ask Alpha Vantage for this: {message}")]
    InvalidRequest {
        /// What cannot be expressed.
        message: String,
    },

    /// The provider configuration is unusable.
    #[error("invalid Alpha Vantage configuration: {message}")]
    InvalidConfig {
        /// Which setting is unusable and why.
        message: String,
    },
}

impl AlphaVantageError {
    /// Whether trying again later can succeed: vendor rate limits, HTTP 5xx/429 and transport
    /// failures. Entitlement, key, parameter and data errors would fail the same way again.
    pub fn is_retryable(&self) -> bool {
        match self {
            AlphaVantageError::RateLimited { .. } | AlphaVantageError::Transport { .. } => true,
            AlphaVantageError::Http { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// Whether this is a rate limit, the vendor's or the client-side daily budget (the `/ready`
    /// endpoint reports it).
    pub fn is_rate_limit(&self) -> bool {
        matches!(
            self,
            AlphaVantageError::RateLimited { .. } | AlphaVantageError::DailyQuotaExhausted { .. }
        )
    }
}

impl AlphaVantageError {
    /// Replaces every occurrence of `key` in the error's text. Vendor messages never echo the
    /// key today, but error text ends up in logs and API answers, so it is scrubbed anyway.
    pub(crate) fn redact(self, key: &str) -> Self {
        if key.len() < 4 {
            // Too short to scrub without mangling ordinary words; real keys are 16 characters.
            return self;
        }
        let r = |s: String| {
            if s.contains(key) {
                s.replace(key, "***")
            } else {
                s
            }
        };
        use AlphaVantageError as E;
        match self {
            E::RateLimited { message } => E::RateLimited {
                message: r(message),
            },
            E::PremiumEndpoint { function, message } => E::PremiumEndpoint {
                function,
                message: r(message),
            },
            E::InvalidCall { message } => E::InvalidCall {
                message: r(message),
            },
            E::DemoKey { message } => E::DemoKey {
                message: r(message),
            },
            E::MissingKey { message } => E::MissingKey {
                message: r(message),
            },
            E::Malformed {
                symbol,
                field,
                ts,
                value,
                reason,
            } => E::Malformed {
                symbol,
                field,
                ts: r(ts),
                value: r(value),
                reason: r(reason),
            },
            E::SymbolMismatch {
                requested,
                returned,
            } => E::SymbolMismatch {
                requested,
                returned: r(returned),
            },
            E::Transport {
                function,
                message,
                timeout,
            } => E::Transport {
                function,
                message: r(message),
                timeout,
            },
            E::UnexpectedBody { function, detail } => E::UnexpectedBody {
                function,
                detail: r(detail),
            },
            other => other,
        }
    }
}

/// Wordings that mean "too many requests" in `Note`/`Information` bodies, past and present.
const RATE_LIMIT_WORDS: &[&str] = &[
    "rate limit",
    "call frequency",
    "requests per day",
    "requests per minute",
    "calls per minute",
    "spreading out",
    "burst pattern",
];

/// Classifies a JSON object that lacks the expected series key.
///
/// `Error Message` is an invalid call (or an invalid key, by its wording). `Information`/`Note`
/// are checked for the demo key first, then rate-limit wording, then "premium endpoint": the
/// current 25-per-day body also says "unlock all premium endpoints", so premium must come last.
pub(crate) fn classify(obj: &Map<String, Value>, function: &str) -> AlphaVantageError {
    let text = |key: &str| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
    };
    if let Some(message) = text("Error Message") {
        let lower = message.to_ascii_lowercase();
        if lower.contains("apikey") && (lower.contains("invalid") || lower.contains("missing")) {
            return AlphaVantageError::MissingKey { message };
        }
        return AlphaVantageError::InvalidCall { message };
    }
    if let Some(message) = text("Information").or_else(|| text("Note")) {
        let lower = message.to_ascii_lowercase();
        if lower.contains("demo") {
            return AlphaVantageError::DemoKey { message };
        }
        if RATE_LIMIT_WORDS.iter().any(|w| lower.contains(w)) {
            return AlphaVantageError::RateLimited { message };
        }
        if lower.contains("premium endpoint") {
            return AlphaVantageError::PremiumEndpoint {
                function: function.to_string(),
                message,
            };
        }
        if lower.contains("apikey") || lower.contains("api key") {
            return AlphaVantageError::MissingKey { message };
        }
        return AlphaVantageError::UnexpectedBody {
            function: function.to_string(),
            detail: format!("unrecognised notice: {}", clip(&message)),
        };
    }
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    AlphaVantageError::UnexpectedBody {
        function: function.to_string(),
        detail: format!("no series in the answer; top-level keys {keys:?}"),
    }
}

/// Caps vendor text quoted in errors so a huge HTML page cannot flood logs.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_str(body: &str) -> AlphaVantageError {
        let v: Map<String, Value> = serde_json::from_str(body).expect("json");
        classify(&v, "TIME_SERIES_DAILY")
    }

    #[test]
    fn documented_bodies() {
        let invalid = r#"{"Error Message": "Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY."}"#;
        assert!(matches!(
            classify_str(invalid),
            AlphaVantageError::InvalidCall { .. }
        ));
        let note = r#"{"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like to target a higher API call frequency."}"#;
        assert!(matches!(
            classify_str(note),
            AlphaVantageError::RateLimited { .. }
        ));
        let daily = r#"{"Information": "Thank you for using Alpha Vantage! Please consider spreading out your free API requests more sparingly. You may subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to lift the free key rate limit (25 requests per day) and instantly unlock all premium endpoints"}"#;
        assert!(matches!(
            classify_str(daily),
            AlphaVantageError::RateLimited { .. }
        ));
        let premium = r#"{"Information": "Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all premium endpoints"}"#;
        assert!(matches!(
            classify_str(premium),
            AlphaVantageError::PremiumEndpoint { .. }
        ));
        let demo = r#"{"Information": "The **demo** API key is for demo purposes only. Please claim your free API key at (https://www.alphavantage.co/support/#api-key) to explore our full API offerings. It takes fewer than 20 seconds, and we are committed to making it free forever."}"#;
        assert!(matches!(
            classify_str(demo),
            AlphaVantageError::DemoKey { .. }
        ));
        let key = r#"{"Error Message": "the parameter apikey is invalid or missing. Please claim your free API key on (https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."}"#;
        assert!(matches!(
            classify_str(key),
            AlphaVantageError::MissingKey { .. }
        ));
        // The 2017 limit wording under `Information`.
        let old = r#"{"Information": "Please consider optimizing your API call frequency."}"#;
        assert!(matches!(
            classify_str(old),
            AlphaVantageError::RateLimited { .. }
        ));
    }

    #[test]
    fn unknown_shapes_are_unexpected_and_retry_rules() {
        assert!(matches!(
            classify_str(r#"{"Information": "Scheduled maintenance."}"#),
            AlphaVantageError::UnexpectedBody { .. }
        ));
        assert!(matches!(
            classify_str(r#"{"Meta Data": {}}"#),
            AlphaVantageError::UnexpectedBody { .. }
        ));
        assert!(classify_str(r#"{"Note": "call frequency"}"#).is_retryable());
        assert!(!classify_str(r#"{"Error Message": "Invalid API call."}"#).is_retryable());
        let http = |status| AlphaVantageError::Http {
            status,
            function: "F".into(),
        };
        assert!(http(500).is_retryable() && http(429).is_retryable() && !http(404).is_retryable());
        assert_eq!(clip(&"x".repeat(1000)).chars().count(), 301);
    }
}
