"""The peer of `sextant bench --regimes`: the same walk-forward on the same features with
hmmlearn 0.3.3, as a user of the Python stack would write it.

Per symbol: a 3-state full-covariance GaussianHMM fitted on the first 504 rows with 5 seeded
restarts, refitted every 252 rows (one fresh start plus one warm start from the previous model,
the better kept, as sextant does), and every row labelled point in time by a forward pass of its
segment's model from row 0 (numpy; hmmlearn's own predict/predict_proba smooth over the whole
sequence and would look ahead). Prints seconds per symbol.

Usage: bench_peer.py FEATURES_CSV
"""

import csv
import os
import sys
import time
from collections import defaultdict

import numpy as np
from hmmlearn.hmm import GaussianHMM
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

MIN_FIT, REFIT, STATES, RESTARTS = 504, 252, 3, 5


def fit(x, seed, init=None):
    h = GaussianHMM(n_components=STATES, covariance_type="full", n_iter=500, tol=1e-4,
                    random_state=seed, init_params="" if init else "stmc", min_covar=1e-6)
    if init is not None:
        h.startprob_, h.transmat_, h.means_, h.covars_ = (
            init.startprob_, init.transmat_, init.means_, init.covars_)
    h.fit(x)
    return h, h.score(x)


def forward(h, x):
    logb = np.column_stack([multivariate_normal(h.means_[j], h.covars_[j]).logpdf(x)
                            for j in range(STATES)])
    logt = np.log(h.transmat_)
    out = np.zeros_like(logb)
    a = np.log(h.startprob_ + 1e-300) + logb[0]
    out[0] = a - logsumexp(a)
    for t in range(1, len(x)):
        a = logsumexp(out[t - 1][:, None] + logt, axis=0) + logb[t]
        out[t] = a - logsumexp(a)
    return np.exp(out)


TIMES = {"fit": 0.0, "filter": 0.0}


def walk(x):
    prev = None
    labels = []
    ends = list(range(MIN_FIT - 1, len(x), REFIT))
    for s, fe in enumerate(ends):
        rows = x[: fe + 1]
        t0 = time.perf_counter()
        if prev is None:
            best = max((fit(rows, seed) for seed in range(RESTARTS)), key=lambda r: r[1])
        else:
            cands = [fit(rows, s)]
            try:
                cands.append(fit(rows, s, init=prev))
            except Exception:
                pass
            best = max(cands, key=lambda r: r[1])
        prev = best[0]
        t1 = time.perf_counter()
        end = ends[s + 1] if s + 1 < len(ends) else len(x)
        p = forward(prev, x[:end])
        TIMES["fit"] += t1 - t0
        TIMES["filter"] += time.perf_counter() - t1
        labels.extend(p[fe:end].argmax(axis=1))
    return labels


def main():
    by_symbol = defaultdict(list)
    with open(sys.argv[1]) as f:
        for row in csv.DictReader(f):
            by_symbol[row["symbol"]].append([float(row["ret"]), float(row["vol"])])
    t0 = time.perf_counter()
    n = 0
    for sym, rows in by_symbol.items():
        labels = walk(np.array(rows))
        n += len(labels)
    secs = time.perf_counter() - t0
    print(f"hmmlearn walk-forward: {len(by_symbol)} symbols, {n} labels in {secs:.1f} s "
          f"({1e3 * secs / len(by_symbol):.0f} ms per symbol: fits {1e3 * TIMES['fit'] / len(by_symbol):.0f} ms, "
          f"forward filters {1e3 * TIMES['filter'] / len(by_symbol):.0f} ms; one process)")


if __name__ == "__main__":
    main()
