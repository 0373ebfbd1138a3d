//! Reading and writing files: atomic writes, CSV tables.

pub mod atomic;
pub mod observations;
pub mod table;
