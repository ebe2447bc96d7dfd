//! The bundled sample data: real daily prices of AAPL, IBM, MSFT (2000-03-01 to 2013-03-01),
//! GOOG (from 2004-08-19) and FB (from 2012-05-18). Source: Quandl WIKI Prices, public domain
//! (as shipped by the PyPI package `bokeh-sampledata`). Embedded in the binary so that every
//! feature works offline on a fresh machine.

/// The file name the sample is written under before DuckDB reads it.
pub const FILE_NAME: &str = "us-equities-daily-2000-2013.csv.gz";

/// The gzip-compressed CSV: `Ticker,Date,Open,High,Low,Close,Volume,Adj Close`.
pub const BYTES: &[u8] =
    include_bytes!("../../../../data/sample/us-equities-daily-2000-2013.csv.gz");

/// sha256 of [`BYTES`], recorded in run manifests.
pub const SHA256: &str = "5abadf99b2d394f920120a27de6f0df129859d71d4cfb0bf661bcc99446ab1fd";
