//! Scratch profiler for cache queries (not part of the product): `prof DB_FILE`.
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).expect("db path");
    let conn = duckdb::Connection::open(path).expect("open");
    let time = |label: &str, sql: &str| {
        let mut stmt = conn.prepare(sql).expect("prepare");
        let mut v = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let n = stmt
                .query_arrow([])
                .expect("q")
                .map(|b| b.num_rows())
                .sum::<usize>();
            v.push((t.elapsed().as_secs_f64() * 1e6, n));
        }
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        println!("{:>8.0} µs p50  {:>6} rows  {label}", v[100].0, v[100].1);
    };
    time("count", "SELECT count(*) FROM bars WHERE symbol = 'MSFT' AND resolution = 'daily' AND session BETWEEN DATE '2003-01-01' AND DATE '2012-12-31'");
    time("close only", "SELECT close FROM bars WHERE symbol = 'MSFT' AND resolution = 'daily' AND session BETWEEN DATE '2003-01-01' AND DATE '2012-12-31'");
    time("all, no order", "SELECT symbol, resolution, ts, tz, open, high, low, close, volume, adj_close, dividend, split_coefficient, source, ingested_at FROM bars WHERE symbol = 'MSFT' AND resolution = 'daily' AND session BETWEEN DATE '2003-01-01' AND DATE '2012-12-31'");
    time("all, ordered", "SELECT symbol, resolution, ts, tz, open, high, low, close, volume, adj_close, dividend, split_coefficient, source, ingested_at FROM bars WHERE symbol = 'MSFT' AND resolution = 'daily' AND session BETWEEN DATE '2003-01-01' AND DATE '2012-12-31' ORDER BY ts");
    time("numeric, ordered", "SELECT ts, open, high, low, close, volume, adj_close, dividend, split_coefficient, ingested_at FROM bars WHERE symbol = 'MSFT' AND resolution = 'daily' AND session BETWEEN DATE '2003-01-01' AND DATE '2012-12-31' ORDER BY ts");
    time("select 1", "SELECT 1");
    {
        let sql = format!("SELECT ts, open, high, low, close, volume, adj_close, dividend, split_coefficient, CASE source WHEN 'sample' THEN 0 WHEN 'file' THEN 1 ELSE 2 END, ingested_at FROM bars WHERE symbol = ? AND resolution = ? AND session BETWEEN ? AND ?");
        let mut stmt = conn.prepare(&sql).expect("prepare");
        let mut v = Vec::new();
        let lo = chrono::NaiveDate::from_ymd_opt(2003, 1, 1).expect("d");
        let hi = chrono::NaiveDate::from_ymd_opt(2012, 12, 31).expect("d");
        for _ in 0..200 {
            let t = Instant::now();
            let n = stmt
                .query_arrow(duckdb::params!["MSFT", "daily", lo, hi])
                .expect("q")
                .map(|b| b.num_rows())
                .sum::<usize>();
            v.push((t.elapsed().as_secs_f64() * 1e6, n));
        }
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        println!("{:>8.0} µs p50  {:>6} rows  params", v[100].0, v[100].1);
    }
    time("num+tz+src no order", "SELECT ts, tz, open, high, low, close, volume, adj_close, dividend, split_coefficient, source, ingested_at FROM bars WHERE symbol = 'MSFT' AND resolution = 'daily' AND session BETWEEN DATE '2003-01-01' AND DATE '2012-12-31'");
    time("num+case no order", "SELECT ts, open, high, low, close, volume, adj_close, dividend, split_coefficient, CASE source WHEN 'sample' THEN 0 WHEN 'file' THEN 1 ELSE 2 END, ingested_at FROM bars WHERE symbol = 'MSFT' AND resolution = 'daily' AND session BETWEEN DATE '2003-01-01' AND DATE '2012-12-31'");
    time("num+case+nulltz", "SELECT ts, open, high, low, close, volume, adj_close, dividend, split_coefficient, CASE source WHEN 'sample' THEN 0 WHEN 'file' THEN 1 ELSE 2 END, ingested_at, CASE resolution WHEN 'daily' THEN 5 ELSE 1 END, CASE WHEN tz = 'America/New_York' THEN NULL ELSE tz END FROM bars WHERE symbol = 'MSFT' AND resolution = 'daily' AND session BETWEEN DATE '2003-01-01' AND DATE '2012-12-31'");
    time("numeric no order", "SELECT ts, open, high, low, close, volume, adj_close, dividend, split_coefficient, ingested_at FROM bars WHERE symbol = 'MSFT' AND resolution = 'daily' AND session BETWEEN DATE '2003-01-01' AND DATE '2012-12-31'");
}
