//! The fleet released as its CDK app lays it out, against a replica of the stack in the AWS
//! emulator (`cdk_replica.rs`): services found by cluster and container, the agent family found
//! through the Fleet Manager's `ECS_TASK_DEFINITION_ARN`, a second run that changes nothing, and
//! `rollback`. The deploy sections are exactly the ones proposed for the shipped manifest
//! ([`DEPLOY_SECTIONS`]).

use std::path::Path;
use std::time::Duration;

use aws_sdk_ecs::types::CpuArchitecture;
use fleet_images::deploy::{
    deploy, rollback, AwsEcs, DeployOptions, DeployRequest, Outcome, PollSettings, RollbackTarget,
};
use fleet_images::error::Exit;
use fleet_images::manifest::{parse, LoadOptions};
use fleet_images::report::NullReporter;

use crate::cdk_replica::{self, Replica, ReplicaSpec, AGENT_REFERENCE, REPOSITORIES};
use crate::deploy::config;
use crate::support::{base_image, service, unique, Fleet, ImageCleanup};

/// The `[vars]` addition and the deploy sections proposed for `images/fleet.toml`.
pub const DEPLOY_SECTIONS: &str = r#"
[images.conduit.deploy]
services = [{ cluster = "open-claw-fleet-${environment}", container = "conduit" }]

[images.element.deploy]
services = [{ cluster = "open-claw-fleet-${environment}", container = "element" }]

[images.fleet-manager.deploy]
services = [{ cluster = "open-claw-fleet-${environment}", container = "fleet-manager" }]

[images.agent.deploy]
task_families = [{ container = "agent", referenced_by = { image = "fleet-manager", env = "ECS_TASK_DEFINITION_ARN" } }]

[images.command-center.deploy]
services = [{ cluster = "open-claw-fleet-${environment}", container = "command-center" }]
"#;

const VARS: &str = "[vars]\nenvironment = \"dev\"\n";

/// The five images of the fleet, each a small image on the test base, in CDK's repositories.
fn images(registry_prefix: &str) -> String {
    let mut text = String::new();
    for (image, repository) in REPOSITORIES {
        text.push_str(&format!(
            "\n[images.{image}]\ncontext = \"{image}\"\nargs = {{ BASE = \"${{base}}\", FIXTURE = \"{registry_prefix}\" }}\nrepository = \"{repository}\"\n"
        ));
    }
    text
}

fn replica_spec(
    environment: &str,
    registry: &str,
    prefix: &str,
    arch: CpuArchitecture,
) -> ReplicaSpec {
    ReplicaSpec {
        environment: environment.to_string(),
        registry: registry.to_string(),
        repository_prefix: prefix.to_string(),
        cpu_architecture: arch,
    }
}

fn options() -> DeployOptions {
    DeployOptions {
        timeout: Duration::from_secs(60),
        poll: PollSettings {
            interval: Duration::from_millis(50),
            max_interval: Duration::from_millis(200),
            max_errors: 3,
        },
        ..DeployOptions::default()
    }
}

fn digest(c: char) -> fleet_images::names::Digest {
    format!("sha256:{}", c.to_string().repeat(64))
        .parse()
        .unwrap()
}

/// Deploy requests from the proposed sections, loaded as the manifest loads them.
fn requests(
    environment: &str,
    registry: &str,
    prefix: &str,
    platform: &str,
    d: char,
) -> Vec<DeployRequest> {
    let text = format!("{VARS}{}{DEPLOY_SECTIONS}", images(prefix)).replace("${base}", "busybox");
    let options = LoadOptions {
        vars: vec![("environment".into(), environment.into())],
        ..LoadOptions::default()
    };
    let manifest =
        parse(Path::new("fleet.toml"), &text, &options).expect("the proposed sections load");
    manifest
        .images
        .iter()
        .map(|image| DeployRequest {
            image: image.name.clone(),
            image_uri: format!("{registry}/{prefix}{}", image.repository),
            digest: digest(d),
            platform: platform.parse().unwrap(),
            spec: image.deploy.clone(),
        })
        .collect()
}

async fn env_value(task_definition: &str, container: &str, name: &str) -> Option<String> {
    let (_, environment) = cdk_replica::container_of(task_definition, container).await;
    environment
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

#[tokio::test]
async fn the_proposed_sections_release_an_arm64_replica_and_roll_back() {
    let environment = unique("cdk");
    let prefix = format!("{}/", unique("ocf"));
    let registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    let replica: Replica = cdk_replica::create(&replica_spec(
        &environment,
        registry,
        &prefix,
        CpuArchitecture::Arm64,
    ))
    .await;
    let ecs = AwsEcs::from_config(&config().await);

    // Another environment's stack is not there: said, with how to name it.
    let missing = format!("{environment}-missing");
    let report = deploy(
        &ecs,
        &requests(&missing, registry, &prefix, "linux/arm64", 'a'),
        &options(),
        &NullReporter,
    )
    .await;
    assert_eq!(report.exit(), Exit::Failed, "{report}");
    let error = report.errors().next().unwrap().to_string();
    assert_eq!(
        error,
        format!("cluster `open-claw-fleet-{missing}` does not exist")
    );

    // amd64 images for the ARM64 stack: refused before any change, for every target.
    let report = deploy(
        &ecs,
        &requests(&environment, registry, &prefix, "linux/amd64", 'a'),
        &options(),
        &NullReporter,
    )
    .await;
    assert_eq!(report.exit(), Exit::Failed, "{report}");
    assert!(
        report.errors().all(|e| e.to_string().contains("on ARM64")),
        "{report}"
    );
    for s in &replica.services {
        assert_eq!(
            cdk_replica::running(&replica.cluster, &s.name).await,
            s.task_definition
        );
    }

    // arm64 images: every service found by its container and released, the agents through
    // the Fleet Manager's new revision.
    let report = deploy(
        &ecs,
        &requests(&environment, registry, &prefix, "linux/arm64", 'b'),
        &options(),
        &NullReporter,
    )
    .await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    assert_eq!(report.services.len(), 4, "{report}");
    for s in &replica.services {
        let r = report
            .services
            .iter()
            .find(|r| r.service == s.name)
            .unwrap_or_else(|| panic!("{} not deployed: {report}", s.name));
        assert_eq!(r.outcome, Outcome::Completed, "{report}");
        let now = cdk_replica::running(&replica.cluster, &s.name).await;
        assert_eq!(Some(&now), r.new_task_definition.as_ref());
        let (image, _) = cdk_replica::container_of(&now, &s.container).await;
        let repository = REPOSITORIES
            .iter()
            .find(|(i, _)| *i == s.container)
            .unwrap()
            .1;
        assert_eq!(
            image,
            format!("{registry}/{prefix}{repository}@{}", digest('b'))
        );
    }
    let family = &report.families[0];
    assert_eq!(family.outcome, Outcome::Registered, "{report}");
    assert_eq!(
        family.old_revision.as_deref(),
        Some(replica.agent_task_definition.as_str())
    );
    let agent = family.new_revision.clone().unwrap();
    let (agent_image, _) = cdk_replica::container_of(&agent, "agent").await;
    assert_eq!(
        agent_image,
        format!("{registry}/{prefix}openclaw-agent@{}", digest('b'))
    );
    let fm = replica.service("fleet-manager");
    let fm_now = cdk_replica::running(&replica.cluster, &fm.name).await;
    assert_eq!(
        env_value(&fm_now, "fleet-manager", AGENT_REFERENCE).await,
        Some(agent.clone())
    );
    // The rest of the Fleet Manager's environment is untouched.
    assert_eq!(
        env_value(&fm_now, "fleet-manager", "DEPLOY_VERSION")
            .await
            .as_deref(),
        Some("1.0.1")
    );

    // Again: nothing changes.
    let again = deploy(
        &ecs,
        &requests(&environment, registry, &prefix, "linux/arm64", 'b'),
        &options(),
        &NullReporter,
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
    assert_eq!(cdk_replica::active_revisions(&agent).await.len(), 2);

    // Rollback: every service back on the revision the stack made, the agents with it.
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
    let back = rollback(&ecs, &targets, &options(), &NullReporter).await;
    assert_eq!(back.exit(), Exit::Success, "{back}");
    for s in &replica.services {
        assert_eq!(
            cdk_replica::running(&replica.cluster, &s.name).await,
            s.task_definition
        );
    }
    assert_eq!(
        env_value(&fm.task_definition, "fleet-manager", AGENT_REFERENCE).await,
        Some(replica.agent_task_definition.clone())
    );
}

fn read_json(fleet: &Fleet, name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fleet.file(name)).unwrap()).unwrap()
}

fn digest_of(result: &serde_json::Value, image: &str) -> String {
    result["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == image)
        .and_then(|i| i["digest"].as_str())
        .unwrap_or_else(|| panic!("no digest for {image}: {result}"))
        .to_string()
}

#[test]
fn build_push_deploy_releases_the_replica_then_changes_nothing_then_rolls_back() {
    let prefix = unique("fi-cdk");
    let _cleanup = ImageCleanup::new(&prefix);
    let environment = unique("cdk");
    let registry = service("FLEET_TEST_AUTH_REGISTRY");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The test environment builds linux/amd64 images (an amd64 engine, no emulation): the
    // replica's task definitions declare X86_64 so they can run them; the ARM64 stack is the
    // library test above.
    let replica = runtime.block_on(cdk_replica::create(&replica_spec(
        &environment,
        &registry,
        &format!("{prefix}/"),
        CpuArchitecture::X8664,
    )));

    let mut fleet = Fleet::new();
    fleet.manifest(&format!(
        "[vars]\nenvironment = \"dev\"\nbase = \"{base}\"\n\n[registry]\nkind = \"ecr\"\nregion = \"us-east-1\"\nendpoint = \"{registry}\"\nrepository_prefix = \"{prefix}/\"\n{images}{DEPLOY_SECTIONS}",
        base = base_image(),
        images = images(&prefix),
    ));
    for (image, _) in REPOSITORIES {
        fleet
            .write(
                &format!("{image}/Dockerfile"),
                "ARG BASE\nFROM ${BASE}\nARG FIXTURE\nLABEL fleet-test.fixture=${FIXTURE}\nCOPY version /opt/version\n",
            )
            .write(&format!("{image}/version"), format!("{image} 1\n"));
    }
    fleet
        .env("AWS_ENDPOINT_URL", &service("FLEET_TEST_AWS_ENDPOINT"))
        .env("FLEET_IMAGES_DEPLOY_POLL_MS", "50");
    let env_var = format!("environment={environment}");
    let release = |json: &str| {
        fleet.run(&[
            "--manifest",
            "fleet.toml",
            "--var",
            &env_var,
            "build",
            "--push",
            "--deploy",
            "--progress",
            "plain",
            "--json-out",
            json,
        ])
    };

    let run = release("r1.json");
    run.ok();
    // The stack's repositories were used as they are, their settings reported.
    assert!(
        run.stderr.contains("kept its own settings"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("tags are MUTABLE, the manifest says IMMUTABLE"),
        "{}",
        run.stderr
    );
    let r1 = read_json(&fleet, "r1.json");
    let deployed = &r1["deploy"];
    let mut first = std::collections::BTreeMap::new();
    runtime.block_on(async {
        for s in &replica.services {
            let now = cdk_replica::running(&replica.cluster, &s.name).await;
            assert_ne!(
                now, s.task_definition,
                "{} was not released: {deployed}",
                s.name
            );
            let (image, _) = cdk_replica::container_of(&now, &s.container).await;
            let repository = REPOSITORIES
                .iter()
                .find(|(i, _)| *i == s.container)
                .unwrap()
                .1;
            assert_eq!(
                image,
                format!(
                    "{registry}/{prefix}/{repository}@{}",
                    digest_of(&r1, &s.container)
                )
            );
            first.insert(s.container.clone(), now);
        }
        let agent = deployed["families"][0]["new_revision"]
            .as_str()
            .unwrap()
            .to_string();
        let (agent_image, _) = cdk_replica::container_of(&agent, "agent").await;
        assert_eq!(
            agent_image,
            format!(
                "{registry}/{prefix}/openclaw-agent@{}",
                digest_of(&r1, "agent")
            )
        );
        assert_eq!(
            env_value(&first["fleet-manager"], "fleet-manager", AGENT_REFERENCE).await,
            Some(agent)
        );
        // The repositories keep the stack's settings.
        let ecr = aws_sdk_ecr::Client::new(&config().await);
        let described = ecr
            .describe_repositories()
            .repository_names(format!("{prefix}/conduit-matrix"))
            .send()
            .await
            .unwrap();
        let repository = &described.repositories()[0];
        assert_eq!(
            repository.image_tag_mutability().unwrap().as_str(),
            "MUTABLE"
        );
        assert!(!repository
            .image_scanning_configuration()
            .unwrap()
            .scan_on_push());
    });

    // A second run changes nothing: no build, no push, no new revision.
    let run = release("r2.json");
    run.ok();
    let r2 = read_json(&fleet, "r2.json");
    for image in r2["images"].as_array().unwrap() {
        assert_eq!(image["outcome"], "remote", "{r2}");
    }
    for s in r2["deploy"]["services"].as_array().unwrap() {
        assert_eq!(s["outcome"], "up-to-date", "{r2}");
    }
    assert_eq!(r2["deploy"]["families"][0]["outcome"], "up-to-date", "{r2}");

    // A new agent alone: the Fleet Manager gets a revision naming it, its image unchanged.
    fleet.write("agent/version", "agent 2\n");
    let run = release("r3.json");
    run.ok();
    let r3 = read_json(&fleet, "r3.json");
    let agent2 = r3["deploy"]["families"][0]["new_revision"]
        .as_str()
        .unwrap()
        .to_string();
    let fm = replica.service("fleet-manager");
    runtime.block_on(async {
        let now = cdk_replica::running(&replica.cluster, &fm.name).await;
        assert_ne!(now, first["fleet-manager"]);
        assert_eq!(
            env_value(&now, "fleet-manager", AGENT_REFERENCE).await,
            Some(agent2.clone())
        );
        let (image, _) = cdk_replica::container_of(&now, "fleet-manager").await;
        assert_eq!(
            image,
            cdk_replica::container_of(&first["fleet-manager"], "fleet-manager")
                .await
                .0
        );
        for s in replica
            .services
            .iter()
            .filter(|s| s.container != "fleet-manager")
        {
            assert_eq!(
                cdk_replica::running(&replica.cluster, &s.name).await,
                first[&s.container]
            );
        }
    });

    // `rollback agent`: the last deploy of the agent is undone, the Fleet Manager goes back to
    // the revision naming the first agent.
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "--var",
        &env_var,
        "rollback",
        "agent",
        "--json-out",
        "back.json",
    ]);
    run.ok();
    runtime.block_on(async {
        assert_eq!(
            cdk_replica::running(&replica.cluster, &fm.name).await,
            first["fleet-manager"]
        );
    });
    // A second rollback finds it there already.
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "--var",
        &env_var,
        "rollback",
        "agent",
        "--json-out",
        "back2.json",
    ]);
    run.ok();
    let back2 = read_json(&fleet, "back2.json");
    assert_eq!(
        back2["rollback"]["services"][0]["outcome"], "up-to-date",
        "{back2}"
    );

    // From the first release's artifact: every service back on the stack's own revision.
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "--var",
        &env_var,
        "rollback",
        "--from",
        "r1.json",
    ]);
    run.ok();
    runtime.block_on(async {
        for s in &replica.services {
            assert_eq!(
                cdk_replica::running(&replica.cluster, &s.name).await,
                s.task_definition
            );
        }
    });
}
