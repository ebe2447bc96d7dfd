//! Alpha Vantage's documented non-data bodies and the failures a test can script.
//!
//! The bodies are verbatim from the reference (`shared/reference/alphavantage.md`): Alpha Vantage
//! answers every one of them with HTTP 200, so a client can only tell them apart by key and
//! wording.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `Note` rate-limit body (2018–2024 era, per-minute and per-day limits).
pub const NOTE_RATE_LIMIT: &str = r#"{
    "Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like to target a higher API call frequency."
}"#;

/// `Information` rate-limit body (current free tier, 25 requests per day).
pub const INFORMATION_RATE_LIMIT: &str = r#"{
    "Information": "Thank you for using Alpha Vantage! Please consider spreading out your free API requests more sparingly. You may subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to lift the free key rate limit (25 requests per day) and instantly unlock all premium endpoints"
}"#;

/// Entitlement refusal: the function needs a premium key.
pub const PREMIUM_ENDPOINT: &str = r#"{
    "Information": "Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all premium endpoints"
}"#;

/// The `demo` key used for anything but IBM.
pub const DEMO_KEY: &str = r#"{
    "Information": "The **demo** API key is for demo purposes only. Please claim your free API key at (https://www.alphavantage.co/support/#api-key) to explore our full API offerings. It takes fewer than 20 seconds, and we are committed to making it free forever."
}"#;

/// No `apikey` parameter, or an empty one.
pub const MISSING_KEY: &str = r#"{
    "Error Message": "the parameter apikey is invalid or missing. Please claim your free API key on (https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
}"#;

/// The invalid-call body; Alpha Vantage ends the text with the function name. Also returned for
/// unknown symbols and missing parameters.
pub fn invalid_call(function: &str) -> String {
    let message = format!(
        "Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for {function}."
    );
    let quoted = serde_json::to_string(&message).unwrap_or_default();
    format!("{{\n    \"Error Message\": {quoted}\n}}")
}

/// The body for a function that does not exist (`This API function (X) does not exist.`).
pub fn unknown_function(function: &str) -> String {
    let message = format!("This API function ({function}) does not exist.");
    let quoted = serde_json::to_string(&message).unwrap_or_default();
    format!("{{\n    \"Error Message\": {quoted}\n}}")
}

/// The functions Alpha Vantage's documentation marks premium among those this server speaks
/// (besides entitlements that change over time): see
/// [`super::AlphaVantageServerBuilder::free_tier`].
pub const PREMIUM_FUNCTIONS: [&str; 2] = ["FX_INTRADAY", "CRYPTO_INTRADAY"];

/// Whether the public `demo` key may call `params`: the documentation's demo examples only
/// (IBM for equities and corporate actions, EUR/USD for FX, USD→JPY and BTC→EUR exchange rates,
/// BTC/EUR daily crypto, ETH/USD intraday crypto, the searches `tesco`, `tencent`, `BA`, `SAIC`),
/// and every call of the parameterless or macro functions. Anything else gets [`DEMO_KEY`].
pub fn demo_allows(params: &std::collections::BTreeMap<String, String>) -> bool {
    let p = |k: &str| {
        params
            .get(k)
            .map(|v| v.to_ascii_uppercase())
            .unwrap_or_default()
    };
    let function = params.get("function").map(String::as_str).unwrap_or("");
    match function {
        f if f.starts_with("TIME_SERIES_") => p("symbol") == "IBM",
        "DIVIDENDS" | "SPLITS" => p("symbol") == "IBM",
        "FX_INTRADAY" | "FX_DAILY" | "FX_WEEKLY" | "FX_MONTHLY" => {
            (p("from_symbol"), p("to_symbol")) == ("EUR".into(), "USD".into())
        }
        "CURRENCY_EXCHANGE_RATE" => matches!(
            (p("from_currency").as_str(), p("to_currency").as_str()),
            ("USD", "JPY") | ("BTC", "EUR")
        ),
        "DIGITAL_CURRENCY_DAILY" | "DIGITAL_CURRENCY_WEEKLY" | "DIGITAL_CURRENCY_MONTHLY" => {
            (p("symbol"), p("market")) == ("BTC".into(), "EUR".into())
        }
        "CRYPTO_INTRADAY" => (p("symbol"), p("market")) == ("ETH".into(), "USD".into()),
        "SYMBOL_SEARCH" => matches!(p("keywords").as_str(), "TESCO" | "TENCENT" | "BA" | "SAIC"),
        _ => true,
    }
}

/// A failure the server returns instead of (or on top of) the real answer. One-shot faults are
/// queued with [`super::AlphaVantageServer::push_fault`]; a sticky one applies to every request.
/// Serialisable so that the `/_control/fault` endpoint can script it from outside the process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// [`NOTE_RATE_LIMIT`].
    RateLimitNote,
    /// [`INFORMATION_RATE_LIMIT`].
    RateLimitDaily,
    /// [`PREMIUM_ENDPOINT`].
    Premium,
    /// [`DEMO_KEY`].
    DemoKey,
    /// [`MISSING_KEY`].
    MissingKey,
    /// [`invalid_call`] for the requested function.
    InvalidCall,
    /// The real answer with one value replaced: `row` counts from the answer's first row or
    /// record (0 = the newest in dated answers), `field` is the JSON name (`"1. open"`,
    /// `"amount"`) or the CSV column (`"open"`). A value written unquoted (crypto intraday
    /// volume) becomes a quoted string.
    MalformedValue {
        /// Which row or record, counting from the first (0 = newest in dated answers).
        row: usize,
        /// The JSON name or CSV column of the value to replace.
        field: String,
        /// The text written instead, verbatim (quoted in JSON like every value).
        value: String,
    },
    /// The real answer cut in half (a dropped connection as seen by a lenient proxy).
    Truncated,
    /// An HTTP error status with a plain-text body.
    HttpStatus {
        /// The status code; an invalid one becomes 500. The body is always
        /// `Internal Server Error`.
        status: u16,
    },
    /// The real answer after a delay.
    Slow {
        /// Delay in milliseconds, on top of any configured latency.
        delay_ms: u64,
    },
    /// Any body at all.
    Raw {
        /// The status code; an invalid one becomes 200.
        status: u16,
        /// The `Content-Type` header value.
        content_type: String,
        /// The body, sent verbatim.
        body: String,
    },
}

impl Fault {
    /// A [`Fault::Slow`] from a duration.
    pub fn slow(delay: Duration) -> Fault {
        Fault::Slow {
            delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// A [`Fault::MalformedValue`].
    pub fn malformed(row: usize, field: &str, value: &str) -> Fault {
        Fault::MalformedValue {
            row,
            field: field.to_string(),
            value: value.to_string(),
        }
    }

    /// A JSON body with HTTP 200, like every Alpha Vantage error.
    pub fn json_body(body: &str) -> Fault {
        Fault::Raw {
            status: 200,
            content_type: "application/json".to_string(),
            body: body.to_string(),
        }
    }

    /// Short label recorded with each request (`"rate_limit_note"`, `"data"`, ...).
    pub fn label(&self) -> &'static str {
        match self {
            Fault::RateLimitNote => "rate_limit_note",
            Fault::RateLimitDaily => "rate_limit_daily",
            Fault::Premium => "premium",
            Fault::DemoKey => "demo_key",
            Fault::MissingKey => "missing_key",
            Fault::InvalidCall => "invalid_call",
            Fault::MalformedValue { .. } => "malformed_value",
            Fault::Truncated => "truncated",
            Fault::HttpStatus { .. } => "http_status",
            Fault::Slow { .. } => "slow",
            Fault::Raw { .. } => "raw",
        }
    }
}

/// A server-side rate limit, applied after scripted faults: once `max` requests arrived within
/// the last `window`, further requests get `body` until the window slides.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    /// Requests allowed per window; refused requests count too.
    pub max: usize,
    /// The sliding window length.
    pub window: Duration,
    /// What a refused request gets.
    pub body: RateLimitBody,
}

/// Which documented body a [`RateLimit`] answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitBody {
    /// [`NOTE_RATE_LIMIT`], the per-minute limit of older free keys.
    Note,
    /// [`INFORMATION_RATE_LIMIT`], the current free tier's daily limit.
    Information,
}

impl RateLimitBody {
    /// The JSON body text (sent with HTTP 200).
    pub fn body(self) -> &'static str {
        match self {
            RateLimitBody::Note => NOTE_RATE_LIMIT,
            RateLimitBody::Information => INFORMATION_RATE_LIMIT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_json_objects_with_one_key() {
        for body in [
            NOTE_RATE_LIMIT,
            INFORMATION_RATE_LIMIT,
            PREMIUM_ENDPOINT,
            DEMO_KEY,
            MISSING_KEY,
            &invalid_call("TIME_SERIES_DAILY"),
            &unknown_function("INVALID"),
        ] {
            let v: serde_json::Value = serde_json::from_str(body).expect("json");
            assert_eq!(v.as_object().map(|o| o.len()), Some(1), "{body}");
        }
        assert!(invalid_call("TIME_SERIES_DAILY").contains("for TIME_SERIES_DAILY.\""));
        assert!(unknown_function("INVALID").contains("This API function (INVALID) does not exist."));
        let demo = |q: &[(&str, &str)]| {
            demo_allows(
                &q.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert!(demo(&[
            ("function", "FX_DAILY"),
            ("from_symbol", "eur"),
            ("to_symbol", "USD")
        ]));
        assert!(!demo(&[
            ("function", "FX_DAILY"),
            ("from_symbol", "USD"),
            ("to_symbol", "JPY")
        ]));
        assert!(demo(&[("function", "MARKET_STATUS")]));
        assert!(!demo(&[("function", "DIVIDENDS"), ("symbol", "MSFT")]));
    }
}
