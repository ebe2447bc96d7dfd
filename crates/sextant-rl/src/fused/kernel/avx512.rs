//! The AVX-512 kernel: 16-lane vectors, blocks of 6 rows × 64 columns of C.

use super::Init;
use std::arch::x86_64::*;

/// Rows of C per block: 6 rows × 4 vectors of 16 = 24 accumulators, 4 registers for a row
/// of B and one for a broadcast of A, of the 32.
const MR: usize = 6;

/// See [`super::matmul`]; `b` row-major with row stride `ldb`, `c` row-major `m × n`.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn matmul(
    m: usize,
    n: usize,
    k: usize,
    c: *mut f32,
    init: Init<'_>,
    a: *const f32,
    (a_rs, a_cs): (usize, usize),
    b: *const f32,
    ldb: usize,
) {
    let mut j = 0;
    while j < n {
        let width = (n - j).min(64);
        let p = Panel {
            k,
            c: c.add(j),
            ldc: n,
            bias: match init {
                Init::Bias(bias) => bias.as_ptr().add(j),
                _ => std::ptr::null(),
            },
            a,
            a_rs,
            a_cs,
            b: b.add(j),
            ldb,
            tail: tail_mask(width),
        };
        match width.div_ceil(16) {
            4 => p.rows::<4>(m),
            3 => p.rows::<3>(m),
            2 => p.rows::<2>(m),
            _ => p.rows::<1>(m),
        }
        j += 64;
    }
}

/// The lanes of the last vector of a panel `width` columns wide.
fn tail_mask(width: usize) -> __mmask16 {
    match width % 16 {
        0 => 0xffff,
        t => (1u16 << t) - 1,
    }
}

/// Up to 64 columns of C, all its rows.
struct Panel {
    k: usize,
    c: *mut f32,
    ldc: usize,
    /// Start every row from these `width` values (null: from zero).
    bias: *const f32,
    a: *const f32,
    a_rs: usize,
    a_cs: usize,
    b: *const f32,
    ldb: usize,
    tail: __mmask16,
}

impl Panel {
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn rows<const NV: usize>(&self, m: usize) {
        let mut i = 0;
        while i + MR <= m {
            self.block::<MR, NV>(i);
            i += MR;
        }
        match m - i {
            5 => self.block::<5, NV>(i),
            4 => self.block::<4, NV>(i),
            3 => self.block::<3, NV>(i),
            2 => self.block::<2, NV>(i),
            1 => self.block::<1, NV>(i),
            _ => {}
        }
    }

    /// Rows `i..i + R` of the panel: each element one chain of FMAs over `k`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn block<const R: usize, const NV: usize>(&self, i: usize) {
        let mut start = [_mm512_setzero_ps(); NV];
        if !self.bias.is_null() {
            for (v, x) in start.iter_mut().enumerate() {
                let mask = if v + 1 == NV { self.tail } else { 0xffff };
                *x = _mm512_maskz_loadu_ps(mask, self.bias.add(16 * v));
            }
        }
        let mut acc = [start; R];
        let mut a = self.a.add(i * self.a_rs);
        let mut b = self.b;
        for _ in 0..self.k {
            let mut bv = [_mm512_setzero_ps(); NV];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = if v + 1 == NV {
                    _mm512_maskz_loadu_ps(self.tail, b.add(16 * v))
                } else {
                    _mm512_loadu_ps(b.add(16 * v))
                };
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*a.add(r * self.a_rs));
                for (x, bx) in row.iter_mut().zip(&bv) {
                    *x = _mm512_fmadd_ps(av, *bx, *x);
                }
            }
            // Past the last step these point beyond the slices, never read: wrapping
            // arithmetic, since `add` must stay inside the allocation.
            a = a.wrapping_add(self.a_cs);
            b = b.wrapping_add(self.ldb);
        }
        for (r, row) in acc.iter().enumerate() {
            let c = self.c.add((i + r) * self.ldc);
            for (v, x) in row.iter().enumerate() {
                let mask = if v + 1 == NV { self.tail } else { 0xffff };
                let x = *x;
                _mm512_mask_storeu_ps(c.add(16 * v), mask, x);
            }
        }
    }
}
