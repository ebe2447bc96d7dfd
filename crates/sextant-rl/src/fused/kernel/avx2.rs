//! The AVX2 kernel (with FMA): 8-lane vectors, blocks of 6 rows × 16 columns of C (12
//! accumulators, 2 registers for a row of B and one for a broadcast of A, of the 16).

use super::Init;
use std::arch::x86_64::*;

const MR: usize = 6;

/// Columns of C per panel: two vectors.
const NR: usize = 16;

/// See [`super::matmul`]; `b` row-major with row stride `ldb`, `c` row-major `m × n`.
#[target_feature(enable = "avx2,fma")]
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
        let width = (n - j).min(NR);
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
        // Masked loads cost two micro-ops each on AVX2: only a partial panel takes them.
        match (width.div_ceil(8), width.is_multiple_of(8)) {
            (2, true) => p.rows::<2, false>(m),
            (2, false) => p.rows::<2, true>(m),
            (_, true) => p.rows::<1, false>(m),
            (_, false) => p.rows::<1, true>(m),
        }
        j += NR;
    }
}

/// The lanes of the last vector of a panel `width` columns wide (all ones where loaded).
#[target_feature(enable = "avx2")]
fn tail_mask(width: usize) -> __m256i {
    let t = match width % 8 {
        0 => 8,
        t => t as i32,
    };
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(t),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// Up to 16 columns of C, all its rows.
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
    tail: __m256i,
}

impl Panel {
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn rows<const NV: usize, const MASK: bool>(&self, m: usize) {
        let mut i = 0;
        while i + MR <= m {
            self.block::<MR, NV, MASK>(i);
            i += MR;
        }
        match m - i {
            5 => self.block::<5, NV, MASK>(i),
            4 => self.block::<4, NV, MASK>(i),
            3 => self.block::<3, NV, MASK>(i),
            2 => self.block::<2, NV, MASK>(i),
            1 => self.block::<1, NV, MASK>(i),
            _ => {}
        }
    }

    /// Vector `v` of a row at `p` (the panel's last one masked to its width when `MASK`).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load<const NV: usize, const MASK: bool>(&self, p: *const f32, v: usize) -> __m256 {
        if MASK && v + 1 == NV {
            _mm256_maskload_ps(p.add(8 * v), self.tail)
        } else {
            _mm256_loadu_ps(p.add(8 * v))
        }
    }

    /// Rows `i..i + R` of the panel: each element one chain of FMAs over `k`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block<const R: usize, const NV: usize, const MASK: bool>(&self, i: usize) {
        let mut start = [_mm256_setzero_ps(); NV];
        if !self.bias.is_null() {
            for (v, x) in start.iter_mut().enumerate() {
                *x = self.load::<NV, MASK>(self.bias, v);
            }
        }
        let mut acc = [start; R];
        let mut a = self.a.add(i * self.a_rs);
        let mut b = self.b;
        for _ in 0..self.k {
            let mut bv = [_mm256_setzero_ps(); NV];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = self.load::<NV, MASK>(b, v);
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm256_set1_ps(*a.add(r * self.a_rs));
                for (x, bx) in row.iter_mut().zip(&bv) {
                    *x = _mm256_fmadd_ps(av, *bx, *x);
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
                if MASK && v + 1 == NV {
                    _mm256_maskstore_ps(c.add(8 * v), self.tail, *x);
                } else {
                    _mm256_storeu_ps(c.add(8 * v), *x);
                }
            }
        }
    }
}
