//! The wait: poll `DescribeServices` (up to ten services a call) until the deployment each
//! update started has completed, failed, rolled back, been superseded, or the timeout ran out.
//!
//! Success is the deployment the update returned being `PRIMARY` with `rolloutState` `COMPLETED`
//! on the new task definition (without a rollout state: running equals desired and no older
//! deployment is left). ECS's circuit breaker marks a failing rollout `FAILED` and, with rollback,
//! starts a new primary deployment of the previous revision; the deployment then disappears.
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html>
//!
//! Where ECS offers them, `ListServiceDeployments` / `DescribeServiceDeployments` say more: a
//! `ROLLBACK_*` or `STOPPED` deployment fails the wait with the triggered alarms or the circuit
//! breaker's failure count, and a deployment kept `IN_PROGRESS` by its alarms or bake time says
//! so while waiting. The first call tells whether the API is there; without it (moto, older
//! partitions) the wait reads `DescribeServices` alone.
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html>

use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use crate::report::{format_duration, Event, Level, Reporter};

use super::clock::Clock;
use super::ecs::{revision_name, short_name, Ecs, RolloutState, Service, ServiceDeployment};
use super::report::Outcome;
use super::request::PollSettings;

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
fn ours<'d>(deployments: &'d [ServiceDeployment], t: &Tracked) -> Option<&'d ServiceDeployment> {
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
    let primary_text = |p: Option<&super::ecs::Deployment>| match p {
        Some(p) => format!("{} ({})", p.id, revision_name(&p.task_definition)),
        None => "no deployment".to_string(),
    };
    let Some(d) = service.deployments.iter().find(|d| d.id == t.deployment_id) else {
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
        return Verdict::Done(
            Outcome::RolledBack,
            Some(format!(
                "deployment {} is gone; the service is back on {}",
                t.deployment_id,
                revision_name(current)
            )),
        );
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
    Verdict::Pending(text)
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

/// Multiplies `delay` by a random factor in [0.8, 1.2).
fn jitter(delay: Duration) -> Duration {
    let random = RandomState::new().hash_one(std::time::SystemTime::now());
    let unit = (random >> 11) as f64 / (1u64 << 53) as f64;
    delay.mul_f64(0.8 + 0.4 * unit)
}

/// How long a poll may run past the deadline: the last poll before it gets to answer (and say
/// how far the rollout got), and a call that never answers ends the wait this long after it.
const LAST_CALL_GRACE: Duration = Duration::from_secs(5);

/// Waits for every tracked deployment; the result is in the same order.
pub(crate) async fn wait(
    ecs: &impl Ecs,
    clock: &impl Clock,
    tracked: &[Tracked],
    timeout: Duration,
    poll: &PollSettings,
    reporter: &dyn Reporter,
) -> Vec<Ended> {
    let deadline = clock.now() + timeout;
    let mut ended: Vec<Option<Ended>> = vec![None; tracked.len()];
    let mut last: Vec<Option<Service>> = vec![None; tracked.len()];
    let mut progress: Vec<Option<String>> = vec![None; tracked.len()];
    let mut errors: Vec<u32> = vec![0; tracked.len()];
    let mut delay = poll.interval;
    // Whether ListServiceDeployments answers: unknown until the first call.
    let mut deployments_api: Option<bool> = None;
    for t in tracked {
        reporter.event(Event::Step {
            subject: &t.subject,
            text: &format!("waiting for deployment {}", t.deployment_id),
        });
    }
    loop {
        let remaining = deadline.saturating_duration_since(clock.now());
        clock.sleep(jitter(delay).min(remaining)).await;

        // Pending services by cluster, ten to a call.
        let mut by_cluster: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, t) in tracked
            .iter()
            .enumerate()
            .filter(|(i, _)| ended[*i].is_none())
        {
            by_cluster.entry(t.cluster.as_str()).or_default().push(i);
        }
        let mut throttled = false;
        // A call that does not answer by the deadline ends the wait: `--timeout` bounds it all,
        // whatever the SDK's own timeouts.
        let mut out_of_time = false;
        'polls: for (cluster, indices) in by_cluster {
            for chunk in indices.chunks(10) {
                let names: Vec<String> =
                    chunk.iter().map(|&i| tracked[i].service.clone()).collect();
                let limit = deadline
                    .saturating_duration_since(clock.now())
                    .max(LAST_CALL_GRACE);
                let Ok(described) =
                    tokio::time::timeout(limit, ecs.describe_services(cluster, &names)).await
                else {
                    out_of_time = true;
                    break 'polls;
                };
                match described {
                    Ok(answer) => {
                        for &i in chunk {
                            errors[i] = 0;
                            let t = &tracked[i];
                            let Some(service) = answer
                                .services
                                .iter()
                                .find(|s| s.name == short_name(&t.service))
                            else {
                                ended[i] = Some(Ended {
                                    outcome: Outcome::Failed,
                                    reason: Some("the service no longer exists".into()),
                                    last: last[i].take(),
                                });
                                continue;
                            };
                            let mut verdict = evaluate(service, t);
                            if deployments_api != Some(false) {
                                let limit = deadline
                                    .saturating_duration_since(clock.now())
                                    .max(LAST_CALL_GRACE);
                                let Ok(deployments) = tokio::time::timeout(
                                    limit,
                                    ecs.service_deployments(cluster, &t.service, 3),
                                )
                                .await
                                else {
                                    out_of_time = true;
                                    break 'polls;
                                };
                                match deployments {
                                    Ok(deployments) => {
                                        deployments_api = Some(true);
                                        verdict = refine(verdict, ours(&deployments, t));
                                    }
                                    Err(e) if deployments_api.is_none() => {
                                        deployments_api = Some(false);
                                        reporter.event(Event::Note {
                                            subject: "",
                                            level: Level::Debug,
                                            text: &format!(
                                                "{e}; following the rollouts through DescribeServices alone"
                                            ),
                                        });
                                    }
                                    Err(_) => {}
                                }
                            }
                            match verdict {
                                Verdict::Done(outcome, reason) => {
                                    ended[i] = Some(Ended {
                                        outcome,
                                        reason,
                                        last: Some(service.clone()),
                                    });
                                }
                                Verdict::Pending(text) => {
                                    if progress[i].as_deref() != Some(text.as_str()) {
                                        reporter.event(Event::Step {
                                            subject: &t.subject,
                                            text: &text,
                                        });
                                        progress[i] = Some(text);
                                    }
                                    last[i] = Some(service.clone());
                                }
                            }
                        }
                    }
                    Err(e) if e.kind.is_transient() => {
                        throttled = true;
                        for &i in chunk {
                            errors[i] += 1;
                            if errors[i] > poll.max_errors {
                                ended[i] = Some(Ended {
                                    outcome: Outcome::Unknown,
                                    reason: Some(format!(
                                        "gave up after {} failed polls: {e}",
                                        errors[i]
                                    )),
                                    last: last[i].take(),
                                });
                            }
                        }
                        reporter.event(Event::Note {
                            subject: "",
                            level: Level::Debug,
                            text: &format!("{e}; retrying"),
                        });
                    }
                    Err(e) => {
                        for &i in chunk {
                            ended[i] = Some(Ended {
                                outcome: Outcome::Unknown,
                                reason: Some(format!("could not read the service: {e}")),
                                last: last[i].take(),
                            });
                        }
                    }
                }
            }
        }
        if ended.iter().all(Option::is_some) {
            break;
        }
        if out_of_time || clock.now() >= deadline {
            for (i, slot) in ended.iter_mut().enumerate().filter(|(_, e)| e.is_none()) {
                let state = progress[i].as_deref().unwrap_or("no answer from ECS yet");
                *slot = Some(Ended {
                    outcome: Outcome::TimedOut,
                    reason: Some(format!(
                        "still in progress after {}: {state}",
                        format_duration(timeout)
                    )),
                    last: last[i].take(),
                });
            }
            break;
        }
        delay = if throttled {
            delay * 2
        } else {
            delay.mul_f64(1.5)
        }
        .min(poll.max_interval.max(poll.interval));
    }
    ended
        .into_iter()
        .map(|e| e.expect("every tracked deployment ended"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::ecs::Deployment;

    fn tracked() -> Tracked {
        Tracked {
            subject: "fleet/element".into(),
            cluster: "fleet".into(),
            service: "element".into(),
            deployment_id: "ecs-svc/2".into(),
            task_definition: "td:2".into(),
            previous: Some("td:1".into()),
            by_service: false,
            updated_at: 1_700_000_000,
        }
    }

    #[test]
    fn an_earlier_service_deployment_is_not_taken_for_this_one() {
        let t = tracked();
        let earlier = ServiceDeployment {
            status: "ROLLBACK_SUCCESSFUL".into(),
            created_at: Some(t.updated_at - 600),
            ..ServiceDeployment::default()
        };
        assert_eq!(ours(std::slice::from_ref(&earlier), &t), None);
        let this = ServiceDeployment {
            status: "IN_PROGRESS".into(),
            created_at: Some(t.updated_at - 5),
            ..ServiceDeployment::default()
        };
        assert_eq!(ours(&[this.clone(), earlier], &t), Some(&this));
    }

    fn deployment(id: &str, status: &str, td: &str, state: Option<RolloutState>) -> Deployment {
        Deployment {
            id: id.into(),
            status: status.into(),
            task_definition: td.into(),
            desired_count: 2,
            running_count: 1,
            rollout_state: state,
            ..Deployment::default()
        }
    }

    fn service(deployments: Vec<Deployment>) -> Service {
        Service {
            name: "element".into(),
            status: "ACTIVE".into(),
            task_definition: Some("td:2".into()),
            deployments,
            ..Service::default()
        }
    }

    #[test]
    fn verdicts() {
        let t = tracked();
        let new = |state| deployment("ecs-svc/2", "PRIMARY", "td:2", state);
        let old = deployment("ecs-svc/1", "ACTIVE", "td:1", Some(RolloutState::Completed));
        assert_eq!(
            evaluate(
                &service(vec![new(Some(RolloutState::InProgress)), old.clone()]),
                &t
            ),
            Verdict::Pending("rollout IN_PROGRESS: 1/2 running".into())
        );
        assert_eq!(
            evaluate(&service(vec![new(Some(RolloutState::Completed))]), &t),
            Verdict::Done(Outcome::Completed, None)
        );
        assert!(matches!(
            evaluate(&service(vec![new(Some(RolloutState::Failed))]), &t),
            Verdict::Done(Outcome::Failed, _)
        ));
        // Gone, back on the old revision.
        let back = deployment(
            "ecs-svc/3",
            "PRIMARY",
            "td:1",
            Some(RolloutState::Completed),
        );
        assert!(matches!(
            evaluate(&service(vec![back.clone()]), &t),
            Verdict::Done(Outcome::RolledBack, _)
        ));
        // Failed while the circuit breaker rolls back.
        let failing = deployment("ecs-svc/2", "ACTIVE", "td:2", Some(RolloutState::Failed));
        assert!(matches!(
            evaluate(&service(vec![back, failing]), &t),
            Verdict::Done(Outcome::RolledBack, _)
        ));
        // Someone else's deployment became primary.
        let other = deployment(
            "ecs-svc/4",
            "PRIMARY",
            "td:9",
            Some(RolloutState::InProgress),
        );
        let ours = deployment(
            "ecs-svc/2",
            "ACTIVE",
            "td:2",
            Some(RolloutState::InProgress),
        );
        assert!(matches!(
            evaluate(&service(vec![other, ours]), &t),
            Verdict::Done(Outcome::Superseded, _)
        ));
        // Without rollout state: steady when the counts agree and nothing else is left.
        let mut steady = new(None);
        assert!(matches!(
            evaluate(&service(vec![steady.clone(), old]), &t),
            Verdict::Pending(_)
        ));
        steady.running_count = 2;
        assert_eq!(
            evaluate(&service(vec![steady]), &t),
            Verdict::Done(Outcome::Completed, None)
        );
    }

    #[test]
    fn service_deployments_refine_the_verdict() {
        let pending = || Verdict::Pending("rollout IN_PROGRESS: 1/2 running".into());
        assert_eq!(refine(pending(), None), pending());
        let rollback = ServiceDeployment {
            status: "ROLLBACK_IN_PROGRESS".into(),
            status_reason: Some("Service deployment rolled back because of alarms".into()),
            triggered_alarms: vec!["fleet-5xx".into(), "fleet-latency".into()],
            ..ServiceDeployment::default()
        };
        assert_eq!(
            refine(pending(), Some(&rollback)),
            Verdict::Done(
                Outcome::RolledBack,
                Some("service deployment ROLLBACK_IN_PROGRESS: Service deployment rolled back because of alarms; alarms triggered: fleet-5xx, fleet-latency".into())
            )
        );
        let stopped = ServiceDeployment {
            status: "STOPPED".into(),
            circuit_breaker_failures: Some(3),
            circuit_breaker_threshold: Some(3),
            ..ServiceDeployment::default()
        };
        assert_eq!(
            refine(pending(), Some(&stopped)),
            Verdict::Done(
                Outcome::Failed,
                Some(
                    "service deployment STOPPED: circuit breaker: 3 failed tasks (threshold 3)"
                        .into()
                )
            )
        );
        let baking = ServiceDeployment {
            status: "IN_PROGRESS".into(),
            lifecycle_stage: Some("BAKE_TIME".into()),
            alarm_status: Some("MONITORING".into()),
            ..ServiceDeployment::default()
        };
        let Verdict::Pending(text) = refine(pending(), Some(&baking)) else {
            panic!("still pending");
        };
        assert!(
            text.ends_with(
                "in its bake time: ECS keeps the deployment IN_PROGRESS until the bake time ends"
            ),
            "{text}"
        );
        let watched = ServiceDeployment {
            status: "IN_PROGRESS".into(),
            alarm_status: Some("MONITORING".into()),
            ..ServiceDeployment::default()
        };
        assert_eq!(
            refine(pending(), Some(&watched)),
            Verdict::Pending(
                "rollout IN_PROGRESS: 1/2 running; deployment alarms are being watched".into()
            )
        );
        let successful = ServiceDeployment {
            status: "SUCCESSFUL".into(),
            ..ServiceDeployment::default()
        };
        assert_eq!(
            refine(Verdict::Done(Outcome::Completed, None), Some(&successful)),
            Verdict::Done(Outcome::Completed, None)
        );
    }

    #[test]
    fn jitter_stays_within_a_fifth() {
        for _ in 0..100 {
            let d = jitter(Duration::from_secs(10));
            assert!(
                d >= Duration::from_secs(8) && d < Duration::from_secs(12),
                "{d:?}"
            );
        }
    }
}
