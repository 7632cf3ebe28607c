//! Judging one look at a service during the wait: is the deployment the update started done
//! (completed, failed, rolled back, superseded) or still rolling out, and how far. Pure functions
//! over ECS's answers; `wait.rs` polls and calls them.

use super::ecs::{revision_name, Deployment, RolloutState, Service, ServiceDeployment};
use super::report::Outcome;

/// A deployment being waited for.
#[derive(Debug, Clone)]
pub(crate) struct Tracked {
    /// `cluster/service`.
    pub subject: String,
    /// Cluster as written.
    pub cluster: String,
    /// Service as written.
    pub service: String,
    /// The deployment the update started.
    pub deployment_id: String,
    /// The revision it must run.
    pub task_definition: String,
    /// The revision the service ran before.
    pub previous: Option<String>,
    /// ECS answered the update without a deployment of the new revision (moto does): follow the
    /// primary deployment and check the service's `taskDefinition` instead of the deployment's.
    pub by_service: bool,
    /// When the update was made, seconds since the epoch (the wall clock: ECS's `createdAt` is
    /// one). Service deployments older than this, less a minute for clock skew, are someone
    /// else's: an earlier release's `ROLLBACK_SUCCESSFUL` must not fail this one.
    pub updated_at: i64,
}

/// How far ECS's clock may be behind ours when telling this update's service deployment from
/// earlier ones.
const CLOCK_SKEW_SECS: i64 = 60;

/// The newest service deployment that may be the one `t`'s update started.
pub(crate) fn ours<'d>(
    deployments: &'d [ServiceDeployment],
    t: &Tracked,
) -> Option<&'d ServiceDeployment> {
    deployments.iter().find(|d| {
        d.created_at
            .is_none_or(|c| c >= t.updated_at - CLOCK_SKEW_SECS)
    })
}

/// How a tracked deployment ended.
#[derive(Debug, Clone)]
pub(crate) struct Ended {
    pub outcome: Outcome,
    pub reason: Option<String>,
    /// The service as last seen, for its events.
    pub last: Option<Service>,
}

/// One look at a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Still rolling out; the text says how far.
    Pending(String),
    /// Done, one way or another.
    Done(Outcome, Option<String>),
}

/// Judges one `DescribeServices` answer for a tracked deployment.
pub(crate) fn evaluate(service: &Service, t: &Tracked) -> Verdict {
    if service.status != "ACTIVE" {
        return Verdict::Done(
            Outcome::Failed,
            Some(format!("the service is {}", service.status)),
        );
    }
    let primary = service.primary();
    let Some(d) = service.deployments.iter().find(|d| d.id == t.deployment_id) else {
        return gone(service, t);
    };
    let rolled_back_to_previous =
        primary.is_some_and(|p| p.id != d.id && Some(&p.task_definition) == t.previous.as_ref());
    if d.rollout_state == Some(RolloutState::Failed) {
        let reason = d
            .rollout_state_reason
            .clone()
            .unwrap_or_else(|| "no reason given".into());
        if rolled_back_to_previous {
            return Verdict::Done(
                Outcome::RolledBack,
                Some(format!(
                    "rollout FAILED ({reason}); ECS is rolling back to {}",
                    primary_text(primary)
                )),
            );
        }
        return Verdict::Done(Outcome::Failed, Some(format!("rollout FAILED: {reason}")));
    }
    if d.status != "PRIMARY" {
        if rolled_back_to_previous {
            return Verdict::Done(
                Outcome::RolledBack,
                Some(format!("ECS rolled back to {}", primary_text(primary))),
            );
        }
        return Verdict::Done(
            Outcome::Superseded,
            Some(format!(
                "deployment {} became primary",
                primary_text(primary)
            )),
        );
    }
    let runs = if t.by_service {
        service.task_definition.as_deref().unwrap_or("")
    } else {
        d.task_definition.as_str()
    };
    if runs != t.task_definition {
        return Verdict::Done(
            Outcome::Failed,
            Some(format!(
                "deployment {} runs {}, not {}",
                d.id,
                revision_name(runs),
                revision_name(&t.task_definition)
            )),
        );
    }
    let completed = match &d.rollout_state {
        Some(RolloutState::Completed) => true,
        // Without a rollout state, steady state is what the `services-stable` waiter checks: the
        // counts agree and no older deployment is left.
        None => d.running_count == d.desired_count && service.deployments.len() == 1,
        Some(_) => false,
    };
    if completed {
        return Verdict::Done(Outcome::Completed, None);
    }
    Verdict::Pending(progress(d))
}

/// The primary deployment as the messages name it: `ecs-svc/123 (family:7)`.
fn primary_text(primary: Option<&Deployment>) -> String {
    match primary {
        Some(p) => format!("{} ({})", p.id, revision_name(&p.task_definition)),
        None => "no deployment".to_string(),
    }
}

/// The verdict when the update's deployment is no longer listed: replaced by a newer one of the
/// same revision, or rolled back.
fn gone(service: &Service, t: &Tracked) -> Verdict {
    let primary = service.primary();
    let current = primary
        .map(|p| p.task_definition.as_str())
        .or(service.task_definition.as_deref())
        .unwrap_or("");
    if current == t.task_definition {
        return Verdict::Done(
            Outcome::Superseded,
            Some(format!(
                "deployment {} was replaced by {}",
                t.deployment_id,
                primary_text(primary)
            )),
        );
    }
    Verdict::Done(
        Outcome::RolledBack,
        Some(format!(
            "deployment {} is gone; the service is back on {}",
            t.deployment_id,
            revision_name(current)
        )),
    )
}

/// How far a rollout got: `rollout IN_PROGRESS: 1/2 running, 1 pending`.
fn progress(d: &Deployment) -> String {
    let state = d
        .rollout_state
        .as_ref()
        .map_or("in progress", |s| s.as_str());
    let mut text = format!(
        "rollout {state}: {}/{} running",
        d.running_count, d.desired_count
    );
    if d.pending_count > 0 {
        text.push_str(&format!(", {} pending", d.pending_count));
    }
    if d.failed_tasks > 0 {
        text.push_str(&format!(", {} failed to start", d.failed_tasks));
    }
    text
}

/// Refines a `DescribeServices` verdict with the newest service deployment: a rollback or stop
/// ends the wait with the alarms and failure count that caused it; alarms being watched or a bake
/// time are named while the rollout is pending.
pub(crate) fn refine(verdict: Verdict, deployment: Option<&ServiceDeployment>) -> Verdict {
    let Some(d) = deployment else {
        return verdict;
    };
    let mut why = Vec::new();
    if let Some(reason) = &d.status_reason {
        why.push(reason.clone());
    }
    if !d.triggered_alarms.is_empty() {
        why.push(format!(
            "alarms triggered: {}",
            d.triggered_alarms.join(", ")
        ));
    }
    if let (Some(failures), Some(threshold)) =
        (d.circuit_breaker_failures, d.circuit_breaker_threshold)
    {
        if failures > 0 {
            why.push(format!(
                "circuit breaker: {failures} failed tasks (threshold {threshold})"
            ));
        }
    }
    let text = |state: &str| {
        if why.is_empty() {
            format!("service deployment {state}")
        } else {
            format!("service deployment {state}: {}", why.join("; "))
        }
    };
    match d.status.as_str() {
        "ROLLBACK_REQUESTED"
        | "ROLLBACK_IN_PROGRESS"
        | "ROLLBACK_SUCCESSFUL"
        | "ROLLBACK_FAILED" => Verdict::Done(Outcome::RolledBack, Some(text(&d.status))),
        "STOPPED" | "STOP_REQUESTED" => Verdict::Done(Outcome::Failed, Some(text(&d.status))),
        "PENDING" | "IN_PROGRESS" => match verdict {
            Verdict::Pending(mut progress) => {
                if d.lifecycle_stage.as_deref() == Some("BAKE_TIME") {
                    progress.push_str(
                        "; in its bake time: ECS keeps the deployment IN_PROGRESS until the bake time ends",
                    );
                } else if d.alarm_status.as_deref() == Some("MONITORING") {
                    progress.push_str("; deployment alarms are being watched");
                }
                Verdict::Pending(progress)
            }
            done => done,
        },
        _ => verdict,
    }
}
