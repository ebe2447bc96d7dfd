#!/usr/bin/env python3
"""Write GOOG adjusted daily bars as CSV (ts,open,high,low,close,volume) for optuna_peer.py --bars.

Not run by CI. A stand-in until the Rust side exports its own bars. Source: the bundled
data/sample/us-equities-daily-2000-2013.csv.gz (= shared/data, Quandl WIKI, public domain):
GOOG 2004-08-19 .. 2013-03-01, 2,148 bars. Open/high/low/close are the unadjusted prices times
Adj Close / Close of the same row (for GOOG in this file that ratio is the constant 0.50154823...,
i.e. the 2014 share-class split; no dividends in the range), written with Python's shortest
round-trip repr. Volume is left unadjusted (the SMA strategy does not use it). ts is the date.

Usage: python make_goog_bars.py [--data PATH] [--out /tmp/goog-adj.csv]
"""

import argparse
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data/sample/us-equities-daily-2000-2013.csv.gz"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=Path("/tmp/goog-adj.csv"))
    args = ap.parse_args()
    cols = ["Open", "High", "Low", "Close", "Adj Close"]
    df = pd.read_csv(args.data, dtype={c: str for c in cols})
    for c in cols:
        df[c] = df[c].map(float)  # correctly rounded, like Rust's str::parse
    g = df[df["Ticker"] == "GOOG"].sort_values("Date")
    factor = g["Adj Close"] / g["Close"]
    with args.out.open("w") as f:
        f.write("ts,open,high,low,close,volume\n")
        for row, k in zip(g.itertuples(index=False), factor):
            o, h, l, c = (row.Open * k, row.High * k, row.Low * k, row.Close * k)
            f.write(f"{row.Date},{o!r},{h!r},{l!r},{c!r},{int(row.Volume)}\n")
    print(f"wrote {args.out}: {len(g)} bars {g['Date'].iloc[0]} .. {g['Date'].iloc[-1]}, "
          f"factor {float(factor.min())!r} .. {float(factor.max())!r}")


if __name__ == "__main__":
    main()
