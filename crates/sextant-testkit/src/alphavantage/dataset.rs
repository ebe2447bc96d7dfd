//! The real daily prices the fake server serves.
//!
//! The bundled sample (`data/sample/us-equities-daily-2000-2013.csv.gz`, columns
//! `Ticker,Date,Open,High,Low,Close,Volume,Adj Close`) holds unadjusted traded prices plus a
//! split/dividend adjusted close. Weekly and monthly series are derived from it the way Alpha
//! Vantage derives them (first open, max high, min low, last close, summed volume, keyed by the
//! last trading day of the period), and corporate actions are recovered from changes in the
//! `Adj Close / Close` ratio, because the file carries no explicit split or dividend column.

use chrono::{Datelike, NaiveDate};
use flate2::read::GzDecoder;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Why the dataset could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DatasetError {
    /// The file could not be opened.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file that was asked for.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// A line could not be read or parsed (wrong column count, bad date or number).
    #[error("line {line}: {message}")]
    Parse {
        /// 1-based line number, the header being line 1.
        line: usize,
        /// What is wrong with the line.
        message: String,
    },
}

/// One real trading session.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyRow {
    /// The session date.
    pub date: NaiveDate,
    /// Unadjusted opening price.
    pub open: f64,
    /// Unadjusted high.
    pub high: f64,
    /// Unadjusted low.
    pub low: f64,
    /// Unadjusted closing price.
    pub close: f64,
    /// Shares traded, unadjusted.
    pub volume: u64,
    /// Split- and dividend-adjusted close; corporate actions are derived from its ratio to
    /// `close`.
    pub adj_close: f64,
    /// Cash dividend with its ex-date on this session (recovered from the adjusted close, rounded
    /// to cents, so approximate), 0 when none.
    pub dividend: f64,
    /// Split ratio effective on this session (2.0 for a 2:1 split), 1 when none.
    pub split_coefficient: f64,
}

/// A weekly or monthly bar derived from daily rows.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodRow {
    /// The last trading day in the period, which is how Alpha Vantage keys these series.
    pub date: NaiveDate,
    /// Open of the period's first session.
    pub open: f64,
    /// Highest high of the period.
    pub high: f64,
    /// Lowest low of the period.
    pub low: f64,
    /// Close of the period's last session.
    pub close: f64,
    /// Sum of the sessions' volumes.
    pub volume: u64,
    /// Adjusted close of the period's last session.
    pub adj_close: f64,
    /// Sum of the dividends with ex-dates in the period.
    pub dividend: f64,
}

/// Aggregation period for [`Dataset::periods`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// ISO week (Monday to Sunday).
    Week,
    /// Calendar month.
    Month,
}

/// Daily rows per symbol, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    series: BTreeMap<String, Vec<DailyRow>>,
}

/// The bundled sample, compiled in: no path is baked into the binary, so a build shared
/// between checkouts (one cargo target directory) still finds it.
const BUNDLED: &[u8] = include_bytes!("../../../../data/sample/us-equities-daily-2000-2013.csv.gz");

impl Dataset {
    /// The bundled sample, loaded once per process and shared (tests start many servers).
    pub fn bundled() -> Result<Arc<Dataset>, DatasetError> {
        static CELL: OnceLock<Result<Arc<Dataset>, DatasetError>> = OnceLock::new();
        CELL.get_or_init(|| Dataset::from_csv(GzDecoder::new(BUNDLED)).map(Arc::new))
            .clone()
    }

    /// Loads a gzip-compressed CSV in the bundled sample's format.
    pub fn from_csv_gz(path: &Path) -> Result<Dataset, DatasetError> {
        let file = std::fs::File::open(path).map_err(|e| DatasetError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Dataset::from_csv(GzDecoder::new(file))
    }

    /// Parses `Ticker,Date,Open,High,Low,Close,Volume,Adj Close` rows (header required).
    pub fn from_csv(reader: impl Read) -> Result<Dataset, DatasetError> {
        let mut series: BTreeMap<String, Vec<DailyRow>> = BTreeMap::new();
        for (idx, line) in BufReader::new(reader).lines().enumerate() {
            let line_no = idx + 1;
            let line = line.map_err(|e| DatasetError::Parse {
                line: line_no,
                message: e.to_string(),
            })?;
            let line = line.trim_end_matches('\r');
            if idx == 0 || line.is_empty() {
                continue;
            }
            let (ticker, row) = parse_line(line).map_err(|message| DatasetError::Parse {
                line: line_no,
                message,
            })?;
            series.entry(ticker).or_default().push(row);
        }
        for rows in series.values_mut() {
            rows.sort_by_key(|r| r.date);
            rows.dedup_by_key(|r| r.date);
            derive_actions(rows);
        }
        Ok(Dataset { series })
    }

    /// Builds a dataset from rows per symbol (for tests that need hand-made prices). Corporate
    /// actions are derived from the adjusted closes like for the bundled file.
    pub fn from_rows(rows: impl IntoIterator<Item = (String, Vec<DailyRow>)>) -> Dataset {
        let mut series = BTreeMap::new();
        for (sym, mut r) in rows {
            r.sort_by_key(|x| x.date);
            derive_actions(&mut r);
            series.insert(sym.to_ascii_uppercase(), r);
        }
        Dataset { series }
    }

    /// Symbols in the dataset, sorted.
    pub fn symbols(&self) -> impl Iterator<Item = &str> {
        self.series.keys().map(String::as_str)
    }

    /// Daily rows for `symbol` (case-insensitive), oldest first.
    pub fn daily(&self, symbol: &str) -> Option<&[DailyRow]> {
        self.series
            .get(&symbol.to_ascii_uppercase())
            .map(Vec::as_slice)
    }

    /// The session of `symbol` on `date`, if it traded.
    pub fn day(&self, symbol: &str, date: NaiveDate) -> Option<&DailyRow> {
        let rows = self.daily(symbol)?;
        rows.binary_search_by_key(&date, |r| r.date)
            .ok()
            .and_then(|i| rows.get(i))
    }

    /// Weekly or monthly bars for `symbol`, oldest first.
    pub fn periods(&self, symbol: &str, period: Period) -> Option<Vec<PeriodRow>> {
        let rows = self.daily(symbol)?;
        let key = |d: NaiveDate| match period {
            Period::Week => {
                let w = d.iso_week();
                (w.year(), w.week())
            }
            Period::Month => (d.year(), d.month()),
        };
        let mut out: Vec<PeriodRow> = Vec::new();
        let mut current: Option<(i32, u32)> = None;
        for r in rows {
            let k = key(r.date);
            match out.last_mut() {
                Some(p) if current == Some(k) => {
                    p.date = r.date;
                    p.high = p.high.max(r.high);
                    p.low = p.low.min(r.low);
                    p.close = r.close;
                    p.volume += r.volume;
                    p.adj_close = r.adj_close;
                    p.dividend += r.dividend;
                }
                _ => {
                    current = Some(k);
                    out.push(PeriodRow {
                        date: r.date,
                        open: r.open,
                        high: r.high,
                        low: r.low,
                        close: r.close,
                        volume: r.volume,
                        adj_close: r.adj_close,
                        dividend: r.dividend,
                    });
                }
            }
        }
        Some(out)
    }
}

fn parse_line(line: &str) -> Result<(String, DailyRow), String> {
    let cols: Vec<&str> = line.split(',').collect();
    let [ticker, date, open, high, low, close, volume, adj] = cols.as_slice() else {
        return Err(format!("expected 8 columns, got {}", cols.len()));
    };
    let num = |name: &str, v: &str| -> Result<f64, String> {
        v.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("bad {name} {v:?}"))
    };
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|e| format!("bad date: {e}"))?;
    let row = DailyRow {
        date,
        open: num("open", open)?,
        high: num("high", high)?,
        low: num("low", low)?,
        close: num("close", close)?,
        volume: volume
            .parse::<u64>()
            .map_err(|e| format!("bad volume {volume:?}: {e}"))?,
        adj_close: num("adj close", adj)?,
        dividend: 0.0,
        split_coefficient: 1.0,
    };
    Ok((ticker.to_ascii_uppercase(), row))
}

/// Recovers splits and dividends from the `Adj Close / Close` ratio.
///
/// The adjustment factor `F = adj/close` is constant between corporate actions. On an ex-date the
/// factor of the previous session relative to this one is `1/split × (1 − dividend/prev_close)`,
/// so a ratio near a whole number is a split and a small drop is a dividend.
fn derive_actions(rows: &mut [DailyRow]) {
    for i in 1..rows.len() {
        let (prev, cur) = (&rows[i - 1], &rows[i]);
        if prev.close <= 0.0 || cur.close <= 0.0 || prev.adj_close <= 0.0 {
            continue;
        }
        let growth = (cur.adj_close / cur.close) / (prev.adj_close / prev.close);
        let (mut dividend, mut split) = (0.0, 1.0);
        if !(0.8..=1.25).contains(&growth) {
            split = (growth * 10_000.0).round() / 10_000.0;
        } else if growth > 1.000_001 {
            let d = prev.close * (1.0 - 1.0 / growth);
            dividend = (d * 100.0).round() / 100.0;
        }
        rows[i].dividend = dividend;
        rows[i].split_coefficient = split;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn loads_bundled_and_finds_known_splits() {
        let ds = Dataset::bundled().expect("bundled");
        assert_eq!(
            ds.symbols().collect::<Vec<_>>(),
            ["AAPL", "FB", "GOOG", "IBM", "MSFT"]
        );
        let msft = ds.day("MSFT", date("2008-10-10")).expect("row");
        assert_eq!(msft.close, 21.5);
        for d in ["2000-06-21", "2005-02-28"] {
            assert_eq!(ds.day("aapl", date(d)).expect("row").split_coefficient, 2.0);
        }
        let no_split = ds.day("AAPL", date("2005-03-01")).expect("row");
        assert_eq!((no_split.split_coefficient, no_split.dividend), (1.0, 0.0));
        // IBM's quarterly dividend, recovered approximately from the adjusted close.
        let ibm = ds.day("IBM", date("2008-05-07")).expect("row");
        assert!((ibm.dividend - 0.5).abs() < 0.02, "{}", ibm.dividend);
    }

    #[test]
    fn weekly_keys_are_last_trading_day() {
        let ds = Dataset::bundled().expect("bundled");
        let weeks = ds.periods("MSFT", Period::Week).expect("weeks");
        let w = weeks
            .iter()
            .find(|w| w.date == date("2008-10-10"))
            .expect("week ending 2008-10-10");
        let days: Vec<_> = ds
            .daily("MSFT")
            .expect("daily")
            .iter()
            .filter(|r| r.date >= date("2008-10-06") && r.date <= date("2008-10-10"))
            .collect();
        assert_eq!(days.len(), 5);
        assert_eq!(w.open, days[0].open);
        assert_eq!(w.close, 21.5);
        assert_eq!(w.volume, days.iter().map(|r| r.volume).sum::<u64>());
        let months = ds.periods("MSFT", Period::Month).expect("months");
        assert!(months.iter().any(|m| m.date == date("2008-10-31")));
    }
}
