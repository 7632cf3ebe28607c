//! Planning: a pure function from (manifest, keys, observations) to the list of decisions, and
//! the record of inputs that `plan --explain` compares against.

pub mod explain;
mod model;
mod planner;

pub use model::*;
pub use planner::plan;
