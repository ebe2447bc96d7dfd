//! One (fast, slow) combination on one symbol: a tight loop producing only summary statistics.
//!
//! Two passes, neither allocating:
//!
//! 1. **Cross masks.** For each 64-bar block, bit `j` of `gt`/`lt` says `fast > slow` /
//!    `fast < slow` at that bar (NaN warm-up compares false). The strict crossover rule then is
//!    pure bit logic: `up = (lt << 1 | carry) & gt`, `down = (gt << 1 | carry) & lt`. The
//!    compare loop has no branches and vectorises.
//! 2. **Events and segments.** Walking the set bits (flat: next `up`; long: next `down`) gives
//!    the fills; equity only moves while a position is held, so statistics are accumulated over
//!    the held bars alone. A flat bar's return is exactly 0 and cannot change the peak or the
//!    drawdown, so skipping it changes nothing.
//!
//! Fills, sizing and cash use [`crate::simulator::costs`] exactly as the simulator does, so
//! final equity and trade count are bit-identical to a [`crate::simulator::TradingSimulator`] run
//! of `sma_cross` (long only) with the matching [`super::SweepConfig::sim_config`].

use super::{ComboStats, SweepConfig};
use crate::simulator::FillTiming;

/// Per-thread scratch for the cross masks (one word per 64 bars).
pub(crate) struct Scratch {
    pub(super) up: Vec<u64>,
    pub(super) down: Vec<u64>,
}

impl Scratch {
    pub fn new(n: usize) -> Self {
        let words = n.div_ceil(64);
        Scratch {
            up: vec![0; words],
            down: vec![0; words],
        }
    }
}

/// The prices a combination trades on.
#[derive(Clone, Copy)]
pub(crate) struct Prices<'a> {
    pub open: &'a [f64],
    pub close: &'a [f64],
}

/// Builds the strict up/down crossover masks of `fast` against `slow`.
#[inline(always)]
pub(super) fn cross_masks(fast: &[f64], slow: &[f64], up: &mut [u64], down: &mut [u64]) {
    let (mut carry_gt, mut carry_lt) = (0u64, 0u64);
    for (w, (fc, sc)) in fast.chunks(64).zip(slow.chunks(64)).enumerate() {
        let (mut gt, mut lt) = (0u64, 0u64);
        for (j, (a, b)) in fc.iter().zip(sc).enumerate() {
            gt |= u64::from(a > b) << j;
            lt |= u64::from(a < b) << j;
        }
        up[w] = ((lt << 1) | carry_lt) & gt;
        down[w] = ((gt << 1) | carry_gt) & lt;
        carry_gt = gt >> 63;
        carry_lt = lt >> 63;
    }
}

/// The first set bit of `mask` at or after bar `from`.
#[inline(always)]
fn next_bit(mask: &[u64], from: usize) -> Option<usize> {
    let mut w = from >> 6;
    if w >= mask.len() {
        return None;
    }
    let mut m = mask[w] & (!0u64 << (from & 63));
    loop {
        if m != 0 {
            return Some((w << 6) | m.trailing_zeros() as usize);
        }
        w += 1;
        if w == mask.len() {
            return None;
        }
        m = mask[w];
    }
}

/// Running sums for Sharpe and drawdown over the equity curve.
pub(crate) struct Acc {
    pub sum: f64,
    pub sum_sq: f64,
    /// Equity of the previous bar.
    pub prev: f64,
    pub peak: f64,
    /// Most negative `(equity - peak) / peak` so far.
    pub max_dd: f64,
}

impl Acc {
    /// Adds one bar's equity. Plain comparisons rather than `f64::max`: equity is never NaN, and
    /// the NaN-aware versions cost extra instructions in the hottest loop.
    #[inline(always)]
    pub fn push(&mut self, eq: f64) {
        let r = eq / self.prev - 1.0;
        self.sum += r;
        self.sum_sq += r * r;
        self.prev = eq;
        if eq > self.peak {
            self.peak = eq;
        }
        let d = (eq - self.peak) / self.peak;
        if d < self.max_dd {
            self.max_dd = d;
        }
    }

    /// Marks bars `from..to` of a held position: equity `cash + qty·close`.
    #[inline(always)]
    pub fn held(&mut self, close: &[f64], from: usize, to: usize, cash: f64, qty: f64) {
        for &c in &close[from..to] {
            self.push(cash + qty * c);
        }
    }
}

/// Which instruction set the hot loops use; detected once per sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    Scalar,
    Avx2,
    Avx512,
}

impl Isa {
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx2") {
                return Isa::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") {
                return Isa::Avx2;
            }
        }
        Isa::Scalar
    }
}

const SCALAR: u8 = 0;
const AVX2: u8 = 1;
const AVX512: u8 = 2;

/// Runs one combination given its two moving averages; `slow_window` bounds the warm-up.
/// `isa` must come from [`Isa::detect`] (or be `Scalar`).
#[inline]
pub(crate) fn run_combo(
    cfg: &SweepConfig,
    px: Prices<'_>,
    ma: (&[f64], &[f64]),
    slow_window: usize,
    sc: &mut Scratch,
    isa: Isa,
) -> ComboStats {
    match isa {
        // SAFETY: `Isa::detect` found the features.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { run_combo_avx512(cfg, px, ma, slow_window, sc) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { run_combo_avx2(cfg, px, ma, slow_window, sc) },
        _ => run_combo_impl::<SCALAR>(cfg, px, ma, slow_window, sc),
    }
}

/// The whole combination compiled with AVX-512 enabled, so that the SIMD loops inline.
///
/// # Safety
/// The CPU must support AVX2 and AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f")]
unsafe fn run_combo_avx512(
    cfg: &SweepConfig,
    px: Prices<'_>,
    ma: (&[f64], &[f64]),
    slow_window: usize,
    sc: &mut Scratch,
) -> ComboStats {
    run_combo_impl::<AVX512>(cfg, px, ma, slow_window, sc)
}

/// The whole combination compiled with AVX2 enabled, so that the AVX2 loops inline.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_combo_avx2(
    cfg: &SweepConfig,
    px: Prices<'_>,
    ma: (&[f64], &[f64]),
    slow_window: usize,
    sc: &mut Scratch,
) -> ComboStats {
    run_combo_impl::<AVX2>(cfg, px, ma, slow_window, sc)
}

#[inline(always)]
fn held<const ISA: u8>(acc: &mut Acc, close: &[f64], from: usize, to: usize, cash: f64, qty: f64) {
    #[cfg(target_arch = "x86_64")]
    if ISA != SCALAR {
        // SAFETY: ISA is only set inside the matching `run_combo_*`; from <= to <= close.len().
        unsafe { super::avx2::held(acc, close, from, to, cash, qty) };
        return;
    }
    acc.held(close, from, to, cash, qty);
}

#[inline(always)]
fn run_combo_impl<const ISA: u8>(
    cfg: &SweepConfig,
    px: Prices<'_>,
    ma: (&[f64], &[f64]),
    slow_window: usize,
    sc: &mut Scratch,
) -> ComboStats {
    let n = px.close.len();
    let (fast, slow) = ma;
    let first_word = slow_window.saturating_sub(1) / 64;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: ISA is only set inside the matching `run_combo_*`; the scratch has n.div_ceil(64)
    // words.
    unsafe {
        match ISA {
            AVX512 => {
                super::avx2::cross_masks_512(fast, slow, &mut sc.up, &mut sc.down, first_word)
            }
            AVX2 => super::avx2::cross_masks(fast, slow, &mut sc.up, &mut sc.down, first_word),
            _ => cross_masks(fast, slow, &mut sc.up, &mut sc.down),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    cross_masks(fast, slow, &mut sc.up, &mut sc.down);
    let _ = first_word;
    let next_open = cfg.fill == FillTiming::NextOpen;
    let whole = cfg.whole();
    let costs = &cfg.costs;
    let init = cfg.initial_cash;
    let mut acc = Acc {
        sum: 0.0,
        sum_sq: 0.0,
        prev: init,
        peak: init,
        max_dd: 0.0,
    };
    let (mut cash, mut qty) = (init, 0.0_f64);
    let mut entry = 0usize;
    let mut trades = 0u32;
    let mut from = 0usize;
    loop {
        let long = qty != 0.0;
        let mask = if long { &sc.down } else { &sc.up };
        let Some(sig) = next_bit(mask, from) else {
            break;
        };
        from = sig + 1;
        let bar = if next_open { sig + 1 } else { sig };
        if bar >= n {
            break; // a next-open order placed on the last bar never fills
        }
        let quote = if next_open {
            px.open[bar]
        } else {
            px.close[bar]
        };
        if long {
            held::<ISA>(&mut acc, px.close, entry, bar, cash, qty);
            let price = costs.sell_price(quote);
            let fee = costs.fee(qty, price);
            cash += crate::simulator::costs::vbt_add(qty * price, -fee);
            qty = 0.0;
            acc.push(cash);
            entry = bar + 1;
        } else {
            let price = costs.buy_price(quote);
            let a = costs.all_in_buy(cash, price, whole, cfg.convention);
            if a.qty > 0.0 {
                cash = crate::simulator::costs::spend(cash, a.cash_out);
                qty = a.qty;
                entry = bar;
                trades += 1;
            }
        }
    }
    let final_equity = if qty != 0.0 {
        held::<ISA>(&mut acc, px.close, entry, n, cash, qty);
        cash + qty * px.close[n - 1]
    } else {
        cash
    };
    let nf = n as f64;
    let mean = acc.sum / nf;
    let var = (acc.sum_sq - acc.sum * mean) / (nf - 1.0);
    ComboStats {
        fast: 0,
        slow: 0,
        final_equity,
        total_return: final_equity / init - 1.0,
        trades,
        max_drawdown: acc.max_dd,
        sharpe: mean / var.sqrt() * cfg.periods_per_year.sqrt(),
    }
}
