//! Testing one image: create the container with the probed port published on 127.0.0.1, start it,
//! wait for the probe (failing early when the container exits), check the user, collect its state
//! and logs on failure, and remove it — after success, failure or cancellation — unless kept.

use std::time::{Duration, Instant};

use super::outcome::{TestKind, TestOutcome, TestResult, TestStatus};
use super::probe::{self, Attempt};
use super::{command, services, structure, user, TestOptions, TestTarget};
use crate::docker::{Container, ContainerRequest, Engine, EngineError, FileContent};
use crate::manifest::Probe;
use crate::report::{format_duration, Event, Level, Reporter};

/// How long an image without a probe must keep running to pass.
const SETTLE: Duration = Duration::from_secs(3);
/// Pause between probe attempts.
const INTERVAL: Duration = Duration::from_millis(250);
/// Longest single probe attempt.
const ATTEMPT: Duration = Duration::from_secs(2);
/// Log lines kept of a failed container.
const LOG_LINES: usize = 40;

/// How a test went, before the container's state and logs are added.
enum Verdict {
    Passed(String),
    Failed {
        message: String,
        hint: Option<String>,
    },
    Error(EngineError),
}

fn failed(message: impl Into<String>, hint: Option<String>) -> Verdict {
    Verdict::Failed {
        message: message.into(),
        hint,
    }
}

/// The engine's own words for a failed call (its source), without the tool's framing.
pub(crate) fn engine_words(error: &EngineError) -> String {
    let mut source = std::error::Error::source(error);
    let mut text = String::new();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    if text.is_empty() {
        error.to_string()
    } else {
        text
    }
}

/// Tests one image: metadata, files (and the user when the image itself is not started),
/// services, the image itself (probe or "keeps running", and its user), commands; then removes
/// what it created. Ctrl+C drops the work, and the guards remove its containers and network.
pub(crate) async fn run_one(
    engine: &Engine,
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

fn engine_error(outcome: &mut TestOutcome, error: &EngineError) {
    outcome.status = TestStatus::Error;
    outcome.message = crate::error::render(error)
        .trim_start_matches("error: ")
        .to_string();
}

async fn run_all(
    engine: &Engine,
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
async fn files_and_user(
    engine: &Engine,
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

/// Starts the image itself on `network` (when there are services), probes it or checks that it
/// keeps running, checks its user, and removes it unless kept.
async fn test_image(
    engine: &Engine,
    target: &TestTarget<'_>,
    options: &TestOptions,
    reporter: &dyn Reporter,
    client: &reqwest::Client,
    network: Option<&str>,
    outcome: &mut TestOutcome,
) {
    let subject = target.image.as_str();
    let request = ContainerRequest {
        image: target.reference.clone(),
        name: target.image.to_string(),
        purpose: "test",
        publish: target.spec.probe.as_ref().map(Probe::port),
        env: target
            .spec
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        network: network.map(str::to_string),
        ..Default::default()
    };
    let container = match engine.create_container(&request).await {
        Ok(container) => container,
        Err(error) => {
            outcome.status = TestStatus::Error;
            outcome.message = format!(
                "cannot create a container from `{}`: {}",
                target.reference,
                engine_words(&error)
            );
            return;
        }
    };
    match exercise(&container, target, reporter, client, &mut outcome.host_port).await {
        Verdict::Passed(message) => {
            outcome.status = TestStatus::Passed;
            outcome.message = message;
        }
        Verdict::Failed { message, hint } => {
            outcome.status = TestStatus::Failed;
            outcome.message = message;
            outcome.hint = hint;
            outcome.container = container.status().await.ok();
            outcome.logs = container.logs(LOG_LINES).await.unwrap_or_default();
            for line in &outcome.logs {
                reporter.event(Event::Line {
                    subject,
                    text: line,
                });
            }
        }
        Verdict::Error(error) => engine_error(outcome, &error),
    }
    if options.keep {
        let id = container.keep();
        reporter.event(Event::Note {
            subject,
            level: Level::Info,
            text: &format!("kept container {id} (remove it with `docker rm -f {id}`)"),
        });
        outcome.kept = Some(id);
    } else if let Err(error) = container.remove().await {
        outcome.cleanup_error = Some(engine_words(&error));
    }
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

/// Starts the container and waits for the probe, then checks the user.
async fn exercise(
    container: &Container,
    target: &TestTarget<'_>,
    reporter: &dyn Reporter,
    client: &reqwest::Client,
    host_port_out: &mut Option<u16>,
) -> Verdict {
    let subject = target.image.as_str();
    let spec = target.spec;
    if let Err(error) = container.start().await {
        return failed(
            format!("the container did not start: {}", engine_words(&error)),
            Some("check the image's ENTRYPOINT and CMD: the engine could not run them".into()),
        );
    }
    let started = Instant::now();
    let deadline = started + spec.timeout;
    let passed = match &spec.probe {
        Some(probe) => {
            let port = probe.port();
            let host_port = match container.host_port(port).await {
                Ok(Some(p)) => p,
                Ok(None) => {
                    return exited_or(container, format!("port {port} was not published")).await
                }
                Err(error) => return Verdict::Error(error),
            };
            *host_port_out = Some(host_port);
            let text = format!(
                "waiting up to {} for {} (127.0.0.1:{host_port})",
                format_duration(spec.timeout),
                probe::describe(Some(probe))
            );
            reporter.event(Event::Step {
                subject,
                text: &text,
            });
            match wait_for(container, probe, host_port, client, started, deadline).await {
                Ok(message) => message,
                Err(verdict) => return verdict,
            }
        }
        None => {
            let settle = SETTLE.min(spec.timeout);
            let text = format!(
                "checking that it keeps running for {}",
                format_duration(settle)
            );
            reporter.event(Event::Step {
                subject,
                text: &text,
            });
            match keeps_running(container, started + settle).await {
                Ok(()) => format!("kept running for {}", format_duration(settle)),
                Err(verdict) => return verdict,
            }
        }
    };
    if let Some(declared) = &spec.user {
        if let Err(verdict) = check_user(container, declared, &target.image).await {
            return verdict;
        }
    }
    Verdict::Passed(passed)
}

/// A failure that says whether the container exited, or `message` when it runs.
async fn exited_or(container: &Container, message: String) -> Verdict {
    match container.status().await {
        Ok(status) if !status.running => exited(status.exit_code, "before it answered"),
        Ok(_) => failed(message, None),
        Err(error) => Verdict::Error(error),
    }
}

fn exited(code: Option<i64>, when: &str) -> Verdict {
    let code = code.map(|c| format!(" with code {c}")).unwrap_or_default();
    failed(
        format!("the container exited{code} {when}"),
        Some("the container's log lines say why; run the image by hand (`docker run --rm -it IMAGE`) to see more".into()),
    )
}

async fn wait_for(
    container: &Container,
    probe: &Probe,
    host_port: u16,
    client: &reqwest::Client,
    started: Instant,
    deadline: Instant,
) -> Result<String, Verdict> {
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let limit = ATTEMPT.min(remaining).max(Duration::from_millis(100));
        let why = match probe::attempt(probe, host_port, client, limit).await {
            Attempt::Ready(what) => {
                return Ok(format!(
                    "{what} after {:.1}s",
                    started.elapsed().as_secs_f64()
                ))
            }
            Attempt::NotYet(why) => why,
        };
        match container.status().await {
            Ok(status) if !status.running => {
                return Err(exited(status.exit_code, "before it answered"))
            }
            Ok(_) => {}
            Err(error) => return Err(Verdict::Error(error)),
        }
        if Instant::now() >= deadline {
            return Err(failed(
                format!("no expected answer within {}: {why}", format_duration(deadline - started)),
                Some(
                    "check that the server listens on 0.0.0.0 (not 127.0.0.1) at the probed port, or raise `timeout` in the test section"
                        .into(),
                ),
            ));
        }
        tokio::time::sleep(INTERVAL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

async fn keeps_running(container: &Container, until: Instant) -> Result<(), Verdict> {
    loop {
        match container.status().await {
            Ok(status) if !status.running => {
                return Err(exited(
                    status.exit_code,
                    "while it should keep running (an image that serves nothing must not stop)",
                ))
            }
            Ok(_) => {}
            Err(error) => return Err(Verdict::Error(error)),
        }
        if Instant::now() >= until {
            return Ok(());
        }
        tokio::time::sleep(INTERVAL.min(until.saturating_duration_since(Instant::now()))).await;
    }
}

async fn check_user(
    container: &Container,
    declared: &str,
    image: &crate::names::ImageName,
) -> Result<(), Verdict> {
    let configured = container.configured_user().await.map_err(Verdict::Error)?;
    let passwd = if user::needs_passwd(declared, &configured) {
        match container.read_file("/etc/passwd", 1024 * 1024).await {
            Ok(FileContent::File(bytes)) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Ok(_) => None,
            Err(error) => return Err(Verdict::Error(error)),
        }
    } else {
        None
    };
    user::check(declared, &configured, passwd.as_deref()).map_err(|message| {
        failed(
            message,
            Some(format!(
                "set `USER {declared}` in the Dockerfile's final stage, or correct `user` in `[images.{image}.test]`"
            )),
        )
    })
}
