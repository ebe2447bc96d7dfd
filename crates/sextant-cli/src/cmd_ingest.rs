//! `sextant ingest ...`: load market data into the cache.

use anyhow::Result;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use sextant_core::Services;
use sextant_data::cache::{FileOptions, IngestSummary};
use sextant_domain::{AssetClass, Resolution, Source, Symbol};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum IngestCmd {
    /// Fetch from Alpha Vantage (key from ALPHAVANTAGE_API_KEY). Asks only for what the cache is
    /// missing: full history the first time, the compact window after, nothing when up to date.
    Alphavantage {
        /// One or more symbols.
        #[arg(required = true)]
        symbols: Vec<Symbol>,
        #[arg(long, default_value = "daily")]
        resolution: Resolution,
        /// Use the adjusted endpoints (adjusted close, dividends, split coefficients).
        #[arg(long)]
        adjusted: bool,
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
            };
            let pb = spinner(format!("ingesting {}", path.display()));
            let t = Instant::now();
            let r = s.market_data.ingest_file(&path, &opts);
            pb.finish_and_clear();
            print_summary(&r?, t.elapsed());
            s.quality.sync_flags().await?;
        }
        IngestCmd::Alphavantage {
            symbols,
            resolution,
            adjusted,
        } => {
            let provider = s.alphavantage()?;
            let pb = ProgressBar::new(symbols.len() as u64);
            pb.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let today = chrono::Utc::now().date_naive();
            let mut rows = Vec::new();
            let mut failures = 0usize;
            for sym in &symbols {
                pb.set_message(sym.to_string());
                let out = s
                    .market_data
                    .refresh(
                        provider.as_ref(),
                        sym,
                        resolution,
                        adjusted || s.config.alphavantage.adjusted,
                        today,
                    )
                    .await;
                match out {
                    Ok(o) => {
                        let (n, new, upd, held) = o
                            .summary
                            .as_ref()
                            .map(|x| (x.rows_in, x.inserted, x.updated, x.quarantined))
                            .unwrap_or((0, 0, 0, 0));
                        rows.push(vec![
                            o.symbol,
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
                            sym.to_string(),
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
