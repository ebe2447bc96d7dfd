//! `C = A · B` (or bias + A · B) for the small matrices of PPO's minibatches: AVX-512 or AVX2
//! kernels when the CPU has them, the `gemm` crate otherwise.
//!
//! Why a kernel of our own: at these sizes (a few hundred rows by 64 columns) `gemm` spends as
//! long packing its operands and dispatching as multiplying, and its AVX-512 kernels come with
//! a crate feature that would change candle's arithmetic everywhere else (DQN's training
//! among it). Here B is read in place, a row at a time (its rows are contiguous in every
//! product PPO takes), and a block of six rows of C (by up to 64 columns in AVX-512's 24
//! registers, 16 in AVX2's 12) stays in registers for the whole sum. Each element of C is one
//! chain of fused multiply-adds in order of `k`, so both kernels give the same bits.

/// What C starts from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Init<'a> {
    /// `C = A · B`.
    Zero,
    /// `C = bias + A · B`, the bias (`n` values) added to every row.
    Bias(&'a [f32]),
}

/// Which code multiplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Avx512,
    Avx2,
    Gemm,
}

impl Path {
    /// The fastest path this CPU has.
    fn best() -> Path {
        [Path::Avx512, Path::Avx2]
            .into_iter()
            .find(|p| p.on_this_cpu())
            .unwrap_or(Path::Gemm)
    }

    /// Whether this CPU has the path's features.
    fn on_this_cpu(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            match self {
                Path::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
                Path::Avx2 => {
                    std::arch::is_x86_feature_detected!("avx2")
                        && std::arch::is_x86_feature_detected!("fma")
                }
                Path::Gemm => true,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Path::Gemm
        }
    }
}

/// `c[m×n] = init + a[m×k] · b[k×n]` (see [`Init`]; C's old values are not read), `c`
/// row-major, `a` and `b` given by their slices and (row stride, column stride).
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    m: usize,
    n: usize,
    k: usize,
    c: &mut [f32],
    init: Init<'_>,
    a: &[f32],
    a_strides: (usize, usize),
    b: &[f32],
    b_strides: (usize, usize),
) {
    matmul_on(Path::best(), m, n, k, c, init, a, a_strides, b, b_strides)
}

/// [`matmul`] on `path` if this CPU has it, else on `gemm`.
#[allow(clippy::too_many_arguments)]
fn matmul_on(
    path: Path,
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
    let path = if path.on_this_cpu() { path } else { Path::Gemm };
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
    if b_cs == 1 && path != Path::Gemm {
        // SAFETY (both): the CPU has the kernel's features (checked where `path` was chosen,
        // `Path::on_this_cpu`); the asserts keep every element the kernel reads or writes
        // inside the slices (B's rows and the bias are read `n` columns wide, the last vector
        // masked to `n`), and `c` aliases nothing it reads.
        let (c, a, b) = (c.as_mut_ptr(), a.as_ptr(), b.as_ptr());
        match path {
            Path::Avx512 => unsafe { avx512::matmul(m, n, k, c, init, a, (a_rs, a_cs), b, b_rs) },
            _ => unsafe { avx2::matmul(m, n, k, c, init, a, (a_rs, a_cs), b, b_rs) },
        }
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
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

#[cfg(test)]
mod tests {
    use super::{matmul_on, Init, Path};

    /// Every shape class the kernel splits on (row blocks of 6 and their remainders, panels of
    /// 64 columns and 1–4 vectors with a masked tail), A read by rows or by columns, C from
    /// zero or from a bias: against a plain triple loop in f64, and nothing written
    /// outside C.
    #[test]
    fn products_match_a_plain_loop() {
        for path in [Path::Avx512, Path::Avx2, Path::Gemm] {
            if path.on_this_cpu() {
                products_match_a_plain_loop_on(path);
            }
        }
    }

    fn products_match_a_plain_loop_on(path: Path) {
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
                            let (sa, sb) = ((a_rs, a_cs), (n, 1));
                            matmul_on(path, m, n, k, &mut c, how, &a, sa, &b, sb);
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
                                        "{path:?} {m}x{n}x{k} ({a_by_columns}, {how:?}) at {i},{j}: {got} vs {want}"
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

    /// The AVX-512 and AVX2 kernels give the same bits (one fused chain per element, in the
    /// same order), on a product of PPO's shape.
    #[test]
    fn both_kernels_give_the_same_bits() {
        if !(Path::Avx512.on_this_cpu() && Path::Avx2.on_this_cpu()) {
            return;
        }
        let (m, n, k) = (131, 67, 64);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let bias: Vec<f32> = (0..n).map(|i| i as f32 * 0.01).collect();
        let run = |path| {
            let mut c = vec![0.0f32; m * n];
            matmul_on(
                path,
                m,
                n,
                k,
                &mut c,
                Init::Bias(&bias),
                &a,
                (k, 1),
                &b,
                (n, 1),
            );
            c.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(run(Path::Avx512), run(Path::Avx2));
    }
}
