//! `deploy`, and the deploy step of `build --push --deploy`: turn each image's registry digest and
//! `[images.<name>.deploy]` targets into deploy requests, and hand them to the deploy subsystem.

use std::collections::HashMap;

use super::{registry, Failure};
use crate::cli::args::{DeployArgs, DeployOptions as DeployFlags};
use crate::cli::Session;
use crate::deploy::{self, AwsEcs, DeployOptions, DeployRequest, PollSettings};
use crate::error::{render, Diagnostic, Exit};
use crate::execute::ImageResult;
use crate::manifest::{Manifest, RegistryKind};
use crate::names::{Digest, ImageName};
use crate::observe::{observe_keys, Observation};
use crate::registry::Registry;
use crate::report::{Event, Level};

/// Parses `--timeout`.
pub fn parse_timeout(text: &str) -> Result<std::time::Duration, Failure> {
    crate::manifest::parse_duration(text).map_err(|e| {
        super::ArgumentError {
            message: format!("--timeout {text}: {e}; write it like `30m` or `90s`"),
        }
        .into()
    })
}

/// The region ECS is asked in: the ECR registry's, else the AWS configuration's.
pub(super) fn ecs_region(manifest: &Manifest) -> Option<String> {
    match manifest.registry.as_ref().map(|r| &r.kind) {
        Some(RegistryKind::Ecr { region, .. }) => region.clone(),
        _ => None,
    }
}

/// Deploys the images whose digests are known; returns the exit code and the report as JSON.
async fn run_deploy(
    session: &Session,
    registry: &Registry,
    observation: &Observation,
    digests: &HashMap<ImageName, Digest>,
    options: DeployOptions,
) -> (Exit, Option<serde_json::Value>) {
    let (requests, exit) = requests(session, registry, observation, digests);
    if requests.is_empty() {
        session.reporter.event(Event::Note {
            subject: "",
            level: Level::Info,
            text: "no deploy targets for the selected images",
        });
        return (exit, None);
    }
    let ecs = match AwsEcs::connect(ecs_region(&observation.manifest).as_deref()).await {
        Ok(ecs) => ecs,
        Err(error) => {
            crate::errln!("{}", render(&error));
            return (exit.worst(crate::error::Diagnostic::exit(&error)), None);
        }
    };
    let report = deploy::deploy(&ecs, &requests, &options, session.reporter.as_ref()).await;
    for error in report.errors() {
        session.reporter.event(Event::Note {
            subject: "",
            level: Level::Error,
            text: &render(error),
        });
    }
    session.reporter.print(&report.render_text());
    record(session, &report);
    (
        exit.worst(report.exit()),
        serde_json::to_value(&report).ok(),
    )
}

/// A deploy request for each selected image with deploy targets; an image whose digest is not
/// known is reported and makes the run fail (exit 1).
fn requests(
    session: &Session,
    registry: &Registry,
    observation: &Observation,
    digests: &HashMap<ImageName, Digest>,
) -> (Vec<DeployRequest>, Exit) {
    let mut exit = Exit::Success;
    let mut requests = Vec::new();
    for prepared in &observation.images {
        if prepared.spec.deploy.is_empty() {
            continue;
        }
        match digests.get(&prepared.spec.name) {
            Some(digest) => requests.push(DeployRequest {
                image: prepared.spec.name.clone(),
                image_uri: registry.image_name(&prepared.spec.repository),
                digest: digest.clone(),
                platform: prepared.spec.platform.clone(),
                spec: prepared.spec.deploy.clone(),
            }),
            None => {
                let key = prepared
                    .key
                    .map(|k| k.tag().to_string())
                    .unwrap_or_else(|| "its key".into());
                session.reporter.event(Event::Note {
                    subject: prepared.spec.name.as_str(),
                    level: Level::Error,
                    text: &format!(
                        "not deployed: {}:{key} is not in the registry; run `fleet-images build --push` first",
                        registry.image_name(&prepared.spec.repository)
                    ),
                });
                exit = exit.worst(Exit::Failed);
            }
        }
    }
    (requests, exit)
}

/// Records the deploy for `rollback`; a record that cannot be written does not undo the deploy.
fn record(session: &Session, report: &deploy::DeployReport) {
    match deploy::save_record(&session.state_dir, report) {
        Ok(Some(path)) => session.reporter.event(Event::Note {
            subject: "",
            level: Level::Debug,
            text: &format!("recorded the deploy in {}", path.display()),
        }),
        Ok(None) => {}
        Err(error) => session.reporter.event(Event::Note {
            subject: "",
            level: Level::Warn,
            text: &format!(
                "could not record the deploy in {} (`rollback` will need --from): {error}",
                deploy::record_dir(&session.state_dir).display()
            ),
        }),
    }
}

/// The deploy options of the flags.
pub(super) fn deploy_options(
    flags: &DeployFlags,
    dry_run: bool,
    force: bool,
) -> Result<DeployOptions, Failure> {
    Ok(DeployOptions {
        wait: !flags.no_wait,
        timeout: parse_timeout(&flags.timeout)?,
        dry_run,
        force,
        poll: PollSettings::from_env(),
    })
}

/// The deploy step of `build --push --deploy`, with the digests the run pushed or found.
pub async fn deploy_results(
    session: &Session,
    registry: &Registry,
    observation: &Observation,
    results: &[ImageResult],
    flags: &DeployFlags,
) -> (Exit, Option<serde_json::Value>) {
    let options = match deploy_options(flags, false, false) {
        Ok(options) => options,
        Err(error) => {
            crate::errln!("{}", render(error.as_ref()));
            return (Exit::BadInput, None);
        }
    };
    let digests = results
        .iter()
        .filter_map(|r| Some((r.name.clone(), r.digest.clone()?)))
        .collect();
    run_deploy(session, registry, observation, &digests, options).await
}

/// Runs `deploy`: the images of the current inputs, as the registry has them.
pub async fn run(session: &Session, args: DeployArgs) -> Result<Exit, Failure> {
    let options = deploy_options(&args.deploy_options, args.dry_run, args.force)?;
    let observation = match observe_keys(session, &args.select.images).await? {
        Ok(observation) => observation,
        Err(blocked) => {
            crate::errln!("{}", blocked.reason());
            return Ok(blocked.exit());
        }
    };
    let registry = registry::connect(&observation).await?;
    let digests = registry::lookup(&registry, &observation).await?;
    let (exit, report) = run_deploy(session, &registry, &observation, &digests, options).await;
    Ok(match &args.json_out {
        Some(path) => {
            let value = serde_json::json!({ "deploy": report, "exit_code": exit.code() });
            super::write_json_out(path, &value, exit)
        }
        None => exit,
    })
}
