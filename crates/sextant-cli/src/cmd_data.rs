//! `sextant data ...`: inspect and export the cache.

use crate::output::{price, table};
use anyhow::Result;
use chrono::NaiveDate;
use clap::{Subcommand, ValueEnum};
use sextant_core::Services;
use sextant_data::cache::Slice;
use sextant_domain::{PriceBasis, Resolution, Symbol};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum DataCmd {
    /// List the symbols in the cache with their resolutions and ranges.
    Ls,
    /// Print one symbol's bars.
    Show {
        symbol: Symbol,
        /// First session (YYYY-MM-DD), inclusive.
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Last session (YYYY-MM-DD), inclusive.
        #[arg(long)]
        to: Option<NaiveDate>,
        /// 1min, 5min, 15min, 30min, 60min, daily, weekly, monthly. Coarser resolutions that are
        /// not stored are derived from the finest stored one.
        #[arg(long, default_value = "daily")]
        resolution: Resolution,
        /// Price basis: raw (the traded prints, the default here), split_adjusted or
        /// total_return (splits and dividends; what backtests use by default).
        #[arg(long, default_value = "raw")]
        prices: PriceBasis,
        /// Shorthand for `--prices total_return`.
        #[arg(long, conflicts_with = "prices")]
        adjusted: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Which ranges are cached, from which source, refreshed when.
    Coverage { symbol: Option<Symbol> },
    /// Export a slice of the cache to Parquet.
    Export {
        #[arg(long)]
        out: PathBuf,
        /// Repeatable; default: every symbol.
        #[arg(long = "symbol")]
        symbols: Vec<Symbol>,
        #[arg(long)]
        resolution: Option<Resolution>,
        #[arg(long)]
        from: Option<NaiveDate>,
        #[arg(long)]
        to: Option<NaiveDate>,
    },
    /// Import a Parquet file written by `data export` (an idempotent upsert).
    Import { file: PathBuf },
    /// Materialise a coarser resolution from a finer one (e.g. daily → weekly).
    Resample {
        symbol: Symbol,
        #[arg(long = "from-resolution", default_value = "daily")]
        from_resolution: Resolution,
        #[arg(long = "to-resolution")]
        to_resolution: Resolution,
    },
    /// Find symbols by ticker or name: in the stored directory (`ingest listings`) and the
    /// cache, or with --vendor in Alpha Vantage's SYMBOL_SEARCH (any listed instrument).
    Symbols {
        /// Part of a ticker or a name, case-insensitive (`apple`, `MS`).
        #[arg(long)]
        search: String,
        /// Ask the vendor (one request) instead of the local directory.
        #[arg(long)]
        vendor: bool,
        /// Most matches shown.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Stored economic series; with a series id, its observations.
    Macro {
        /// A series id such as treasury_yield_3month_daily (see the list without it).
        series: Option<String>,
        /// First observation date shown (YYYY-MM-DD), inclusive.
        #[arg(long, requires = "series")]
        from: Option<NaiveDate>,
        /// Last observation date shown (YYYY-MM-DD), inclusive.
        #[arg(long, requires = "series")]
        to: Option<NaiveDate>,
    },
    /// What each symbol is (asset class, session model, base and quote currency).
    Instruments,
    /// Which of the world's markets are open now (Alpha Vantage MARKET_STATUS).
    MarketStatus,
    /// The latest exchange rate of a currency or coin pair (Alpha Vantage
    /// CURRENCY_EXCHANGE_RATE), e.g. `data fx-rate EUR USD`.
    FxRate {
        /// The currency converted from (EUR, BTC).
        from: String,
        /// The currency converted to (USD).
        to: String,
    },
    /// A symbol's stored dividends and splits (`ingest actions` fetches them).
    Actions { symbol: Symbol },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

pub async fn run(cmd: DataCmd, s: &Services) -> Result<()> {
    let md = &s.market_data;
    match cmd {
        DataCmd::Ls => {
            let rows: Vec<Vec<String>> = md
                .symbols()?
                .into_iter()
                .map(|i| {
                    vec![
                        i.symbol,
                        i.resolutions.join(","),
                        i.first_ts.date().to_string(),
                        i.last_ts.date().to_string(),
                        i.rows.to_string(),
                    ]
                })
                .collect();
            table(&["symbol", "resolutions", "first", "last", "rows"], &rows);
        }
        DataCmd::Show {
            symbol,
            from,
            to,
            resolution,
            prices,
            adjusted,
            format,
        } => {
            let basis = if adjusted {
                PriceBasis::TotalReturn
            } else {
                prices
            };
            show(s, &symbol, from, to, resolution, basis, format)?
        }
        DataCmd::Coverage { symbol } => {
            let mut rows = Vec::new();
            for c in md.coverage(symbol.as_ref())? {
                for r in &c.ranges {
                    rows.push(vec![
                        c.symbol.clone(),
                        c.resolution.to_string(),
                        fmt_ts(r.first_ts, c.resolution.as_str()),
                        fmt_ts(r.last_ts, c.resolution.as_str()),
                        c.rows.to_string(),
                        r.sources.join(","),
                        r.last_refreshed.format("%Y-%m-%d %H:%M:%S").to_string(),
                    ]);
                }
            }
            table(
                &[
                    "symbol",
                    "resolution",
                    "from",
                    "to",
                    "rows",
                    "sources",
                    "refreshed (UTC)",
                ],
                &rows,
            );
        }
        DataCmd::Export {
            out,
            symbols,
            resolution,
            from,
            to,
        } => {
            let slice = Slice {
                symbols,
                resolution,
                from,
                to,
            };
            let n = s.cache.export_parquet(&slice, &out)?;
            println!("wrote {n} rows to {}", out.display());
            println!("snapshot sha256 {}", s.cache.snapshot_hash(&slice)?);
        }
        DataCmd::Import { file } => {
            let r = s.cache.import_parquet(&file)?;
            println!(
                "imported {}: {} rows, {} new, {} updated, {} unchanged",
                file.display(),
                r.rows_in,
                r.inserted,
                r.updated,
                r.unchanged
            );
        }
        DataCmd::Resample {
            symbol,
            from_resolution,
            to_resolution,
        } => {
            let r = s.cache.resample(&symbol, from_resolution, to_resolution)?;
            println!(
                "{symbol} {from_resolution} -> {to_resolution}: {} bars, {} new, {} updated",
                r.rows_in, r.inserted, r.updated
            );
        }
        DataCmd::Symbols {
            search,
            vendor,
            limit,
        } => crate::cmd_reference::symbols(s, &search, vendor, limit).await?,
        DataCmd::Macro { series, from, to } => match series {
            None => crate::cmd_reference::macro_list(s)?,
            Some(id) => crate::cmd_reference::macro_show(s, &id, from, to)?,
        },
        DataCmd::Instruments => crate::cmd_reference::instruments(s)?,
        DataCmd::MarketStatus => crate::cmd_reference::market_status(s).await?,
        DataCmd::FxRate { from, to } => crate::cmd_reference::fx_rate(s, &from, &to).await?,
        DataCmd::Actions { symbol } => crate::cmd_reference::actions(s, &symbol)?,
    }
    Ok(())
}

fn fmt_ts(ts: chrono::NaiveDateTime, resolution: &str) -> String {
    match resolution.parse::<Resolution>() {
        Ok(r) if r.is_intraday() => ts.format("%Y-%m-%d %H:%M UTC").to_string(),
        _ => ts.date().to_string(),
    }
}

fn show(
    s: &Services,
    symbol: &Symbol,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    resolution: Resolution,
    basis: PriceBasis,
    format: Format,
) -> Result<()> {
    let headers = ["ts", "open", "high", "low", "close", "volume", "held"];
    let bars = s.market_data.bars_on(symbol, resolution, from, to, basis)?;
    // Bars the quality checks keep out of the cache are shown in place, marked, with their
    // stored (raw) values: a range never silently looks complete.
    let held = s
        .market_data
        .held_bars(std::slice::from_ref(symbol), resolution, from, to)?;
    let mut rows: Vec<(chrono::NaiveDateTime, Vec<String>)> = bars
        .into_iter()
        .map(|b| {
            let row = vec![
                fmt_ts(b.ts, resolution.as_str()),
                price(b.open),
                price(b.high),
                price(b.low),
                price(b.close),
                format!("{:.0}", b.volume),
                String::new(),
            ];
            (b.ts, row)
        })
        .collect();
    for h in &held {
        let q = s.cache.quarantined_bar(h.quarantine_id)?;
        let vals = q.as_ref().map_or([f64::NAN; 5], |q| {
            [q.open, q.high, q.low, q.close, q.volume]
        });
        let mut row = vec![fmt_ts(h.ts, resolution.as_str())];
        row.extend(vals[..4].iter().map(|&v| price(v)));
        row.push(format!("{:.0}", vals[4]));
        row.push(format!(
            "{} #{} ({}, raw)",
            h.status, h.quarantine_id, h.reasons
        ));
        rows.push((h.ts, row));
    }
    rows.sort_by_key(|r| r.0);
    let mut rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.1).collect();
    let mut headers = headers.to_vec();
    if held.is_empty() {
        // Nothing held: the plain OHLCV layout (what `ingest file` reads back).
        headers.pop();
        rows.iter_mut().for_each(|r| {
            r.pop();
        });
    }
    if rows.is_empty() {
        let known: Vec<String> = s
            .market_data
            .symbols()?
            .into_iter()
            .map(|i| i.symbol)
            .collect();
        anyhow::bail!(
            "no {resolution} bars for {symbol} in that range (symbols in the cache: {})",
            known.join(", ")
        );
    }
    match format {
        Format::Table => {
            table(&headers, &rows);
            println!(
                "{} bars of {symbol} ({resolution}, {basis} prices){}",
                rows.len() - held.len(),
                if held.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} held by the quality checks, shown marked (`sextant quality ls`)",
                        held.len()
                    )
                }
            );
        }
        Format::Csv => {
            println!("{}", headers.join(","));
            for r in rows {
                println!("{}", r.join(","));
            }
        }
        Format::Json => {
            let objs: Vec<serde_json::Value> = rows
                .into_iter()
                .map(|r| {
                    let mut m = serde_json::Map::new();
                    for (h, v) in headers.iter().zip(r) {
                        let val = v
                            .parse::<f64>()
                            .map(serde_json::Value::from)
                            .unwrap_or(serde_json::Value::String(v));
                        m.insert((*h).to_string(), val);
                    }
                    serde_json::Value::Object(m)
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&objs)?);
        }
    }
    Ok(())
}
