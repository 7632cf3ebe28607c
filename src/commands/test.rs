//! `test`: start each built image that has a `[images.<name>.test]` section and probe it.

use super::Failure;
use crate::cli::args::TestArgs;
use crate::cli::Session;
use crate::error::Exit;
use crate::imagetest::{test_images, TestOptions, TestOutcome, TestTarget};
use crate::manifest::ServiceImage;
use crate::observe::{observe, Observation, ObserveOptions};
use crate::report::{Event, Level};

/// Runs `test`: observe the named images and the fleet images their services run, start each
/// built one beside its services, probe it, and report.
pub async fn run(session: &Session, args: TestArgs) -> Result<Exit, Failure> {
    let observed = with_fleet_services(session, &args.select.images)?;
    let observation = observe(
        session,
        &observed,
        ObserveOptions {
            engine_required: true,
            pull: false,
            save_records: false,
        },
    )
    .await?;
    let engine = observation.engine.as_ref().expect("engine required");
    let (targets, exit) = targets(session, &args, &observation);
    let options = TestOptions {
        keep: args.keep,
        jobs: args.jobs,
        ..Default::default()
    };
    let cancel = options.cancel.clone();
    let signal = tokio::spawn(async move {
        crate::cli::signal::interrupted().await;
        cancel.cancel();
    });
    let outcomes = test_images(engine, &targets, &options, session.reporter.as_ref()).await;
    signal.abort();
    session.reporter.finish();
    if args.json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&outcomes).expect("outcomes serialize")
        );
    } else {
        for outcome in &outcomes {
            crate::outln!("{}", outcome.render());
        }
    }
    Ok(exit.worst(TestOutcome::exit_of(&outcomes)))
}

/// The images to observe: the named ones (all when none is named) and the fleet images their
/// test services run, so that those services' local images are found too.
fn with_fleet_services(session: &Session, named: &[String]) -> Result<Vec<String>, Failure> {
    let mut observed = named.to_vec();
    if observed.is_empty() {
        return Ok(observed);
    }
    let manifest = crate::manifest::load(&session.manifest, &session.load)?;
    for image in manifest
        .images
        .iter()
        .filter(|i| named.iter().any(|n| n == i.name.as_str()))
    {
        for service in image.test.iter().flat_map(|t| &t.services) {
            if let ServiceImage::Fleet(name) = &service.image {
                if !observed.iter().any(|n| n == name.as_str()) {
                    observed.push(name.to_string());
                }
            }
        }
    }
    Ok(observed)
}

/// Each selected image with a test section that can be tested, and the exit code of those that
/// cannot: an image that is not built (1), whose inputs are bad (2), or whose services are not
/// built (1), each reported.
fn targets<'o>(
    session: &Session,
    args: &TestArgs,
    observation: &'o Observation,
) -> (Vec<TestTarget<'o>>, Exit) {
    let named = |name: &crate::names::ImageName| {
        args.select.images.is_empty() || args.select.images.iter().any(|n| n == name.as_str())
    };
    let mut exit = Exit::Success;
    let mut targets = Vec::new();
    for prepared in observation.images.iter().filter(|p| named(&p.spec.name)) {
        let subject = prepared.spec.name.as_str();
        let Some(spec) = &prepared.spec.test else {
            if !args.select.images.is_empty() {
                session.reporter.event(Event::Note {
                    subject,
                    level: Level::Warn,
                    text: "has no [images.<name>.test] section: nothing to test",
                });
            }
            continue;
        };
        let refused = match (&prepared.local, &prepared.inputs) {
            (Some(id), _) => match observation.service_images(spec) {
                Ok(services) => {
                    targets.push(TestTarget {
                        image: prepared.spec.name.clone(),
                        reference: id.clone(),
                        spec,
                        services,
                    });
                    continue;
                }
                Err(error) => (error.to_string(), Exit::Failed),
            },
            (None, Err(error)) => (error.reason(), Exit::BadInput),
            (None, Ok(_)) => (
                format!(
                    "not built with its current inputs; run `fleet-images build {}` first",
                    prepared.spec.name
                ),
                Exit::Failed,
            ),
        };
        session.reporter.event(Event::Note {
            subject,
            level: Level::Error,
            text: &refused.0,
        });
        exit = exit.worst(refused.1);
    }
    (targets, exit)
}
