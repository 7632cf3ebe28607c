//! Scenario tests of the whole deploy over the in-memory ECS and a fake clock.

use std::sync::Mutex;
use std::time::Duration;

use super::clock::FakeClock;
use super::ecs::{StoppedContainer, StoppedTask};
use super::fake::{arn, definition, Call, FakeEcs, Step};
use super::*;
use crate::error::Exit;
use crate::manifest::{DeploySpec, FamilyTarget, ServiceTarget};
use crate::report::{Event, Reporter};

const URI: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fleet/element";
const OLD_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fleet/element:latest";

fn digest() -> crate::names::Digest {
    format!("sha256:{}", "d".repeat(64)).parse().unwrap()
}

fn pinned() -> String {
    format!("{URI}@{}", digest())
}

/// Records events as text lines.
#[derive(Default)]
struct Recorder {
    lines: Mutex<Vec<String>>,
}

impl Reporter for Recorder {
    fn event(&self, event: Event<'_>) {
        let line = match event {
            Event::Started { subject, action } => format!("[{subject}] started {action}"),
            Event::Step { subject, text } | Event::Line { subject, text } => {
                format!("[{subject}] {text}")
            }
            Event::Finished {
                subject,
                ok,
                summary,
                ..
            } => format!("[{subject}] finished ok={ok}: {summary}"),
            Event::Note {
                subject,
                level,
                text,
            } => format!("[{subject}] {level:?}: {text}"),
        };
        self.lines.lock().unwrap().push(line);
    }
    fn print(&self, _: &str) {}
}

impl Recorder {
    fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

fn request(platform: &str, services: &[(&str, &str)], families: &[&str]) -> DeployRequest {
    DeployRequest {
        image: "element".parse().unwrap(),
        image_uri: URI.into(),
        digest: digest(),
        platform: platform.parse().unwrap(),
        spec: DeploySpec {
            services: services
                .iter()
                .map(|(cluster, service)| ServiceTarget {
                    cluster: cluster.to_string(),
                    service: Some(service.to_string()),
                    container: "element".into(),
                    always_on: true,
                })
                .collect(),
            task_families: families
                .iter()
                .map(|f| FamilyTarget {
                    family: Some(f.to_string()),
                    container: "element".into(),
                    referenced_by: None,
                })
                .collect(),
            keep_revisions: 3,
        },
    }
}

fn options() -> DeployOptions {
    DeployOptions {
        poll: PollSettings {
            interval: Duration::from_secs(5),
            max_interval: Duration::from_secs(30),
            max_errors: 4,
        },
        ..DeployOptions::default()
    }
}

/// A fleet with `fleet/element` on `element:1` (arm64, with a sidecar).
fn fleet() -> FakeEcs {
    let ecs = FakeEcs::new();
    ecs.add_definition(definition(
        "element",
        1,
        &[("element", OLD_IMAGE), ("log-router", "fluent-bit:stable")],
        Some("ARM64"),
    ));
    ecs.add_service("fleet", "element", &arn("element", 1), 2);
    ecs
}

async fn run(
    ecs: &FakeEcs,
    requests: &[DeployRequest],
    options: &DeployOptions,
) -> (DeployReport, Recorder, FakeClock) {
    let reporter = Recorder::default();
    let clock = FakeClock::new();
    let report = deploy_with_clock(ecs, &clock, requests, options, &reporter).await;
    (report, reporter, clock)
}

#[tokio::test]
async fn in_progress_then_completed_succeeds_on_a_pinned_revision() {
    let ecs = fleet();
    ecs.script(
        "element",
        vec![Step::InProgress, Step::Progress, Step::Complete],
    );
    let (report, reporter, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &[])],
        &options(),
    )
    .await;

    assert_eq!(report.exit(), Exit::Success, "{report}");
    let s = &report.services[0];
    assert_eq!(s.outcome, Outcome::Completed);
    assert_eq!(
        s.old_task_definition.as_deref(),
        Some(arn("element", 1).as_str())
    );
    assert_eq!(
        s.new_task_definition.as_deref(),
        Some(arn("element", 2).as_str())
    );
    assert_eq!(s.deployment_id.as_deref(), Some("ecs-svc/2"));
    let new = ecs.revision(&arn("element", 2));
    assert_eq!(new.container("element").unwrap().image, pinned());
    assert_eq!(
        new.container("log-router").unwrap().image,
        "fluent-bit:stable"
    );
    assert_eq!(new.tags, vec![("team".to_string(), "fleet".to_string())]);
    assert_eq!(ecs.count(|c| matches!(c, Call::Register(_))), 1);
    assert_eq!(
        ecs.count(|c| matches!(c, Call::Update(u) if !u.force_new_deployment)),
        1
    );
    assert_eq!(
        ecs.count(|c| matches!(c, Call::DescribeServices(..))),
        1 + 3,
        "one read, three polls"
    );
    let log = reporter.text();
    assert!(
        log.contains("[fleet/element] registered element:2"),
        "{log}"
    );
    assert!(log.contains("rollout IN_PROGRESS: 1/2 running"), "{log}");
    assert!(
        log.contains("[fleet/element] finished ok=true: completed on element:2"),
        "{log}"
    );
}

#[tokio::test]
async fn a_failed_rollout_exits_4_with_events_and_stop_reasons() {
    let ecs = fleet();
    ecs.script(
        "element",
        vec![Step::InProgress, Step::Fail("tasks failed to start")],
    );
    ecs.state.lock().unwrap().stopped.insert(
        "element".into(),
        vec![StoppedTask {
            task_arn: "arn:aws:ecs:us-east-1:123456789012:task/fleet/abc".into(),
            task_definition: arn("element", 2),
            stop_code: Some("TaskFailedToStart".into()),
            stopped_reason: Some(
                "CannotPullContainerError: pull image manifest has been retried 5 time(s)".into(),
            ),
            containers: vec![StoppedContainer {
                name: "element".into(),
                exit_code: None,
                reason: Some("CannotPullContainerError".into()),
            }],
            ..StoppedTask::default()
        }],
    );
    let (report, _, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &[])],
        &options(),
    )
    .await;

    assert_eq!(report.exit(), Exit::DeployIncomplete);
    let s = &report.services[0];
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!(
        s.reason.as_deref(),
        Some("rollout FAILED: tasks failed to start")
    );
    assert!(!s.events.is_empty() && s.events.len() <= 5);
    assert_eq!(
        s.events[0].message,
        "(service element) deployment failed: tasks failed to start"
    );
    assert_eq!(s.stopped_tasks.len(), 1);
    let text = report.render_text();
    assert!(text.contains("fleet/element  failed"), "{text}");
    assert!(
        text.contains("stopped task abc (element:2): CannotPullContainerError: pull image"),
        "{text}"
    );
    assert!(
        ecs.count(|c| matches!(c, Call::Deregister(_) | Call::ListTaskDefinitions(_))) == 0,
        "no clean-up after a failure"
    );
}

#[tokio::test]
async fn a_rollback_exits_4() {
    let ecs = fleet();
    ecs.script("element", vec![Step::InProgress, Step::Rollback]);
    let (report, _, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &[])],
        &options(),
    )
    .await;
    assert_eq!(report.exit(), Exit::DeployIncomplete);
    assert_eq!(report.services[0].outcome, Outcome::RolledBack);
    let reason = report.services[0].reason.clone().unwrap();
    assert!(
        reason.contains("is gone; the service is back on element:1"),
        "{reason}"
    );
}

#[tokio::test]
async fn stable_on_the_old_task_definition_exits_4() {
    let ecs = fleet();
    ecs.script("element", vec![Step::StableOnOld]);
    let (report, _, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &[])],
        &options(),
    )
    .await;
    assert_eq!(report.exit(), Exit::DeployIncomplete);
    assert_eq!(report.services[0].outcome, Outcome::RolledBack);
}

#[tokio::test]
async fn another_deployment_becoming_primary_exits_4() {
    let ecs = fleet();
    ecs.script("element", vec![Step::InProgress, Step::Supersede]);
    let (report, _, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &[])],
        &options(),
    )
    .await;
    assert_eq!(report.exit(), Exit::DeployIncomplete);
    assert_eq!(report.services[0].outcome, Outcome::Superseded);
    assert!(report.services[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("someone-else:1"));
}

#[tokio::test]
async fn throttled_polls_are_retried_and_bounded() {
    let ecs = fleet();
    ecs.script("element", vec![Step::Complete]);
    let reporter = Recorder::default();
    let clock = FakeClock::new();
    let requests = [request("linux/arm64", &[("fleet", "element")], &[])];
    // Throttling starts after the first read: describe, (register, update,) then three throttled polls.
    let throttling = ThrottleAfterFirst {
        inner: &ecs,
        throttles: Mutex::new(3),
    };
    let report = deploy_with_clock(&throttling, &clock, &requests, &options(), &reporter).await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    assert_eq!(report.services[0].outcome, Outcome::Completed);
    assert_eq!(
        ecs.count(|c| matches!(c, Call::DescribeServices(..))),
        2,
        "the double saw the read and the successful poll"
    );
    assert_eq!(*throttling.throttles.lock().unwrap(), 0);
    // Backoff doubled on each throttle: 5s, 10s, 20s, then capped at 30s (±20% jitter).
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 4, "{sleeps:?}");
    assert!(sleeps[3] >= Duration::from_secs(24), "{sleeps:?}");
}

#[tokio::test]
async fn endless_throttling_gives_up_after_a_bounded_number_of_polls() {
    let ecs = fleet();
    let reporter = Recorder::default();
    let clock = FakeClock::new();
    let requests = [request("linux/arm64", &[("fleet", "element")], &[])];
    let throttling = ThrottleAfterFirst {
        inner: &ecs,
        throttles: Mutex::new(u32::MAX),
    };
    let report = deploy_with_clock(&throttling, &clock, &requests, &options(), &reporter).await;
    assert_eq!(report.exit(), Exit::DeployIncomplete);
    assert_eq!(report.services[0].outcome, Outcome::Unknown);
    assert_eq!(
        u32::MAX - *throttling.throttles.lock().unwrap(),
        options().poll.max_errors + 1
    );
}

#[tokio::test]
async fn a_describe_services_that_never_answers_ends_at_the_timeout() {
    let ecs = fleet();
    ecs.script("element", vec![Step::InProgress, Step::Stall]);
    let options = DeployOptions {
        timeout: Duration::from_secs(2),
        poll: PollSettings {
            interval: Duration::from_millis(50),
            max_interval: Duration::from_millis(100),
            max_errors: 4,
        },
        ..DeployOptions::default()
    };
    let started = std::time::Instant::now();
    let report = tokio::time::timeout(
        Duration::from_secs(30),
        deploy_with_clock(
            &ecs,
            &super::clock::SystemClock,
            &[request("linux/arm64", &[("fleet", "element")], &[])],
            &options,
            &Recorder::default(),
        ),
    )
    .await
    .expect("the deploy ended by itself");
    // The timeout, and the grace a last poll gets.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.exit(), Exit::DeployIncomplete, "{report}");
    assert_eq!(report.services[0].outcome, Outcome::TimedOut, "{report}");
}

#[tokio::test]
async fn timeout_with_a_fake_clock_exits_4_listing_what_is_in_progress() {
    let ecs = fleet();
    let (report, _, clock) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &[])],
        &options(),
    )
    .await;
    assert_eq!(report.exit(), Exit::DeployIncomplete);
    let s = &report.services[0];
    assert_eq!(s.outcome, Outcome::TimedOut);
    assert_eq!(
        s.reason.as_deref(),
        Some("still in progress after 30m00s: rollout IN_PROGRESS: 0/2 running")
    );
    let sleeps = clock.sleeps();
    let total: Duration = sleeps.iter().sum();
    assert_eq!(total, DEFAULT_TIMEOUT, "slept exactly until the deadline");
    assert!(
        sleeps[..sleeps.len() - 1]
            .iter()
            .all(|d| *d >= Duration::from_secs(4)),
        "never faster than every few seconds: {sleeps:?}"
    );
    assert!(sleeps.len() < 80, "bounded polls: {}", sleeps.len());
    assert!(report.render_text().contains("timed out"));
}

#[tokio::test]
async fn an_amd64_image_for_an_arm64_task_definition_fails_before_any_change() {
    let ecs = fleet();
    let (report, _, _) = run(
        &ecs,
        &[request("linux/amd64", &[("fleet", "element")], &[])],
        &options(),
    )
    .await;
    assert_eq!(report.exit(), Exit::Failed);
    assert_eq!(report.services[0].outcome, Outcome::Error);
    let error = report.errors().next().unwrap();
    assert_eq!(
        crate::error::render(error),
        "error: image `element` is built for linux/amd64, but `fleet/element` runs task definition `element:1` on ARM64\n  \
         hint: build it for linux/arm64: set `platform = \"linux/arm64\"` in [images.element] (or [defaults])"
    );
    assert!(ecs.mutating_calls().is_empty(), "{:?}", ecs.calls());
}

#[tokio::test]
async fn a_fargate_definition_without_architecture_means_x86_64() {
    let ecs = FakeEcs::new();
    ecs.add_definition(definition("agent", 4, &[("element", OLD_IMAGE)], None));
    ecs.add_definition(definition(
        "element",
        1,
        &[("element", OLD_IMAGE)],
        Some("ARM64"),
    ));
    ecs.add_service("fleet", "element", &arn("element", 1), 1);
    // Two targets: the service is fine, the family is not: nothing changes anywhere.
    let (report, _, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &["agent"])],
        &options(),
    )
    .await;
    assert_eq!(report.families[0].outcome, Outcome::Error);
    assert!(report.families[0]
        .error
        .as_ref()
        .unwrap()
        .to_string()
        .contains("on X86_64 (Fargate's default)"));
    assert_eq!(report.services[0].outcome, Outcome::NotStarted);
    assert!(ecs.mutating_calls().is_empty());
}

#[tokio::test]
async fn a_missing_container_is_an_error_listing_the_containers() {
    let ecs = fleet();
    let mut req = request("linux/arm64", &[("fleet", "element")], &[]);
    req.spec.services[0].container = "elemnt".into();
    let (report, _, _) = run(&ecs, &[req], &options()).await;
    let text = crate::error::render(report.errors().next().unwrap());
    assert!(
        text.contains("has no container `elemnt`; its containers are `element`, `log-router`"),
        "{text}"
    );
    assert!(text.contains("did you mean `element`?"), "{text}");
    assert!(ecs.mutating_calls().is_empty());
}

#[tokio::test]
async fn a_missing_service_is_an_error() {
    let ecs = fleet();
    let (report, _, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "elemnt")], &[])],
        &options(),
    )
    .await;
    assert_eq!(report.exit(), Exit::Failed);
    let text = crate::error::render(report.errors().next().unwrap());
    assert!(
        text.starts_with(
            "error: service `elemnt` was not found in cluster `fleet` (ECS says MISSING)"
        ),
        "{text}"
    );
    assert!(ecs.mutating_calls().is_empty());
}

#[tokio::test]
async fn an_up_to_date_target_makes_no_call_beyond_reading() {
    let ecs = FakeEcs::new();
    ecs.add_definition(definition(
        "element",
        3,
        &[("element", &pinned())],
        Some("ARM64"),
    ));
    ecs.add_definition(definition(
        "agent",
        2,
        &[("element", &format!("{URI}:v1@{}", digest()))],
        Some("ARM64"),
    ));
    ecs.add_service("fleet", "element", &arn("element", 3), 1);
    let (report, _, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &["agent"])],
        &options(),
    )
    .await;
    assert_eq!(report.exit(), Exit::Success);
    assert_eq!(report.services[0].outcome, Outcome::UpToDate);
    assert_eq!(report.families[0].outcome, Outcome::UpToDate);
    assert_eq!(
        ecs.calls(),
        vec![
            Call::DescribeServices("fleet".into(), vec!["element".into()]),
            Call::DescribeTaskDefinition(arn("element", 3)),
            Call::DescribeTaskDefinition("agent".into()),
        ]
    );
}

#[tokio::test]
async fn a_dry_run_makes_no_mutating_call_and_shows_the_diff() {
    let ecs = fleet();
    ecs.add_definition(definition(
        "agent",
        2,
        &[("element", OLD_IMAGE)],
        Some("ARM64"),
    ));
    let options = DeployOptions {
        dry_run: true,
        ..options()
    };
    let (report, _, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &["agent"])],
        &options,
    )
    .await;
    assert_eq!(report.exit(), Exit::Success);
    assert!(ecs.mutating_calls().is_empty());
    assert_eq!(report.services[0].outcome, Outcome::DryRun);
    assert_eq!(report.families[0].outcome, Outcome::DryRun);
    let change = &report.services[0].images[0];
    assert_eq!(
        (change.before.as_str(), change.after.as_str()),
        (OLD_IMAGE, pinned().as_str())
    );
    let text = report.render_text();
    assert!(text.starts_with("deploy (dry run):\n"), "{text}");
    assert!(
        text.contains(&format!("      element: {OLD_IMAGE} -> {}", pinned())),
        "{text}"
    );
}

#[tokio::test]
async fn force_deploys_the_current_revision_again() {
    let ecs = fleet();
    ecs.script("element", vec![Step::Complete]);
    let options = DeployOptions {
        force: true,
        ..options()
    };
    let (report, _, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &[])],
        &options,
    )
    .await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    assert_eq!(ecs.count(|c| matches!(c, Call::Register(_))), 0);
    let update = ServiceUpdate {
        cluster: "fleet".into(),
        service: "element".into(),
        task_definition: None,
        force_new_deployment: true,
    };
    assert!(ecs.calls().contains(&Call::Update(update)));
    let s = &report.services[0];
    assert_eq!(s.old_task_definition, s.new_task_definition);
}

#[tokio::test]
async fn a_family_gets_a_new_revision_and_no_update() {
    let ecs = FakeEcs::new();
    ecs.add_definition(definition(
        "agent",
        1,
        &[("element", OLD_IMAGE)],
        Some("ARM64"),
    ));
    let (report, _, _) = run(&ecs, &[request("linux/arm64", &[], &["agent"])], &options()).await;
    assert_eq!(report.exit(), Exit::Success);
    assert_eq!(report.families[0].outcome, Outcome::Registered);
    assert_eq!(
        report.families[0].new_revision.as_deref(),
        Some(arn("agent", 2).as_str())
    );
    assert_eq!(ecs.revision(&arn("agent", 2)).containers[0].image, pinned());
    assert_eq!(ecs.count(|c| matches!(c, Call::Update(_))), 0);
}

#[tokio::test]
async fn keep_revisions_is_honoured_and_a_revision_in_use_is_never_deregistered() {
    let ecs = FakeEcs::new();
    for revision in 1..=6 {
        ecs.add_definition(definition(
            "element",
            revision,
            &[("element", OLD_IMAGE)],
            Some("ARM64"),
        ));
    }
    // Another family whose name starts with the same text: ListTaskDefinitions matches prefixes.
    ecs.add_definition(definition(
        "element-canary",
        1,
        &[("element", OLD_IMAGE)],
        Some("ARM64"),
    ));
    ecs.add_service("fleet", "element", &arn("element", 6), 1);
    // A service outside the manifest still runs revision 2.
    ecs.add_service("fleet", "element-old", &arn("element", 2), 1);
    ecs.script("element", vec![Step::Complete]);
    let (report, _, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &[])],
        &options(),
    )
    .await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    // keep_revisions = 3: 7 (new), 6, 5 stay; 4, 3, 1 go; 2 is in use.
    assert_eq!(ecs.active("element"), vec![2, 5, 6, 7]);
    assert_eq!(ecs.active("element-canary"), vec![1]);
    let mut gone = report.deregistered.clone();
    gone.sort();
    assert_eq!(
        gone,
        vec![arn("element", 1), arn("element", 3), arn("element", 4)]
    );
}

#[tokio::test]
async fn nothing_is_deregistered_unless_every_deploy_succeeded() {
    let ecs = FakeEcs::new();
    for revision in 1..=6 {
        ecs.add_definition(definition(
            "element",
            revision,
            &[("element", OLD_IMAGE)],
            Some("ARM64"),
        ));
    }
    ecs.add_definition(definition(
        "agent",
        1,
        &[("element", OLD_IMAGE)],
        Some("ARM64"),
    ));
    ecs.add_service("fleet", "element", &arn("element", 6), 1);
    ecs.script("element", vec![Step::Fail("boom")]);
    let (report, _, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &["agent"])],
        &options(),
    )
    .await;
    assert_eq!(report.exit(), Exit::DeployIncomplete);
    assert_eq!(report.families[0].outcome, Outcome::Registered);
    assert_eq!(ecs.count(|c| matches!(c, Call::Deregister(_))), 0);
}

#[tokio::test]
async fn no_wait_starts_the_rollout_and_deregisters_nothing() {
    let ecs = FakeEcs::new();
    for revision in 1..=6 {
        ecs.add_definition(definition(
            "element",
            revision,
            &[("element", OLD_IMAGE)],
            Some("ARM64"),
        ));
    }
    ecs.add_service("fleet", "element", &arn("element", 6), 1);
    let options = DeployOptions {
        wait: false,
        ..options()
    };
    let (report, _, clock) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &[])],
        &options,
    )
    .await;
    assert_eq!(report.exit(), Exit::Success);
    assert_eq!(report.services[0].outcome, Outcome::Started);
    assert!(clock.sleeps().is_empty());
    assert_eq!(ecs.count(|c| matches!(c, Call::Deregister(_))), 0);
}

#[tokio::test]
async fn an_update_answered_like_moto_is_followed_through_the_service() {
    let ecs = fleet();
    ecs.state.lock().unwrap().moto_updates = true;
    let (report, reporter, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &[])],
        &options(),
    )
    .await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    assert_eq!(report.services[0].outcome, Outcome::Completed);
    assert_eq!(
        report.services[0].deployment_id.as_deref(),
        Some("ecs-svc/1")
    );
    assert!(reporter
        .text()
        .contains("ECS answered the update without a deployment of element:2"));
}

#[tokio::test]
async fn preflight_warnings_for_circuit_breaker_and_scaled_to_zero() {
    let ecs = fleet();
    ecs.with_service("element", |s| {
        s.circuit_breaker = None;
        s.desired_count = 0;
    });
    ecs.script("element", vec![Step::Complete]);
    let (report, reporter, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &[])],
        &options(),
    )
    .await;
    assert_eq!(report.exit(), Exit::Success);
    let warnings: Vec<&str> = report.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        warnings[0].starts_with("the deployment circuit breaker with rollback is off"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("desiredCount is 0") && warnings[1].contains("lesson 6"),
        "{warnings:?}"
    );
    assert!(reporter
        .text()
        .contains("[fleet/element] Warn: the deployment circuit breaker"));
}

#[tokio::test]
async fn two_images_in_one_service_share_one_revision() {
    let ecs = FakeEcs::new();
    ecs.add_definition(definition(
        "matrix",
        1,
        &[("element", OLD_IMAGE), ("conduit", "conduit:latest")],
        Some("ARM64"),
    ));
    ecs.add_service("fleet", "matrix", &arn("matrix", 1), 1);
    ecs.script("matrix", vec![Step::Complete]);
    let element = request("linux/arm64", &[("fleet", "matrix")], &[]);
    let mut conduit = request("linux/arm64", &[("fleet", "matrix")], &[]);
    conduit.image = "conduit".parse().unwrap();
    conduit.image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fleet/conduit".into();
    conduit.spec.services[0].container = "conduit".into();
    let (report, _, _) = run(&ecs, &[element, conduit], &options()).await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    assert_eq!(ecs.count(|c| matches!(c, Call::Register(_))), 1);
    let new = ecs.revision(&arn("matrix", 2));
    assert_eq!(new.container("element").unwrap().image, pinned());
    assert_eq!(
        new.container("conduit").unwrap().image,
        format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/fleet/conduit@{}",
            digest()
        )
    );
}

#[tokio::test]
async fn many_services_are_polled_ten_to_a_call() {
    let ecs = FakeEcs::new();
    ecs.add_definition(definition(
        "element",
        1,
        &[("element", OLD_IMAGE)],
        Some("ARM64"),
    ));
    let names: Vec<String> = (0..12).map(|i| format!("element-{i}")).collect();
    for name in &names {
        ecs.add_service("fleet", name, &arn("element", 1), 1);
        ecs.script(name, vec![Step::Complete]);
    }
    let targets: Vec<(&str, &str)> = names.iter().map(|n| ("fleet", n.as_str())).collect();
    let (report, _, _) = run(&ecs, &[request("linux/arm64", &targets, &[])], &options()).await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    // Two reads and two polls (the double asserts at most ten per call).
    assert_eq!(ecs.count(|c| matches!(c, Call::DescribeServices(..))), 4);
    // They shared a revision, and share the new one.
    assert_eq!(ecs.count(|c| matches!(c, Call::Register(_))), 1);
    assert!(report
        .services
        .iter()
        .all(|s| s.new_task_definition.as_deref() == Some(arn("element", 2).as_str())));
}

#[tokio::test]
async fn the_report_serializes_to_json() {
    let ecs = fleet();
    ecs.script("element", vec![Step::Complete]);
    let (report, _, _) = run(
        &ecs,
        &[request("linux/arm64", &[("fleet", "element")], &[])],
        &options(),
    )
    .await;
    let json = serde_json::to_value(&report).unwrap();
    let s = &json["services"][0];
    assert_eq!(s["subject"], "fleet/element");
    assert_eq!(s["outcome"], "completed");
    assert_eq!(s["old_task_definition"], arn("element", 1));
    assert_eq!(s["new_task_definition"], arn("element", 2));
    assert_eq!(s["deployment_id"], "ecs-svc/2");
    assert_eq!(s["images"][0]["after"], pinned());
    assert_eq!(s["error"], serde_json::Value::Null);

    let ecs = fleet();
    let (report, _, _) = run(
        &ecs,
        &[request("linux/amd64", &[("fleet", "element")], &[])],
        &options(),
    )
    .await;
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["services"][0]["outcome"], "error");
    assert_eq!(json["services"][0]["error"]["exit"], 1);
    assert!(json["services"][0]["error"]["hint"]
        .as_str()
        .unwrap()
        .starts_with("build it for linux/arm64"));
}

/// Passes calls through, but throttles `DescribeServices` after the first one.
struct ThrottleAfterFirst<'a> {
    inner: &'a FakeEcs,
    throttles: Mutex<u32>,
}

impl Ecs for ThrottleAfterFirst<'_> {
    async fn describe_services(
        &self,
        cluster: &str,
        services: &[String],
    ) -> Result<DescribedServices, EcsError> {
        let first = self
            .inner
            .count(|c| matches!(c, Call::DescribeServices(..)))
            == 0;
        if !first {
            let mut left = self.throttles.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                return Err(EcsError::new(
                    "DescribeServices",
                    EcsErrorKind::Throttled,
                    Some("ThrottlingException"),
                    "Rate exceeded",
                ));
            }
        }
        self.inner.describe_services(cluster, services).await
    }
    async fn list_clusters(&self) -> Result<Vec<String>, EcsError> {
        self.inner.list_clusters().await
    }
    async fn list_services(&self, cluster: &str) -> Result<Vec<String>, EcsError> {
        self.inner.list_services(cluster).await
    }
    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<TaskDefinition, EcsError> {
        self.inner.describe_task_definition(task_definition).await
    }
    async fn register_task_definition(
        &self,
        base: &TaskDefinition,
        changes: &RevisionChanges,
    ) -> Result<TaskDefinition, EcsError> {
        self.inner.register_task_definition(base, changes).await
    }
    async fn update_service(&self, update: &ServiceUpdate) -> Result<Service, EcsError> {
        self.inner.update_service(update).await
    }
    async fn list_task_definitions(&self, family: &str) -> Result<Vec<String>, EcsError> {
        self.inner.list_task_definitions(family).await
    }
    async fn deregister_task_definition(&self, arn: &str) -> Result<(), EcsError> {
        self.inner.deregister_task_definition(arn).await
    }
    async fn running_task_definitions(&self, cluster: &str) -> Result<Vec<String>, EcsError> {
        self.inner.running_task_definitions(cluster).await
    }
    async fn service_deployments(
        &self,
        cluster: &str,
        service: &str,
        limit: usize,
    ) -> Result<Vec<ServiceDeployment>, EcsError> {
        self.inner
            .service_deployments(cluster, service, limit)
            .await
    }
    async fn stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
        limit: usize,
    ) -> Result<Vec<StoppedTask>, EcsError> {
        self.inner.stopped_tasks(cluster, service, limit).await
    }
}

#[tokio::test]
async fn a_family_that_a_service_also_runs_gets_one_new_revision() {
    let ecs = fleet();
    ecs.script("element", vec![Step::Complete]);
    let (report, _, _) = run(
        &ecs,
        &[request(
            "linux/arm64",
            &[("fleet", "element")],
            &["element"],
        )],
        &options(),
    )
    .await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    assert_eq!(ecs.count(|c| matches!(c, Call::Register(_))), 1);
    assert_eq!(
        report.families[0].new_revision,
        report.services[0].new_task_definition
    );
}
