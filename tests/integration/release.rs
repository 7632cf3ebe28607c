//! The release pipeline end to end: `build --push --deploy` against the ECR emulator, the
//! authenticated registry standing in for ECR's data plane, and the ECS emulator.

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, NetworkMode, OsFamily, RuntimePlatform,
};

use crate::build::fixture;
use crate::deploy::config;
use crate::support::{service, unique, ImageCleanup};

#[test]
fn build_push_deploy_pins_the_new_digest_then_changes_nothing() {
    let prefix = unique("fi-release");
    let _cleanup = ImageCleanup::new(&prefix);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cluster = unique("release-cluster");
    let service_name = unique("release-web");
    let family = unique("release-web");
    let old_arn = runtime.block_on(fargate_service(&cluster, &service_name, &family, 0));

    let mut fleet = fixture(&prefix);
    let text = std::fs::read_to_string(fleet.file("fleet.toml"))
        .unwrap()
        .replace(&format!("repository = \"{prefix}/"), "repository = \"");
    fleet.manifest(&format!(
        "[registry]\nkind = \"ecr\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\nrepository_prefix = \"{prefix}/\"\ntag_mutability = \"mutable\"\n{text}\n[images.web.deploy]\nservices = [{{ cluster = \"{cluster}\", service = \"{service_name}\", container = \"web\", always_on = false }}]\n",
        service("FLEET_TEST_AUTH_REGISTRY")
    ));
    fleet
        .env("AWS_ENDPOINT_URL", &service("FLEET_TEST_AWS_ENDPOINT"))
        .env("FLEET_IMAGES_DEPLOY_POLL_MS", "50");

    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "web",
        "--push",
        "--deploy",
        "--progress",
        "plain",
        "--json-out",
        "r1.json",
    ]);
    run.ok();
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fleet.file("r1.json")).unwrap()).unwrap();
    let digest = result["images"][0]["digest"].as_str().unwrap().to_string();
    let deployed = &result["deploy"]["services"][0];
    assert_eq!(deployed["outcome"], "completed", "{result}");
    assert_eq!(deployed["old_task_definition"], old_arn.as_str());
    let new_arn = deployed["new_task_definition"]
        .as_str()
        .unwrap()
        .to_string();

    let image = runtime.block_on(async {
        let client = aws_sdk_ecs::Client::new(&config().await);
        let services = client
            .describe_services()
            .cluster(&cluster)
            .services(&service_name)
            .send()
            .await
            .unwrap();
        assert_eq!(
            services.services()[0].task_definition(),
            Some(new_arn.as_str())
        );
        let definition = client
            .describe_task_definition()
            .task_definition(&new_arn)
            .send()
            .await
            .unwrap();
        definition
            .task_definition()
            .unwrap()
            .container_definitions()[0]
            .image()
            .unwrap()
            .to_string()
    });
    assert_eq!(
        image,
        format!(
            "{}/{prefix}/web@{digest}",
            service("FLEET_TEST_AUTH_REGISTRY")
        )
    );

    // Nothing changed: nothing is built, pushed or registered.
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "web",
        "--push",
        "--deploy",
        "--json-out",
        "r2.json",
    ]);
    run.ok();
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fleet.file("r2.json")).unwrap()).unwrap();
    assert_eq!(result["images"][0]["outcome"], "remote");
    assert_eq!(
        result["deploy"]["services"][0]["outcome"], "up-to-date",
        "{result}"
    );
}

/// A cluster and a Fargate service of `desired` tasks on a new family in moto; the family's ARN.
/// moto never completes a rollout of a service that wants tasks: its deployment stays
/// `IN_PROGRESS`.
pub(crate) async fn fargate_service(
    cluster: &str,
    service_name: &str,
    family: &str,
    desired: i32,
) -> String {
    let client = aws_sdk_ecs::Client::new(&config().await);
    client
        .create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .unwrap();
    let registered = client
        .register_task_definition()
        .family(family)
        .container_definitions(
            ContainerDefinition::builder()
                .name("web")
                .image("placeholder:1")
                .memory(256)
                .essential(true)
                .build(),
        )
        .runtime_platform(
            RuntimePlatform::builder()
                .cpu_architecture(CpuArchitecture::X8664)
                .operating_system_family(OsFamily::Linux)
                .build(),
        )
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("1024")
        .memory("2048")
        .send()
        .await
        .unwrap();
    let arn = registered
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_string();
    client
        .create_service()
        .cluster(cluster)
        .service_name(service_name)
        .task_definition(&arn)
        .desired_count(desired)
        .send()
        .await
        .unwrap();
    arn
}

/// CI cancels with SIGTERM: a deploy waiting on a rollout stops waiting, says the rollout was
/// started and goes on, exits 130 (not 143) and writes `--json-out` over an older file.
#[test]
fn sigterm_while_a_deploy_waits_is_exit_130_with_the_report() {
    let prefix = unique("fi-deploy-term");
    let _cleanup = ImageCleanup::new(&prefix);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cluster = unique("term-cluster");
    let service_name = unique("term-web");
    let family = unique("term-web");
    let old_arn = runtime.block_on(fargate_service(&cluster, &service_name, &family, 1));

    let mut fleet = fixture(&prefix);
    let text = std::fs::read_to_string(fleet.file("fleet.toml"))
        .unwrap()
        .replace(&format!("repository = \"{prefix}/"), "repository = \"");
    fleet.manifest(&format!(
        "[registry]\nkind = \"ecr\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\nrepository_prefix = \"{prefix}/\"\ntag_mutability = \"mutable\"\n{text}\n[images.web.deploy]\nservices = [{{ cluster = \"{cluster}\", service = \"{service_name}\", container = \"web\", always_on = false }}]\n",
        service("FLEET_TEST_AUTH_REGISTRY")
    ));
    fleet
        .env("AWS_ENDPOINT_URL", &service("FLEET_TEST_AWS_ENDPOINT"))
        .env("FLEET_IMAGES_DEPLOY_POLL_MS", "50");
    fleet
        .run(&["--manifest", "fleet.toml", "build", "web", "--push"])
        .ok();
    fleet.write("d.json", "{\"stale\": true}\n");

    let mut child = fleet
        .command(&[
            "--manifest",
            "fleet.toml",
            "deploy",
            "web",
            "--timeout",
            "10m",
            "--json-out",
            "d.json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Waiting once the service names another task definition (the update is made).
    let started = std::time::Instant::now();
    loop {
        let current = runtime.block_on(async {
            let client = aws_sdk_ecs::Client::new(&config().await);
            let described = client
                .describe_services()
                .cluster(&cluster)
                .services(&service_name)
                .send()
                .await
                .unwrap();
            described.services()[0]
                .task_definition()
                .unwrap_or_default()
                .to_string()
        });
        if current != old_arn {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the deploy ended early"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the service was never updated"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let waited = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if waited.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("the deploy did not end after SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("goes on in ECS"), "{stderr}");
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fleet.file("d.json")).unwrap()).unwrap();
    assert_eq!(result["exit_code"], 130, "{result}");
    let deployed = &result["deploy"]["services"][0];
    assert_eq!(deployed["outcome"], "interrupted", "{result}");
    assert_eq!(
        deployed["old_task_definition"],
        old_arn.as_str(),
        "{result}"
    );
}

/// A release whose build failed deploys nothing, and `--json-out` says why instead of a bare
/// `"deploy": null`, which would read as "no deploy was asked for".
#[test]
fn a_skipped_deploy_says_why_in_json_out() {
    let prefix = unique("fi-skipped");
    let _cleanup = ImageCleanup::new(&prefix);
    let base = crate::support::base_image();
    let fleet = crate::support::Fleet::new();
    fleet
        .manifest(&format!(
            "[registry]\nkind = \"registry\"\nurl = \"{}\"\nrepository_prefix = \"{prefix}/\"\n\n[images.broken]\ncontext = \"broken\"\n\n[images.broken.deploy]\nservices = [{{ cluster = \"never-asked\", service = \"never-asked\", container = \"broken\" }}]\n",
            service("FLEET_TEST_REGISTRY")
        ))
        .write("broken/Dockerfile", format!("FROM {base}\nRUN false\n"));
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "--push",
        "--deploy",
        "--progress",
        "plain",
        "--json-out",
        "result.json",
    ]);
    run.expect_code(1);
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fleet.file("result.json")).unwrap()).unwrap();
    assert_eq!(result["images"][0]["outcome"], "failed", "{result}");
    assert_eq!(
        result["deploy"]["skipped"], "not every image was built and pushed",
        "{result}"
    );
}
