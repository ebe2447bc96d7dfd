//! Reference, corporate-action and economic calls: values as the server sent them.

use super::*;
use sextant_domain::{DividendEvent, SplitEvent};
use sextant_testkit::alphavantage::{
    dividend_rows, economic_series, exchange_rate, listing_rows, split_rows, symbol_matches,
    AlphaVantageServer, Dataset, MARKETS,
};

fn split_events(rows: &[(NaiveDate, f64)]) -> Vec<SplitEvent> {
    rows.iter()
        .map(|(d, f)| SplitEvent {
            effective_date: *d,
            factor: *f,
        })
        .collect()
}

#[tokio::test]
async fn exchange_rates_with_and_without_bid_and_ask() {
    let server = AlphaVantageServer::start().await.expect("server");
    // CSV configured: the function is JSON only, so JSON is asked for and parsed.
    let p = provider(&server, DataType::Csv);
    for (from, to) in [("USD", "JPY"), ("btc", "eur"), ("EUR", "CNY")] {
        let a = p.exchange_rate(from, to).await.expect("rate");
        let (rate, bid, ask) = exchange_rate(from, to).expect("served");
        let r = &a.value;
        assert_eq!(
            (r.from.as_str(), r.to.as_str()),
            (
                from.to_ascii_uppercase().as_str(),
                to.to_ascii_uppercase().as_str()
            )
        );
        assert_eq!((r.rate, r.bid, r.ask), (rate, Some(bid), Some(ask)));
        assert!(bid < rate && rate < ask);
        assert_eq!(r.last_refreshed.to_string(), "2024-10-31 21:59:00");
        assert!(!a.request.contains("datatype"), "{}", a.request);
    }
    let a = p.exchange_rate("USD", "JPY").await.expect("usd/jpy");
    assert_eq!(
        (a.value.from_name.as_str(), a.value.to_name.as_str()),
        ("United States Dollar", "Japanese Yen")
    );
    assert_eq!(
        a.request,
        "alphavantage CURRENCY_EXCHANGE_RATE from_currency=USD to_currency=JPY"
    );
    // Before 2020 the answer stopped at field 7.
    let legacy = AlphaVantageServer::builder()
        .legacy_fx(true)
        .start()
        .await
        .expect("legacy");
    let old = provider(&legacy, DataType::Json)
        .exchange_rate("GBP", "USD")
        .await
        .expect("old");
    assert_eq!((old.value.bid, old.value.ask), (None, None));
    assert_eq!(old.value.rate, exchange_rate("GBP", "USD").expect("gbp").0);
}

#[tokio::test]
async fn dividends_are_the_real_ones_oldest_first() {
    let server = AlphaVantageServer::start().await.expect("server");
    let ds = Dataset::bundled().expect("dataset");
    for datatype in [DataType::Json, DataType::Csv] {
        let p = provider(&server, datatype);
        for symbol in ["IBM", "MSFT", "AAPL"] {
            let a = p.dividends(&sym(symbol)).await.expect("dividends");
            let expected: Vec<DividendEvent> = dividend_rows(&ds, symbol)
                .into_iter()
                .map(|r| DividendEvent {
                    ex_date: r.ex_date,
                    declaration_date: r.declaration_date,
                    record_date: r.record_date,
                    payment_date: r.payment_date,
                    amount: r.amount,
                })
                .collect();
            assert_eq!(a.value, expected, "{symbol} {datatype:?}");
            assert_eq!(
                a.request,
                format!(
                    "alphavantage DIVIDENDS symbol={symbol} datatype={}",
                    datatype.as_str()
                )
            );
        }
        let aapl = p.dividends(&sym("AAPL")).await.expect("aapl").value;
        let dates: Vec<_> = aapl.iter().map(|d| d.ex_date.to_string()).collect();
        assert_eq!(dates, ["2012-08-09", "2012-11-07", "2013-02-07"]);
        assert!(aapl
            .iter()
            .all(|d| (d.amount - 2.65).abs() < 0.15 && d.payment_date.is_none()));
        let ibm = p.dividends(&sym("IBM")).await.expect("ibm").value;
        let newest = ibm.last().expect("newest");
        assert_eq!(
            (
                newest.ex_date,
                newest.declaration_date,
                newest.record_date,
                newest.payment_date,
                newest.amount
            ),
            (
                date("2026-05-08"),
                Some(date("2026-04-22")),
                Some(date("2026-05-08")),
                Some(date("2026-06-10")),
                1.69
            )
        );
        assert_eq!(ibm[0].ex_date, date("1999-02-08"));
        // MSFT's 2004 special dividend, as the adjusted closes recorded it.
        let msft = p.dividends(&sym("MSFT")).await.expect("msft").value;
        assert!(msft
            .iter()
            .any(|d| d.ex_date == date("2004-11-15") && d.amount > 3.0));
        assert!(p
            .dividends(&sym("GOOG"))
            .await
            .expect("goog")
            .value
            .is_empty());
        assert!(p
            .dividends(&sym("NOSUCH"))
            .await
            .expect("unknown")
            .value
            .is_empty());
    }
}

#[tokio::test]
async fn splits_are_the_real_history_and_agree_with_the_adjusted_series() {
    let server = AlphaVantageServer::start().await.expect("server");
    let ds = Dataset::bundled().expect("dataset");
    let expect = |rows: &[(&str, f64)]| -> Vec<SplitEvent> {
        rows.iter()
            .map(|(d, f)| SplitEvent {
                effective_date: date(d),
                factor: *f,
            })
            .collect()
    };
    for datatype in [DataType::Json, DataType::Csv] {
        let p = provider(&server, datatype);
        let aapl = p.splits(&sym("AAPL")).await.expect("aapl").value;
        assert_eq!(
            aapl,
            expect(&[
                ("1987-06-16", 2.0),
                ("2000-06-21", 2.0),
                ("2005-02-28", 2.0),
                ("2014-06-09", 7.0),
                ("2020-08-31", 4.0)
            ])
        );
        let msft = p.splits(&sym("MSFT")).await.expect("msft").value;
        assert_eq!(
            msft,
            expect(&[
                ("1987-09-21", 2.0),
                ("1990-04-16", 2.0),
                ("1991-06-27", 1.5),
                ("1992-06-15", 1.5),
                ("1994-05-23", 2.0),
                ("1996-12-09", 2.0),
                ("1998-02-23", 2.0),
                ("1999-03-29", 2.0),
                ("2003-02-18", 2.0)
            ])
        );
        let ibm = p.splits(&sym("IBM")).await.expect("ibm");
        assert_eq!(
            ibm.value,
            expect(&[("1999-05-27", 2.0), ("2021-11-04", 1.046)])
        );
        assert_eq!(ibm.value, split_events(&split_rows("IBM")));
        assert!(p.splits(&sym("FB")).await.expect("fb").value.is_empty());
        // Inside the dataset's years the splits are exactly the adjusted series' coefficients.
        for (symbol, events) in [("AAPL", &aapl), ("MSFT", &msft)] {
            let rows = ds.daily(symbol).expect("rows");
            let (first, last) = (rows[0].date, rows[rows.len() - 1].date);
            let from_series: Vec<SplitEvent> = rows
                .iter()
                .filter(|r| r.split_coefficient != 1.0)
                .map(|r| SplitEvent {
                    effective_date: r.date,
                    factor: r.split_coefficient,
                })
                .collect();
            let in_range: Vec<SplitEvent> = events
                .iter()
                .filter(|e| e.effective_date >= first && e.effective_date <= last)
                .cloned()
                .collect();
            assert_eq!(in_range, from_series, "{symbol}");
        }
    }
}

#[tokio::test]
async fn symbol_search_ranks_the_directory() {
    let server = AlphaVantageServer::start().await.expect("server");
    for datatype in [DataType::Json, DataType::Csv] {
        let p = provider(&server, datatype);
        let tesco = p.symbol_search("tesco").await.expect("tesco");
        let symbols: Vec<_> = tesco.value.iter().map(|m| m.symbol.as_str()).collect();
        assert_eq!(symbols, ["TSCO.LON", "TCO2.FRK"]);
        let t = &tesco.value[0];
        assert_eq!(
            (
                t.name.as_str(),
                t.kind.as_str(),
                t.region.as_str(),
                t.timezone.as_str(),
                t.currency.as_str()
            ),
            ("Tesco PLC", "Equity", "United Kingdom", "UTC+01", "GBX")
        );
        assert_eq!(
            (t.market_open.to_string(), t.market_close.to_string()),
            ("08:00:00".into(), "16:30:00".into())
        );
        let inc = p.symbol_search("Inc").await.expect("inc").value;
        let served = symbol_matches("Inc");
        assert_eq!(inc.len(), served.len());
        for (m, (row, score)) in inc.iter().zip(&served) {
            assert_eq!(
                (m.symbol.as_str(), m.name.as_str(), m.match_score),
                (row[0], row[1], *score)
            );
        }
        let ibm = p.symbol_search("IBM").await.expect("ibm").value;
        assert_eq!((ibm[0].symbol.as_str(), ibm[0].match_score), ("IBM", 1.0));
        assert!(p
            .symbol_search("zzzz")
            .await
            .expect("none")
            .value
            .is_empty());
    }
}

#[tokio::test]
async fn listing_status_by_date_and_state() {
    let server = AlphaVantageServer::start().await.expect("server");
    // JSON configured: the function is CSV only, so CSV is parsed anyway.
    let p = provider(&server, DataType::Json);
    for (d, delisted) in [
        (None, false),
        (None, true),
        (Some(date("2013-08-03")), false),
        (Some(date("2022-12-30")), true),
    ] {
        let a = p.listing_status(d, delisted).await.expect("listing");
        let served = listing_rows(d, delisted);
        assert_eq!(a.value.len(), served.len(), "{d:?} {delisted}");
        for (l, row) in a.value.iter().zip(&served) {
            assert_eq!(
                (
                    l.symbol.as_str(),
                    l.name.as_str(),
                    l.exchange.as_str(),
                    l.asset_type.as_str(),
                    l.status.as_str()
                ),
                (
                    row[0].as_str(),
                    row[1].as_str(),
                    row[2].as_str(),
                    row[3].as_str(),
                    row[6].as_str()
                )
            );
            assert_eq!(l.ipo_date.map(|x| x.to_string()), Some(row[4].clone()));
            assert_eq!(
                l.delisting_date
                    .map(|x| x.to_string())
                    .unwrap_or("null".into()),
                row[5]
            );
        }
    }
    let today = p.listing_status(None, false).await.expect("today").value;
    let ameh = today.iter().find(|l| l.symbol == "AMEH").expect("AMEH");
    assert_eq!((ameh.name.as_str(), ameh.delisting_date), ("", None));
    let in_2013 = p
        .listing_status(Some(date("2013-08-03")), false)
        .await
        .expect("2013");
    let symbols: Vec<_> = in_2013.value.iter().map(|l| l.symbol.as_str()).collect();
    assert_eq!(symbols, ["A", "AAPL", "FB", "IBM", "MSFT", "SPY"]);
    assert_eq!(
        in_2013.request,
        "alphavantage LISTING_STATUS date=2013-08-03 state=active"
    );
    let gone = p
        .listing_status(Some(date("2022-12-30")), true)
        .await
        .expect("delisted")
        .value;
    assert_eq!(gone.len(), 1);
    assert_eq!(
        (gone[0].symbol.as_str(), gone[0].delisting_date),
        ("FB", Some(date("2022-06-08")))
    );
    let sent = server.requests();
    assert!(sent.iter().all(|r| !r.params.contains_key("datatype")));
}

#[tokio::test]
async fn market_status_is_the_sixteen_markets() {
    let server = AlphaVantageServer::start().await.expect("server");
    let a = provider(&server, DataType::Csv)
        .market_status()
        .await
        .expect("status");
    assert_eq!(a.request, "alphavantage MARKET_STATUS");
    assert_eq!(a.value.len(), 16);
    for (m, row) in a.value.iter().zip(MARKETS) {
        assert_eq!(
            (
                m.market_type.as_str(),
                m.region.as_str(),
                m.primary_exchanges.as_str(),
                m.current_status.as_str(),
                m.notes.as_str()
            ),
            (row[0], row[1], row[2], row[5], row[6])
        );
        assert_eq!(m.local_open.format("%H:%M").to_string(), row[3]);
        assert_eq!(m.local_close.format("%H:%M").to_string(), row[4]);
    }
    let open: Vec<_> = a
        .value
        .iter()
        .filter(|m| m.is_open())
        .map(|m| m.market_type.as_str())
        .collect();
    assert_eq!(open, ["Cryptocurrency"]);
    assert_eq!(
        a.value[9].notes,
        "Noon trading break from 11:30 to 13:00 local time"
    );
}

#[tokio::test]
async fn economic_series_in_json_and_csv_with_missing_values() {
    let server = AlphaVantageServer::start().await.expect("server");
    let (json, csv) = (
        provider(&server, DataType::Json),
        provider(&server, DataType::Csv),
    );
    let cases = [
        (Indicator::TreasuryYield, "daily", Some("10year")),
        (Indicator::TreasuryYield, "weekly", Some("3month")),
        (Indicator::TreasuryYield, "monthly", Some("30year")),
        (Indicator::FederalFundsRate, "daily", None),
        (Indicator::FederalFundsRate, "monthly", None),
        (Indicator::Cpi, "monthly", None),
        (Indicator::Cpi, "semiannual", None),
    ];
    for (indicator, interval, maturity) in cases {
        let key = SeriesKey::new(indicator, interval, maturity).expect("key");
        let a = json.economic(&key).await.expect("json");
        let b = csv.economic(&key).await.expect("csv");
        // CSV carries neither name nor unit: the vendor's strings for the series stand in.
        assert_eq!(a.value, b.value, "{key}");
        let served = economic_series(indicator.function(), interval, maturity).expect("served");
        assert_eq!(
            (a.value.name.as_str(), a.value.unit.as_str()),
            (served.name.as_str(), served.unit.as_str())
        );
        let got: Vec<_> = a
            .value
            .observations
            .iter()
            .map(|o| (o.date, o.value))
            .collect();
        assert_eq!(got, served.rows, "{key}");
        assert_eq!(a.value.key, key);
    }
    let ten = SeriesKey::new(Indicator::TreasuryYield, "daily", Some("10year")).expect("key");
    let s = json.economic(&ten).await.expect("10y");
    assert_eq!(s.value.name, "10-Year Treasury Constant Maturity Rate");
    assert_eq!(
        s.request,
        "alphavantage TREASURY_YIELD interval=daily maturity=10year datatype=json"
    );
    // Christmas 2012 was a Tuesday: the bond market was closed, the value is "." (missing).
    let christmas = s
        .value
        .observations
        .iter()
        .find(|o| o.date == date("2012-12-25"))
        .expect("christmas");
    assert_eq!(christmas.value, None);
    assert!(s
        .value
        .observations
        .windows(2)
        .all(|w| w[0].date < w[1].date));
    // A "." written anywhere by a fault is a missing value too, not an error.
    server.push_fault(sextant_testkit::alphavantage::Fault::malformed(
        0, "value", ".",
    ));
    let cpi = SeriesKey::new(Indicator::Cpi, "monthly", None).expect("cpi");
    let c = csv.economic(&cpi).await.expect("cpi");
    assert_eq!(
        c.value.observations.last().map(|o| (o.date, o.value)),
        Some((date("2013-02-01"), None))
    );
}

#[tokio::test]
async fn bom_crlf_and_cut_csv_bodies() {
    let server = AlphaVantageServer::start().await.expect("server");
    let p = provider(&server, DataType::Csv);
    let raw = |body: &str| sextant_testkit::alphavantage::Fault::Raw {
        status: 200,
        content_type: "application/x-download".into(),
        body: body.into(),
    };
    server.push_fault(raw(
        "\u{feff}effective_date,split_factor\r\n2021-11-04,1.0460\r\n1999-05-27,2.0000\r\n",
    ));
    let s = p.splits(&sym("IBM")).await.expect("BOM and CRLF");
    assert_eq!(s.value, split_events(&split_rows("IBM")));
    // Cut after a whole value: it would parse, but the missing final line end gives it away.
    server.push_fault(raw(
        "effective_date,split_factor\n2021-11-04,1.0460\n1999-05-27,2.0",
    ));
    let e = p.splits(&sym("IBM")).await.expect_err("cut");
    assert!(
        matches!(e, AlphaVantageError::UnexpectedBody { .. }),
        "{e:?}"
    );
    server.push_fault(raw(
        "symbol,name,exchange,assetType,ipoDate,delistingDate,status\r\n",
    ));
    assert!(p
        .listing_status(None, false)
        .await
        .expect("empty")
        .value
        .is_empty());
}
