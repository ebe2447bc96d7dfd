"""Reference values for sextant-mlops (PSI, exact KS, PSR, the random-entry baseline, the paired
bootstrap) on fixed closed-form inputs, computed with numpy 2.4.6 and scipy 1.17.1:

    python3 scripts/mlops/reference.py > crates/sextant-mlops/tests/fixtures/mlops_reference.json

The pure-Python exact KS port is checked against scipy.stats.ks_2samp here; the Rust crate ports
the same algorithm and is checked against scipy's values in crates/sextant-mlops/tests/reference.rs.
"""
import json, math
import numpy as np
from scipy import stats

PHI = 0.6180339887498949
S2 = 0.41421356237309515
assert PHI == (math.sqrt(5) - 1) / 2 and S2 == math.sqrt(2) - 1
def frac_seq(n, a):
    x = np.arange(1, n + 1, dtype=np.float64) * a
    return x - np.floor(x)

# ---------------- PSI ----------------
def psi(ref, cur, B=10, eps=1e-4):
    ref = np.asarray(ref, float); cur = np.asarray(cur, float)
    edges = np.unique(np.quantile(ref, np.arange(1, B) / B))       # numpy 'linear' (type 7)
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1) / len(cur)
    r = np.where(r == 0, eps, r); c = np.where(c == 0, eps, c)
    return float(np.sum((c - r) * np.log(c / r))), edges, r, c

ref = frac_seq(1000, PHI)
cur0 = frac_seq(500, S2)
cases = {"unshifted": cur0, "shift_0.05": cur0 + 0.05, "shift_0.10": cur0 + 0.10,
         "shift_0.25": cur0 + 0.25, "scale_1.5": cur0 * 1.5}
out = {"psi": [], "ks": []}
edges = None
for name, cur in cases.items():
    p, edges, r, c = psi(ref, cur)
    k = stats.ks_2samp(ref, cur)
    out["psi"].append({"case": name, "psi": p, "cur_props": c.tolist()})
    out["ks"].append({"case": name, "n1": 1000, "n2": 500, "d": float(k.statistic), "p": float(k.pvalue)})
out["psi_edges"] = edges.tolist()

# ---------------- KS exact: a pure-python port checked against scipy ----------------
def ks_stat(a, b):
    a = np.sort(a); b = np.sort(b); allv = np.concatenate([a, b])
    d = np.searchsorted(a, allv, side="right") / len(a) - np.searchsorted(b, allv, side="right") / len(b)
    return max(float(d.max()), float(np.clip(-d.min(), 0, 1)))
def outside_square(n, h):
    P = 0.0; k = n // h
    while k >= 0:
        p1 = 1.0
        for j in range(h):
            p1 = (n - k * h - j) * p1 / (n + k * h + j + 1)
        P = p1 * (1.0 - P); k -= 1
    return 2 * P
def outer_inside(m, n, g, h):
    if m < n: m, n = n, m
    mg, ng = m // g, n // g
    minj, maxj = 0, min(math.ceil(h / mg), n + 1)
    curlen = maxj - minj
    lenA = min(2 * maxj + 2, n + 1)
    A = [1.0] * lenA
    for t in range(minj, maxj): A[t] = 0.0
    for i in range(1, m + 1):
        lastminj, lastlen = minj, curlen
        minj = max(math.floor((ng * i - h) / mg) + 1, 0); minj = min(minj, n)
        maxj = min(math.ceil((ng * i + h) / mg), n + 1)
        if maxj <= minj: return 1.0
        val = 0.0 if minj == 0 else 1.0
        for jj in range(maxj - minj):
            j = jj + minj
            val = (A[jj + minj - lastminj] * i + val * j) / (i + j)
            A[jj] = val
        curlen = maxj - minj
        if lastlen > curlen:
            for t in range(maxj - minj, maxj - minj + (lastlen - curlen)): A[t] = 1.0
    return A[maxj - minj - 1]
def ks_exact(a, b):
    n1, n2 = len(a), len(b); g = math.gcd(n1, n2); lcm = (n1 // g) * n2
    d = ks_stat(a, b); h = int(np.round(d * lcm)); d = h / lcm
    if h == 0: return d, 1.0
    p = outside_square(n1, h) if n1 == n2 else outer_inside(n1, n2, g, h)
    return d, min(max(p, 0.0), 1.0)

small_a = (np.floor(frac_seq(25, PHI) * 10) / 10).tolist()
small_b = (np.floor(frac_seq(15, S2) * 10) / 10 + 0.2).tolist()
ks_cases = [("small_ties_25_15", small_a, small_b),
            ("ref1000_vs_cur500", ref, cur0), ("ref1000_vs_cur500+0.10", ref, cur0 + 0.10),
            ("equal_500_500+0.05", frac_seq(500, PHI), cur0 + 0.05),
            ("ref1000_vs_cur500+0.25", ref, cur0 + 0.25)]
out["ks_exact_port"] = []
for name, a, b in ks_cases:
    k = stats.ks_2samp(a, b); d, p = ks_exact(np.asarray(a), np.asarray(b))
    out["ks_exact_port"].append({"case": name, "scipy_d": float(k.statistic), "scipy_p": float(k.pvalue),
                                 "port_d": d, "port_p": p, "rel_err": abs(p - k.pvalue) / max(k.pvalue, 1e-300)})
out["small_a"], out["small_b"] = small_a, small_b

# ---------------- PSR (Bailey & Lopez de Prado), sextant_tuning::overfit conventions ----------------
def moments(r):
    r = np.asarray(r, float); n = len(r); m = r.mean(); d = r - m
    m2, m3, m4 = (d**2).mean(), (d**3).mean(), (d**4).mean()
    sr = m / math.sqrt((d**2).sum() / (n - 1))
    return sr, m3 / m2**1.5, m4 / m2**2
def psr(sr, T, skew, kurt, sr_star):
    den = 1 - skew * sr + (kurt - 1) / 4 * sr * sr
    return float(stats.norm.cdf((sr - sr_star) * math.sqrt(T - 1) / math.sqrt(den)))
strat = 0.01 * (frac_seq(500, PHI) - 0.5) + 0.0005
bench = 0.012 * (frac_seq(500, S2) - 0.5) + 0.0003
sr, sk, ku = moments(strat); srb, _, _ = moments(bench)
# A skewed, fat-tailed case: cube of centred uniforms.
skewed = 0.05 * (frac_seq(252, PHI) - 0.45) ** 3 - 0.00045
s2r, s2k, s2u = moments(skewed)
out["psr"] = [
  {"case": "uniform500", "returns": "0.01*(frac((t+1)*PHI)-0.5)+0.0005, t=0..499", "sr": sr, "skew": sk, "kurt": ku,
   "psr_0": psr(sr, 500, sk, ku, 0.0), "bench_sr": srb, "psr_vs_bench": psr(sr, 500, sk, ku, srb)},
  {"case": "cubic252", "returns": "0.05*(frac((t+1)*PHI)-0.45)**3-0.00045, t=0..251", "sr": s2r, "skew": s2k, "kurt": s2u, "psr_005": psr(s2r, 252, s2k, s2u, 0.05),
   "psr_0": psr(s2r, 252, s2k, s2u, 0.0)}]

# ---------------- SplitMix64 (= sextant_quality::iforest::SplitMix) ----------------
M64 = (1 << 64) - 1
class SplitMix:
    def __init__(self, seed): self.s = seed & M64
    def next_u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64; z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)
    def below(self, n): return self.next_u64() % n
first = SplitMix(42); out["splitmix42_first3"] = [first.next_u64() for _ in range(3)]

# ---------------- random-entry baseline ----------------
N = 250
price_ret = 0.02 * (frac_seq(N - 1, PHI) - 0.5) + 0.0004          # L = N-1 return slots
L = len(price_ret)
trades = [(10, 25), (40, 47), (90, 130), (150, 160), (200, 230)]     # (entry_bar, exit_bar): holds slots entry..exit-1
durs = [e - s for s, e in trades]
COST = 0.001
def block_growth(start, d):
    return (1 - COST) ** 2 * float(np.prod(1 + price_ret[start:start + d]))
def total_of(blocks):
    g = 1.0
    for s, d in blocks: g *= block_growth(s, d)
    return g - 1
strat_total = total_of([(s, e - s) for s, e in trades])
def place(rng):
    K = len(durs); d = list(durs)
    for i in range(K - 1, 0, -1):               # Fisher-Yates on the durations
        j = rng.below(i + 1); d[i], d[j] = d[j], d[i]
    F = L - sum(d); M = F + K
    chosen = set()
    for j in range(M - K, M):                   # Floyd: K distinct values in 0..M-1
        t = rng.below(j + 1)
        chosen.add(j if t in chosen else t)
    c = sorted(chosen); blocks = []; used = 0
    for k in range(K):
        blocks.append((c[k] - k + used, d[k])); used += d[k]
    return blocks
rng = SplitMix(42); NSIM = 1000; totals = []; first_blocks = None
for s in range(NSIM):
    b = place(rng)
    if s == 0: first_blocks = b
    for (s0, d0), (s1, d1) in zip(b, b[1:]): assert s0 + d0 <= s1
    assert b[-1][0] + b[-1][1] <= L
    totals.append(total_of(b))
totals = np.array(totals)
out["random_entry"] = {
  "price_returns": "0.02*(frac((t+1)*PHI)-0.5)+0.0004, t=0..248 (L=249 slots)", "trades": trades, "cost_per_side": COST,
  "seed": 42, "n_sims": NSIM, "first_sim_blocks": first_blocks, "strategy_total": strat_total,
  "mean": float(totals.mean()), "median": float(np.median(totals)),
  "p05": float(np.quantile(totals, 0.05)), "p95": float(np.quantile(totals, 0.95)),
  "count_ge_strategy": int((totals >= strat_total).sum()),
  "p_value": float((1 + (totals >= strat_total).sum()) / (NSIM + 1)),
  "first5_totals": totals[:5].tolist()}

# ---------------- bootstrap CI of differences (paired iid) ----------------
s_mask = np.zeros(L)
for s, e in trades: s_mask[s:e] = 1
s_ret = s_mask * price_ret
b_ret = price_ret.copy()
rng = SplitMix(7); B = 2000; dm, dsr = [], []
def sr1(x): return x.mean() / x.std(ddof=1)
for _ in range(B):
    idx = np.array([rng.below(L) for _ in range(L)])
    a, b = s_ret[idx], b_ret[idx]
    dm.append(a.mean() - b.mean()); dsr.append(sr1(a) - sr1(b))
dm, dsr = np.array(dm), np.array(dsr)
out["bootstrap"] = {"seed": 7, "B": B, "strategy": "exposure mask of the trades above x price_returns (no cost)",
  "mean_diff": float(s_ret.mean() - b_ret.mean()), "mean_diff_ci": [float(np.quantile(dm, .025)), float(np.quantile(dm, .975))],
  "sharpe_diff": float(sr1(s_ret) - sr1(b_ret)), "sharpe_diff_ci": [float(np.quantile(dsr, .025)), float(np.quantile(dsr, .975))],
  "share_le_0_sharpe": float((dsr <= 0).mean())}
print(json.dumps(out, indent=1))
