//! Vendor-reported corporate actions and economic observations, as stored and served.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A cash dividend as a vendor reports it (Alpha Vantage `DIVIDENDS`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DividendEvent {
    /// First session the shares trade without the dividend; the price drops on this day.
    pub ex_date: NaiveDate,
    /// When the company announced it, if known.
    pub declaration_date: Option<NaiveDate>,
    /// Holders of record on this date are paid, if known.
    pub record_date: Option<NaiveDate>,
    /// When the cash arrives, if known; a portfolio's cash is credited on this date.
    pub payment_date: Option<NaiveDate>,
    /// Cash per share, in the share's currency.
    pub amount: f64,
}

/// A share split as a vendor reports it (Alpha Vantage `SPLITS`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SplitEvent {
    /// First session at the split-adjusted price.
    pub effective_date: NaiveDate,
    /// New shares per old share (2.0 for a 2:1 split, 0.1 for a 1:10 consolidation).
    pub factor: f64,
}

/// The economic indicators Sextant stores (Alpha Vantage's economic endpoints).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
pub enum Indicator {
    /// Constant-maturity US Treasury yield, percent per year (`TREASURY_YIELD`).
    TreasuryYield,
    /// Effective federal funds rate, percent per year (`FEDERAL_FUNDS_RATE`).
    FederalFundsRate,
    /// Consumer price index for all urban consumers, index level (`CPI`).
    Cpi,
}

impl Indicator {
    /// The Alpha Vantage function name.
    pub fn function(self) -> &'static str {
        match self {
            Indicator::TreasuryYield => "TREASURY_YIELD",
            Indicator::FederalFundsRate => "FEDERAL_FUNDS_RATE",
            Indicator::Cpi => "CPI",
        }
    }

    /// The intervals the vendor serves for this indicator.
    pub fn intervals(self) -> &'static [&'static str] {
        match self {
            Indicator::TreasuryYield | Indicator::FederalFundsRate => {
                &["daily", "weekly", "monthly"]
            }
            Indicator::Cpi => &["monthly", "semiannual"],
        }
    }

    /// The snake_case name (`treasury_yield`, `federal_funds_rate`, `cpi`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// How long after the end of an observation's period its value is first published, when the
    /// vendor gives no release date (it never does). Conservative on purpose: a value used too
    /// late costs a little freshness, one used too early is look-ahead.
    /// - Treasury yields and the funds rate: daily values are published the next business day;
    ///   1 day after the period (a daily observation), so used from the day after its date at
    ///   the earliest. Weekly and monthly averages: 1 day after the period ends.
    /// - CPI: the BLS publishes a month's index around the middle of the next month (the 10th to
    ///   the 15th); 20 days after the period ends.
    pub fn release_lag_days(self) -> i64 {
        match self {
            Indicator::TreasuryYield | Indicator::FederalFundsRate => 1,
            Indicator::Cpi => 20,
        }
    }
}

/// Which stored series: an indicator, its interval and (Treasury yields) its maturity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesKey {
    /// The indicator.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "treasury_yield"))]
    pub indicator: Indicator,
    /// `daily`, `weekly`, `monthly` or `semiannual`.
    pub interval: String,
    /// Treasury yields only: `3month`, `2year`, `5year`, `7year`, `10year`, `30year`.
    pub maturity: Option<String>,
}

/// Why a [`SeriesKey`] is not one the vendor serves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSeriesKey(pub String);

/// Treasury maturities Alpha Vantage serves.
pub const TREASURY_MATURITIES: [&str; 6] =
    ["3month", "2year", "5year", "7year", "10year", "30year"];

impl SeriesKey {
    /// A checked key; `maturity` is required for Treasury yields and refused otherwise.
    ///
    /// # Errors
    ///
    /// [`InvalidSeriesKey`] naming the interval or maturity that is not served.
    pub fn new(
        indicator: Indicator,
        interval: &str,
        maturity: Option<&str>,
    ) -> Result<Self, InvalidSeriesKey> {
        let interval = interval.trim().to_ascii_lowercase();
        if !indicator.intervals().contains(&interval.as_str()) {
            return Err(InvalidSeriesKey(format!(
                "{indicator} has no interval {interval:?}; expected one of {}",
                indicator.intervals().join(", ")
            )));
        }
        let maturity = match (indicator, maturity.map(|m| m.trim().to_ascii_lowercase())) {
            (Indicator::TreasuryYield, Some(m)) if TREASURY_MATURITIES.contains(&m.as_str()) => {
                Some(m)
            }
            (Indicator::TreasuryYield, Some(m)) => {
                return Err(InvalidSeriesKey(format!(
                    "no Treasury maturity {m:?}; expected one of {}",
                    TREASURY_MATURITIES.join(", ")
                )))
            }
            (Indicator::TreasuryYield, None) => {
                return Err(InvalidSeriesKey(
                    "treasury_yield needs a maturity (3month, 2year, 5year, 7year, 10year, 30year)"
                        .into(),
                ))
            }
            (_, Some(m)) => {
                return Err(InvalidSeriesKey(format!(
                    "{indicator} takes no maturity, got {m:?}"
                )))
            }
            (_, None) => None,
        };
        Ok(SeriesKey {
            indicator,
            interval,
            maturity,
        })
    }

    /// The 3-month Treasury bill yield, daily: the default risk-free rate.
    pub fn risk_free_default() -> Self {
        SeriesKey {
            indicator: Indicator::TreasuryYield,
            interval: "daily".into(),
            maturity: Some("3month".into()),
        }
    }

    /// A stable name, also the feature column name: `treasury_yield_3month_daily`, `cpi_monthly`.
    pub fn id(&self) -> String {
        match &self.maturity {
            Some(m) => format!("{}_{m}_{}", self.indicator, self.interval),
            None => format!("{}_{}", self.indicator, self.interval),
        }
    }

    /// Parses [`Self::id`] back.
    ///
    /// # Errors
    ///
    /// [`InvalidSeriesKey`] when `id` names no served series.
    pub fn parse_id(id: &str) -> Result<Self, InvalidSeriesKey> {
        let id = id.trim().to_ascii_lowercase();
        for ind in <Indicator as strum::VariantArray>::VARIANTS {
            let Some(rest) = id
                .strip_prefix(ind.as_str())
                .and_then(|r| r.strip_prefix('_'))
            else {
                continue;
            };
            let (maturity, interval) = match rest.split_once('_') {
                Some((m, i)) => (Some(m), i),
                None => (None, rest),
            };
            return SeriesKey::new(*ind, interval, maturity);
        }
        Err(InvalidSeriesKey(format!(
            "unknown economic series {id:?}; expected e.g. treasury_yield_3month_daily, federal_funds_rate_monthly, cpi_monthly"
        )))
    }

    /// The last day of the period an observation dated `date` (the period's first day, as the
    /// vendor labels it) covers.
    pub fn period_end(&self, date: NaiveDate) -> NaiveDate {
        use chrono::{Datelike, Months};
        let months = match self.interval.as_str() {
            "monthly" => 1,
            "semiannual" => 6,
            _ => 0,
        };
        if months > 0 {
            let first = date.with_day(1).unwrap_or(date);
            return first
                .checked_add_months(Months::new(months))
                .and_then(|d| d.pred_opt())
                .unwrap_or(date);
        }
        if self.interval == "weekly" {
            // Weekly averages are labelled with the week's (Friday) end date already.
            return date;
        }
        date
    }

    /// The first date an observation dated `date` may be used: the end of its period plus the
    /// indicator's release lag ([`Indicator::release_lag_days`]).
    pub fn available_from(&self, date: NaiveDate) -> NaiveDate {
        self.period_end(date) + chrono::Duration::days(self.indicator.release_lag_days())
    }
}

impl std::fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id())
    }
}

/// One observation of an economic series; `value` is `None` where the vendor marks it missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Observation {
    /// The period the value describes, labelled by its first day (monthly `YYYY-MM-01`; daily the
    /// business day).
    pub date: NaiveDate,
    /// The value in the series' unit; `None` for a missing observation.
    pub value: Option<f64>,
}

/// An economic series as fetched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EconomicSeries {
    /// Which series.
    pub key: SeriesKey,
    /// The vendor's name, e.g. `10-Year Treasury Constant Maturity Rate`.
    pub name: String,
    /// The vendor's unit, e.g. `percent`.
    pub unit: String,
    /// Observations oldest first.
    pub observations: Vec<Observation>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn keys_check_and_round_trip() {
        let k = SeriesKey::new(Indicator::TreasuryYield, "Daily", Some("3MONTH")).expect("key");
        assert_eq!(k.id(), "treasury_yield_3month_daily");
        assert_eq!(SeriesKey::parse_id(&k.id()), Ok(k));
        let cpi = SeriesKey::parse_id("cpi_monthly").expect("cpi");
        assert_eq!(cpi.maturity, None);
        assert!(SeriesKey::new(Indicator::TreasuryYield, "daily", None).is_err());
        assert!(SeriesKey::new(Indicator::Cpi, "daily", None).is_err());
        assert!(SeriesKey::new(Indicator::Cpi, "monthly", Some("3month")).is_err());
        assert!(SeriesKey::parse_id("gdp_annual").is_err());
    }

    #[test]
    fn availability_lags_the_period_end() {
        let cpi = SeriesKey::parse_id("cpi_monthly").expect("cpi");
        // January's CPI (dated 2024-01-01) is usable from 2024-02-20, never in January.
        assert_eq!(cpi.available_from(d("2024-01-01")), d("2024-02-20"));
        let t = SeriesKey::risk_free_default();
        assert_eq!(t.available_from(d("2024-01-05")), d("2024-01-06"));
        let ff = SeriesKey::parse_id("federal_funds_rate_monthly").expect("ff");
        assert_eq!(ff.available_from(d("2024-02-01")), d("2024-03-01"));
    }
}
