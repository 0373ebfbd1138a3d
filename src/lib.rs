//! innfer: posteriors of ill-posed inverse problems with invertible neural networks on libtorch.
//!
//! The modules follow the method: [`problem`] (priors and forward processes) → [`model`] (the
//! invertible networks) → [`loss`] → [`train`] → [`sample`] (posteriors).

pub mod abc;
pub mod device;
pub mod error;
pub mod eval;
pub mod io;
pub mod loss;
pub mod model;
pub mod plot;
pub mod problem;
pub mod runtime;
pub mod sample;
pub mod seeding;
pub mod train;

pub use error::{Error, Result};

/// The libtorch version innfer is built against (torch-sys refuses to build against any other).
pub const LIBTORCH_VERSION: &str = "2.11.0";
