#!/usr/bin/env python3
"""Writes a generated daily universe for the bars-serving benchmark: SYMBOLS symbols (S0000,
S0001, ...), weekdays from 2004-01-05 for DAYS sessions, a gentle geometric random walk (seeded,
so every run serves the same bars). Standard library only.

Usage: bars_universe.py OUT.csv [SYMBOLS=500] [DAYS=2500]
"""
import datetime as dt
import math
import random
import sys


def main():
    out = sys.argv[1]
    symbols = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    days = int(sys.argv[3]) if len(sys.argv) > 3 else 2500
    rng = random.Random(2026)
    dates = []
    d = dt.date(2004, 1, 5)
    while len(dates) < days:
        if d.weekday() < 5:
            dates.append(d.isoformat())
        d += dt.timedelta(days=1)
    with open(out, "w") as f:
        f.write("Ticker,Date,Open,High,Low,Close,Volume\n")
        for s in range(symbols):
            p = 20.0 + 80.0 * rng.random()
            name = f"S{s:04d}"
            for day in dates:
                o = p
                p *= math.exp(rng.gauss(0.0002, 0.012))
                hi = max(o, p) * (1 + 0.004 * rng.random())
                lo = min(o, p) * (1 - 0.004 * rng.random())
                f.write(f"{name},{day},{o:.4f},{hi:.4f},{lo:.4f},{p:.4f},{rng.randint(100000, 5000000)}\n")
    print(f"{symbols} symbols x {days} sessions ({dates[0]} .. {dates[-1]}) -> {out}")


if __name__ == "__main__":
    main()
