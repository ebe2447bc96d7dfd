//! Watchlists on the real stores (DuckDB cache with the bundled sample, embedded metadata):
//! CRUD, symbol handling, typed validation errors, keyset pagination, and quotes checked against
//! returns computed here from the cached bars.

use chrono::{Datelike, NaiveDate};
use sextant_core::common::PageRequest;
use sextant_core::watchlists::{WatchlistError, WatchlistUpdate, MAX_SYMBOLS};
use sextant_core::Services;
use sextant_domain::{Resolution, Symbol};

use crate::common;
use common::services;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn names(v: &[Symbol]) -> Vec<&str> {
    v.iter().map(Symbol::as_str).collect()
}

/// The field an error names, or a panic showing the error.
fn field(e: WatchlistError) -> String {
    match e {
        WatchlistError::Invalid(f) => f.field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crud_and_symbol_edits() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let w = &s.watchlists;

    let created = w
        .create(
            " Tech ",
            &strings(&["msft", " aapl", "MSFT", "zzzz"]),
            "alice",
        )
        .await
        .expect("create");
    assert_eq!(created.name, "Tech");
    assert_eq!(names(&created.symbols), ["MSFT", "AAPL", "ZZZZ"]);
    assert_eq!(
        names(&created.unknown_symbols),
        ["ZZZZ"],
        "not in the cache, flagged"
    );
    assert_eq!(w.get(&created.id).await.expect("get"), created);

    let renamed = w.rename(&created.id, "Big tech").await.expect("rename");
    assert_eq!(renamed.name, "Big tech");
    assert!(renamed.updated_at > created.updated_at);

    let added = w
        .add_symbols(&created.id, &strings(&["IBM", "aapl"]))
        .await
        .expect("add");
    assert_eq!(names(&added.symbols), ["MSFT", "AAPL", "ZZZZ", "IBM"]);
    let removed = w
        .remove_symbols(&created.id, &strings(&["ZZZZ", "NOPE"]))
        .await
        .expect("remove");
    assert_eq!(names(&removed.symbols), ["MSFT", "AAPL", "IBM"]);
    assert!(removed.unknown_symbols.is_empty());

    let replaced = w
        .update(
            &created.id,
            &WatchlistUpdate {
                name: None,
                symbols: Some(strings(&["goog", "fb"])),
            },
        )
        .await
        .expect("update");
    assert_eq!(names(&replaced.symbols), ["GOOG", "FB"]);
    assert_eq!(replaced.name, "Big tech");

    w.delete(&created.id).await.expect("delete");
    assert!(matches!(
        w.get(&created.id).await,
        Err(WatchlistError::NotFound(_))
    ));
    assert!(matches!(
        w.delete(&created.id).await,
        Err(WatchlistError::NotFound(_))
    ));
    assert!(matches!(
        w.add_symbols(&created.id, &strings(&["IBM"])).await,
        Err(WatchlistError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_name_the_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let w = &s.watchlists;
    let ok = strings(&["MSFT"]);

    assert_eq!(
        field(w.create("  ", &ok, "alice").await.unwrap_err()),
        "name"
    );
    let long = "x".repeat(101);
    assert_eq!(
        field(w.create(&long, &ok, "alice").await.unwrap_err()),
        "name"
    );
    assert_eq!(field(w.create("a", &ok, "").await.unwrap_err()), "owner");
    let bad = strings(&["MSFT", "BAD SYMBOL"]);
    assert_eq!(
        field(w.create("a", &bad, "alice").await.unwrap_err()),
        "symbols[1]"
    );
    let many: Vec<String> = (0..=MAX_SYMBOLS).map(|i| format!("S{i}")).collect();
    assert_eq!(
        field(w.create("a", &many, "alice").await.unwrap_err()),
        "symbols"
    );

    let full: Vec<String> = (0..MAX_SYMBOLS).map(|i| format!("S{i}")).collect();
    let at_limit = w
        .create("full", &full, "alice")
        .await
        .expect("at the limit");
    let err = w
        .add_symbols(&at_limit.id, &strings(&["ONE"]))
        .await
        .unwrap_err();
    assert_eq!(field(err), "symbols");
    // Adding only symbols already present is not growth.
    w.add_symbols(&at_limit.id, &strings(&["S0"]))
        .await
        .expect("no growth");

    let bad_page = PageRequest::first(0);
    assert_eq!(field(w.list(None, &bad_page).await.unwrap_err()), "limit");
    let bogus = PageRequest::after("not-a-cursor", 10);
    assert_eq!(field(w.list(None, &bogus).await.unwrap_err()), "cursor");
    let err = w.rename(&at_limit.id, "").await.unwrap_err();
    assert_eq!(field(err), "name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_with_keyset_cursors() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let w = &s.watchlists;
    let mut alice = Vec::new();
    for i in 0..7 {
        let l = w
            .create(&format!("a{i}"), &[], "alice")
            .await
            .expect("create");
        alice.push(l.id);
    }
    for i in 0..2 {
        w.create(&format!("b{i}"), &[], "bob")
            .await
            .expect("create");
    }

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let p = w.list(Some("alice"), &page).await.expect("page");
        sizes.push(p.items.len());
        assert!(p.items.iter().all(|l| l.owner == "alice"));
        seen.extend(p.items.iter().map(|l| l.id.clone()));
        // Deleting an item already seen must not shift the next page.
        if sizes.len() == 1 {
            w.delete(&p.items[0].id).await.expect("delete seen");
        }
        match p.next_cursor {
            Some(c) => page = PageRequest::after(c, 3),
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 1]);
    alice.reverse();
    assert_eq!(seen, alice, "every list once, newest first");

    let everyone = w.list(None, &PageRequest::first(100)).await.expect("all");
    assert_eq!(everyone.items.len(), 8, "9 created, 1 deleted");
    assert!(everyone.next_cursor.is_none());
}

/// Total-return daily closes of `symbol` straight from the cache (what trailing returns are
/// computed on).
fn closes(s: &Services, symbol: &str) -> Vec<(NaiveDate, f64)> {
    let sym = Symbol::new(symbol).expect("symbol");
    s.cache
        .bars_on(
            &sym,
            Resolution::Daily,
            None,
            None,
            sextant_domain::PriceBasis::TotalReturn,
        )
        .expect("bars")
        .iter()
        .map(|b| (b.ts.date(), b.close))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_match_returns_computed_from_cached_bars() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let list = s
        .watchlists
        .create("q", &strings(&["MSFT", "FB", "ZZZZ"]), "alice")
        .await
        .expect("create");
    let q = s.watchlists.quotes(&list.id).await.expect("quotes");
    assert_eq!(q.quotes.len(), 3);

    let msft = closes(&s, "MSFT");
    let n = msft.len();
    let last = msft[n - 1].1;
    let back = |k: usize| last / msft[n - 1 - k].1 - 1.0;
    let m = &q.quotes[0];
    assert_eq!(m.symbol.as_str(), "MSFT");
    assert!(m.known);
    assert_eq!(m.last_date, NaiveDate::from_ymd_opt(2013, 3, 1));
    let raw_last = s
        .cache
        .bars(
            &Symbol::new("MSFT").expect("s"),
            Resolution::Daily,
            None,
            None,
        )
        .expect("raw")
        .last()
        .map(|b| b.close);
    assert_eq!(m.last_close, raw_last, "the quote is the traded price");
    assert!(m.returns_adjusted);
    assert_eq!(m.returns.one_day, Some(back(1)));
    assert_eq!(m.returns.one_week, Some(back(5)));
    assert_eq!(m.returns.one_month, Some(back(21)));
    assert_eq!(m.returns.three_months, Some(back(63)));
    assert_eq!(m.returns.one_year, Some(last / msft[n - 253].1 - 1.0));
    let end_2012 = msft
        .iter()
        .rev()
        .find(|(d, _)| d.year() == 2012)
        .expect("2012 bar");
    assert_eq!(
        end_2012.0,
        NaiveDate::from_ymd_opt(2012, 12, 31).expect("date")
    );
    assert_eq!(m.returns.ytd, Some(last / end_2012.1 - 1.0));

    // FB listed in May 2012: fewer than 253 closes by March 2013, so no one-year return.
    let fb = closes(&s, "FB");
    assert!(fb.len() > 64 && fb.len() < 253, "{}", fb.len());
    let f = &q.quotes[1];
    assert_eq!(f.returns.one_year, None);
    assert_eq!(
        f.returns.three_months,
        Some(fb[fb.len() - 1].1 / fb[fb.len() - 64].1 - 1.0)
    );

    let z = &q.quotes[2];
    assert!(!z.known);
    assert_eq!((z.last_close, z.last_date), (None, None));
    assert_eq!(z.returns, Default::default());

    // Nulls, not NaN, on the wire.
    let json = serde_json::to_value(&q).expect("json");
    assert!(json["quotes"][1]["returns"]["one_year"].is_null());
}

/// A trailing window across a split is the holder's return: AAPL's week across its 2:1 split
/// of 2005-02-28 (a cache that ends on 2005-03-04) is the Adj Close ratio, not -50 %.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_returns_span_a_split_as_a_holder_sees_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let aapl = Symbol::new("AAPL").expect("symbol");
    let cut = Symbol::new("AAPLCUT").expect("symbol");
    let bars: Vec<sextant_domain::Bar> = s
        .cache
        .bars(
            &aapl,
            Resolution::Daily,
            None,
            NaiveDate::from_ymd_opt(2005, 3, 4),
        )
        .expect("bars")
        .into_iter()
        .map(|b| sextant_domain::Bar {
            symbol: cut.clone(),
            ..b
        })
        .collect();
    s.cache
        .ingest_bars(&bars, sextant_domain::Source::File, "cut")
        .expect("ingest");
    let list = s
        .watchlists
        .create("split", &strings(&["AAPLCUT"]), "alice")
        .await
        .expect("create");
    let q = s.watchlists.quotes(&list.id).await.expect("quotes");
    let week = q.quotes[0].returns.one_week.expect("one week");
    let n = bars.len();
    let adj = |i: usize| bars[i].adj_close.expect("adj");
    let raw = bars[n - 1].close / bars[n - 6].close - 1.0;
    assert!(raw < -0.4, "the prints halve: {raw}");
    assert!(
        (week - (adj(n - 1) / adj(n - 6) - 1.0)).abs() < 1e-9,
        "{week}"
    );
}
