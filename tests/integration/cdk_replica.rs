//! A replica, in the AWS emulator, of what the fleet's CDK app
//! (`open-claw-fleet/packages/aws/infra`) creates for one environment: the ECR repositories of
//! `shared-stack.ts` (CDK's defaults: mutable tags, no scan on push, AES256), the cluster
//! `open-claw-fleet-<environment>`, the Conduit, Element, Command Center and Fleet Manager Fargate
//! services with the names and families CloudFormation generates, their containers and
//! environment, and the agent task definition that the Fleet Manager launches through
//! `ECS_TASK_DEFINITION_ARN`. Every ECS name carries the environment, so tests do not collide; the
//! repositories carry the prefix (unique in `cdk.rs`, the CDK app's own in `fleet.rs`, which
//! releases the shipped manifest and the real images into it).

#![allow(dead_code)]

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, EfsTransitEncryption,
    EfsVolumeConfiguration, KeyValuePair, LogConfiguration, LogDriver, MountPoint, NetworkMode,
    OsFamily, PortMapping, RuntimePlatform, Secret, Tag, Volume,
};

use crate::deploy::config;

/// The CDK app's `Config.projectPrefix`.
pub const PROJECT: &str = "open-claw-fleet";
/// The variable through which the Fleet Manager finds the agents' revision.
pub const AGENT_REFERENCE: &str = "ECS_TASK_DEFINITION_ARN";
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// What to build: the environment (`dev` in the CDK app; unique in tests), where the images
/// are, and the architecture of the task definitions (the CDK app's is ARM64).
#[derive(Debug, Clone)]
pub struct ReplicaSpec {
    /// `open-claw-fleet-<environment>` is the cluster.
    pub environment: String,
    /// The registry host the repositories are in (`<account>.dkr.ecr.<region>.amazonaws.com`,
    /// or the test registry standing in for it).
    pub registry: String,
    /// Put before the repository names; the CDK app's is `open-claw-fleet/`.
    pub repository_prefix: String,
    /// `runtimePlatform.cpuArchitecture` of every task definition.
    pub cpu_architecture: CpuArchitecture,
}

/// One service of the replica.
#[derive(Debug, Clone)]
pub struct ReplicaService {
    /// The container, named after its image.
    pub container: String,
    /// The generated service name.
    pub name: String,
    /// The revision it runs (ARN).
    pub task_definition: String,
}

/// What the replica made.
#[derive(Debug, Clone)]
pub struct Replica {
    pub cluster: String,
    pub services: Vec<ReplicaService>,
    /// The agent family's revision (ARN), the Fleet Manager's `ECS_TASK_DEFINITION_ARN`.
    pub agent_task_definition: String,
    /// `(image, repository)` of the ECR repositories, repository with the prefix.
    pub repositories: Vec<(String, String)>,
}

impl Replica {
    /// The service whose container is `container`.
    pub fn service(&self, container: &str) -> &ReplicaService {
        self.services
            .iter()
            .find(|s| s.container == container)
            .unwrap_or_else(|| panic!("the replica has no `{container}` service"))
    }
}

/// `(image, repository name)` of `shared-stack.ts`.
pub const REPOSITORIES: [(&str, &str); 5] = [
    ("agent", "openclaw-agent"),
    ("conduit", "conduit-matrix"),
    ("element", "element-web"),
    ("fleet-manager", "fleet-manager"),
    ("command-center", "command-center"),
];

/// A CloudFormation-looking suffix: eight upper-case hex digits of the name and environment.
fn hash(text: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("{h:08X}")
}

/// The family CDK generates for a construct's `TaskDef`: the stack and construct path, letters
/// and digits only, plus a hash.
fn family(environment: &str, construct: &str) -> String {
    let stack: String = format!("{PROJECT}-{environment}")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    format!(
        "{stack}{construct}TaskDef{}",
        hash(&format!("{environment}/{construct}"))
    )
}

/// The service name CloudFormation generates: `<stack>-<logical id>-<random>`.
fn service_name(environment: &str, construct: &str) -> String {
    let random = hash(&format!("{construct}/{environment}/service")).to_lowercase();
    format!(
        "{PROJECT}-{environment}-{construct}Service{}-{random}",
        hash(construct)
    )
}

fn env(pairs: &[(&str, &str)]) -> Vec<KeyValuePair> {
    pairs
        .iter()
        .map(|(n, v)| KeyValuePair::builder().name(*n).value(*v).build())
        .collect()
}

fn secret(name: &str, environment: &str) -> Secret {
    Secret::builder()
        .name(name)
        .value_from(format!(
            "arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:openclaw/{environment}/fleet-secret-AbCdEf:secret::"
        ))
        .build()
        .unwrap()
}

/// One container as the constructs add it: image from the repository (no tag, as
/// `ContainerImage.fromRegistry(repoUri)`), awslogs, environment and secrets.
fn container(
    spec: &ReplicaSpec,
    name: &str,
    repository: &str,
    environment: Vec<KeyValuePair>,
    secrets: Vec<Secret>,
    port: Option<i32>,
) -> ContainerDefinition {
    let mut builder = ContainerDefinition::builder()
        .name(name)
        .image(format!(
            "{}/{}{repository}",
            spec.registry, spec.repository_prefix
        ))
        .essential(true)
        .set_environment(Some(environment))
        .set_secrets((!secrets.is_empty()).then_some(secrets))
        .log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", format!("/ecs/{name}-{}", spec.environment))
                .options("awslogs-stream-prefix", name)
                .options("awslogs-region", REGION)
                .build()
                .unwrap(),
        )
        .mount_points(
            MountPoint::builder()
                .source_volume("data")
                .container_path("/data")
                .read_only(false)
                .build(),
        );
    if let Some(port) = port {
        builder = builder.port_mappings(PortMapping::builder().container_port(port).build());
    }
    builder.build()
}

async fn register(
    client: &aws_sdk_ecs::Client,
    spec: &ReplicaSpec,
    construct: &str,
    container: ContainerDefinition,
) -> String {
    let family = family(&spec.environment, construct);
    let role = |kind: &str| {
        format!(
            "arn:aws:iam::{ACCOUNT}:role/{PROJECT}-{}-{construct}{kind}{}",
            spec.environment,
            hash(kind)
        )
    };
    let registered = client
        .register_task_definition()
        .family(&family)
        .container_definitions(container)
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("1024")
        .memory("2048")
        .task_role_arn(role("TaskRole"))
        .execution_role_arn(role("ExecutionRole"))
        .runtime_platform(
            RuntimePlatform::builder()
                .cpu_architecture(spec.cpu_architecture.clone())
                .operating_system_family(OsFamily::Linux)
                .build(),
        )
        .volumes(
            Volume::builder()
                .name("data")
                .efs_volume_configuration(
                    EfsVolumeConfiguration::builder()
                        .file_system_id("fs-0123456789abcdef0")
                        .transit_encryption(EfsTransitEncryption::Enabled)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .tags(Tag::builder().key("project").value(PROJECT).build())
        .send()
        .await
        .unwrap_or_else(|e| panic!("RegisterTaskDefinition {family}: {e:?}"));
    registered
        .task_definition()
        .and_then(|d| d.task_definition_arn())
        .unwrap()
        .to_string()
}

/// Creates the replica. Services get `desiredCount` 0: moto's deployments then complete (it
/// runs no task), which is how the tests let rollouts finish.
pub async fn create(spec: &ReplicaSpec) -> Replica {
    let sdk = config().await;
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let environment = spec.environment.as_str();

    // shared-stack.ts: the repositories, with CDK's defaults.
    let mut repositories = Vec::new();
    for (image, repository) in REPOSITORIES {
        let name = format!("{}{repository}", spec.repository_prefix);
        let created = ecr
            .create_repository()
            .repository_name(&name)
            .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Mutable)
            .image_scanning_configuration(
                aws_sdk_ecr::types::ImageScanningConfiguration::builder()
                    .scan_on_push(false)
                    .build(),
            )
            .send()
            .await;
        // The repositories' names carry no environment: with the CDK app's own prefix, another
        // environment (an earlier run of the acceptance test) made them already, as in an
        // account where the shared stack is deployed.
        if let Err(e) = created {
            let exists = e
                .as_service_error()
                .is_some_and(|e| e.is_repository_already_exists_exception());
            assert!(exists, "CreateRepository {name}: {e:?}");
        }
        repositories.push((image.to_string(), name));
    }

    let cluster = format!("{PROJECT}-{environment}");
    ecs.create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .expect("CreateCluster");
    let cluster_arn = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}");

    // agent-task-construct.ts: launched by the Fleet Manager, no service.
    let agent = register(
        &ecs,
        spec,
        "AgentTask",
        container(
            spec,
            "agent",
            "openclaw-agent",
            env(&[
                ("MATRIX_HOMESERVER", "http://conduit.anycompany.corp:6167"),
                ("MATRIX_DOMAIN", "anycompany.corp"),
                (
                    "COMMAND_CENTER_URL",
                    "http://command-center.anycompany.corp:8090",
                ),
                ("AGENT_SHARED_ROOT", "/shared"),
            ]),
            vec![
                secret("FLEET_SECRET", environment),
                secret("COMMAND_CENTER_API_TOKEN", environment),
            ],
            None,
        ),
    )
    .await;

    let conduit = container(
        spec,
        "conduit",
        "conduit-matrix",
        env(&[
            ("CONDUIT_CONFIG", "/etc/conduit.toml"),
            ("CONDUIT_SERVER_NAME", "anycompany.corp"),
            ("CONDUIT_DATABASE_BACKEND", "rocksdb"),
            ("CONDUIT_PORT", "6167"),
        ]),
        Vec::new(),
        Some(6167),
    );
    let element = container(
        spec,
        "element",
        "element-web",
        env(&[
            ("DEFAULT_SERVER_NAME", "conduit.anycompany.corp"),
            ("NGINX_PORT", "8080"),
        ]),
        Vec::new(),
        Some(8080),
    );
    let command_center = container(
        spec,
        "command-center",
        "command-center",
        env(&[
            ("PORT", "8090"),
            ("MATRIX_DOMAIN", "anycompany.corp"),
            ("COMMAND_CENTER_DB_MODE", "postgres"),
        ]),
        vec![
            secret("COMMAND_CENTER_API_TOKEN", environment),
            secret("PGPASSWORD", environment),
        ],
        Some(8090),
    );
    let fleet_manager = container(
        spec,
        "fleet-manager",
        "fleet-manager",
        env(&[
            ("ENVIRONMENT", environment),
            ("ECS_CLUSTER_ARN", &cluster_arn),
            (AGENT_REFERENCE, &agent),
            ("ECS_SUBNETS", "subnet-0a1b2c3d,subnet-4e5f6a7b"),
            ("MATRIX_DOMAIN", "anycompany.corp"),
            ("CONFIG_SYNC_ON_START", "true"),
            ("DEPLOY_VERSION", "1.0.1"),
        ]),
        vec![
            secret("FLEET_SECRET", environment),
            secret("COMMAND_CENTER_API_TOKEN", environment),
        ],
        None,
    );

    let mut services = Vec::new();
    for (construct, definition) in [
        ("Conduit", conduit),
        ("Element", element),
        ("CommandCenter", command_center),
        ("FleetManager", fleet_manager),
    ] {
        let container = definition.name().unwrap().to_string();
        let task_definition = register(&ecs, spec, construct, definition).await;
        let name = service_name(environment, construct);
        ecs.create_service()
            .cluster(&cluster)
            .service_name(&name)
            .task_definition(&task_definition)
            .desired_count(0)
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateService {name}: {e:?}"));
        services.push(ReplicaService {
            container,
            name,
            task_definition,
        });
    }
    Replica {
        cluster,
        services,
        agent_task_definition: agent,
        repositories,
    }
}

/// The task definition a service runs now (ARN).
pub async fn running(cluster: &str, service: &str) -> String {
    let client = aws_sdk_ecs::Client::new(&config().await);
    let described = client
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .expect("DescribeServices");
    described.services()[0]
        .task_definition()
        .unwrap()
        .to_string()
}

/// A revision's container `container`: `(image, environment)`.
pub async fn container_of(
    task_definition: &str,
    container: &str,
) -> (String, Vec<(String, String)>) {
    let client = aws_sdk_ecs::Client::new(&config().await);
    let described = client
        .describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await
        .expect("DescribeTaskDefinition");
    let definition = described.task_definition().unwrap();
    let c = definition
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some(container))
        .unwrap_or_else(|| panic!("{task_definition} has no container {container}"));
    (
        c.image().unwrap().to_string(),
        c.environment()
            .iter()
            .map(|e| {
                (
                    e.name().unwrap().to_string(),
                    e.value().unwrap().to_string(),
                )
            })
            .collect(),
    )
}

/// The `ACTIVE` revisions of the family of `task_definition`.
pub async fn active_revisions(task_definition: &str) -> Vec<String> {
    let family = task_definition
        .rsplit_once(":task-definition/")
        .and_then(|(_, tail)| tail.rsplit_once(':'))
        .map(|(family, _)| family.to_string())
        .unwrap();
    let client = aws_sdk_ecs::Client::new(&config().await);
    let listed = client
        .list_task_definitions()
        .family_prefix(&family)
        .send()
        .await
        .expect("ListTaskDefinitions");
    listed.task_definition_arns().to_vec()
}
