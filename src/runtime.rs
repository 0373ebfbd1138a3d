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

/// Makes the CPU treat numbers too small for a normal single-precision float (below about 1.2e-38)
/// as zero, in this thread and in every thread it starts later (libtorch's workers among them).
///
/// Training drives some values there: weight decay pulls the weights of idle units towards zero,
/// and Adam's running means decay towards it where gradients vanish. Intel CPUs compute with such
/// subnormal numbers many times slower than with normal ones: the mixture INN's steps slowed from
/// 74 to 20 per second over 9000 steps on an Intel Xeon VM (docs/experiments.md, "subnormal
/// numbers"). PyTorch offers the same switch as `torch.set_flush_denormal`. Other architectures keep
/// their default. Set `INNFER_KEEP_SUBNORMALS=1` to keep them: a run that meets subnormal numbers
/// then ends with the digits of full IEEE arithmetic (those of the README's rows measured so).
pub fn flush_subnormals_to_zero() {
    if std::env::var_os("INNFER_KEEP_SUBNORMALS").is_some_and(|value| value == "1") {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: reads and writes the SSE control register of this thread only, setting the
    // flush-to-zero (bit 15) and subnormals-are-zero (bit 6) flags; no memory but `control` is touched.
    unsafe {
        let mut control: u32 = 0;
        std::arch::asm!("stmxcsr [{}]", in(reg) &mut control, options(nostack, preserves_flags));
        control |= (1 << 15) | (1 << 6);
        std::arch::asm!("ldmxcsr [{}]", in(reg) &control, options(nostack, readonly, preserves_flags));
    }
}

/// Tells Intel's MKL (linked into libtorch for matrix products) that it runs on an Intel CPU.
///
/// MKL asks this function whether the CPU is Intel's and, when it is not, takes slower generic code
/// paths whatever the CPU supports: on the AMD EPYC (Zen 5) of our 2-core machines a 4096×128 by
/// 128×128 product ran at 210 GFLOP/s instead of 482 (PyTorch, `LD_PRELOAD` of the same function).
/// MKL still chooses its instructions from what the CPU reports it can do. libtorch resolves the
/// symbol dynamically, so the one exported by innfer's binaries (see build.rs) takes precedence over
/// MKL's own. Set `INNFER_MKL_VENDOR_CHECK=1` to keep MKL's own answer.
#[no_mangle]
pub extern "C" fn mkl_serv_intel_cpu_true() -> std::os::raw::c_int {
    static ANSWER: std::sync::OnceLock<std::os::raw::c_int> = std::sync::OnceLock::new();
    *ANSWER.get_or_init(|| {
        let keep_vendor_check = std::env::var_os("INNFER_MKL_VENDOR_CHECK").is_some_and(|value| value == "1");
        match keep_vendor_check {
            true => cpu_is_intel().into(),
            false => 1,
        }
    })
}

/// Whether the CPU's vendor string is Intel's.
fn cpu_is_intel() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let leaf = std::arch::x86_64::__cpuid(0);
        let vendor: Vec<u8> = [leaf.ebx, leaf.edx, leaf.ecx].iter().flat_map(|word| word.to_le_bytes()).collect();
        vendor == b"GenuineIntel"
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}
