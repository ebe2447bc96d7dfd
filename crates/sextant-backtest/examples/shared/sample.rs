//! The bundled sample's MSFT daily bars (3,270), shared by the benchmark examples.

use sextant_backtest::simulator::BarSeries;

/// MSFT's bars from `data/sample/us-equities-daily-2000-2013.csv.gz`.
pub fn msft() -> BarSeries {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/sample/us-equities-daily-2000-2013.csv.gz"
    );
    let f = std::fs::File::open(path).expect("sample");
    let mut rdr = csv::Reader::from_reader(flate2::read::GzDecoder::new(f));
    let (mut ts, mut o, mut h, mut l, mut c, mut v) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for rec in rdr.records() {
        let r = rec.expect("row");
        if &r[0] != "MSFT" {
            continue;
        }
        let d = chrono::NaiveDate::parse_from_str(&r[1], "%Y-%m-%d").expect("date");
        ts.push(
            d.and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp(),
        );
        let x = |i: usize| r[i].parse::<f64>().expect("number");
        o.push(x(2));
        h.push(x(3));
        l.push(x(4));
        c.push(x(5));
        v.push(x(6));
    }
    BarSeries::new("MSFT", ts, o, h, l, c, v).expect("series")
}
