"""Parity of sextant-regimes' Gaussian HMM with hmmlearn 0.3.3 (and a numpy forward pass).

Same data, same initial parameters, the same number of EM iterations on both sides, then:
- EM log-likelihood per iteration within 1e-6 relative;
- final start, transition, means and covariances within 1e-6 (absolute on probabilities,
  relative on means and covariances);
- forward-filtered probabilities p(state_t | x_1..t) equal a plain numpy forward pass to 1e-9;
- fit time side by side, best of five on each side.

hmmlearn's priors are set to their neutral values (no covariance prior, no Dirichlet prior), so
both sides compute the maximum-likelihood M-step. Usage: hmm_parity.py RUST_EXAMPLE_BINARY
"""

import json
import subprocess
import sys
import time

import numpy as np
from hmmlearn.hmm import GaussianHMM
from scipy.stats import multivariate_normal


def data(n, seed):
    rng = np.random.default_rng(seed)
    params = [(0.05, 0.5, 1.0), (-0.02, 1.0, 2.0), (-0.2, 2.0, 3.0)]
    s, rows = 0, []
    for t in range(n):
        if t % 97 == 0:
            s = (s + 1 + t % 2) % 3
        mu, sd, vol = params[s]
        rows.append([mu + sd * rng.standard_normal(), vol + 0.3 * rng.standard_normal()])
    return np.array(rows)


def init_params(x, k, covariance):
    d = x.shape[1]
    idx = np.linspace(0, len(x) - 1, k).astype(int)
    means = x[idx].copy()
    cov = np.cov(x.T, bias=True)
    if covariance == "diag":
        cov = np.diag(np.diag(cov))
    trans = np.full((k, k), 0.1 / (k - 1))
    np.fill_diagonal(trans, 0.9)
    return np.full(k, 1.0 / k), trans, means, np.array([cov] * k), d


def numpy_filter(x, start, trans, means, covs):
    k = len(start)
    dens = np.column_stack(
        [multivariate_normal(means[j], covs[j]).pdf(x) for j in range(k)]
    )
    out = np.zeros((len(x), k))
    prev = None
    for t in range(len(x)):
        pred = start if prev is None else prev @ trans
        a = pred * dens[t]
        a /= a.sum()
        out[t] = a
        prev = a
    return out


def main():
    binary = sys.argv[1]
    failures = []
    for covariance, rust_cov in [("full", "full"), ("diag", "diagonal")]:
        x = data(10_000, 7)
        k, n_iter = 3, 30
        start, trans, means, covs, d = init_params(x, k, covariance)
        payload = {
            "x": x.tolist(),
            "init": {
                "start": start.tolist(),
                "trans": trans.ravel().tolist(),
                "means": means.tolist(),
                "covs": [c.ravel().tolist() for c in covs],
                "covariance": rust_cov,
            },
            "n_iter": n_iter,
        }
        t0 = time.perf_counter()
        proc = subprocess.run(
            [binary], input=json.dumps(payload), capture_output=True, text=True, check=True
        )
        rust_wall = time.perf_counter() - t0
        rust = json.loads(proc.stdout)

        def fitted():
            h = GaussianHMM(
                n_components=k,
                covariance_type=covariance,
                n_iter=n_iter,
                tol=-np.inf,
                init_params="",
                params="stmc",
                min_covar=1e-300,
                covars_prior=0.0,
                covars_weight=1.0 if covariance == "diag" else float(d),
                means_prior=0.0,
                means_weight=0.0,
                startprob_prior=1.0,
                transmat_prior=1.0,
                implementation="scaling",
            )
            h.startprob_ = start
            h.transmat_ = trans
            h.means_ = means
            h.covars_ = covs if covariance == "full" else np.array([np.diag(c) for c in covs])
            t0 = time.perf_counter()
            h.fit(x)
            return h, time.perf_counter() - t0

        # Best of five on both sides (the Rust example times its fit five times too).
        runs = [fitted() for _ in range(5)]
        h = runs[-1][0]
        py_seconds = min(r[1] for r in runs)
        py_hist = np.array(h.monitor_.history)
        rs_hist = np.array(rust["history"])
        m = min(len(py_hist), len(rs_hist))
        rel = np.max(np.abs(py_hist[:m] - rs_hist[:m]) / np.abs(py_hist[:m]))

        model = rust["model"]
        r_means = np.array(model["means"])
        r_covs = np.array([np.array(c).reshape(d, d) for c in model["covs"]])
        r_trans = np.array(model["trans"]).reshape(k, k)
        h_covs = h.covars_  # full matrices for both covariance types
        dm = np.max(np.abs(r_means - h.means_) / np.maximum(np.abs(h.means_), 1e-12))
        dc = np.max(np.abs(r_covs - h_covs) / np.maximum(np.abs(h_covs), 1e-12))
        dt = np.max(np.abs(r_trans - h.transmat_))
        ds = np.max(np.abs(np.array(model["start"]) - h.startprob_))
        filt = numpy_filter(x, np.array(model["start"]), r_trans, r_means, r_covs)
        df = np.max(np.abs(np.array(rust["filtered"]) - filt))
        print(
            f"{covariance}: {len(rs_hist)} vs {len(py_hist)} iterations; loglik rel diff {rel:.2e}; "
            f"means {dm:.2e}, covs {dc:.2e}, trans {dt:.2e}, start {ds:.2e}; "
            f"filter vs numpy {df:.2e}; fit sextant {rust['fit_seconds']*1e3:.1f} ms "
            f"(process {rust_wall*1e3:.0f} ms incl. JSON), hmmlearn {py_seconds*1e3:.1f} ms "
            f"-> {py_seconds / rust['fit_seconds']:.1f}x; filter {rust['filter_seconds']*1e3:.3f} ms"
        )
        for name, v, lim in [("loglik", rel, 1e-6), ("means", dm, 1e-6), ("covs", dc, 1e-6),
                             ("trans", dt, 1e-6), ("start", ds, 1e-6), ("filter", df, 1e-9)]:
            if not (v <= lim):
                failures.append(f"{covariance} {name}: {v:.3e} > {lim:.0e}")
        if len(rs_hist) != len(py_hist):
            failures.append(f"{covariance}: iteration counts differ")
    if failures:
        print("FAILED:", "; ".join(failures))
        sys.exit(1)
    print("parity ok")


if __name__ == "__main__":
    main()
