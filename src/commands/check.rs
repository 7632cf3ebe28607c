//! `check`: the deployment lessons as rules over each image's manifest entry, Dockerfile, sent
//! context and, when it is built, the image itself.

use super::Failure;
use crate::check::{check, CheckTarget};
use crate::cli::args::CheckArgs;
use crate::cli::Session;
use crate::error::{render, Exit};
use crate::observe::{observe, ObserveOptions};

/// Runs `check`.
pub async fn run(session: &Session, args: CheckArgs) -> Result<Exit, Failure> {
    let observation = observe(
        session,
        &args.select.images,
        ObserveOptions {
            engine_required: false,
            pull: false,
            save_records: false,
        },
    )
    .await?;
    let targets: Vec<CheckTarget<'_>> = observation
        .images
        .iter()
        .map(|p| CheckTarget {
            spec: &p.spec,
            inputs: p.inputs.as_ref().ok().map(|i| i.as_ref()),
            image: p.local.as_deref(),
        })
        .collect();
    let report = check(&targets, observation.engine.as_ref()).await;
    // An image whose inputs cannot be read is bad input, whatever the rules found.
    let mut exit = report.exit();
    let unreadable: Vec<String> = observation
        .images
        .iter()
        .filter_map(|p| p.inputs.as_ref().err().map(|e| e.reason()))
        .collect();
    for prepared in observation.images.iter().filter(|p| p.inputs.is_err()) {
        // Each keeps its own code: 2 for its files, 3 for an engine that failed on its base.
        exit = exit.worst(match prepared.blocked_exit() {
            Exit::Success => Exit::BadInput,
            blocked => blocked,
        });
    }
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&report).expect("json"));
        return Ok(exit);
    }
    for finding in &report.findings {
        crate::outln!("{}", finding.render());
    }
    for note in &report.notes {
        crate::outln!("note: {}: {}", note.image, note.text);
    }
    for failure in &report.failures {
        crate::errln!("{}", render(&failure.error));
    }
    for error in unreadable {
        crate::errln!("{error}");
    }
    if observation.engine.is_none() {
        crate::outln!("note: the engine is not reachable: only the static rules ran");
    }
    crate::outln!("{}", report.summary(observation.images.len()));
    Ok(exit)
}
