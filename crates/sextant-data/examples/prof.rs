//! Scratch profiler for the ingest path's SQL steps (not part of the product).
use std::time::Instant;
fn main() {
    let _ = std::fs::remove_file("/tmp/prof.duckdb");
    let conn = duckdb::Connection::open("/tmp/prof.duckdb").expect("open");
    let path = std::env::args().nth(1).expect("path");
    let q = |sql: &str| {
        let t = Instant::now();
        conn.execute_batch(sql).expect("sql");
        println!(
            "{:>8.3}s  {}",
            t.elapsed().as_secs_f64(),
            &sql[..sql.len().min(110)]
        );
    };
    q(&format!(
        "CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM read_csv('{path}')"
    ));
    q("CREATE TEMP TABLE stage AS SELECT Ticker AS symbol, '1min' AS resolution, Datetime AS ts, 'America/New_York' AS tz, CAST(Datetime AS DATE) AS session, Open AS open, High AS high, Low AS low, Close AS close, Volume::DOUBLE AS volume, NULL::DOUBLE AS adj_close, 0.0 AS dividend, 1.0 AS split_coefficient, 'file' AS source FROM raw");
    for (name, ddl, ins) in [
        ("full", "CREATE TABLE b1 (symbol VARCHAR NOT NULL, resolution VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, tz VARCHAR NOT NULL, session DATE NOT NULL, open DOUBLE NOT NULL, high DOUBLE NOT NULL, low DOUBLE NOT NULL, close DOUBLE NOT NULL, volume DOUBLE NOT NULL, adj_close DOUBLE, dividend DOUBLE NOT NULL, split_coefficient DOUBLE NOT NULL, source VARCHAR NOT NULL, batch_id VARCHAR NOT NULL, ingested_at TIMESTAMP NOT NULL)",
         "INSERT INTO b1 SELECT *, 'c0c1e0f6-1234-4bcd-9def-0123456789ab', TIMESTAMP '2026-01-01' FROM stage"),
        ("nullable", "CREATE TABLE b2 (symbol VARCHAR, resolution VARCHAR, ts TIMESTAMP, tz VARCHAR, session DATE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, adj_close DOUBLE, dividend DOUBLE, split_coefficient DOUBLE, source VARCHAR, batch_id VARCHAR, ingested_at TIMESTAMP)",
         "INSERT INTO b2 SELECT *, 'c0c1e0f6-1234-4bcd-9def-0123456789ab', TIMESTAMP '2026-01-01' FROM stage"),
        ("intbatch", "CREATE TABLE b3 (symbol VARCHAR NOT NULL, resolution VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, session DATE NOT NULL, open DOUBLE NOT NULL, high DOUBLE NOT NULL, low DOUBLE NOT NULL, close DOUBLE NOT NULL, volume DOUBLE NOT NULL, adj_close DOUBLE, dividend DOUBLE NOT NULL, split_coefficient DOUBLE NOT NULL, batch BIGINT NOT NULL)",
         "INSERT INTO b3 SELECT symbol, resolution, ts, session, open, high, low, close, volume, adj_close, dividend, split_coefficient, 7 FROM stage"),
    ] {
        println!("-- {name}");
        q(ddl);
        q(&format!("BEGIN; {ins}; COMMIT"));
    }
    q("CHECKPOINT");
}
