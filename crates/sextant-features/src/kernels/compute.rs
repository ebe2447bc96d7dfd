//! Time-series kernels over one symbol's prepared bars, in one pass per feature.
//!
//! NULL is NaN here (the store writes NaN as NULL, and panels read NULL as NaN). Where DuckDB
//! would take the logarithm of a non-positive or infinite ratio (a zero or negative price,
//! which only unchecked data holds) the value is NULL rather than the error DuckDB raises.

use super::Kernel;

/// One symbol's bars in time order, prices adjusted by the total-return factor and volume by
/// the split factor (the prepared columns `c, o, h, l, v` of the SQL view).
#[derive(Debug, Clone, Default)]
pub(crate) struct Prepared {
    /// Adjusted open.
    pub o: Vec<f64>,
    /// Adjusted high.
    pub h: Vec<f64>,
    /// Adjusted low.
    pub l: Vec<f64>,
    /// Adjusted close.
    pub c: Vec<f64>,
    /// Split-adjusted volume.
    pub v: Vec<f64>,
    /// The session date of each bar, days since 1970-01-01.
    pub session: Vec<i32>,
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
fn rolling_mean(x: &[f64], n: usize, first: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; x.len()];
    if n == 0 {
        return out;
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
    out
}

/// The sample standard deviation of `x` over the last `n` values, from the window's mean and
/// the window's squared deviations summed directly (no running sum of squares, whose
/// cancellation loses digits on large values such as volume). NaN as [`rolling_mean`].
fn rolling_std(x: &[f64], n: usize, first: usize, mean: &[f64]) -> Vec<f64> {
    let mut out = vec![f64::NAN; x.len()];
    if n < 2 {
        return out;
    }
    for i in (first.max(n) - 1)..x.len() {
        let m = mean[i];
        let ss: f64 = x[i + 1 - n..=i].iter().map(|v| (v - m) * (v - m)).sum();
        out[i] = (ss / (n - 1) as f64).sqrt();
    }
    out
}

/// Lazily built series shared by several kernels of one symbol.
struct Scratch<'a> {
    p: &'a Prepared,
    r1: Option<Vec<f64>>,
    gain_loss: Option<(Vec<f64>, Vec<f64>)>,
    tr: Option<Vec<f64>>,
    means: Vec<((u8, usize), Vec<f64>)>,
}

const C: u8 = 0;
const V: u8 = 1;
const TR: u8 = 2;
const R1: u8 = 3;
const GAIN: u8 = 4;
const LOSS: u8 = 5;

impl<'a> Scratch<'a> {
    fn r1(&mut self) -> &[f64] {
        let p = self.p;
        let c = &p.c;
        self.r1.get_or_insert_with(|| {
            let mut r = vec![f64::NAN; c.len()];
            for i in 1..c.len() {
                r[i] = ln_ratio(c[i], c[i - 1]);
            }
            r
        })
    }

    fn gain_loss(&mut self) -> &(Vec<f64>, Vec<f64>) {
        let p = self.p;
        let c = &p.c;
        self.gain_loss.get_or_insert_with(|| {
            let mut g = vec![f64::NAN; c.len()];
            let mut l = vec![f64::NAN; c.len()];
            for i in 1..c.len() {
                g[i] = (c[i] - c[i - 1]).max(0.0);
                l[i] = (c[i - 1] - c[i]).max(0.0);
            }
            (g, l)
        })
    }

    fn tr(&mut self) -> &[f64] {
        let p = self.p;
        self.tr.get_or_insert_with(|| {
            (0..p.c.len())
                .map(|i| {
                    let hl = p.h[i] - p.l[i];
                    if i == 0 {
                        // DuckDB's greatest() skips the NULL previous close.
                        hl
                    } else {
                        let pc = p.c[i - 1];
                        hl.max((p.h[i] - pc).abs()).max((p.l[i] - pc).abs())
                    }
                })
                .collect()
        })
    }

    fn source(&mut self, which: u8) -> Vec<f64> {
        match which {
            C => self.p.c.clone(),
            V => self.p.v.clone(),
            TR => self.tr().to_vec(),
            R1 => self.r1().to_vec(),
            GAIN => self.gain_loss().0.clone(),
            _ => self.gain_loss().1.clone(),
        }
    }

    /// The rolling mean of a source series, NULL until its SQL `rn >= first` holds.
    fn mean(&mut self, which: u8, n: u32) -> Vec<f64> {
        let n = n as usize;
        if let Some((_, m)) = self.means.iter().find(|(k, _)| *k == (which, n)) {
            return m.clone();
        }
        let x = self.source(which);
        let m = rolling_mean(&x, n, first(which, n));
        self.means.push(((which, n), m.clone()));
        m
    }

    fn std(&mut self, which: u8, n: u32) -> Vec<f64> {
        let mean = self.mean(which, n);
        let x = self.source(which);
        rolling_std(&x, n as usize, first(which, n as usize), &mean)
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
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    (if mp < 10 { mp + 3 } else { mp - 9 }) as f64
}

/// Computes the time-series `kernels` over one symbol (cross-sectional ones are left NaN and
/// filled by [`super::cross_sectional_ranks`]); one output column per kernel.
pub(crate) fn compute_series(kernels: &[Kernel], p: &Prepared) -> Vec<Vec<f64>> {
    let m = p.c.len();
    let mut s = Scratch {
        p,
        r1: None,
        gain_loss: None,
        tr: None,
        means: Vec::new(),
    };
    kernels
        .iter()
        .map(|k| match k {
            Kernel::Ret1 => s.r1().to_vec(),
            Kernel::LogRet(k) => {
                let k = *k as usize;
                (0..m)
                    .map(|i| {
                        if i >= k {
                            ln_ratio(p.c[i], p.c[i - k])
                        } else {
                            f64::NAN
                        }
                    })
                    .collect()
            }
            Kernel::Vol(n) => s.std(R1, *n),
            Kernel::Rsi(n) => {
                let (g, l) = (s.mean(GAIN, *n), s.mean(LOSS, *n));
                g.iter()
                    .zip(&l)
                    .map(|(&g, &l)| {
                        if l == 0.0 {
                            if g == 0.0 {
                                50.0
                            } else {
                                100.0
                            }
                        } else {
                            100.0 - 100.0 / (1.0 + g / l)
                        }
                    })
                    .collect()
            }
            Kernel::SmaRatio(a, b) => {
                let (x, y) = (s.mean(C, *a), s.mean(C, *b));
                x.iter().zip(&y).map(|(x, y)| x / y - 1.0).collect()
            }
            Kernel::CloseSma(n) => {
                let x = s.mean(C, *n);
                p.c.iter().zip(&x).map(|(c, x)| c / x - 1.0).collect()
            }
            Kernel::VolumeZ(n) => {
                let (mean, sd) = (s.mean(V, *n), s.std(V, *n));
                (0..m)
                    .map(|i| {
                        if sd[i] == 0.0 {
                            f64::NAN
                        } else {
                            (p.v[i] - mean[i]) / sd[i]
                        }
                    })
                    .collect()
            }
            Kernel::Atr(n) => {
                let x = s.mean(TR, *n);
                x.iter().zip(&p.c).map(|(x, c)| x / c).collect()
            }
            Kernel::Range => (0..m).map(|i| (p.h[i] - p.l[i]) / p.c[i]).collect(),
            Kernel::Gap => (0..m)
                .map(|i| {
                    if i > 0 {
                        ln_ratio(p.o[i], p.c[i - 1])
                    } else {
                        f64::NAN
                    }
                })
                .collect(),
            Kernel::DayOfWeek => p.session.iter().map(|&d| isodow(d)).collect(),
            Kernel::Month => p.session.iter().map(|&d| month(d)).collect(),
            Kernel::CsRank(_) => vec![f64::NAN; m],
        })
        .collect()
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
        let mean = rolling_mean(&x, 20, 20);
        let sd = rolling_std(&x, 20, 20, &mean);
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
            o: vec![1.0, 2.0, 0.0, 4.0],
            h: vec![1.0, 2.0, 3.0, 4.0],
            l: vec![1.0, 2.0, 3.0, 4.0],
            c: vec![1.0, 2.0, 0.0, 4.0],
            v: vec![1.0; 4],
            session: vec![0, 1, 2, 3],
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
