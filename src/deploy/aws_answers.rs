//! ECS's answers in the project's own types: services with their deployments and events, task
//! definitions, stopped tasks, and SDK errors sorted into the kinds that decide retries and exit
//! codes. With `aws.rs`, the only file that sees `aws-sdk-ecs` types.

use std::sync::Arc;

use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::primitives::{DateTime, DateTimeFormat};
use aws_sdk_ecs::types as sdk;

use super::ecs::{
    CircuitBreaker, Container, Deployment, EcsError, EcsErrorKind, RolloutState, Service,
    ServiceEvent, StoppedContainer, StoppedTask, TaskDefinition,
};

/// Maps an SDK error to the kind that decides retries and exit codes.
pub(super) fn ecs_error<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> EcsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let SdkError::ServiceError(_) = &error {
        let code = error.code().map(str::to_string);
        let status = error
            .raw_response()
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        let kind = match code.as_deref() {
            Some(
                "ThrottlingException"
                | "Throttling"
                | "TooManyRequestsException"
                | "RequestLimitExceeded",
            ) => EcsErrorKind::Throttled,
            Some(
                "AccessDeniedException"
                | "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "SignatureDoesNotMatch"
                | "ExpiredTokenException"
                | "InvalidClientTokenId"
                | "MissingAuthenticationTokenException",
            ) => EcsErrorKind::Denied,
            Some(
                "ServiceNotFoundException"
                | "ClusterNotFoundException"
                | "ServiceNotActiveException"
                | "ResourceNotFoundException",
            ) => EcsErrorKind::NotFound,
            Some("ServerException") => EcsErrorKind::Unreachable,
            _ if status == 429 => EcsErrorKind::Throttled,
            _ if status >= 500 => EcsErrorKind::Unreachable,
            _ => EcsErrorKind::Rejected,
        };
        let message = match (code.as_deref(), error.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_string(),
            (None, Some(message)) => message.to_string(),
            (None, None) => format!("HTTP {status}"),
        };
        return EcsError {
            operation,
            kind,
            code,
            message,
            source: None,
        };
    }
    let (kind, message) = match &error {
        SdkError::ConstructionFailure(_) => {
            (EcsErrorKind::Rejected, "the request could not be built")
        }
        SdkError::ResponseError(_) => (EcsErrorKind::Unreachable, "the answer could not be read"),
        _ => (EcsErrorKind::Unreachable, "no answer from ECS"),
    };
    EcsError {
        operation,
        kind,
        code: None,
        message: message.to_string(),
        source: Some(Arc::new(error)),
    }
}

pub(super) fn time(t: Option<&DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
}

pub(super) fn service(s: &sdk::Service) -> Service {
    Service {
        arn: s.service_arn().unwrap_or_default().to_string(),
        name: s.service_name().unwrap_or_default().to_string(),
        cluster_arn: s.cluster_arn().unwrap_or_default().to_string(),
        status: s.status().unwrap_or_default().to_string(),
        task_definition: s.task_definition().map(str::to_string),
        desired_count: s.desired_count(),
        running_count: s.running_count(),
        launch_type: s.launch_type().map(|l| l.as_str().to_string()),
        capacity_providers: s
            .capacity_provider_strategy()
            .iter()
            .map(|c| c.capacity_provider().to_string())
            .collect(),
        deployment_controller: s
            .deployment_controller()
            .map(|c| c.r#type().as_str().to_string()),
        circuit_breaker: s
            .deployment_configuration()
            .and_then(|c| c.deployment_circuit_breaker())
            .map(|c| CircuitBreaker {
                enable: c.enable(),
                rollback: c.rollback(),
            }),
        deployments: s
            .deployments()
            .iter()
            .map(|d| Deployment {
                id: d.id().unwrap_or_default().to_string(),
                status: d.status().unwrap_or_default().to_string(),
                task_definition: d.task_definition().unwrap_or_default().to_string(),
                desired_count: d.desired_count(),
                running_count: d.running_count(),
                pending_count: d.pending_count(),
                failed_tasks: d.failed_tasks(),
                rollout_state: d.rollout_state().map(|r| RolloutState::parse(r.as_str())),
                rollout_state_reason: d.rollout_state_reason().map(str::to_string),
            })
            .collect(),
        events: s
            .events()
            .iter()
            .map(|e| ServiceEvent {
                created_at: time(e.created_at()),
                message: e.message().unwrap_or_default().to_string(),
            })
            .collect(),
    }
}

pub(super) fn own_definition(d: &sdk::TaskDefinition, tags: &[sdk::Tag]) -> TaskDefinition {
    TaskDefinition {
        arn: d.task_definition_arn().unwrap_or_default().to_string(),
        family: d.family().unwrap_or_default().to_string(),
        revision: d.revision(),
        containers: d
            .container_definitions()
            .iter()
            .map(|c| Container {
                name: c.name().unwrap_or_default().to_string(),
                image: c.image().unwrap_or_default().to_string(),
                environment: c
                    .environment()
                    .iter()
                    .map(|e| {
                        (
                            e.name().unwrap_or_default().to_string(),
                            e.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
            })
            .collect(),
        cpu_architecture: d
            .runtime_platform()
            .and_then(|p| p.cpu_architecture())
            .map(|a| a.as_str().to_string()),
        requires_compatibilities: d
            .requires_compatibilities()
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        tags: tags
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect(),
    }
}

pub(super) fn stopped_task(t: &sdk::Task) -> StoppedTask {
    StoppedTask {
        task_arn: t.task_arn().unwrap_or_default().to_string(),
        task_definition: t.task_definition_arn().unwrap_or_default().to_string(),
        stopped_at: time(t.stopped_at()),
        stop_code: t.stop_code().map(|c| c.as_str().to_string()),
        stopped_reason: t.stopped_reason().map(str::to_string),
        containers: t
            .containers()
            .iter()
            .map(|c| StoppedContainer {
                name: c.name().unwrap_or_default().to_string(),
                exit_code: c.exit_code(),
                reason: c.reason().map(str::to_string),
            })
            .collect(),
    }
}
