#!/usr/bin/env python3
"""The peers of the file-ingest benchmark (scripts/bench-ingest): what a user would run instead
of `sextant ingest file` to get the same CSV into a durable local cache, on the same file, in
the same run.

- DuckDB (Python, same library version as sextant links): `CREATE TABLE AS SELECT * FROM
  read_csv(...)` into a file database, committed. No checks, no upsert, no provenance, no UTC
  conversion: the floor any DuckDB-backed cache pays.
- Polars: `read_csv` with dates parsed, then `write_parquet` and fsync (a Parquet cache).
- pandas + DuckDB: `read_csv` with dates parsed, then `INSERT INTO ... SELECT * FROM df` into a
  DuckDB file (the stack Sextant replaces).

Each is the best of 3 rounds. The rows and the per-symbol sums of close and volume are printed
for checking against sextant's (scripts/bench-ingest compares them).

Usage: ingest_peers.py FILE WORKDIR
"""

import json
import os
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl


def best_of(n, f):
    best, out = float("inf"), None
    for _ in range(n):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def fresh(path: Path) -> Path:
    for p in (path, Path(str(path) + ".wal")):
        if p.exists():
            p.unlink()
    return path


def duckdb_ctas(csv: Path, work: Path):
    db = fresh(work / "peer-duckdb.duckdb")
    con = duckdb.connect(str(db))
    con.execute(f"CREATE TABLE bars AS SELECT * FROM read_csv('{csv}')")
    sums = con.execute(
        "SELECT Ticker, count(*), sum(Close), sum(Volume) FROM bars GROUP BY 1 ORDER BY 1"
    ).fetchall()
    con.close()
    return sums


def polars_parquet(csv: Path, work: Path):
    out = fresh(work / "peer-polars.parquet")
    df = pl.read_csv(csv, try_parse_dates=True)
    df.write_parquet(out)
    fd = os.open(out, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    g = df.group_by("Ticker").agg(pl.len(), pl.col("Close").sum(), pl.col("Volume").sum()).sort("Ticker")
    return [tuple(r) for r in g.iter_rows()]


def pandas_duckdb(csv: Path, work: Path):
    db = fresh(work / "peer-pandas.duckdb")
    df = pd.read_csv(csv, parse_dates=["Datetime"])
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE bars AS SELECT * FROM df")
    con.close()
    g = df.groupby("Ticker").agg(n=("Close", "size"), c=("Close", "sum"), v=("Volume", "sum"))
    return [(t, int(r.n), float(r.c), float(r.v)) for t, r in g.iterrows()]


def main() -> None:
    csv, work = Path(sys.argv[1]), Path(sys.argv[2])
    rows = sum(1 for _ in open(csv)) - 1
    results = {}
    for name, f in [
        (f"duckdb {duckdb.__version__} CTAS read_csv", duckdb_ctas),
        (f"polars {pl.__version__} read_csv + write_parquet", polars_parquet),
        (f"pandas {pd.__version__} read_csv + duckdb insert", pandas_duckdb),
    ]:
        secs, sums = best_of(3, lambda: f(csv, work))
        results[name] = {"secs": secs, "rows_per_s": rows / secs,
                         "sums": [[s, int(n), float(c), float(v)] for s, n, c, v in sums]}
        print(f"{name:<48} {rows:>9} rows in {secs:7.3f} s = {rows / secs:12.0f} rows/s")
    (work / "peers.json").write_text(json.dumps(results))

    ours = json.loads((work / "sextant-ingest.json").read_text())
    want = {s: (n, c, v) for s, n, c, v in ours["sums"]}
    for name, r in results.items():
        got = {s: (n, c, v) for s, n, c, v in r["sums"]}
        bad = [s for s in want if s not in got or got[s][0] != want[s][0]
               or abs(got[s][1] - want[s][1]) > 1e-9 * abs(want[s][1])
               or abs(got[s][2] - want[s][2]) > 1e-9 * abs(want[s][2])]
        if bad or set(got) != set(want):
            sys.exit(f"{name}: rows or sums differ from sextant's for {bad or sorted(set(got) ^ set(want))}")
    print(f"values: every peer's rows and per-symbol close/volume sums equal sextant's ({len(want)} symbols)")
    print()
    for label, key in [("checks on", "checks_on_secs"), ("checks off", "checks_off_secs")]:
        secs = ours[key]
        print(f"sextant ({label}): {rows / secs:10.0f} rows/s; vs " + ", ".join(
            f"{name.split()[0]} {r['secs'] / secs:.2f}x" for name, r in results.items()))


if __name__ == "__main__":
    main()
