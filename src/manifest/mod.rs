//! The fleet manifest (`images/fleet.toml`): its model, and loading it with errors that name the
//! file, line and key.

mod dependencies;
mod deploy_section;
mod duration;
mod error;
mod load;
mod model;
mod reader;
mod registry_section;
pub mod rule_ids;
mod test_section;
mod test_spec;
mod test_values;
mod vars;

pub use dependencies::select;
pub use deploy_section::DEFAULT_KEEP_REVISIONS;
pub use duration::{parse_duration, DurationError, MAX_DURATION};
pub use error::ManifestError;
pub use load::{load, parse, LoadOptions};
pub use model::*;
pub use registry_section::DEFAULT_KEEP_IMAGES;
pub use test_section::{normalise_port, DEFAULT_TEST_TIMEOUT};
pub use test_spec::*;
pub use vars::env_name;

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;
