#!/usr/bin/env python3
"""Run the SMA-cross grid of examples/bench_sweep.rs in vectorbt and time it.

Grid: fast 2..=100 x slow fast+1..=200 (14,751 combinations) on the daily closes of AAPL, GOOG,
IBM and MSFT from the bundled sample, long only, signal-bar close fills, 10,000 cash, 0.2% fees,
whole shares (size_granularity=1) -- the vectorbt side of `SweepConfig { fill: SignalClose,
convention: VectorBt }`. Signals are vectorbt's own MA / ma_crossed_above / ma_crossed_below.

The grid is run one symbol at a time (a "chunk" = one symbol's 14,751 columns): all four symbols
at once need four times the memory (~16 GB measured earlier on this 24 GB machine). Pass
--chunks N to split each symbol's columns further. Numba compilation is done on a small warm-up
run first and reported separately.

Prints wall time, bar-evaluations per second and peak RSS; --out FILE writes the final values
per symbol in grid order, for comparing with the Rust sweep.

Usage: python vectorbt_sweep.py [--chunks N] [--out FILE]
"""

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import vectorbt as vbt

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data/sample/us-equities-daily-2000-2013.csv.gz"
SYMBOLS = ["AAPL", "GOOG", "IBM", "MSFT"]


def grid():
    return [(f, s) for f in range(2, 101) for s in range(f + 1, 201)]


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(close, combos):
    fast = vbt.MA.run(close, window=[f for f, _ in combos], short_name="fast")
    slow = vbt.MA.run(close, window=[s for _, s in combos], short_name="slow")
    entries = fast.ma_crossed_above(slow)
    exits = fast.ma_crossed_below(slow)
    pf = vbt.Portfolio.from_signals(close, entries, exits, init_cash=10_000.0, fees=0.002,
                                    size_granularity=1, freq="1D")
    out = {
        "final_value": pf.final_value().to_numpy(),
        "trades": pf.trades.count().to_numpy(),
        "sharpe": pf.sharpe_ratio().to_numpy(),
        "max_drawdown": pf.max_drawdown().to_numpy(),
    }
    del fast, slow, entries, exits, pf
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=1, help="column chunks per symbol")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    df = pd.read_csv(DATA, dtype={"Close": str})
    df["Close"] = df["Close"].map(float)
    closes = {s: df[df["Ticker"] == s].sort_values("Date")["Close"].reset_index(drop=True) for s in SYMBOLS}
    combos = grid()

    t0 = time.perf_counter()
    run(closes["AAPL"].iloc[:300], combos[:50])  # numba compilation
    compile_s = time.perf_counter() - t0

    results = {}
    bars = 0
    t0 = time.perf_counter()
    for sym in SYMBOLS:
        close = closes[sym]
        bars += len(close)
        parts = np.array_split(np.arange(len(combos)), args.chunks)
        chunks = [run(close, [combos[i] for i in p]) for p in parts]
        results[sym] = {k: np.concatenate([c[k] for c in chunks]).tolist() for k in chunks[0]}
    wall = time.perf_counter() - t0
    evals = len(combos) * bars
    print(f"vectorbt {vbt.__version__}: {len(combos)} combos x {len(SYMBOLS)} symbols, "
          f"{evals / 1e6:.1f}M bar-evaluations, chunks per symbol: {args.chunks}")
    print(f"vectorbt wall: {wall:.2f} s (numba warm-up {compile_s:.2f} s not included)")
    print(f"vectorbt throughput: {evals / wall / 1e6:.1f}M bar-evals/s")
    print(f"vectorbt peak RSS: {peak_rss_mib():.0f} MiB")
    if args.out:
        args.out.write_text(json.dumps({"combos": combos, "symbols": results}))


if __name__ == "__main__":
    main()
