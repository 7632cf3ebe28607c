//! Planning: a pure function from (manifest, keys, observations) to the list of decisions, and
//! the record of inputs that `plan --explain` compares against, and the index of local images by
//! key.

pub mod explain;
pub mod known_images;
mod model;
mod planner;
pub mod waves;

pub use model::*;
pub use planner::plan;
