//! Links innfer against the libtorch that torch-sys found (the torch==2.11.0 wheel) so that the
//! binaries run without LD_LIBRARY_PATH and see CUDA where the machine has it.

fn main() {
    // torch-sys (links = "tch") exports the folder of libtorch's shared libraries to its dependents.
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib_dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=torch-sys did not report libtorch's lib folder; run scripts/setup.sh");
        return;
    };
    // An rpath to torch/lib: `cargo run`, `cargo test` and an installed binary find libtorch by themselves.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
    // rustc links with --as-needed, which would drop libtorch.so (and with it libtorch_cuda.so, whose
    // kernels nothing references by name): keep it, so CUDA is visible on machines that have it.
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-L{lib_dir}");
    println!("cargo:rustc-link-arg=-ltorch");
    println!("cargo:rustc-link-arg=-Wl,--as-needed");
    // Export innfer's answer to MKL's vendor check (src/runtime.rs) from every binary of the package,
    // so that libtorch's MKL finds it before its own.
    println!("cargo:rustc-link-arg=-Wl,--undefined=mkl_serv_intel_cpu_true");
    println!("cargo:rustc-link-arg=-Wl,--export-dynamic-symbol=mkl_serv_intel_cpu_true");
}
