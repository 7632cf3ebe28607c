//! The narrow edge between the deploy logic and Amazon ECS: the [`Ecs`] trait, in the project's
//! own plain types. The AWS implementation lives in `aws.rs`; the unit tests use an in-memory
//! double. Only what the deploy needs is here: reading services and task definitions, registering
//! a clone of a revision with other images, updating a service, and cleaning up old revisions.

use std::future::Future;

use serde::Serialize;

/// The ECS calls a deploy makes. Every method is one API operation (or one paginated listing),
/// so a wrapper can count calls.
pub trait Ecs: Send + Sync {
    /// `DescribeServices` for at most ten services of one cluster (ECS's limit per call). Services
    /// ECS does not know come back in [`DescribedServices::missing`], not as an error.
    fn describe_services(
        &self,
        cluster: &str,
        services: &[String],
    ) -> impl Future<Output = Result<DescribedServices, EcsError>> + Send;

    /// `ListClusters`, every page: the ARNs of the account's clusters in the region.
    fn list_clusters(&self) -> impl Future<Output = Result<Vec<String>, EcsError>> + Send;

    /// `ListServices` of a cluster, every page: the services' ARNs.
    fn list_services(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<String>, EcsError>> + Send;

    /// `DescribeTaskDefinition` with its tags: `family`, `family:revision` or an ARN. A bare
    /// family names its latest `ACTIVE` revision.
    fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> impl Future<Output = Result<TaskDefinition, EcsError>> + Send;

    /// `RegisterTaskDefinition` of a copy of `base` (every registrable field and its tags, none of
    /// the read-only ones) in which only the named containers' images and environment variables
    /// are replaced. Returns the new revision.
    fn register_task_definition(
        &self,
        base: &TaskDefinition,
        changes: &RevisionChanges,
    ) -> impl Future<Output = Result<TaskDefinition, EcsError>> + Send;

    /// `UpdateService`: the service as ECS answers, with its deployments.
    fn update_service(
        &self,
        update: &ServiceUpdate,
    ) -> impl Future<Output = Result<Service, EcsError>> + Send;

    /// `ListTaskDefinitions` of one family with status `ACTIVE`, every page: the revisions' ARNs.
    /// ECS matches `familyPrefix` as a prefix; callers filter on the exact family.
    fn list_task_definitions(
        &self,
        family: &str,
    ) -> impl Future<Output = Result<Vec<String>, EcsError>> + Send;

    /// `DeregisterTaskDefinition`: the revision becomes `INACTIVE`.
    fn deregister_task_definition(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<(), EcsError>> + Send;

    /// `ListTasks` (`desiredStatus` `RUNNING`) of a cluster, every page, then `DescribeTasks`:
    /// the task definitions (ARNs) its running tasks use, services' and `RunTask`'s alike.
    fn running_task_definitions(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<String>, EcsError>> + Send;

    /// `ListServiceDeployments` of a service (newest first), then `DescribeServiceDeployments`
    /// of at most `limit` of them: how current ECS reports a rollout, with its alarms, circuit
    /// breaker and lifecycle stage. An ECS (or emulator) without the API answers with an error,
    /// and the wait then reads `DescribeServices` alone.
    fn service_deployments(
        &self,
        cluster: &str,
        service: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ServiceDeployment>, EcsError>> + Send;

    /// `ListTasks` (`desiredStatus` `STOPPED`) of a service, then `DescribeTasks`: its most
    /// recently stopped tasks, newest first, at most `limit`. ECS keeps stopped tasks visible for
    /// about an hour.
    fn stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoppedTask>, EcsError>> + Send;
}

/// The answer of one `DescribeServices` call.
#[derive(Debug, Clone, Default)]
pub struct DescribedServices {
    /// The services ECS found.
    pub services: Vec<Service>,
    /// `(arn, reason)` of each one it did not (`MISSING`).
    pub missing: Vec<(String, String)>,
}

/// An ECS service, as far as a deploy cares.
#[derive(Debug, Clone, Default)]
pub struct Service {
    /// `serviceArn`.
    pub arn: String,
    /// `serviceName`.
    pub name: String,
    /// `clusterArn`.
    pub cluster_arn: String,
    /// `status`: `ACTIVE`, `DRAINING` or `INACTIVE`.
    pub status: String,
    /// `taskDefinition`: the ARN of the revision the service is set to run.
    pub task_definition: Option<String>,
    /// `desiredCount`.
    pub desired_count: i32,
    /// `runningCount`.
    pub running_count: i32,
    /// `launchType`: `FARGATE`, `EC2`, `EXTERNAL`, when set.
    pub launch_type: Option<String>,
    /// The capacity providers of `capacityProviderStrategy` (`FARGATE`, `FARGATE_SPOT`, …).
    pub capacity_providers: Vec<String>,
    /// `deploymentController.type`: `ECS`, `CODE_DEPLOY`, `EXTERNAL`; `None` means `ECS`.
    pub deployment_controller: Option<String>,
    /// `deploymentConfiguration.deploymentCircuitBreaker`, when set.
    pub circuit_breaker: Option<CircuitBreaker>,
    /// `deployments`: the primary one and those still draining.
    pub deployments: Vec<Deployment>,
    /// `events`, newest first as ECS returns them.
    pub events: Vec<ServiceEvent>,
}

impl Service {
    /// The deployment ECS marks `PRIMARY`, if any.
    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.status == "PRIMARY")
    }

    /// Whether the service runs on Fargate (launch type or capacity provider).
    pub fn on_fargate(&self) -> bool {
        self.launch_type.as_deref() == Some("FARGATE")
            || self
                .capacity_providers
                .iter()
                .any(|c| c.starts_with("FARGATE"))
    }
}

/// `deploymentCircuitBreaker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CircuitBreaker {
    /// `enable`.
    pub enable: bool,
    /// `rollback`.
    pub rollback: bool,
}

/// One deployment of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deployment {
    /// `id` (`ecs-svc/…`).
    pub id: String,
    /// `status`: `PRIMARY`, `ACTIVE` (being replaced) or `INACTIVE`.
    pub status: String,
    /// `taskDefinition`: the revision it rolls out.
    pub task_definition: String,
    /// `desiredCount`.
    pub desired_count: i32,
    /// `runningCount`.
    pub running_count: i32,
    /// `pendingCount`.
    pub pending_count: i32,
    /// `failedTasks`.
    pub failed_tasks: i32,
    /// `rolloutState`; ECS leaves it out for services without the rolling-update circuit
    /// breaker feature (and some emulators do).
    pub rollout_state: Option<RolloutState>,
    /// `rolloutStateReason`.
    pub rollout_state_reason: Option<String>,
}

/// `rolloutState` of a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutState {
    /// `IN_PROGRESS`.
    InProgress,
    /// `COMPLETED`: the deployment reached steady state.
    Completed,
    /// `FAILED`: the circuit breaker (or an alarm) stopped it.
    Failed,
    /// A value this version does not know.
    Other(String),
}

impl RolloutState {
    /// Parses ECS's spelling.
    pub fn parse(text: &str) -> Self {
        match text {
            "IN_PROGRESS" => RolloutState::InProgress,
            "COMPLETED" => RolloutState::Completed,
            "FAILED" => RolloutState::Failed,
            other => RolloutState::Other(other.to_string()),
        }
    }

    /// ECS's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            RolloutState::InProgress => "IN_PROGRESS",
            RolloutState::Completed => "COMPLETED",
            RolloutState::Failed => "FAILED",
            RolloutState::Other(s) => s,
        }
    }
}

/// One entry of a service's event log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceEvent {
    /// When, RFC 3339, when ECS said.
    pub created_at: Option<String>,
    /// The text (`(service element) has reached a steady state.`).
    pub message: String,
}

/// A task definition revision, as far as a deploy cares. The AWS implementation keeps the full
/// definition it read, so [`Ecs::register_task_definition`] can copy every field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskDefinition {
    /// `taskDefinitionArn`.
    pub arn: String,
    /// `family`.
    pub family: String,
    /// `revision`.
    pub revision: i32,
    /// The containers, in definition order.
    pub containers: Vec<Container>,
    /// `runtimePlatform.cpuArchitecture` (`X86_64`, `ARM64`), when declared.
    pub cpu_architecture: Option<String>,
    /// `requiresCompatibilities` (`FARGATE`, `EC2`, …).
    pub requires_compatibilities: Vec<String>,
    /// The revision's tags, `(key, value)`.
    pub tags: Vec<(String, String)>,
}

impl TaskDefinition {
    /// `family:revision`, as the console shows a revision.
    pub fn short_name(&self) -> String {
        format!("{}:{}", self.family, self.revision)
    }

    /// The container of that name.
    pub fn container(&self, name: &str) -> Option<&Container> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// Whether the definition asks for Fargate.
    pub fn requires_fargate(&self) -> bool {
        self.requires_compatibilities.iter().any(|c| c == "FARGATE")
    }
}

/// One container of a task definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Container {
    /// `name`.
    pub name: String,
    /// `image`, as written in the definition.
    pub image: String,
    /// `environment`: `(name, value)` in definition order. Plain values only: `secrets` are
    /// references ECS resolves at start, and never read here.
    pub environment: Vec<(String, String)>,
}

impl Container {
    /// The value of environment variable `name`, when set.
    pub fn env(&self, name: &str) -> Option<&str> {
        self.environment
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// "Set the image of container `container` to `image`" in a registered copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReplacement {
    /// The container's name.
    pub container: String,
    /// The new image (`repository@sha256:…`).
    pub image: String,
}

/// "Set environment variable `name` of container `container` to `value`" in a registered copy
/// (added when the container does not have it yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvReplacement {
    /// The container's name.
    pub container: String,
    /// The variable (`ECS_TASK_DEFINITION_ARN`).
    pub name: String,
    /// Its new value.
    pub value: String,
}

/// What a registered copy changes in its base revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevisionChanges {
    /// New images.
    pub images: Vec<ImageReplacement>,
    /// New environment values.
    pub environment: Vec<EnvReplacement>,
}

impl RevisionChanges {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty() && self.environment.is_empty()
    }
}

/// A deployment as `DescribeServiceDeployments` reports it.
/// <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html>
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceDeployment {
    /// `serviceDeploymentArn`.
    pub arn: String,
    /// `status`: `PENDING`, `IN_PROGRESS`, `SUCCESSFUL`, `STOPPED`, `STOP_REQUESTED`,
    /// `ROLLBACK_REQUESTED`, `ROLLBACK_IN_PROGRESS`, `ROLLBACK_SUCCESSFUL`, `ROLLBACK_FAILED`.
    pub status: String,
    /// `statusReason`.
    pub status_reason: Option<String>,
    /// `lifecycleStage` (`BAKE_TIME`, `SCALE_UP_IN_PROGRESS`, …), when ECS gives one.
    pub lifecycle_stage: Option<String>,
    /// The task definitions of `targetServiceRevision`, when known (the emulator-free double
    /// sets it; ECS names a service revision, whose task definition the wait does not need).
    pub target_task_definition: Option<String>,
    /// `alarms.status` (`MONITORING`, `TRIGGERED`, …), when alarms are configured.
    pub alarm_status: Option<String>,
    /// `alarms.triggeredAlarmNames`.
    pub triggered_alarms: Vec<String>,
    /// `deploymentCircuitBreaker.failureCount`, when the circuit breaker is on.
    pub circuit_breaker_failures: Option<i32>,
    /// `deploymentCircuitBreaker.threshold`.
    pub circuit_breaker_threshold: Option<i32>,
    /// `createdAt`, seconds since the epoch.
    pub created_at: Option<i64>,
}

/// The arguments of one `UpdateService` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUpdate {
    /// Cluster name or ARN.
    pub cluster: String,
    /// Service name or ARN.
    pub service: String,
    /// The revision to run; `None` keeps the current one.
    pub task_definition: Option<String>,
    /// `forceNewDeployment`.
    pub force_new_deployment: bool,
}

/// A stopped task and why it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StoppedTask {
    /// `taskArn`.
    pub task_arn: String,
    /// `taskDefinitionArn`.
    pub task_definition: String,
    /// `stoppedAt`, RFC 3339.
    pub stopped_at: Option<String>,
    /// `stopCode` (`TaskFailedToStart`, `EssentialContainerExited`, …).
    pub stop_code: Option<String>,
    /// `stoppedReason`.
    pub stopped_reason: Option<String>,
    /// Each container's exit code and reason, when ECS gave one.
    pub containers: Vec<StoppedContainer>,
}

/// One container of a stopped task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StoppedContainer {
    /// `name`.
    pub name: String,
    /// `exitCode`.
    pub exit_code: Option<i32>,
    /// `reason` (`CannotPullContainerError: …`).
    pub reason: Option<String>,
}

/// What kind of failure an ECS call met, which decides whether it is retried and the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EcsErrorKind {
    /// Throttled (`ThrottlingException`, HTTP 429): retried.
    Throttled,
    /// No answer (connection, timeout, HTTP 5xx, credentials could not be loaded): retried while
    /// waiting, exit 3 otherwise.
    Unreachable,
    /// Access denied or bad credentials: exit 3.
    Denied,
    /// The named cluster, service or task definition does not exist.
    NotFound,
    /// ECS refused the request (`ClientException`, `InvalidParameterException`, …).
    Rejected,
}

impl EcsErrorKind {
    /// Whether trying again later may help.
    pub fn is_transient(self) -> bool {
        matches!(self, EcsErrorKind::Throttled | EcsErrorKind::Unreachable)
    }
}

/// A failed ECS call: the operation, what kind of failure, and ECS's code and message. Cloneable,
/// so one failed call can be reported for every target it concerned.
#[derive(Debug, Clone, thiserror::Error)]
#[error("ECS {operation} failed: {message}")]
pub struct EcsError {
    /// The API operation (`UpdateService`).
    pub operation: &'static str,
    /// What kind of failure.
    pub kind: EcsErrorKind,
    /// ECS's error code (`ClientException`), when it answered.
    pub code: Option<String>,
    /// ECS's message, or what went wrong on the way there.
    pub message: String,
    /// The underlying error, when the call did not get an answer from ECS.
    #[source]
    pub source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl EcsError {
    /// An error without an underlying cause (doubles, answers ECS gave).
    pub fn new(
        operation: &'static str,
        kind: EcsErrorKind,
        code: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            operation,
            kind,
            code: code.map(str::to_string),
            message: message.into(),
            source: None,
        }
    }
}

/// The last `/`-separated part of a name or ARN: `arn:aws:ecs:…:cluster/fleet` → `fleet`,
/// `arn:aws:ecs:…:service/fleet/element` → `element`.
pub fn short_name(name_or_arn: &str) -> &str {
    if name_or_arn.starts_with("arn:") {
        name_or_arn.rsplit('/').next().unwrap_or(name_or_arn)
    } else {
        name_or_arn
    }
}

/// `(family, revision)` of a task definition ARN or `family:revision`.
pub fn parse_revision(arn: &str) -> Option<(&str, i32)> {
    let tail = if arn.starts_with("arn:") {
        arn.rsplit_once(":task-definition/")?.1
    } else {
        arn
    };
    let (family, revision) = tail.rsplit_once(':')?;
    Some((family, revision.parse().ok()?))
}

/// `family:revision` of a task definition ARN, for display; the text itself when it is not one.
pub fn revision_name(arn: &str) -> String {
    match parse_revision(arn) {
        Some((family, revision)) => format!("{family}:{revision}"),
        None => arn.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_and_revisions() {
        assert_eq!(short_name("arn:aws:ecs:us-east-1:1:cluster/fleet"), "fleet");
        assert_eq!(
            short_name("arn:aws:ecs:us-east-1:1:service/fleet/element"),
            "element"
        );
        assert_eq!(short_name("element"), "element");
        let arn = "arn:aws:ecs:us-east-1:1:task-definition/fleet-element:12";
        assert_eq!(parse_revision(arn), Some(("fleet-element", 12)));
        assert_eq!(
            parse_revision("fleet-element:3"),
            Some(("fleet-element", 3))
        );
        assert_eq!(parse_revision("fleet-element"), None);
        assert_eq!(revision_name(arn), "fleet-element:12");
    }
}
