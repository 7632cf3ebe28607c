//! `test`: start each image locally and probe it.

use super::Failure;
use crate::cli::args::TestArgs;
use crate::cli::Session;
use crate::error::Exit;

/// Runs `test`.
pub async fn run(_session: &Session, _args: TestArgs) -> Result<Exit, Failure> {
    Err(super::ArgumentError {
        message: "test is not available in this build".into(),
    }
    .into())
}
