//! Process-wide settings the data layer's large columnar buffers depend on.

/// Fixes glibc's threshold above which `malloc` maps memory directly (32 MiB, the ceiling its
/// dynamic rule would reach anyway) instead of letting it move with each free.
///
/// Why: once DuckDB has allocated and freed a few large blocks (a big write or commit), glibc's
/// dynamic threshold and trim rules leave the heap in a state where the next multi-megabyte
/// buffers are much slower to use: measured on the 10M-row feature benchmark, the kernels took
/// 2.4–2.8 s after a materialisation in the same process and 1.4–1.5 s in a fresh one; with the
/// threshold fixed they take 1.4 s in both. Setting it explicitly (as `mallopt` documents)
/// turns the dynamic adjustment off. Call once at start-up, before other threads exist (the
/// `sextant` binary and the benchmark programs do). A no-op off Linux/glibc.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; M_MMAP_THRESHOLD with a value within
    // glibc's documented range (at most 32 MiB on 64-bit) is always accepted.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}
