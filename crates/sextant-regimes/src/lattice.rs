//! The forward–backward kernels of the Gaussian HMM, on flat buffers reused across EM
//! iterations.
//!
//! The number of states is a const generic (dispatched once per pass for 1 to 8 states), so the
//! per-row loops over states are fully unrolled and free of bounds checks; together with the
//! fused backward sweep (β, γ, ξ and the M-step statistics in one pass, two β rows kept) and
//! reused buffers, this is what makes an EM iteration several times cheaper than hmmlearn's.

use crate::gaussian::{GaussianStats, Rows};
use crate::linalg::{exp_nonpositive, LogDensity};
use crate::RegimeError;

/// The buffers of one forward pass, `t × k` each (reused: allocating them per EM iteration
/// costs a page fault per 4 KiB on every iteration).
#[derive(Debug, Default)]
pub(crate) struct Lattice {
    /// p(state_t | rows 0..=t), `t × k`.
    pub(crate) alpha: Vec<f64>,
    /// Emission densities divided by their row's largest, `t × k`.
    pub(crate) e: Vec<f64>,
    /// Each row's largest log emission density (what `e` is scaled by).
    pub(crate) m: Vec<f64>,
    /// 1 / each row's scale (the predicted density of the row, in `e`'s units).
    pub(crate) inv_c: Vec<f64>,
    /// p(state_t | all rows), `t × k`, after [`backward`].
    pub(crate) gamma: Vec<f64>,
    /// Total log-likelihood of the rows.
    pub(crate) log_likelihood: f64,
}

/// What the backward sweep produces besides the statistics it adds to.
pub(crate) struct Backward {
    /// p(state_0 | all rows).
    pub(crate) gamma0: Vec<f64>,
    /// Expected transition counts, `k × k`.
    pub(crate) xi: Vec<f64>,
}

/// The model's parameters as the kernels read them.
pub(crate) struct Params<'a> {
    pub(crate) start: &'a [f64],
    pub(crate) trans: &'a [f64],
    pub(crate) dens: &'a [LogDensity],
}

macro_rules! dispatch {
    ($k:expr, $f:ident, $($arg:expr),*) => {
        match $k {
            1 => $f::<1>($($arg),*),
            2 => $f::<2>($($arg),*),
            3 => $f::<3>($($arg),*),
            4 => $f::<4>($($arg),*),
            5 => $f::<5>($($arg),*),
            6 => $f::<6>($($arg),*),
            7 => $f::<7>($($arg),*),
            8 => $f::<8>($($arg),*),
            k => Err(RegimeError::Config(format!("states must be 1 to 8, got {k}"))),
        }
    };
}

/// The scaled forward pass into `lat`. Row `t`'s probabilities read rows `0..=t` only: each
/// row's emission densities are divided by their largest (no underflow), the predicted
/// probabilities multiplied in and renormalised.
pub(crate) fn forward(p: &Params<'_>, x: &Rows, lat: &mut Lattice) -> Result<(), RegimeError> {
    let k = p.dens.len();
    let n = x.len();
    lat.alpha.resize(n * k, 0.0);
    lat.e.resize(n * k, 0.0);
    lat.m.resize(n, 0.0);
    lat.inv_c.resize(n, 0.0);
    match x.d() {
        1 => emissions::<1>(p.dens, x, &mut lat.e),
        2 => emissions::<2>(p.dens, x, &mut lat.e),
        3 => emissions::<3>(p.dens, x, &mut lat.e),
        4 => emissions::<4>(p.dens, x, &mut lat.e),
        d => {
            let mut work = vec![0.0; d];
            for (t, et) in lat.e.chunks_exact_mut(k).enumerate() {
                let row = x.row(t);
                for (v, dj) in et.iter_mut().zip(p.dens) {
                    *v = dj.eval(row, &mut work);
                }
            }
        }
    }
    scale_exp(&mut lat.e, &mut lat.m, k);
    lat.log_likelihood = dispatch!(k, forward_k, p, lat)?;
    Ok(())
}

/// Scales each row of log densities by its largest (into `m`) and exponentiates, in a pass
/// that vectorises. Compiled twice, for AVX2 (chosen at run time when the CPU has it) and the
/// baseline: the same IEEE operations on wider lanes, so both give the same bits.
fn scale_exp(e: &mut [f64], m: &mut [f64], k: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { scale_exp_avx2(e, m, k) };
        return;
    }
    scale_exp_body(e, m, k);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scale_exp_avx2(e: &mut [f64], m: &mut [f64], k: usize) {
    scale_exp_body(e, m, k);
}

#[inline(always)]
fn scale_exp_body(e: &mut [f64], m: &mut [f64], k: usize) {
    for (et, m) in e.chunks_exact_mut(k).zip(m.iter_mut()) {
        *m = et.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        et.iter_mut().for_each(|v| *v -= *m);
    }
    for v in e.iter_mut() {
        *v = exp_nonpositive(*v);
    }
}

/// ln N(x_t; state j) into `e` (`t × k`), for rows of `D` features.
fn emissions<const D: usize>(dens: &[LogDensity], x: &Rows, e: &mut [f64]) {
    let k = dens.len();
    for (row, et) in x.fixed::<D>().zip(e.chunks_exact_mut(k)) {
        for (v, dj) in et.iter_mut().zip(dens) {
            *v = dj.eval_d::<D>(row);
        }
    }
}

fn forward_k<const K: usize>(p: &Params<'_>, lat: &mut Lattice) -> Result<f64, RegimeError> {
    let mut tr = [[0.0; K]; K];
    for (i, row) in p.trans.chunks_exact(K).enumerate() {
        tr[i].copy_from_slice(row);
    }
    let mut prev = [0.0; K];
    // ln Π sum_t is taken a batch at a time (a log per row is a tenth of the pass), and the
    // rows' maxima are summed apart.
    let (mut sum_m, mut prod, mut logs) = (0.0, 1.0f64, 0.0);
    let rows = lat
        .e
        .chunks_exact(K)
        .zip(lat.alpha.chunks_exact_mut(K))
        .zip(lat.inv_c.iter_mut().zip(&lat.m));
    for (t, ((et, at), (ic, &m))) in rows.enumerate() {
        let mut cur = [0.0; K];
        if t == 0 {
            cur.copy_from_slice(p.start);
        } else {
            for i in 0..K {
                for j in 0..K {
                    cur[j] += prev[i] * tr[i][j];
                }
            }
        }
        let mut sum = 0.0;
        for j in 0..K {
            cur[j] *= et[j];
            sum += cur[j];
        }
        if !(sum > 0.0 && sum.is_finite()) {
            return Err(RegimeError::Data(format!(
                "row {t} is impossible under every state the model can be in"
            )));
        }
        let inv = 1.0 / sum;
        for c in cur.iter_mut() {
            *c *= inv;
        }
        at.copy_from_slice(&cur);
        prev = cur;
        *ic = inv;
        sum_m += m;
        prod *= sum;
        if !(1e-150..=1e150).contains(&prod) {
            logs += prod.ln();
            prod = 1.0;
        }
    }
    Ok(logs + prod.ln() + sum_m)
}

/// One backward sweep over a forward lattice: β, the smoothed probabilities γ (into
/// `lat.gamma`) and ξ; then the Gaussian statistics under γ added to `stats`.
pub(crate) fn backward(
    p: &Params<'_>,
    x: &Rows,
    lat: &mut Lattice,
    stats: &mut GaussianStats,
) -> Result<Backward, RegimeError> {
    let k = p.dens.len();
    let mut gamma = std::mem::take(&mut lat.gamma);
    gamma.resize(lat.inv_c.len() * k, 0.0);
    let out = dispatch!(k, backward_k, p.trans, lat, &mut gamma);
    stats.add_all(x, &gamma);
    lat.gamma = gamma;
    out
}

fn backward_k<const K: usize>(
    trans: &[f64],
    lat: &Lattice,
    gamma: &mut [f64],
) -> Result<Backward, RegimeError> {
    let mut tr = [[0.0; K]; K];
    for (i, row) in trans.chunks_exact(K).enumerate() {
        tr[i].copy_from_slice(row);
    }
    let n = lat.inv_c.len();
    let mut beta = [1.0; K];
    let mut g = [0.0; K];
    let mut xi = [[0.0; K]; K];
    for t in (0..n).rev() {
        let a = &lat.alpha[t * K..(t + 1) * K];
        let mut s = 0.0;
        for j in 0..K {
            g[j] = a[j] * beta[j];
            s += g[j];
        }
        let inv = 1.0 / s;
        for v in g.iter_mut() {
            *v *= inv;
        }
        gamma[t * K..(t + 1) * K].copy_from_slice(&g);
        if t == 0 {
            break;
        }
        // β_{t-1,i} = Σ_j trans_ij · e_tj · β_tj / c_t; ξ_ij gathers α_{t-1,i} times the same
        // product without trans_ij, which multiplies in once at the end.
        let ic = lat.inv_c[t];
        let et = &lat.e[t * K..(t + 1) * K];
        let mut eb = [0.0; K];
        for j in 0..K {
            eb[j] = et[j] * beta[j] * ic;
        }
        let prev = &lat.alpha[(t - 1) * K..t * K];
        let mut next = [0.0; K];
        for i in 0..K {
            let ai = prev[i];
            let mut acc = 0.0;
            for j in 0..K {
                acc += tr[i][j] * eb[j];
                xi[i][j] += ai * eb[j];
            }
            next[i] = acc;
        }
        beta = next;
    }
    let mut flat = Vec::with_capacity(K * K);
    for i in 0..K {
        for j in 0..K {
            flat.push(xi[i][j] * tr[i][j]);
        }
    }
    Ok(Backward {
        gamma0: g.to_vec(),
        xi: flat,
    })
}
