//! The applications built on the library: the main job and the benchmarks.

pub mod bench;
pub mod showcase;
