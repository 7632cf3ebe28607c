//! Testing one image, in order: metadata, files (and the user when the image itself is not
//! started) through a container that never starts, services, the image itself (`image.rs`), then
//! commands; the tests folded into one outcome, and everything removed after success, failure or
//! cancellation unless kept.

use std::time::{Duration, Instant};

use super::image::{check_user, test_image, Verdict};
use super::outcome::{engine_error, engine_words};
use super::outcome::{TestKind, TestOutcome, TestResult, TestStatus};
use super::probe;
use super::target::{TestOptions, TestTarget};
use super::{command, services, structure};
use crate::docker::{ContainerEngine, ContainerRequest, EngineError, TestContainer};
use crate::report::{Event, Reporter};

/// Tests one image: metadata, files (and the user when the image itself is not started),
/// services, the image itself (probe or "keeps running", and its user), commands; then removes
/// what it created. Ctrl+C drops the work, and the guards remove its containers and network.
pub(crate) async fn run_one<E: ContainerEngine>(
    engine: &E,
    target: &TestTarget<'_>,
    options: &TestOptions,
    reporter: &dyn Reporter,
    client: &reqwest::Client,
) -> TestOutcome {
    let started = Instant::now();
    let spec = target.spec;
    let mut outcome = TestOutcome {
        image: target.image.clone(),
        reference: target.reference.clone(),
        status: TestStatus::Interrupted,
        probe: describe_section(spec),
        message: "interrupted before it started".into(),
        hint: None,
        duration: Duration::ZERO,
        host_port: None,
        container: None,
        logs: Vec::new(),
        kept: None,
        cleanup_error: None,
        tests: Vec::new(),
        kept_also: Vec::new(),
    };
    if options.cancel.is_cancelled() {
        // Never started: no event, no container.
        return outcome;
    }
    reporter.event(Event::Started {
        subject: target.image.as_str(),
        action: "test",
    });
    let interrupted = {
        let work = run_all(engine, target, options, reporter, client, &mut outcome);
        tokio::select! {
            biased;
            _ = options.cancel.cancelled() => true,
            _ = work => false,
        }
    };
    if interrupted {
        // The dropped work handed its containers and network to the cleaner: wait for it, so
        // that an interrupted test has removed them before it says so.
        engine.settle().await;
        outcome.status = TestStatus::Interrupted;
        outcome.message = "interrupted".into();
    }
    finish(outcome, started, reporter)
}

/// What the outcome's header says was tested.
fn describe_section(spec: &crate::manifest::TestSpec) -> String {
    if spec.starts_image() {
        probe::describe(spec.probe.as_ref())
    } else {
        let n = spec.commands.len();
        format!("{n} command test{}", if n == 1 { "" } else { "s" })
    }
}

fn step(reporter: &dyn Reporter, subject: &str, text: &str) {
    reporter.event(Event::Step { subject, text });
}

async fn run_all<E: ContainerEngine>(
    engine: &E,
    target: &TestTarget<'_>,
    options: &TestOptions,
    reporter: &dyn Reporter,
    client: &reqwest::Client,
    outcome: &mut TestOutcome,
) {
    let spec = target.spec;
    let subject = target.image.as_str();
    // Until the image itself is tested, nothing has failed.
    outcome.status = TestStatus::Passed;
    outcome.message.clear();

    if !spec.metadata.is_empty() {
        step(reporter, subject, "reading the image's configuration");
        match engine.image_config(&target.reference).await {
            Ok(Some(config)) => outcome
                .tests
                .extend(structure::metadata(&spec.metadata, &config)),
            Ok(None) => {
                outcome.status = TestStatus::Error;
                outcome.message = format!("the engine has no image `{}`", target.reference);
                return;
            }
            Err(error) => return engine_error(outcome, &error),
        }
    }
    if let Err(error) = files_and_user(engine, target, reporter, outcome).await {
        return engine_error(outcome, &error);
    }

    let services = if spec.services.is_empty() {
        None
    } else {
        start_services(engine, target, reporter, client, outcome).await
    };
    let network = services.as_ref().map(|s| s.network().to_string());

    if outcome.status == TestStatus::Passed {
        if spec.starts_image() {
            test_image(
                engine,
                target,
                options,
                reporter,
                client,
                network.as_deref(),
                outcome,
            )
            .await;
        }
        let context = command::CommandRun {
            reference: &target.reference,
            image: subject,
            env: &spec.env,
            network: network.as_deref(),
        };
        for test in &spec.commands {
            step(
                reporter,
                subject,
                &format!("running command test `{}`", test.name),
            );
            outcome
                .tests
                .push(command::run(engine, &context, test).await);
        }
    }

    if let Some(services) = services {
        if options.keep {
            outcome.kept_also = services.keep();
        } else if let Err(error) = services.remove().await {
            outcome.cleanup_error.get_or_insert(engine_words(&error));
        }
    }
    combine(outcome);
}

/// Starts the image's services on a private network and waits until they are ready; their
/// results go into the outcome, which fails when one is not ready. `None` when they could not
/// be started at all.
async fn start_services<E: ContainerEngine>(
    engine: &E,
    target: &TestTarget<'_>,
    reporter: &dyn Reporter,
    client: &reqwest::Client,
    outcome: &mut TestOutcome,
) -> Option<services::Services<E>> {
    let spec = target.spec;
    let subject = target.image.as_str();
    let pairs: Vec<(&crate::manifest::ServiceSpec, &str)> = spec
        .services
        .iter()
        .zip(target.services.iter().map(String::as_str))
        .collect();
    step(
        reporter,
        subject,
        &format!(
            "starting {} service{} on a private network",
            pairs.len(),
            if pairs.len() == 1 { "" } else { "s" }
        ),
    );
    match services::start(engine, subject, &pairs, spec.timeout, client).await {
        Ok((services, results)) => {
            let ready = results.len() == spec.services.len()
                && results.iter().all(|r| r.status == TestStatus::Passed);
            outcome.tests.extend(results);
            if !ready {
                outcome.status = TestStatus::Failed;
                outcome.message =
                    "a service did not become ready, so the image was not tested".into();
                outcome.hint = Some("the service's result above says why; check its `image`, `env` and `ready` in the test section".into());
            }
            Some(services)
        }
        Err(error) => {
            engine_error(outcome, &error);
            None
        }
    }
}

/// Folds the individual tests into the outcome's status and message.
fn combine(outcome: &mut TestOutcome) {
    let total = outcome.tests.len();
    let bad = outcome
        .tests
        .iter()
        .filter(|t| t.status != TestStatus::Passed)
        .count();
    let main = std::mem::take(&mut outcome.message);
    if outcome.status == TestStatus::Passed && bad > 0 {
        let errors = outcome.tests.iter().any(|t| t.status == TestStatus::Error);
        outcome.status = if errors {
            TestStatus::Error
        } else {
            TestStatus::Failed
        };
    }
    let counts = if total == 0 {
        String::new()
    } else if bad == 0 {
        format!("{total} test{} passed", if total == 1 { "" } else { "s" })
    } else {
        format!("{bad} of {total} tests failed")
    };
    outcome.message = match (main.is_empty(), counts.is_empty()) {
        (_, true) => main,
        (true, false) => counts,
        // A failure of the image itself leads; the counts follow.
        (false, false) => format!("{main}; {counts}"),
    };
}

/// File tests, and the configured user when the image is not started to check it, through one
/// created, never started container.
async fn files_and_user<E: ContainerEngine>(
    engine: &E,
    target: &TestTarget<'_>,
    reporter: &dyn Reporter,
    outcome: &mut TestOutcome,
) -> Result<(), EngineError> {
    let spec = target.spec;
    let user_here = spec.user.as_deref().filter(|_| !spec.starts_image());
    if spec.files.is_empty() && user_here.is_none() {
        return Ok(());
    }
    step(reporter, target.image.as_str(), "reading the image's files");
    let request = ContainerRequest {
        image: target.reference.clone(),
        name: target.image.to_string(),
        purpose: "test",
        never_started: true,
        ..Default::default()
    };
    let container = engine.create_container(&request).await?;
    let result = async {
        if let Some(declared) = user_here {
            outcome.tests.push(
                match check_user(&container, declared, &target.image).await {
                    // `check_user` never fails with `Passed`; it would mean the same.
                    Ok(()) | Err(Verdict::Passed(_)) => {
                        TestResult::passed(TestKind::User, declared, "the configured user")
                    }
                    Err(Verdict::Failed { message, hint }) => {
                        outcome.hint = hint;
                        TestResult::failed(TestKind::User, declared, message)
                    }
                    Err(Verdict::Error(error)) => return Err(error),
                },
            );
        }
        for test in &spec.files {
            outcome.tests.push(structure::file(&container, test).await?);
        }
        Ok(())
    }
    .await;
    let removed = container.remove().await;
    result?;
    removed
}

fn finish(mut outcome: TestOutcome, started: Instant, reporter: &dyn Reporter) -> TestOutcome {
    outcome.duration = started.elapsed();
    reporter.event(Event::Finished {
        subject: outcome.image.as_str(),
        ok: outcome.status == TestStatus::Passed,
        summary: &outcome.message,
        duration: outcome.duration,
    });
    outcome
}
