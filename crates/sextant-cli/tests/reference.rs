//! Reference data through the `sextant` binary: FX and crypto bars, corporate actions, economic
//! series (fetched and imported), the symbol directory and the risk-free line of a backtest,
//! all from the loopback Alpha Vantage server.

use sextant_testkit::alphavantage::AlphaVantageServer;
use std::path::Path;
use std::process::{Command, Output};

/// The loopback vendor, kept alive with the runtime that serves it.
struct Vendor {
    _rt: tokio::runtime::Runtime,
    server: AlphaVantageServer,
}

fn vendor() -> Vendor {
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let server = rt.block_on(AlphaVantageServer::start()).expect("server");
    Vendor { _rt: rt, server }
}

/// Runs `sextant` on `dir` against `vendor` (a key set, the bundled sample loaded).
fn sextant(dir: &Path, vendor: &Vendor, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sextant"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("ALPHAVANTAGE_API_KEY", "SECRETKEY")
        .env("SEXTANT_ALPHAVANTAGE_BASE_URL", vendor.server.base_url())
        // The loopback vendor has no quota to protect.
        .env("SEXTANT_ALPHAVANTAGE_PER_MINUTE", "600")
        .output()
        .expect("run sextant")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The line of `text` that starts with `prefix`.
fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{text}"))
}

#[test]
fn fx_and_crypto_are_fetched_and_recorded_as_what_they_are() {
    let v = vendor();
    let dir = tempfile::tempdir().expect("tmp");
    let fx = ok(&sextant(
        dir.path(),
        &v,
        &["ingest", "alphavantage", "EURUSD", "--asset", "fx"],
    ));
    let row = line(&fx, "EURUSD");
    assert!(
        row.contains("fx") && row.contains("fx_24x5") && row.contains("full"),
        "{fx}"
    );
    let btc = ok(&sextant(
        dir.path(),
        &v,
        &[
            "ingest",
            "alphavantage",
            "BTC",
            "--asset",
            "crypto",
            "--market",
            "USD",
        ],
    ));
    let row = line(&btc, "BTCUSD");
    assert!(
        row.contains("crypto_24x7"),
        "stored as coin + market: {btc}"
    );
    assert!(v
        .server
        .requests()
        .iter()
        .any(|r| r.function() == Some("DIGITAL_CURRENCY_DAILY")));

    // A coin without a market is refused before any request is sent.
    let before = v.server.request_count();
    let out = sextant(
        dir.path(),
        &v,
        &["ingest", "alphavantage", "ETH", "--asset", "crypto"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("names no market"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(v.server.request_count(), before);

    let list = ok(&sextant(dir.path(), &v, &["data", "instruments"]));
    let eur = line(&list, "EURUSD");
    assert!(
        eur.contains("fx_24x5") && eur.contains("EUR") && eur.contains("USD"),
        "{list}"
    );
    assert!(line(&list, "BTCUSD").contains("crypto"), "{list}");
    // A sample symbol has no record: a US equity on the NYSE calendar.
    assert!(line(&list, "MSFT").contains("us_equity  xnys"), "{list}");

    // A refresh without --asset fetches the stored instrument as what it was recorded as.
    let again = ok(&sextant(
        dir.path(),
        &v,
        &["ingest", "alphavantage", "EURUSD"],
    ));
    assert!(line(&again, "EURUSD").contains("fx_24x5"), "{again}");
    let rate = ok(&sextant(dir.path(), &v, &["data", "fx-rate", "EUR", "USD"]));
    assert!(
        rate.starts_with("EUR/USD 1.07") && rate.contains("bid"),
        "{rate}"
    );
}

#[test]
fn corporate_actions_are_fetched_and_shown() {
    let v = vendor();
    let dir = tempfile::tempdir().expect("tmp");
    let out = ok(&sextant(dir.path(), &v, &["ingest", "actions", "AAPL"]));
    let row = line(&out, "AAPL");
    assert!(row.ends_with("ok"), "{out}");
    let shown = ok(&sextant(dir.path(), &v, &["data", "actions", "AAPL"]));
    // AAPL's real splits: 2:1 in 2005 and 7:1 in 2014.
    assert!(line(&shown, "2005-02-28").ends_with('2'), "{shown}");
    assert!(line(&shown, "2014-06-09").ends_with('7'), "{shown}");
    assert!(
        shown.contains("AAPL:") && shown.contains("5 splits"),
        "{shown}"
    );
    let none = ok(&sextant(dir.path(), &v, &["data", "actions", "GOOG"]));
    assert!(none.contains("ingest actions"), "{none}");
}

#[test]
fn treasury_yield_is_fetched_and_used_as_the_backtest_risk_free_rate() {
    let v = vendor();
    let dir = tempfile::tempdir().expect("tmp");
    let out = ok(&sextant(
        dir.path(),
        &v,
        &["ingest", "macro", "treasury_yield", "--maturity", "3month"],
    ));
    assert!(
        out.starts_with("treasury_yield_3month_daily: ") && out.contains("interval=daily"),
        "daily by default: {out}"
    );
    let list = ok(&sextant(dir.path(), &v, &["data", "macro"]));
    assert!(
        line(&list, "treasury_yield_3month_daily").contains("2000-01-03"),
        "{list}"
    );
    let obs = ok(&sextant(
        dir.path(),
        &v,
        &[
            "data",
            "macro",
            "treasury_yield_3month_daily",
            "--from",
            "2008-01-01",
            "--to",
            "2008-01-04",
        ],
    ));
    // New Year's Day is missing (bond markets closed); a value is usable the day after.
    assert!(line(&obs, "2008-01-01").contains("missing"), "{obs}");
    assert!(line(&obs, "2008-01-02").ends_with("2008-01-03"), "{obs}");

    let bt = |risk_free: &str| {
        ok(&sextant(
            dir.path(),
            &v,
            &[
                "backtest",
                "--strategy",
                "sma_cross",
                "--symbol",
                "MSFT",
                "--trades",
                "0",
                "--risk-free",
                risk_free,
            ],
        ))
    };
    let auto = bt("auto");
    let rf = line(&auto, "risk-free:");
    assert!(
        rf.contains("treasury_yield_3month_daily") && rf.contains("% a year"),
        "{auto}"
    );
    let none = bt("none");
    assert!(line(&none, "risk-free:").contains("none"), "{none}");
    assert_ne!(line(&auto, "Sharpe"), line(&none, "Sharpe"));
}

#[test]
fn listings_make_symbols_findable_by_name() {
    let v = vendor();
    let dir = tempfile::tempdir().expect("tmp");
    let before = ok(&sextant(
        dir.path(),
        &v,
        &["data", "symbols", "--search", "agilent"],
    ));
    assert!(before.contains("no symbol matches"), "{before}");
    let out = ok(&sextant(dir.path(), &v, &["ingest", "listings"]));
    assert!(out.contains("active listings stored"), "{out}");
    let found = ok(&sextant(
        dir.path(),
        &v,
        &["data", "symbols", "--search", "agilent"],
    ));
    let row = line(&found, "A ");
    assert!(
        row.contains("Agilent Technologies Inc") && row.contains("NYSE"),
        "{found}"
    );
    let apple = ok(&sextant(
        dir.path(),
        &v,
        &["data", "symbols", "--search", "apple"],
    ));
    assert!(
        line(&apple, "AAPL").ends_with("yes"),
        "listed and cached: {apple}"
    );
    let vendor_side = ok(&sextant(
        dir.path(),
        &v,
        &["data", "symbols", "--search", "tesco", "--vendor"],
    ));
    assert!(vendor_side.contains("TSCO.LON"), "{vendor_side}");
}

#[test]
fn a_saved_series_is_imported_from_a_file() {
    let v = vendor();
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("cpi.csv");
    std::fs::write(
        &file,
        "timestamp,value\n2024-03-01,312.230\n2024-02-01,311.054\n2024-01-01,.\n",
    )
    .expect("write");
    let out = ok(&sextant(
        dir.path(),
        &v,
        &[
            "ingest",
            "macro",
            "cpi",
            "--file",
            file.to_str().expect("path"),
        ],
    ));
    assert!(
        out.starts_with("cpi_monthly: 3 observations (1 missing)"),
        "monthly by default: {out}"
    );
    assert_eq!(
        v.server.request_count(),
        0,
        "an import asks the vendor nothing"
    );
    let obs = ok(&sextant(dir.path(), &v, &["data", "macro", "cpi_monthly"]));
    // January's CPI is usable from February 20 (the BLS publishes mid-month).
    assert!(line(&obs, "2024-01-01").contains("missing"), "{obs}");
    assert!(
        line(&obs, "2024-02-01").contains("311.054")
            && line(&obs, "2024-02-01").ends_with("2024-03-20"),
        "{obs}"
    );
    let bad = sextant(
        dir.path(),
        &v,
        &[
            "ingest",
            "macro",
            "cpi",
            "--maturity",
            "3month",
            "--file",
            "x.csv",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("maturity"));
}
