//! The deploy library against the AWS emulator (moto's ECS API at `FLEET_TEST_AWS_ENDPOINT`):
//! a cluster, a service on a task definition with two containers, tags and a runtime platform.
//!
//! What moto 5.2 does with deployments (read in `moto/ecs/models.py`, checked here):
//! - `CreateService` makes one `PRIMARY` deployment whose `rolloutState` is `COMPLETED` when
//!   `MOTO_ECS_SERVICE_RUNNING` (default 0, an environment variable of the moto server) is at
//!   least `desiredCount`, else `IN_PROGRESS` forever: nothing ever runs a task. With
//!   `desiredCount = 0` the rollout is complete, which is how these tests "set the emulator so
//!   deployments complete".
//! - `UpdateService` with a new task definition creates no deployment: it only changes the
//!   service's `taskDefinition`; the old deployment stays `PRIMARY` with the old revision (and
//!   `forceNewDeployment` only renames its id). The deploy then follows that primary deployment
//!   and checks the service's task definition instead, with a warning.
//! - `deploymentConfiguration` is dropped (so every service warns about the circuit breaker),
//!   `ListTaskDefinitions` matches the family exactly (ECS matches a prefix), and describe calls
//!   return `taskDefinition` as the caller wrote it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, NetworkMode, OsFamily, RuntimePlatform,
    Tag, TaskDefinitionField, Volume,
};
use fleet_images::deploy::{
    deploy, AwsEcs, DeployOptions, DeployRequest, DescribedServices, Ecs, EcsError, Outcome,
    PollSettings, RevisionChanges, Service, ServiceDeployment, ServiceUpdate, StoppedTask,
    TaskDefinition,
};
use fleet_images::error::Exit;
use fleet_images::manifest::{DeploySpec, FamilyTarget, ServiceTarget};
use fleet_images::report::NullReporter;

use crate::support::{service, unique};

pub(crate) async fn config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(service("FLEET_TEST_AWS_ENDPOINT"))
        .region(Region::new("us-east-1"))
        .load()
        .await
}

const IMAGE_URI: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fleet/app";

fn digest(c: char) -> fleet_images::names::Digest {
    format!("sha256:{}", c.to_string().repeat(64))
        .parse()
        .unwrap()
}

/// Counts the mutating calls that reach the emulator.
struct Counting {
    inner: AwsEcs,
    registers: AtomicUsize,
    updates: AtomicUsize,
    deregisters: AtomicUsize,
}

impl Counting {
    fn new(config: &SdkConfig) -> Self {
        Self {
            inner: AwsEcs::from_config(config),
            registers: AtomicUsize::new(0),
            updates: AtomicUsize::new(0),
            deregisters: AtomicUsize::new(0),
        }
    }

    fn mutating(&self) -> usize {
        self.registers.load(Ordering::SeqCst)
            + self.updates.load(Ordering::SeqCst)
            + self.deregisters.load(Ordering::SeqCst)
    }
}

impl Ecs for Counting {
    async fn describe_services(
        &self,
        cluster: &str,
        services: &[String],
    ) -> Result<DescribedServices, EcsError> {
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
        self.registers.fetch_add(1, Ordering::SeqCst);
        self.inner.register_task_definition(base, changes).await
    }
    async fn update_service(&self, update: &ServiceUpdate) -> Result<Service, EcsError> {
        self.updates.fetch_add(1, Ordering::SeqCst);
        self.inner.update_service(update).await
    }
    async fn list_task_definitions(&self, family: &str) -> Result<Vec<String>, EcsError> {
        self.inner.list_task_definitions(family).await
    }
    async fn deregister_task_definition(&self, arn: &str) -> Result<(), EcsError> {
        self.deregisters.fetch_add(1, Ordering::SeqCst);
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

/// Registers a two-container ARM64 Fargate revision with a tag; returns its ARN.
async fn register(client: &aws_sdk_ecs::Client, family: &str) -> String {
    let registered = client
        .register_task_definition()
        .family(family)
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(format!("{IMAGE_URI}:latest"))
                .memory(512)
                .essential(true)
                .build(),
        )
        .container_definitions(
            ContainerDefinition::builder()
                .name("sidecar")
                .image("public.ecr.aws/docker/library/busybox:1")
                .memory(64)
                .build(),
        )
        .runtime_platform(
            RuntimePlatform::builder()
                .cpu_architecture(CpuArchitecture::Arm64)
                .operating_system_family(OsFamily::Linux)
                .build(),
        )
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("1024")
        .memory("2048")
        .execution_role_arn("arn:aws:iam::123456789012:role/fleet-exec")
        .task_role_arn("arn:aws:iam::123456789012:role/fleet-task")
        .volumes(Volume::builder().name("data").build())
        .tags(Tag::builder().key("team").value("fleet").build())
        .send()
        .await
        .expect("RegisterTaskDefinition");
    registered
        .task_definition()
        .and_then(|d| d.task_definition_arn())
        .unwrap()
        .to_string()
}

/// A new cluster with a service (desired count `desired`) on a new revision of `family`.
/// Returns (cluster, service, the revision's ARN).
async fn fixture(
    client: &aws_sdk_ecs::Client,
    family: &str,
    desired: i32,
) -> (String, String, String) {
    let cluster = unique("deploy-cluster");
    let name = unique("deploy-svc");
    client
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .expect("CreateCluster");
    let arn = register(client, family).await;
    client
        .create_service()
        .cluster(&cluster)
        .service_name(&name)
        .task_definition(&arn)
        .desired_count(desired)
        .send()
        .await
        .expect("CreateService");
    (cluster, name, arn)
}

fn request(
    cluster: &str,
    service: &str,
    platform: &str,
    digest: fleet_images::names::Digest,
) -> DeployRequest {
    DeployRequest {
        image: "app".parse().unwrap(),
        image_uri: IMAGE_URI.into(),
        digest,
        platform: platform.parse().unwrap(),
        spec: DeploySpec {
            services: vec![ServiceTarget {
                cluster: cluster.into(),
                service: Some(service.into()),
                container: "app".into(),
                always_on: true,
            }],
            task_families: Vec::new(),
            keep_revisions: 5,
        },
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

#[tokio::test]
async fn deploy_pins_the_digest_in_a_copy_and_a_second_run_changes_nothing() {
    let config = config().await;
    let client = aws_sdk_ecs::Client::new(&config);
    let family = unique("deploy-fam");
    let (cluster, name, old_arn) = fixture(&client, &family, 0).await;
    let ecs = Counting::new(&config);
    let requests = [request(&cluster, &name, "linux/arm64", digest('a'))];

    let report = deploy(&ecs, &requests, &options(), &NullReporter).await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    let s = &report.services[0];
    assert_eq!(s.outcome, Outcome::Completed, "{report}");
    assert_eq!(s.old_task_definition.as_deref(), Some(old_arn.as_str()));
    let new_arn = s.new_task_definition.clone().unwrap();
    assert_ne!(new_arn, old_arn);
    assert!(s.deployment_id.as_deref().unwrap().starts_with("ecs-svc/"));
    assert_eq!(
        (
            ecs.registers.load(Ordering::SeqCst),
            ecs.updates.load(Ordering::SeqCst)
        ),
        (1, 1)
    );
    // moto drops the deployment configuration and the service runs nothing: both warnings show.
    let warnings: Vec<&str> = report.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        warnings.iter().any(|w| w.contains("circuit breaker")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("desiredCount is 0")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("without a deployment of")),
        "{warnings:?}"
    );

    // The new revision is the old one with one image pinned by digest, and the same tags.
    let describe = |arn: String| {
        let client = client.clone();
        async move {
            client
                .describe_task_definition()
                .task_definition(arn)
                .include(TaskDefinitionField::Tags)
                .send()
                .await
                .unwrap()
        }
    };
    let old = describe(old_arn.clone()).await;
    let new = describe(new_arn.clone()).await;
    assert_eq!(old.tags(), new.tags());
    assert_eq!(new.tags().len(), 1);
    let mut expected = old.task_definition().unwrap().clone();
    let new_definition = new.task_definition().unwrap().clone();
    assert_eq!(new_definition.revision(), expected.revision() + 1);
    expected.task_definition_arn = new_definition.task_definition_arn.clone();
    expected.revision = new_definition.revision;
    expected.registered_at = new_definition.registered_at;
    expected.registered_by = new_definition.registered_by.clone();
    let containers = expected.container_definitions.as_mut().unwrap();
    assert_eq!(containers[0].name(), Some("app"));
    containers[0].image = Some(format!("{IMAGE_URI}@{}", digest('a')));
    assert_eq!(new_definition, expected);

    // The service points at it.
    let described = client
        .describe_services()
        .cluster(&cluster)
        .services(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.services()[0].task_definition(),
        Some(new_arn.as_str())
    );

    // A second run: up to date, no register or update call.
    let again = Counting::new(&config);
    let report = deploy(&again, &requests, &options(), &NullReporter).await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    assert_eq!(report.services[0].outcome, Outcome::UpToDate);
    assert_eq!(again.mutating(), 0);
    let latest = client
        .describe_task_definition()
        .task_definition(&family)
        .send()
        .await
        .unwrap();
    assert_eq!(
        latest.task_definition().unwrap().task_definition_arn(),
        Some(new_arn.as_str())
    );
}

#[tokio::test]
async fn an_amd64_image_for_an_arm64_service_changes_nothing() {
    let config = config().await;
    let client = aws_sdk_ecs::Client::new(&config);
    let (cluster, name, old_arn) = fixture(&client, &unique("deploy-fam"), 0).await;
    let ecs = Counting::new(&config);
    let report = deploy(
        &ecs,
        &[request(&cluster, &name, "linux/amd64", digest('b'))],
        &options(),
        &NullReporter,
    )
    .await;
    assert_eq!(report.exit(), Exit::Failed);
    let error = report.errors().next().unwrap().to_string();
    assert!(
        error.contains("is built for linux/amd64") && error.contains("on ARM64"),
        "{error}"
    );
    assert_eq!(ecs.mutating(), 0);
    let described = client
        .describe_services()
        .cluster(&cluster)
        .services(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.services()[0].task_definition(),
        Some(old_arn.as_str())
    );
}

#[tokio::test]
async fn a_family_gets_a_new_revision_and_unused_old_ones_go() {
    let config = config().await;
    let client = aws_sdk_ecs::Client::new(&config);
    let family = unique("deploy-agent");
    // Revision 1 runs in a service of a cluster the manifest does not name; 2 and 3 are unused.
    fixture(&client, &family, 0).await;
    register(&client, &family).await;
    register(&client, &family).await;
    let ecs = Counting::new(&config);
    let mut request = request("unused", "unused", "linux/arm64", digest('c'));
    request.spec = DeploySpec {
        services: Vec::new(),
        task_families: vec![FamilyTarget {
            family: Some(family.clone()),
            container: "app".into(),
            referenced_by: None,
        }],
        keep_revisions: 2,
    };
    let report = deploy(
        &ecs,
        std::slice::from_ref(&request),
        &options(),
        &NullReporter,
    )
    .await;
    assert_eq!(report.exit(), Exit::Success, "{report}");
    let f = &report.families[0];
    assert_eq!(f.outcome, Outcome::Registered);
    assert!(
        f.new_revision
            .as_deref()
            .unwrap()
            .ends_with(&format!("{family}:4")),
        "{report}"
    );
    assert_eq!(ecs.updates.load(Ordering::SeqCst), 0);
    // keep_revisions = 2 keeps 4 and 3; 2 goes; 1 stays because a service uses it.
    assert_eq!(report.deregistered.len(), 1, "{report}");
    assert!(report.deregistered[0].ends_with(&format!("{family}:2")));
    let listed = client
        .list_task_definitions()
        .family_prefix(&family)
        .send()
        .await
        .unwrap();
    let mut active: Vec<i32> = listed
        .task_definition_arns()
        .iter()
        .map(|a| a.rsplit(':').next().unwrap().parse().unwrap())
        .collect();
    active.sort();
    assert_eq!(active, vec![1, 3, 4]);
}

#[tokio::test]
async fn a_rollout_moto_never_completes_times_out_with_exit_4() {
    let config = config().await;
    let client = aws_sdk_ecs::Client::new(&config);
    // desiredCount 1: moto's deployment stays IN_PROGRESS with 0 running.
    let (cluster, name, _) = fixture(&client, &unique("deploy-fam"), 1).await;
    let ecs = Counting::new(&config);
    let options = DeployOptions {
        timeout: Duration::from_millis(500),
        ..options()
    };
    let report = deploy(
        &ecs,
        &[request(&cluster, &name, "linux/arm64", digest('d'))],
        &options,
        &NullReporter,
    )
    .await;
    assert_eq!(report.exit(), Exit::DeployIncomplete, "{report}");
    let s = &report.services[0];
    assert_eq!(s.outcome, Outcome::TimedOut);
    assert!(
        s.reason
            .as_deref()
            .unwrap()
            .contains("rollout IN_PROGRESS: 0/1 running"),
        "{report}"
    );
    assert_eq!(ecs.deregisters.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_exit_3_with_the_cause() {
    // A port nothing listens on; no retries, so the test is quick.
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:9")
        .region(Region::new("us-east-1"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let ecs = AwsEcs::from_config(&config);
    let report = deploy(
        &ecs,
        &[request("fleet", "element", "linux/arm64", digest('e'))],
        &options(),
        &NullReporter,
    )
    .await;
    assert_eq!(report.exit(), Exit::Unavailable, "{report}");
    let error = report.errors().next().unwrap();
    let text = fleet_images::error::render(error);
    assert!(text.starts_with("error: could not read service `fleet/element`: ECS DescribeServices failed: no answer from ECS"), "{text}");
    assert!(text.contains("onnection refused"), "{text}");
    assert!(
        text.contains("hint: check the network and the AWS credentials"),
        "{text}"
    );
}
