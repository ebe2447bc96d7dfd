//! The fan chart as a self-contained SVG: the recent history as a line, then the 1–99, 5–95,
//! 10–90 and 25–75 % bands of the forecast shaded from light to dark, and the median.
//!
//! Written directly rather than with `plotters`: an SVG of a few polygons needs no font stack
//! or raster backend, and the text stays small and diffable.

use crate::summary::FanDay;
use std::fmt::Write;

const W: f64 = 720.0;
const H: f64 = 360.0;
const PAD_L: f64 = 70.0;
const PAD_R: f64 = 20.0;
const PAD_T: f64 = 30.0;
const PAD_B: f64 = 40.0;

/// What to draw: values in currency (or any unit), history oldest first ending at the origin.
pub struct FanChart<'a> {
    /// The chart's title.
    pub title: &'a str,
    /// Recent values up to and including the origin's.
    pub history: &'a [f64],
    /// The forecast, relative to the origin's value.
    pub fan: &'a [FanDay],
    /// The origin's value (multiplies the relative fan).
    pub start_value: f64,
}

impl FanChart<'_> {
    /// The SVG document.
    pub fn svg(&self) -> String {
        let hist = self.history.len();
        let days = self.fan.len();
        let total = (hist + days).max(2) as f64;
        let abs = |q: &FanDay, i: usize| {
            q.quantiles.get(i).copied().unwrap_or(f64::NAN) * self.start_value
        };
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for v in self
            .history
            .iter()
            .copied()
            .chain(self.fan.iter().flat_map(|f| [abs(f, 0), abs(f, 8)]))
        {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if !lo.is_finite() {
            (lo, hi) = (self.start_value * 0.9, self.start_value * 1.1);
        }
        if hi - lo < 1e-12 * hi.abs().max(1.0) {
            (lo, hi) = (lo * 0.99, hi * 1.01 + 1e-9);
        }
        let x = |i: f64| PAD_L + (W - PAD_L - PAD_R) * i / (total - 1.0);
        let y = |v: f64| PAD_T + (H - PAD_T - PAD_B) * (hi - v) / (hi - lo);
        // Fan day d sits at x index hist − 1 + d (day 0 is the origin, the last history point).
        let origin = hist.max(1) as f64 - 1.0;
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">"#
        );
        let _ = write!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let _ = write!(
            s,
            r#"<text x="{PAD_L}" y="18" font-size="13">{}</text>"#,
            escape(self.title)
        );
        for k in 0..=4 {
            let v = lo + (hi - lo) * k as f64 / 4.0;
            let yy = y(v);
            let _ = write!(
                s,
                r##"<line x1="{PAD_L}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                W - PAD_R,
                PAD_L - 6.0,
                yy + 4.0,
                format_value(v)
            );
        }
        let bands = [
            (0, 8, "0.15"),
            (1, 7, "0.25"),
            (2, 6, "0.35"),
            (3, 5, "0.5"),
        ];
        for (a, b, opacity) in bands {
            let mut pts = vec![(x(origin), y(self.start_value))];
            pts.extend(
                self.fan
                    .iter()
                    .enumerate()
                    .map(|(d, f)| (x(origin + d as f64 + 1.0), y(abs(f, b)))),
            );
            pts.extend(
                self.fan
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(d, f)| (x(origin + d as f64 + 1.0), y(abs(f, a)))),
            );
            let _ = write!(
                s,
                r##"<polygon fill="#1f77b4" fill-opacity="{opacity}" points="{}"/>"##,
                points(&pts)
            );
        }
        let median: Vec<(f64, f64)> = std::iter::once((x(origin), y(self.start_value)))
            .chain(
                self.fan
                    .iter()
                    .enumerate()
                    .map(|(d, f)| (x(origin + d as f64 + 1.0), y(abs(f, 4)))),
            )
            .collect();
        let _ = write!(
            s,
            r##"<polyline fill="none" stroke="#1f4e79" stroke-width="1.5" points="{}"/>"##,
            points(&median)
        );
        if hist > 1 {
            let line: Vec<(f64, f64)> = self
                .history
                .iter()
                .enumerate()
                .map(|(i, v)| (x(i as f64), y(*v)))
                .collect();
            let _ = write!(
                s,
                r##"<polyline fill="none" stroke="#333" stroke-width="1.2" points="{}"/>"##,
                points(&line)
            );
        }
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">origin</text><text x="{:.1}" y="{}" text-anchor="end">+{days} days</text>"#,
            x(origin),
            H - 12.0,
            W - PAD_R,
            H - 12.0
        );
        s.push_str("</svg>");
        s
    }
}

fn points(p: &[(f64, f64)]) -> String {
    p.iter()
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| format!("{a:.1},{b:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn format_value(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v.abs() >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.2}")
    }
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_four_bands_a_median_and_the_history() {
        let fan: Vec<FanDay> = (1..=5)
            .map(|d| FanDay {
                day: d,
                quantiles: vec![0.9, 0.93, 0.95, 0.98, 1.0, 1.02, 1.05, 1.07, 1.1],
                mean: 1.0,
            })
            .collect();
        let svg = FanChart {
            title: "AAPL <fhs>",
            history: &[95.0, 98.0, 100.0],
            fan: &fan,
            start_value: 100.0,
        }
        .svg();
        assert_eq!(svg.matches("<polygon").count(), 4);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("AAPL &lt;fhs&gt;"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
