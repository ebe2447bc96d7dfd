//! What kind of thing a symbol is, and when it trades.
//!
//! Every stored symbol has an [`AssetClass`] and a [`SessionModel`]. A symbol the cache has no
//! record of is a US equity on the NYSE calendar ([`Instrument::us_equity`]), which is what the
//! bundled sample and every equity endpoint deliver; FX, crypto and other venues are named at
//! ingest (or implied by the provider endpoint) and stored with the symbol.
//!
//! Session cut-offs (documented because every daily number depends on them):
//! - **FX** trades 24×5, from Sunday 17:00 to Friday 17:00 New York time. A trading day closes at
//!   17:00 New York (the market's conventional "New York close"), so the hour bar that starts on
//!   Sunday at 17:00 belongs to Monday's session and a daily bar covers 17:00 → 17:00.
//! - **Crypto** trades 24×7; a day closes at 00:00 UTC, as Alpha Vantage's and most exchanges'
//!   daily crypto bars do.
//! - **US equities and indices** follow the NYSE calendar (holidays and early closes), 09:30–16:00
//!   New York.
//! - **Other equity venues** (`weekdays`) trade Monday to Friday; their holidays are not known
//!   here, so a missing weekday is reported as a gap only, never a bar on a weekday refused.

use crate::Resolution;
use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Weekday};
use serde::{Deserialize, Serialize};

/// The broad kind of instrument: decides the default session model and the Alpha Vantage
/// endpoint family.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
pub enum AssetClass {
    /// A stock or ETF listed in the US (NYSE calendar). The default for unknown symbols.
    UsEquity,
    /// A stock listed on another venue (Monday–Friday, holidays unknown).
    Equity,
    /// A currency pair such as `EURUSD` (24×5).
    Fx,
    /// A digital currency against a market currency, such as `BTCUSD` (24×7).
    Crypto,
    /// A US index level such as `^GSPC` (NYSE calendar).
    Index,
}

impl AssetClass {
    /// The session model an instrument of this class follows unless told otherwise.
    pub fn default_session(self) -> SessionModel {
        match self {
            AssetClass::UsEquity | AssetClass::Index => SessionModel::Xnys,
            AssetClass::Equity => SessionModel::Weekdays,
            AssetClass::Fx => SessionModel::Fx24x5,
            AssetClass::Crypto => SessionModel::Crypto24x7,
        }
    }

    /// The name used in storage, the CLI and the API (`us_equity`, `fx`, …).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// When an instrument trades: decides which days are sessions, which session an intraday bar
/// belongs to, where a daily bar closes and how many periods make a year.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
pub enum SessionModel {
    /// The NYSE/Nasdaq calendar: weekdays less exchange holidays, 09:30–16:00 New York.
    Xnys,
    /// Monday to Friday, exchange holidays unknown.
    Weekdays,
    /// FX: Sunday 17:00 to Friday 17:00 New York; days close at 17:00 New York.
    #[serde(rename = "fx_24x5")]
    #[strum(serialize = "fx_24x5")]
    Fx24x5,
    /// Crypto: always open; days close at 00:00 UTC.
    #[serde(rename = "crypto_24x7")]
    #[strum(serialize = "crypto_24x7")]
    Crypto24x7,
}

/// Where an intraday bar falls relative to an around-the-clock session model's trading hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Inside the trading week.
    Open,
    /// Within the hour after the Friday close or before the Sunday open: venues and data vendors
    /// place the weekly open and close up to an hour apart (their daylight-saving rules differ),
    /// so such a bar is a real print at the edge, reported but kept.
    Edge,
    /// Deep inside the weekend: no venue trades.
    Closed,
}

/// New York, where the FX day closes.
const NEW_YORK: chrono_tz::Tz = chrono_tz::America::New_York;

/// The FX day closes at 17:00 New York: adding 7 hours to New York time gives the session date.
const FX_ROLL_HOURS: i64 = 7;

impl SessionModel {
    /// The name used in storage and the API (`xnys`, `weekdays`, `fx_24x5`, `crypto_24x7`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// True for models that trade around the clock (FX and crypto), whose intraday bars are
    /// placed by the clock rather than by exchange hours.
    pub fn is_around_the_clock(self) -> bool {
        matches!(self, SessionModel::Fx24x5 | SessionModel::Crypto24x7)
    }

    /// Trading sessions per year: 252 for exchange calendars, 260 (52 weeks × 5) for FX, 365 for
    /// crypto.
    pub fn sessions_per_year(self) -> f64 {
        match self {
            SessionModel::Xnys | SessionModel::Weekdays => 252.0,
            SessionModel::Fx24x5 => 260.0,
            SessionModel::Crypto24x7 => 365.0,
        }
    }

    /// Minutes of trading per session: 390 for exchanges (6.5 hours), 1,440 for FX and crypto.
    pub fn session_minutes(self) -> f64 {
        match self {
            SessionModel::Xnys | SessionModel::Weekdays => 390.0,
            SessionModel::Fx24x5 | SessionModel::Crypto24x7 => 1440.0,
        }
    }

    /// Bars of `resolution` per year, the annualisation factor of every metric: daily bars give
    /// [`Self::sessions_per_year`], weekly 52, monthly 12, intraday bars the session's bars times
    /// its sessions (hourly FX: 24 × 260 = 6,240; hourly crypto: 24 × 365 = 8,760).
    pub fn periods_per_year(self, resolution: Resolution) -> f64 {
        match resolution {
            Resolution::Daily => self.sessions_per_year(),
            Resolution::Weekly => 52.0,
            Resolution::Monthly => 12.0,
            intraday => {
                let minutes = f64::from(intraday.minutes().unwrap_or(1));
                self.sessions_per_year() * self.session_minutes() / minutes
            }
        }
    }

    /// True when `d` is a trading session, as far as the model knows without a holiday table.
    /// For [`SessionModel::Xnys`] this is weekdays only; the exchange holidays are the quality
    /// crate's calendar.
    pub fn is_weekday_session(self, d: NaiveDate) -> bool {
        match self {
            SessionModel::Crypto24x7 => true,
            _ => !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The session an intraday bar starting at `ts_utc` belongs to, for around-the-clock models
    /// (`None` for exchange models, whose sessions follow the exchange's local date). FX: New
    /// York time plus 7 hours, with the edge hours kept with their adjacent session (a print in
    /// the hour after the Friday close is Friday's, one in the hour before the Sunday open
    /// Monday's). Crypto: the UTC date.
    pub fn session_of(self, ts_utc: NaiveDateTime) -> Option<NaiveDate> {
        match self {
            SessionModel::Crypto24x7 => Some(ts_utc.date()),
            SessionModel::Fx24x5 => {
                let d = fx_rolled(ts_utc).date();
                Some(match d.weekday() {
                    Weekday::Sat => d.pred_opt().unwrap_or(d),
                    Weekday::Sun => d.succ_opt().unwrap_or(d),
                    _ => d,
                })
            }
            SessionModel::Xnys | SessionModel::Weekdays => None,
        }
    }

    /// Where an intraday bar starting at `ts_utc` falls in an around-the-clock model's week;
    /// always [`Placement::Open`] for crypto and for exchange models (their hours are judged by
    /// the exchange calendar).
    pub fn placement(self, ts_utc: NaiveDateTime) -> Placement {
        if self != SessionModel::Fx24x5 {
            return Placement::Open;
        }
        let ny = new_york(ts_utc);
        let minute = ny.hour() * 60 + ny.minute();
        let close = 17 * 60;
        match ny.weekday() {
            Weekday::Fri if minute >= close + 60 => Placement::Closed,
            Weekday::Fri if minute >= close => Placement::Edge,
            Weekday::Sat => Placement::Closed,
            Weekday::Sun if minute >= close => Placement::Open,
            Weekday::Sun if minute >= close - 60 => Placement::Edge,
            Weekday::Sun => Placement::Closed,
            _ => Placement::Open,
        }
    }

    /// The UTC instants `[start, end)` of session `d` for around-the-clock models (`None` for
    /// exchange models and for days that are not sessions). FX: 17:00 New York the day before
    /// (Sunday for Monday) to 17:00 New York on `d`; crypto: `d` 00:00 to 24:00 UTC.
    pub fn session_bounds(self, d: NaiveDate) -> Option<(NaiveDateTime, NaiveDateTime)> {
        match self {
            SessionModel::Crypto24x7 => {
                let start = d.and_hms_opt(0, 0, 0)?;
                Some((start, start + chrono::Duration::days(1)))
            }
            SessionModel::Fx24x5 if self.is_weekday_session(d) => {
                let end = utc_of_new_york(d.and_hms_opt(17, 0, 0)?)?;
                let start = utc_of_new_york(d.pred_opt()?.and_hms_opt(17, 0, 0)?)?;
                Some((start, end))
            }
            _ => None,
        }
    }
}

/// `ts_utc` in New York local time.
fn new_york(ts_utc: NaiveDateTime) -> NaiveDateTime {
    NEW_YORK.from_utc_datetime(&ts_utc).naive_local()
}

/// New York local time shifted so that 17:00 becomes midnight of the next day.
fn fx_rolled(ts_utc: NaiveDateTime) -> NaiveDateTime {
    new_york(ts_utc) + chrono::Duration::hours(FX_ROLL_HOURS)
}

/// The UTC instant of a New York wall-clock time (17:00 is never in a DST gap or overlap).
fn utc_of_new_york(local: NaiveDateTime) -> Option<NaiveDateTime> {
    NEW_YORK
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.naive_utc())
}

/// A symbol with what the cache knows of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Instrument {
    /// The stored symbol (`MSFT`, `EURUSD`, `BTCUSD`).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub symbol: crate::Symbol,
    /// What kind of instrument it is.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "fx"))]
    pub asset_class: AssetClass,
    /// When it trades.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "fx_24x5"))]
    pub session: SessionModel,
    /// FX and crypto: the base currency or coin (`EUR`, `BTC`).
    pub base: Option<String>,
    /// FX and crypto: the quote currency or market (`USD`); prices are in this currency.
    pub quote: Option<String>,
}

impl Instrument {
    /// A US equity on the NYSE calendar: what an unknown symbol is taken to be.
    pub fn us_equity(symbol: crate::Symbol) -> Self {
        Instrument {
            symbol,
            asset_class: AssetClass::UsEquity,
            session: SessionModel::Xnys,
            base: None,
            quote: None,
        }
    }

    /// An instrument of `asset_class` with that class's default session. FX and crypto symbols
    /// of six or more letters are split into base and quote (`EURUSD` → `EUR`/`USD`, `BTCUSD` →
    /// `BTC`/`USD`, the quote being the last three letters).
    pub fn new(symbol: crate::Symbol, asset_class: AssetClass) -> Self {
        let (base, quote) = match asset_class {
            AssetClass::Fx | AssetClass::Crypto => split_pair(symbol.as_str()),
            _ => (None, None),
        };
        Instrument {
            symbol,
            asset_class,
            session: asset_class.default_session(),
            base,
            quote,
        }
    }
}

/// Why a symbol, asset class and market do not name an instrument a vendor can be asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInstrument(pub String);

impl Instrument {
    /// The instrument an ingest request names: `symbol` as `asset_class`, with the crypto
    /// `market` (a three-letter currency code) when the symbol is the coin alone.
    ///
    /// - Crypto is stored under coin + market: `BTC` with market `USD` → `BTCUSD`; `BTCUSD` or
    ///   `BTC/USD` with market `USD` → `BTCUSD`. Without a market the symbol must be a pair
    ///   (`BTCUSD`, the market being its last three letters).
    /// - FX must be a pair of three-letter codes (`EURUSD`, `EUR/USD` → `EURUSD`).
    /// - Other classes are `symbol` as given, with the class's default session.
    ///
    /// # Errors
    ///
    /// [`InvalidInstrument`] for a market on anything but crypto, a market that is not three
    /// letters, a crypto symbol naming no market (or another one), an FX symbol that is not a
    /// pair of three-letter codes.
    pub fn requested(
        symbol: &crate::Symbol,
        asset_class: AssetClass,
        market: Option<&str>,
    ) -> Result<Self, InvalidInstrument> {
        let bad = |m: String| Err(InvalidInstrument(m));
        let code3 = |s: &str| s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic());
        let stored = |base: &str, quote: &str| {
            crate::Symbol::new(&format!("{base}{quote}"))
                .map_err(|e| InvalidInstrument(format!("{base}/{quote}: {e}")))
        };
        let market = market.map(|m| m.trim().to_ascii_uppercase());
        match (asset_class, market) {
            (AssetClass::Crypto, Some(m)) => {
                if !code3(&m) {
                    return bad(format!(
                        "market {m:?} is not a three-letter currency code"
                    ));
                }
                let s = symbol.as_str();
                let coin = match s.split_once(['/', '-']) {
                    Some((b, q)) if q == m => b,
                    Some((_, q)) => {
                        return bad(format!("{s} names the market {q}, not the requested {m}"))
                    }
                    None => match s.strip_suffix(m.as_str()) {
                        Some(b) if !b.is_empty() => b,
                        _ => s,
                    },
                };
                if coin.is_empty()
                    || coin.len() > 10
                    || !coin.bytes().all(|b| b.is_ascii_alphanumeric())
                {
                    return bad(format!("{coin:?} is not a coin code such as BTC"));
                }
                Ok(Instrument::new(stored(coin, &m)?, AssetClass::Crypto))
            }
            (AssetClass::Crypto, None) => match split_pair(symbol.as_str()) {
                (Some(b), Some(q)) if code3(&q) && !b.is_empty() => {
                    Ok(Instrument::new(stored(&b, &q)?, AssetClass::Crypto))
                }
                _ => bad(format!(
                    "crypto symbol {symbol} names no market: give a market (USD) or a pair such as BTCUSD"
                )),
            },
            (other, Some(m)) => bad(format!(
                "market {m:?} applies to crypto only, not {other}"
            )),
            (AssetClass::Fx, None) => match split_pair(symbol.as_str()) {
                (Some(b), Some(q)) if code3(&b) && code3(&q) => {
                    Ok(Instrument::new(stored(&b, &q)?, AssetClass::Fx))
                }
                _ => bad(format!(
                    "FX symbol {symbol} is not a pair of three-letter codes such as EURUSD"
                )),
            },
            (other, None) => Ok(Instrument::new(symbol.clone(), other)),
        }
    }
}

/// `EURUSD` → (`EUR`, `USD`); also `EUR/USD` and `BTC-USD`. `None`s when the symbol is not a pair.
fn split_pair(s: &str) -> (Option<String>, Option<String>) {
    if let Some((b, q)) = s.split_once(['/', '-']) {
        return (Some(b.to_string()), Some(q.to_string()));
    }
    if s.len() >= 6 && s.chars().all(|c| c.is_ascii_alphanumeric()) {
        let (b, q) = s.split_at(s.len() - 3);
        return (Some(b.to_string()), Some(q.to_string()));
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time")
    }
    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn fx_sessions_roll_at_five_pm_new_york() {
        let fx = SessionModel::Fx24x5;
        // Sunday 2017-10-01 21:00 UTC is 17:00 New York (EDT): Monday's session opens.
        assert_eq!(fx.session_of(t("2017-10-01 21:00")), Some(d("2017-10-02")));
        assert_eq!(fx.placement(t("2017-10-01 21:00")), Placement::Open);
        // In winter (EST) the same instant is 16:00 New York: the edge hour before the open.
        assert_eq!(fx.placement(t("2017-12-03 21:00")), Placement::Edge);
        assert_eq!(fx.session_of(t("2017-12-03 21:00")), Some(d("2017-12-04")));
        // Tuesday 20:59 UTC (16:59 EDT) is Tuesday's; 21:00 UTC starts Wednesday's session.
        assert_eq!(fx.session_of(t("2017-10-03 20:00")), Some(d("2017-10-03")));
        assert_eq!(fx.session_of(t("2017-10-03 21:00")), Some(d("2017-10-04")));
        // The print at Friday's close is Friday's, at the edge; Saturday is closed.
        assert_eq!(fx.session_of(t("2017-10-06 21:00")), Some(d("2017-10-06")));
        assert_eq!(fx.placement(t("2017-10-06 21:00")), Placement::Edge);
        assert_eq!(fx.placement(t("2017-10-07 12:00")), Placement::Closed);
        assert_eq!(fx.placement(t("2017-10-06 22:30")), Placement::Closed);
        let (start, end) = fx.session_bounds(d("2017-10-02")).expect("monday");
        assert_eq!((start, end), (t("2017-10-01 21:00"), t("2017-10-02 21:00")));
        assert!(fx.session_bounds(d("2017-10-07")).is_none());
    }

    #[test]
    fn annualisation_follows_the_session() {
        assert_eq!(
            SessionModel::Xnys.periods_per_year(Resolution::Daily),
            252.0
        );
        assert_eq!(
            SessionModel::Fx24x5.periods_per_year(Resolution::Min60),
            6240.0
        );
        assert_eq!(
            SessionModel::Crypto24x7.periods_per_year(Resolution::Min60),
            8760.0
        );
        assert_eq!(
            SessionModel::Crypto24x7.periods_per_year(Resolution::Daily),
            365.0
        );
        // The exchange models agree with the resolution's own US-equity factor.
        for r in Resolution::ALL {
            assert_eq!(SessionModel::Xnys.periods_per_year(r), r.periods_per_year());
        }
    }

    #[test]
    fn names_round_trip_and_pairs_split() {
        for s in <SessionModel as strum::VariantArray>::VARIANTS {
            assert_eq!(s.as_str().parse::<SessionModel>().ok(), Some(*s));
        }
        assert_eq!("FX".parse::<AssetClass>().ok(), Some(AssetClass::Fx));
        let i = Instrument::new(
            crate::Symbol::new("eurusd").expect("symbol"),
            AssetClass::Fx,
        );
        assert_eq!(
            (i.base.as_deref(), i.quote.as_deref()),
            (Some("EUR"), Some("USD"))
        );
        assert_eq!(i.session, SessionModel::Fx24x5);
    }

    #[test]
    fn requested_instruments_are_stored_as_pairs() {
        let sym = |s: &str| crate::Symbol::new(s).expect("symbol");
        let req = |s: &str, a, m| Instrument::requested(&sym(s), a, m);
        let btc = req("btc", AssetClass::Crypto, Some("usd")).expect("coin + market");
        assert_eq!(btc.symbol.as_str(), "BTCUSD");
        assert_eq!(
            (btc.base.as_deref(), btc.quote.as_deref()),
            (Some("BTC"), Some("USD"))
        );
        assert_eq!(btc.session, SessionModel::Crypto24x7);
        for same in ["BTCUSD", "BTC/USD"] {
            let i = req(same, AssetClass::Crypto, Some("USD")).expect("pair + market");
            assert_eq!(i.symbol.as_str(), "BTCUSD");
        }
        let pair = req("ETHEUR", AssetClass::Crypto, None).expect("pair");
        assert_eq!(pair.quote.as_deref(), Some("EUR"));
        let fx = req("EUR/USD", AssetClass::Fx, None).expect("fx");
        assert_eq!(
            (fx.symbol.as_str(), fx.session),
            ("EURUSD", SessionModel::Fx24x5)
        );
        assert!(req("BTC", AssetClass::Crypto, None).is_err());
        assert!(req("BTC/EUR", AssetClass::Crypto, Some("USD")).is_err());
        assert!(req("BTC", AssetClass::Crypto, Some("USDT")).is_err());
        assert!(req("EURUSD", AssetClass::Fx, Some("USD")).is_err());
        assert!(req("EURUSDX", AssetClass::Fx, None).is_err());
        let eq = req("MSFT", AssetClass::UsEquity, None).expect("equity");
        assert_eq!(eq, Instrument::us_equity(sym("MSFT")));
    }
}
