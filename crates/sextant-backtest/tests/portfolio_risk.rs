//! The risk models of `portfolio`: the Ledoit–Wolf covariance against scikit-learn's
//! `LedoitWolf().fit(x)` (golden written by `scripts/golden/make_ledoit_wolf_golden.py`: real
//! returns of the bundled US sample and of PSE stocks, one asset, more assets than
//! observations) to 1e-12 relative; and properties of the weightings built on it (risk parity
//! equalises risk contributions, mean-variance satisfies its KKT conditions and beats feasible
//! alternatives, capping keeps the sum, the turnover budget holds).

use serde_json::Value;
use sextant_backtest::portfolio::{
    capped, ledoit_wolf, mean_variance, risk_contributions, risk_parity, within_turnover,
};

fn golden() -> Value {
    serde_json::from_str(include_str!("golden/ledoit_wolf.json")).expect("golden")
}

fn case<'a>(g: &'a Value, name: &str) -> &'a Value {
    g["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("case {name}"))
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|x| x.as_f64().expect("number"))
                .collect()
        })
        .collect()
}

/// 1e-12 relative, 1e-15 absolute floor.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= (1e-12 * a.abs().max(b.abs())).max(1e-15)
}

/// `cov · w` for a row-major `n × n` matrix.
fn times(cov: &[f64], w: &[f64]) -> Vec<f64> {
    let n = w.len();
    (0..n)
        .map(|i| (0..n).map(|j| cov[i * n + j] * w[j]).sum())
        .collect()
}

/// `μᵀw − (λ/2) wᵀΣw`.
fn objective(mu: &[f64], cov: &[f64], lambda: f64, w: &[f64]) -> f64 {
    let sw = times(cov, w);
    let ret: f64 = mu.iter().zip(w).map(|(a, b)| a * b).sum();
    let var: f64 = w.iter().zip(&sw).map(|(a, b)| a * b).sum();
    ret - lambda / 2.0 * var
}

/// A tiny deterministic generator (Knuth's MMIX LCG), uniform in [0, 1) from the top 53 bits.
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn ledoit_wolf_equals_scikit_learn() {
    let g = golden();
    let cases = g["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 4, "cases");
    for c in cases {
        let name = c["name"].as_str().expect("name");
        let x = matrix(&c["x"]);
        let want: Vec<f64> = matrix(&c["cov"]).into_iter().flatten().collect();
        let n = x[0].len();
        assert_eq!(want.len(), n * n, "{name}: golden shape");
        let (cov, shrinkage) = ledoit_wolf(&x);
        assert_eq!(cov.len(), n * n, "{name}: shape");
        for (k, (a, b)) in cov.iter().zip(&want).enumerate() {
            assert!(
                close(*a, *b),
                "{name}: cov[{}][{}] {a} vs scikit-learn {b}",
                k / n,
                k % n
            );
        }
        let s = c["shrinkage"].as_f64().expect("shrinkage");
        assert!(
            close(shrinkage, s),
            "{name}: shrinkage {shrinkage} vs scikit-learn {s}"
        );
    }
    // One asset: nothing to shrink toward.
    assert_eq!(case(&g, "single")["shrinkage"].as_f64(), Some(0.0));
    assert_eq!(ledoit_wolf(&matrix(&case(&g, "single")["x"])).1, 0.0);
}

/// The case-2 (12 PSE stocks, 120 returns) covariance as scikit-learn computed it.
fn pse_cov() -> (Vec<f64>, usize) {
    let g = golden();
    let cov: Vec<f64> = matrix(&case(&g, "pse_12x120")["cov"])
        .into_iter()
        .flatten()
        .collect();
    let n = (cov.len() as f64).sqrt() as usize;
    assert_eq!(n * n, cov.len());
    (cov, n)
}

#[test]
fn risk_parity_equalises_risk_contributions() {
    let (cov, n) = pse_cov();
    let w = risk_parity(&cov, n);
    assert_eq!(w.len(), n);
    let sum: f64 = w.iter().sum();
    assert!((sum - 1.0).abs() <= 1e-12, "weights sum to {sum}");
    assert!(w.iter().all(|v| *v > 0.0), "weights {w:?}");
    let rc = risk_contributions(&w, &cov);
    for (i, r) in rc.iter().enumerate() {
        assert!(
            (r - 1.0 / n as f64).abs() <= 1e-9,
            "name {i} contributes {r}, not 1/{n}"
        );
    }
    // Not trivially equal weights: the names' volatilities differ.
    let spread = w.iter().copied().fold(0.0, f64::max) - w.iter().copied().fold(1.0, f64::min);
    assert!(
        spread > 1e-3,
        "risk parity returned (nearly) equal weights {w:?}"
    );
}

#[test]
fn mean_variance_is_optimal() {
    let (cov, n) = pse_cov();
    let (lambda, cap) = (5.0, 0.2);
    let mu: Vec<f64> = (0..n)
        .map(|i| 0.001 * (i as f64 - n as f64 / 2.0) / n as f64)
        .collect();
    let w = mean_variance(&mu, &cov, lambda, cap, 1.0);
    assert_eq!(w.len(), n);

    // Feasible.
    let sum: f64 = w.iter().sum();
    assert!((sum - 1.0).abs() <= 1e-9, "weights sum to {sum}");
    for (i, v) in w.iter().enumerate() {
        assert!((0.0..=cap + 1e-12).contains(v), "name {i}: weight {v}");
    }

    // KKT: g = μ − λΣw is the same (ν) for every name strictly inside (0, cap), at most ν for
    // names at 0 and at least ν for names at the cap.
    let sw = times(&cov, &w);
    let grad: Vec<f64> = (0..n).map(|i| mu[i] - lambda * sw[i]).collect();
    let inside: Vec<usize> = (0..n)
        .filter(|&i| w[i] > 1e-9 && w[i] < cap - 1e-9)
        .collect();
    assert!(
        !inside.is_empty(),
        "no name strictly inside the bounds: {w:?}"
    );
    let nu = inside.iter().map(|&i| grad[i]).sum::<f64>() / inside.len() as f64;
    for &i in &inside {
        assert!(
            (grad[i] - nu).abs() <= 1e-7,
            "inside name {i}: gradient {} vs ν {nu}",
            grad[i]
        );
    }
    for (i, (&wi, &gi)) in w.iter().zip(&grad).enumerate() {
        if wi <= 1e-9 {
            assert!(gi <= nu + 1e-7, "name {i} at 0: gradient {gi} > ν {nu}");
        } else if wi >= cap - 1e-9 {
            assert!(
                gi >= nu - 1e-7,
                "name {i} at the cap: gradient {gi} < ν {nu}"
            );
        }
    }

    // Brute check: no feasible point we can find does better.
    let best = objective(&mu, &cov, lambda, &w);
    let equal = vec![1.0 / n as f64; n];
    assert!(
        best >= objective(&mu, &cov, lambda, &equal),
        "equal weights beat the optimiser"
    );
    let mut rng = Lcg(0x2545_f491_4f6c_dd1d);
    let mut kept = 0;
    for _ in 0..200 {
        // Skewed draws, clipped to [0, cap], rescaled to sum 1; kept when still feasible.
        let p: Vec<f64> = (0..n)
            .map(|_| rng.uniform().powi(4).clamp(0.0, cap))
            .collect();
        let s: f64 = p.iter().sum();
        if s <= 0.0 {
            continue;
        }
        let p: Vec<f64> = p.into_iter().map(|v| v / s).collect();
        if p.iter().any(|v| *v > cap + 1e-12) {
            continue;
        }
        kept += 1;
        let o = objective(&mu, &cov, lambda, &p);
        assert!(best >= o - 1e-15, "random point {p:?} scores {o} > {best}");
    }
    assert!(kept >= 50, "only {kept} random points were feasible");
    // Local moves: shift a little weight from one name to another (feasible by construction).
    let eps = 1e-4;
    let mut moves = 0;
    let pairs = (0..n).flat_map(|i| (0..n).map(move |j| (i, j)));
    for (i, j) in pairs {
        if i == j || w[i] < eps || w[j] > cap - eps {
            continue;
        }
        let mut p = w.clone();
        p[i] -= eps;
        p[j] += eps;
        moves += 1;
        let o = objective(&mu, &cov, lambda, &p);
        assert!(
            best >= o - 1e-15,
            "moving {eps} from {i} to {j} scores {o} > {best}"
        );
    }
    assert!(moves > 0, "no local move tried");
}

#[test]
fn capping_keeps_the_sum_and_the_cap() {
    let mut rng = Lcg(42);
    for trial in 0..500 {
        let n = 2 + (rng.uniform() * 40.0) as usize;
        // Strictly positive entries (a zero weight receives none of the excess, by design).
        let w: Vec<f64> = (0..n).map(|_| 1e-6 + rng.uniform().powi(3)).collect();
        let sum: f64 = w.iter().sum();
        // A cap anywhere from the tightest feasible (sum / n) to above the largest weight.
        let cap = sum / n as f64 * (1.0 + 3.0 * rng.uniform());
        assert!(cap * n as f64 >= sum);
        let out = capped(w.clone(), cap);
        assert_eq!(out.len(), n);
        let got: f64 = out.iter().sum();
        assert!(
            (got - sum).abs() <= 1e-12 * sum,
            "trial {trial}: sum {sum} became {got} (cap {cap}, n {n})"
        );
        for (k, v) in out.iter().enumerate() {
            assert!(
                *v <= cap + 1e-12,
                "trial {trial}: entry {k} = {v} over cap {cap}"
            );
            assert!(
                *v >= w[k].min(cap) - 1e-12,
                "trial {trial}: entry {k} shrank below its own weight"
            );
        }
    }
    // The textbook case: 0.5 capped at 0.25 hands its excess to the rest in proportion.
    let out = capped(vec![0.5, 0.3, 0.1, 0.05, 0.05], 0.25);
    assert!((out.iter().sum::<f64>() - 1.0).abs() <= 1e-12, "{out:?}");
    assert!(out.iter().all(|v| *v <= 0.25 + 1e-12), "{out:?}");
    // Infeasible cap: everything at the cap, the rest stays cash.
    let out = capped(vec![0.6, 0.4], 0.3);
    assert!(out.iter().all(|v| (*v - 0.3).abs() <= 1e-15), "{out:?}");
}

#[test]
fn turnover_budget_holds() {
    let mut rng = Lcg(7);
    for trial in 0..500 {
        let n = 1 + (rng.uniform() * 30.0) as usize;
        // Current weights: some names not held.
        let old: Vec<f64> = (0..n)
            .map(|_| {
                if rng.uniform() < 0.3 {
                    0.0
                } else {
                    rng.uniform()
                }
            })
            .collect();
        // Targets complete over every name held or wanted.
        let mut new: Vec<(usize, f64)> = (0..n)
            .filter_map(|s| {
                let want = if rng.uniform() < 0.3 {
                    0.0
                } else {
                    rng.uniform()
                };
                (want != 0.0 || old[s] != 0.0).then_some((s, want))
            })
            .collect();
        let before: f64 = new.iter().map(|(s, w)| (w - old[*s]).abs()).sum();
        let budget = 2.0 * rng.uniform() + 1e-6;
        let target = new.clone();
        within_turnover(&old, &mut new, budget);
        let after: f64 = new.iter().map(|(s, w)| (w - old[*s]).abs()).sum();
        assert!(
            after <= budget + 1e-12,
            "trial {trial}: turnover {after} over budget {budget}"
        );
        if before <= budget {
            assert_eq!(new, target, "trial {trial}: within budget yet changed");
        } else {
            assert!(
                (after - budget).abs() <= 1e-12,
                "trial {trial}: scaled turnover {after}, budget {budget} (wasted)"
            );
        }
    }
    // A budget of 0 is no budget.
    let mut new = vec![(0, 1.0)];
    within_turnover(&[0.0], &mut new, 0.0);
    assert_eq!(new, vec![(0, 1.0)]);
}
