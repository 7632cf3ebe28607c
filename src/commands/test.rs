//! `test`: start each built image that has a `[images.<name>.test]` section and probe it.

use super::Failure;
use crate::cli::args::TestArgs;
use crate::cli::Session;
use crate::error::Exit;
use crate::imagetest::{test_images, TestOptions, TestOutcome, TestTarget};
use crate::manifest::ServiceImage;
use crate::observe::{observe, ObserveOptions};
use crate::report::{Event, Level};

/// Runs `test`. An image with a test section that is not built fails with a hint to build it.
pub async fn run(session: &Session, args: TestArgs) -> Result<Exit, Failure> {
    // The fleet images that test services run are observed too, to find their local images.
    let mut observed = args.select.images.clone();
    if !observed.is_empty() {
        let manifest = crate::manifest::load(&session.manifest, &session.load)?;
        for image in &manifest.images {
            if !observed.iter().any(|n| n == image.name.as_str()) {
                continue;
            }
            for service in image.test.iter().flat_map(|t| &t.services) {
                if let ServiceImage::Fleet(name) = &service.image {
                    if !observed.iter().any(|n| n == name.as_str()) {
                        observed.push(name.to_string());
                    }
                }
            }
        }
    }
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
    let named = |name: &crate::names::ImageName| {
        args.select.images.is_empty() || args.select.images.iter().any(|n| n == name.as_str())
    };
    let mut exit = Exit::Success;
    let mut targets = Vec::new();
    for prepared in observation.images.iter().filter(|p| named(&p.spec.name)) {
        let Some(spec) = &prepared.spec.test else {
            if !args.select.images.is_empty() {
                session.reporter.event(Event::Note {
                    subject: prepared.spec.name.as_str(),
                    level: Level::Warn,
                    text: "has no [images.<name>.test] section: nothing to test",
                });
            }
            continue;
        };
        match (&prepared.local, &prepared.inputs) {
            (Some(id), _) => match observation.service_images(spec) {
                Ok(services) => targets.push(TestTarget {
                    image: prepared.spec.name.clone(),
                    reference: id.clone(),
                    spec,
                    services,
                }),
                Err(error) => {
                    session.reporter.event(Event::Note {
                        subject: prepared.spec.name.as_str(),
                        level: Level::Error,
                        text: &error.to_string(),
                    });
                    exit = exit.worst(Exit::Failed);
                }
            },
            (None, Err(error)) => {
                session.reporter.event(Event::Note {
                    subject: prepared.spec.name.as_str(),
                    level: Level::Error,
                    text: &error.reason(),
                });
                exit = exit.worst(Exit::BadInput);
            }
            (None, Ok(_)) => {
                session.reporter.event(Event::Note {
                    subject: prepared.spec.name.as_str(),
                    level: Level::Error,
                    text: &format!(
                        "not built with its current inputs; run `fleet-images build {}` first",
                        prepared.spec.name
                    ),
                });
                exit = exit.worst(Exit::Failed);
            }
        }
    }
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
