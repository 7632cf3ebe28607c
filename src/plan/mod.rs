//! Planning: a pure function from (manifest, keys, observations) to the list of decisions, the
//! comparison of input records that `plan --explain` prints, and the CI waves. Writes no file.

pub mod explain;
mod model;
mod planner;
pub mod waves;

pub use model::*;
pub use planner::plan;
