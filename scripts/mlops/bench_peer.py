"""Peers of `sextant bench --mlops` on the files it wrote (argument: that directory):

* drift: Evidently 0.7's DataDriftPreset (PSI, and its default test) on the same reference and
  current tables, and the numpy/scipy computation a user would write (PSI over reference deciles
  and scipy.stats.ks_2samp per column), which is also what sextant computes;
* random entries: the strategy's trades placed at random with numpy (same count, holding times
  and cost), 10,000 simulations;
* paired bootstrap: numpy, vectorised in chunks, 10,000 resamples.

Prints one JSON line per benchmark with the peers' median times and sextant's from the same run,
and the ratio.
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats


def median_ms(f, reps):
    ts, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = f()
        ts.append((time.perf_counter() - t0) * 1e3)
    return sorted(ts)[len(ts) // 2], out


def psi(ref, cur, bins=10, eps=1e-4):
    edges = np.unique(np.quantile(ref, np.arange(1, bins) / bins))
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1) / len(cur)
    r = np.where(r == 0, eps, r)
    c = np.where(c == 0, eps, c)
    return float(np.sum((c - r) * np.log(c / r)))


def main(d):
    ours = {j["bench"]: j for j in map(json.loads, open(f"{d}/sextant.jsonl"))}
    ref = pd.read_csv(f"{d}/drift_reference.csv")
    cur = pd.read_csv(f"{d}/drift_current.csv")

    def numpy_drift():
        return [(psi(ref[c].to_numpy(), cur[c].to_numpy()), stats.ks_2samp(ref[c], cur[c]).pvalue)
                for c in ref.columns]

    np_ms, np_out = median_ms(numpy_drift, 5)
    from evidently import Report
    from evidently.presets import DataDriftPreset

    def evidently(method):
        return Report([DataDriftPreset(num_method=method)]).run(cur, ref)

    ev_psi_ms, ev_psi = median_ms(lambda: evidently("psi"), 3)
    ev_def_ms, _ = median_ms(lambda: evidently(None), 3)
    s = ours["drift"]
    print(json.dumps({
        "bench": "drift", "sextant_ms": s["sextant_ms"],
        "numpy_scipy_ms": np_ms, "evidently_psi_ms": ev_psi_ms, "evidently_default_ms": ev_def_ms,
        "ratio_vs_numpy_scipy": np_ms / s["sextant_ms"],
        "ratio_vs_evidently_psi": ev_psi_ms / s["sextant_ms"],
        "ratio_vs_evidently_default": ev_def_ms / s["sextant_ms"],
        "max_abs_psi_diff_vs_numpy": max(abs(a - b[0]) for a, b in zip(s["psi"], np_out)),
        "max_abs_ks_p_diff_vs_scipy": max(abs(a - b[1]) for a, b in zip(s["ks_p"], np_out)),
        "psi_first5": [round(x, 4) for x in s["psi"][:5]],
    }))

    re = json.load(open(f"{d}/random_entries.json"))
    r = np.asarray(re["returns"])
    trades = re["trades"]
    durs = np.array([e - b for b, e in trades])
    cost = re["cost"]
    logg = np.concatenate([[0.0], np.cumsum(np.log1p(r))])
    strat = np.prod([(1 - cost) ** 2 * np.exp(logg[e] - logg[b]) for b, e in trades]) - 1

    def numpy_random():
        rng = np.random.default_rng(re["seed"])
        k, free = len(durs), len(r) - durs.sum()
        totals = np.empty(re["simulations"])
        for i in range(re["simulations"]):
            d_ = rng.permutation(durs)
            c = np.sort(rng.choice(free + k, k, replace=False))
            starts = c - np.arange(k) + np.concatenate([[0], np.cumsum(d_)[:-1]])
            totals[i] = (1 - cost) ** (2 * k) * np.exp(np.sum(logg[starts + d_] - logg[starts])) - 1
        return (1 + (totals >= strat).sum()) / (len(totals) + 1)

    re_ms, p = median_ms(numpy_random, 3)
    s = ours["random_entries"]
    print(json.dumps({"bench": "random_entries", "sextant_ms": s["sextant_ms"], "numpy_ms": re_ms,
                      "ratio": re_ms / s["sextant_ms"], "p_sextant": s["p_value"], "p_numpy": p}))

    exposed = np.zeros_like(r)
    for b, e in trades:
        exposed[b:e] = r[b:e]

    def numpy_bootstrap():
        rng = np.random.default_rng(7)
        n, out = len(r), []
        for _ in range(re["resamples"] // 1000):
            idx = rng.integers(0, n, size=(1000, n))
            a, b = exposed[idx], r[idx]
            out.append(a.mean(1) / a.std(1, ddof=1) - b.mean(1) / b.std(1, ddof=1))
        dsr = np.concatenate(out)
        return np.quantile(dsr, [0.025, 0.975])

    bs_ms, ci = median_ms(numpy_bootstrap, 3)
    s = ours["bootstrap"]
    print(json.dumps({"bench": "bootstrap", "sextant_ms": s["sextant_ms"], "numpy_ms": bs_ms,
                      "ratio": bs_ms / s["sextant_ms"], "ci_sextant": s["sharpe_diff_ci"],
                      "ci_numpy": ci.tolist()}))


if __name__ == "__main__":
    main(sys.argv[1])
