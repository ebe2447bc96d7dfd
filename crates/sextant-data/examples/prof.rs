use std::time::Instant;
fn main() {
    let _ = std::fs::remove_file("/tmp/prof.duckdb");
    let conn = duckdb::Connection::open("/tmp/prof.duckdb").unwrap();
    let path = std::env::args().nth(1).unwrap();
    let q = |sql: &str| {
        let t = Instant::now();
        conn.execute_batch(sql).unwrap();
        println!(
            "{:>8.3}s  {}",
            t.elapsed().as_secs_f64(),
            &sql[..sql.len().min(110)]
        );
    };
    q("SELECT current_setting('threads')");
    q(&format!("SELECT count(*) FROM read_csv('{path}')"));
    q(&format!("SELECT sum(Open) FROM read_csv('{path}')"));
    q(&format!("SELECT count(*), sum(Open), min(Datetime) FROM read_csv('{path}', header=true, columns={{'Ticker':'VARCHAR','Datetime':'TIMESTAMP','Open':'DOUBLE','High':'DOUBLE','Low':'DOUBLE','Close':'DOUBLE','Volume':'DOUBLE'}})"));
    q(&format!(
        "CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM read_csv('{path}')"
    ));
    q(&format!(
        "CREATE OR REPLACE TABLE raw2 AS SELECT * FROM read_csv('{path}')"
    ));
    q("CREATE TABLE bars (symbol VARCHAR NOT NULL, resolution VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, session DATE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, PRIMARY KEY(symbol, resolution, ts))");
    q("BEGIN; INSERT INTO bars SELECT Ticker, '1min', Datetime, CAST(Datetime AS DATE), Open, High, Low, Close, Volume FROM raw ORDER BY 1,2,3; COMMIT");
    q("CREATE TABLE bars2 (symbol VARCHAR NOT NULL, resolution VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, session DATE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, PRIMARY KEY(symbol, resolution, ts))");
    q("BEGIN; INSERT INTO bars2 SELECT Ticker, '1min', Datetime, CAST(Datetime AS DATE), Open, High, Low, Close, Volume FROM raw; COMMIT");
    q("CREATE TABLE bars3 (symbol VARCHAR NOT NULL, resolution VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, session DATE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE)");
    q("BEGIN; INSERT INTO bars3 SELECT Ticker, '1min', Datetime, CAST(Datetime AS DATE), Open, High, Low, Close, Volume FROM raw; COMMIT");
    q("SET preserve_insertion_order = false");
    q("CREATE TABLE bars4 (symbol VARCHAR NOT NULL, resolution VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, session DATE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, PRIMARY KEY(symbol, resolution, ts))");
    q("BEGIN; INSERT INTO bars4 SELECT Ticker, '1min', Datetime, CAST(Datetime AS DATE), Open, High, Low, Close, Volume FROM raw; COMMIT");
    q("CHECKPOINT");
}
