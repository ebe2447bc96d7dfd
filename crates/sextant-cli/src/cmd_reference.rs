//! Reference data on the command line: `ingest actions|macro|listings` and `data
//! symbols|macro|instruments|market-status|fx-rate|actions`, over the `ReferenceService`.

use crate::output::{price, table};
use anyhow::{bail, Result};
use chrono::NaiveDate;
use sextant_core::Services;
use sextant_domain::{Indicator, Instrument, SeriesKey, Symbol};
use std::path::Path;

/// The series `series` names: an indicator (`treasury_yield`) with `interval` (default: the
/// finest the vendor serves, daily, or monthly for CPI) and `maturity`, or a whole series id
/// (`treasury_yield_3month_daily`), which takes neither.
pub fn series_key(
    series: &str,
    interval: Option<&str>,
    maturity: Option<&str>,
) -> Result<SeriesKey> {
    match series.parse::<Indicator>() {
        Ok(indicator) => {
            // The vendor lists the finest interval first: daily, or monthly for CPI.
            let interval = interval
                .or_else(|| indicator.intervals().first().copied())
                .unwrap_or("monthly");
            Ok(SeriesKey::new(indicator, interval, maturity)?)
        }
        Err(_) => {
            if interval.is_some() || maturity.is_some() {
                bail!(
                    "--interval and --maturity go with an indicator (treasury_yield, \
                     federal_funds_rate, cpi), not with the series id {series:?}"
                );
            }
            Ok(SeriesKey::parse_id(series)?)
        }
    }
}

/// `ingest actions`: dividends and splits per symbol; a failed symbol is reported and the
/// others go on (the command fails at the end).
pub async fn ingest_actions(s: &Services, symbols: &[Symbol]) -> Result<()> {
    let av = s.alphavantage()?;
    let mut rows = Vec::new();
    let mut failures = 0usize;
    for sym in symbols {
        match s.reference.refresh_actions(&av, sym).await {
            Ok(o) => rows.push(vec![
                o.symbol,
                o.dividends.to_string(),
                o.splits.to_string(),
                "ok".into(),
            ]),
            Err(e) => {
                failures += 1;
                rows.push(vec![sym.to_string(), "0".into(), "0".into(), e.to_string()]);
            }
        }
    }
    table(&["symbol", "dividends", "splits", "status"], &rows);
    if failures > 0 {
        bail!(
            "{failures} of {} symbols failed (nothing of a failed symbol was written)",
            symbols.len()
        );
    }
    Ok(())
}

/// `ingest macro`: fetch `key`, or import it from `file`.
pub async fn ingest_macro(s: &Services, key: &SeriesKey, file: Option<&Path>) -> Result<()> {
    let out = match file {
        Some(path) => s.reference.import_macro(key, path)?,
        None => {
            s.reference
                .refresh_macro(s.alphavantage()?.as_ref(), key)
                .await?
        }
    };
    println!(
        "{}: {} observations ({} missing) from {}",
        out.series, out.observations, out.missing, out.request
    );
    Ok(())
}

/// `ingest listings`: the vendor's directory of one state.
pub async fn ingest_listings(s: &Services, delisted: bool) -> Result<()> {
    let n = s
        .reference
        .refresh_listings(s.alphavantage()?.as_ref(), delisted)
        .await?;
    let state = if delisted { "delisted" } else { "active" };
    println!("{n} {state} listings stored (search them with `sextant data symbols --search`)");
    Ok(())
}

/// `data symbols --search`: the local directory and cache, or the vendor's search.
pub async fn symbols(s: &Services, query: &str, vendor: bool, limit: usize) -> Result<()> {
    if vendor {
        let found = s
            .reference
            .search_vendor(s.alphavantage()?.as_ref(), query)
            .await?;
        let rows: Vec<Vec<String>> = found
            .into_iter()
            .take(limit)
            .map(|m| {
                vec![
                    m.symbol,
                    m.name,
                    m.kind,
                    m.region,
                    m.currency,
                    format!("{:.4}", m.match_score),
                ]
            })
            .collect();
        table(
            &["symbol", "name", "type", "region", "currency", "score"],
            &rows,
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = s
        .reference
        .search(query, limit)?
        .into_iter()
        .map(|e| {
            vec![
                e.symbol,
                e.name,
                e.exchange,
                e.asset_type,
                e.status,
                if e.cached { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    if rows.is_empty() {
        println!(
            "no symbol matches {query:?} (fill the directory with `sextant ingest listings`, or \
             ask the vendor with --vendor)"
        );
        return Ok(());
    }
    table(
        &["symbol", "name", "exchange", "type", "status", "cached"],
        &rows,
    );
    Ok(())
}

/// `data macro`: every stored series.
pub fn macro_list(s: &Services) -> Result<()> {
    let rows: Vec<Vec<String>> = s
        .reference
        .macro_series()?
        .into_iter()
        .map(|e| {
            let day = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
            vec![
                e.series,
                e.name,
                e.unit,
                e.observations.to_string(),
                day(e.first),
                day(e.last),
            ]
        })
        .collect();
    if rows.is_empty() {
        println!(
            "no economic series stored (`sextant ingest macro treasury_yield --maturity 3month`)"
        );
        return Ok(());
    }
    table(&["series", "name", "unit", "rows", "first", "last"], &rows);
    Ok(())
}

/// `data macro SERIES`: its observations in `[from, to]`, each with the first day it may be
/// used (its release lag applied).
pub fn macro_show(
    s: &Services,
    id: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<()> {
    let key = SeriesKey::parse_id(id)?;
    let stored = s.reference.macro_series()?;
    let Some(summary) = stored.iter().find(|e| e.series == key.id()) else {
        bail!(
            "{} is not stored (stored: {}); fetch it with `sextant ingest macro`",
            key.id(),
            stored
                .iter()
                .map(|e| e.series.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let rows: Vec<Vec<String>> = s
        .reference
        .macro_observations(&key)?
        .into_iter()
        .filter(|o| from.is_none_or(|f| o.date >= f) && to.is_none_or(|t| o.date <= t))
        .map(|o| {
            vec![
                o.date.to_string(),
                o.value.map_or_else(|| "missing".into(), |v| v.to_string()),
                key.available_from(o.date).to_string(),
            ]
        })
        .collect();
    table(&["date", "value", "usable from"], &rows);
    println!(
        "{} observations of {} ({}, {})",
        rows.len(),
        key.id(),
        summary.name,
        summary.unit
    );
    Ok(())
}

/// `data instruments`: every cached symbol and every recorded instrument.
pub fn instruments(s: &Services) -> Result<()> {
    let recorded = s.reference.instruments()?;
    let cached = s.market_data.symbols()?;
    let mut records = recorded.clone();
    for info in &cached {
        if !records.iter().any(|i| i.symbol.as_str() == info.symbol) {
            records.push(Instrument::us_equity(Symbol::new(&info.symbol)?));
        }
    }
    records.sort_by(|a, b| a.symbol.as_str().cmp(b.symbol.as_str()));
    let rows: Vec<Vec<String>> = records
        .into_iter()
        .map(|i| {
            let has_record = recorded.iter().any(|r| r.symbol == i.symbol);
            let is_cached = cached.iter().any(|c| c.symbol == i.symbol.as_str());
            vec![
                i.symbol.to_string(),
                i.asset_class.to_string(),
                i.session.to_string(),
                i.base.unwrap_or_default(),
                i.quote.unwrap_or_default(),
                if has_record { "yes" } else { "no (default)" }.into(),
                if is_cached { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    table(
        &[
            "symbol", "asset", "session", "base", "quote", "recorded", "cached",
        ],
        &rows,
    );
    Ok(())
}

/// `data market-status`.
pub async fn market_status(s: &Services) -> Result<()> {
    let rows: Vec<Vec<String>> = s
        .reference
        .market_status(s.alphavantage()?.as_ref())
        .await?
        .into_iter()
        .map(|m| {
            vec![
                m.market_type,
                m.region,
                m.primary_exchanges,
                m.local_open.format("%H:%M").to_string(),
                m.local_close.format("%H:%M").to_string(),
                m.current_status,
                m.notes,
            ]
        })
        .collect();
    table(
        &[
            "market",
            "region",
            "exchanges",
            "open",
            "close",
            "status",
            "notes",
        ],
        &rows,
    );
    Ok(())
}

/// `data fx-rate FROM TO`.
pub async fn fx_rate(s: &Services, from: &str, to: &str) -> Result<()> {
    let r = s
        .reference
        .exchange_rate(s.alphavantage()?.as_ref(), from, to)
        .await?;
    let spread = match (r.bid, r.ask) {
        (Some(b), Some(a)) => format!(" (bid {}, ask {})", price(b), price(a)),
        _ => String::new(),
    };
    println!(
        "{}/{} {}{spread}, refreshed {} UTC ({} → {})",
        r.from,
        r.to,
        price(r.rate),
        r.last_refreshed.format("%Y-%m-%d %H:%M"),
        r.from_name,
        r.to_name
    );
    Ok(())
}

/// `data actions SYMBOL`: the stored dividends and splits.
pub fn actions(s: &Services, symbol: &Symbol) -> Result<()> {
    let dividends = s.cache.dividends(symbol)?;
    let splits = s.cache.splits(symbol)?;
    let fetched = s.cache.actions_fetched(symbol)?;
    if dividends.is_empty() && splits.is_empty() {
        println!(
            "no dividends or splits stored for {symbol}{}",
            if fetched {
                " (fetched: it has none)"
            } else {
                " (fetch them with `sextant ingest actions`)"
            }
        );
        return Ok(());
    }
    let day = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let rows: Vec<Vec<String>> = dividends
        .iter()
        .map(|d| {
            vec![
                d.ex_date.to_string(),
                price(d.amount),
                day(d.declaration_date),
                day(d.record_date),
                day(d.payment_date),
            ]
        })
        .collect();
    if !rows.is_empty() {
        table(&["ex-date", "amount", "declared", "record", "paid"], &rows);
        println!();
    }
    let rows: Vec<Vec<String>> = splits
        .iter()
        .map(|x| vec![x.effective_date.to_string(), format!("{}", x.factor)])
        .collect();
    if !rows.is_empty() {
        table(&["split date", "factor"], &rows);
        println!();
    }
    println!(
        "{symbol}: {} dividends, {} splits{}",
        dividends.len(),
        splits.len(),
        if fetched {
            ""
        } else {
            " (not fetched from the vendor: from a file or an adjusted download)"
        }
    );
    Ok(())
}
