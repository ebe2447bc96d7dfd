#!/usr/bin/env python3
"""Golden file for crates/sextant-xsection: alphalens-reloaded on real prices.

    /tmp/venv-golden/bin/pip install -r scripts/golden/requirements.txt alphalens-reloaded==0.5.1
    python scripts/golden/make_alphalens_golden.py [LONG_CSV] [--price-column COL]
        [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--positive-only] [--no-panels] [--out PATH]

LONG_CSV is a long-format daily file (Ticker,Date,...,Adj Close); default the bundled sample.
The factor is 20-day momentum of the adjusted close (known at each close, so point in time);
prices are the adjusted closes. alphalens runs with periods (1, 5, 10), 5 quantiles, no
outlier filter (it looks ahead) and max_loss=1 (nothing refused). Written: the input panels,
the IC per date and horizon, the demeaned mean return per quantile, the turnover of the top
and bottom quantiles and the factor rank autocorrelation (period 1).

Options (all off by default; without them the output is the committed alphalens.json):
  --price-column COL   price column instead of Adj Close (the PSE file's Adj Close is empty)
  --from / --to DATE   keep only the rows with Date in [from, to] (inclusive, ISO strings)
  --positive-only      drop the rows whose Open/High/Low/Close are not all finite and > 0
                       (as crates/sextant-backtest/tests/topk_pandas.rs `load`)
  --no-panels          write no price/factor panels, only the dates, the assets and the
                       outputs (the consumer rebuilds the panels from the CSV itself)
  --out PATH           output file (default crates/sextant-xsection/tests/golden/alphalens.json)
The panels are wide date x asset over the union of the kept dates (NaN where an asset has no
row); the factor is price.pct_change(20, fill_method=None) on that timeline, i.e.
p[t] / p[t-20] - 1, NaN when either is missing. The real-data golden is

    python scripts/golden/make_alphalens_golden.py ~/.cache/sextant/realdata/fastquant_pse.csv \
        --price-column Close --from 2016-01-01 --to 2018-12-31 --positive-only --no-panels \
        --out crates/sextant-xsection/tests/golden/alphalens_pse.json
"""

import argparse
import hashlib
import json
import math
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
OHLC = ["Open", "High", "Low", "Close"]


def enc(v):
    v = float(v)
    return None if math.isnan(v) else v


def args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="?", type=Path, default=DEFAULT, help="long-format daily CSV")
    ap.add_argument("--price-column", default="Adj Close")
    ap.add_argument("--from", dest="start", metavar="DATE")
    ap.add_argument("--to", dest="end", metavar="DATE")
    ap.add_argument("--positive-only", action="store_true")
    ap.add_argument("--no-panels", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT)
    return ap.parse_args()


def load(src, a):
    """The rows kept, with Date as a timestamp."""
    if a.start is None and a.end is None and not a.positive_only:
        return pd.read_csv(src, parse_dates=["Date"])
    # Tickers and dates stay strings (a ticker such as "NA" is not missing); only an empty
    # number is NaN. Dates are filtered as ISO strings, as the Rust test does.
    header = pd.read_csv(src, nrows=0).columns
    bars = pd.read_csv(src, dtype={"Ticker": str, "Date": str}, keep_default_na=False,
                       na_values={c: [""] for c in header if c not in ("Ticker", "Date")})
    if a.start is not None:
        bars = bars[bars["Date"] >= a.start]
    if a.end is not None:
        bars = bars[bars["Date"] <= a.end]
    if a.positive_only:
        px = bars[OHLC].to_numpy(dtype="float64")
        bars = bars[(np.isfinite(px) & (px > 0)).all(axis=1)]
    assert not bars.duplicated(["Ticker", "Date"]).any(), "duplicate (ticker, date) rows"
    return bars.assign(Date=pd.to_datetime(bars["Date"], format="%Y-%m-%d"))


def main():
    a = args()
    src = a.csv.expanduser().resolve()
    bars = load(src, a)
    prices = bars.pivot(index="Date", columns="Ticker", values=a.price_column).sort_index()
    prices = prices.astype("float64")
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
                 "factor": f"20-day momentum of {a.price_column}", "periods": PERIODS, "quantiles": Q},
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
    options = {"price_column": a.price_column, "from": a.start, "to": a.end,
               "positive_only": a.positive_only, "panels": not a.no_panels}
    if options != {"price_column": "Adj Close", "from": None, "to": None, "positive_only": False,
                   "panels": True}:
        # Recorded only off the default, so that the default output stays as committed.
        out["meta"].update(options)
        out["meta"]["source_sha256"] = hashlib.sha256(src.read_bytes()).hexdigest()
        out["meta"]["rows"] = int(len(bars))
    if a.no_panels:
        del out["prices"], out["factor"]
    dest = a.out if a.out.is_absolute() else Path.cwd() / a.out
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out) + "\n")
    print(f"wrote {dest}: {len(out['assets'])} assets, {len(out['dates'])} dates, {out['clean_cells']} clean cells")


if __name__ == "__main__":
    main()
