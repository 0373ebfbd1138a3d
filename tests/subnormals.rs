//! Numbers below single precision's normal range become zero: in the calling thread, in threads it
//! starts later, and in libtorch's workers (a process of its own, so no worker exists before).

use tch::{Device, Kind, Tensor};

/// 1e-30 · 1e-10: a subnormal number unless it is flushed to zero.
fn tiny_product() -> f32 {
    std::hint::black_box(1e-30f32) * std::hint::black_box(1e-10f32)
}

#[test]
fn subnormal_results_are_zero_in_every_thread() {
    innfer::runtime::flush_subnormals_to_zero();
    tch::set_num_threads(2);
    assert_eq!(tiny_product(), 0.0, "the calling thread");
    assert_eq!(std::thread::spawn(tiny_product).join().unwrap(), 0.0, "a thread started afterwards");
    let products = Tensor::full([1 << 20], 1e-30, (Kind::Float, Device::Cpu)) * 1e-10;
    assert_eq!(products.count_nonzero(None).int64_value(&[]), 0, "libtorch's workers");
}
