//! The result of testing one image, as the summary and `--json` show it.

use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::docker::ContainerStatus;
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
        } else if self.status == TestStatus::Failed {
            out.push_str("\n  (the container wrote no output)");
        }
        if let Some(id) = &self.kept {
            out.push_str(&format!(
                "\n  kept container {id}: `docker logs {id}`, then `docker rm -f {id}`"
            ));
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
    fn serializes() {
        let json = serde_json::to_value(outcome(TestStatus::Failed)).unwrap();
        assert_eq!(json["status"], "failed");
        assert_eq!(json["duration_secs"], 1.2);
        assert_eq!(json["host_port"], 49153);
        assert!(json.get("logs").is_none());
    }
}
