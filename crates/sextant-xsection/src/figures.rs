//! A factor's tearsheet figures as standalone SVG (no script, no external resource): the rank IC
//! per date with its 21-date moving average, and the mean return by quantile per horizon.

use crate::report::FactorReport;
use std::fmt::Write;

const W: f64 = 760.0;
const H: f64 = 300.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 36.0;
const COLORS: [&str; 4] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"];

fn open(title: &str) -> String {
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        s,
        r##"<rect width="{W}" height="{H}" fill="#fff"/><text x="{LEFT}" y="18" font-size="13">{}</text>"##,
        escape(title)
    );
    s
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Y axis from `lo` to `hi` (zero always inside), with the zero line and three ticks.
fn y_axis(s: &mut String, lo: f64, hi: f64, pct: bool) -> impl Fn(f64) -> f64 {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let y = move |v: f64| TOP + (hi - v) / span * (H - TOP - BOTTOM);
    for v in [lo, 0.0, hi] {
        let label = if pct {
            format!("{:.2}%", v * 100.0)
        } else {
            format!("{v:.3}")
        };
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{y0:.1}" y2="{y0:.1}" stroke="#ccc"/><text x="{}" y="{:.1}" text-anchor="end">{label}</text>"##,
            W - RIGHT,
            LEFT - 4.0,
            y(v) + 4.0,
            y0 = y(v)
        );
    }
    y
}

/// The rank IC of horizon `k` per date (bars) and its 21-date moving average (line).
pub fn ic_series_svg(report: &FactorReport, k: usize) -> String {
    let Some(h) = report.ic.get(k) else {
        return open("no such horizon") + "</svg>";
    };
    let title = format!(
        "Rank IC, {}-bar forward returns: mean {:.4}, ICIR {:.3}, t {:.2}, {} dates",
        h.period, h.summary.mean, h.summary.icir, h.summary.t_stat, h.summary.n
    );
    let mut s = open(&title);
    let vals: Vec<f64> = h.series.iter().map(|p| p.1).collect();
    let finite = vals.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let y = y_axis(&mut s, lo, hi, false);
    let n = vals.len().max(1) as f64;
    let bw = (W - LEFT - RIGHT) / n;
    let x = |i: usize| LEFT + i as f64 * bw;
    for (i, v) in vals.iter().enumerate().filter(|(_, v)| v.is_finite()) {
        let (a, b) = (y(*v), y(0.0));
        let _ = write!(
            s,
            r##"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="#9ecae1"/>"##,
            x(i),
            a.min(b),
            bw.max(0.5),
            (a - b).abs()
        );
    }
    let mut path = String::new();
    for i in 20..vals.len() {
        let m = crate::report::mean(vals[i - 20..=i].iter().copied());
        if m.is_finite() {
            let cmd = if path.is_empty() { 'M' } else { 'L' };
            let _ = write!(path, "{cmd}{:.2},{:.2} ", x(i) + bw / 2.0, y(m));
        }
    }
    if !path.is_empty() {
        let _ = write!(
            s,
            r##"<path d="{path}" fill="none" stroke="#08519c" stroke-width="1.5"/>"##
        );
    }
    if let (Some(first), Some(last)) = (h.series.first(), h.series.last()) {
        let _ = write!(
            s,
            r#"<text x="{LEFT}" y="{}">{}</text><text x="{}" y="{}" text-anchor="end">{}</text>"#,
            H - 12.0,
            day(first.0),
            W - RIGHT,
            H - 12.0,
            day(last.0)
        );
    }
    s + "</svg>"
}

/// Demeaned mean return per quantile, one bar group per quantile, one bar per horizon.
pub fn quantile_returns_svg(report: &FactorReport) -> String {
    let mut s = open("Mean return by factor quantile (demeaned), per horizon");
    let all = report.quantile_returns.iter().flatten().copied();
    let (lo, hi) = all
        .filter(|v| v.is_finite())
        .fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let y = y_axis(&mut s, lo, hi, true);
    let q = report.quantile_returns.len().max(1);
    let kn = report.periods.len().max(1);
    let group = (W - LEFT - RIGHT) / q as f64;
    let bw = group * 0.8 / kn as f64;
    for (qi, row) in report.quantile_returns.iter().enumerate() {
        for (k, v) in row.iter().enumerate().filter(|(_, v)| v.is_finite()) {
            let (a, b) = (y(*v), y(0.0));
            let _ = write!(
                s,
                r##"<rect x="{:.2}" y="{:.2}" width="{bw:.2}" height="{:.2}" fill="{}"/>"##,
                LEFT + qi as f64 * group + group * 0.1 + k as f64 * bw,
                a.min(b),
                (a - b).abs(),
                COLORS[k % COLORS.len()]
            );
        }
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">Q{}</text>"#,
            LEFT + (qi as f64 + 0.5) * group,
            H - 12.0,
            qi + 1
        );
    }
    for (k, p) in report.periods.iter().enumerate() {
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="8" width="10" height="10" fill="{}"/><text x="{:.1}" y="17">{p}-bar</text>"##,
            W - RIGHT - 70.0 * (kn - k) as f64,
            COLORS[k % COLORS.len()],
            W - RIGHT - 70.0 * (kn - k) as f64 + 14.0
        );
    }
    s + "</svg>"
}

/// `YYYY-MM-DD` of a panel date (days since 1970-01-01).
fn day(days: i64) -> String {
    // Howard Hinnant's civil-from-days, to avoid a date crate for two labels.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::day;

    #[test]
    fn civil_dates() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(11_016), "2000-02-29");
        assert_eq!(day(18_628), "2021-01-01");
    }
}
