//! Scenario tests of a stack laid out as the fleet's CDK app lays it out, over the in-memory
//! ECS: generated service and family names, targets found by container, the agent family found
//! through the Fleet Manager's `ECS_TASK_DEFINITION_ARN`, and rollback.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use super::clock::FakeClock;
use super::fake::{arn, definition, Call, FakeEcs, Step};
use super::*;
use crate::error::Exit;
use crate::manifest::{DeploySpec, FamilyReference, FamilyTarget, ServiceTarget};
use crate::report::NullReporter;

const CLUSTER: &str = "open-claw-fleet-dev";
const FM_SERVICE: &str = "open-claw-fleet-dev-FleetManagerService1A2B3C-x7Yz";
const CONDUIT_SERVICE: &str = "open-claw-fleet-dev-ConduitService9F8E7D-q1Rs";
const FM_FAMILY: &str = "openclawfleetdevFleetManagerTaskDef4A5B6C";
const CONDUIT_FAMILY: &str = "openclawfleetdevConduitTaskDef1D2E3F";
const AGENT_FAMILY: &str = "openclawfleetdevAgentTaskTaskDef7G8H9I";
const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/open-claw-fleet";
const ENV: &str = "ECS_TASK_DEFINITION_ARN";

fn digest(c: char) -> crate::names::Digest {
    format!("sha256:{}", c.to_string().repeat(64))
        .parse()
        .unwrap()
}

/// The stack: Conduit and the Fleet Manager as services, the agent family launched by the
/// Fleet Manager through `ECS_TASK_DEFINITION_ARN`.
fn stack() -> FakeEcs {
    let ecs = FakeEcs::new();
    ecs.add_definition(definition(
        CONDUIT_FAMILY,
        1,
        &[("conduit", &format!("{REGISTRY}/conduit-matrix:latest"))],
        Some("ARM64"),
    ));
    ecs.add_definition(definition(
        AGENT_FAMILY,
        1,
        &[("agent", &format!("{REGISTRY}/openclaw-agent:latest"))],
        Some("ARM64"),
    ));
    let mut fm = definition(
        FM_FAMILY,
        1,
        &[("fleet-manager", &format!("{REGISTRY}/fleet-manager:latest"))],
        Some("ARM64"),
    );
    fm.containers[0].environment = vec![
        ("ENVIRONMENT".into(), "dev".into()),
        (ENV.into(), arn(AGENT_FAMILY, 1)),
        (
            "COMMAND_CENTER_API_TOKEN_HINT".into(),
            "s3cr3t-value".into(),
        ),
    ];
    ecs.add_definition(fm);
    ecs.add_service(CLUSTER, CONDUIT_SERVICE, &arn(CONDUIT_FAMILY, 1), 1);
    ecs.add_service(CLUSTER, FM_SERVICE, &arn(FM_FAMILY, 1), 1);
    ecs.script(CONDUIT_SERVICE, vec![Step::Complete]);
    ecs.script(FM_SERVICE, vec![Step::Complete]);
    ecs
}

fn found(container: &str) -> ServiceTarget {
    ServiceTarget {
        cluster: CLUSTER.into(),
        service: None,
        container: container.into(),
        always_on: true,
    }
}

fn request(image: &str, repository: &str, digest: char, spec: DeploySpec) -> DeployRequest {
    DeployRequest {
        image: image.parse().unwrap(),
        image_uri: format!("{REGISTRY}/{repository}"),
        digest: self::digest(digest),
        platform: "linux/arm64".parse().unwrap(),
        spec,
    }
}

fn fleet_manager(digest: char) -> DeployRequest {
    request(
        "fleet-manager",
        "fleet-manager",
        digest,
        DeploySpec {
            services: vec![found("fleet-manager")],
            task_families: Vec::new(),
            keep_revisions: 2,
        },
    )
}

fn agent(digest: char) -> DeployRequest {
    request(
        "agent",
        "openclaw-agent",
        digest,
        DeploySpec {
            services: Vec::new(),
            task_families: vec![FamilyTarget {
                family: None,
                container: "agent".into(),
                referenced_by: Some(FamilyReference {
                    image: "fleet-manager".parse().unwrap(),
                    env: ENV.into(),
                    services: vec![found("fleet-manager")],
                    location: crate::error::Location {
                        file: "fleet.toml".into(),
                        line: Some(1),
                        key: None,
                    },
                }),
            }],
            keep_revisions: 2,
        },
    )
}

fn conduit(digest: char) -> DeployRequest {
    request(
        "conduit",
        "conduit-matrix",
        digest,
        DeploySpec {
            services: vec![found("conduit")],
            task_families: Vec::new(),
            keep_revisions: 2,
        },
    )
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

async fn run(ecs: &FakeEcs, requests: &[DeployRequest], options: &DeployOptions) -> DeployReport {
    deploy_with_clock(ecs, &FakeClock::new(), requests, options, &NullReporter).await
}

fn service<'r>(report: &'r DeployReport, name: &str) -> &'r ServiceReport {
    report
        .services
        .iter()
        .find(|s| s.service == name)
        .unwrap_or_else(|| panic!("no report for {name}: {report}"))
}

#[tokio::test]
async fn services_are_found_by_container_and_the_fleet_manager_names_the_new_agent_revision() {
    let ecs = stack();
    let requests = [conduit('c'), fleet_manager('f'), agent('a')];
    let report = run(&ecs, &requests, &options()).await;
    assert_eq!(report.exit(), Exit::Success, "{report}");

    // The agent family, found through the reference, got revision 2 with the new image.
    let family = &report.families[0];
    assert_eq!(family.family, AGENT_FAMILY);
    assert_eq!(family.outcome, Outcome::Registered);
    assert_eq!(
        family.new_revision.as_deref(),
        Some(arn(AGENT_FAMILY, 2).as_str())
    );
    let agent_revision = ecs.revision(&arn(AGENT_FAMILY, 2));
    assert_eq!(
        agent_revision.containers[0].image,
        format!("{REGISTRY}/openclaw-agent@{}", digest('a'))
    );

    // The Fleet Manager's new revision has its new image and names agent revision 2.
    let fm = service(&report, FM_SERVICE);
    assert_eq!(fm.outcome, Outcome::Completed, "{report}");
    assert_eq!(
        fm.new_task_definition.as_deref(),
        Some(arn(FM_FAMILY, 2).as_str())
    );
    let revision = ecs.revision(&arn(FM_FAMILY, 2));
    let container = &revision.containers[0];
    assert_eq!(
        container.image,
        format!("{REGISTRY}/fleet-manager@{}", digest('f'))
    );
    assert_eq!(container.env(ENV), Some(arn(AGENT_FAMILY, 2).as_str()));
    assert_eq!(
        container.env("ENVIRONMENT"),
        Some("dev"),
        "other variables stay"
    );
    let released: Vec<&str> = fm.released.iter().map(|i| i.as_str()).collect();
    assert_eq!(released, ["fleet-manager", "agent"]);
    assert_eq!(fm.environment[0].after, arn(AGENT_FAMILY, 2));

    let conduit_report = service(&report, CONDUIT_SERVICE);
    assert_eq!(conduit_report.outcome, Outcome::Completed);
    assert_eq!(conduit_report.cluster, CLUSTER);

    // One plan: the agent revision is registered before the revision that names it, and each
    // service is updated once.
    let registers: Vec<String> = ecs
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Register(family) => Some(family),
            _ => None,
        })
        .collect();
    assert_eq!(registers, [AGENT_FAMILY, CONDUIT_FAMILY, FM_FAMILY]);
    assert_eq!(ecs.count(|c| matches!(c, Call::Update(_))), 2);

    // A second run finds everything up to date and changes nothing.
    let before = ecs.mutating_calls().len();
    let again = run(
        &ecs,
        &[conduit('c'), fleet_manager('f'), agent('a')],
        &options(),
    )
    .await;
    assert_eq!(again.exit(), Exit::Success, "{again}");
    assert!(
        again
            .services
            .iter()
            .all(|s| s.outcome == Outcome::UpToDate),
        "{again}"
    );
    assert_eq!(again.families[0].outcome, Outcome::UpToDate, "{again}");
    assert_eq!(ecs.mutating_calls().len(), before);
}

#[tokio::test]
async fn a_new_agent_alone_gives_the_fleet_manager_a_revision_with_only_the_reference_changed() {
    let ecs = stack();
    let report = run(&ecs, &[agent('b')], &options()).await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    let fm = service(&report, FM_SERVICE);
    assert_eq!(fm.outcome, Outcome::Completed, "{report}");
    assert!(fm.images.is_empty());
    let old = ecs.revision(&arn(FM_FAMILY, 1));
    let mut expected = old.clone();
    expected.arn = arn(FM_FAMILY, 2);
    expected.revision = 2;
    expected.containers[0].environment[1].1 = arn(AGENT_FAMILY, 2);
    assert_eq!(ecs.revision(&arn(FM_FAMILY, 2)), expected);
}

#[tokio::test]
async fn a_dry_run_is_a_diff_of_images_and_references_without_secret_values() {
    let ecs = stack();
    let dry = DeployOptions {
        dry_run: true,
        ..options()
    };
    let report = run(&ecs, &[fleet_manager('f'), agent('a')], &dry).await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    assert!(ecs.mutating_calls().is_empty());
    let text = report.to_string();
    let agent_old = arn(AGENT_FAMILY, 1);
    assert!(
        text.contains(&format!(
            "      fleet-manager: {REGISTRY}/fleet-manager:latest -> {REGISTRY}/fleet-manager@{}",
            digest('f')
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "      fleet-manager: env {ENV}: {agent_old} -> <new revision of {AGENT_FAMILY}>"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "      agent: {REGISTRY}/openclaw-agent:latest -> {REGISTRY}/openclaw-agent@{}",
            digest('a')
        )),
        "{text}"
    );
    let json = serde_json::to_value(&report).unwrap();
    let fm = json["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == FM_SERVICE)
        .unwrap();
    assert_eq!(fm["environment"][0]["name"], ENV);
    assert_eq!(fm["environment"][0]["before"], agent_old.as_str());
    assert!(!json.to_string().contains("s3cr3t-value"));
    assert!(!text.contains("s3cr3t-value"));
    // A changed variable whose name says secret shows no value.
    let change = EnvChange::new("app", "API_TOKEN", Some("old-value"), "new-value");
    assert_eq!(
        (change.before.as_deref(), change.after.as_str()),
        (Some("<redacted>"), "<redacted>")
    );
    assert_eq!(
        EnvChange::new("app", "FLEET_SECRET_ARN", None, "arn:x").after,
        "arn:x"
    );
}

#[tokio::test]
async fn no_service_or_several_with_the_container_is_an_error_listing_them() {
    let ecs = stack();
    let mut request = conduit('c');
    request.spec.services[0].container = "element".into();
    let report = run(&ecs, &[request], &options()).await;
    assert_eq!(report.exit(), Exit::Failed, "{report}");
    let error = report.errors().next().unwrap().to_string();
    assert_eq!(
        error,
        format!("no service of cluster `{CLUSTER}` runs a container `element`; its services: `{CONDUIT_SERVICE}` (containers conduit), `{FM_SERVICE}` (containers fleet-manager)")
    );
    assert!(ecs.mutating_calls().is_empty());

    // A second service running Conduit: the target must name one.
    ecs.add_service(
        CLUSTER,
        "open-claw-fleet-dev-ConduitCopy-zz",
        &arn(CONDUIT_FAMILY, 1),
        1,
    );
    let report = run(&ecs, &[conduit('c')], &options()).await;
    let error = report.errors().next().unwrap().to_string();
    assert!(
        error.starts_with(&format!(
            "several services of cluster `{CLUSTER}` run a container `conduit`"
        )),
        "{error}"
    );
    assert!(ecs.mutating_calls().is_empty());
}

#[tokio::test]
async fn a_cluster_that_does_not_exist_says_how_to_name_it() {
    let ecs = stack();
    let mut request = conduit('c');
    request.spec.services[0].cluster = "open-claw-fleet-staging".into();
    let report = run(&ecs, &[request], &options()).await;
    assert_eq!(report.exit(), Exit::Failed, "{report}");
    let error = report.errors().next().unwrap();
    assert_eq!(
        crate::error::render(error),
        "error: cluster `open-claw-fleet-staging` does not exist\n  \
         hint: check `cluster` of the deploy targets and the AWS account and region; the fleet's CDK app names it `open-claw-fleet-<environment>`: pass `--var environment=NAME` for a stack other than `dev`"
    );
    assert!(ecs.mutating_calls().is_empty());
}

#[tokio::test]
async fn a_missing_reference_stops_the_run_before_any_change() {
    let ecs = stack();
    ecs.state.lock().unwrap().definitions[2].containers[0]
        .environment
        .retain(|(n, _)| n != ENV);
    let report = run(&ecs, &[fleet_manager('f'), agent('a')], &options()).await;
    assert_eq!(report.exit(), Exit::Failed, "{report}");
    let error = report.errors().next().unwrap().to_string();
    assert_eq!(
        error,
        format!("container `fleet-manager` of `{CLUSTER}/{FM_SERVICE}` ({FM_FAMILY}:1) has no environment variable `{ENV}`")
    );
    assert!(ecs.mutating_calls().is_empty());
}

#[tokio::test]
async fn revisions_a_reference_or_a_running_task_uses_are_never_deregistered() {
    let ecs = stack();
    // Agent revisions 2..=5 exist; 2 runs as a task started by RunTask, and the Fleet Manager
    // of another cluster references 3.
    for revision in 2..=5 {
        ecs.add_definition(definition(
            AGENT_FAMILY,
            revision,
            &[("agent", &format!("{REGISTRY}/openclaw-agent:{revision}"))],
            Some("ARM64"),
        ));
    }
    let mut other = definition(
        "prodFleetManagerTaskDef",
        1,
        &[("fleet-manager", "fm:other")],
        Some("ARM64"),
    );
    other.containers[0].environment = vec![(ENV.into(), arn(AGENT_FAMILY, 3))];
    ecs.add_definition(other);
    ecs.add_service(
        "open-claw-fleet-prod",
        "prod-fm",
        &arn("prodFleetManagerTaskDef", 1),
        1,
    );
    ecs.state
        .lock()
        .unwrap()
        .running
        .insert(CLUSTER.into(), vec![arn(AGENT_FAMILY, 2)]);

    let report = run(&ecs, &[agent('a')], &options()).await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    // The new revision is 6; keep_revisions = 2 keeps 6 and 5; 2 runs, 3 is referenced by a
    // service, 1 by the Fleet Manager's previous revision (kept, so a rollback can launch it):
    // only 4 goes.
    assert_eq!(
        report.families[0].new_revision.as_deref(),
        Some(arn(AGENT_FAMILY, 6).as_str())
    );
    let mut active = ecs.active(AGENT_FAMILY);
    active.sort();
    assert_eq!(active, [1, 2, 3, 5, 6], "{report}");
    assert_eq!(report.deregistered, [arn(AGENT_FAMILY, 4)]);
}

#[tokio::test]
async fn a_revision_cloudformation_registered_is_left_to_its_stack() {
    let ecs = stack();
    for revision in 2..=4 {
        let mut d = definition(
            AGENT_FAMILY,
            revision,
            &[("agent", &format!("{REGISTRY}/openclaw-agent:{revision}"))],
            Some("ARM64"),
        );
        if revision == 2 {
            d.tags.push((
                "aws:cloudformation:stack-name".into(),
                "open-claw-fleet-dev".into(),
            ));
        }
        ecs.add_definition(d);
    }
    let report = run(&ecs, &[agent('a')], &options()).await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    // New revision 5; keep 5 and 4; 1 is referenced by the kept Fleet Manager revision 1; 3
    // goes; 2 is CloudFormation's.
    assert_eq!(report.deregistered, [arn(AGENT_FAMILY, 3)], "{report}");
    let mut active = ecs.active(AGENT_FAMILY);
    active.sort();
    assert_eq!(active, [1, 2, 4, 5]);
}

#[tokio::test]
async fn rollback_returns_each_service_to_the_revision_it_replaced() {
    let ecs = stack();
    let report = run(&ecs, &[fleet_manager('f'), agent('a')], &options()).await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    let targets: Vec<RollbackTarget> = report
        .services
        .iter()
        .map(|s| RollbackTarget {
            cluster: s.cluster.clone(),
            service: s.service.clone(),
            task_definition: s.old_task_definition.clone().unwrap(),
            released: s.released.clone(),
        })
        .collect();
    // A dry run says where each service would return, and changes nothing.
    let mutating = ecs.mutating_calls().len();
    let dry = DeployOptions {
        dry_run: true,
        ..options()
    };
    ecs.script(FM_SERVICE, vec![Step::InProgress]);
    let plan = rollback_with_clock(&ecs, &FakeClock::new(), &targets, &dry, &NullReporter).await;
    assert_eq!(plan.exit(), Exit::Success, "{plan}");
    assert_eq!(
        service(&plan, FM_SERVICE).reason.as_deref(),
        Some(format!("would return the service to {FM_FAMILY}:1").as_str())
    );
    assert_eq!(ecs.mutating_calls().len(), mutating);

    // The rollback's first read plays one step, its wait the next.
    ecs.script(FM_SERVICE, vec![Step::InProgress, Step::Complete]);
    let back =
        rollback_with_clock(&ecs, &FakeClock::new(), &targets, &options(), &NullReporter).await;
    assert_eq!(back.exit(), Exit::Success, "{back}");
    let fm = service(&back, FM_SERVICE);
    assert_eq!(fm.outcome, Outcome::Completed, "{back}");
    assert_eq!(
        fm.old_task_definition.as_deref(),
        Some(arn(FM_FAMILY, 2).as_str())
    );
    assert_eq!(
        fm.new_task_definition.as_deref(),
        Some(arn(FM_FAMILY, 1).as_str())
    );
    ecs.with_service(FM_SERVICE, |s| {
        assert_eq!(
            s.task_definition.as_deref(),
            Some(arn(FM_FAMILY, 1).as_str())
        )
    });
    // Revision 1 names agent revision 1 again: the agents go back with it.
    assert_eq!(
        ecs.revision(&arn(FM_FAMILY, 1)).containers[0].env(ENV),
        Some(arn(AGENT_FAMILY, 1).as_str())
    );
    // Nothing was registered by the rollback, and a second one changes nothing.
    let registers = ecs.count(|c| matches!(c, Call::Register(_)));
    let again =
        rollback_with_clock(&ecs, &FakeClock::new(), &targets, &options(), &NullReporter).await;
    assert_eq!(
        service(&again, FM_SERVICE).outcome,
        Outcome::UpToDate,
        "{again}"
    );
    assert_eq!(ecs.count(|c| matches!(c, Call::Register(_))), registers);
}

#[tokio::test]
async fn a_service_deployment_rolled_back_by_alarms_fails_with_the_alarm_names() {
    let ecs = stack();
    ecs.script(
        CONDUIT_SERVICE,
        vec![Step::InProgress, Step::InProgress, Step::Complete],
    );
    let baking = ServiceDeployment {
        status: "IN_PROGRESS".into(),
        lifecycle_stage: Some("BAKE_TIME".into()),
        ..ServiceDeployment::default()
    };
    let rolled_back = ServiceDeployment {
        status: "ROLLBACK_IN_PROGRESS".into(),
        triggered_alarms: vec!["conduit-5xx".into()],
        ..ServiceDeployment::default()
    };
    ecs.state.lock().unwrap().service_deployments = Some(HashMap::from([(
        CONDUIT_SERVICE.to_string(),
        VecDeque::from([vec![baking], vec![rolled_back]]),
    )]));
    let report = run(&ecs, &[conduit('c')], &options()).await;
    assert_eq!(report.exit(), Exit::DeployIncomplete, "{report}");
    let s = service(&report, CONDUIT_SERVICE);
    assert_eq!(s.outcome, Outcome::RolledBack);
    assert_eq!(
        s.reason.as_deref(),
        Some("service deployment ROLLBACK_IN_PROGRESS: alarms triggered: conduit-5xx")
    );
    assert_eq!(ecs.count(|c| matches!(c, Call::ServiceDeployments(_))), 2);
}

#[tokio::test]
async fn without_the_service_deployments_api_the_wait_asks_once_and_reads_describe_services() {
    let ecs = stack();
    ecs.script(CONDUIT_SERVICE, vec![Step::InProgress, Step::Complete]);
    let report = run(&ecs, &[conduit('c')], &options()).await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    assert_eq!(ecs.count(|c| matches!(c, Call::ServiceDeployments(_))), 1);
}
