//! Provider configuration. Defaults match Alpha Vantage's free tier.

use super::errors::AlphaVantageError;
use super::limiter::LimiterConfig;
use std::fmt;
use std::time::Duration;

/// The environment variable the caller reads the key from.
pub const API_KEY_ENV: &str = "ALPHAVANTAGE_API_KEY";

/// The production endpoint.
pub const DEFAULT_BASE_URL: &str = "https://www.alphavantage.co/query";

/// The `datatype` parameter. Both are parsed into identical bars; CSV is smaller on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataType {
    /// `datatype=json` (the default).
    #[default]
    Json,
    /// `datatype=csv`.
    Csv,
}

impl DataType {
    /// The value sent as the `datatype` query parameter (`json`, `csv`).
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Json => "json",
            DataType::Csv => "csv",
        }
    }
}

/// Everything the Alpha Vantage provider needs. `Debug` never prints the key.
#[derive(Clone)]
pub struct AlphaVantageConfig {
    /// The API key (read from [`API_KEY_ENV`] by the caller). Empty means "no key": every fetch
    /// then fails with [`AlphaVantageError::MissingKey`] without a request.
    pub api_key: String,
    /// `https://www.alphavantage.co/query`, or a test server's `/query` URL.
    pub base_url: String,
    /// The answer format requested. Default: JSON.
    pub datatype: DataType,
    /// Requests allowed per [`Self::rate_window`] (free tier: 5 per minute).
    pub requests_per_minute: u32,
    /// The window `requests_per_minute` applies to; one minute in production, shorter in tests.
    pub rate_window: Duration,
    /// Requests allowed per [`Self::day_window`] (free tier: 25); `None` for no daily budget.
    pub requests_per_day: Option<u32>,
    /// The daily budget's window: a rolling 24 hours, because Alpha Vantage does not document
    /// when its day resets and a rolling window can never overspend a calendar day.
    pub day_window: Duration,
    /// Minimum spacing between one request's completion and the next request (burst limit,
    /// ≈1 request per second on free keys). Zero allows concurrent requests.
    pub min_interval: Duration,
    /// How many times a rate-limited (or 5xx / transport-failed) call is retried.
    pub max_retries: u32,
    /// First retry delay; doubled on each further retry up to [`Self::max_backoff`].
    pub retry_backoff: Duration,
    /// Cap on the retry delay. Default: 120 s.
    pub max_backoff: Duration,
    /// Whole-request timeout (connect + body).
    pub timeout: Duration,
}

impl AlphaVantageConfig {
    /// Free-tier defaults with the given key.
    pub fn new(api_key: impl Into<String>) -> Self {
        AlphaVantageConfig {
            api_key: api_key.into(),
            base_url: DEFAULT_BASE_URL.to_string(),
            datatype: DataType::Json,
            requests_per_minute: 5,
            rate_window: Duration::from_secs(60),
            requests_per_day: Some(25),
            day_window: Duration::from_secs(24 * 60 * 60),
            min_interval: Duration::from_secs(1),
            max_retries: 3,
            retry_backoff: Duration::from_secs(15),
            max_backoff: Duration::from_secs(120),
            timeout: Duration::from_secs(30),
        }
    }

    /// Free-tier defaults with the key from [`API_KEY_ENV`] (empty when unset).
    pub fn from_env() -> Self {
        Self::new(std::env::var(API_KEY_ENV).unwrap_or_default())
    }

    /// The limiter settings derived from this configuration.
    pub fn limiter(&self) -> LimiterConfig {
        LimiterConfig {
            per_window: self.requests_per_minute,
            window: self.rate_window,
            per_day: self.requests_per_day,
            day_window: self.day_window,
            min_interval: self.min_interval,
        }
    }

    /// Delay before retry number `attempt` (0-based): exponential, capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(16));
        self.retry_backoff
            .saturating_mul(factor)
            .min(self.max_backoff.max(self.retry_backoff))
    }

    pub(crate) fn validate(&self) -> Result<(), AlphaVantageError> {
        let bad = |message: String| Err(AlphaVantageError::InvalidConfig { message });
        if reqwest::Url::parse(&self.base_url).is_err() {
            return bad(format!("base_url {:?} is not a URL", self.base_url));
        }
        if self.requests_per_minute == 0 || self.rate_window.is_zero() {
            return bad("requests_per_minute and rate_window must be positive".into());
        }
        if self.requests_per_day == Some(0) || self.day_window.is_zero() {
            return bad("requests_per_day and day_window must be positive".into());
        }
        if self.timeout.is_zero() {
            return bad("timeout must be positive".into());
        }
        Ok(())
    }
}

impl fmt::Debug for AlphaVantageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = if self.api_key.is_empty() {
            "<none>"
        } else {
            "<redacted>"
        };
        f.debug_struct("AlphaVantageConfig")
            .field("api_key", &key)
            .field("base_url", &self.base_url)
            .field("datatype", &self.datatype)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("rate_window", &self.rate_window)
            .field("requests_per_day", &self.requests_per_day)
            .field("day_window", &self.day_window)
            .field("min_interval", &self.min_interval)
            .field("max_retries", &self.max_retries)
            .field("retry_backoff", &self.retry_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_key_and_backoff_doubles() {
        let mut c = AlphaVantageConfig::new("SECRETKEY123");
        assert!(!format!("{c:?}").contains("SECRETKEY123"));
        c.retry_backoff = Duration::from_millis(100);
        c.max_backoff = Duration::from_millis(350);
        let b: Vec<_> = (0..4).map(|a| c.backoff(a).as_millis()).collect();
        assert_eq!(b, [100, 200, 350, 350]);
        assert!(c.validate().is_ok());
        c.requests_per_minute = 0;
        assert!(c.validate().is_err());
    }
}
