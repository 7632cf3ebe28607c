//! Carrying a plan out: builds in dependency order with bounded concurrency, then pushes and
//! moving tags, each step reported through the [`Reporter`](crate::report::Reporter).

pub mod builds;
mod logs;
pub mod outcome;

pub use outcome::{ImageResult, Outcome};
