//! Time-series kernels over one symbol's prepared bars, in one pass per feature.
//!
//! NULL is NaN here (the store writes NaN as NULL, and panels read NULL as NaN). Where DuckDB
//! would take the logarithm of a non-positive or infinite ratio (a zero or negative price,
//! which only unchecked data holds) the value is NULL rather than the error DuckDB raises.

use super::Kernel;
use std::borrow::Cow;

/// One symbol's bars in time order, prices adjusted by the total-return factor and volume by
/// the split factor (the prepared columns `c, o, h, l, v` of the SQL view). Borrowed from the
/// rows read when no adjustment applies and the rows are stored in time order (the common
/// case), copied otherwise.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prepared<'a> {
    /// Adjusted open.
    pub o: Cow<'a, [f64]>,
    /// Adjusted high.
    pub h: Cow<'a, [f64]>,
    /// Adjusted low.
    pub l: Cow<'a, [f64]>,
    /// Adjusted close.
    pub c: Cow<'a, [f64]>,
    /// Split-adjusted volume.
    pub v: Cow<'a, [f64]>,
    /// The session date of each bar, days since 1970-01-01.
    pub session: Cow<'a, [i32]>,
}

fn ln_ratio(a: f64, b: f64) -> f64 {
    let x = a / b;
    if x > 0.0 && x.is_finite() {
        x.ln()
    } else {
        f64::NAN
    }
}

/// The mean of `x` over the last `n` values ending at each row, NaN before row `first - 1`
/// (`first` is the 1-based position of the first row with `n` values, as the SQL's `rn`).
/// Sums are compensated (Neumaier), so a long series does not drift from the direct sum, and a
/// window of one repeated value is that value exactly (so a run of zero losses is exactly 0,
/// as the SQL's, and never a residue of earlier additions and removals).
///
/// `out` is cleared and refilled (a buffer reused across symbols, see [`Pool`]).
fn rolling_mean_into(x: &[f64], n: usize, first: usize, out: &mut Vec<f64>) {
    out.clear();
    out.resize(x.len(), f64::NAN);
    if n == 0 {
        return;
    }
    let (mut sum, mut comp) = (0.0f64, 0.0f64);
    let add = |sum: &mut f64, comp: &mut f64, v: f64| {
        let t = *sum + v;
        if sum.abs() >= v.abs() {
            *comp += (*sum - t) + v;
        } else {
            *comp += (v - t) + *sum;
        }
        *sum = t;
    };
    let mut run = 0usize;
    for i in 0..x.len() {
        run = if i > 0 && x[i] == x[i - 1] {
            run + 1
        } else {
            1
        };
        // Values before the warm-up may be NaN (r1 on the first row): they never enter a
        // reported window, so they are treated as 0 in the running sum.
        let v = if x[i].is_nan() { 0.0 } else { x[i] };
        add(&mut sum, &mut comp, v);
        if i >= n {
            let old = if x[i - n].is_nan() { 0.0 } else { x[i - n] };
            add(&mut sum, &mut comp, -old);
        }
        if i + 1 >= first.max(n) {
            out[i] = if run >= n {
                x[i]
            } else {
                (sum + comp) / n as f64
            };
        }
    }
}

/// The sample standard deviation of `x` over the last `n` values into `out` (NaN where
/// undefined), from the window's mean and the window's squared deviations summed directly (no
/// running sum of squares, whose cancellation loses digits on large values such as volume).
fn rolling_std_into(x: &[f64], n: usize, first: usize, mean: &[f64], out: &mut [f64]) {
    out.fill(f64::NAN);
    if n < 2 {
        return;
    }
    for i in (first.max(n) - 1)..x.len() {
        let m = mean[i];
        let ss: f64 = x[i + 1 - n..=i].iter().map(|v| (v - m) * (v - m)).sum();
        out[i] = (ss / (n - 1) as f64).sqrt();
    }
}

/// Series buffers kept by one worker across the symbols it computes, so a symbol's derived
/// series and rolling means reuse the pages of the previous symbol's instead of faulting in
/// fresh ones (at 10M rows that was ~1 GB of scratch allocated and released).
pub(crate) type Pool = Vec<Vec<f64>>;

/// A buffer from `pool` (or a new one), cleared.
fn take(pool: &mut Pool) -> Vec<f64> {
    let mut v = pool.pop().unwrap_or_default();
    v.clear();
    v
}

/// Lazily built series shared by several kernels of one symbol; its buffers go back to the
/// worker's pool when dropped.
struct Scratch<'p, 'a, 'q> {
    p: &'p Prepared<'a>,
    pool: &'q mut Pool,
    r1: Option<Vec<f64>>,
    gain_loss: Option<(Vec<f64>, Vec<f64>)>,
    tr: Option<Vec<f64>>,
    means: Vec<((u8, usize), Vec<f64>)>,
}

impl Drop for Scratch<'_, '_, '_> {
    fn drop(&mut self) {
        let pool = &mut *self.pool;
        pool.extend(self.r1.take());
        if let Some((g, l)) = self.gain_loss.take() {
            pool.push(g);
            pool.push(l);
        }
        pool.extend(self.tr.take());
        pool.extend(self.means.drain(..).map(|(_, v)| v));
    }
}

const C: u8 = 0;
const V: u8 = 1;
const TR: u8 = 2;
const R1: u8 = 3;
const GAIN: u8 = 4;
const LOSS: u8 = 5;

impl Scratch<'_, '_, '_> {
    /// Builds the derived series `which` needs (r1, gains and losses, true range) once.
    fn ensure(&mut self, which: u8) {
        let p = self.p;
        let (c, m) = (&p.c, p.c.len());
        match which {
            R1 if self.r1.is_none() => {
                let mut r = take(self.pool);
                r.extend((0..m).map(|i| {
                    if i == 0 {
                        f64::NAN
                    } else {
                        ln_ratio(c[i], c[i - 1])
                    }
                }));
                self.r1 = Some(r);
            }
            GAIN | LOSS if self.gain_loss.is_none() => {
                let (mut g, mut l) = (take(self.pool), take(self.pool));
                let first = usize::from(m > 0);
                g.extend(std::iter::repeat_n(f64::NAN, first));
                l.extend(std::iter::repeat_n(f64::NAN, first));
                g.extend(c.windows(2).map(|w| (w[1] - w[0]).max(0.0)));
                l.extend(c.windows(2).map(|w| (w[0] - w[1]).max(0.0)));
                self.gain_loss = Some((g, l));
            }
            TR if self.tr.is_none() => {
                let mut tr = take(self.pool);
                tr.extend((0..m).map(|i| {
                    let hl = p.h[i] - p.l[i];
                    if i == 0 {
                        // DuckDB's greatest() skips the NULL previous close.
                        hl
                    } else {
                        let pc = c[i - 1];
                        hl.max((p.h[i] - pc).abs()).max((p.l[i] - pc).abs())
                    }
                }));
                self.tr = Some(tr);
            }
            _ => {}
        }
    }

    /// A source series (after [`Scratch::ensure`]).
    fn get(&self, which: u8) -> &[f64] {
        match which {
            C => &self.p.c,
            V => &self.p.v,
            TR => self.tr.as_deref().unwrap_or(&[]),
            R1 => self.r1.as_deref().unwrap_or(&[]),
            GAIN => self.gain_loss.as_ref().map_or(&[][..], |g| &g.0),
            _ => self.gain_loss.as_ref().map_or(&[][..], |g| &g.1),
        }
    }

    /// The index in `means` of the rolling mean of a source series, NULL until its SQL
    /// `rn >= first` holds.
    fn mean(&mut self, which: u8, n: u32) -> usize {
        let n = n as usize;
        if let Some(i) = self.means.iter().position(|(k, _)| *k == (which, n)) {
            return i;
        }
        self.ensure(which);
        let mut m = take(self.pool);
        rolling_mean_into(self.get(which), n, first(which, n), &mut m);
        self.means.push(((which, n), m));
        self.means.len() - 1
    }

    /// The rolling sample standard deviation of a source series into `out`.
    fn std_into(&mut self, which: u8, n: u32, out: &mut [f64]) {
        let i = self.mean(which, n);
        rolling_std_into(
            self.get(which),
            n as usize,
            first(which, n as usize),
            &self.means[i].1,
            out,
        );
    }
}

/// The SQL's `first` row of a rolling window: one later for series built on the previous
/// close.
fn first(which: u8, n: usize) -> usize {
    n + usize::from(matches!(which, R1 | GAIN | LOSS))
}

/// ISO day of week (1 = Monday) of a day count since 1970-01-01 (a Thursday).
fn isodow(days: i32) -> f64 {
    ((days as i64 + 3).rem_euclid(7) + 1) as f64
}

/// Calendar month of a day count since 1970-01-01.
fn month(days: i32) -> f64 {
    f64::from(sextant_domain::dates::civil_from_days(i64::from(days)).1)
}

/// Computes the time-series `kernels` over one symbol into `out` (one slice per kernel, each
/// as long as the symbol's rows); cross-sectional ones are left untouched and written by
/// [`super::ranks::cross_sectional_ranks_into`]. Scratch series are taken from and returned to
/// `pool`.
pub(crate) fn compute_series_into(
    kernels: &[Kernel],
    p: &Prepared<'_>,
    out: &mut [&mut [f64]],
    pool: &mut Pool,
) {
    let m = p.c.len();
    let mut s = Scratch {
        p,
        pool,
        r1: None,
        gain_loss: None,
        tr: None,
        means: Vec::new(),
    };
    let c = &p.c;
    for (k, o) in kernels.iter().zip(out.iter_mut()) {
        let o: &mut [f64] = o;
        match k {
            Kernel::Ret1 => {
                s.ensure(R1);
                o.copy_from_slice(s.get(R1));
            }
            Kernel::LogRet(k) => {
                let k = *k as usize;
                for i in 0..m {
                    o[i] = if i >= k {
                        ln_ratio(c[i], c[i - k])
                    } else {
                        f64::NAN
                    };
                }
            }
            Kernel::Vol(n) => s.std_into(R1, *n, o),
            Kernel::Rsi(n) => {
                let (gi, li) = (s.mean(GAIN, *n), s.mean(LOSS, *n));
                let (g, l) = (&s.means[gi].1, &s.means[li].1);
                for i in 0..m {
                    o[i] = if l[i] == 0.0 {
                        if g[i] == 0.0 {
                            50.0
                        } else {
                            100.0
                        }
                    } else {
                        100.0 - 100.0 / (1.0 + g[i] / l[i])
                    };
                }
            }
            Kernel::SmaRatio(a, b) => {
                let (ai, bi) = (s.mean(C, *a), s.mean(C, *b));
                let (x, y) = (&s.means[ai].1, &s.means[bi].1);
                for i in 0..m {
                    o[i] = x[i] / y[i] - 1.0;
                }
            }
            Kernel::CloseSma(n) => {
                let i = s.mean(C, *n);
                let x = &s.means[i].1;
                for i in 0..m {
                    o[i] = c[i] / x[i] - 1.0;
                }
            }
            Kernel::VolumeZ(n) => {
                s.std_into(V, *n, o);
                let i = s.mean(V, *n);
                let mean = &s.means[i].1;
                for i in 0..m {
                    o[i] = if o[i] == 0.0 {
                        f64::NAN
                    } else {
                        (p.v[i] - mean[i]) / o[i]
                    };
                }
            }
            Kernel::Atr(n) => {
                let i = s.mean(TR, *n);
                let x = &s.means[i].1;
                for i in 0..m {
                    o[i] = x[i] / c[i];
                }
            }
            Kernel::Range => {
                for i in 0..m {
                    o[i] = (p.h[i] - p.l[i]) / c[i];
                }
            }
            Kernel::Gap => {
                for i in 0..m {
                    o[i] = if i > 0 {
                        ln_ratio(p.o[i], c[i - 1])
                    } else {
                        f64::NAN
                    };
                }
            }
            Kernel::DayOfWeek => {
                for (o, &d) in o.iter_mut().zip(p.session.iter()) {
                    *o = isodow(d);
                }
            }
            Kernel::Month => {
                // Consecutive bars share a session: convert each day once.
                let mut last = None;
                for (o, &d) in o.iter_mut().zip(p.session.iter()) {
                    *o = match last {
                        Some((day, m)) if day == d => m,
                        _ => {
                            let m = month(d);
                            last = Some((d, m));
                            m
                        }
                    };
                }
            }
            // Written by the cross-sectional step, which writes every row.
            Kernel::CsRank(_) => {}
        }
    }
}

/// [`compute_series_into`] into new columns.
#[cfg(test)]
pub(crate) fn compute_series(kernels: &[Kernel], p: &Prepared<'_>) -> Vec<Vec<f64>> {
    let mut cols = vec![vec![f64::NAN; p.c.len()]; kernels.len()];
    let mut slices: Vec<&mut [f64]> = cols.iter_mut().map(|c| c.as_mut_slice()).collect();
    compute_series_into(kernels, p, &mut slices, &mut Pool::new());
    cols
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate};

    #[test]
    fn calendar_matches_chrono() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        for d in (-40_000..60_000).step_by(7) {
            let date = epoch + chrono::Duration::days(d as i64);
            assert_eq!(
                isodow(d),
                date.weekday().number_from_monday() as f64,
                "{date}"
            );
            assert_eq!(month(d), date.month() as f64, "{date}");
        }
    }

    #[test]
    fn rolling_windows_match_direct_sums() {
        let x: Vec<f64> = (0..200)
            .map(|i| ((i * 37) % 11) as f64 * 1.5e6 + 3.0)
            .collect();
        let mut mean = Vec::new();
        rolling_mean_into(&x, 20, 20, &mut mean);
        let mut sd = vec![0.0; x.len()];
        rolling_std_into(&x, 20, 20, &mean, &mut sd);
        assert!(mean[18].is_nan() && sd[18].is_nan());
        for i in 19..200 {
            let w = &x[i - 19..=i];
            let m = w.iter().sum::<f64>() / 20.0;
            let s = (w.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 19.0).sqrt();
            assert!((mean[i] - m).abs() <= 1e-12 * m.abs(), "{i}");
            assert!((sd[i] - s).abs() <= 1e-12 * s.abs(), "{i}");
        }
    }

    #[test]
    fn warm_up_is_null_and_logs_of_non_positive_ratios_are_null() {
        let p = Prepared {
            o: vec![1.0, 2.0, 0.0, 4.0].into(),
            h: vec![1.0, 2.0, 3.0, 4.0].into(),
            l: vec![1.0, 2.0, 3.0, 4.0].into(),
            c: vec![1.0, 2.0, 0.0, 4.0].into(),
            v: vec![1.0; 4].into(),
            session: vec![0, 1, 2, 3].into(),
        };
        let out = compute_series(&[Kernel::Ret1, Kernel::Gap, Kernel::LogRet(2)], &p);
        assert!(out[0][0].is_nan());
        assert!((out[0][1] - 2f64.ln()).abs() < 1e-15);
        assert!(
            out[0][2].is_nan() && out[0][3].is_nan(),
            "ln of 0 and of 4/0"
        );
        assert!(out[1][2].is_nan(), "gap onto a zero open");
        assert!(out[2][1].is_nan() && (out[2][3] - 2f64.ln()).abs() < 1e-15);
    }
}
