//! [`AwsEcs`]: the [`Ecs`] trait over `aws-sdk-ecs`. SDK types stay in this file; what leaves
//! it is the project's own types. The full task definitions it reads are kept, so a register can
//! copy every registrable field (`clone.rs` says which). The translation of the SDK's answers
//! into the project's types is in `aws_answers.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::primitives::DateTime;
use aws_sdk_ecs::types::{self as sdk, DesiredStatus, TaskDefinitionField, TaskDefinitionStatus};
use aws_sdk_ecs::Client;

use super::aws_answers::{ecs_error, own_definition, service, stopped_task};
use super::clone::registration;
use super::ecs::{
    DescribedServices, Ecs, EcsError, EcsErrorKind, RevisionChanges, Service, ServiceDeployment,
    ServiceUpdate, StoppedTask, TaskDefinition,
};
use super::error::DeployError;
use crate::registry::{ConnectOptions, RetryPolicy};

/// How many service deployments `DescribeServiceDeployments` takes in one call.
const DESCRIBE_SERVICE_DEPLOYMENTS_MAX: i32 = 20;

/// The full definition and tags of a revision, as `DescribeTaskDefinition` gave them.
type Described = (sdk::TaskDefinition, Vec<sdk::Tag>);

/// ECS through the AWS SDK: the default credential chain, `AWS_ENDPOINT_URL` honoured.
#[derive(Debug, Clone)]
pub struct AwsEcs {
    client: Client,
    /// Revisions are immutable, so what was read can be copied later without asking again.
    described: Arc<Mutex<HashMap<String, Described>>>,
}

impl AwsEcs {
    /// Loads the AWS configuration (environment, profile, SSO, web identity, instance role) with
    /// `region` when given, else the configuration's region.
    pub async fn connect(region: Option<&str>) -> Result<Self, DeployError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_string()));
        }
        let config = loader.load().await;
        if config.region().is_none() {
            return Err(DeployError::NoRegion);
        }
        Ok(Self::from_config(&config))
    }

    /// From an already loaded configuration (shared with ECR), with the tool's retry policy and
    /// timeouts (the same as ECR's): a stalled call fails instead of hanging the deploy.
    pub fn from_config(config: &SdkConfig) -> Self {
        let retry = RetryPolicy::new(ConnectOptions::from_env().fast_retries);
        let config = aws_sdk_ecs::config::Builder::from(config)
            .retry_config(retry.aws_retry_config())
            .timeout_config(retry.aws_timeout_config())
            .build();
        Self::new(Client::from_conf(config))
    }

    /// From a client.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            described: Arc::default(),
        }
    }

    async fn describe_full(&self, task_definition: &str) -> Result<Described, EcsError> {
        let out = self
            .client
            .describe_task_definition()
            .task_definition(task_definition)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| ecs_error("DescribeTaskDefinition", e))?;
        let tags = out.tags().to_vec();
        let definition = out.task_definition.ok_or_else(|| {
            EcsError::new(
                "DescribeTaskDefinition",
                EcsErrorKind::NotFound,
                None,
                format!("no task definition `{task_definition}`"),
            )
        })?;
        let described = (definition, tags);
        if let Some(arn) = described.0.task_definition_arn() {
            self.described
                .lock()
                .expect("cache lock")
                .insert(arn.to_string(), described.clone());
        }
        Ok(described)
    }
}

impl Ecs for AwsEcs {
    async fn describe_services(
        &self,
        cluster: &str,
        services: &[String],
    ) -> Result<DescribedServices, EcsError> {
        let out = self
            .client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(services.to_vec()))
            .send()
            .await
            .map_err(|e| ecs_error("DescribeServices", e))?;
        Ok(DescribedServices {
            services: out.services().iter().map(service).collect(),
            missing: out
                .failures()
                .iter()
                .map(|f| {
                    (
                        f.arn().unwrap_or_default().to_string(),
                        f.reason().unwrap_or("MISSING").to_string(),
                    )
                })
                .collect(),
        })
    }

    async fn list_clusters(&self) -> Result<Vec<String>, EcsError> {
        let mut arns = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_clusters()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| ecs_error("ListClusters", e))?;
            arns.extend(out.cluster_arns().iter().cloned());
            token = out.next_token;
            if token.is_none() {
                return Ok(arns);
            }
        }
    }

    async fn list_services(&self, cluster: &str) -> Result<Vec<String>, EcsError> {
        let mut arns = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_services()
                .cluster(cluster)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| ecs_error("ListServices", e))?;
            arns.extend(out.service_arns().iter().cloned());
            token = out.next_token;
            if token.is_none() {
                return Ok(arns);
            }
        }
    }

    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<TaskDefinition, EcsError> {
        let (definition, tags) = self.describe_full(task_definition).await?;
        Ok(own_definition(&definition, &tags))
    }

    async fn register_task_definition(
        &self,
        base: &TaskDefinition,
        changes: &RevisionChanges,
    ) -> Result<TaskDefinition, EcsError> {
        let cached = self
            .described
            .lock()
            .expect("cache lock")
            .get(&base.arn)
            .cloned();
        let (definition, tags) = match cached {
            Some(described) => described,
            None => self.describe_full(&base.arn).await?,
        };
        let request = registration(
            self.client.register_task_definition(),
            &definition,
            &tags,
            changes,
        )
        .map_err(|message| {
            EcsError::new(
                "RegisterTaskDefinition",
                EcsErrorKind::Rejected,
                None,
                message,
            )
        })?;
        let out = request
            .send()
            .await
            .map_err(|e| ecs_error("RegisterTaskDefinition", e))?;
        let tags = out.tags().to_vec();
        let registered = out.task_definition.ok_or_else(|| {
            EcsError::new(
                "RegisterTaskDefinition",
                EcsErrorKind::Rejected,
                None,
                "ECS answered without the new revision",
            )
        })?;
        Ok(own_definition(&registered, &tags))
    }

    async fn update_service(&self, update: &ServiceUpdate) -> Result<Service, EcsError> {
        let mut request = self
            .client
            .update_service()
            .cluster(&update.cluster)
            .service(&update.service);
        if let Some(task_definition) = &update.task_definition {
            request = request.task_definition(task_definition);
        }
        if update.force_new_deployment {
            request = request.force_new_deployment(true);
        }
        let out = request
            .send()
            .await
            .map_err(|e| ecs_error("UpdateService", e))?;
        out.service().map(service).ok_or_else(|| {
            EcsError::new(
                "UpdateService",
                EcsErrorKind::Rejected,
                None,
                "ECS answered without the service",
            )
        })
    }

    async fn list_task_definitions(&self, family: &str) -> Result<Vec<String>, EcsError> {
        let mut arns = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_task_definitions()
                .family_prefix(family)
                .status(TaskDefinitionStatus::Active)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| ecs_error("ListTaskDefinitions", e))?;
            arns.extend(out.task_definition_arns().iter().cloned());
            token = out.next_token;
            if token.is_none() {
                return Ok(arns);
            }
        }
    }

    async fn deregister_task_definition(&self, arn: &str) -> Result<(), EcsError> {
        self.client
            .deregister_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| ecs_error("DeregisterTaskDefinition", e))?;
        Ok(())
    }

    async fn running_task_definitions(&self, cluster: &str) -> Result<Vec<String>, EcsError> {
        let mut arns = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_tasks()
                .cluster(cluster)
                .desired_status(DesiredStatus::Running)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| ecs_error("ListTasks", e))?;
            arns.extend(out.task_arns().iter().cloned());
            token = out.next_token;
            if token.is_none() {
                break;
            }
        }
        let mut definitions = Vec::new();
        // DescribeTasks takes at most 100 tasks a call.
        for chunk in arns.chunks(100) {
            let out = self
                .client
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| ecs_error("DescribeTasks", e))?;
            definitions.extend(
                out.tasks()
                    .iter()
                    .filter_map(|t| t.task_definition_arn().map(str::to_string)),
            );
        }
        definitions.sort();
        definitions.dedup();
        Ok(definitions)
    }

    async fn service_deployments(
        &self,
        cluster: &str,
        service: &str,
        limit: usize,
    ) -> Result<Vec<ServiceDeployment>, EcsError> {
        // One page of the most recent deployments (ECS keeps those of the last 90 days); the
        // listing's order is not documented, so all of them are described and sorted here.
        let listed = self
            .client
            .list_service_deployments()
            .cluster(cluster)
            .service(service)
            .max_results(DESCRIBE_SERVICE_DEPLOYMENTS_MAX)
            .send()
            .await
            .map_err(|e| ecs_error("ListServiceDeployments", e))?;
        let arns: Vec<String> = listed
            .service_deployments()
            .iter()
            .filter_map(|d| d.service_deployment_arn().map(str::to_string))
            .collect();
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        let out = self
            .client
            .describe_service_deployments()
            .set_service_deployment_arns(Some(arns))
            .send()
            .await
            .map_err(|e| ecs_error("DescribeServiceDeployments", e))?;
        let mut deployments: Vec<ServiceDeployment> = out
            .service_deployments()
            .iter()
            .map(|d| ServiceDeployment {
                arn: d.service_deployment_arn().unwrap_or_default().to_string(),
                status: d
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                status_reason: d.status_reason().map(str::to_string),
                lifecycle_stage: d.lifecycle_stage().map(|s| s.as_str().to_string()),
                target_task_definition: None,
                alarm_status: d
                    .alarms()
                    .and_then(|a| a.status())
                    .map(|s| s.as_str().to_string()),
                triggered_alarms: d
                    .alarms()
                    .map(|a| a.triggered_alarm_names().to_vec())
                    .unwrap_or_default(),
                circuit_breaker_failures: d.deployment_circuit_breaker().map(|c| c.failure_count()),
                circuit_breaker_threshold: d.deployment_circuit_breaker().map(|c| c.threshold()),
                created_at: d.created_at().map(DateTime::secs),
            })
            .collect();
        deployments.sort_by_key(|d| std::cmp::Reverse(d.created_at));
        deployments.truncate(limit);
        Ok(deployments)
    }

    async fn stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
        limit: usize,
    ) -> Result<Vec<StoppedTask>, EcsError> {
        let listed = self
            .client
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(DesiredStatus::Stopped)
            .send()
            .await
            .map_err(|e| ecs_error("ListTasks", e))?;
        let arns: Vec<String> = listed.task_arns().iter().take(100).cloned().collect();
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        let out = self
            .client
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(arns))
            .send()
            .await
            .map_err(|e| ecs_error("DescribeTasks", e))?;
        let mut tasks: Vec<&sdk::Task> = out.tasks().iter().collect();
        tasks.sort_by(|a, b| {
            b.stopped_at()
                .map(DateTime::as_nanos)
                .cmp(&a.stopped_at().map(DateTime::as_nanos))
        });
        Ok(tasks.into_iter().take(limit).map(stopped_task).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ecs_client_has_the_documented_retries_and_timeouts() {
        let config = SdkConfig::builder()
            .region(Region::new("us-east-1"))
            .behavior_version(BehaviorVersion::latest())
            .build();
        let ecs = AwsEcs::from_config(&config);
        let conf = ecs.client.config();
        assert_eq!(conf.retry_config().unwrap().max_attempts(), 4);
        let timeouts = conf.timeout_config().unwrap();
        assert!(timeouts.operation_attempt_timeout().is_some());
        assert!(timeouts.operation_timeout().is_some());
        assert!(timeouts.connect_timeout().is_some());
    }
}
