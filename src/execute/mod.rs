//! Carrying a plan out, each step reported through the [`Reporter`](crate::report::Reporter):
//! the builder chosen and checked ([`builder`]), each image's decision carried out and the builds
//! scheduled in dependency order with bounded concurrency ([`run`], [`builds`]), key tags pushed
//! ([`push`]), moving tags written all or nothing ([`moving_tags`]) and the deploy handed off
//! ([`deploy`]). The engine and the registry are reached through
//! [`ImageEngine`](crate::docker::ImageEngine) and [`ImageRegistry`](crate::registry::ImageRegistry),
//! so this logic is unit-tested on doubles. Commands hand it [`Planned`] images and report its
//! results with [`crate::report::summary`].

pub mod builder;
pub mod builds;
pub mod deploy;
mod executed;
pub mod labels;
mod logs;
pub mod moving_tags;
pub mod planned;
pub mod push;
pub mod run;
#[cfg(test)]
mod tests;

pub use crate::report::outcome::{ImageResult, Outcome};
pub use executed::Executed;
pub use planned::Planned;
pub use run::{Run, RunOptions};
