#!/usr/bin/env python3
"""Golden file for the Ledoit-Wolf covariance of crates/sextant-backtest (portfolio/risk.rs).

    /tmp/venv-golden/bin/pip install --only-binary=:all: numpy pandas scikit-learn
    /tmp/venv-golden/bin/python scripts/golden/make_ledoit_wolf_golden.py [PSE_CSV] [OUT_JSON]

PSE_CSV defaults to ~/.cache/sextant/realdata/fastquant_pse.csv (scripts/realdata/fetch-universe);
OUT_JSON to crates/sextant-backtest/tests/golden/ledoit_wolf.json. The reference is
sklearn.covariance.LedoitWolf().fit(x) with its defaults (centred, block_size 1000): per case
the input x (rows = observations, columns = assets), covariance_ (row-major nested list) and
shrinkage_. Returns are close-to-close simple returns p[t] / p[t-1] - 1 on the dates given.

Cases:
  us_3x60     the last 60 returns of AAPL, IBM, MSFT (bundled sample, Adj Close, their common
              dates)
  pse_12x120  120 returns of 12 PSE stocks (Close): the last 121 trading dates of 2018 (dates
              with any finite positive close), the first 12 tickers alphabetically with a finite
              positive close on every one of them
  single      one asset (AAPL's 60 returns of us_3x60): scikit-learn shrinks nothing
  pse_25x10   more assets than observations: the last 10 returns of the first 25 tickers of
              the pse_12x120 selection rule
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.covariance import LedoitWolf

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "us-equities-daily-2000-2013.csv.gz"
PSE = Path.home() / ".cache" / "sextant" / "realdata" / "fastquant_pse.csv"
OUT = ROOT / "crates" / "sextant-backtest" / "tests" / "golden" / "ledoit_wolf.json"


def returns(wide):
    """Simple returns along the rows of a gap-free wide price frame (first row dropped)."""
    p = wide.to_numpy(dtype="float64")
    return p[1:] / p[:-1] - 1.0


def us_returns():
    bars = pd.read_csv(SAMPLE, dtype={"Ticker": str, "Date": str})
    wide = bars.pivot(index="Date", columns="Ticker", values="Adj Close")[["AAPL", "IBM", "MSFT"]]
    wide = wide.dropna().sort_index()  # their common dates
    return returns(wide.iloc[-61:]), list(wide.columns), list(wide.index[-61:])


def pse_returns(src, n_assets, n_returns):
    bars = pd.read_csv(src, dtype={"Ticker": str, "Date": str}, keep_default_na=False,
                       na_values={"Close": [""]}, usecols=["Ticker", "Date", "Close"])
    bars = bars[(bars["Date"] >= "2018-01-01") & (bars["Date"] <= "2018-12-31")]
    c = bars["Close"].to_numpy(dtype="float64")
    bars = bars[np.isfinite(c) & (c > 0)]
    assert not bars.duplicated(["Ticker", "Date"]).any(), "duplicate (ticker, date) rows"
    wide = bars.pivot(index="Date", columns="Ticker", values="Close").sort_index()
    wide = wide.iloc[-121:]
    full = sorted(t for t in wide.columns if wide[t].notna().all())
    chosen = full[:n_assets]
    assert len(chosen) == n_assets, f"only {len(full)} tickers have all 121 closes"
    window = wide[chosen].iloc[-(n_returns + 1):]
    return returns(window), chosen, list(window.index)


def case(name, x, assets, dates, note):
    x = np.ascontiguousarray(x, dtype="float64")
    lw = LedoitWolf().fit(x)
    cov = lw.covariance_
    assert cov.shape == (x.shape[1], x.shape[1])
    assert all(math.isfinite(v) for v in x.ravel()), name
    return {"name": name, "note": note, "assets": assets, "price_dates": [dates[0], dates[-1]],
            "x": x.tolist(), "cov": cov.tolist(), "shrinkage": float(lw.shrinkage_)}


def main():
    src = Path(sys.argv[1]).expanduser() if len(sys.argv) > 1 else PSE
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    us, us_assets, us_dates = us_returns()
    pse12, pse12_assets, pse12_dates = pse_returns(src, 12, 120)
    pse25, pse25_assets, pse25_dates = pse_returns(src, 25, 10)
    cases = [
        case("us_3x60", us, us_assets, us_dates,
             "last 60 daily returns of AAPL, IBM, MSFT Adj Close (bundled sample), common dates"),
        case("pse_12x120", pse12, pse12_assets, pse12_dates,
             "120 daily Close returns, the last 121 trading dates of 2018, first 12 tickers "
             "alphabetically with every close"),
        case("single", us[:, :1], us_assets[:1], us_dates, "one asset: AAPL of us_3x60"),
        case("pse_25x10", pse25, pse25_assets, pse25_dates,
             "10 observations x 25 assets: the last 10 returns of the first 25 tickers of the "
             "pse_12x120 rule"),
    ]
    assert cases[2]["shrinkage"] == 0.0, "one asset must not be shrunk"
    doc = {
        "meta": {"sklearn": sklearn.__version__, "numpy": np.__version__, "pandas": pd.__version__,
                 "reference": "sklearn.covariance.LedoitWolf().fit(x): covariance_, shrinkage_",
                 "sources": [str(SAMPLE.relative_to(ROOT)), src.name]},
        "cases": cases,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc) + "\n")
    for c in cases:
        print(f"{c['name']}: {len(c['x'])} x {len(c['x'][0])}, shrinkage {c['shrinkage']:.6f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
