#!/usr/bin/env python3
"""Reference implementation of the overfitting statistics for sextant-tuning; writes its fixture.

Not run by CI: the Rust tests read the JSON this writes and need no Python. Regenerate with

    ~/.cache/sextant/venv-tuning/bin/python scripts/tuning/overfit_reference.py

(venv: see scripts/tuning/requirements.txt). Output:
crates/sextant-tuning/tests/fixtures/overfit_reference.json

Statistics (plain numpy/scipy, written from the papers, not from the Rust code):

* Probabilistic / Deflated Sharpe ratio (Bailey & Lopez de Prado 2014). Per-period SR =
  mean/std(ddof=1); skew = scipy.stats.skew(bias=True); kurt = scipy.stats.kurtosis(fisher=False,
  bias=True) (non-excess); PSR(SR*) = Phi((SR-SR*) sqrt(T-1) / sqrt(1 - skew SR + (kurt-1)/4 SR^2));
  SR* = sqrt(V) ((1-g) Phi^-1(1-1/N) + g Phi^-1(1-1/(N e))), g = Euler-Mascheroni, V = var(ddof=1)
  of the N trials' per-period SRs; DSR = PSR(SR*).
* Probability of Backtest Overfitting by CSCV (Bailey, Borwein, Lopez de Prado & Zhu 2017). T x N
  returns (rows = time, oldest first; columns = trials). Drop the first T mod S rows; S contiguous
  equal blocks; every combination of S/2 blocks (itertools.combinations, lexicographic) is the
  in-sample set J (rows in time order), the complement is out-of-sample. Performance = mean/std
  (ddof=1); std 0 -> 0 if mean 0 else sign(mean)*inf. n* = argmax IS performance (first on ties);
  omega = rankdata(OOS perfs, 'average')[n*] / (N+1) (rank 1 = worst); lambda = ln(omega/(1-omega));
  PBO = fraction of combinations with lambda <= 0. Also: mean lambda; degradation slope = OLS slope
  of OOS perf of n* on IS perf of n*; probability of loss = fraction with OOS perf of n* < 0.

Inputs come from numpy's PCG64 Generator with the seeds in SEEDS, are rounded (DSR inputs to 10
significant digits, PBO matrices to 6 decimals of unit-variance values, to keep the file small)
BEFORE the statistics are computed, and are stored in the fixture, so the Rust test needs no RNG.
"""

import itertools
import json
import math
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "crates/sextant-tuning/tests/fixtures/overfit_reference.json"
EULER_GAMMA = 0.5772156649015329
SEEDS = {"dsr_T250": 101, "dsr_T1000": 102, "dsr_T2520": 103, "pbo_noise": 201, "pbo_small": 301}


def sig(x, digits=10):
    """Round to `digits` significant digits (via a decimal string, so JSON round-trips it)."""
    return np.array([float(f"{v:.{digits - 1}e}") for v in np.ravel(x)]).reshape(np.shape(x))


# ---------------------------------------------------------------- Sharpe / PSR / DSR

def sharpe(r):
    r = np.asarray(r, dtype=float)
    return r.mean() / r.std(ddof=1)


def psr(sr, sr_star, t, skew, kurt):
    z = (sr - sr_star) * math.sqrt(t - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))


def expected_max_sr(trial_srs):
    n = len(trial_srs)
    v = np.var(trial_srs, ddof=1)
    q = (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / n) + EULER_GAMMA * stats.norm.ppf(1 - 1 / (n * math.e))
    return float(math.sqrt(v) * q), float(v)


def dsr_stats(returns, trial_srs):
    sr = sharpe(returns)
    skew = float(stats.skew(returns, bias=True))
    kurt = float(stats.kurtosis(returns, fisher=False, bias=True))
    sr_star, v = expected_max_sr(trial_srs)
    t = len(returns)
    return {"sr": sr, "skew": skew, "kurt": kurt, "sr_var": v, "sr_star": sr_star,
            "psr_zero": psr(sr, 0.0, t, skew, kurt), "dsr": psr(sr, sr_star, t, skew, kurt)}


# ---------------------------------------------------------------- PBO by CSCV

def performance(block):
    """Per-column mean/std(ddof=1); std 0 -> 0 if mean 0 else sign(mean)*inf."""
    m = block.mean(axis=0)
    s = block.std(axis=0, ddof=1)
    out = np.empty_like(m)
    for i in range(len(m)):
        out[i] = m[i] / s[i] if s[i] > 0 else (0.0 if m[i] == 0 else math.copysign(math.inf, m[i]))
    return out


def pbo_cscv(x, s=16, detail=False):
    x = np.asarray(x, dtype=float)
    t, n = x.shape
    assert s % 2 == 0 and t >= s
    x = x[t % s:]  # drop the oldest rows
    blocks = np.split(x, s)
    logits, is_best, oos_best, rows = [], [], [], []
    for j in itertools.combinations(range(s), s // 2):
        comp = [b for b in range(s) if b not in j]
        is_perf = performance(np.concatenate([blocks[b] for b in j]))
        oos_perf = performance(np.concatenate([blocks[b] for b in comp]))
        star = int(np.argmax(is_perf))  # first index on ties
        omega = stats.rankdata(oos_perf, method="average")[star] / (n + 1)
        lam = math.log(omega / (1 - omega))
        logits.append(lam)
        is_best.append(is_perf[star])
        oos_best.append(oos_perf[star])
        if detail:
            rows.append({"is_blocks": list(j), "n_star": star, "is_perf": list(is_perf),
                         "oos_perf": list(oos_perf), "omega": omega, "logit": lam})
    logits, is_best, oos_best = map(np.array, (logits, is_best, oos_best))
    slope = float(np.cov(is_best, oos_best, ddof=1)[0, 1] / np.var(is_best, ddof=1))
    out = {"rows_used": int(len(x)), "combinations": len(logits),
           "pbo": float(np.mean(logits <= 0)), "mean_logit": float(logits.mean()),
           "degradation_slope": slope, "prob_loss": float(np.mean(oos_best < 0))}
    if detail:
        out["per_combination"] = rows
    return out


# ---------------------------------------------------------------- cases

def dsr_case(name, t, n, mu, scale=0.01, df=6):
    """Best trial: negatively skewed fat-tailed returns, x - 0.1 (x^2 - E x^2) with x ~ t(df).
    Trial SRs: N-1 draws of N(0, 1/sqrt(T)) (noise strategies) plus the best trial's own SR last."""
    rng = np.random.Generator(np.random.PCG64(SEEDS[name]))
    x = rng.standard_t(df, t)
    returns = sig(mu + scale * (x - 0.1 * (x**2 - df / (df - 2))))
    noise_srs = rng.normal(0.0, 1 / math.sqrt(t), n - 1)
    trial_srs = sig(np.append(noise_srs, sharpe(returns)))
    return {"name": name, "seed": SEEDS[name], "T": t, "N": n, "returns": returns.tolist(),
            "trial_srs": trial_srs.tolist(), "expected": dsr_stats(returns, trial_srs)}


def main():
    dsr_cases = [dsr_case("dsr_T250", 250, 10, 0.0015), dsr_case("dsr_T1000", 1000, 100, 0.0011),
                 dsr_case("dsr_T2520", 2520, 1000, 0.0014)]

    rng = np.random.Generator(np.random.PCG64(SEEDS["pbo_noise"]))
    noise = np.round(rng.standard_normal((1000, 50)), 6)
    edge_col, shift = 7, 0.2
    edge = noise.copy()
    edge[:, edge_col] = np.round(noise[:, edge_col] + shift, 6)

    rng = np.random.Generator(np.random.PCG64(SEEDS["pbo_small"]))
    small = np.round(rng.standard_normal((40, 5)), 4)
    small[:, 4] = 0.0  # a trial that never trades: std 0 -> performance 0

    pbo_cases = [
        {"name": "pbo_noise", "seed": SEEDS["pbo_noise"], "T": 1000, "N": 50, "S": 16,
         "returns": noise.tolist(), "expected": pbo_cscv(noise, 16)},
        {"name": "pbo_edge", "seed": SEEDS["pbo_noise"], "T": 1000, "N": 50, "S": 16,
         "returns_from": "pbo_noise",
         "replace_column": {"index": edge_col, "shift": shift,
                            "values": edge[:, edge_col].tolist()},
         "expected": pbo_cscv(edge, 16)},
        {"name": "pbo_small", "seed": SEEDS["pbo_small"], "T": 40, "N": 5, "S": 4,
         "returns": small.tolist(), "expected": pbo_cscv(small, 4, detail=True)},
    ]

    doc = {
        "generator": "scripts/tuning/overfit_reference.py",
        "libraries": f"numpy {np.__version__}, scipy {scipy.__version__}",
        "notes": "returns are T x N row-major (rows = time, oldest first). pbo_edge = pbo_noise "
                 "with column replace_column.index replaced by replace_column.values "
                 "(= round(noise + shift, 6)). dsr trial_srs: last entry is the best trial's SR.",
        "dsr_cases": dsr_cases,
        "pbo_cases": pbo_cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")

    print(f"{'case':<11}{'T':>6}{'N':>6}{'sr':>10}{'skew':>9}{'kurt':>8}{'sr*':>9}{'psr0':>8}{'dsr':>8}")
    for c in dsr_cases:
        e = c["expected"]
        print(f"{c['name']:<11}{c['T']:>6}{c['N']:>6}{e['sr']:>10.5f}{e['skew']:>9.4f}"
              f"{e['kurt']:>8.3f}{e['sr_star']:>9.5f}{e['psr_zero']:>8.4f}{e['dsr']:>8.4f}")
    print(f"\n{'case':<11}{'T':>6}{'N':>4}{'S':>4}{'combos':>8}{'pbo':>8}{'logit':>9}{'slope':>9}{'p_loss':>8}")
    for c in pbo_cases:
        e = c["expected"]
        print(f"{c['name']:<11}{c['T']:>6}{c['N']:>4}{c['S']:>4}{e['combinations']:>8}{e['pbo']:>8.4f}"
              f"{e['mean_logit']:>9.4f}{e['degradation_slope']:>9.4f}{e['prob_loss']:>8.4f}")
    print(f"\nwrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
