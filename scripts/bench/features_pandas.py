#!/usr/bin/env python3
"""The pandas side of the feature-materialisation benchmark (scripts/bench-features).

Reads the files `bench_features` (the Rust example) wrote into DIR, computes the `technical`
feature view with pandas/numpy using exactly the formulas of
crates/sextant-data/src/features/{views,store}.rs, times the computation (CSV parsing and
timestamp parsing excluded; sorting, adjustment and every feature included), and compares the
values with the Rust panels (rust_daily.csv: every row; rust_intraday_sample.csv: a 1% sample
plus each symbol's first 60 rows).

SQL semantics reproduced here:
- f = adj_close / close when every bar of the symbol has an adjusted close (else 1);
  c, o, h, l = price * f; v = volume / s, where s is the split-only factor: the product of the
  later splits, a split being a step of f between two bars that is within 3 % (in log) of a
  common split ratio (sextant_domain::prices).
- lag(c) over (partition by symbol order by ts); r1 = ln(c / lag c).
- tr uses DuckDB's greatest(), which skips NULL arguments: on a symbol's first row (no
  previous close) tr = h - l. gain and loss are NULL there (no price change yet), so RSI-14
  needs 14 real changes; a window with no loss is 100 (50 when also no gain).
- rolling(agg, x, n) is NULL unless the last n rows all have x (count(x) = n): pandas
  rolling(n, min_periods=n) over the symbol's rows. stddev_samp = ddof 1.
- nullif(x, 0) divisors: NaN where the divisor is exactly 0.
- percent_rank() over (partition by ts, x is null order by x), NULL where x is NULL:
  (min rank - 1) / (n - 1) among the non-null values at that ts, 0 when n = 1.
- isodow / month of the exchange-local session date.

Usage: features_pandas.py DIR
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

EXCHANGE_TZ = "America/New_York"

FEATURES = [
    "ret_1", "ret_5", "ret_10", "ret_20", "vol_10", "vol_20", "rsi_14", "sma_ratio_10_50",
    "close_sma_20", "volume_z_20", "atr_14", "range", "gap", "day_of_week", "month",
    "cs_rank_ret_5", "cs_rank_vol_20",
]
RANKS = {"cs_rank_ret_5", "cs_rank_vol_20"}
REL_TOL = 1e-9


# ---------------------------------------------------------------- loading (not timed)

def load_daily(d: Path) -> pd.DataFrame:
    raw = pd.read_csv(d / "daily.csv.gz")
    date = pd.to_datetime(raw["Date"])
    return pd.DataFrame({
        "symbol": raw["Ticker"].astype(str).str.strip().str.upper(),
        "ts": date,            # daily bars: the session date at 00:00
        "session": date,
        "open": raw["Open"].astype(float), "high": raw["High"].astype(float),
        "low": raw["Low"].astype(float), "close": raw["Close"].astype(float),
        "volume": raw["Volume"].astype(float), "adj_close": raw["Adj Close"].astype(float),
    })


def load_intraday(d: Path) -> pd.DataFrame:
    raw = pd.read_csv(d / "intraday.csv")
    local = pd.to_datetime(raw["Datetime"], format="%Y-%m-%d %H:%M:%S")
    # The cache stores UTC (the file is exchange-local, as vendors write it).
    utc = local.dt.tz_localize(EXCHANGE_TZ).dt.tz_convert("UTC").dt.tz_localize(None)
    return pd.DataFrame({
        "symbol": raw["Ticker"].astype(str).str.strip().str.upper(),
        "ts": utc,
        "session": local.dt.normalize(),
        "open": raw["Open"].astype(float), "high": raw["High"].astype(float),
        "low": raw["Low"].astype(float), "close": raw["Close"].astype(float),
        "volume": raw["Volume"].astype(float), "adj_close": np.nan,  # no adjusted close
    })


# ---------------------------------------------------------------- the view (timed)

def percent_rank(x: pd.Series, by: np.ndarray) -> pd.Series:
    """DuckDB percent_rank() over (partition by ts order by x) among non-null x; NaN where x is."""
    g = x.groupby(by, sort=False)
    r = g.rank(method="min")
    n = g.transform("count")
    out = (r - 1.0) / (n - 1.0)
    out[(n == 1) & x.notna()] = 0.0
    return out


SPLIT_RATIOS = [2.0, 3.0, 1.5, 4.0, 5.0, 1.25, 10.0, 7.0, 8.0, 20.0]


def split_factor(f: pd.Series, sym: np.ndarray) -> pd.Series:
    """The split-only factor of each bar (1 for the newest bar of a symbol), as
    sextant_domain::prices::factors infers it from the vendor's adjusted/raw ratio."""
    step = (f.groupby(sym, sort=False).shift(1) / f).to_numpy()
    k = np.ones(len(f))
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(step)
    for r in SPLIT_RATIOS:
        lk = np.log(r)
        hit = (k == 1.0) & (np.abs(lr + lk) < 0.03)
        k[hit] = r
        hit = (k == 1.0) & (np.abs(lr - lk) < 0.03)
        k[hit] = 1.0 / r
    # s[i] = product over later bars j of the symbol of 1 / k[j].
    inv = pd.Series(1.0 / k, index=f.index)
    later = inv.iloc[::-1].groupby(sym[::-1], sort=False).cumprod().iloc[::-1]
    return later / inv


def compute(bars: pd.DataFrame) -> pd.DataFrame:
    df = bars.sort_values(["symbol", "ts"], kind="stable", ignore_index=True)
    sym = df["symbol"].to_numpy()
    close = df["close"]
    f = (df["adj_close"] / close.where(close != 0)).fillna(1.0)
    c, o, h, lo = close * f, df["open"] * f, df["high"] * f, df["low"] * f
    v = df["volume"] / split_factor(f, sym)

    def lag(s, k=1):
        return s.groupby(sym, sort=False).shift(k)

    # The (symbol, ts)-sorted frame is one contiguous block per symbol: roll each block on its
    # own (exactly what groupby().rolling() computes, without its MultiIndex overhead, which
    # made it ~5x slower here). One pass over the whole column masked at the block starts would
    # be faster still, but carries the running-variance state across symbols (1e-9 errors).
    starts = np.flatnonzero(np.r_[True, sym[1:] != sym[:-1]])
    blocks = list(zip(starts, np.r_[starts[1:], len(sym)]))

    def roll(s, n, how):
        x = s.to_numpy()
        out = np.empty(len(x))
        for a, b in blocks:
            r = pd.Series(x[a:b]).rolling(n, min_periods=n)
            out[a:b] = (r.std(ddof=1) if how == "std" else r.mean()).to_numpy()
        return pd.Series(out, index=s.index)

    lc = lag(c)
    r1 = np.log(c / lc)
    # greatest() skips NULLs: first row tr = h - l; gain and loss are NaN there.
    tr = pd.Series(np.fmax(np.fmax(h - lo, (h - lc).abs()), (lo - lc).abs()), index=df.index)
    gain = pd.Series(np.where(np.isnan(lc), np.nan, np.fmax(c - lc, 0.0)), index=df.index)
    loss = pd.Series(np.where(np.isnan(lc), np.nan, np.fmax(lc - c, 0.0)), index=df.index)

    out = pd.DataFrame({"symbol": df["symbol"], "ts": df["ts"]})
    out["ret_1"] = r1
    for k in (5, 10, 20):
        out[f"ret_{k}"] = np.log(c / lag(c, k))
    for n in (10, 20):
        out[f"vol_{n}"] = roll(r1, n, "std")
    al = roll(loss, 14, "mean")
    ag = roll(gain, 14, "mean")
    rsi = 100 - 100 / (1 + ag / al.where(al != 0))
    one_sided = np.where(ag == 0, 50.0, 100.0)
    out["rsi_14"] = rsi.where(~(al == 0), one_sided)
    out["sma_ratio_10_50"] = roll(c, 10, "mean") / roll(c, 50, "mean") - 1
    out["close_sma_20"] = c / roll(c, 20, "mean") - 1
    sv = roll(v, 20, "std")
    out["volume_z_20"] = (v - roll(v, 20, "mean")) / sv.where(sv != 0)
    out["atr_14"] = roll(tr, 14, "mean") / c
    out["range"] = (h - lo) / c
    out["gap"] = np.log(o / lc)
    out["day_of_week"] = (df["session"].dt.dayofweek + 1).astype(float)
    out["month"] = df["session"].dt.month.astype(float)
    ts_key = df["ts"].to_numpy().view("i8")
    out["cs_rank_ret_5"] = percent_rank(out["ret_5"], ts_key)
    out["cs_rank_vol_20"] = percent_rank(out["vol_20"], ts_key)
    return out


def timed(bars: pd.DataFrame, repeats: int):
    best, res = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        res = compute(bars)
        best = min(best, time.perf_counter() - t)
    return res, best


# ---------------------------------------------------------------- parity

def compare(ours: pd.DataFrame, rust_csv: Path, label: str) -> list:
    rust = pd.read_csv(rust_csv)
    rust["ts"] = pd.to_datetime(rust["ts"], format="%Y-%m-%d %H:%M:%S")
    m = rust.merge(ours, on=["symbol", "ts"], how="left", suffixes=("_rs", "_pd"),
                   indicator=True)
    missing = int((m["_merge"] != "both").sum())
    print(f"parity {label}: {len(rust)} Rust rows compared ({missing} without a pandas row)")
    problems = []
    for feat in FEATURES:
        a = m[f"{feat}_rs"].to_numpy(float)
        b = m[f"{feat}_pd"].to_numpy(float)
        na, nb = np.isnan(a), np.isnan(b)
        nan_mismatch = int((na != nb).sum())
        both = ~na & ~nb
        diff = np.abs(a[both] - b[both])
        scale = np.maximum(np.abs(a[both]), np.abs(b[both]))
        # Relative error where the value is not ~0 (|x| > 1e-8; below that the absolute counts).
        rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 1e-8)
        max_abs = float(diff.max()) if diff.size else 0.0
        max_rel = float(rel.max()) if rel.size else 0.0
        # Pass: same NaN pattern and every value within 1e-9 relative (or 1e-12 absolute for
        # values that are ~0, where a relative error means nothing).
        bad = (diff > REL_TOL * scale) & (diff > 1e-12)
        n_bad = int(bad.sum())
        ok = nan_mismatch == 0 and n_bad == 0
        line = (f"  {feat:<16} max abs {max_abs:9.3e}  max rel {max_rel:9.3e}  "
                f"NaN mismatches {nan_mismatch:>5}  values out of tol {n_bad:>5}  "
                f"{'ok' if ok else 'DIFFERS'}")
        print(line)
        if not ok:
            idx = np.flatnonzero(na != nb)
            if idx.size == 0:
                idx = np.flatnonzero(both)[np.flatnonzero(bad)]
            r = m.iloc[idx[0]]
            print(f"      first: {r['symbol']} {r['ts']} rust={r[f'{feat}_rs']!r} "
                  f"pandas={r[f'{feat}_pd']!r}")
            problems.append(feat)
    return problems


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: features_pandas.py DIR")
    d = Path(sys.argv[1])
    print(f"pandas {pd.__version__}, numpy {np.__version__}")

    summary = []
    for view, loader, repeats, panel in [
        ("technical", load_daily, 3, "rust_daily.csv"),
        ("technical_1min", load_intraday, None, "rust_intraday_sample.csv"),
    ]:
        t = time.perf_counter()
        bars = loader(d)
        parse_s = time.perf_counter() - t
        if repeats is None:
            repeats = 3 if len(bars) <= 2_000_000 else 1
        res, secs = timed(bars, repeats)
        rows = len(res)
        rec = {"engine": "pandas", "view": view, "rows": rows, "seconds": secs,
               "repeats": repeats, "rows_per_s": rows / secs, "csv_parse_seconds": parse_s}
        print(f"pandas  compute     {view:<16} {rows:>10} rows in {secs:8.3f} s = "
              f"{rows / secs:12.0f} rows/s (best of {repeats}; CSV parse {parse_s:.1f} s not counted)")
        print(json.dumps(rec))
        problems = compare(res, d / panel, view)
        rec["parity_differs"] = problems
        summary.append(rec)
        del bars, res

    with open(d / "pandas_results.jsonl", "w") as fh:
        for rec in summary:
            fh.write(json.dumps(rec) + "\n")

    print_summary(d, summary)


def print_summary(d: Path, peers: list):
    """Each peer's figure beside each sextant engine's, from the same run."""
    rust = {}
    for line in (d / "rust_results.jsonl").read_text().splitlines():
        r = json.loads(line)
        rust.setdefault(r["view"], {})[r["engine"]] = r
    print(f"\nsummary (rows/s; ratio = sextant / {peers[0]['engine']}, > 1 is faster)")
    for rec in peers:
        for engine, r in sorted(rust.get(rec["view"], {}).items()):
            print(f"  {rec['view']:<16} {rec['rows']:>10} rows: sextant {engine:<10} "
                  f"{r['rows_per_s']:12.0f}  {rec['engine']} {rec['rows_per_s']:12.0f}  "
                  f"ratio {r['rows_per_s'] / rec['rows_per_s']:6.2f}x  "
                  f"(sextant {r['seconds']:.3f} s {'in memory' if engine.endswith('in_memory') else 'durable'}; "
                  f"{rec['engine']} {rec['seconds']:.3f} s {'durable' if rec['engine'].endswith('parquet') else 'in memory'})"
                  f"  parity: {'ok' if not rec['parity_differs'] else 'DIFFERS ' + ','.join(rec['parity_differs'])}")
            if r["rows"] != rec["rows"]:
                print(f"    row counts differ: sextant {r['rows']}, {rec['engine']} {rec['rows']}")


if __name__ == "__main__":
    main()
