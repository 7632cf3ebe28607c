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
//!
//! This file polls; `verdict.rs` judges each answer.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use crate::report::{format_duration, Event, Level, Reporter};

use super::clock::Clock;
use super::ecs::{short_name, Ecs, Service};
use super::report::Outcome;
use super::request::PollSettings;
use super::verdict::{evaluate, ours, refine, Ended, Tracked, Verdict};

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
    let ctx = Polling {
        ecs,
        clock,
        deadline: clock.now() + timeout,
        settings: poll,
        reporter,
    };
    let mut waiting = Waiting::new(tracked);
    let mut delay = poll.interval;
    for t in tracked {
        reporter.event(Event::Step {
            subject: &t.subject,
            text: &format!("waiting for deployment {}", t.deployment_id),
        });
    }
    loop {
        let remaining = ctx.deadline.saturating_duration_since(clock.now());
        clock.sleep(jitter(delay).min(remaining)).await;
        let mut throttled = false;
        // A call that does not answer by the deadline ends the wait: `--timeout` bounds it all,
        // whatever the SDK's own timeouts.
        let mut out_of_time = false;
        'polls: for (cluster, indices) in waiting.pending_by_cluster() {
            // Ten services to a call.
            for chunk in indices.chunks(10) {
                match waiting.poll_chunk(&ctx, cluster, chunk).await {
                    Ok(was_throttled) => throttled |= was_throttled,
                    Err(OutOfTime) => {
                        out_of_time = true;
                        break 'polls;
                    }
                }
            }
        }
        if waiting.ended.iter().all(Option::is_some) {
            break;
        }
        if out_of_time || clock.now() >= ctx.deadline {
            waiting.time_out(timeout);
            break;
        }
        delay = if throttled {
            delay * 2
        } else {
            delay.mul_f64(1.5)
        }
        .min(poll.max_interval.max(poll.interval));
    }
    waiting
        .ended
        .into_iter()
        .map(|e| e.expect("every tracked deployment ended"))
        .collect()
}

/// What every poll of one wait shares.
struct Polling<'a, E, C> {
    ecs: &'a E,
    clock: &'a C,
    deadline: Instant,
    settings: &'a PollSettings,
    reporter: &'a dyn Reporter,
}

impl<E: Ecs, C: Clock> Polling<'_, E, C> {
    /// How long the next call may take: what is left of the timeout, but at least the grace.
    fn limit(&self) -> Duration {
        self.deadline
            .saturating_duration_since(self.clock.now())
            .max(LAST_CALL_GRACE)
    }
}

/// A call that did not answer by the deadline.
struct OutOfTime;

/// What the wait knows of each tracked deployment (by index) between polls.
struct Waiting<'a> {
    tracked: &'a [Tracked],
    ended: Vec<Option<Ended>>,
    /// The service as last seen.
    last: Vec<Option<Service>>,
    /// The progress last reported, so that each step is said once.
    progress: Vec<Option<String>>,
    /// Failed polls in a row.
    errors: Vec<u32>,
    /// Whether ListServiceDeployments answers: unknown until the first call.
    deployments_api: Option<bool>,
}

impl<'a> Waiting<'a> {
    fn new(tracked: &'a [Tracked]) -> Self {
        Waiting {
            tracked,
            ended: vec![None; tracked.len()],
            last: vec![None; tracked.len()],
            progress: vec![None; tracked.len()],
            errors: vec![0; tracked.len()],
            deployments_api: None,
        }
    }

    /// The deployments still pending, by cluster.
    fn pending_by_cluster(&self) -> BTreeMap<&'a str, Vec<usize>> {
        let mut by_cluster: BTreeMap<&'a str, Vec<usize>> = BTreeMap::new();
        let tracked = self.tracked;
        for (i, t) in tracked.iter().enumerate() {
            if self.ended[i].is_none() {
                by_cluster.entry(t.cluster.as_str()).or_default().push(i);
            }
        }
        by_cluster
    }

    /// One `DescribeServices` call for up to ten services of `cluster`, and the verdict on each.
    /// `Ok(true)` when ECS throttled the call (the next poll waits longer).
    async fn poll_chunk<E: Ecs, C: Clock>(
        &mut self,
        ctx: &Polling<'_, E, C>,
        cluster: &str,
        chunk: &[usize],
    ) -> Result<bool, OutOfTime> {
        let names: Vec<String> = chunk
            .iter()
            .map(|&i| self.tracked[i].service.clone())
            .collect();
        let Ok(described) =
            tokio::time::timeout(ctx.limit(), ctx.ecs.describe_services(cluster, &names)).await
        else {
            return Err(OutOfTime);
        };
        match described {
            Ok(answer) => {
                for &i in chunk {
                    self.errors[i] = 0;
                    let t = &self.tracked[i];
                    let Some(service) = answer
                        .services
                        .iter()
                        .find(|s| s.name == short_name(&t.service))
                    else {
                        self.end(i, Outcome::Failed, "the service no longer exists".into());
                        continue;
                    };
                    let verdict = self.judge(ctx, cluster, i, service).await?;
                    self.record(ctx.reporter, i, service, verdict);
                }
                Ok(false)
            }
            Err(e) if e.kind.is_transient() => {
                for &i in chunk {
                    self.errors[i] += 1;
                    if self.errors[i] > ctx.settings.max_errors {
                        let reason = format!("gave up after {} failed polls: {e}", self.errors[i]);
                        self.end(i, Outcome::Unknown, reason);
                    }
                }
                ctx.reporter.event(Event::Note {
                    subject: "",
                    level: Level::Debug,
                    text: &format!("{e}; retrying"),
                });
                Ok(true)
            }
            Err(e) => {
                for &i in chunk {
                    let reason = format!("could not read the service: {e}");
                    self.end(i, Outcome::Unknown, reason);
                }
                Ok(false)
            }
        }
    }

    /// The verdict on one service: its `DescribeServices` answer, refined by its service
    /// deployments where ECS has that API.
    async fn judge<E: Ecs, C: Clock>(
        &mut self,
        ctx: &Polling<'_, E, C>,
        cluster: &str,
        i: usize,
        service: &Service,
    ) -> Result<Verdict, OutOfTime> {
        let t = &self.tracked[i];
        let verdict = evaluate(service, t);
        if self.deployments_api == Some(false) {
            return Ok(verdict);
        }
        let Ok(deployments) = tokio::time::timeout(
            ctx.limit(),
            ctx.ecs.service_deployments(cluster, &t.service, 3),
        )
        .await
        else {
            return Err(OutOfTime);
        };
        match deployments {
            Ok(deployments) => {
                self.deployments_api = Some(true);
                return Ok(refine(verdict, ours(&deployments, t)));
            }
            Err(e) if self.deployments_api.is_none() => {
                self.deployments_api = Some(false);
                ctx.reporter.event(Event::Note {
                    subject: "",
                    level: Level::Debug,
                    text: &format!("{e}; following the rollouts through DescribeServices alone"),
                });
            }
            Err(_) => {}
        }
        Ok(verdict)
    }

    /// Ends deployment `i` or reports how far it got, once per change.
    fn record(&mut self, reporter: &dyn Reporter, i: usize, service: &Service, verdict: Verdict) {
        match verdict {
            Verdict::Done(outcome, reason) => {
                self.ended[i] = Some(Ended {
                    outcome,
                    reason,
                    last: Some(service.clone()),
                });
            }
            Verdict::Pending(text) => {
                if self.progress[i].as_deref() != Some(text.as_str()) {
                    reporter.event(Event::Step {
                        subject: &self.tracked[i].subject,
                        text: &text,
                    });
                    self.progress[i] = Some(text);
                }
                self.last[i] = Some(service.clone());
            }
        }
    }

    /// Ends deployment `i` without a last answer to go by.
    fn end(&mut self, i: usize, outcome: Outcome, reason: String) {
        self.ended[i] = Some(Ended {
            outcome,
            reason: Some(reason),
            last: self.last[i].take(),
        });
    }

    /// Ends every deployment still pending as timed out, saying how far it got.
    fn time_out(&mut self, timeout: Duration) {
        for i in 0..self.ended.len() {
            if self.ended[i].is_none() {
                let state = self.progress[i]
                    .as_deref()
                    .unwrap_or("no answer from ECS yet");
                let reason = format!(
                    "still in progress after {}: {state}",
                    format_duration(timeout)
                );
                self.end(i, Outcome::TimedOut, reason);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ecs::{RolloutState, ServiceDeployment};
    use super::super::verdict::*;
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
