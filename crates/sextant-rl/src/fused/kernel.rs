//! `C (+)= A · B` for the small matrices of PPO's minibatches: AVX-512 when the CPU has it,
//! the `gemm` crate otherwise.
//!
//! Why a kernel of our own: at these sizes (a few hundred rows by 64 columns) `gemm` spends as
//! long packing its operands and dispatching as multiplying, and its AVX-512 kernels come with
//! a crate feature that would change candle's arithmetic everywhere else (DQN's training
//! among it). Here B is read in place, a row at a time (its rows are contiguous in every
//! product PPO takes), and a block of six rows of C by up to 64 columns stays in 24 registers
//! for the whole sum. Each element of C is one chain of fused multiply-adds in order of `k`:
//! the same bits whatever the machine, as long as it has AVX-512.

/// What C starts from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Init<'a> {
    /// `C = A · B`.
    Zero,
    /// `C = bias + A · B`, the bias (`n` values) added to every row.
    Bias(&'a [f32]),
}

/// `c[m×n] = init + a[m×k] · b[k×n]` (see [`Init`]; C's old values are not read), `c` row-major, `a` and `b` given by their
/// slices and (row stride, column stride).
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    m: usize,
    n: usize,
    k: usize,
    c: &mut [f32],
    init: Init<'_>,
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(c.len() > last(m, n, n, 1), "matmul: c too small");
    if let Init::Bias(bias) = init {
        assert!(bias.len() >= n, "matmul: bias too small");
    }
    if k == 0 {
        match init {
            Init::Zero => c[..m * n].fill(0.0),
            Init::Bias(bias) => c[..m * n]
                .chunks_exact_mut(n)
                .for_each(|row| row.copy_from_slice(&bias[..n])),
        }
        return;
    }
    assert!(a.len() > last(m, k, a_rs, a_cs), "matmul: a too small");
    assert!(b.len() > last(k, n, b_rs, b_cs), "matmul: b too small");
    #[cfg(target_arch = "x86_64")]
    if b_cs == 1 && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above); the asserts keep every element
        // the kernel reads or writes inside the slices (B's rows and the bias are read `n`
        // columns wide, the last 16-wide load masked to `n`), and `c` aliases nothing it reads.
        unsafe {
            avx512::matmul(
                m,
                n,
                k,
                c.as_mut_ptr(),
                init,
                a.as_ptr(),
                (a_rs, a_cs),
                b.as_ptr(),
                b_rs,
            )
        };
        return;
    }
    if let Init::Bias(bias) = init {
        c[..m * n]
            .chunks_exact_mut(n)
            .for_each(|row| row.copy_from_slice(&bias[..n]));
    }
    let accumulate = matches!(init, Init::Bias(_));
    // SAFETY: as above; gemm reads `a` and `b` through their strides and writes `c`
    // row-major m×n.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
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
}

#[cfg(test)]
mod tests {
    use super::{matmul, Init};

    /// Every shape class the kernel splits on (row blocks of 6 and their remainders, panels of
    /// 64 columns and 1–4 vectors with a masked tail), A read by rows or by columns, C from
    /// zero or from a bias: against a plain triple loop in f64, and nothing written
    /// outside C.
    #[test]
    fn products_match_a_plain_loop() {
        let value = |i: usize| ((i * 7919 % 1013) as f32 - 506.0) / 253.0;
        for m in [1, 5, 6, 7, 13, 128] {
            for n in [1, 3, 9, 16, 17, 64, 65, 130] {
                for k in [1, 9, 64] {
                    for a_by_columns in [false, true] {
                        for init in 0..2 {
                            let (a_rs, a_cs) = if a_by_columns { (1, m) } else { (k, 1) };
                            let a: Vec<f32> = (0..m * k).map(value).collect();
                            let b: Vec<f32> = (0..k * n).map(|i| value(i + 5)).collect();
                            let mut c: Vec<f32> = (0..m * n + 3).map(|i| value(i + 11)).collect();
                            let before = c.clone();
                            let bias: Vec<f32> = (0..n).map(|i| value(i + 17)).collect();
                            let how = [Init::Zero, Init::Bias(&bias)][init];
                            matmul(m, n, k, &mut c, how, &a, (a_rs, a_cs), &b, (n, 1));
                            for i in 0..m {
                                for j in 0..n {
                                    let mut want: f64 = match how {
                                        Init::Zero => 0.0,
                                        Init::Bias(b) => f64::from(b[j]),
                                    };
                                    for p in 0..k {
                                        want += f64::from(a[i * a_rs + p * a_cs])
                                            * f64::from(b[p * n + j]);
                                    }
                                    let got = f64::from(c[i * n + j]);
                                    assert!(
                                        (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                                        "{m}x{n}x{k} ({a_by_columns}, {how:?}) at {i},{j}: {got} vs {want}"
                                    );
                                }
                            }
                            assert_eq!(c[m * n..], before[m * n..], "{m}x{n}x{k}: wrote past C");
                        }
                    }
                }
            }
        }
    }
}
