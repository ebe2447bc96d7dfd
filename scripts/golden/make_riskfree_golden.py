#!/usr/bin/env python3
"""Golden file for Sharpe and Sortino with a per-period risk-free SERIES (crates/sextant-backtest).

Same environment as make_metric_golden.py (versions pinned in requirements.txt; only numpy,
pandas, bottleneck and empyrical-reloaded are used):

    python3.11 -m venv ~/.cache/sextant/venv-golden-metrics
    ~/.cache/sextant/venv-golden-metrics/bin/pip install numpy==2.4.6 pandas==3.1.1 \
        scipy==1.17.1 bottleneck==1.6.0 empyrical-reloaded==0.7.1
    scripts/realdata/fetch-macro   # writes ~/.cache/sextant/realdata/macro_tbill3m_quarterly.csv
    ~/.cache/sextant/venv-golden-metrics/bin/python scripts/golden/make_riskfree_golden.py

Inputs:

* returns: daily simple returns of MSFT's adjusted close (`Adj Close`) in the bundled
  data/sample/us-equities-daily-2000-2013.csv.gz, for the return dates 2007-01-03 .. 2008-12-31
  (the first return is measured from the last 2006 close): 504 returns over the fall of the
  T-bill yield from 4.95 % to 0.12 %;
* risk-free: the real 3-month Treasury bill yield of statsmodels' macrodata (quarterly, percent
  per year, Alpha Vantage-shaped `timestamp,value` with the quarter's start as timestamp, written
  by scripts/realdata/fetch-macro). For the return dated t the yield y is the last observation
  whose timestamp is STRICTLY BEFORE t (forward-filled), converted to a per-period rate with
  (1 + y/100)^(1/252) - 1 (quantstats' deannualisation, `deannualize` in the crate).

  Note that the timestamp is the period start of a quarterly figure: aligning by it, as here,
  is what a consumer of Alpha Vantage-shaped data does, but the figure for a quarter is not known
  until the quarter is over. That look-ahead is irrelevant to this golden file (it tests the
  arithmetic), not to a backtest.

Outputs (crates/sextant-backtest/tests/golden/metrics_riskfree.json), per case, empyrical's
sharpe_ratio / sortino_ratio / downside_risk with the risk-free series as an ARRAY
(`risk_free=rf`, `required_return=rf`: empyrical subtracts it element by element), with its mean
as a scalar, with that mean as a constant array, and with zero; plus annual_return and
annual_volatility (which take no risk-free rate) for reference. The cases are the plain series
and the same with four returns set to NaN. The script also checks and records that a risk-free
array of another length is rejected (numpy cannot broadcast it).
"""

import argparse
import hashlib
import json
import math
import os
import warnings
from pathlib import Path

import bottleneck
import empyrical
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "sample" / "us-equities-daily-2000-2013.csv.gz"
REALDATA = Path(os.environ.get("SEXTANT_REALDATA", Path.home() / ".cache/sextant/realdata"))
TBILL = REALDATA / "macro_tbill3m_quarterly.csv"
OUT = ROOT / "crates" / "sextant-backtest" / "tests" / "golden" / "metrics_riskfree.json"
P = 252
SYMBOL = "MSFT"
FIRST, LAST = "2007-01-01", "2008-12-31"
NAN_AT = [3, 100, 101, 400]


def enc(v):
    v = float(v)
    if math.isnan(v):
        return None
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def floats(values):
    return [enc(v) for v in values]


def load_tbill(path):
    """Alpha Vantage-shaped `timestamp,value` (newest first) -> ascending [(date, text)]."""
    frame = pd.read_csv(path, dtype=str)
    if list(frame.columns) != ["timestamp", "value"]:
        raise SystemExit(f"{path}: expected the header timestamp,value, got {list(frame.columns)}")
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="%Y-%m-%d")
    frame = frame.sort_values("timestamp").reset_index(drop=True)
    if frame["timestamp"].duplicated().any():
        raise SystemExit(f"{path}: duplicate timestamps")
    return frame


def deannualize(annual_rate):
    """(1 + annual)^(1/P) - 1: quantstats' conversion, the crate's `metrics::deannualize`."""
    return (1.0 + annual_rate) ** (1.0 / P) - 1.0


def risk_free_for(dates, tbill):
    """Per-period rate for each return date: last yield strictly before it, deannualised."""
    stamps = tbill["timestamp"].to_numpy()
    # side="left": the index of the first stamp >= date, so idx - 1 is the last stamp < date.
    idx = np.searchsorted(stamps, dates.to_numpy(), side="left") - 1
    if (idx < 0).any():
        raise SystemExit("a return date precedes every T-bill observation")
    # Python floats, i.e. the C library's pow() (the function Rust's f64::powf calls), not numpy's
    # vectorised power, so that the crate's `deannualize` can rebuild the series exactly.
    per_period = [deannualize(float(v) / 100.0) for v in tbill["value"]]
    rf = np.array([per_period[i] for i in idx], dtype="float64")
    used = sorted(set(idx.tolist()))
    table = [
        {
            "timestamp": tbill["timestamp"].iloc[i].strftime("%Y-%m-%d"),
            "value": tbill["value"].iloc[i],
            "per_period": enc(per_period[i]),
            "first_return_date": dates[idx == i][0].strftime("%Y-%m-%d"),
            "returns": int((idx == i).sum()),
        }
        for i in used
    ]
    return rf, table


def values(r, rf):
    """empyrical's outputs for returns r (ndarray) and a risk-free rf (scalar or ndarray)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "sharpe": enc(empyrical.sharpe_ratio(r, risk_free=rf, annualization=P)),
            "sortino": enc(empyrical.sortino_ratio(r, required_return=rf, annualization=P)),
            "downside_risk": enc(empyrical.downside_risk(r, required_return=rf, annualization=P)),
        }


def case(name, dates, r, rf):
    rf_mean = float(np.mean(rf))
    series = values(r, rf)
    scalar = values(r, rf_mean)
    constant = values(r, np.full(len(r), rf_mean))
    if scalar != constant:
        raise SystemExit(f"{name}: empyrical gives a constant array {constant} != scalar {scalar}")
    # The array is subtracted element by element: the same as feeding r - rf against zero.
    if values(r - rf, 0.0) != series:
        raise SystemExit(f"{name}: r - rf against 0 differs from the array risk_free")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = {
            "annual_return": enc(empyrical.annual_return(r, annualization=P)),
            "annual_volatility": enc(empyrical.annual_volatility(r, annualization=P)),
        }
    return {
        "name": name,
        "dates": [d.strftime("%Y-%m-%d") for d in dates],
        "returns": floats(r),
        "risk_free": floats(rf),
        "risk_free_mean": enc(rf_mean),
        "expected": {
            "series": series,
            "constant_mean": scalar,
            "zero": values(r, 0.0),
            **reference,
        },
    }


def length_checks(r, rf):
    """What empyrical does with a risk-free array one shorter/longer than the returns."""
    out = {}
    for label, other in (("shorter", rf[:-1]), ("longer", np.append(rf, rf[-1]))):
        for fn, kw in (("sharpe_ratio", "risk_free"), ("sortino_ratio", "required_return")):
            try:
                getattr(empyrical, fn)(r, annualization=P, **{kw: other})
                out[f"{fn}_{label}"] = "accepted"
            except Exception as exc:  # numpy refuses to broadcast
                out[f"{fn}_{label}"] = f"{type(exc).__name__}: {exc}"
    if any(v == "accepted" for v in out.values()):
        raise SystemExit(f"empyrical accepted a risk-free array of another length: {out}")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tbill", type=Path, default=TBILL,
                        help="macro_tbill3m_quarterly.csv from scripts/realdata/fetch-macro")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not args.tbill.exists():
        raise SystemExit(f"{args.tbill} is missing: run scripts/realdata/fetch-macro first")

    bars = pd.read_csv(DATA, parse_dates=["Date"])
    px = bars[bars["Ticker"] == SYMBOL].sort_values("Date").set_index("Date")["Adj Close"]
    returns = px.pct_change().iloc[1:]
    returns = returns[(returns.index >= FIRST) & (returns.index <= LAST)]
    dates = returns.index
    r = returns.to_numpy(dtype="float64")
    tbill = load_tbill(args.tbill)
    rf, table = risk_free_for(dates, tbill)

    gappy = r.copy()
    gappy[NAN_AT] = np.nan
    cases = [case(f"{SYMBOL.lower()}_2007_2008", dates, r, rf),
             case(f"{SYMBOL.lower()}_2007_2008_nan_gaps", dates, gappy, rf)]
    meta = {
        "generator": "scripts/golden/make_riskfree_golden.py",
        "returns_source": f"data/sample/us-equities-daily-2000-2013.csv.gz, {SYMBOL} Adj Close, "
                          f"simple returns dated {dates[0]:%Y-%m-%d} .. {dates[-1]:%Y-%m-%d}",
        "risk_free_source": "macro_tbill3m_quarterly.csv of scripts/realdata/fetch-macro "
                            "(statsmodels 0.15.0 macrodata.csv tbilrate, 3-month T-bill, percent "
                            "per year, timestamp = quarter start)",
        "risk_free_csv_sha256": hashlib.sha256(args.tbill.read_bytes()).hexdigest(),
        "risk_free_rule": "for the return dated t: the last yield y with timestamp < t, "
                          "per period (1 + y/100)^(1/252) - 1",
        "risk_free_observations": table,
        "periods_per_year": P,
        "nan_gaps_at": NAN_AT,
        "empyrical_reloaded": empyrical.__version__,
        "bottleneck": bottleneck.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "array_risk_free": "empyrical 0.7.1 subtracts an ndarray risk_free / required_return "
                           "element by element (sharpe_ratio, sortino_ratio, downside_risk); "
                           "a constant array gives bit-identical results to the scalar",
        "other_length": length_checks(r, rf),
    }
    doc = {"meta": meta, "cases": cases}
    args.out.write_text(json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    for c in cases:
        print(c["name"], json.dumps(c["expected"]))


if __name__ == "__main__":
    main()
