//! Price bases and the one place where adjustment factors are computed.
//!
//! A stored [`Bar`] carries the traded (raw) prices plus what the vendor says about corporate
//! actions: an adjusted close, a split coefficient and a dividend. Every consumer that wants
//! comparable prices across a split or an ex-dividend date (backtests, features, labels, quality
//! checks, portfolio valuation) goes through [`factors`] and [`PriceBasis::apply`], so there is
//! exactly one rule:
//!
//! 1. when every bar of the series has a positive vendor adjusted close, the total-return factor
//!    of a bar is `adj_close / close` (what the vendor computed, dividends included); the split
//!    part comes from the split coefficients when the vendor sent any, otherwise it is *inferred*
//!    from steps of the vendor ratio that match a common split ratio (2:1, 3:2, 1:10, …), since a
//!    dividend moves the ratio by a few percent and a split by a whole ratio;
//! 2. otherwise the factors are accumulated backwards from the newest bar (the CRSP convention):
//!    a split of `k` on day `d` divides every earlier price by `k`; a dividend `D` with ex-date
//!    `d` multiplies every earlier price by `1 − D / close[d−1]`.
//!
//! Adjusted prices are `raw × factor`; adjusted volume is `raw / split factor`, so the traded
//! value of a day is the same in every basis.
//!
//! Why back-adjustment does not leak the future into features or labels: the ratio of two
//! adjusted prices, `p[t]·f[t] / (p[s]·f[s])`, depends only on the corporate actions between `s`
//! and `t`, so every return-like quantity is point in time; only the *level* of an adjusted price
//! depends on later actions, and nothing that is learned or traded on uses the level alone.

use crate::Bar;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which prices a computation sees.
///
/// The default is [`PriceBasis::TotalReturn`]: a buy-and-hold over it earns what a holder
/// earned (splits neutral, dividends reinvested), which is what every comparison in a report
/// assumes. [`PriceBasis::Raw`] is the traded prints, needed for parity with libraries that
/// take a price file as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceBasis {
    /// Traded prices as stored; a 2:1 split shows as a −50 % day.
    Raw,
    /// Prices divided by later splits (volume multiplied): splits are neutral, dividends are not
    /// reinvested.
    SplitAdjusted,
    /// Split- and dividend-adjusted prices (the vendor's adjusted close where there is one).
    #[default]
    TotalReturn,
}

impl PriceBasis {
    /// Every basis, in the order the documentation lists them.
    pub const ALL: [PriceBasis; 3] = [
        PriceBasis::Raw,
        PriceBasis::SplitAdjusted,
        PriceBasis::TotalReturn,
    ];

    /// The name used in requests, manifests and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            PriceBasis::Raw => "raw",
            PriceBasis::SplitAdjusted => "split_adjusted",
            PriceBasis::TotalReturn => "total_return",
        }
    }

    /// Bars of one series (oldest first) in this basis. `Raw` returns them unchanged; the
    /// adjusted bases scale prices and volume and clear the corporate-action fields they
    /// absorbed (a total-return bar has no dividend left to pay, an adjusted bar no split).
    pub fn apply(self, bars: &[Bar]) -> Vec<Bar> {
        if self == PriceBasis::Raw {
            return bars.to_vec();
        }
        let f = factors(bars);
        bars.iter()
            .enumerate()
            .map(|(i, b)| {
                let (p, s) = (
                    match self {
                        PriceBasis::TotalReturn => f.total[i],
                        _ => f.split[i],
                    },
                    f.split[i],
                );
                Bar {
                    open: b.open * p,
                    high: b.high * p,
                    low: b.low * p,
                    close: b.close * p,
                    volume: b.volume / s,
                    adj_close: Some(b.close * f.total[i]),
                    dividend: match self {
                        PriceBasis::TotalReturn => 0.0,
                        _ => b.dividend * s,
                    },
                    split_coefficient: 1.0,
                    ..b.clone()
                }
            })
            .collect()
    }
}

impl fmt::Display for PriceBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a price basis.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown price basis {0:?}: expected raw, split_adjusted or total_return")]
pub struct ParsePriceBasisError(pub String);

impl FromStr for PriceBasis {
    type Err = ParsePriceBasisError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        PriceBasis::ALL
            .into_iter()
            .find(|b| b.as_str() == norm)
            .ok_or_else(|| ParsePriceBasisError(s.to_string()))
    }
}

/// The multiplicative factors of one series, aligned with its bars.
#[derive(Debug, Clone, PartialEq)]
pub struct Factors {
    /// Split and dividend factor: total-return price = raw price × `total`.
    pub total: Vec<f64>,
    /// Split-only factor: split-adjusted price = raw price × `split`.
    pub split: Vec<f64>,
    /// Where the factors came from.
    pub source: FactorSource,
}

/// Which rule produced a series' factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorSource {
    /// The vendor's adjusted close on every bar.
    VendorAdjustedClose,
    /// Split coefficients and dividends accumulated backwards.
    CorporateActions,
}

/// Ratios a split or reverse split commonly has (new shares per old share); reverse splits are
/// the reciprocals.
const SPLIT_RATIOS: [f64; 10] = [2.0, 3.0, 1.5, 4.0, 5.0, 1.25, 10.0, 7.0, 8.0, 20.0];

/// The common split ratio `r` (or its reciprocal) that `price_ratio` is within 3 % of, in log
/// terms. `price_ratio` is new price over old, so a 2:1 split gives 0.5 and returns 2.
pub fn split_like(price_ratio: f64) -> Option<f64> {
    if !(price_ratio.is_finite() && price_ratio > 0.0) {
        return None;
    }
    let lr = price_ratio.ln();
    SPLIT_RATIOS.iter().find_map(|&k| {
        if (lr + k.ln()).abs() < 0.03 {
            Some(k)
        } else if (lr - k.ln()).abs() < 0.03 {
            Some(1.0 / k)
        } else {
            None
        }
    })
}

/// The adjustment factors of one series (oldest first). Pure, so every rule is unit-tested
/// without a database.
pub fn factors(bars: &[Bar]) -> Factors {
    let close: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let adj: Vec<Option<f64>> = bars.iter().map(|b| b.adj_close).collect();
    let dividend: Vec<f64> = bars.iter().map(|b| b.dividend).collect();
    let split: Vec<f64> = bars.iter().map(|b| b.split_coefficient).collect();
    factors_of(&close, &adj, &dividend, &split)
}

/// [`factors`] over the columns of one series (oldest first, all the same length): the raw
/// close, the vendor's adjusted close, the dividend and the split coefficient of each bar. For
/// callers holding columns rather than [`Bar`]s (the feature kernels).
pub fn factors_of(close: &[f64], adj: &[Option<f64>], dividend: &[f64], splits: &[f64]) -> Factors {
    let n = close.len();
    let vendor =
        n > 0 && (0..n).all(|i| adj[i].is_some_and(|a| a > 0.0 && a.is_finite()) && close[i] > 0.0);
    let has_splits = splits.iter().any(|&k| k > 0.0 && k != 1.0);
    let mut total = vec![1.0; n];
    let mut split = vec![1.0; n];
    if vendor {
        for i in 0..n {
            total[i] = adj[i].map_or(1.0, |a| a / close[i]);
        }
        let mut s = 1.0;
        for i in (0..n).rev() {
            split[i] = s;
            let k = if has_splits {
                splits[i]
            } else if i > 0 {
                // The vendor ratio steps by the split ratio on the split day (and by a few
                // percent on an ex-dividend day).
                split_like(total[i - 1] / total[i]).unwrap_or(1.0)
            } else {
                1.0
            };
            if k > 0.0 && k != 1.0 {
                s /= k;
            }
        }
        return Factors {
            total,
            split,
            source: FactorSource::VendorAdjustedClose,
        };
    }
    let (mut p, mut s) = (1.0, 1.0);
    for i in (0..n).rev() {
        total[i] = p;
        split[i] = s;
        if splits[i] > 0.0 && splits[i] != 1.0 {
            p /= splits[i];
            s /= splits[i];
        }
        if dividend[i] > 0.0 && i > 0 && close[i - 1] > 0.0 {
            let keep = 1.0 - dividend[i] / close[i - 1];
            if keep > 0.0 {
                p *= keep;
            }
        }
    }
    Factors {
        total,
        split,
        source: FactorSource::CorporateActions,
    }
}

/// The corporate actions effective at the open of each bar: `(split, dividend)`, where
/// `split` is new shares per old share (1 for none) and `dividend` the cash paid per pre-split
/// share held into the ex-date (0 for none).
///
/// Explicit vendor data (split coefficients, dividends) is used when the series has any;
/// otherwise the actions are recovered from the steps of the vendor's adjusted-to-raw ratio
/// (see [`factors`]): a step by a common split ratio is a split, a smaller step down a dividend
/// of `close[t−1] · (1 − step)`. Steps below one part in a million are rounding in the
/// vendor's file, not dividends.
pub fn actions(bars: &[Bar]) -> Vec<(f64, f64)> {
    let n = bars.len();
    let explicit = bars
        .iter()
        .any(|b| (b.split_coefficient > 0.0 && b.split_coefficient != 1.0) || b.dividend > 0.0);
    if explicit {
        return bars
            .iter()
            .map(|b| {
                let k = if b.split_coefficient > 0.0 {
                    b.split_coefficient
                } else {
                    1.0
                };
                (k, b.dividend.max(0.0))
            })
            .collect();
    }
    let f = factors(bars);
    let mut out = vec![(1.0, 0.0); n];
    if f.source != FactorSource::VendorAdjustedClose {
        return out;
    }
    for i in 1..n {
        let k = f.split[i] / f.split[i - 1];
        // What is left of the factor step once the split is taken out: 1 − D / close[i−1].
        let keep = f.total[i - 1] / f.total[i] * k;
        let dividend = if keep < 1.0 - 1e-6 {
            bars[i - 1].close * (1.0 - keep)
        } else {
            0.0
        };
        out[i] = (if (k - 1.0).abs() > 1e-9 { k } else { 1.0 }, dividend);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Resolution, Source, Symbol};
    use chrono::{NaiveDate, Utc};

    fn bar(day: u32, close: f64, adj: Option<f64>, split: f64, div: f64) -> Bar {
        Bar {
            symbol: Symbol::new("T").expect("symbol"),
            resolution: Resolution::Daily,
            ts: NaiveDate::from_ymd_opt(2020, 1, day)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .expect("date"),
            tz: "America/New_York".into(),
            open: close,
            high: close,
            low: close,
            close,
            volume: 1000.0,
            adj_close: adj,
            dividend: div,
            split_coefficient: split,
            source: Source::File,
            ingested_at: Utc::now(),
        }
    }

    #[test]
    fn corporate_actions_accumulate_backwards() {
        // 100 → 2:1 split → 50 → 1.0 dividend at 50 → 49.
        let bars = vec![
            bar(2, 100.0, None, 1.0, 0.0),
            bar(3, 50.0, None, 2.0, 0.0),
            bar(6, 49.0, None, 1.0, 1.0),
        ];
        let f = factors(&bars);
        assert_eq!(f.source, FactorSource::CorporateActions);
        let keep = 1.0 - 1.0 / 50.0;
        assert!((f.total[0] - 0.5 * keep).abs() < 1e-15);
        assert!((f.total[1] - keep).abs() < 1e-15);
        assert_eq!(f.total[2], 1.0);
        assert_eq!(f.split, vec![0.5, 1.0, 1.0]);
        let tr = PriceBasis::TotalReturn.apply(&bars);
        // Buy and hold from the first close earns the holder's return: 0 % over the split,
        // then the dividend offsets the drop.
        assert!((tr[1].close / tr[0].close - 1.0).abs() < 1e-12);
        assert!((tr[2].close / tr[1].close - 49.0 / 49.0).abs() < 1e-12);
        let sa = PriceBasis::SplitAdjusted.apply(&bars);
        assert!((sa[1].close / sa[0].close - 1.0).abs() < 1e-12);
        assert!((sa[2].close / sa[1].close - 0.98).abs() < 1e-12);
        assert_eq!(sa[0].volume, 2000.0);
        assert_eq!(PriceBasis::Raw.apply(&bars), bars);
    }

    #[test]
    fn vendor_ratio_gives_total_and_inferred_splits() {
        // A file with only Adj Close: a 2:1 split on day 3 and a small dividend on day 6.
        let bars = vec![
            bar(2, 100.0, Some(48.0), 1.0, 0.0),
            bar(3, 51.0, Some(48.96), 1.0, 0.0),
            bar(6, 50.0, Some(49.5), 1.0, 0.0),
        ];
        let f = factors(&bars);
        assert_eq!(f.source, FactorSource::VendorAdjustedClose);
        assert_eq!(f.total[0], 0.48);
        assert_eq!(f.split, vec![0.5, 1.0, 1.0]);
    }

    #[test]
    fn actions_from_the_vendor_ratio_and_from_explicit_data() {
        // 2:1 split on day 3, a 1.0 dividend on day 6 (close 51 the day before).
        let keep = 1.0 - 1.0 / 51.0;
        let bars = vec![
            bar(2, 100.0, Some(0.5 * keep * 100.0), 1.0, 0.0),
            bar(3, 51.0, Some(keep * 51.0), 1.0, 0.0),
            bar(6, 50.0, Some(50.0), 1.0, 0.0),
        ];
        let a = actions(&bars);
        assert_eq!(a[0], (1.0, 0.0));
        assert!((a[1].0 - 2.0).abs() < 1e-12 && a[1].1 == 0.0, "{a:?}");
        assert!(a[2].0 == 1.0 && (a[2].1 - 1.0).abs() < 1e-9, "{a:?}");
        let explicit = vec![
            bar(2, 100.0, None, 1.0, 0.0),
            bar(3, 50.0, None, 2.0, 0.0),
            bar(6, 49.0, None, 1.0, 1.0),
        ];
        assert_eq!(actions(&explicit), vec![(1.0, 0.0), (2.0, 0.0), (1.0, 1.0)]);
    }

    #[test]
    fn split_ratios() {
        assert_eq!(split_like(0.5), Some(2.0));
        assert_eq!(split_like(2.0), Some(0.5));
        assert_eq!(split_like(0.8), Some(1.25));
        assert_eq!(split_like(0.1), Some(10.0));
        assert_eq!(split_like(0.9), None);
        assert_eq!(split_like(0.97), None);
        assert_eq!(split_like(f64::NAN), None);
    }

    #[test]
    fn basis_names_round_trip() {
        for b in PriceBasis::ALL {
            assert_eq!(b.as_str().parse::<PriceBasis>(), Ok(b));
        }
        assert_eq!("split-adjusted".parse(), Ok(PriceBasis::SplitAdjusted));
        assert!("adjusted".parse::<PriceBasis>().is_err());
        assert_eq!(PriceBasis::default(), PriceBasis::TotalReturn);
    }
}
