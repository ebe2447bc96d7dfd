"""Parity of sextant-forecasts' GARCH(1,1)-t with Kevin Sheppard's arch 8.0.0.

For each real series (AAPL, IBM, MSFT, GOOG from the bundled sample; arch's own S&P 500 and
NASDAQ data sets) the daily log returns in percent, 100 * diff(log(adj close)), are computed
here, written one per line (Python repr of the float) to a temporary file, and handed to the
Rust example binary, which prints one JSON object

    {"mu", "omega", "alpha", "beta", "nu", "loglik", "nobs", "block_length", "fit_ms"}

The same returns are fitted with

    arch_model(y, mean='Constant', vol='GARCH', p=1, q=1, dist='t').fit(disp='off')

(best of five timed fits) and with a tight tolerance, fit(disp='off', tol=1e-12,
options={'maxiter': 10000}), which reaches the true optimum where SLSQP's default ftol=1e-6
stops short; arch.bootstrap.optimal_block_length gives the stationary bootstrap's block length.

A series passes when, against the default fit OR against the tight fit:
- every parameter is within 1e-3 absolute,
- the log-likelihood is within 1e-6 relative,
and the block length is within 1e-6 relative of arch's. The nobs must be equal. The script exits
non-zero if any series fails.

Usage: garch_parity.py RUST_EXAMPLE_BINARY
The bundled sample is found at ../../../shared/data/ from this script (the repository's
../shared/data/), or at $SEXTANT_SAMPLE (the path of the .csv.gz file).
"""

import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from arch import arch_model
from arch.bootstrap import optimal_block_length

PARAMS = ["mu", "omega", "alpha", "beta", "nu"]
PARAMS_GJR = ["mu", "omega", "alpha", "gamma", "beta", "nu"]
# (the example binary's variant argument, arch's `o`)
VARIANTS = [("garch", 0), ("gjr", 1)]
PARAM_TOL = 1e-3
LOGLIK_REL_TOL = 1e-6
BLOCK_REL_TOL = 1e-6
SAMPLE_TICKERS = ["AAPL", "IBM", "MSFT", "GOOG"]


def sample_path():
    override = os.environ.get("SEXTANT_SAMPLE")
    if override:
        return Path(override)
    here = Path(__file__).resolve().parent
    return here / ".." / ".." / ".." / "shared" / "data" / "us-equities-daily-2000-2013.csv.gz"


def log_returns_pct(prices):
    prices = np.asarray(prices, dtype=float)
    return 100.0 * np.diff(np.log(prices))


def series():
    """(name, returns) for every series, in a fixed order."""
    out = []
    sample = pd.read_csv(sample_path())
    for ticker in SAMPLE_TICKERS:
        rows = sample[sample["Ticker"] == ticker].sort_values("Date")
        out.append((f"{ticker} (sample)", log_returns_pct(rows["Adj Close"].to_numpy())))
    import arch.data.nasdaq
    import arch.data.sp500

    for name, module in [("S&P 500 (arch.data.sp500)", arch.data.sp500),
                         ("NASDAQ (arch.data.nasdaq)", arch.data.nasdaq)]:
        frame = module.load().sort_index()
        out.append((name, log_returns_pct(frame["Adj Close"].to_numpy())))
    return out


def arch_fit(y, o=0, **kwargs):
    model = arch_model(y, mean="Constant", vol="GARCH", p=1, o=o, q=1, dist="t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(disp="off", **kwargs)
    p = res.params
    return {
        "mu": float(p["mu"]),
        "omega": float(p["omega"]),
        "alpha": float(p["alpha[1]"]),
        "gamma": float(p["gamma[1]"]) if o else 0.0,
        "beta": float(p["beta[1]"]),
        "nu": float(p["nu"]),
        "loglik": float(res.loglikelihood),
        "nobs": int(res.nobs),
        "status": int(res.optimization_result.status),
        "nit": int(res.optimization_result.nit),
    }


def timed_arch_fit(y, o=0, repeats=5):
    best, result = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = arch_fit(y, o)
        best = min(best, (time.perf_counter() - t0) * 1e3)
    result["fit_ms"] = best
    return result


def run_binary(binary, y, variant):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        for v in y:
            fh.write(repr(float(v)) + "\n")
        path = fh.name
    try:
        proc = subprocess.run([binary, path, variant], capture_output=True, text=True)
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        raise RuntimeError(f"{binary} exited {proc.returncode}: {proc.stderr.strip()}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if not lines:
        raise RuntimeError(f"{binary} printed nothing; stderr: {proc.stderr.strip()}")
    return json.loads(lines[-1])


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def verdict(ours, ref, params):
    """Failures of `ours` against one arch fit `ref` (empty list = pass)."""
    fails = []
    for k in params:
        if not abs(ours[k] - ref[k]) <= PARAM_TOL:
            fails.append(f"{k} |diff| {abs(ours[k] - ref[k]):.3e} > {PARAM_TOL:g}")
    if not rel(ours["loglik"], ref["loglik"]) <= LOGLIK_REL_TOL:
        fails.append(f"loglik rel diff {rel(ours['loglik'], ref['loglik']):.3e} > {LOGLIK_REL_TOL:g}")
    return fails


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: garch_parity.py RUST_EXAMPLE_BINARY")
    binary = sys.argv[1]
    any_fail = False
    for (name, y), (variant, o) in [(sy, v) for sy in series() for v in VARIANTS]:
        params = PARAMS if o == 0 else PARAMS_GJR
        name = f"{name}, {variant}"
        ours = run_binary(binary, y, variant)
        ref = timed_arch_fit(y, o)
        tight = arch_fit(y, o, tol=1e-12, options={"maxiter": 10000})
        block = float(optimal_block_length(y)["stationary"].iloc[0])

        print(f"\n### {name}: {len(y)} returns\n")
        print("| quantity | sextant | arch (default) | abs diff | arch (tol 1e-12) | abs diff |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for k in params:
            print(f"| {k} | {ours[k]:.8f} | {ref[k]:.8f} | {abs(ours[k] - ref[k]):.2e} "
                  f"| {tight[k]:.8f} | {abs(ours[k] - tight[k]):.2e} |")
        print(f"| loglik | {ours['loglik']:.8f} | {ref['loglik']:.8f} "
              f"| rel {rel(ours['loglik'], ref['loglik']):.2e} "
              f"| {tight['loglik']:.8f} | rel {rel(ours['loglik'], tight['loglik']):.2e} |")
        print(f"| nobs | {ours['nobs']} | {ref['nobs']} | | {tight['nobs']} | |")
        print(f"| block length (stationary) | {ours['block_length']:.10f} | {block:.10f} "
              f"| rel {rel(ours['block_length'], block):.2e} | | |")
        print(f"| fit ms | {ours['fit_ms']:.2f} | {ref['fit_ms']:.2f} (best of 5) | | | |")
        print(f"\narch SLSQP: default {ref['nit']} iterations (status {ref['status']}), "
              f"tight {tight['nit']} iterations (status {tight['status']}); "
              f"sextant loglik - tight loglik = {ours['loglik'] - tight['loglik']:+.3e}")

        fails_default = verdict(ours, ref, params)
        fails_tight = verdict(ours, tight, params)
        common = []
        if int(ours["nobs"]) != len(y):
            common.append(f"nobs {ours['nobs']} != {len(y)}")
        if not rel(ours["block_length"], block) <= BLOCK_REL_TOL:
            common.append(f"block length rel diff {rel(ours['block_length'], block):.3e} "
                          f"> {BLOCK_REL_TOL:g}")
        ok = not common and (not fails_default or not fails_tight)
        against = ("default and tight fits" if not fails_default and not fails_tight
                   else "default fit" if not fails_default
                   else "tight fit" if not fails_tight else "neither fit")
        if ok:
            print(f"\n**PASS** {name}: matches arch's {against}")
        else:
            any_fail = True
            reasons = common + [f"vs default: {f}" for f in fails_default] + \
                [f"vs tight: {f}" for f in fails_tight]
            print(f"\n**FAIL** {name}: " + "; ".join(reasons))
    print()
    if any_fail:
        print("garch parity: FAIL")
        sys.exit(1)
    print("garch parity: PASS")


if __name__ == "__main__":
    main()
