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
    let old_arn = runtime.block_on(async {
        let client = aws_sdk_ecs::Client::new(&config().await);
        client
            .create_cluster()
            .cluster_name(&cluster)
            .send()
            .await
            .unwrap();
        let registered = client
            .register_task_definition()
            .family(&family)
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
            .cluster(&cluster)
            .service_name(&service_name)
            .task_definition(&arn)
            .desired_count(0)
            .send()
            .await
            .unwrap();
        arn
    });

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
