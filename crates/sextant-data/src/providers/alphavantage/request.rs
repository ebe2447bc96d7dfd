//! Maps a [`FetchRequest`] to one Alpha Vantage call: function, parameters, expected series key.

use super::config::DataType;
use super::errors::AlphaVantageError;
use crate::providers::{FetchRequest, OutputSize};
use sextant_domain::{Resolution, Symbol};

/// What the response must contain, by function family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `TIME_SERIES_DAILY` / `_WEEKLY` / `_MONTHLY`, and intraday: OHLC + volume.
    Plain,
    /// `TIME_SERIES_DAILY_ADJUSTED`: adjusted close, dividend and split coefficient.
    DailyAdjusted,
    /// `TIME_SERIES_WEEKLY_ADJUSTED` / `_MONTHLY_ADJUSTED`: adjusted close and dividend, no split
    /// coefficient.
    PeriodAdjusted,
}

/// One fully specified call, without the API key (added only when sending).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCall {
    /// The API function (`TIME_SERIES_DAILY`, `TIME_SERIES_INTRADAY`, …).
    pub function: &'static str,
    /// The symbol sent.
    pub symbol: Symbol,
    /// The bar length asked for; decides the function and, intraday, the `interval`.
    pub resolution: Resolution,
    /// The answer format asked for.
    pub datatype: DataType,
    /// Query parameters other than `function`, `symbol` and `apikey`, in a stable order.
    pub params: Vec<(&'static str, String)>,
    pub(crate) shape: Shape,
}

impl ApiCall {
    /// Builds the call for `req`. Weekly and monthly functions take no `outputsize` (Alpha
    /// Vantage always returns their whole history), so none is sent.
    pub fn from_request(
        req: &FetchRequest,
        datatype: DataType,
    ) -> Result<ApiCall, AlphaVantageError> {
        let outputsize = match req.output_size {
            OutputSize::Compact => "compact",
            OutputSize::Full => "full",
        };
        let mut params: Vec<(&'static str, String)> = Vec::new();
        let (function, shape) = match (req.resolution, req.adjusted) {
            (Resolution::Daily, false) => ("TIME_SERIES_DAILY", Shape::Plain),
            (Resolution::Daily, true) => ("TIME_SERIES_DAILY_ADJUSTED", Shape::DailyAdjusted),
            (Resolution::Weekly, false) => ("TIME_SERIES_WEEKLY", Shape::Plain),
            (Resolution::Weekly, true) => ("TIME_SERIES_WEEKLY_ADJUSTED", Shape::PeriodAdjusted),
            (Resolution::Monthly, false) => ("TIME_SERIES_MONTHLY", Shape::Plain),
            (Resolution::Monthly, true) => ("TIME_SERIES_MONTHLY_ADJUSTED", Shape::PeriodAdjusted),
            (intraday, adjusted) => {
                params.push(("interval", intraday.as_str().to_string()));
                params.push(("outputsize", outputsize.to_string()));
                if let Some(month) = &req.month {
                    validate_month(month)?;
                    params.push(("month", month.clone()));
                }
                params.push(("adjusted", adjusted.to_string()));
                params.push(("extended_hours", req.extended_hours.to_string()));
                ("TIME_SERIES_INTRADAY", Shape::Plain)
            }
        };
        if !req.resolution.is_intraday() {
            if req.month.is_some() {
                return Err(AlphaVantageError::InvalidRequest {
                    message: format!(
                        "`month` applies to intraday resolutions only, not {}",
                        req.resolution
                    ),
                });
            }
            if req.resolution == Resolution::Daily {
                params.push(("outputsize", outputsize.to_string()));
            }
        }
        params.push(("datatype", datatype.as_str().to_string()));
        Ok(ApiCall {
            function,
            symbol: req.symbol.clone(),
            resolution: req.resolution,
            datatype,
            params,
            shape,
        })
    }

    /// The series key a successful JSON answer carries.
    pub fn series_key(&self) -> String {
        match self.function {
            "TIME_SERIES_WEEKLY" => "Weekly Time Series".to_string(),
            "TIME_SERIES_WEEKLY_ADJUSTED" => "Weekly Adjusted Time Series".to_string(),
            "TIME_SERIES_MONTHLY" => "Monthly Time Series".to_string(),
            "TIME_SERIES_MONTHLY_ADJUSTED" => "Monthly Adjusted Time Series".to_string(),
            "TIME_SERIES_INTRADAY" => format!("Time Series ({})", self.resolution.as_str()),
            _ => "Time Series (Daily)".to_string(),
        }
    }

    /// Every query parameter except the key, in the order sent.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![
            ("function", self.function.to_string()),
            ("symbol", self.symbol.as_str().to_string()),
        ];
        q.extend(self.params.iter().cloned());
        q
    }

    /// Provenance, e.g. `alphavantage TIME_SERIES_DAILY symbol=MSFT outputsize=full
    /// datatype=json`. Built only from the key-free parameters.
    pub fn describe(&self) -> String {
        let mut s = format!("alphavantage {} symbol={}", self.function, self.symbol);
        for (k, v) in &self.params {
            s.push_str(&format!(" {k}={v}"));
        }
        s
    }
}

/// `YYYY-MM` with a real month; anything else would cost a request just to get `Invalid API call`.
fn validate_month(month: &str) -> Result<(), AlphaVantageError> {
    let ok = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok()
        && month.len() == 7;
    if ok {
        Ok(())
    } else {
        Err(AlphaVantageError::InvalidRequest {
            message: format!("month {month:?} is not YYYY-MM"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(resolution: Resolution, adjusted: bool) -> FetchRequest {
        FetchRequest {
            resolution,
            adjusted,
            ..FetchRequest::daily(Symbol::new("msft").expect("symbol"))
        }
    }

    #[test]
    fn maps_resolution_and_adjusted_to_functions() {
        let cases = [
            (
                Resolution::Daily,
                false,
                "TIME_SERIES_DAILY",
                "Time Series (Daily)",
            ),
            (
                Resolution::Daily,
                true,
                "TIME_SERIES_DAILY_ADJUSTED",
                "Time Series (Daily)",
            ),
            (
                Resolution::Weekly,
                false,
                "TIME_SERIES_WEEKLY",
                "Weekly Time Series",
            ),
            (
                Resolution::Weekly,
                true,
                "TIME_SERIES_WEEKLY_ADJUSTED",
                "Weekly Adjusted Time Series",
            ),
            (
                Resolution::Monthly,
                false,
                "TIME_SERIES_MONTHLY",
                "Monthly Time Series",
            ),
            (
                Resolution::Monthly,
                true,
                "TIME_SERIES_MONTHLY_ADJUSTED",
                "Monthly Adjusted Time Series",
            ),
            (
                Resolution::Min15,
                false,
                "TIME_SERIES_INTRADAY",
                "Time Series (15min)",
            ),
        ];
        for (res, adj, function, key) in cases {
            let call = ApiCall::from_request(&req(res, adj), DataType::Json).expect("call");
            assert_eq!((call.function, call.series_key().as_str()), (function, key));
        }
    }

    #[test]
    fn intraday_parameters_and_provenance() {
        let mut r = req(Resolution::Min5, true);
        r.month = Some("2012-03".into());
        r.extended_hours = false;
        r.output_size = OutputSize::Compact;
        let call = ApiCall::from_request(&r, DataType::Csv).expect("call");
        assert_eq!(
            call.describe(),
            "alphavantage TIME_SERIES_INTRADAY symbol=MSFT interval=5min outputsize=compact month=2012-03 adjusted=true extended_hours=false datatype=csv"
        );
        r.month = Some("2012-13".into());
        assert!(ApiCall::from_request(&r, DataType::Json).is_err());
        let mut d = req(Resolution::Daily, false);
        d.month = Some("2012-03".into());
        assert!(matches!(
            ApiCall::from_request(&d, DataType::Json),
            Err(AlphaVantageError::InvalidRequest { .. })
        ));
        let weekly =
            ApiCall::from_request(&req(Resolution::Weekly, false), DataType::Json).expect("call");
        assert!(weekly.params.iter().all(|(k, _)| *k != "outputsize"));
    }
}
