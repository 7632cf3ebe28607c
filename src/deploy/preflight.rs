//! The checks made before anything changes, over what was read from ECS: the service can be
//! rolled out, the named containers exist, and each image's architecture is the one the task
//! definition runs on. Errors stop the whole run before its first mutating call; warnings
//! (no circuit breaker with rollback, an always-on service scaled to zero) let it go on.

use super::ecs::{Service, TaskDefinition};
use super::error::DeployError;
use super::target::{ContainerTarget, FamilyGroup, ServiceGroup};

/// Checks a service and its current task definition. Returns the warnings.
pub(crate) fn check_service(
    group: &ServiceGroup,
    service: &Service,
    definition: &TaskDefinition,
) -> Result<Vec<String>, DeployError> {
    let subject = group.service.subject();
    if service.status != "ACTIVE" {
        return Err(DeployError::ServiceNotActive {
            subject,
            status: service.status.clone(),
        });
    }
    if let Some(controller) = service
        .deployment_controller
        .as_deref()
        .filter(|c| *c != "ECS")
    {
        return Err(DeployError::UnsupportedController {
            subject,
            controller: controller.to_string(),
        });
    }
    let fargate = service.on_fargate() || definition.requires_fargate();
    for target in &group.containers {
        check_container(target, &subject, definition, fargate)?;
    }

    let mut warnings = Vec::new();
    if !service
        .circuit_breaker
        .is_some_and(|c| c.enable && c.rollback)
    {
        warnings.push(
            "the deployment circuit breaker with rollback is off: ECS will keep retrying a failing rollout instead of \
             rolling back (set deploymentConfiguration.deploymentCircuitBreaker to enable = true, rollback = true)"
                .to_string(),
        );
    }
    if group.always_on && service.desired_count == 0 {
        warnings.push(
            "the service is always-on but its desiredCount is 0, so the new image will not run until it is scaled up \
             (deployment lesson 6); set `always_on = false` on the target if it is started on demand"
                .to_string(),
        );
    }
    Ok(warnings)
}

/// Checks a family's latest revision.
pub(crate) fn check_family(
    group: &FamilyGroup,
    definition: &TaskDefinition,
) -> Result<(), DeployError> {
    let fargate = definition.requires_fargate();
    for target in &group.containers {
        check_container(target, &group.family, definition, fargate)?;
    }
    Ok(())
}

fn check_container(
    target: &ContainerTarget,
    subject: &str,
    definition: &TaskDefinition,
    fargate: bool,
) -> Result<(), DeployError> {
    if definition.container(&target.container).is_none() {
        return Err(DeployError::ContainerNotFound {
            image: target.image.clone(),
            subject: subject.to_string(),
            task_definition: definition.short_name(),
            container: target.container.clone(),
            available: definition
                .containers
                .iter()
                .map(|c| c.name.clone())
                .collect(),
        });
    }
    // Without `runtimePlatform.cpuArchitecture`, Fargate runs X86_64; on EC2 the instances decide,
    // which the task definition cannot tell.
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#runtime-platform
    let (cpu_architecture, defaulted) = match &definition.cpu_architecture {
        Some(arch) => (arch.as_str(), false),
        None if fargate => ("X86_64", true),
        None => return Ok(()),
    };
    if target.platform.ecs_cpu_architecture() == Some(cpu_architecture) {
        return Ok(());
    }
    Err(DeployError::ArchitectureMismatch {
        image: target.image.clone(),
        platform: Box::new(target.platform.clone()),
        subject: subject.to_string(),
        task_definition: definition.short_name(),
        cpu_architecture: cpu_architecture.to_string(),
        defaulted,
    })
}
