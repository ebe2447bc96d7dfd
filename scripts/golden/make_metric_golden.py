#!/usr/bin/env python3
"""Golden files for the metrics of crates/sextant-backtest, computed by empyrical and quantstats.

Installs nothing itself. Set up the environment once (versions pinned in requirements.txt):

    python3.11 -m venv .venv-golden && . .venv-golden/bin/activate
    pip install -r scripts/golden/requirements.txt

then, from the repository root:

    python scripts/golden/make_metric_golden.py

empyrical is the maintained fork `empyrical-reloaded` (imported as `empyrical`); the original
`empyrical` 0.5.5 still imports on Python 3.11 only after a manual `pip install six` and gives the
same numbers for these metrics.

Inputs: daily simple returns of the adjusted closes (`Adj Close`, so that splits are not
returns) of every symbol of data/sample/us-equities-daily-2000-2013.csv.gz, plus edge series
(empty, one value, all zero, constant, one-sided, NaN gaps, a wipe-out). Outputs, with NaN as
null and infinities as "inf"/"-inf" (the crate's serde convention):

* crates/sextant-backtest/tests/golden/metrics_returns.json - per series and configuration, the
  values of empyrical's and quantstats' functions (null plus an "errors" entry where the
  library raises);
* crates/sextant-backtest/tests/golden/metrics_trades.json - trades, positions and turnover
  inputs of a moving-average crossover on MSFT, with quantstats' win_rate / profit_factor /
  exposure on them and numpy's plain aggregates.
"""

import argparse
import json
import math
import warnings
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import quantstats as qs
import scipy
import scipy.special
import scipy.stats

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "sample" / "us-equities-daily-2000-2013.csv.gz"
OUT_DIR = ROOT / "crates" / "sextant-backtest" / "tests" / "golden"
CUTOFF = 0.05


def enc(v):
    """A float as the crate's serde writes it: NaN -> None, +-inf -> "inf"/"-inf"."""
    v = float(v)
    if math.isnan(v):
        return None
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def floats(values):
    return [enc(v) for v in values]


def max_dd_duration(returns):
    """Longest run of periods strictly under water, from empyrical's drawdown series."""
    if len(returns) == 0:
        return 0
    dd = np.asarray(empyrical.stats.drawdown_series(returns), dtype=float)
    longest = current = 0
    for d in dd:
        current = current + 1 if d < 0 else 0
        longest = max(longest, current)
    return longest


def evaluate(functions):
    values, errors = {}, {}
    for name, fn in functions.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = fn()
            values[name] = out if isinstance(out, int) else enc(out)
        except Exception as exc:  # the library rejects the input: record why
            values[name] = None
            errors[name] = f"{type(exc).__name__}: {exc}"
    return values, errors


def library_values(r, ppy, rf_annual):
    rf = (1.0 + rf_annual) ** (1.0 / ppy) - 1.0  # quantstats' deannualisation
    emp, emp_err = evaluate(
        {
            "total_return": lambda: empyrical.cum_returns_final(r),
            "cagr": lambda: empyrical.annual_return(r, annualization=ppy),
            "annual_volatility": lambda: empyrical.annual_volatility(r, annualization=ppy),
            "sharpe": lambda: empyrical.sharpe_ratio(r, risk_free=rf, annualization=ppy),
            "sortino": lambda: empyrical.sortino_ratio(r, required_return=rf, annualization=ppy),
            "downside_risk": lambda: empyrical.downside_risk(
                r, required_return=rf, annualization=ppy
            ),
            "calmar": lambda: empyrical.calmar_ratio(r, annualization=ppy),
            "max_drawdown": lambda: empyrical.max_drawdown(r),
            "max_drawdown_duration": lambda: max_dd_duration(r),
            "value_at_risk": lambda: empyrical.value_at_risk(r, cutoff=CUTOFF),
            "conditional_value_at_risk": lambda: empyrical.conditional_value_at_risk(
                r, cutoff=CUTOFF
            ),
            # pyfolio's perf_stats: scipy's biased skew and Fisher kurtosis, NaN propagating.
            "skew": lambda: scipy.stats.skew(r),
            "kurtosis": lambda: scipy.stats.kurtosis(r),
        }
    )
    qst, qs_err = evaluate(
        {
            "total_return": lambda: qs.stats.comp(r),
            "cagr": lambda: qs.stats.cagr(r, periods=ppy),
            "annual_volatility": lambda: qs.stats.volatility(r, periods=ppy),
            "sharpe": lambda: qs.stats.sharpe(r, rf=rf_annual, periods=ppy),
            "sortino": lambda: qs.stats.sortino(r, rf=rf_annual, periods=ppy),
            "calmar": lambda: qs.stats.calmar(r, periods=ppy),
            "max_drawdown": lambda: qs.stats.max_drawdown(r),
            "value_at_risk": lambda: qs.stats.value_at_risk(r, confidence=1 - CUTOFF),
            "conditional_value_at_risk": lambda: qs.stats.conditional_value_at_risk(
                r, confidence=1 - CUTOFF
            ),
            "skew": lambda: qs.stats.skew(r),
            "kurtosis": lambda: qs.stats.kurtosis(r),
            "exposure_from_returns": lambda: qs.stats.exposure(r),
        }
    )
    return rf, (emp, emp_err), (qst, qs_err)


def real_series(frame):
    out = []
    for symbol in sorted(frame["Ticker"].unique()):
        bars = frame[frame["Ticker"] == symbol].sort_values("Date").set_index("Date")
        r = bars["Adj Close"].pct_change().iloc[1:]
        out.append((f"{symbol.lower()}_daily", r))
    return out


def edge_series(msft):
    def s(values):
        return pd.Series(values, index=pd.bdate_range("2020-01-01", periods=len(values)),
                         dtype=float)

    rng = np.random.default_rng(7)
    gappy = msft.iloc[:300].copy()
    gappy.iloc[[0, 17, 18, 150, 299]] = np.nan
    return [
        ("empty", s([])),
        ("single", s([0.01])),
        ("two", s([0.01, -0.02])),
        ("all_zero", s([0.0] * 30)),
        ("constant_positive", s([0.001] * 30)),
        ("all_positive", s(rng.uniform(0.0001, 0.02, 50))),
        ("all_negative", s(-rng.uniform(0.0001, 0.02, 50))),
        ("first_period_loss", s([-0.05, 0.02, 0.01, 0.03, -0.01, 0.04])),
        ("with_nan", gappy),
        ("wipe_out", s([0.05, -0.3, 0.1, -1.0, 0.0, 0.0])),
        ("big_gain", s([0.02, -0.01, 1.5, -0.2, 0.03, -0.04, 0.01])),
        ("three", s([0.01, -0.02, 0.005])),
    ]


def trade_golden(frame):
    """Long-only SMA(10)/SMA(30) crossover on MSFT's adjusted closes, trading at the close."""
    bars = frame[frame["Ticker"] == "MSFT"].sort_values("Date").set_index("Date")
    close = bars["Adj Close"].iloc[:1500]
    fast, slow = close.rolling(10).mean(), close.rolling(30).mean()
    long = (fast > slow).astype(float)
    long[slow.isna()] = 0.0
    shares = 100.0
    trades, entry = [], None
    position = long.to_numpy()
    for i in range(len(close)):
        if position[i] == 1.0 and (i == 0 or position[i - 1] == 0.0):
            entry = i
        if entry is not None and (position[i] == 0.0 or i == len(close) - 1):
            exit_ = i
            p0, p1 = close.iloc[entry], close.iloc[exit_]
            trades.append(
                {"pnl": shares * (p1 - p0), "return_pct": p1 / p0 - 1.0, "bars_held": exit_ - entry}
            )
            entry = None
    trades.append({"pnl": 0.0, "return_pct": 0.0, "bars_held": 1})  # a scratch trade
    pnl = np.array([t["pnl"] for t in trades])
    ret = np.array([t["return_pct"] for t in trades])
    held = np.array([t["bars_held"] for t in trades], dtype=float)
    pnl_series = pd.Series(pnl, index=pd.bdate_range("2020-01-01", periods=len(pnl)))

    # Per-bar books: 100 shares while long, traded notional on entry/exit bars, cash 10_000.
    held_shares = position * shares
    traded = np.abs(np.diff(np.concatenate([[0.0], held_shares]))) * close.to_numpy()
    cash = 10_000.0 - np.cumsum(np.diff(np.concatenate([[0.0], held_shares])) * close.to_numpy())
    equity = cash + held_shares * close.to_numpy()
    strategy_returns = (long.shift(1).fillna(0.0) * close.pct_change().fillna(0.0)).iloc[1:]

    gains, losses = pnl[pnl > 0].sum(), abs(pnl[pnl < 0].sum())
    return {
        "trades": [{k: enc(v) if k != "bars_held" else v for k, v in t.items()} for t in trades],
        "positions": floats(held_shares),
        "traded_notional": floats(traded),
        "equity": floats(equity),
        "strategy_returns": floats(strategy_returns),
        "periods_per_year": 252.0,
        "expected": {
            "default": {
                "trade_count": len(trades),
                "win_rate": enc((pnl > 0).mean()),
                "profit_factor": enc(gains / losses),
                "expectancy": enc(pnl.mean()),
                "avg_trade": enc(ret.mean()),
                "best_trade": enc(ret.max()),
                "worst_trade": enc(ret.min()),
                "avg_bars_held": enc(held.mean()),
            },
            "quantstats": {
                "win_rate": enc(qs.stats.win_rate(pnl_series, prepare_returns=False)),
                "profit_factor": enc(qs.stats.profit_factor(pnl_series, prepare_returns=False)),
            },
            "exposure": enc((held_shares != 0).mean()),
            "exposure_from_returns": enc(qs.stats.exposure(strategy_returns)),
            "turnover": enc(np.mean(traded / equity) * 252.0),
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args()

    frame = pd.read_csv(DATA, parse_dates=["Date"])
    reals = real_series(frame)
    msft = dict(reals)["msft_daily"]
    configs = [(252.0, 0.0)]
    cases = []
    for name, r in reals + edge_series(msft):
        extra = [(365.0, 0.0), (252.0, 0.04)] if name in ("msft_daily", "with_nan") else []
        for ppy, rf_annual in configs + extra:
            rf, (emp, emp_err), (qst, qs_err) = library_values(r, ppy, rf_annual)
            cases.append(
                {
                    "name": name,
                    "periods_per_year": ppy,
                    "risk_free_annual": rf_annual,
                    "risk_free_per_period": rf,
                    "returns": floats(r.to_numpy()),
                    "empyrical": emp,
                    "quantstats": qst,
                    "errors": {"empyrical": emp_err, "quantstats": qs_err},
                }
            )
    probabilities = [1e-300, 1e-20, 1e-10, 1e-4, 0.01, 0.025, 0.05, 0.1, 0.3, 0.5, 0.7, 0.95,
                     0.975, 0.99, 0.9999]
    meta = {
        "generator": "scripts/golden/make_metric_golden.py",
        "source": "data/sample/us-equities-daily-2000-2013.csv.gz (Adj Close)",
        "empyrical_reloaded": empyrical.__version__,
        "quantstats": qs.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "var_cutoff": CUTOFF,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    docs = {
        "metrics_returns.json": {
            "meta": meta,
            "normal_ppf": [[p, enc(scipy.special.ndtri(p))] for p in probabilities],
            "cases": cases,
        },
        "metrics_trades.json": {"meta": meta, **trade_golden(frame)},
    }
    for file, doc in docs.items():
        path = args.out_dir / file
        path.write_text(json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n")
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
