//! What a deploy did, per service and per family: [`DeployReport`]. It serializes to JSON for
//! `--json-out`, renders a short text summary, and decides the exit code.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::error::{Diagnostic, Exit};
use crate::names::ImageName;

use super::ecs::{revision_name, ServiceEvent, StoppedTask};
use super::error::DeployError;

/// Where a target ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every container already runs the new digest: no call was made.
    UpToDate,
    /// `--dry-run`: this would change; nothing was changed.
    DryRun,
    /// Updated (`--no-wait`): the rollout was started and not waited for.
    Started,
    /// A family's new revision was registered.
    Registered,
    /// The rollout completed on the new task definition.
    Completed,
    /// ECS marked the rollout `FAILED`, or the service went away.
    Failed,
    /// The deployment disappeared and the service went back to an older task definition
    /// (the circuit breaker's rollback).
    RolledBack,
    /// Another deployment became primary while waiting.
    Superseded,
    /// Still in progress when the timeout ran out.
    TimedOut,
    /// The state could not be read (ECS kept failing, or answered without a deployment).
    Unknown,
    /// Nothing was done because another target failed its preflight.
    NotStarted,
    /// The target could not be deployed (see `error`).
    Error,
    /// The rollout was started, then the run was interrupted (Ctrl+C or SIGTERM) while waiting:
    /// it goes on in ECS, nothing was left half-changed.
    Interrupted,
}

impl Outcome {
    /// The word the summary prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::UpToDate => "up to date",
            Outcome::DryRun => "would change",
            Outcome::Started => "started",
            Outcome::Registered => "registered",
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::RolledBack => "rolled back",
            Outcome::Superseded => "superseded",
            Outcome::TimedOut => "timed out",
            Outcome::Unknown => "unknown",
            Outcome::NotStarted => "not started",
            Outcome::Error => "error",
            Outcome::Interrupted => "interrupted",
        }
    }

    /// Whether the target is where the run wanted it (or was meant to be left alone).
    pub fn is_ok(self) -> bool {
        matches!(
            self,
            Outcome::UpToDate
                | Outcome::DryRun
                | Outcome::Started
                | Outcome::Registered
                | Outcome::Completed
        )
    }

    fn exit(self) -> Exit {
        match self {
            Outcome::Failed
            | Outcome::RolledBack
            | Outcome::Superseded
            | Outcome::TimedOut
            | Outcome::Unknown => Exit::DeployIncomplete,
            Outcome::Interrupted => Exit::Interrupted,
            _ => Exit::Success,
        }
    }
}

/// One container's image, before and after.
#[derive(Debug, Clone, Serialize)]
pub struct ImageChange {
    /// The container.
    pub container: String,
    /// The fleet image deployed to it.
    pub image: ImageName,
    /// Its image in the current task definition.
    pub before: String,
    /// `<repository>@sha256:<digest>`.
    pub after: String,
}

impl ImageChange {
    /// Whether the image changes.
    pub fn changes(&self) -> bool {
        self.before != self.after
    }
}

/// One environment variable of a container, before and after: a reference to another family's
/// revision. The value of a variable whose name looks secret is never shown.
#[derive(Debug, Clone, Serialize)]
pub struct EnvChange {
    /// The container.
    pub container: String,
    /// The variable.
    pub name: String,
    /// Its value in the current task definition (`None`: not set).
    pub before: Option<String>,
    /// Its value in the new revision; `<new revision of FAMILY>` in a dry run.
    pub after: String,
}

impl EnvChange {
    /// A change, with both values hidden when the name looks like a secret's.
    pub fn new(container: &str, name: &str, before: Option<&str>, after: &str) -> Self {
        let shown = |v: &str| {
            if looks_secret(name) {
                "<redacted>".to_string()
            } else {
                v.to_string()
            }
        };
        Self {
            container: container.to_string(),
            name: name.to_string(),
            before: before.map(shown),
            after: shown(after),
        }
    }
}

/// Whether an environment variable's name says it holds a secret (`*_TOKEN`, `*PASSWORD*`, …);
/// an ARN of a secret is not one.
fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    !upper.ends_with("_ARN")
        && [
            "SECRET",
            "TOKEN",
            "PASSWORD",
            "PASSWD",
            "PRIVATE",
            "CREDENTIAL",
            "API_KEY",
        ]
        .iter()
        .any(|word| upper.contains(word))
}

/// What happened to one service.
#[derive(Debug, Serialize)]
pub struct ServiceReport {
    /// `cluster/service`.
    pub subject: String,
    /// Cluster as the manifest names it.
    pub cluster: String,
    /// Service as the manifest names it.
    pub service: String,
    /// Where it ended.
    pub outcome: Outcome,
    /// Why, in words, when there is more to say than the outcome.
    pub reason: Option<String>,
    /// The containers deployed to.
    pub images: Vec<ImageChange>,
    /// The environment variables the new revision changes (references to families).
    pub environment: Vec<EnvChange>,
    /// The images whose release changed this service: its own containers' and the referenced
    /// families'. `rollback IMAGE` selects services by it.
    pub released: Vec<ImageName>,
    /// The task definition the service ran before (ARN).
    pub old_task_definition: Option<String>,
    /// The task definition it was updated to (ARN); the same as the old one with `--force`.
    pub new_task_definition: Option<String>,
    /// The deployment the update started.
    pub deployment_id: Option<String>,
    /// The service's most recent events (up to five, newest first) when it did not complete.
    pub events: Vec<ServiceEvent>,
    /// Its recently stopped tasks and why they stopped, when it did not complete.
    pub stopped_tasks: Vec<StoppedTask>,
    /// Why it could not be deployed.
    #[serde(serialize_with = "serialize_error")]
    pub error: Option<DeployError>,
}

/// What happened to one task-definition family without a service.
#[derive(Debug, Serialize)]
pub struct FamilyReport {
    /// The family.
    pub family: String,
    /// Where it ended: up to date, dry run, registered, not started or error.
    pub outcome: Outcome,
    /// Why, in words.
    pub reason: Option<String>,
    /// The containers deployed to.
    pub images: Vec<ImageChange>,
    /// The latest revision before (ARN).
    pub old_revision: Option<String>,
    /// The revision registered (ARN).
    pub new_revision: Option<String>,
    /// Why it could not be deployed.
    #[serde(serialize_with = "serialize_error")]
    pub error: Option<DeployError>,
}

/// A warning about a target: the run goes on.
#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    /// `cluster/service` or family.
    pub subject: String,
    /// The text.
    pub message: String,
}

/// The result of [`deploy`](super::deploy).
#[derive(Debug, Serialize)]
pub struct DeployReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Whether the run waited for the rollouts.
    pub waited: bool,
    /// One entry per service, in manifest order.
    pub services: Vec<ServiceReport>,
    /// One entry per task family without a service.
    pub families: Vec<FamilyReport>,
    /// Revisions deregistered after the run succeeded (ARNs).
    pub deregistered: Vec<String>,
    /// Preflight and clean-up warnings.
    pub warnings: Vec<Warning>,
}

fn serialize_error<S: Serializer>(error: &Option<DeployError>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Json {
        message: String,
        hint: Option<String>,
        exit: u8,
    }
    match error {
        None => s.serialize_none(),
        Some(e) => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                let text = cause.to_string();
                if !message.contains(&text) {
                    message.push_str(": ");
                    message.push_str(&text);
                }
                source = cause.source();
            }
            s.serialize_some(&Json {
                message,
                hint: e.hint(),
                exit: e.exit().code(),
            })
        }
    }
}

impl DeployReport {
    /// The exit code the run leads to: 0 when every target is where it should be; 4 when a
    /// rollout failed, rolled back or timed out; the error's code when a target could not be
    /// deployed (1, or 3 when ECS could not be reached).
    pub fn exit(&self) -> Exit {
        let services = self.services.iter().map(|s| (s.outcome, s.error.as_ref()));
        let families = self.families.iter().map(|f| (f.outcome, f.error.as_ref()));
        services
            .chain(families)
            .fold(Exit::Success, |worst, (outcome, error)| {
                let exit = error.map_or(outcome.exit(), |e| e.exit());
                worst.worst(exit)
            })
    }

    /// Every target's error, for the CLI to print with [`crate::error::render`].
    pub fn errors(&self) -> impl Iterator<Item = &DeployError> {
        let services = self.services.iter().filter_map(|s| s.error.as_ref());
        services.chain(self.families.iter().filter_map(|f| f.error.as_ref()))
    }

    /// Whether every target ended where it should.
    pub fn succeeded(&self) -> bool {
        self.exit() == Exit::Success
    }

    /// The text summary: one line per target, with what changed, and for a rollout that did not
    /// complete, its recent events and stopped tasks.
    pub fn render_text(&self) -> String {
        self.to_string()
    }
}

fn revision(arn: &Option<String>) -> String {
    arn.as_deref()
        .map_or_else(|| "?".to_string(), revision_name)
}

fn transition(old: &Option<String>, new: &Option<String>) -> String {
    match (old, new) {
        (Some(o), Some(n)) if o == n => revision_name(o),
        (_, None) => revision(old),
        _ => format!("{} -> {}", revision(old), revision(new)),
    }
}

impl fmt::Display for DeployReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .services
            .iter()
            .map(|s| s.subject.len())
            .chain(self.families.iter().map(|x| x.family.len()))
            .max()
            .unwrap_or(0);
        let title = if self.dry_run {
            "deploy (dry run)"
        } else {
            "deploy"
        };
        writeln!(f, "{title}:")?;
        for s in &self.services {
            let mut line = format!(
                "  {:width$}  {:12}  {}",
                s.subject,
                s.outcome.as_str(),
                transition(&s.old_task_definition, &s.new_task_definition)
            );
            if let Some(id) = &s.deployment_id {
                line.push_str(&format!("  ({id})"));
            }
            if let Some(reason) = &s.reason {
                line.push_str(&format!(": {reason}"));
            }
            writeln!(f, "{}", line.trim_end())?;
            write_images(f, &s.images, s.outcome)?;
            write_environment(f, &s.environment, s.outcome)?;
            if let Some(e) = &s.error {
                writeln!(f, "      {e}")?;
            }
            for event in &s.events {
                match &event.created_at {
                    Some(at) => writeln!(f, "      event {at}: {}", event.message)?,
                    None => writeln!(f, "      event: {}", event.message)?,
                }
            }
            for task in &s.stopped_tasks {
                write_stopped(f, task)?;
            }
        }
        for x in &self.families {
            let mut line = format!(
                "  {:width$}  {:12}  {}",
                x.family,
                x.outcome.as_str(),
                transition(&x.old_revision, &x.new_revision)
            );
            if let Some(reason) = &x.reason {
                line.push_str(&format!(": {reason}"));
            }
            writeln!(f, "{}", line.trim_end())?;
            write_images(f, &x.images, x.outcome)?;
            if let Some(e) = &x.error {
                writeln!(f, "      {e}")?;
            }
        }
        if !self.deregistered.is_empty() {
            let names: Vec<String> = self.deregistered.iter().map(|a| revision_name(a)).collect();
            writeln!(f, "  deregistered {}", names.join(", "))?;
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {}: {}", w.subject, w.message)?;
        }
        Ok(())
    }
}

fn write_images(
    f: &mut fmt::Formatter<'_>,
    images: &[ImageChange],
    outcome: Outcome,
) -> fmt::Result {
    // The image diff is the point of a dry run and useful when a rollout did not complete; for a
    // completed or up-to-date target the summary line says enough.
    if matches!(
        outcome,
        Outcome::UpToDate | Outcome::Completed | Outcome::Registered | Outcome::NotStarted
    ) {
        return Ok(());
    }
    for image in images.iter().filter(|i| i.changes()) {
        writeln!(
            f,
            "      {}: {} -> {}",
            image.container, image.before, image.after
        )?;
    }
    Ok(())
}

fn write_environment(
    f: &mut fmt::Formatter<'_>,
    changes: &[EnvChange],
    outcome: Outcome,
) -> fmt::Result {
    if matches!(outcome, Outcome::UpToDate | Outcome::NotStarted) {
        return Ok(());
    }
    for change in changes {
        writeln!(
            f,
            "      {}: env {}: {} -> {}",
            change.container,
            change.name,
            change.before.as_deref().unwrap_or("(unset)"),
            change.after
        )?;
    }
    Ok(())
}

fn write_stopped(f: &mut fmt::Formatter<'_>, task: &StoppedTask) -> fmt::Result {
    let id = task.task_arn.rsplit('/').next().unwrap_or(&task.task_arn);
    let reason = task
        .stopped_reason
        .as_deref()
        .or(task.stop_code.as_deref())
        .unwrap_or("no reason given");
    write!(
        f,
        "      stopped task {id} ({}): {reason}",
        revision_name(&task.task_definition)
    )?;
    for c in &task.containers {
        match (&c.reason, c.exit_code) {
            (Some(reason), _) => write!(f, "; {}: {reason}", c.name)?,
            (None, Some(code)) => write!(f, "; {}: exit {code}", c.name)?,
            (None, None) => {}
        }
    }
    writeln!(f)
}
