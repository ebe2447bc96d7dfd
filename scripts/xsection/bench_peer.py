#!/usr/bin/env python3
"""Peers of `sextant bench --xsection N --dir DIR`, on the files it wrote into DIR, in the same run.

    python scripts/xsection/bench_peer.py DIR

Run by scripts/bench-xsection (its venv: scripts/xsection/requirements-bench.txt). Two peers:

  alphalens-reloaded  the factor evaluation: xs_factor.csv (long date,asset,factor: 60-bar
      momentum, finite values only) as the factor Series and xs_prices.csv (wide next-open
      prices) as the prices; timed: get_clean_factor_and_forward_returns (periods 1/5/10,
      quintiles, no z-score filter, max_loss=1), factor_information_coefficient,
      mean_return_by_quantile(demeaned=True), quantile_turnover of the top quintile (period 1)
      and factor_rank_autocorrelation (period 1). The CSV reading is timed apart. Sextant's
      figure also computes the signal panel (the peer gets the factor ready made).
  pandas top-k dropout  scripts/golden/make_topk_golden.py's `run` (Qlib's TopkDropout rule,
      next-open fills, whole shares) with its module constants set to the bench's construction
      and simulator config, on the wide open/close panels xs_open.csv / xs_close.csv.

Each is timed best of 3 (best of 1 when a single run takes more than 60 s; the table says so),
then checked against Sextant's figures in xs_sextant.json: the largest absolute difference of
the IC means, the quintile returns, the mean top-quintile turnover and the mean rank
autocorrelation; the relative difference of the final equity. Differences are reported, not
asserted. Prints a table and writes DIR/xs_peer.json.
"""

import contextlib
import io
import json
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "golden"))

PERIODS = (1, 5, 10)
Q = 5
LONG_RUN = 60.0  # a single run longer than this is not repeated


def best_of(f):
    """(result, best seconds, runs): three runs, or one when the first exceeds LONG_RUN."""
    best, out, runs = math.inf, None, 0
    for _ in range(3):
        t = time.perf_counter()
        out = f()
        secs = time.perf_counter() - t
        best, runs = min(best, secs), runs + 1
        if secs > LONG_RUN:
            break
    return out, best, runs


def max_abs(a, b):
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    assert a.shape == b.shape, (a.shape, b.shape)
    both_nan = np.isnan(a) & np.isnan(b)
    d = np.where(both_nan, 0.0, np.abs(a - b))
    return float(np.max(d)) if d.size else 0.0  # NaN against a number stays NaN


def finite_or_none(v):
    """JSON without NaN: NaN and infinities become null."""
    if isinstance(v, dict):
        return {k: finite_or_none(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [finite_or_none(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def wide(path, index_as_dates):
    # Asset names stay strings (a symbol such as "NA" is not missing); only empty cells are NaN.
    header = pd.read_csv(path, nrows=0).columns
    df = pd.read_csv(path, index_col=0, dtype={header[0]: str}, keep_default_na=False,
                     na_values={c: [""] for c in header[1:]})
    df = df.astype("float64")
    df.columns = [str(c) for c in df.columns]
    if index_as_dates:
        df.index = pd.DatetimeIndex(pd.to_datetime(df.index, format="%Y-%m-%d"))
    return df


def alphalens_peer(d, sx):
    from alphalens import performance, utils

    t = time.perf_counter()
    f = pd.read_csv(d / "xs_factor.csv", dtype={"date": str, "asset": str}, keep_default_na=False)
    f["date"] = pd.to_datetime(f["date"], format="%Y-%m-%d")
    factor = f.set_index(["date", "asset"])["factor"].astype("float64")
    prices = wide(d / "xs_prices.csv", index_as_dates=True)
    read = time.perf_counter() - t

    def work():
        # alphalens prints how much it dropped on every call: kept once, shown after the table.
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()) as said:
            warnings.simplefilter("ignore")
            data = utils.get_clean_factor_and_forward_returns(
                factor, prices, periods=PERIODS, quantiles=Q, filter_zscore=None, max_loss=1.0)
            ic = performance.factor_information_coefficient(data)
            mean_q, _ = performance.mean_return_by_quantile(data, demeaned=True)
            turnover = performance.quantile_turnover(data["factor_quantile"], Q, 1)
            autocorr = performance.factor_rank_autocorrelation(data, 1)
        return data, ic, mean_q, turnover, autocorr, said.getvalue()

    (data, ic, mean_q, turnover, autocorr, said), secs, runs = best_of(work)
    rep = sx["report"]
    cols = list(utils.get_forward_returns_columns(data.columns))
    ic_mean = [float(ic[c].mean()) for c in cols]  # NaN skipped, as Sextant's summary
    qr = mean_q[cols].sort_index().to_numpy()
    parity = {
        "cells": [int(len(data)), rep.get("cells")],
        "ic_mean": max_abs(ic_mean, rep["ic_mean"]),
        "quantile_returns": max_abs(qr, rep["quantile_returns"]),
        "top_turnover": max_abs(float(turnover.mean()), rep["top_turnover"]),
        "rank_autocorrelation": max_abs(float(autocorr.mean()), rep["rank_autocorrelation"]),
    }
    return {"read_secs": read, "secs": secs, "runs": runs, "parity": parity, "said": said.strip(),
            "values": {"ic_mean": ic_mean, "quantile_returns": qr.tolist(),
                       "top_turnover": float(turnover.mean()),
                       "rank_autocorrelation": float(autocorr.mean())}}


def topk_peer(d, sx):
    import make_topk_golden as topk

    case = sx.get("topk_dropout", {})
    p = case.get("params") or {}
    # The bench's construction and SimConfig (crates/sextant-cli/src/bench_xsection.rs).
    topk.TOPK = int(p.get("topk", 50))
    topk.N_DROP = int(p.get("n_drop", 5))
    topk.LOOKBACK = int(p.get("lookback", 60))
    topk.RISK_DEGREE = float(p.get("risk_degree", 0.95))  # the strategy's default
    topk.CASH0 = 1e7
    topk.COMMISSION_PCT = 0.001
    topk.COMMISSION_FIXED = 0.0
    topk.SLIPPAGE_BPS = 5.0
    assert p.get("signal", "momentum") == "momentum" and p.get("rebalance", "weekly") == "weekly", p

    t = time.perf_counter()
    # As make_topk_golden.load returns them: string dates as the index, one column per symbol
    # (here in Sextant's symbol order, which also breaks score ties).
    open_ = wide(d / "xs_open.csv", index_as_dates=False)
    close = wide(d / "xs_close.csv", index_as_dates=False)
    read = time.perf_counter() - t
    assert list(open_.index) == list(close.index) and list(open_.columns) == list(close.columns)

    out, secs, runs = best_of(lambda: topk.run(open_, close))
    fills, _holdings, equity, _cash, _n_held, skipped, _mark = out
    final = float(equity[-1])
    sx_final = case.get("final_equity")
    rel = abs(final / sx_final - 1) if sx_final is not None else math.nan
    return {"read_secs": read, "secs": secs, "runs": runs,
            "config": {"topk": topk.TOPK, "n_drop": topk.N_DROP, "lookback": topk.LOOKBACK,
                       "risk_degree": topk.RISK_DEGREE, "initial_cash": topk.CASH0,
                       "commission_pct": topk.COMMISSION_PCT, "slippage_bps": topk.SLIPPAGE_BPS},
            "final_equity": final, "sextant_final_equity": sx_final, "final_equity_rel_diff": rel,
            "fills": len(fills), "sextant_fills": case.get("fills"), "skipped": skipped}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    d = Path(sys.argv[1])
    sx = json.loads((d / "xs_sextant.json").read_text())
    import alphalens

    al = alphalens_peer(d, sx)
    tk = topk_peer(d, sx)
    ev_secs = sx["factor_evaluation"]["secs"]
    tk_secs = sx["topk_dropout"]["secs"]
    ap = al["parity"]
    # NaN (a figure one side has and the other lacks) wins, so that it shows.
    al_parity = float(np.max([ap["ic_mean"], ap["quantile_returns"], ap["top_turnover"],
                              ap["rank_autocorrelation"]]))
    na = lambda v: "n/a" if v is None else v
    runs = lambda r: "" if r == 3 else f" (best of {r})"
    rows = [
        ("factor evaluation / alphalens" + runs(al["runs"]), ev_secs, al["secs"],
         f"max |diff| {al_parity:.3g}"),
        ("topk_dropout / pandas" + runs(tk["runs"]), tk_secs, tk["secs"],
         f"final equity rel diff {tk['final_equity_rel_diff']:.3g}"),
    ]
    print(f"{'task':<40} {'sextant s':>10} {'peer s':>10} {'peer/sextant':>13}  parity")
    for task, s, p, par in rows:
        print(f"{task:<40} {s:>10.3f} {p:>10.3f} {p / s:>13.1f}  {par}")
    print(f"alphalens-reloaded {alphalens.__version__}, pandas {pd.__version__}, numpy {np.__version__}; "
          f"CSV reading (untimed above): factor + prices {al['read_secs']:.2f} s, "
          f"open + close {tk['read_secs']:.2f} s")
    print(f"alphalens parity, max |diff|: IC means {ap['ic_mean']:.3g}, quantile returns "
          f"{ap['quantile_returns']:.3g}, top turnover {ap['top_turnover']:.3g}, rank "
          f"autocorrelation {ap['rank_autocorrelation']:.3g}; clean cells {ap['cells'][0]} "
          f"(sextant {ap['cells'][1]})")
    print(f"alphalens said: {al['said']}".replace("\n", " "))
    if tk["sextant_final_equity"] is None:
        print("note: xs_sextant.json has no topk_dropout.final_equity: no equity parity figure "
              "(sextant's bench prints it, rounded, above)")
    print(f"top-k: final equity {tk['final_equity']:.2f} (sextant {na(tk['sextant_final_equity'])}), "
          f"fills {tk['fills']} (sextant {na(tk['sextant_fills'])}), skipped {tk['skipped']}")
    out = {
        "meta": {"alphalens": alphalens.__version__, "pandas": pd.__version__,
                 "numpy": np.__version__, "python": sys.version.split()[0],
                 "script": "scripts/xsection/bench_peer.py"},
        "factor_evaluation": {"sextant_secs": ev_secs, "peer_secs": al["secs"],
                              "ratio": al["secs"] / ev_secs, **al},
        "topk_dropout": {"sextant_secs": tk_secs, "peer_secs": tk["secs"],
                         "ratio": tk["secs"] / tk_secs, **tk},
    }
    (d / "xs_peer.json").write_text(json.dumps(finite_or_none(out), indent=2, allow_nan=False) + "\n")


if __name__ == "__main__":
    main()
