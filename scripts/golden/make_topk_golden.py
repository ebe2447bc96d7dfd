#!/usr/bin/env python3
"""Golden file for the top-k dropout portfolio of crates/sextant-backtest (independent pandas reference).

    python3.11 -m venv /tmp/venv-golden
    /tmp/venv-golden/bin/pip install --only-binary=:all: numpy==2.4.6 pandas==3.1.1   # pins of requirements.txt
    /tmp/venv-golden/bin/python scripts/golden/make_topk_golden.py [LONG_CSV] [OUT_JSON]

LONG_CSV defaults to ~/.cache/sextant/realdata/fastquant_pse.csv (written by
scripts/realdata/fetch-universe: 257 PSE stocks, daily OHLC as traded); OUT_JSON defaults to
crates/sextant-backtest/tests/golden/topk_dropout.json. Only numpy and pandas are used, nothing
from the project.

What it computes: Qlib's TopkDropoutStrategy (method_sell=bottom, method_buy=top), topk 20,
n_drop 3, risk_degree 0.95, on the rows of 2016-01-01 .. 2018-12-31 with all of O/H/L/C finite
and > 0. Wide open/close panels on the union of dates (NaN where a symbol has no row); the score
is 60-bar momentum close.pct_change(60, fill_method=None); decisions on the first bar of each ISO
week (and bar 0), after that bar's fills, on its close; orders fill at the next bar's open: sells
first (whole position, open*(1-5bp), skipped when the symbol has no open), then each planned buy
gets cash_after_sells*0.95/len(buy) and buys floor(value/1.001/price) whole shares at
open*(1+5bp) (skipped when no open); commission 0.1% of qty*price. Equity = cash + qty x the last
known close, every bar. Written: symbols, dates, config, every fill [bar, symbol index,
"buy"|"sell", qty, price, fee] in execution order, the holdings after each order's fill bar,
equity and cash per bar, and a summary (orders, fills, final equity, total commission, sells and
buys skipped for lack of an open). The equity is re-derived from the fills alone as a self-check.
"""

import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = Path.home() / ".cache" / "sextant" / "realdata" / "fastquant_pse.csv"
OUT = ROOT / "crates" / "sextant-backtest" / "tests" / "golden" / "topk_dropout.json"
# sha256 of fastquant_pse.csv as pinned in scripts/realdata/UNIVERSE.md (checked, not required).
SOURCE_SHA256 = "0017be506607594f2537d717eab09b386b1cee22c62100d018b6d5683c153a9f"

FROM, TO = "2016-01-01", "2018-12-31"
CASH0 = 1_000_000.0
COMMISSION_PCT = 0.001
COMMISSION_FIXED = 0.0
SLIPPAGE_BPS = 5.0
LOOKBACK = 60
TOPK, N_DROP = 20, 3
RISK_DEGREE = 0.95
PRICE_COLS = ["Open", "High", "Low", "Close"]


def load(src):
    # keep_default_na=False: a ticker such as "NA" must stay a string; only empty prices are NaN.
    bars = pd.read_csv(src, dtype={"Ticker": str, "Date": str}, keep_default_na=False,
                       na_values={c: [""] for c in PRICE_COLS + ["Volume", "Adj Close"]})
    bars = bars[(bars["Date"] >= FROM) & (bars["Date"] <= TO)]
    px = bars[PRICE_COLS].to_numpy(dtype="float64")
    bars = bars[(np.isfinite(px) & (px > 0)).all(axis=1)]
    assert not bars.duplicated(["Ticker", "Date"]).any(), "duplicate (ticker, date) rows"
    symbols = sorted(bars["Ticker"].unique())
    dates = sorted(bars["Date"].unique())
    wide = lambda col: (bars.pivot(index="Date", columns="Ticker", values=col)
                        .reindex(index=dates, columns=symbols).astype("float64"))
    return symbols, dates, wide("Open"), wide("Close")


def decision_bars(dates):
    iso = pd.to_datetime(pd.Series(dates)).dt.isocalendar()
    key = list(zip(iso["year"].tolist(), iso["week"].tolist()))
    return [t == 0 or key[t] != key[t - 1] for t in range(len(dates))]


def ordered(syms, score):
    """Score descending, NaN scores last, ties by symbol index ascending."""
    def key(s):
        v = score[s]
        return (1, 0.0, s) if math.isnan(v) else (0, -v, s)
    return sorted(syms, key=key)


def topk_dropout(held, rankable, sig_row):
    score = {s: (float(sig_row[s]) if rankable[s] else math.nan) for s in range(len(sig_row))}
    last = ordered(held, score)
    held_set = set(held)
    cand = ordered([s for s in range(len(sig_row)) if rankable[s] and s not in held_set], score)
    today = cand[:max(0, N_DROP + TOPK - len(last))]
    comb = ordered(last + today, score)
    tail = set(comb if len(comb) <= N_DROP else comb[-N_DROP:])
    sell = [s for s in last if s in tail]
    buy = today[:max(0, len(sell) + TOPK - len(last))]
    return sell, buy


def run(open_, close):
    T, S = close.shape
    o = open_.to_numpy()
    sig = close.pct_change(LOOKBACK, fill_method=None)
    rankable = (close.notna() & sig.notna()).to_numpy()
    sig = sig.to_numpy()
    mark = close.ffill().to_numpy()
    dec = decision_bars(list(close.index))
    slip = SLIPPAGE_BPS / 10000
    cash = CASH0
    qty = np.zeros(S)
    fills, holdings, equity, cash_path, n_held = [], [], [], [], []
    skipped = {"sells_skipped_no_open": 0, "buys_skipped_no_open": 0, "buys_zero_qty": 0}
    pending = None  # (decision bar, sell, buy)
    for t in range(T):
        if pending is not None:
            td, sell, buy = pending
            n_last, n_sold, n_unsold = int((qty > 0).sum()), 0, 0
            for s in sorted(sell):
                if math.isnan(o[t, s]):
                    skipped["sells_skipped_no_open"] += 1
                    n_unsold += 1
                    continue
                price = o[t, s] * (1 - slip)
                q = qty[s]
                fee = q * price * COMMISSION_PCT
                cash += q * price - fee
                qty[s] = 0.0
                n_sold += 1
                fills.append([t, s, "sell", float(q), float(price), float(fee)])
            if buy:
                value = cash * RISK_DEGREE / len(buy)
                for b in sorted(buy):
                    if math.isnan(o[t, b]):
                        skipped["buys_skipped_no_open"] += 1
                        continue
                    price = o[t, b] * (1 + slip)
                    q = math.floor(((value - COMMISSION_FIXED) / (1 + COMMISSION_PCT)) / price)
                    if q <= 0:
                        skipped["buys_zero_qty"] += 1
                        continue
                    q = float(q)
                    fee = q * price * COMMISSION_PCT
                    cash -= q * price + fee
                    qty[b] += q
                    assert cash >= 0, (t, b, cash)
                    fills.append([t, b, "buy", q, float(price), float(fee)])
            held_now = [s for s in range(S) if qty[s] > 0]
            holdings.append([td, held_now])
            n_held.append(len(held_now))
            # Qlib's rule plans len(sell) + topk - len(last) buys, so a sell that cannot fill (no open)
            # while its replacement does leaves more than topk holdings; nothing else may.
            assert len(held_now) <= max(TOPK + n_unsold, n_last - n_sold), (td, len(held_now))
            pending = None
        held = [s for s in range(S) if qty[s] > 0]
        assert all(not math.isnan(mark[t, s]) for s in held), t
        eq = cash
        for s in held:
            eq += qty[s] * mark[t, s]
        equity.append(float(eq))
        cash_path.append(float(cash))
        if dec[t] and t + 1 < T:  # the last bar's decision would never fill: not an order
            sell, buy = topk_dropout(held, rankable[t], sig[t])
            if sell or buy:
                pending = (t, sell, buy)
    return fills, holdings, equity, cash_path, n_held, skipped, mark


def replay(fills, T, symbols, mark):
    """Equity and cash from the fills alone: cumulative positions x ffilled close, plus cash flows."""
    f = pd.DataFrame(fills, columns=["bar", "sym", "side", "qty", "price", "fee"])
    sign = np.where(f["side"] == "buy", 1.0, -1.0)
    f["dq"] = sign * f["qty"]
    f["flow"] = np.where(sign > 0, -(f["qty"] * f["price"] + f["fee"]), f["qty"] * f["price"] - f["fee"])
    pos = (f.pivot_table(index="bar", columns="sym", values="dq", aggfunc="sum")
           .reindex(index=range(T), columns=range(len(symbols))).fillna(0.0).cumsum())
    cash = CASH0 + f.groupby("bar")["flow"].sum().reindex(range(T)).fillna(0.0).cumsum()
    value = (pos.to_numpy() * np.nan_to_num(mark)).sum(axis=1)
    return (cash + value).to_numpy(), cash.to_numpy(), pos.to_numpy()


def main():
    src = Path(sys.argv[1]).expanduser() if len(sys.argv) > 1 else DEFAULT
    out_path = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    if sha != SOURCE_SHA256:
        print(f"warning: {src} sha256 {sha} differs from the pinned {SOURCE_SHA256}", file=sys.stderr)
    symbols, dates, open_, close = load(src)
    T = len(dates)
    fills, holdings, equity, cash, n_held, skipped, mark = run(open_, close)

    # Self-checks.
    assert equity[0] == CASH0, equity[0]
    assert min(cash) >= 0, min(cash)
    eq2, cash2, pos = replay(fills, T, symbols, mark)
    eq, cs = np.array(equity), np.array(cash)
    rel = float(np.max(np.abs(eq2 / eq - 1)))
    assert rel <= 1e-9, rel
    assert np.all(np.abs(cash2 - cs) <= 1e-9 * np.maximum(np.abs(cs), 1.0)), "cash replay"
    assert pos.min() >= 0, "negative position"
    o = open_.to_numpy()
    for bar, s, side, q, price, fee in fills:
        assert q == math.floor(q) and q > 0
        assert price == o[bar, s] * (1 + SLIPPAGE_BPS / 10000 * (1 if side == "buy" else -1))
        assert fee == q * price * COMMISSION_PCT
    over = [(td, n) for (td, _), n in zip(holdings, n_held) if n > TOPK]

    n_buy = sum(1 for f in fills if f[2] == "buy")
    summary = {
        "orders": len(holdings),
        "fills": len(fills),
        "buys": n_buy,
        "sells": len(fills) - n_buy,
        "final_equity": equity[-1],
        "total_commission": float(sum(f[5] for f in fills)),
        **skipped,
        "max_holdings_after_order": max(n_held) if n_held else 0,
        "orders_leaving_more_than_topk": len(over),
    }
    out = {
        "source": src.name,
        "from": FROM,
        "to": TO,
        "meta": {"numpy": np.__version__, "pandas": pd.__version__, "source_sha256": sha,
                 "script": "scripts/golden/make_topk_golden.py"},
        "symbols": symbols,
        "dates": dates,
        "config": {"initial_cash": CASH0, "commission_pct": COMMISSION_PCT,
                   "commission_fixed": COMMISSION_FIXED, "slippage_bps": SLIPPAGE_BPS,
                   "whole_shares": True, "signal": "momentum", "lookback": LOOKBACK,
                   "rebalance": "first bar of each ISO week (and bar 0)", "fill": "next open",
                   "strategy": "topk_dropout", "topk": TOPK, "n_drop": N_DROP,
                   "risk_degree": RISK_DEGREE, "method_sell": "bottom", "method_buy": "top"},
        "summary": summary,
        "fills": fills,
        "holdings": holdings,
        "equity": equity,
        "cash": cash,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(out, allow_nan=False) + "\n")
    print(f"wrote {out_path}: {len(symbols)} symbols, {T} bars")
    for k, v in summary.items():
        print(f"  {k}: {v}")
    print(f"  equity replayed from the fills: max relative difference {rel:.3g}")
    if over:
        print(f"  orders leaving more than {TOPK} holdings (decision bar, count): {over}")


if __name__ == "__main__":
    main()
