//! `deploy`, and the deploy step of `build --push --deploy`.

use super::prepare::Observation;
use super::Failure;
use crate::cli::args::{DeployArgs, DeployOptions};
use crate::cli::Session;
use crate::error::Exit;
use crate::execute::ImageResult;
use crate::registry::Registry;

/// Parses `--timeout`.
pub fn parse_timeout(text: &str) -> Result<std::time::Duration, Failure> {
    humantime::parse_duration(text).map_err(|e| {
        super::ArgumentError {
            message: format!("--timeout {text}: {e}; write it like `30m` or `90s`"),
        }
        .into()
    })
}

/// Deploys every image in `results` that has deploy targets.
pub async fn deploy_results(
    _session: &Session,
    _registry: &Registry,
    _observation: &Observation,
    _results: &[ImageResult],
    _options: &DeployOptions,
    _dry_run: bool,
    _force: bool,
) -> (Exit, Option<serde_json::Value>) {
    (Exit::Failed, None)
}

/// Runs `deploy`.
pub async fn run(_session: &Session, _args: DeployArgs) -> Result<Exit, Failure> {
    Err(super::ArgumentError {
        message: "deploy is not available in this build".into(),
    }
    .into())
}
