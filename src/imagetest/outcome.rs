//! The result of testing one image, as the summary and `--json` show it.

use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::docker::{ContainerStatus, EngineError};
use crate::error::Exit;
use crate::names::ImageName;

/// How a test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestStatus {
    /// The probe answered as expected (and the user matched).
    Passed,
    /// The image did not do what its test section says: it did not start, exited, did not answer
    /// in time, answered wrong, or ran as another user.
    Failed,
    /// The engine failed (the container could not be created or inspected): nothing is known about
    /// the image.
    Error,
    /// Ctrl+C ended it; its container was removed all the same.
    Interrupted,
}

/// What kind of test a [`TestResult`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestKind {
    /// A key of `[….test.metadata]`.
    Metadata,
    /// A `[[….test.files]]` entry.
    File,
    /// A `[[….test.commands]]` entry.
    Command,
    /// A `[[….test.services]]` entry becoming ready.
    Service,
    /// The configured `user`, when the image itself is not started.
    User,
}

impl TestKind {
    fn as_str(self) -> &'static str {
        match self {
            TestKind::Metadata => "metadata",
            TestKind::File => "file",
            TestKind::Command => "command",
            TestKind::Service => "service",
            TestKind::User => "user",
        }
    }
}

/// The result of one test of a section: a metadata key, a file, a command, a service.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// Its kind.
    pub kind: TestKind,
    /// What it is called: the metadata key, the file path, the command's or service's name.
    pub name: String,
    /// `passed`, `failed`, or `error` (the engine failed).
    pub status: TestStatus,
    /// What was found, and for a failure what was expected.
    pub message: String,
    /// Output excerpts that explain a failure (a command's stdout and stderr, a service's logs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl TestResult {
    /// A passed test.
    pub(crate) fn passed(
        kind: TestKind,
        name: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        TestResult {
            kind,
            name: name.into(),
            status: TestStatus::Passed,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// A failed test.
    pub(crate) fn failed(
        kind: TestKind,
        name: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        TestResult {
            status: TestStatus::Failed,
            ..Self::passed(kind, name, message)
        }
    }

    /// One line (and its details) as the report shows it, indented under the image.
    pub fn render(&self) -> String {
        let mark = match self.status {
            TestStatus::Passed => "ok    ",
            TestStatus::Failed => "FAILED",
            TestStatus::Error => "ERROR ",
            TestStatus::Interrupted => "INTERRUPTED",
        };
        let name = match self.kind {
            TestKind::Command | TestKind::Service => format!("`{}`", self.name),
            _ => self.name.clone(),
        };
        let mut out = format!("  {mark} {} {name}: {}", self.kind.as_str(), self.message);
        for line in &self.details {
            out.push_str(&format!("\n           | {line}"));
        }
        out
    }
}

/// Text from the manifest shown on one line of the report: newlines and tabs escaped.
pub(crate) fn one_line(text: &str) -> String {
    text.replace('\n', "\\n").replace('\t', "\\t")
}

fn seconds<S: Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((duration.as_secs_f64() * 10.0).round() / 10.0)
}

/// The result of testing one image.
#[derive(Debug, Clone, Serialize)]
pub struct TestOutcome {
    /// The image.
    pub image: ImageName,
    /// The local image tested (id or reference).
    pub reference: String,
    /// How it ended.
    pub status: TestStatus,
    /// What the probe waited for: `GET /health → 200 on port 8080`, `keeps running`.
    pub probe: String,
    /// What happened: `GET /health answered 200 after 1.4s`, or why it failed.
    pub message: String,
    /// How to fix a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// From creating the container to the end of the test.
    #[serde(serialize_with = "seconds", rename = "duration_secs")]
    pub duration: Duration,
    /// The host port on 127.0.0.1 the probed port was published on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    /// The container's state when the test failed: whether it exited, and its exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerStatus>,
    /// The container's last log lines, when the test failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
    /// The id of the container left running (`--keep`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept: Option<String>,
    /// Why the container could not be removed, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleanup_error: Option<String>,
    /// Each metadata, file, command and service test, in the order they ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestResult>,
    /// Service containers and the test network left in place (`--keep`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_also: Vec<String>,
}

impl TestOutcome {
    /// The exit code this outcome asks for: 1 failed, 3 engine error (or a container left behind),
    /// 130 interrupted, else 0.
    pub fn exit(&self) -> Exit {
        let status = match self.status {
            TestStatus::Passed => Exit::Success,
            TestStatus::Failed => Exit::Failed,
            TestStatus::Error => Exit::Unavailable,
            TestStatus::Interrupted => Exit::Interrupted,
        };
        if self.cleanup_error.is_some() {
            status.worst(Exit::Unavailable)
        } else {
            status
        }
    }

    /// The worst exit code of several outcomes.
    pub fn exit_of(outcomes: &[TestOutcome]) -> Exit {
        outcomes
            .iter()
            .fold(Exit::Success, |exit, o| exit.worst(o.exit()))
    }

    /// The outcome as the CLI prints it after the run:
    ///
    /// ```text
    /// FAILED element (GET /config.json → 200 on port 8080): the container exited with code 1 …
    ///   container: exited, exit code 1
    ///   last log lines:
    ///     | nginx: [emerg] bind() to 0.0.0.0:80 failed (13: Permission denied)
    ///   hint: …
    /// ```
    pub fn render(&self) -> String {
        let mark = match self.status {
            TestStatus::Passed => "ok",
            TestStatus::Failed => "FAILED",
            TestStatus::Error => "ERROR",
            TestStatus::Interrupted => "INTERRUPTED",
        };
        let mut out = format!("{mark} {} ({}): {}", self.image, self.probe, self.message);
        for test in &self.tests {
            out.push('\n');
            out.push_str(&test.render());
        }
        if let Some(status) = &self.container {
            let mut state = status.status.clone();
            if let Some(code) = status.exit_code {
                state.push_str(&format!(", exit code {code}"));
            }
            if status.oom_killed {
                state.push_str(", killed for lack of memory");
            }
            if let Some(error) = &status.error {
                state.push_str(&format!(", {error}"));
            }
            out.push_str(&format!("\n  container: {state}"));
        }
        if !self.logs.is_empty() {
            out.push_str(&format!("\n  last {} log lines:", self.logs.len()));
            for line in &self.logs {
                out.push_str(&format!("\n    | {line}"));
            }
        } else if self.status == TestStatus::Failed && self.container.is_some() {
            out.push_str("\n  (the container wrote no output)");
        }
        if let Some(id) = &self.kept {
            out.push_str(&format!(
                "\n  kept container {id}: `docker logs {id}`, then `docker rm -f {id}`"
            ));
        }
        for name in &self.kept_also {
            out.push_str(&format!("\n  kept {name}"));
        }
        if let Some(error) = &self.cleanup_error {
            out.push_str(&format!("\n  the container could not be removed: {error}"));
        }
        if let Some(hint) = &self.hint {
            out.push_str(&format!("\n  hint: {hint}"));
        }
        out
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

/// Marks the outcome as an engine error, with the error's message without its `error: `.
pub(crate) fn engine_error(outcome: &mut TestOutcome, error: &EngineError) {
    outcome.status = TestStatus::Error;
    outcome.message = crate::error::render(error)
        .trim_start_matches("error: ")
        .to_string();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: TestStatus) -> TestOutcome {
        TestOutcome {
            image: "element".parse().unwrap(),
            reference: "sha256:abc".into(),
            status,
            probe: "GET /config.json → 200 on port 8080".into(),
            message: "the container exited with code 1 before it answered".into(),
            hint: None,
            duration: Duration::from_millis(1234),
            host_port: Some(49153),
            container: None,
            logs: Vec::new(),
            kept: None,
            cleanup_error: None,
            tests: Vec::new(),
            kept_also: Vec::new(),
        }
    }

    #[test]
    fn exit_codes() {
        assert_eq!(outcome(TestStatus::Passed).exit(), Exit::Success);
        let all = [outcome(TestStatus::Passed), outcome(TestStatus::Failed)];
        assert_eq!(TestOutcome::exit_of(&all), Exit::Failed);
        let mut leaked = outcome(TestStatus::Passed);
        leaked.cleanup_error = Some("x".into());
        assert_eq!(leaked.exit(), Exit::Unavailable);
        assert_eq!(outcome(TestStatus::Interrupted).exit(), Exit::Interrupted);
    }

    #[test]
    fn renders_state_and_logs() {
        let mut failed = outcome(TestStatus::Failed);
        failed.container = Some(ContainerStatus {
            running: false,
            status: "exited".into(),
            exit_code: Some(1),
            ..Default::default()
        });
        failed.logs =
            vec!["nginx: [emerg] bind() to 0.0.0.0:80 failed (13: Permission denied)".into()];
        let text = failed.render();
        assert!(
            text.starts_with(
                "FAILED element (GET /config.json → 200 on port 8080): the container exited"
            ),
            "{text}"
        );
        assert!(
            text.contains("\n  container: exited, exit code 1"),
            "{text}"
        );
        assert!(text.contains("\n    | nginx: [emerg] bind()"), "{text}");
    }

    #[test]
    fn renders_each_test() {
        let mut failed = outcome(TestStatus::Failed);
        failed.tests = vec![
            TestResult::passed(TestKind::Metadata, "user", "`101`"),
            TestResult {
                details: vec!["stderr: FLEET_SECRET is not set".into()],
                ..TestResult::failed(
                    TestKind::Command,
                    "refuses to start",
                    "expected exit code 1, found 0",
                )
            },
        ];
        let text = failed.render();
        assert!(text.contains("\n  ok     metadata user: `101`"), "{text}");
        assert!(
            text.contains("\n  FAILED command `refuses to start`: expected exit code 1, found 0\n           | stderr: FLEET_SECRET"),
            "{text}"
        );
        let json = serde_json::to_value(&failed).unwrap();
        assert_eq!(json["tests"][1]["kind"], "command");
        assert_eq!(json["tests"][1]["status"], "failed");
    }

    #[test]
    fn serializes() {
        let json = serde_json::to_value(outcome(TestStatus::Failed)).unwrap();
        assert_eq!(json["status"], "failed");
        assert_eq!(json["duration_secs"], 1.2);
        assert_eq!(json["host_port"], 49153);
        assert!(json.get("logs").is_none());
    }
}
