#!/usr/bin/env python3
"""Make the golden files for sextant-backtest's simulator tests.

Runs a long-only SMA(10)/SMA(20) crossover on the bundled real data (unadjusted OHLC) in two
reference libraries and writes what they report:

* backtest_bt066_sma_cross.json  -- backtesting.py 0.6.6, market orders filled at the next
  bar's open (trade_on_close=False), commission=0.002, finalize_trades=False.
* backtest_vbt120_sma_cross.json -- vectorbt 1.2.0, Portfolio.from_signals filled at the signal
  bar's close, fees=0.002, size_granularity=1.

Both use the SAME signals so that the goldens test fills, sizing and costs rather than the moving
average: SMA is computed with TA-Lib's running-sum recurrence (bit-identical to
sextant_backtest::indicators::sma) and a cross is strict on both bars, exactly
backtesting.lib.crossover: up at t <=> fast[t-1] < slow[t-1] and fast[t] > slow[t]. A bar with
fast == slow on either side suppresses the cross (see the simulator docs). The script also counts,
for information, the bars where vectorbt's own MA/ma_crossed_above would signal differently.

Usage: python make_backtest_golden.py [--data PATH] [--out DIR]
"""

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data/sample/us-equities-daily-2000-2013.csv.gz"
OUT = ROOT / "crates/sextant-backtest/tests/golden"
SYMBOLS = ["AAPL", "GOOG", "IBM", "MSFT"]
FAST, SLOW = 10, 20
CASH = 10_000.0
COMMISSION = 0.002


def talib_sma(x, n):
    """TA-Lib's SMA recurrence (ta_SMA.c): running total, add the newest, divide, drop the oldest."""
    out = [math.nan] * len(x)
    if len(x) < n:
        return np.array(out)
    total = 0.0
    for i in range(n - 1):
        total += x[i]
    for i in range(n - 1, len(x)):
        total += x[i]
        out[i] = total / n
        total -= x[i - n + 1]
    return np.array(out)


def strict_cross(a, b):
    """up[t] = a[t-1] < b[t-1] and a[t] > b[t]; NaN compares False (backtesting.lib.crossover)."""
    out = np.zeros(len(a), dtype=bool)
    with np.errstate(invalid="ignore"):
        out[1:] = (a[:-1] < b[:-1]) & (a[1:] > b[1:])
    return out


def load(path):
    # Prices are parsed by Python's float() (correctly rounded, the same f64 as Rust's
    # str::parse), not pandas' own fast parser, which need not round correctly.
    cols = ["Open", "High", "Low", "Close", "Volume"]
    df = pd.read_csv(path, dtype={c: str for c in cols})
    for c in cols:
        df[c] = df[c].map(float)
    df["Date"] = pd.to_datetime(df["Date"])
    return df


def frame(df, sym):
    d = df[df["Ticker"] == sym].sort_values("Date").set_index("Date")
    return d[["Open", "High", "Low", "Close", "Volume"]].astype(float)


def signals(close):
    fast, slow = talib_sma(list(close), FAST), talib_sma(list(close), SLOW)
    return fast, slow, strict_cross(fast, slow), strict_cross(slow, fast)


def run_backtesting_py(d):
    import backtesting
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    fast, slow, _, _ = signals(d["Close"].to_numpy())

    class SmaCrossLong(Strategy):
        def init(self):
            self.fast = self.I(lambda: fast, name="fast")
            self.slow = self.I(lambda: slow, name="slow")

        def next(self):
            # Enter only when flat: a second up-cross can follow a tie without a down-cross in
            # between, and buy() would then add a 1-share trade from leftover cash.
            if crossover(self.fast, self.slow) and not self.position:
                self.buy()
            elif crossover(self.slow, self.fast) and self.position:
                self.position.close()

    bt = Backtest(d, SmaCrossLong, cash=CASH, commission=COMMISSION, trade_on_close=False,
                  exclusive_orders=False, finalize_trades=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = bt.run()
    tr = stats["_trades"]
    trades = [
        {
            "entry_bar": int(r.EntryBar), "exit_bar": int(r.ExitBar),
            "entry_price": float(r.EntryPrice), "exit_price": float(r.ExitPrice),
            "size": float(r.Size), "pnl": float(r.PnL), "return": float(r.ReturnPct),
            "commission": float(r.Commission),
        }
        for r in tr.itertuples()
    ]
    broker = stats["_strategy"]._broker
    open_trades = [
        {"entry_bar": int(t.entry_bar), "entry_price": float(t.entry_price), "size": float(t.size)}
        for t in broker.trades
    ]
    return {
        "trades": trades,
        "open_trades": open_trades,
        "final_equity": float(stats["Equity Final [$]"]),
        "library": f"backtesting {backtesting.__version__}",
    }


def run_vectorbt(d):
    import vectorbt as vbt

    close = d["Close"]
    _, _, up, down = signals(close.to_numpy())
    pf = vbt.Portfolio.from_signals(close, entries=pd.Series(up, index=close.index),
                                    exits=pd.Series(down, index=close.index), init_cash=CASH,
                                    fees=COMMISSION, size_granularity=1, freq="1D")
    orders = [
        {"bar": int(r["idx"]), "side": "buy" if int(r["side"]) == 0 else "sell",
         "size": float(r["size"]), "price": float(r["price"]), "fees": float(r["fees"])}
        for r in pf.orders.values
    ]
    trades = [
        {
            "entry_bar": int(r["entry_idx"]), "exit_bar": int(r["exit_idx"]),
            "entry_price": float(r["entry_price"]), "exit_price": float(r["exit_price"]),
            "size": float(r["size"]), "entry_fees": float(r["entry_fees"]),
            "exit_fees": float(r["exit_fees"]), "pnl": float(r["pnl"]),
            "return": float(r["return"]), "open": int(r["status"]) == 0,
        }
        for r in pf.trades.values
    ]
    # For information: where vectorbt's own MA (prefix-sum rolling mean) and crossover rule
    # (a tie does not reset "was below", so a cross through a tie counts) disagree with ours.
    ma_f = vbt.MA.run(close, FAST)
    ma_s = vbt.MA.run(close, SLOW)
    native_up = ma_f.ma_crossed_above(ma_s).to_numpy()
    native_down = ma_f.ma_crossed_below(ma_s).to_numpy()
    return {
        "orders": orders,
        "trades": trades,
        "final_equity": float(pf.final_value()),
        "native_signal_mismatches": int((native_up != up).sum() + (native_down != down).sum()),
        "library": f"vectorbt {vbt.__version__}",
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    df = load(args.data)
    cases = {
        "backtest_bt066_sma_cross.json": ("next_open", run_backtesting_py),
        "backtest_vbt120_sma_cross.json": ("signal_close", run_vectorbt),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (fill, fn) in cases.items():
        per_symbol = {}
        for sym in SYMBOLS:
            d = frame(df, sym)
            res = fn(d)
            library = res.pop("library")
            res.update({"n_bars": len(d), "first_date": str(d.index[0].date()),
                        "last_date": str(d.index[-1].date())})
            per_symbol[sym] = res
            print(f"{name} {sym}: {len(res['trades'])} trades, final {res['final_equity']!r}",
                  file=sys.stderr)
        doc = {
            "generator": "scripts/golden/make_backtest_golden.py",
            "library": library,
            "strategy": {"name": "sma_cross", "fast": FAST, "slow": SLOW, "long_only": True,
                         "ma": "talib_sma", "cross": "strict"},
            "fill": fill,
            "init_cash": CASH,
            "commission": COMMISSION,
            "whole_shares": True,
            "symbols": per_symbol,
        }
        (args.out / name).write_text(json.dumps(doc, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
