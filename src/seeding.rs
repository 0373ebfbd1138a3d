//! Seeds of libtorch's global generator, derived from a run's seed: one per purpose and index.
//!
//! Training reseeds before each random choice (the data set, the initial weights, each epoch's order,
//! each step's noise), so any step can be replayed from the seed alone: a resumed run draws exactly
//! what the uninterrupted run would have drawn, without storing the generator's state.

/// What a seed is for; each purpose has a stream of seeds of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The training set (or the rows the standardisation is fitted on).
    Data = 1,
    /// The initial weights.
    Init = 2,
    /// The order of the rows in one epoch (indexed by epoch).
    Epoch = 3,
    /// The noise and fresh draws of one optimiser step (indexed by step).
    Step = 4,
    /// The noise of one validation (indexed by step).
    Validation = 5,
    /// The order of a streamed data set's files in one pass (indexed by pass).
    Files = 6,
}

/// Seeds libtorch's generator (CPU and CUDA) for `stream` at `index` of a run seeded with `seed`.
pub fn reseed(seed: u64, stream: Stream, index: u64) {
    tch::manual_seed(derive(seed, stream, index) as i64 & i64::MAX);
}

/// A well-mixed 64-bit seed from the three parts (SplitMix64's finaliser applied to each in turn).
pub fn derive(seed: u64, stream: Stream, index: u64) -> u64 {
    [stream as u64, index].iter().fold(mix(seed), |state, &part| mix(state ^ mix(part)))
}

fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_indices_get_distinct_seeds() {
        let seeds: std::collections::HashSet<u64> =
            [Stream::Data, Stream::Init, Stream::Epoch, Stream::Step, Stream::Validation, Stream::Files]
                .iter()
                .flat_map(|&stream| (0..100).flat_map(move |index| [derive(42, stream, index), derive(43, stream, index)]))
                .collect();
        assert_eq!(seeds.len(), 6 * 100 * 2);
        assert_eq!(derive(42, Stream::Step, 7), derive(42, Stream::Step, 7));
    }
}
