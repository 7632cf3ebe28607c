//! What carrying out a plan did: every image's result and the run's exit code.

use crate::error::Exit;
use crate::report::ImageResult;

/// What a run did.
#[derive(Debug)]
pub struct Executed {
    /// One result per planned image, in the plan's (dependency) order.
    pub results: Vec<ImageResult>,
    /// The worst exit code its steps called for.
    pub exit: Exit,
}
