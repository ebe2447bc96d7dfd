#!/usr/bin/env python3
"""Make the golden file for the rule language's risk exits against backtesting.py 0.6.6.

Writes crates/sextant-backtest/tests/golden/rules_bt066_exits.json: trades of an SMA(10)/SMA(20)
crossover (TA-Lib SMA, strict crosses, as make_backtest_golden.py) with protective exits, on the
bundled unadjusted daily bars of AAPL, GOOG, IBM and MSFT, 10,000 cash, 0.2% commission:

* long_sl_tp / long_sl_tp_close -- long on the up-cross with buy(sl=c*(1-0.04), tp=c*(1+0.08))
  (c = the signal bar's close), closed on the down-cross; next-open fills, then
  trade_on_close=True.
* short_units_sl_tp -- short 10 shares on the down-cross with sell(size=10, sl=c*(1+0.04),
  tp=c*(1-0.08)), covered on the up-cross (per-rule sizing: a fixed quantity).
* long_trailing -- long on the up-cross with sl=c*(1-0.05), and at every later close while the
  trade is open trade.sl = max(trade.sl, c*(1-0.05)) (what backtesting.lib.TrailingStrategy
  does with an ATR distance), plus tp=c*(1+0.15); closed on the down-cross.
* long_atr -- long on the up-cross with sl=c-2*ATR(14), tp=c+3*ATR(14): Wilder's ATR with
  TA-Lib's recurrence (mean of the first 14 true ranges, then (atr*13 + tr)/14), computed here
  in the same operation order as sextant_backtest::indicators::AtrState, so the levels are the
  same floats.

The Rust test runs the same definitions through the rule language and must find the same entry
and exit bars, prices and sizes.

Usage: python make_rules_golden.py [--data PATH] [--out DIR]
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_backtest_golden import CASH, COMMISSION, DATA, OUT, SYMBOLS, frame, load, signals  # noqa: E402

SL, TP, TRAIL, TRAIL_TP, UNITS = 0.04, 0.08, 0.05, 0.15, 10
ATR_N, ATR_SL, ATR_TP = 14, 2.0, 3.0


def talib_atr(high, low, close, n):
    """TA-Lib's ATR: true ranges from the second bar, their mean over the first n, then Wilder."""
    out = [float("nan")] * len(close)
    value, count = 0.0, 0
    for i in range(1, len(close)):
        h, l, pc = high[i], low[i], close[i - 1]
        tr = h - l
        up = abs(h - pc)
        if up > tr:
            tr = up
        down = abs(l - pc)
        if down > tr:
            tr = down
        if count < n:
            value += tr
            count += 1
            if count < n:
                continue
            value /= n
        else:
            value = (value * (n - 1.0) + tr) / n
        out[i] = value
    return out


def strategy(kind):
    from backtesting import Strategy
    from backtesting.lib import crossover

    class Exits(Strategy):
        def init(self):
            fast, slow, _, _ = signals(self.data.Close.astype(float))
            self.fast = self.I(lambda: fast, name="fast")
            self.slow = self.I(lambda: slow, name="slow")
            atr = talib_atr(list(self.data.High), list(self.data.Low), list(self.data.Close), ATR_N)
            self.atr = self.I(lambda: atr, name="atr")

        def next(self):
            c = self.data.Close[-1]
            up, down = crossover(self.fast, self.slow), crossover(self.slow, self.fast)
            if kind == "long_trailing":
                for trade in self.trades:
                    trade.sl = max(trade.sl or -float("inf"), c * (1 - TRAIL))
            if kind.startswith("long"):
                if up and not self.position:
                    if kind == "long_trailing":
                        self.buy(sl=c * (1 - TRAIL), tp=c * (1 + TRAIL_TP))
                    elif kind == "long_atr":
                        a = self.atr[-1]
                        self.buy(sl=c - ATR_SL * a, tp=c + ATR_TP * a)
                    else:
                        self.buy(sl=c * (1 - SL), tp=c * (1 + TP))
                elif down and self.position:
                    self.position.close()
            else:
                if down and not self.position:
                    self.sell(size=UNITS, sl=c * (1 + SL), tp=c * (1 - TP))
                elif up and self.position:
                    self.position.close()

    return Exits


def run(d, kind, on_close):
    import backtesting
    from backtesting import Backtest

    bt = Backtest(d, strategy(kind), cash=CASH, commission=COMMISSION, trade_on_close=on_close,
                  exclusive_orders=False, finalize_trades=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = bt.run()
    trades = [
        {"entry_bar": int(r.EntryBar), "exit_bar": int(r.ExitBar),
         "entry_price": float(r.EntryPrice), "exit_price": float(r.ExitPrice),
         "size": float(r.Size), "pnl": float(r.PnL)}
        for r in stats["_trades"].itertuples()
    ]
    return {"trades": trades, "final_equity": float(stats["Equity Final [$]"]),
            "library": f"backtesting {backtesting.__version__}"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    df = load(args.data)
    cases = {
        "long_sl_tp": ("long_sl_tp", False),
        "long_sl_tp_close": ("long_sl_tp", True),
        "short_units_sl_tp": ("short_units_sl_tp", False),
        "long_trailing": ("long_trailing", False),
        "long_atr": ("long_atr", False),
    }
    doc = {"commission": COMMISSION, "cash": CASH, "cases": {}}
    for case, (kind, on_close) in cases.items():
        per = {}
        for sym in SYMBOLS:
            r = run(frame(df, sym), kind, on_close)
            doc["library"] = r.pop("library")
            per[sym] = r
        doc["cases"][case] = per
        n = sum(len(v["trades"]) for v in per.values())
        print(f"{case}: {n} trades", file=sys.stderr)
    (args.out / "rules_bt066_exits.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
