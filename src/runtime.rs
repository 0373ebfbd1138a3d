//! Process-wide settings that make libtorch fast on the CPU.

/// Keeps freed memory in the process instead of returning it to the system at once.
///
/// libtorch allocates and frees tensors of megabytes every step (MMD kernel matrices, activations);
/// with glibc's defaults each one is a fresh mmap and page faults, which on two cores doubled the time
/// of a training step. Serving every allocation from the heap and trimming it rarely lets the heap
/// reuse that memory (the mmap threshold cannot be raised past 32 MB, and MMD kernel matrices of
/// large batches are bigger than that).
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before other threads allocate.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}
