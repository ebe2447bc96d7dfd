use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The bar resolutions Sextant stores. Intraday bars are keyed by their start time in UTC;
/// daily and coarser bars by their session date (see [`crate::Bar`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Resolution {
    /// One-minute bars (`1min`).
    #[serde(rename = "1min")]
    Min1,
    /// Five-minute bars (`5min`).
    #[serde(rename = "5min")]
    Min5,
    /// Fifteen-minute bars (`15min`).
    #[serde(rename = "15min")]
    Min15,
    /// Thirty-minute bars (`30min`).
    #[serde(rename = "30min")]
    Min30,
    /// Hourly bars (`60min`).
    #[serde(rename = "60min")]
    Min60,
    /// One bar per trading session (`daily`).
    #[serde(rename = "daily")]
    Daily,
    /// One bar per week (`weekly`).
    #[serde(rename = "weekly")]
    Weekly,
    /// One bar per calendar month (`monthly`).
    #[serde(rename = "monthly")]
    Monthly,
}

impl Resolution {
    /// Every resolution, finest first (the order of the derived `Ord`).
    pub const ALL: [Resolution; 8] = [
        Resolution::Min1,
        Resolution::Min5,
        Resolution::Min15,
        Resolution::Min30,
        Resolution::Min60,
        Resolution::Daily,
        Resolution::Weekly,
        Resolution::Monthly,
    ];

    /// The name used in configuration, the CLI, the API and Alpha Vantage's `interval` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Min1 => "1min",
            Resolution::Min5 => "5min",
            Resolution::Min15 => "15min",
            Resolution::Min30 => "30min",
            Resolution::Min60 => "60min",
            Resolution::Daily => "daily",
            Resolution::Weekly => "weekly",
            Resolution::Monthly => "monthly",
        }
    }

    /// Minutes per bar for intraday resolutions, `None` for daily and coarser.
    pub fn minutes(self) -> Option<u32> {
        match self {
            Resolution::Min1 => Some(1),
            Resolution::Min5 => Some(5),
            Resolution::Min15 => Some(15),
            Resolution::Min30 => Some(30),
            Resolution::Min60 => Some(60),
            _ => None,
        }
    }

    /// True for the minute resolutions (`1min` to `60min`), whose bars are keyed by an instant
    /// rather than a session date.
    pub fn is_intraday(self) -> bool {
        self.minutes().is_some()
    }

    /// Bars per year used to annualise metrics for US equities (252 sessions of 6.5 hours).
    pub fn periods_per_year(self) -> f64 {
        match self {
            Resolution::Daily => 252.0,
            Resolution::Weekly => 52.0,
            Resolution::Monthly => 12.0,
            intraday => 252.0 * 390.0 / f64::from(intraday.minutes().unwrap_or(1)),
        }
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resolution name that Sextant does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown resolution {0:?}; expected one of 1min, 5min, 15min, 30min, 60min, daily, weekly, monthly")]
pub struct ParseResolutionError(pub String);

impl FromStr for Resolution {
    type Err = ParseResolutionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Ok(match lower.as_str() {
            "1min" | "1m" => Resolution::Min1,
            "5min" | "5m" => Resolution::Min5,
            "15min" | "15m" => Resolution::Min15,
            "30min" | "30m" => Resolution::Min30,
            "60min" | "1h" | "60m" | "hourly" => Resolution::Min60,
            "daily" | "1d" | "d" | "day" => Resolution::Daily,
            "weekly" | "1w" | "w" | "week" => Resolution::Weekly,
            "monthly" | "1mo" | "month" => Resolution::Monthly,
            _ => return Err(ParseResolutionError(s.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_names() {
        for r in Resolution::ALL {
            assert_eq!(r.as_str().parse::<Resolution>(), Ok(r));
        }
        assert!("2min".parse::<Resolution>().is_err());
    }
}
