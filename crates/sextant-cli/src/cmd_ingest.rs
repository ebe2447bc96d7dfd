//! `sextant ingest ...`: load market data into the cache.

use anyhow::Result;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use sextant_core::Services;
use sextant_data::cache::{CsvReader, FileOptions, IngestSummary};
use sextant_domain::{AssetClass, Instrument, Resolution, Source, Symbol};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum IngestCmd {
    /// Fetch from Alpha Vantage (key from ALPHAVANTAGE_API_KEY). Asks only for what the cache is
    /// missing: full history the first time, the compact window after, nothing when up to date.
    ///
    /// Examples: `ingest alphavantage IBM MSFT`, `ingest alphavantage EURUSD --asset fx`,
    /// `ingest alphavantage BTC --asset crypto --market USD` (stored as BTCUSD).
    Alphavantage {
        /// One or more symbols.
        #[arg(required = true)]
        symbols: Vec<Symbol>,
        #[arg(long, default_value = "daily")]
        resolution: Resolution,
        /// Use the adjusted endpoints (adjusted close, dividends, split coefficients).
        #[arg(long)]
        adjusted: bool,
        /// What the symbols are: us_equity, equity, fx (pairs such as EURUSD; 24x5, days close
        /// 17:00 New York), crypto (BTCUSD, or BTC with --market; 24x7, days close 00:00 UTC),
        /// index. Recorded with the bars. Default: what the cache knows each symbol to be (a US
        /// equity when it has no record).
        #[arg(long)]
        asset: Option<AssetClass>,
        /// With `--asset crypto`: the market currency (USD), so that symbols may be coins
        /// (BTC, stored as BTCUSD). Without it a crypto symbol must be a pair such as BTCUSD.
        #[arg(long, requires = "asset")]
        market: Option<String>,
    },
    /// Fetch dividends and splits (Alpha Vantage DIVIDENDS and SPLITS) and store both in one
    /// transaction per symbol; raw prices then adjust by them.
    Actions {
        /// One or more symbols.
        #[arg(required = true)]
        symbols: Vec<Symbol>,
    },
    /// Fetch an economic series (TREASURY_YIELD, FEDERAL_FUNDS_RATE, CPI), or import one saved
    /// in the vendor's shape with --file; the stored copy is replaced.
    ///
    /// Examples: `ingest macro treasury_yield --maturity 3month` (the backtests' default
    /// risk-free rate), `ingest macro cpi`, `ingest macro federal_funds_rate --interval monthly`,
    /// `ingest macro treasury_yield_10year_daily --file t10.csv`.
    Macro {
        /// An indicator (treasury_yield, federal_funds_rate, cpi) or a whole series id
        /// (treasury_yield_3month_daily).
        series: String,
        /// daily, weekly, monthly or semiannual. Default: daily for treasury_yield and
        /// federal_funds_rate, monthly for cpi.
        #[arg(long)]
        interval: Option<String>,
        /// Treasury yields: 3month, 2year, 5year, 7year, 10year or 30year.
        #[arg(long)]
        maturity: Option<String>,
        /// Import this file instead of fetching: the vendor's JSON answer or its
        /// `timestamp,value` CSV (a missing value written `.`).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Fetch the vendor's symbol directory (LISTING_STATUS) for `data symbols --search`.
    Listings {
        /// The delisted securities instead of the active ones (each state is stored apart).
        #[arg(long)]
        delisted: bool,
    },
    /// Load a CSV (optionally .gz) or Parquet file. Recognises `Date,Open,High,Low,Close,Adj Close,Volume`,
    /// the long `Ticker,Date,...` layout, intraday `Datetime`/`timestamp` columns and an unnamed
    /// index column; other names can be mapped with --map.
    File {
        path: PathBuf,
        /// Symbol for files without a ticker column.
        #[arg(long)]
        symbol: Option<Symbol>,
        /// Resolution (inferred from the timestamps when omitted).
        #[arg(long)]
        resolution: Option<Resolution>,
        /// Time zone of the data's clock (default: New York for equities, UTC for `--asset fx`
        /// and `--asset crypto`).
        #[arg(long)]
        tz: Option<String>,
        /// What the file holds: us_equity (default for symbols without a record), equity (another
        /// venue, Monday to Friday), fx (24x5, days close 17:00 New York), crypto (24x7, days
        /// close 00:00 UTC), index. Stored with the symbol; its sessions govern the checks.
        #[arg(long)]
        asset: Option<AssetClass>,
        /// Intraday timestamps in the file are UTC (default: exchange-local).
        #[arg(long)]
        utc: bool,
        /// Read a CSV with DuckDB's read_csv even when sextant's faster reader could (the two
        /// store the same rows; this is the reference path).
        #[arg(long)]
        duckdb_reader: bool,
        /// Column mapping FIELD=COLUMN (fields: symbol, time, open, high, low, close, volume,
        /// adj_close, dividend, split). Repeatable.
        #[arg(long = "map", value_parser = parse_map)]
        map: Vec<(String, String)>,
    },
    /// Load the bundled sample (real daily prices 2000-2013; public domain, Quandl WIKI).
    Sample,
}

fn parse_map(s: &str) -> Result<(String, String), String> {
    let (f, c) = s
        .split_once('=')
        .ok_or_else(|| format!("expected FIELD=COLUMN, got {s:?}"))?;
    const FIELDS: [&str; 10] = [
        "symbol",
        "time",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "adj_close",
        "dividend",
        "split",
    ];
    if !FIELDS.contains(&f) {
        return Err(format!("unknown field {f:?}; fields are {FIELDS:?}"));
    }
    Ok((f.to_string(), c.to_string()))
}

fn spinner(msg: String) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(msg);
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

pub fn print_summary(s: &IngestSummary, elapsed: Duration) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "{}: {} rows in {:.2} s ({:.0} rows/s): {} new, {} updated, {} unchanged (batch {})",
        s.request,
        s.rows_in,
        secs,
        s.rows_in as f64 / secs,
        s.inserted,
        s.updated,
        s.unchanged,
        s.batch_id
    );
    let q = &s.quality;
    if q.flags > 0 || q.gaps > 0 {
        let checks = q
            .by_check
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "quality: {} rows judged, {} flags ({checks}); {} rows quarantined (`sextant quality ls`), {} notices; {} gaps ({} missing bars)",
            q.judged, q.flags, s.quarantined, q.notices, q.gaps, q.missing_bars
        );
    }
    let rows: Vec<Vec<String>> = s
        .series
        .iter()
        .map(|r| {
            vec![
                r.symbol.clone(),
                r.resolution.to_string(),
                r.first_ts.to_string(),
                r.last_ts.to_string(),
                r.rows.to_string(),
            ]
        })
        .collect();
    crate::output::table(&["symbol", "resolution", "first", "last", "rows"], &rows);
}

pub async fn run(cmd: IngestCmd, s: &Services) -> Result<()> {
    match cmd {
        IngestCmd::Sample => {
            let pb = spinner("loading the bundled sample".into());
            let t = Instant::now();
            let r = s.cache.ingest_sample();
            pb.finish_and_clear();
            print_summary(&r?, t.elapsed());
            s.quality.sync_flags().await?;
        }
        IngestCmd::File {
            path,
            symbol,
            resolution,
            tz,
            asset,
            utc,
            map,
            duckdb_reader,
        } => {
            let around_the_clock = asset.is_some_and(|a| a.default_session().is_around_the_clock());
            let tz = tz.unwrap_or_else(|| {
                if around_the_clock {
                    "UTC".into()
                } else {
                    sextant_domain::DEFAULT_EXCHANGE_TZ.into()
                }
            });
            let opts = FileOptions {
                symbol,
                resolution,
                tz,
                timestamps_utc: utc,
                columns: map,
                source: Source::File,
                asset,
                reader: if duckdb_reader {
                    CsvReader::DuckDb
                } else {
                    CsvReader::Auto
                },
            };
            let pb = spinner(format!("ingesting {}", path.display()));
            let t = Instant::now();
            let r = s.market_data.ingest_file(&path, &opts);
            pb.finish_and_clear();
            print_summary(&r?, t.elapsed());
            s.quality.sync_flags().await?;
        }
        IngestCmd::Actions { symbols } => crate::cmd_reference::ingest_actions(s, &symbols).await?,
        IngestCmd::Macro {
            series,
            interval,
            maturity,
            file,
        } => {
            let key = crate::cmd_reference::series_key(
                &series,
                interval.as_deref(),
                maturity.as_deref(),
            )?;
            crate::cmd_reference::ingest_macro(s, &key, file.as_deref()).await?
        }
        IngestCmd::Listings { delisted } => {
            crate::cmd_reference::ingest_listings(s, delisted).await?
        }
        IngestCmd::Alphavantage {
            symbols,
            resolution,
            adjusted,
            asset,
            market,
        } => {
            // With --asset every symbol is fetched (and recorded) as that instrument; a symbol
            // that cannot be one (an FX symbol that is not a pair) stops the command before any
            // request is sent.
            let instruments: Vec<Option<Instrument>> = match asset {
                Some(a) => symbols
                    .iter()
                    .map(|sym| Instrument::requested(sym, a, market.as_deref()).map(Some))
                    .collect::<Result<_, _>>()?,
                None => vec![None; symbols.len()],
            };
            let provider = s.alphavantage()?;
            let pb = ProgressBar::new(symbols.len() as u64);
            pb.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let today = chrono::Utc::now().date_naive();
            let mut rows = Vec::new();
            let mut failures = 0usize;
            let adjusted = adjusted || s.config.alphavantage.adjusted;
            for (sym, instrument) in symbols.iter().zip(&instruments) {
                pb.set_message(sym.to_string());
                let out = match instrument {
                    Some(i) => {
                        s.market_data
                            .refresh_instrument(provider.as_ref(), i, resolution, adjusted, today)
                            .await
                    }
                    None => {
                        s.market_data
                            .refresh(provider.as_ref(), sym, resolution, adjusted, today)
                            .await
                    }
                };
                let stored = instrument.as_ref().map_or(sym, |i| &i.symbol);
                let known = match instrument {
                    Some(i) => i.clone(),
                    None => s.reference.instrument(stored)?,
                };
                let (class, session) = (known.asset_class.to_string(), known.session.to_string());
                match out {
                    Ok(o) => {
                        let (n, new, upd, held) = o
                            .summary
                            .as_ref()
                            .map(|x| (x.rows_in, x.inserted, x.updated, x.quarantined))
                            .unwrap_or((0, 0, 0, 0));
                        rows.push(vec![
                            o.symbol,
                            class,
                            session,
                            o.plan,
                            n.to_string(),
                            new.to_string(),
                            upd.to_string(),
                            held.to_string(),
                            "ok".into(),
                        ]);
                    }
                    Err(e) => {
                        failures += 1;
                        rows.push(vec![
                            stored.to_string(),
                            class,
                            session,
                            "-".into(),
                            "0".into(),
                            "0".into(),
                            "0".into(),
                            "0".into(),
                            e.to_string(),
                        ]);
                    }
                }
                pb.inc(1);
            }
            pb.finish_and_clear();
            crate::output::table(
                &[
                    "symbol",
                    "asset",
                    "session",
                    "request",
                    "rows",
                    "new",
                    "updated",
                    "quarantined",
                    "status",
                ],
                &rows,
            );
            s.quality.sync_flags().await?;
            if failures > 0 {
                anyhow::bail!(
                    "{failures} of {} symbols failed (nothing of a failed symbol was written)",
                    symbols.len()
                );
            }
        }
    }
    Ok(())
}
