#!/usr/bin/env python3
"""Golden file for crates/sextant-xsection: alphalens-reloaded on real prices.

    /tmp/venv-golden/bin/pip install -r scripts/golden/requirements.txt alphalens-reloaded==0.5.1
    python scripts/golden/make_alphalens_golden.py [LONG_CSV]

LONG_CSV is a long-format daily file (Ticker,Date,...,Adj Close); default the bundled sample.
The factor is 20-day momentum of the adjusted close (known at each close, so point in time);
prices are the adjusted closes. alphalens runs with periods (1, 5, 10), 5 quantiles, no
outlier filter (it looks ahead) and max_loss=1 (nothing refused). Written: the input panels,
the IC per date and horizon, the demeaned mean return per quantile, the turnover of the top
and bottom quantiles and the factor rank autocorrelation (period 1).
"""

import json
import math
import sys
import warnings
from pathlib import Path

import alphalens
import numpy as np
import pandas as pd
from alphalens import performance, utils

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "data" / "sample" / "us-equities-daily-2000-2013.csv.gz"
OUT = ROOT / "crates" / "sextant-xsection" / "tests" / "golden" / "alphalens.json"
PERIODS = (1, 5, 10)
Q = 5


def enc(v):
    v = float(v)
    return None if math.isnan(v) else v


def main():
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    bars = pd.read_csv(src, parse_dates=["Date"])
    prices = bars.pivot(index="Date", columns="Ticker", values="Adj Close").sort_index()
    factor_wide = prices.pct_change(20, fill_method=None)
    factor = factor_wide.stack(future_stack=True).dropna()
    factor.index.names = ["date", "asset"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = utils.get_clean_factor_and_forward_returns(
            factor, prices, periods=PERIODS, quantiles=Q, filter_zscore=None, max_loss=1.0)
        ic = performance.factor_information_coefficient(data)
        mean_q, _ = performance.mean_return_by_quantile(data, demeaned=True)
        turnover = {q: performance.quantile_turnover(data["factor_quantile"], q, period=1) for q in (1, Q)}
        autocorr = performance.factor_rank_autocorrelation(data, period=1)
    day = lambda ts: int(pd.Timestamp(ts).value // 86_400_000_000_000)
    out = {
        "meta": {"alphalens": alphalens.__version__, "pandas": pd.__version__, "numpy": np.__version__,
                 "source": str(src.relative_to(ROOT)) if src.is_relative_to(ROOT) else src.name,
                 "factor": "20-day momentum of Adj Close", "periods": PERIODS, "quantiles": Q},
        "dates": [day(d) for d in prices.index],
        "assets": list(prices.columns),
        "prices": [[enc(v) for v in row] for row in prices.to_numpy()],
        "factor": [[enc(v) for v in row] for row in factor_wide.to_numpy()],
        "clean_cells": int(len(data)),
        "ic_dates": [day(d) for d in ic.index],
        "ic": [[enc(v) for v in row] for row in ic.to_numpy()],
        "mean_return_by_quantile": [[enc(v) for v in row] for row in mean_q.to_numpy()],
        "turnover": {str(q): [[day(d), enc(v)] for d, v in s.items()] for q, s in turnover.items()},
        "rank_autocorrelation": [[day(d), enc(v)] for d, v in autocorr.dropna().items()],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out) + "\n")
    print(f"wrote {OUT}: {len(out['assets'])} assets, {len(out['dates'])} dates, {out['clean_cells']} clean cells")


if __name__ == "__main__":
    main()
