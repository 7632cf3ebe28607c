//! Command tests: each `[[….test.commands]]` entry runs in a new container from the image under
//! test, with its `run` as the whole command line (replacing ENTRYPOINT and CMD), the section's
//! `env` plus its own, on the test network when there are services. The container is started,
//! waited for until it exits or the command's `timeout` runs out, its stdout and stderr are read
//! apart, and it is removed. The exit code and the four output expectations are all checked, so a
//! failure lists every difference.

use std::time::{Duration, Instant};

use regex::Regex;

use super::outcome::{TestKind, TestResult, TestStatus};
use crate::docker::{ContainerEngine, ContainerRequest, EngineError, Output, TestContainer};
use crate::manifest::CommandTest;
use crate::report::format_duration;

/// Most bytes of each stream kept.
const OUTPUT_CAP: usize = 1024 * 1024;
/// How often the container's state is asked while waiting for it to exit.
const POLL: Duration = Duration::from_millis(100);
/// Lines of each stream shown under a failed command.
const EXCERPT_LINES: usize = 10;

/// What a command test runs with, besides the test itself.
pub(crate) struct CommandRun<'a> {
    /// The image under test.
    pub(crate) reference: &'a str,
    /// The manifest's name of the image.
    pub(crate) image: &'a str,
    /// The section's `env`, as `NAME=value`.
    pub(crate) env: &'a std::collections::BTreeMap<String, String>,
    /// The test network, when there are services.
    pub(crate) network: Option<&'a str>,
}

/// Runs one command test. An engine failure (the container cannot be created or read) is a
/// result with status `error`; an argv the engine cannot start is a failure.
pub(crate) async fn run<E: ContainerEngine>(
    engine: &E,
    context: &CommandRun<'_>,
    test: &CommandTest,
) -> TestResult {
    match attempt(engine, context, test).await {
        Ok(result) => result,
        Err(error) => TestResult {
            status: TestStatus::Error,
            ..TestResult::failed(
                TestKind::Command,
                &test.name,
                crate::error::render(&error)
                    .trim_start_matches("error: ")
                    .to_string(),
            )
        },
    }
}

async fn attempt<E: ContainerEngine>(
    engine: &E,
    context: &CommandRun<'_>,
    test: &CommandTest,
) -> Result<TestResult, EngineError> {
    let mut env = context.env.clone();
    env.extend(test.env.clone());
    let request = ContainerRequest {
        image: context.reference.to_string(),
        name: context.image.to_string(),
        purpose: "cmd",
        env: env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        argv: Some(test.run.clone()),
        network: context.network.map(str::to_string),
        ..Default::default()
    };
    let container = engine.create_container(&request).await?;
    let result = exercise(&container, test).await;
    let removed = container.remove().await;
    let result = result?;
    removed?;
    Ok(result)
}

async fn exercise(
    container: &impl TestContainer,
    test: &CommandTest,
) -> Result<TestResult, EngineError> {
    let name = test.name.as_str();
    if let Err(error) = container.start().await {
        // The engine refuses to start an argv whose program is not in the image.
        let words = start_failure(&super::outcome::engine_words(&error));
        return Ok(TestResult::failed(
            TestKind::Command,
            name,
            format!("`{}` could not be started: {words}", test.run.join(" ")),
        ));
    }
    let started = Instant::now();
    let deadline = started + test.timeout;
    let code = loop {
        let status = container.status().await?;
        if !status.running {
            break status.exit_code;
        }
        if Instant::now() >= deadline {
            let output = container.output(OUTPUT_CAP).await.unwrap_or_default();
            return Ok(TestResult {
                details: excerpts(&output),
                ..TestResult::failed(
                    TestKind::Command,
                    name,
                    format!(
                        "still running after {}: expected it to exit (raise `timeout` in the command test if it needs longer)",
                        format_duration(test.timeout)
                    ),
                )
            });
        }
        tokio::time::sleep(POLL).await;
    };
    let elapsed = started.elapsed();
    let output = container.output(OUTPUT_CAP).await?;
    let problems = compare(test, code, &output);
    Ok(if problems.is_empty() {
        TestResult::passed(
            TestKind::Command,
            name,
            format!(
                "exited {} after {:.1}s as expected",
                code.unwrap_or(-1),
                elapsed.as_secs_f64()
            ),
        )
    } else {
        TestResult {
            details: excerpts(&output),
            ..TestResult::failed(TestKind::Command, name, problems.join("; "))
        }
    })
}

/// The runtime's reason from the engine's answer to a start that failed: runc's
/// `exec: "x": stat x: no such file or directory` rather than the layers of wrapping around it.
fn start_failure(words: &str) -> String {
    match words.find("exec: ") {
        Some(at) => words[at..].trim_end_matches(": unknown").to_string(),
        None => words.to_string(),
    }
}

/// Every difference between what the test expects and what the command did.
fn compare(test: &CommandTest, code: Option<i64>, output: &Output) -> Vec<String> {
    let mut problems = Vec::new();
    if code != Some(test.exit_code) {
        let found = code.map_or("no exit code".to_string(), |c| c.to_string());
        problems.push(format!(
            "expected exit code {}, found {found}",
            test.exit_code
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    check_stream(
        &mut problems,
        "stdout",
        &stdout,
        test.stdout_contains.as_deref(),
        test.stdout_matches.as_ref(),
    );
    check_stream(
        &mut problems,
        "stderr",
        &stderr,
        test.stderr_contains.as_deref(),
        test.stderr_matches.as_ref(),
    );
    problems
}

fn check_stream(
    problems: &mut Vec<String>,
    stream: &str,
    text: &str,
    contains: Option<&str>,
    matches: Option<&Regex>,
) {
    let found = if text.trim().is_empty() {
        "it was empty".to_string()
    } else {
        format!("{} bytes without it", text.len())
    };
    if let Some(want) = contains {
        if !text.contains(want) {
            problems.push(format!(
                "expected {stream} to contain `{}`, {found}",
                super::outcome::one_line(want)
            ));
        }
    }
    if let Some(pattern) = matches {
        if !pattern.is_match(text) {
            problems.push(format!("expected {stream} to match `{pattern}`, {found}"));
        }
    }
}

/// The last lines of each stream, labelled, for a failure's details.
fn excerpts(output: &Output) -> Vec<String> {
    let mut lines = Vec::new();
    for (label, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        let all: Vec<&str> = text.lines().collect();
        if all.is_empty() {
            lines.push(format!("{label}: (empty)"));
            continue;
        }
        let skip = all.len().saturating_sub(EXCERPT_LINES);
        for line in &all[skip..] {
            lines.push(format!("{label}: {}", line.trim_end()));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;

    fn test(exit_code: i64) -> CommandTest {
        CommandTest {
            name: "refuses".into(),
            run: vec!["sh".into()],
            env: Default::default(),
            exit_code,
            stdout_contains: None,
            stdout_matches: Some(Regex::new(r"^ready \d+").unwrap()),
            stderr_contains: Some("FLEET_SECRET".into()),
            stderr_matches: None,
            timeout: Duration::from_secs(1),
            location: Location {
                file: "fleet.toml".into(),
                line: None,
                key: None,
            },
        }
    }

    #[test]
    fn start_failures_keep_the_runtime_reason() {
        assert_eq!(
            start_failure("Docker responded with status code 400: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"/x\": stat /x: no such file or directory: unknown"),
            "exec: \"/x\": stat /x: no such file or directory"
        );
        assert_eq!(start_failure("timed out"), "timed out");
    }

    #[test]
    fn every_difference_is_listed() {
        let output = Output {
            stdout: b"ready 3\n".to_vec(),
            stderr: b"FLEET_SECRET is not set\n".to_vec(),
            truncated: false,
        };
        assert!(compare(&test(1), Some(1), &output).is_empty());
        let problems = compare(&test(1), Some(0), &Output::default());
        assert_eq!(
            problems,
            [
                "expected exit code 1, found 0",
                "expected stdout to match `^ready \\d+`, it was empty",
                "expected stderr to contain `FLEET_SECRET`, it was empty",
            ]
        );
        assert_eq!(
            excerpts(&output),
            ["stdout: ready 3", "stderr: FLEET_SECRET is not set"]
        );
    }
}
