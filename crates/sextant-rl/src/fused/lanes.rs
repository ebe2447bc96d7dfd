//! The element-wise loops of a minibatch, compiled for AVX-512 or AVX2 lanes when the CPU has
//! them (the workspace builds for baseline x86-64, four lanes).
//!
//! Each is a plain loop compiled three times: the results are the same bits whichever runs (no
//! fused multiply-add is introduced: Rust never contracts `a * b + c`), only faster. The
//! exception is tanh, whose polynomials use fused multiply-adds where the CPU has them.

/// Defines `pub(crate) fn $name` running its body with the widest lanes the CPU has.
macro_rules! wide {
    ($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        pub(crate) fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn plain($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512($($arg: $ty),*) $(-> $ret)? {
                    plain($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    plain($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F (checked just above).
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2 (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            plain($($arg),*)
        }
    };
}

/// `tanh` of every value: [`sextant_numeric::tanh_f32_fused`] on AVX-512 or AVX2 lanes with
/// FMA, [`sextant_numeric::tanh_f32`] otherwise (both within two ulp of the true value; they
/// may differ from each other in the last bit).
pub(crate) fn tanh_in_place(y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[inline(always)]
        fn fused(y: &mut [f32]) {
            y.iter_mut()
                .for_each(|v| *v = sextant_numeric::tanh_f32_fused(*v));
        }
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn avx512(y: &mut [f32]) {
            fused(y)
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2(y: &mut [f32]) {
            fused(y)
        }
        if std::arch::is_x86_feature_detected!("fma") {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F and FMA (checked just above).
                unsafe { avx512(y) };
                return;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 and FMA (checked just above).
                unsafe { avx2(y) };
                return;
            }
        }
    }
    y.iter_mut()
        .for_each(|v| *v = sextant_numeric::tanh_f32(*v));
}

wide! {
    /// `d *= 1 − y²`: a gradient through tanh, given tanh's outputs `y`.
    fn tanh_backward(d: &mut [f32], y: &[f32]) {
        d.iter_mut().zip(y).for_each(|(g, y)| *g *= 1.0 - y * y);
    }
}

wide! {
    /// `sum += ` each row of `d` (rows as wide as `sum`): a bias's gradient.
    fn add_rows(sum: &mut [f32], d: &[f32]) {
        for row in d.chunks_exact(sum.len()) {
            sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
        }
    }
}

wide! {
    /// The sum of the squares, in f64: eight running sums (lanes), added in order at the end.
    fn sq_sum(g: &[f32]) -> f64 {
        let mut acc = [0f64; 8];
        let chunks = g.chunks_exact(8);
        let rest = chunks.remainder();
        for c in chunks {
            for (a, v) in acc.iter_mut().zip(c) {
                *a += f64::from(*v) * f64::from(*v);
            }
        }
        let mut s = 0.0;
        for a in acc {
            s += a;
        }
        for v in rest {
            s += f64::from(*v) * f64::from(*v);
        }
        s
    }
}

/// The constants of one Adam step (see `adam`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdamStep {
    /// Gradient scale (the clip).
    pub k: f32,
    pub b1: f32,
    pub b2: f32,
    /// Bias corrections of the moments.
    pub sm: f32,
    pub sv: f32,
    pub eps: f32,
    pub lr: f32,
}

wide! {
    /// One Adam step over a parameter array `p`, its gradient `g` and moments `m`, `v` (all
    /// the same length).
    fn adam_update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamStep) {
        let n = p.len();
        let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
        for i in 0..n {
            let g = g[i] * s.k;
            m[i] = s.b1 * m[i] + (1.0 - s.b1) * g;
            v[i] = s.b2 * v[i] + (1.0 - s.b2) * g * g;
            p[i] -= s.lr * (m[i] * s.sm) / ((v[i] * s.sv).sqrt() + s.eps);
        }
    }
}

wide! {
    /// `e^x` of every value ([`sextant_numeric::exp`]).
    fn exp_in_place(x: &mut [f64]) {
        x.iter_mut().for_each(|v| *v = sextant_numeric::exp(*v));
    }
}
