#!/usr/bin/env python3
"""The Polars side of the feature-materialisation benchmark (scripts/bench-features).

The same `technical` view as features_pandas.py (whose docstring lists the SQL semantics
reproduced), written the way a Polars user would: window expressions `.over("symbol")` for the
time series and `.over("ts")` for the cross-sectional ranks, on Polars' own thread pool. Loading
(CSV and timestamp parsing, through the pandas loaders, then `pl.from_pandas`) is not timed;
sorting, the adjustment and every feature are. The values are compared with the Rust panels
exactly as the pandas side compares its own.

Usage: features_polars.py DIR
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import features_pandas as fp  # noqa: E402  (loaders, split rule and the parity check)


def split_factor(f: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """sextant_domain::prices' split-only factor from the adjusted/raw ratio (see fp)."""
    prev = np.r_[np.nan, f[:-1]]
    prev[starts] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(prev / f)
    k = np.ones(len(f))
    for r in fp.SPLIT_RATIOS:
        lk = np.log(r)
        hit = (k == 1.0) & (np.abs(lr + lk) < 0.03)
        k[hit] = r
        hit = (k == 1.0) & (np.abs(lr - lk) < 0.03)
        k[hit] = 1.0 / r
    return k


def compute(bars: pl.DataFrame) -> pl.DataFrame:
    df = bars.sort(["symbol", "ts"])
    f = (pl.col("adj_close") / pl.when(pl.col("close") != 0).then(pl.col("close"))).fill_null(1.0).fill_nan(1.0)
    df = df.with_columns(f=f)
    sym = df["symbol"].to_numpy()
    starts = np.flatnonzero(np.r_[True, sym[1:] != sym[:-1]])
    k = split_factor(df["f"].to_numpy(), starts)
    # s[i] = product over later bars of the symbol of 1 / k.
    df = df.with_columns(inv=pl.Series(1.0 / k))
    df = df.with_columns(
        s=(pl.col("inv").reverse().cum_prod().reverse().over("symbol") / pl.col("inv"))
    )
    c, o = pl.col("close") * pl.col("f"), pl.col("open") * pl.col("f")
    h, lo = pl.col("high") * pl.col("f"), pl.col("low") * pl.col("f")
    df = df.with_columns(c=c, o=o, h=h, l=lo, v=pl.col("volume") / pl.col("s"))
    c, o, h, lo, v = (pl.col(x) for x in "cohlv")
    lc = c.shift(1).over("symbol")
    df = df.with_columns(
        lc=lc,
        r1=(c / lc).log(),
    )
    lc, r1 = pl.col("lc"), pl.col("r1")
    df = df.with_columns(
        tr=pl.max_horizontal(h - lo, (h - lc).abs(), (lo - lc).abs()),
        gain=pl.when(lc.is_not_null()).then(pl.max_horizontal(c - lc, pl.lit(0.0))),
        loss=pl.when(lc.is_not_null()).then(pl.max_horizontal(lc - c, pl.lit(0.0))),
    )

    def roll_mean(x, n):
        return x.rolling_mean(n).over("symbol")

    def roll_std(x, n):
        return x.rolling_std(n).over("symbol")

    ag, al = roll_mean(pl.col("gain"), 14), roll_mean(pl.col("loss"), 14)
    sv = roll_std(v, 20)
    out = df.select(
        "symbol",
        "ts",
        ret_1=r1,
        ret_5=(c / c.shift(5).over("symbol")).log(),
        ret_10=(c / c.shift(10).over("symbol")).log(),
        ret_20=(c / c.shift(20).over("symbol")).log(),
        vol_10=roll_std(r1, 10),
        vol_20=roll_std(r1, 20),
        rsi_14=pl.when(al == 0)
        .then(pl.when(ag == 0).then(50.0).otherwise(100.0))
        .otherwise(100 - 100 / (1 + ag / al)),
        sma_ratio_10_50=roll_mean(c, 10) / roll_mean(c, 50) - 1,
        close_sma_20=c / roll_mean(c, 20) - 1,
        volume_z_20=(v - roll_mean(v, 20)) / pl.when(sv != 0).then(sv),
        atr_14=roll_mean(pl.col("tr"), 14) / c,
        range=(h - lo) / c,
        gap=(o / lc).log(),
        day_of_week=pl.col("session").dt.weekday().cast(pl.Float64),
        month=pl.col("session").dt.month().cast(pl.Float64),
    )

    def pct_rank(x):
        col = pl.col(x)
        n = col.count().over("ts")
        r = col.rank("min").over("ts")
        return pl.when(col.is_null()).then(None).when(n == 1).then(0.0).otherwise((r - 1) / (n - 1))

    return out.with_columns(
        cs_rank_ret_5=pct_rank("ret_5"),
        cs_rank_vol_20=pct_rank("vol_20"),
    )


def timed(bars: pl.DataFrame, repeats: int):
    best, res = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        res = compute(bars)
        best = min(best, time.perf_counter() - t)
    return res, best


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: features_polars.py DIR")
    d = Path(sys.argv[1])
    print(f"polars {pl.__version__} ({pl.thread_pool_size()} threads)")
    summary = []
    for view, loader, repeats, panel in [
        ("technical", fp.load_daily, 3, "rust_daily.csv"),
        ("technical_1min", fp.load_intraday, None, "rust_intraday_sample.csv"),
    ]:
        bars = pl.from_pandas(loader(d))
        if repeats is None:
            repeats = 3 if len(bars) <= 2_000_000 else 1
        res, secs = timed(bars, repeats)
        rows = len(res)
        rec = {"engine": "polars", "view": view, "rows": rows, "seconds": secs,
               "repeats": repeats, "rows_per_s": rows / secs}
        print(f"polars  compute     {view:<16} {rows:>10} rows in {secs:8.3f} s = "
              f"{rows / secs:12.0f} rows/s (best of {repeats})")
        print(json.dumps(rec))
        # Durable, as sextant's materialisation is: computed, written as Parquet and fsynced.
        path = d / f"polars_{view}.parquet"
        t = time.perf_counter()
        compute(bars).write_parquet(path)
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
        dsecs = time.perf_counter() - t
        path.unlink()
        durable = {"engine": "polars_parquet", "view": view, "rows": rows, "seconds": dsecs,
                   "repeats": 1, "rows_per_s": rows / dsecs, "parity_differs": []}
        print(f"polars  durable     {view:<16} {rows:>10} rows in {dsecs:8.3f} s = "
              f"{rows / dsecs:12.0f} rows/s (compute + write_parquet + fsync)")
        print(json.dumps(durable))
        # Polars writes NaN for log(0) and nulls for warm-up; the check reads both as NaN.
        problems = fp.compare(res.fill_nan(None).to_pandas(), d / panel, view)
        rec["parity_differs"] = problems
        summary.append(rec)
        summary.append(durable)
        del bars, res
    with open(d / "polars_results.jsonl", "w") as fh:
        for rec in summary:
            fh.write(json.dumps(rec) + "\n")
    fp.print_summary(d, summary)


if __name__ == "__main__":
    main()
