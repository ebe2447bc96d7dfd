//! AVX2 versions of the two hot loops of [`super::kernel`], chosen at run time.
//!
//! They compute the same quantities as the scalar code: the cross masks bit for bit (ordered
//! compares, so NaN warm-up compares false as in Rust), the statistics with the same per-bar
//! formulas but summed in four lanes, which changes Sharpe only in the last bits. Equity values,
//! hence final equity, never go through here.

use super::kernel::Acc;
use std::arch::x86_64::*;

/// Strict up/down cross masks of `fast` against `slow` (see [`super::kernel`]); words before
/// `first_word` are known to be all warm-up and are just zeroed.
///
/// # Safety
/// The CPU must support AVX2; `up` and `down` must hold `fast.len().div_ceil(64)` words and
/// `slow.len() == fast.len()`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn cross_masks(
    fast: &[f64],
    slow: &[f64],
    up: &mut [u64],
    down: &mut [u64],
    first_word: usize,
) {
    let n = fast.len().min(slow.len());
    let words = n.div_ceil(64);
    let first = first_word.min(words);
    up[..first].fill(0);
    down[..first].fill(0);
    let (mut carry_gt, mut carry_lt) = (0u64, 0u64);
    let (fp, sp) = (fast.as_ptr(), slow.as_ptr());
    for w in first..words {
        let base = w * 64;
        let (mut gt, mut lt) = (0u64, 0u64);
        if base + 64 <= n {
            for k in 0..16 {
                // SAFETY: base + 4k + 3 < base + 64 <= n, inside both slices.
                let (a, b) = unsafe {
                    (
                        _mm256_loadu_pd(fp.add(base + 4 * k)),
                        _mm256_loadu_pd(sp.add(base + 4 * k)),
                    )
                };
                let g = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_GT_OQ>(a, b)) as u64;
                let l = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_LT_OQ>(a, b)) as u64;
                gt |= g << (4 * k);
                lt |= l << (4 * k);
            }
        } else {
            for (j, (a, b)) in fast[base..n].iter().zip(&slow[base..n]).enumerate() {
                gt |= u64::from(a > b) << j;
                lt |= u64::from(a < b) << j;
            }
        }
        up[w] = ((lt << 1) | carry_lt) & gt;
        down[w] = ((gt << 1) | carry_gt) & lt;
        carry_gt = gt >> 63;
        carry_lt = lt >> 63;
    }
}

/// Pushes the equity `cash + qty·close[t]` of bars `from..to` into `acc`.
///
/// # Safety
/// The CPU must support AVX2 and `from <= to <= close.len()`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn held(
    acc: &mut Acc,
    close: &[f64],
    from: usize,
    to: usize,
    cash: f64,
    qty: f64,
) {
    if from >= to {
        return;
    }
    // The first bar's previous equity is whatever came before (usually the cash before entry).
    acc.push(cash + qty * close[from]);
    let mut t = from + 1;
    if to - t < 8 {
        for &c in &close[t..to] {
            acc.push(cash + qty * c);
        }
        return;
    }
    let vc = _mm256_set1_pd(cash);
    let vq = _mm256_set1_pd(qty);
    let one = _mm256_set1_pd(1.0);
    let ninf = _mm256_set1_pd(f64::NEG_INFINITY);
    let mut sum = _mm256_setzero_pd();
    let mut sum_sq = _mm256_setzero_pd();
    let mut peak = _mm256_set1_pd(acc.peak);
    let mut dd = _mm256_set1_pd(acc.max_dd);
    let p = close.as_ptr();
    while t + 4 <= to {
        // SAFETY: t >= 1 and t + 3 < to <= close.len().
        let (c, cp) = unsafe { (_mm256_loadu_pd(p.add(t)), _mm256_loadu_pd(p.add(t - 1))) };
        let eq = _mm256_add_pd(vc, _mm256_mul_pd(vq, c));
        let prev = _mm256_add_pd(vc, _mm256_mul_pd(vq, cp));
        let r = _mm256_sub_pd(_mm256_div_pd(eq, prev), one);
        sum = _mm256_add_pd(sum, r);
        sum_sq = _mm256_add_pd(sum_sq, _mm256_mul_pd(r, r));
        // Running peak: prefix max within the four lanes, then against the carried peak.
        let s1 = _mm256_max_pd(
            eq,
            _mm256_blend_pd::<0b0001>(_mm256_permute4x64_pd::<0b10_01_00_00>(eq), ninf),
        );
        let s2 = _mm256_max_pd(
            s1,
            _mm256_blend_pd::<0b0011>(_mm256_permute4x64_pd::<0b01_00_00_00>(s1), ninf),
        );
        let pk = _mm256_max_pd(s2, peak);
        dd = _mm256_min_pd(dd, _mm256_div_pd(_mm256_sub_pd(eq, pk), pk));
        peak = _mm256_permute4x64_pd::<0b11_11_11_11>(pk);
        t += 4;
    }
    let lanes = |v: __m256d| {
        let mut a = [0.0; 4];
        // SAFETY: `a` holds four f64.
        unsafe { _mm256_storeu_pd(a.as_mut_ptr(), v) };
        a
    };
    let (s, q, d) = (lanes(sum), lanes(sum_sq), lanes(dd));
    acc.sum += (s[0] + s[1]) + (s[2] + s[3]);
    acc.sum_sq += (q[0] + q[1]) + (q[2] + q[3]);
    acc.max_dd = d.iter().copied().fold(acc.max_dd, f64::min);
    acc.peak = lanes(peak)[0];
    acc.prev = cash + qty * close[t - 1];
    for &c in &close[t..to] {
        acc.push(cash + qty * c);
    }
}

/// [`cross_masks`] with AVX-512 compares, which produce the bit masks directly.
///
/// # Safety
/// The CPU must support AVX-512F (and AVX2); same slice requirements as [`cross_masks`].
#[target_feature(enable = "avx2,avx512f")]
pub(crate) unsafe fn cross_masks_512(
    fast: &[f64],
    slow: &[f64],
    up: &mut [u64],
    down: &mut [u64],
    first_word: usize,
) {
    let n = fast.len().min(slow.len());
    let words = n.div_ceil(64);
    let first = first_word.min(words);
    up[..first].fill(0);
    down[..first].fill(0);
    let (mut carry_gt, mut carry_lt) = (0u64, 0u64);
    let (fp, sp) = (fast.as_ptr(), slow.as_ptr());
    for w in first..words {
        let base = w * 64;
        let (mut gt, mut lt) = (0u64, 0u64);
        if base + 64 <= n {
            for k in 0..8 {
                // SAFETY: base + 8k + 7 < base + 64 <= n, inside both slices.
                let (a, b) = unsafe {
                    (
                        _mm512_loadu_pd(fp.add(base + 8 * k)),
                        _mm512_loadu_pd(sp.add(base + 8 * k)),
                    )
                };
                gt |= u64::from(_mm512_cmp_pd_mask::<_CMP_GT_OQ>(a, b)) << (8 * k);
                lt |= u64::from(_mm512_cmp_pd_mask::<_CMP_LT_OQ>(a, b)) << (8 * k);
            }
        } else {
            for (j, (a, b)) in fast[base..n].iter().zip(&slow[base..n]).enumerate() {
                gt |= u64::from(a > b) << j;
                lt |= u64::from(a < b) << j;
            }
        }
        up[w] = ((lt << 1) | carry_lt) & gt;
        down[w] = ((gt << 1) | carry_gt) & lt;
        carry_gt = gt >> 63;
        carry_lt = lt >> 63;
    }
}
