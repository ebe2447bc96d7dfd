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

/// Asks the kernel to back `buf` with memory now, in one call per buffer, instead of one page
/// fault per page on first write (`MADV_POPULATE_WRITE`, Linux 5.14+).
///
/// Why: a freshly allocated multi-megabyte buffer (a feature column) is mapped lazily, and on
/// this project's virtual machines a page fault costs several microseconds: writing 1.4 GB of
/// new feature columns took more of the kernels' time in faults than in arithmetic. The
/// contents are unchanged (`buf` keeps its values); on an older kernel, another OS, or a
/// failure, nothing happens and the pages fault in as before.
pub fn populate<T: Copy>(buf: &mut [T]) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf only reads a system constant.
        let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            p if p > 0 => p as usize,
            _ => return,
        };
        let start = buf.as_mut_ptr() as usize;
        let end = start + std::mem::size_of_val(buf);
        // madvise wants a page-aligned start: cover the whole pages inside the buffer.
        let first = start.div_ceil(page) * page;
        if end < first + page {
            return;
        }
        let len = (end - first) / page * page;
        // SAFETY: [first, first + len) lies inside `buf`, which we borrow mutably, so no other
        // reference observes the pages while they are populated; MADV_POPULATE_WRITE only
        // faults the pages in as a write would (existing contents are kept), and its result
        // is ignored because a failure leaves the memory exactly as it was.
        unsafe {
            libc::madvise(first as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::populate;

    #[test]
    fn populating_keeps_every_value() {
        for n in [0usize, 1, 511, 512, 513, 3 << 20] {
            let mut v: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 7.0).collect();
            populate(&mut v);
            populate(&mut v[1.min(n)..]);
            assert!(
                v.iter()
                    .enumerate()
                    .all(|(i, &x)| x == i as f64 * 0.5 - 7.0),
                "{n}"
            );
        }
        let mut fresh = vec![0u32; 5 << 20];
        populate(&mut fresh);
        assert!(fresh.iter().all(|&x| x == 0));
    }
}
