#!/usr/bin/env python3
"""Golden file for the benchmark-relative metrics of crates/sextant-backtest (metrics/relative.rs).

Same environment as make_metric_golden.py (versions pinned in requirements.txt):

    python3.11 -m venv .venv-golden && . .venv-golden/bin/activate
    pip install -r scripts/golden/requirements.txt
    python scripts/golden/make_relative_golden.py

Inputs: daily simple returns of the adjusted closes of every symbol of the bundled sample, each
against (a) the equal-weight average of all the sample's symbols and (b) the next symbol, on
their common dates; plus edge pairs (NaN gaps in the strategy, a constant benchmark, a series
against itself, two periods, one period). Outputs with NaN as null and infinities as
"inf"/"-inf": empyrical's alpha (risk-free 0 and 0.0001 per period), beta, excess_sharpe, and
numpy's tracking error (std of the active return, ddof=1, x sqrt(252)) and the compounded
excess return.
"""

import json
import math
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "sample" / "us-equities-daily-2000-2013.csv.gz"
OUT = ROOT / "crates" / "sextant-backtest" / "tests" / "golden" / "metrics_relative.json"
P = 252


def enc(v):
    v = float(v)
    if math.isnan(v):
        return None
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def case(name, r, b):
    r = np.asarray(r, dtype="float64")
    b = np.asarray(b, dtype="float64")
    active = r - b
    te = np.nanstd(active, ddof=1) * math.sqrt(P) if np.sum(~np.isnan(active)) >= 2 else float("nan")
    total = lambda x: np.prod(1 + x[~np.isnan(x)]) - 1 if len(x) else float("nan")
    return {
        "name": name,
        "returns": [enc(x) for x in r],
        "benchmark": [enc(x) for x in b],
        "beta": enc(empyrical.beta(r, b)),
        "alpha": enc(empyrical.alpha(r, b, risk_free=0.0, annualization=P)),
        "alpha_rf": enc(empyrical.alpha(r, b, risk_free=0.0001, annualization=P)),
        "excess_sharpe": enc(empyrical.excess_sharpe(r, b)),
        "tracking_error": enc(te),
        "excess_return": enc(total(r) - total(b)),
    }


def main():
    bars = pd.read_csv(DATA, parse_dates=["Date"])
    px = bars.pivot(index="Date", columns="Ticker", values="Adj Close").sort_index()
    rets = px.pct_change().iloc[1:]
    ew = rets.mean(axis=1, skipna=True)
    syms = list(rets.columns)
    cases = []
    for i, s in enumerate(syms):
        pair = pd.concat([rets[s], ew], axis=1).dropna()
        cases.append(case(f"{s}_vs_equal_weight", pair.iloc[:, 0], pair.iloc[:, 1]))
        o = syms[(i + 1) % len(syms)]
        pair = pd.concat([rets[s], rets[o]], axis=1).dropna()
        cases.append(case(f"{s}_vs_{o}", pair.iloc[:, 0], pair.iloc[:, 1]))
    first = pd.concat([rets[syms[0]], ew], axis=1).dropna().iloc[:300]
    r, b = first.iloc[:, 0].to_numpy().copy(), first.iloc[:, 1].to_numpy()
    r[[3, 50, 51, 200]] = np.nan
    cases.append(case("nan_gaps_in_strategy", r, b))
    cases.append(case("constant_benchmark", first.iloc[:, 0], np.full(len(first), 0.0004)))
    cases.append(case("against_itself", first.iloc[:, 0], first.iloc[:, 0]))
    cases.append(case("two_periods", [0.01, -0.02], [0.005, 0.01]))
    cases.append(case("one_period", [0.01], [0.02]))
    meta = {"empyrical": empyrical.__version__ if hasattr(empyrical, "__version__") else "0.7.1",
            "numpy": np.__version__, "pandas": pd.__version__, "periods_per_year": P,
            "source": "data/sample/us-equities-daily-2000-2013.csv.gz (Adj Close)"}
    OUT.write_text(json.dumps({"meta": meta, "cases": cases}) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
