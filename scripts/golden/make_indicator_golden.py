#!/usr/bin/env python3
"""Golden files for the indicators of crates/sextant-backtest, computed by TA-Lib (and pandas).

Installs nothing itself. Set up the environment once (versions pinned in requirements.txt):

    python3.11 -m venv .venv-golden && . .venv-golden/bin/activate
    pip install -r scripts/golden/requirements.txt

The `TA-Lib` wheel on PyPI bundles the TA-Lib C library (manylinux x86_64), so no system
library is needed. Then, from the repository root:

    python scripts/golden/make_indicator_golden.py

Input: real OHLCV bars of the bundled sample data/sample/us-equities-daily-2000-2013.csv.gz
(unadjusted High/Low/Close/Volume): the first 600 MSFT bars (2000-2002, dot-com crash) and the
last 600 AAPL bars (2011-2013). Output: crates/sextant-backtest/tests/golden/indicators_<sym>.json
with the inputs and, per case, TA-Lib's outputs (NaN written as null).
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import talib

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "sample" / "us-equities-daily-2000-2013.csv.gz"
OUT_DIR = ROOT / "crates" / "sextant-backtest" / "tests" / "golden"

# (symbol, which end of the history, number of bars)
SELECTION = [("MSFT", "head", 600), ("AAPL", "tail", 600)]


def series(values):
    """A float list with NaN as None (JSON null)."""
    out = []
    for v in np.asarray(values, dtype=float):
        out.append(None if math.isnan(v) else float(v))
    return out


def cases(o, h, l, c, v):
    """Every (indicator, params, outputs) case; outputs are dicts of name -> array."""
    del o  # no indicator here uses the open
    result = []

    def add(name, params, **outputs):
        result.append(
            {
                "indicator": name,
                "params": params,
                "outputs": {k: series(a) for k, a in outputs.items()},
            }
        )

    for n in (5, 20, 50):
        add("sma", {"n": n}, real=talib.SMA(c, timeperiod=n))
    for n in (1, 10, 30):
        add("ema", {"n": n}, real=talib.EMA(c, timeperiod=n))
    for n in (2, 10, 30):
        add("wma", {"n": n}, real=talib.WMA(c, timeperiod=n))
    for n in (2, 14, 30):
        add("rsi", {"n": n}, real=talib.RSI(c, timeperiod=n))
    for fast, slow, signal in ((12, 26, 9), (5, 35, 5), (26, 12, 9), (3, 10, 1)):
        m, s, hist = talib.MACD(c, fastperiod=fast, slowperiod=slow, signalperiod=signal)
        add("macd", {"fast": fast, "slow": slow, "signal": signal}, macd=m, signal=s, hist=hist)
    for n, up, dn in ((20, 2.0, 2.0), (10, 1.5, 2.5), (5, 1.0, 1.0), (30, 1.0, 3.0)):
        upper, middle, lower = talib.BBANDS(c, timeperiod=n, nbdevup=up, nbdevdn=dn, matype=0)
        add(
            "bbands",
            {"n": n, "nbdev_up": up, "nbdev_dn": dn},
            upper=upper,
            middle=middle,
            lower=lower,
        )
    add("trange", {}, real=talib.TRANGE(h, l, c))
    for n in (1, 5, 14):
        add("atr", {"n": n}, real=talib.ATR(h, l, c, timeperiod=n))
    for fastk, slowk, slowd in ((5, 3, 3), (14, 3, 3), (9, 1, 4)):
        k, d = talib.STOCH(
            h,
            l,
            c,
            fastk_period=fastk,
            slowk_period=slowk,
            slowk_matype=0,
            slowd_period=slowd,
            slowd_matype=0,
        )
        add("stoch", {"fastk": fastk, "slowk": slowk, "slowd": slowd}, slowk=k, slowd=d)
    for n in (5, 14):
        add(
            "adx",
            {"n": n},
            adx=talib.ADX(h, l, c, timeperiod=n),
            plus_di=talib.PLUS_DI(h, l, c, timeperiod=n),
            minus_di=talib.MINUS_DI(h, l, c, timeperiod=n),
        )
    add("obv", {}, real=talib.OBV(c, v))
    for n in (1, 10):
        add("roc", {"n": n}, real=talib.ROC(c, timeperiod=n))
        add("mom", {"n": n}, real=talib.MOM(c, timeperiod=n))
    for n in (20, 55):
        upper = talib.MAX(h, timeperiod=n)
        lower = talib.MIN(l, timeperiod=n)
        add("donchian", {"n": n}, upper=upper, middle=(upper + lower) / 2.0, lower=lower)
    close = pd.Series(c)
    for n in (20, 60):
        for ddof in (0, 1):
            roll = close.rolling(n)
            z = (close - roll.mean()) / roll.std(ddof=ddof)
            add("zscore", {"n": n, "ddof": ddof}, real=z.to_numpy())
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args()

    frame = pd.read_csv(DATA, parse_dates=["Date"])
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for symbol, end, rows in SELECTION:
        bars = frame[frame["Ticker"] == symbol].sort_values("Date")
        bars = bars.head(rows) if end == "head" else bars.tail(rows)
        o, h, l, c, v = (
            bars[col].to_numpy(dtype=float) for col in ("Open", "High", "Low", "Close", "Volume")
        )
        if np.isnan(np.stack([o, h, l, c, v])).any() or (h < l).any():
            sys.exit(f"{symbol}: unexpected NaN or high < low in the sample data")
        doc = {
            "meta": {
                "generator": "scripts/golden/make_indicator_golden.py",
                "source": "data/sample/us-equities-daily-2000-2013.csv.gz",
                "symbol": symbol,
                "first_date": bars["Date"].iloc[0].strftime("%Y-%m-%d"),
                "last_date": bars["Date"].iloc[-1].strftime("%Y-%m-%d"),
                "bars": len(bars),
                "talib_python": talib.__version__,
                "talib_c": talib.__ta_version__.decode().split(" ")[0],
                "numpy": np.__version__,
                "pandas": pd.__version__,
            },
            "input": {
                "open": series(o),
                "high": series(h),
                "low": series(l),
                "close": series(c),
                "volume": series(v),
            },
            "cases": cases(o, h, l, c, v),
        }
        path = args.out_dir / f"indicators_{symbol.lower()}.json"
        path.write_text(json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n")
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
