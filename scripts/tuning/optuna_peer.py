#!/usr/bin/env python3
"""Run Optuna on the sextant-tuning acceptance studies and write the peer JSON for compare.py.

Not run by CI (minutes of CPU; needs the venv of scripts/tuning/requirements.txt).

Studies: branin (min, x1 in [-5,10], x2 in [0,15], optimum 0.397887), hartmann6 (min, [0,1]^6,
optimum -3.32237) and sma_goog (max): in-sample annualised Sharpe of a long-only SMA cross on
--bars (ts,open,high,low,close,volume; make_goog_bars.py writes one), fast int [5,50],
slow int [20,200]; slow <= fast raises and the trial is told FAIL. The backtest is backtesting.py
as in scripts/golden/make_backtest_golden.py: TA-Lib SMA recurrence, strict crossover, buy when
flat, close on the down-cross, next-open fills, cash 10,000, commission 0, finalize_trades=False.
Sharpe = sqrt(252) mean/std(ddof=1) of r_t = E_t/E_{t-1} - 1 with E_{-1} = cash (0 if std = 0).

Samplers: TPESampler(seed, multivariate=True) and CmaEsSampler(seed), one study per seed, driven
by ask/tell so the time in study.ask() (all parameters are sampled there, via
fixed_distributions) is measured apart from the objective.

Usage: optuna_peer.py --out FILE --bars CSV [--seeds 20] [--trials 100] [--overhead] [--throughput]
"""

import argparse
import json
import math
import statistics
import sys
import time
import warnings

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState

warnings.filterwarnings("ignore")
optuna.logging.set_verbosity(optuna.logging.ERROR)  # optimize() logs each FAIL at WARNING

CASH = 10_000.0

# ---------------------------------------------------------------- test functions

BRANIN_SPACE = {"x1": FloatDistribution(-5, 10), "x2": FloatDistribution(0, 15)}


def branin(p):
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


HARTMANN6_SPACE = {f"x{i}": FloatDistribution(0, 1) for i in range(1, 7)}
H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                 [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                        [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])


def hartmann6(p):
    x = np.array([p[f"x{i}"] for i in range(1, 7)])
    return float(-np.sum(H6_ALPHA * np.exp(-np.sum(H6_A * (x - H6_P) ** 2, axis=1))))


# ---------------------------------------------------------------- SMA cross on GOOG

SMA_SPACE = {"fast": IntDistribution(5, 50), "slow": IntDistribution(20, 200)}


def load_bars(path):
    d = pd.read_csv(path)
    d.index = pd.to_datetime(d["ts"].astype(str).str[:10])
    d = d.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    return d.astype(float)


def talib_sma(x, n):
    """TA-Lib's SMA recurrence, as scripts/golden/make_backtest_golden.py (= sextant's sma)."""
    out = np.full(len(x), np.nan)
    total = sum(x[: n - 1])
    for i in range(n - 1, len(x)):
        total += x[i]
        out[i] = total / n
        total -= x[i - n + 1]
    return out


def make_sma_objective(bars):
    import backtesting.backtesting
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    backtesting.backtesting._tqdm = lambda seq, **_: seq  # no progress bar per run

    close = bars["Close"].to_numpy()

    def objective(p):
        fast_n, slow_n = p["fast"], p["slow"]
        if slow_n <= fast_n:
            raise ValueError(f"slow ({slow_n}) must exceed fast ({fast_n})")
        fast, slow = talib_sma(close, fast_n), talib_sma(close, slow_n)

        class SmaCrossLong(Strategy):
            def init(self):
                self.fast = self.I(lambda: fast, name="fast")
                self.slow = self.I(lambda: slow, name="slow")

            def next(self):
                if crossover(self.fast, self.slow) and not self.position:
                    self.buy()
                elif crossover(self.slow, self.fast) and self.position:
                    self.position.close()

        bt = Backtest(bars, SmaCrossLong, cash=CASH, commission=0.0, trade_on_close=False,
                      exclusive_orders=False, finalize_trades=False)
        equity = bt.run()["_equity_curve"]["Equity"].to_numpy()
        r = np.diff(np.concatenate([[CASH], equity])) / np.concatenate([[CASH], equity[:-1]])
        sd = r.std(ddof=1)
        return float(r.mean() / sd * math.sqrt(252)) if sd > 0 else 0.0

    return objective


# ---------------------------------------------------------------- runs

def make_sampler(name, seed):
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    return optuna.samplers.CmaEsSampler(seed=seed)


def run_study(fn, space, direction, sampler, trials):
    """Ask/tell loop; returns (study, wall seconds, list of per-ask ms)."""
    study = optuna.create_study(direction=direction, sampler=sampler)
    asks = []
    t0 = time.perf_counter()
    for _ in range(trials):
        a = time.perf_counter()
        trial = study.ask(fixed_distributions=space)
        asks.append((time.perf_counter() - a) * 1e3)
        try:
            value = fn(trial.params)
        except ValueError:
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, value)
    return study, time.perf_counter() - t0, asks


def overhead(n_values=(1000, 10000), n_asks=20):
    out = []
    for n in n_values:
        rng = np.random.default_rng(0)  # uniform params, as RandomSampler would draw them
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(multivariate=True, seed=0))
        history = []
        for x1, x2 in zip(rng.uniform(-5, 10, n), rng.uniform(0, 15, n)):
            p = {"x1": float(x1), "x2": float(x2)}
            history.append(optuna.trial.create_trial(params=p, distributions=BRANIN_SPACE,
                                                     value=branin(p)))
        study.add_trials(history)
        times = []
        for _ in range(n_asks):
            a = time.perf_counter()
            trial = study.ask(fixed_distributions=BRANIN_SPACE)
            times.append((time.perf_counter() - a) * 1e3)
            study.tell(trial, branin(trial.params))
        out.append({"history": n, "source": "synthetic", "asks": n_asks,
                    "ask_ms_median": statistics.median(times)})
        print(f"overhead: history {n}: median ask {out[-1]['ask_ms_median']:.2f} ms", file=sys.stderr)
    sampler = optuna.samplers.TPESampler(multivariate=True, seed=0)
    _, wall, asks = run_study(branin, BRANIN_SPACE, "minimize", sampler, 1000)
    out.append({"history": 1000, "source": "real_run_last100", "asks": 100,
                "ask_ms_median": statistics.median(asks[-100:]), "run_wall_s": wall})
    print(f"overhead: real 1000-trial run, last 100 asks median {out[-1]['ask_ms_median']:.2f} ms "
          f"(run {wall:.1f} s)", file=sys.stderr)
    return out


def throughput(objective, n=200):
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(multivariate=True, seed=0))

    def obj(trial):
        return objective({"fast": trial.suggest_int("fast", 5, 50),
                          "slow": trial.suggest_int("slow", 20, 200)})

    t0 = time.perf_counter()
    study.optimize(obj, n_trials=n, catch=(ValueError,))
    wall = time.perf_counter() - t0
    print(f"throughput: {n} trials in {wall:.1f} s = {n / wall:.2f} trials/s", file=sys.stderr)
    return {"trials": n, "wall_s": wall, "trials_per_s": n / wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--bars", required=True)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--overhead", action="store_true")
    ap.add_argument("--throughput", action="store_true")
    args = ap.parse_args()

    sma = make_sma_objective(load_bars(args.bars))
    studies = [("branin", branin, BRANIN_SPACE, "minimize"),
               ("hartmann6", hartmann6, HARTMANN6_SPACE, "minimize"),
               ("sma_goog", sma, SMA_SPACE, "maximize")]
    doc = {"peer": f"optuna {optuna.__version__}", "runs": []}
    t_all = time.perf_counter()
    for name, fn, space, direction in studies:
        for sampler in ("tpe", "cmaes"):
            for seed in range(args.seeds):
                study, wall, asks = run_study(fn, space, direction, make_sampler(sampler, seed),
                                              args.trials)
                failed = sum(t.state == TrialState.FAIL for t in study.trials)
                doc["runs"].append({"study": name, "sampler": sampler, "seed": seed,
                                    "trials": args.trials, "failed": failed,
                                    "best": study.best_value, "best_params": study.best_params,
                                    "wall_s": wall, "ask_ms_total": sum(asks)})
            bests = [r["best"] for r in doc["runs"] if r["study"] == name and r["sampler"] == sampler]
            print(f"{name:<10} {sampler:<6} median best {statistics.median(bests):.6f} "
                  f"({time.perf_counter() - t_all:.0f} s so far)", file=sys.stderr)
    if args.overhead:
        doc["overhead"] = overhead()
    if args.throughput:
        doc["throughput"] = throughput(sma)
    doc["total_wall_s"] = time.perf_counter() - t_all
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out} in {doc['total_wall_s']:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
