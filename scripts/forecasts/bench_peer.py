"""Python peer of `sextant bench --forecasts`: the same portfolio risk forecast with arch + numpy.

Usage: bench_peer.py DIR
DIR holds
- forecast_returns.csv: a header row of asset names, then T rows of daily log returns in
  percent, one column per asset (no date column);
- forecast_holdings.csv: header `asset,market_value`, one row per asset (cash is 0).

Stages, each timed on its own (reading the files is not timed):
(a) fit: arch_model(r, mean='Constant', vol='GARCH', p=1, q=1, dist='t').fit(disp='off') on
    every column; standardized residuals z[t, i] = resid / conditional volatility; the one-step
    ahead variance omega + alpha * resid[T-1]^2 + beta * sigma2[T-1] (what
    res.forecast(horizon=1) gives, without its extra pass over the data).
(b) fhs: filtered historical simulation, 10,000 paths x 250 days. Each simulated day of each
    path draws ONE historical date j uniformly (numpy Generator(PCG64(7)).integers) and uses
    the whole cross-section z[j, :]; each asset's variance follows its GARCH recursion from the
    one-step-ahead forecast: r = mu + sqrt(sigma2) * z, sigma2' = omega + alpha (r - mu)^2 +
    beta sigma2; asset value = market_value * exp(cumsum(r / 100)); portfolio value = sum.
(d) bootstrap: stationary block bootstrap (Politis & Romano) of whole cross-sections of the raw
    returns, mean block length b = arch.bootstrap.optimal_block_length of the equal-weight
    portfolio's return series (its time is included here), 10,000 paths x 250 days: day 1 of a
    path starts at a uniform date, each later day starts a new block at a uniform date with
    probability 1/b and otherwise takes the next date (wrapping from T-1 to 0), as
    arch.bootstrap.StationaryBootstrap does; Generator(PCG64(8)). Portfolio values as in (b).
(c) quantiles: for the simulated portfolio values of both (b) and (d): the 1, 5, 10, 25, 50,
    75, 90, 95, 99 % quantiles per day (numpy's default linear interpolation); losses as
    fractions of today's value, L_h = 1 - V_h / V_0, for h = 1 and 10 days; VaR_a = quantile_a(L)
    and CVaR_a = mean(L | L >= VaR_a) for a = 95 %, 99 %; the probability that the maximum
    drawdown over the 250 days (peak includes V_0) exceeds 10 % and 20 %.

Prints one JSON line (times in ms; risk figures of (b) unprefixed, of (d) prefixed `bs_`), then a
human-readable summary. All loops run over days; every day's work is vectorized over paths.
"""

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from arch import arch_model
from arch.bootstrap import optimal_block_length

PATHS = 10_000
HORIZON = 250
FHS_SEED = 7
BOOTSTRAP_SEED = 8
QUANTILES = np.array([0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99])


def load(directory):
    d = Path(directory)
    returns = pd.read_csv(d / "forecast_returns.csv")
    holdings = pd.read_csv(d / "forecast_holdings.csv")
    mv = holdings.set_index("asset")["market_value"].astype(float)
    assets = list(returns.columns)
    missing = [a for a in assets if a not in mv.index]
    if missing:
        sys.exit(f"forecast_holdings.csv has no row for {missing}")
    r = np.ascontiguousarray(returns.to_numpy(dtype=float))
    return assets, r, mv.loc[assets].to_numpy()


def fit_all(r):
    """Per-asset (mu, omega, alpha, beta, nu), standardized residuals (T x N), sigma2_{T+1}."""
    t, n = r.shape
    params = np.empty((n, 5))
    z = np.empty((t, n))
    s2_next = np.empty(n)
    for i in range(n):
        model = arch_model(r[:, i], mean="Constant", vol="GARCH", p=1, q=1, dist="t")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(disp="off")
        mu, omega, alpha, beta, nu = res.params.to_numpy()
        params[i] = mu, omega, alpha, beta, nu
        resid = np.asarray(res.resid)
        vol = np.asarray(res.conditional_volatility)
        z[:, i] = resid / vol
        s2_next[i] = omega + alpha * resid[-1] ** 2 + beta * vol[-1] ** 2
    return params, z, s2_next


def fhs(params, z, s2_next, mv):
    """Portfolio values, HORIZON x PATHS, by filtered historical simulation.

    Arrays are assets x paths so that every numpy operation runs over the 10,000 paths. The
    recursion is carried on fractional returns (variance / 100^2), which makes r / 100 the plain
    shock, and the constant mean is folded into the market values: sum_i mv_i exp(h mu_i / 100 +
    sum of shocks) is the portfolio value after h days.
    """
    t, n = z.shape
    col = lambda v: np.ascontiguousarray(v)[:, None]  # noqa: E731
    mu_frac = params[:, 0] / 100.0
    omega, alpha, beta = col(params[:, 1] / 1e4), col(params[:, 2]), col(params[:, 3])
    z_t = np.ascontiguousarray(z.T)                    # assets x dates
    rng = np.random.Generator(np.random.PCG64(FHS_SEED))
    days = rng.integers(0, t, size=(HORIZON, PATHS))
    var = np.empty((n, PATHS))
    var[:] = col(s2_next / 1e4)
    cum = np.zeros((n, PATHS))
    shock = np.empty((n, PATHS))
    tmp = np.empty((n, PATHS))
    out = np.empty((HORIZON, PATHS))
    for h in range(HORIZON):
        np.take(z_t, days[h], axis=1, out=shock)       # z[j, :] for each path
        np.sqrt(var, out=tmp)
        shock *= tmp                                   # (r - mu) / 100
        cum += shock
        np.square(shock, out=shock)
        shock *= alpha
        var *= beta
        var += shock
        var += omega                                   # next day's variance
        np.exp(cum, out=tmp)
        np.matmul(mv * np.exp((h + 1) * mu_frac), tmp, out=out[h])
    return out


def stationary_bootstrap(r, mv, block):
    """Portfolio values, HORIZON x PATHS, by a stationary bootstrap of whole cross-sections."""
    t, n = r.shape
    p = 1.0 / block
    rng = np.random.Generator(np.random.PCG64(BOOTSTRAP_SEED))
    starts = rng.integers(0, t, size=(HORIZON, PATHS))
    u = rng.random((HORIZON, PATHS))
    frac_t = np.ascontiguousarray(r.T / 100.0)         # assets x dates
    idx = starts[0].copy()
    cum = np.zeros((n, PATHS))
    tmp = np.empty((n, PATHS))
    out = np.empty((HORIZON, PATHS))
    for h in range(HORIZON):
        if h > 0:
            idx += 1
            idx[idx == t] = 0
            idx = np.where(u[h] > p, idx, starts[h])   # arch continues a block when u > p
        np.take(frac_t, idx, axis=1, out=tmp)
        cum += tmp
        np.exp(cum, out=tmp)
        np.matmul(mv, tmp, out=out[h])
    return out


def _lerp(a, b, w):
    # numpy's quantile interpolation (numpy.lib._function_base_impl._lerp), so the values
    # below equal np.quantile(..., method='linear') exactly.
    d = b - a
    return np.where(w >= 0.5, b - d * (1 - w), a + d * w)


def risk(values, v0):
    """Quantiles per day and the VaR / CVaR / drawdown figures of HORIZON x PATHS values.

    One sort per day and interpolation between order statistics (np.quantile's 'linear'
    method) is several times faster than np.quantile's partition for nine quantiles.
    """
    ordered = np.sort(values, axis=1)
    pos = QUANTILES * (values.shape[1] - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, values.shape[1] - 1)
    q = _lerp(ordered[:, lo], ordered[:, hi], pos - lo).T   # 9 x HORIZON
    out = {}
    for h in (1, 10):
        loss = 1.0 - values[h - 1] / v0
        for a in (95, 99):
            var = float(np.quantile(loss, a / 100.0))
            out[f"var{a}_{h}d"] = var
            out[f"cvar{a}_{h}d"] = float(loss[loss >= var].mean())
    peak = np.full(values.shape[1], v0)
    max_dd = np.zeros(values.shape[1])
    dd = np.empty(values.shape[1])
    for day in values:                                 # running peak, including V_0
        np.maximum(peak, day, out=peak)
        np.divide(day, peak, out=dd)
        np.subtract(1.0, dd, out=dd)
        np.maximum(max_dd, dd, out=max_dd)
    out["p_maxdd_10"] = float(np.mean(max_dd > 0.10))
    out["p_maxdd_20"] = float(np.mean(max_dd > 0.20))
    return q, out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench_peer.py DIR")
    assets, r, mv = load(sys.argv[1])
    t, n = r.shape
    v0 = float(mv.sum())

    t_start = time.perf_counter()
    params, z, s2_next = fit_all(r)
    t_fit = time.perf_counter()
    fhs_values = fhs(params, z, s2_next, mv)
    t_fhs = time.perf_counter()
    block = float(optimal_block_length(r.mean(axis=1))["stationary"].iloc[0])
    bs_values = stationary_bootstrap(r, mv, block)
    t_bs = time.perf_counter()
    q_fhs, risk_fhs = risk(fhs_values, v0)
    q_bs, risk_bs = risk(bs_values, v0)
    t_end = time.perf_counter()

    ms = lambda a, b: round((b - a) * 1e3, 3)  # noqa: E731
    summary = {
        "peer": "arch+numpy",
        "assets": n,
        "obs": t,
        "paths": PATHS,
        "horizon": HORIZON,
        "fit_ms": ms(t_start, t_fit),
        "fhs_ms": ms(t_fit, t_fhs),
        "bootstrap_ms": ms(t_fhs, t_bs),
        "quantiles_ms": ms(t_bs, t_end),
        "total_ms": ms(t_start, t_end),
        "block_length": block,
        "portfolio_value": v0,
    }
    summary.update(risk_fhs)
    summary.update({f"bs_{k}": v for k, v in risk_bs.items()})
    summary["quantiles_day250"] = dict(zip([f"p{int(round(x * 100))}" for x in QUANTILES],
                                           q_fhs[:, -1].tolist()))
    summary["bs_quantiles_day250"] = dict(zip([f"p{int(round(x * 100))}" for x in QUANTILES],
                                              q_bs[:, -1].tolist()))
    summary["params"] = {a: dict(zip(["mu", "omega", "alpha", "beta", "nu"], params[i].tolist()))
                         for i, a in enumerate(assets)}
    print(json.dumps(summary))

    print(f"\npeer (arch {__import__('arch').__version__}, numpy {np.__version__}): "
          f"{n} assets x {t} days, {PATHS:,} paths x {HORIZON} days")
    print(f"  GARCH(1,1)-t fits           {summary['fit_ms']:10.1f} ms")
    print(f"  filtered hist. simulation   {summary['fhs_ms']:10.1f} ms")
    print(f"  stationary bootstrap (b={block:.2f}) {summary['bootstrap_ms']:7.1f} ms")
    print(f"  quantiles, VaR, drawdowns   {summary['quantiles_ms']:10.1f} ms")
    print(f"  total                       {summary['total_ms']:10.1f} ms")
    print(f"  portfolio value {v0:,.2f}")
    for label, fig, q in (("FHS", risk_fhs, q_fhs), ("bootstrap", risk_bs, q_bs)):
        print(f"  {label}: 1-day VaR95 {fig['var95_1d']:.4%} VaR99 {fig['var99_1d']:.4%} "
              f"CVaR95 {fig['cvar95_1d']:.4%} CVaR99 {fig['cvar99_1d']:.4%}")
        print(f"  {label}: 10-day VaR95 {fig['var95_10d']:.4%} VaR99 {fig['var99_10d']:.4%} "
              f"CVaR95 {fig['cvar95_10d']:.4%} CVaR99 {fig['cvar99_10d']:.4%}")
        print(f"  {label}: P(max drawdown > 10%) {fig['p_maxdd_10']:.4f}, "
              f"> 20% {fig['p_maxdd_20']:.4f}; day-250 value 1/50/99 % "
              f"{q[0, -1]:,.0f} / {q[4, -1]:,.0f} / {q[8, -1]:,.0f}")


if __name__ == "__main__":
    main()
