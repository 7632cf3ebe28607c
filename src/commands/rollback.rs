//! `rollback`: read which services the last deploy of the selected images changed (the state
//! directory's records, or `--from` an artifact), and return each to the revision it replaced,
//! waiting as a deploy does.

use super::deploy::{deploy_options, ecs_region};
use super::Failure;
use crate::cli::args::RollbackArgs;
use crate::cli::Session;
use crate::deploy::{self, AwsEcs};
use crate::error::{render, Diagnostic, Exit};
use crate::manifest;
use crate::names::ImageName;
use crate::report::{Event, Level};

/// Runs `rollback`.
pub async fn run(session: &Session, args: RollbackArgs) -> Result<Exit, Failure> {
    let options = deploy_options(&args.deploy_options, args.dry_run, false)?;
    let manifest = manifest::load(&session.manifest, &session.load)?;
    // Validates the names (with a "did you mean"); only the named images are rolled back, not
    // what they depend on.
    let images: Vec<ImageName> = manifest::select(&manifest, &args.images)?
        .into_iter()
        .filter(|image| args.images.iter().any(|name| name == image.as_str()))
        .collect();
    let targets = deploy::rollback_targets(&session.state_dir, args.from.as_deref(), &images)?;
    for target in &targets {
        session.reporter.event(Event::Note {
            subject: &format!(
                "{}/{}",
                deploy::short_name(&target.cluster),
                deploy::short_name(&target.service)
            ),
            level: Level::Info,
            text: &format!(
                "returns to {}",
                deploy::revision_name(&target.task_definition)
            ),
        });
    }
    let ecs = match AwsEcs::connect(ecs_region(&manifest).as_deref()).await {
        Ok(ecs) => ecs,
        Err(error) => {
            crate::errln!("{}", render(&error));
            return Ok(error.exit());
        }
    };
    let report = deploy::rollback(&ecs, &targets, &options, session.reporter.as_ref()).await;
    for error in report.errors() {
        session.reporter.event(Event::Note {
            subject: "",
            level: Level::Error,
            text: &render(error),
        });
    }
    session.reporter.print(&report.render_text());
    let exit = report.exit();
    Ok(match &args.json_out {
        Some(path) => {
            let value = serde_json::json!({ "rollback": report, "exit_code": exit.code() });
            super::write_json_out(path, &value, exit)
        }
        None => exit,
    })
}
