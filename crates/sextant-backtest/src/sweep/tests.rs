//! Kernel tests: the SIMD paths against the scalar ones.

use super::kernel::*;
use super::SweepConfig;
use crate::indicators::sma;
use crate::simulator::Costs;
use crate::simulator::FillTiming;

/// A deterministic wiggly price path (no RNG dependency).
fn prices(n: usize) -> (Vec<f64>, Vec<f64>) {
    let close: Vec<f64> = (0..n)
        .map(|i| {
            100.0
                + 10.0 * ((i as f64) * 0.07).sin()
                + 3.0 * ((i as f64) * 0.31).cos()
                + i as f64 * 0.01
        })
        .collect();
    let open = close
        .iter()
        .enumerate()
        .map(|(i, c)| c + ((i as f64) * 1.3).sin())
        .collect();
    (open, close)
}

#[test]
fn simd_and_scalar_agree() {
    let (open, close) = prices(1000);
    let px = Prices {
        open: &open,
        close: &close,
    };
    let isa = Isa::detect();
    for fill in [FillTiming::NextOpen, FillTiming::SignalClose] {
        let cfg = SweepConfig {
            fill,
            costs: Costs {
                commission_pct: 0.001,
                ..Costs::default()
            },
            ..SweepConfig::default()
        };
        let mut sc = Scratch::new(close.len());
        for (f, s) in [(2, 3), (5, 20), (10, 70), (3, 130)] {
            let (fa, sa) = (sma(&close, f), sma(&close, s));
            let a = run_combo(&cfg, px, (&fa, &sa), s, &mut sc, Isa::Scalar);
            let b = run_combo(&cfg, px, (&fa, &sa), s, &mut sc, isa);
            assert!(a.trades > 3, "{f}/{s} must trade");
            assert_eq!(
                (a.final_equity, a.trades),
                (b.final_equity, b.trades),
                "{isa:?} {f}/{s}"
            );
            assert!(
                (a.sharpe - b.sharpe).abs() <= 1e-12 * a.sharpe.abs(),
                "{} vs {}",
                a.sharpe,
                b.sharpe
            );
            assert!(
                (a.max_drawdown - b.max_drawdown).abs() <= 1e-15,
                "{} vs {}",
                a.max_drawdown,
                b.max_drawdown
            );
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn every_mask_implementation_agrees() {
    let (_, close) = prices(777);
    let words = close.len().div_ceil(64);
    for (f, s) in [(1, 2), (4, 9), (30, 100)] {
        let (fa, sa) = (sma(&close, f), sma(&close, s));
        let mut want = Scratch::new(close.len());
        cross_masks(&fa, &sa, &mut want.up, &mut want.down);
        let first = (s - 1) / 64;
        if std::is_x86_feature_detected!("avx2") {
            let mut got = Scratch {
                up: vec![u64::MAX; words],
                down: vec![u64::MAX; words],
            };
            // SAFETY: AVX2 detected; scratch sized for the input.
            unsafe { super::avx2::cross_masks(&fa, &sa, &mut got.up, &mut got.down, first) };
            assert_eq!((&got.up, &got.down), (&want.up, &want.down), "avx2 {f}/{s}");
        }
        if std::is_x86_feature_detected!("avx512f") {
            let mut got = Scratch {
                up: vec![u64::MAX; words],
                down: vec![u64::MAX; words],
            };
            // SAFETY: AVX-512F detected; scratch sized for the input.
            unsafe { super::avx2::cross_masks_512(&fa, &sa, &mut got.up, &mut got.down, first) };
            assert_eq!(
                (&got.up, &got.down),
                (&want.up, &want.down),
                "avx512 {f}/{s}"
            );
        }
    }
}
