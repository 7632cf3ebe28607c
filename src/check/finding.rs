//! What `check` reports: findings (a rule broken by an image), notes (what could not be checked,
//! and why) and failures (the engine could not be asked), and the exit code they add up to.

use serde::{Serialize, Serializer};

use crate::docker::EngineError;
use crate::error::{render, Exit};
use crate::names::ImageName;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something to look at; `check` still exits 0.
    Warning,
    /// A mistake that breaks the image where it runs; `check` exits 1.
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One rule broken by one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's id (`privileged-port`); `[images.<name>.check] allow` takes it.
    pub rule: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// The image.
    pub image: ImageName,
    /// What is wrong, in one sentence.
    pub message: String,
    /// How to fix it.
    pub hint: String,
    /// Where: `Dockerfile:12`, a path in the build context, or a path in the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Finding {
    pub(crate) fn new(
        rule: &'static str,
        severity: Severity,
        image: &ImageName,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Finding {
            rule,
            severity,
            image: image.clone(),
            message: message.into(),
            hint: hint.into(),
            location: None,
        }
    }

    pub(crate) fn at(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// The finding as the CLI prints it:
    ///
    /// ```text
    /// error[privileged-port]: element: the image runs as `101` and exposes port 80/tcp
    ///   --> images/element/Dockerfile:31
    ///   hint: …
    /// ```
    pub fn render(&self) -> String {
        let mut out = format!(
            "{}[{}]: {}: {}",
            self.severity, self.rule, self.image, self.message
        );
        if let Some(location) = &self.location {
            out.push_str(&format!("\n  --> {location}"));
        }
        if !self.hint.is_empty() {
            out.push_str(&format!("\n  hint: {}", self.hint));
        }
        out
    }
}

/// Something `check` could not decide, and why: image rules skipped because the image is not
/// built, a file the Dockerfile does not copy in that only the built image can confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The image.
    pub image: ImageName,
    /// The rule it concerns, when it concerns one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    /// What was not checked, and what would check it.
    pub text: String,
}

/// The engine failed while the image rules of one image ran; the static rules ran instead.
#[derive(Debug)]
pub struct Failure {
    /// The image.
    pub image: ImageName,
    /// What the engine said.
    pub error: EngineError,
}

impl Serialize for Failure {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Failure", 2)?;
        st.serialize_field("image", &self.image)?;
        st.serialize_field("error", &render(&self.error))?;
        st.end()
    }
}

/// Everything one `check` found, in the order of the images given, then of the rules.
#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    /// Rules broken.
    pub findings: Vec<Finding>,
    /// What was not checked.
    pub notes: Vec<Note>,
    /// Images whose image rules could not run because the engine failed.
    pub failures: Vec<Failure>,
}

impl CheckReport {
    /// Number of error-level findings.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count()
    }

    /// The exit code: 1 when an error-level finding remains, 3 when the engine failed (and no
    /// error was found), else 0. Warnings and notes never fail a run.
    pub fn exit(&self) -> Exit {
        // Combined, not chosen by the order of the checks: an engine that failed (3) outranks
        // error findings (1), which may only be the part that could run.
        let findings = if self.errors() > 0 {
            Exit::Failed
        } else {
            Exit::Success
        };
        self.failures
            .iter()
            .map(|f| crate::error::Diagnostic::exit(&f.error))
            .fold(findings, Exit::worst)
    }

    /// One line: `2 errors, 1 warning in 4 images`.
    pub fn summary(&self, images: usize) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        format!(
            "{}, {} in {}",
            plural(self.errors(), "error"),
            plural(self.warnings(), "warning"),
            plural(images, "image")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> ImageName {
        s.parse().unwrap()
    }

    #[test]
    fn renders_rule_image_location_and_hint() {
        let f = Finding::new(
            "privileged-port",
            Severity::Error,
            &name("element"),
            "runs as `101` and exposes 80/tcp",
            "use 8080",
        )
        .at("Dockerfile:3");
        assert_eq!(
            f.render(),
            "error[privileged-port]: element: runs as `101` and exposes 80/tcp\n  --> Dockerfile:3\n  hint: use 8080"
        );
    }

    #[test]
    fn errors_fail_warnings_do_not() {
        let mut report = CheckReport::default();
        report.findings.push(Finding::new(
            "floating-base",
            Severity::Warning,
            &name("a"),
            "m",
            "h",
        ));
        assert_eq!(report.exit(), Exit::Success);
        report.findings.push(Finding::new(
            "env-file",
            Severity::Error,
            &name("a"),
            "m",
            "h",
        ));
        assert_eq!(report.exit(), Exit::Failed);
        assert_eq!(report.summary(1), "1 error, 1 warning in 1 image");
    }

    #[test]
    fn an_engine_failure_outranks_error_findings() {
        let mut report = CheckReport::default();
        report.findings.push(Finding::new(
            "env-file",
            Severity::Error,
            &name("a"),
            "m",
            "h",
        ));
        report.failures.push(Failure {
            image: name("a"),
            error: EngineError::Unreachable {
                host: "unix:///nonexistent.sock".into(),
                chosen: "from DOCKER_HOST".into(),
                source: bollard::errors::Error::IOError {
                    err: std::io::Error::other("gone"),
                },
            },
        });
        assert_eq!(report.exit(), Exit::Unavailable);
    }

    #[test]
    fn serializes_for_json_output() {
        let f = Finding::new("env-file", Severity::Error, &name("conduit"), "m", "h");
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["rule"], "env-file");
        assert_eq!(json["severity"], "error");
        assert_eq!(json["image"], "conduit");
        assert!(json.get("location").is_none());
    }
}
