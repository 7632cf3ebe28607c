//! `check`: the deployment lessons as rules.

use super::Failure;
use crate::cli::args::CheckArgs;
use crate::cli::Session;
use crate::error::Exit;

/// Runs `check`.
pub async fn run(_session: &Session, _args: CheckArgs) -> Result<Exit, Failure> {
    Err(super::ArgumentError {
        message: "check is not available in this build".into(),
    }
    .into())
}
