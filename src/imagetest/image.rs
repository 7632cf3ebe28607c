//! The image itself under test: create the container with the probed port published on
//! 127.0.0.1, start it, wait for the probe (failing early when the container exits) or check that
//! it keeps running, check its user, collect its state and logs on failure, and remove it — after
//! success, failure or cancellation — unless kept.

use std::time::{Duration, Instant};

use super::outcome::{engine_error, engine_words, TestOutcome, TestStatus};
use super::probe::{self, Attempt};
use super::target::{TestOptions, TestTarget};
use super::user;
use crate::docker::{ContainerEngine, ContainerRequest, EngineError, FileContent, TestContainer};
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
pub(super) enum Verdict {
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

/// Starts the image itself on `network` (when there are services), probes it or checks that it
/// keeps running, checks its user, and removes it unless kept.
pub(super) async fn test_image<E: ContainerEngine>(
    engine: &E,
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

/// Starts the container and waits for the probe, then checks the user.
async fn exercise(
    container: &impl TestContainer,
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
async fn exited_or(container: &impl TestContainer, message: String) -> Verdict {
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
    container: &impl TestContainer,
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

async fn keeps_running(container: &impl TestContainer, until: Instant) -> Result<(), Verdict> {
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

/// Compares the user the image is configured to run as with `declared` (`user.rs` decides).
pub(super) async fn check_user(
    container: &impl TestContainer,
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
