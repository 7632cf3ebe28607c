//! Why a deploy target could not be deployed: [`DeployError`], with the exit code and a hint.
//! Rollouts that ECS ran and that did not complete are not errors but outcomes (`report.rs`).

use crate::error::{did_you_mean, Diagnostic, Exit};
use crate::names::{ImageName, Platform};

use super::ecs::{EcsError, EcsErrorKind};

/// The IAM actions a deploy uses, for the hint when ECS denies one.
const IAM_ACTIONS: &str = "ecs:DescribeServices, ecs:ListServices, ecs:ListClusters, \
ecs:DescribeTaskDefinition, ecs:RegisterTaskDefinition, ecs:TagResource, ecs:UpdateService, \
ecs:ListTaskDefinitions, ecs:DeregisterTaskDefinition, ecs:ListTasks, ecs:DescribeTasks, \
ecs:ListServiceDeployments, ecs:DescribeServiceDeployments, and iam:PassRole on the task and \
execution roles";

/// A deploy target that could not be deployed, and why. Cloneable: one failed lookup can stand
/// for every target it concerned.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeployError {
    /// An ECS call failed.
    #[error("could not {action} `{subject}`")]
    Ecs {
        /// The service (`cluster/service`) or family.
        subject: String,
        /// What was being done (`read service`, `register a new revision for`).
        action: &'static str,
        /// The failed call (boxed: errors travel in `Result`s and should stay small).
        #[source]
        source: Box<EcsError>,
    },

    /// The AWS configuration names no region.
    #[error("no AWS region is configured for ECS")]
    NoRegion,

    /// `DescribeServices` did not find the service.
    #[error("service `{service}` was not found in cluster `{cluster}` (ECS says {reason})")]
    ServiceNotFound {
        /// The image whose deploy names it.
        image: ImageName,
        /// Cluster as written in the manifest.
        cluster: String,
        /// Service as written in the manifest.
        service: String,
        /// ECS's reason (`MISSING`).
        reason: String,
    },

    /// The service exists but is being deleted.
    #[error("service `{subject}` is {status}, not ACTIVE")]
    ServiceNotActive {
        /// `cluster/service`.
        subject: String,
        /// Its status.
        status: String,
    },

    /// The service is deployed by CodeDeploy or an external controller: `UpdateService` cannot
    /// change its task definition.
    #[error("service `{subject}` uses the {controller} deployment controller, which fleet-images cannot roll out")]
    UnsupportedController {
        /// `cluster/service`.
        subject: String,
        /// `CODE_DEPLOY`, `EXTERNAL`, or `none` when the service names no task definition.
        controller: String,
    },

    /// The manifest names a container the task definition does not have.
    #[error("task definition `{task_definition}` of `{subject}` has no container `{container}`; its containers are {}", list(available))]
    ContainerNotFound {
        /// The image whose deploy names it.
        image: ImageName,
        /// `cluster/service` or the family.
        subject: String,
        /// `family:revision`.
        task_definition: String,
        /// The container named in the manifest.
        container: String,
        /// The containers the definition has.
        available: Vec<String>,
    },

    /// The image's architecture is not the one the task definition runs on.
    #[error("image `{image}` is built for {platform}, but `{subject}` runs task definition `{task_definition}` on {cpu_architecture}{}", if *defaulted { " (Fargate's default)" } else { "" })]
    ArchitectureMismatch {
        /// The image.
        image: ImageName,
        /// What it was built for.
        platform: Box<Platform>,
        /// `cluster/service` or the family.
        subject: String,
        /// `family:revision`.
        task_definition: String,
        /// `X86_64` or `ARM64`.
        cpu_architecture: String,
        /// Whether the definition declares no `cpuArchitecture` and Fargate's default applies.
        defaulted: bool,
    },

    /// A target names a cluster and container, and not exactly one service of the cluster runs
    /// that container.
    #[error("{} of cluster `{cluster}` {} a container `{container}`; its services: {}", if *several { "several services" } else { "no service" }, if *several { "run" } else { "runs" }, if found.is_empty() { "none".to_string() } else { found.join(", ") })]
    ServiceNotDiscovered {
        /// The cluster, as written.
        cluster: String,
        /// The container looked for.
        container: String,
        /// Each service of the cluster with its containers.
        found: Vec<String>,
        /// Whether several services matched (otherwise none did).
        several: bool,
    },

    /// A target's cluster does not exist.
    #[error("cluster `{cluster}` does not exist")]
    ClusterNotFound {
        /// The cluster, as written (after `${vars}`).
        cluster: String,
    },

    /// A referenced family's revision could not be read from the referencing container.
    #[error("container `{container}` of `{subject}` ({task_definition}) {problem}")]
    BrokenReference {
        /// `cluster/service` of the referencing service.
        subject: String,
        /// The referencing container.
        container: String,
        /// `family:revision` of the service's task definition.
        task_definition: String,
        /// What is wrong: no such variable, or a value that is no revision ARN.
        problem: String,
        /// The image whose deploy declares the reference, and the variable.
        declared: Box<(ImageName, String)>,
    },

    /// The family found through a reference is not the one the manifest names.
    #[error("`{subject}` references family `{found}`, but the manifest names family `{named}`")]
    ReferenceFamilyMismatch {
        /// `cluster/service` of the referencing service.
        subject: String,
        /// The family the reference points at.
        found: String,
        /// The family the manifest names.
        named: String,
    },

    /// A family this service references could not get its new revision, so the service was left
    /// alone.
    #[error("`{subject}` was not updated: family `{family}`, which it references, could not get its new revision")]
    ReferencedFamilyFailed {
        /// `cluster/service`.
        subject: String,
        /// The family.
        family: String,
    },

    /// Two images of the run name the same container of the same target.
    #[error(
        "images `{first}` and `{second}` both deploy to container `{container}` of `{subject}`"
    )]
    ConflictingImages {
        /// `cluster/service` or the family.
        subject: String,
        /// The container.
        container: String,
        /// One image.
        first: ImageName,
        /// The other.
        second: ImageName,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The platform to build for when a task definition runs on `cpu_architecture`.
pub(crate) fn platform_for(cpu_architecture: &str) -> &'static str {
    match cpu_architecture {
        "ARM64" => "linux/arm64",
        _ => "linux/amd64",
    }
}

impl Diagnostic for DeployError {
    fn exit(&self) -> Exit {
        match self {
            DeployError::Ecs { source, .. } => match source.kind {
                EcsErrorKind::Throttled | EcsErrorKind::Unreachable | EcsErrorKind::Denied => {
                    Exit::Unavailable
                }
                EcsErrorKind::NotFound | EcsErrorKind::Rejected => Exit::Failed,
            },
            DeployError::NoRegion => Exit::BadInput,
            _ => Exit::Failed,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            DeployError::Ecs { source, .. } => match source.kind {
                EcsErrorKind::Denied => Some(format!("the AWS identity needs {IAM_ACTIONS}")),
                EcsErrorKind::Unreachable => Some(
                    "check the network and the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, web identity); AWS_ENDPOINT_URL points the SDK at an emulator"
                        .into(),
                ),
                EcsErrorKind::Throttled => Some("ECS throttled the account's API calls; run again in a minute".into()),
                EcsErrorKind::NotFound | EcsErrorKind::Rejected => None,
            },
            DeployError::NoRegion => {
                Some("set AWS_REGION, a profile's `region`, or `region` in the manifest's [registry] table".into())
            }
            DeployError::ServiceNotFound { image, .. } => Some(format!(
                "check `cluster` and `service` in [images.{image}.deploy] and the AWS account and region the credentials point at"
            )),
            DeployError::ServiceNotActive { .. } => Some("remove the target from the manifest, or recreate the service".into()),
            DeployError::UnsupportedController { .. } => Some(
                "fleet-images rolls out services with the ECS (rolling update) deployment controller; deploy this one through its controller"
                    .into(),
            ),
            DeployError::ContainerNotFound { image, container, available, .. } => {
                let fix = match did_you_mean(container, available.iter().map(String::as_str)) {
                    Some(close) => format!("did you mean `{close}`? "),
                    None => String::new(),
                };
                Some(format!("{fix}set `container` in [images.{image}.deploy] to the container that runs this image"))
            }
            DeployError::ArchitectureMismatch { image, cpu_architecture, defaulted, .. } => {
                let platform = platform_for(cpu_architecture);
                let mut hint = format!("build it for {platform}: set `platform = \"{platform}\"` in [images.{image}] (or [defaults])");
                if *defaulted {
                    hint.push_str(
                        "; the task definition sets no runtimePlatform.cpuArchitecture, so Fargate runs it on X86_64: declare ARM64 there to run arm64 images",
                    );
                }
                Some(hint)
            }
            DeployError::ServiceNotDiscovered { cluster, container, several, .. } => Some(if *several {
                format!("name the service: add `service = \"…\"` to the target with cluster `{cluster}` and container `{container}`")
            } else {
                format!("check `cluster` and `container` of the target: the CDK app names each service's container after its image; deploy the stack first if cluster `{cluster}` is empty")
            }),
            DeployError::ClusterNotFound { .. } => Some(
                "check `cluster` of the deploy targets and the AWS account and region; the fleet's CDK app names it `open-claw-fleet-<environment>`: pass `--var environment=NAME` for a stack other than `dev`"
                    .into(),
            ),
            DeployError::BrokenReference { declared, .. } => Some(format!(
                "the family's revision is read from `{}` of image `{}`'s container: check `referenced_by` in the manifest and that the stack sets that variable to the family's revision ARN",
                declared.1, declared.0
            )),
            DeployError::ReferenceFamilyMismatch { .. } => Some(
                "remove `family` from the target and keep `referenced_by`, or fix the family's name".into(),
            ),
            DeployError::ReferencedFamilyFailed { .. } => None,
            DeployError::ConflictingImages { .. } => {
                Some("a container takes its image from one [images.*] table only; remove one of the targets".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::render;

    #[test]
    fn architecture_mismatch_names_the_platform_to_build_for() {
        let err = DeployError::ArchitectureMismatch {
            image: "element".parse().unwrap(),
            platform: Box::new("linux/amd64".parse().unwrap()),
            subject: "fleet/element".into(),
            task_definition: "fleet-element:12".into(),
            cpu_architecture: "ARM64".into(),
            defaulted: false,
        };
        assert_eq!(
            render(&err),
            "error: image `element` is built for linux/amd64, but `fleet/element` runs task definition `fleet-element:12` on ARM64\n  \
             hint: build it for linux/arm64: set `platform = \"linux/arm64\"` in [images.element] (or [defaults])"
        );
        assert_eq!(err.exit(), Exit::Failed);
    }

    #[test]
    fn fargate_default_is_explained() {
        let err = DeployError::ArchitectureMismatch {
            image: "agent".parse().unwrap(),
            platform: Box::new("linux/arm64".parse().unwrap()),
            subject: "fleet-agent".into(),
            task_definition: "fleet-agent:3".into(),
            cpu_architecture: "X86_64".into(),
            defaulted: true,
        };
        let text = render(&err);
        assert!(text.contains("on X86_64 (Fargate's default)"), "{text}");
        assert!(text.contains("set `platform = \"linux/amd64\"`"), "{text}");
        assert!(text.contains("declare ARM64 there"), "{text}");
    }

    #[test]
    fn missing_container_lists_the_containers() {
        let err = DeployError::ContainerNotFound {
            image: "element".parse().unwrap(),
            subject: "fleet/element".into(),
            task_definition: "fleet-element:12".into(),
            container: "elemnt".into(),
            available: vec!["element".into(), "log-router".into()],
        };
        assert_eq!(
            render(&err),
            "error: task definition `fleet-element:12` of `fleet/element` has no container `elemnt`; its containers are `element`, `log-router`\n  \
             hint: did you mean `element`? set `container` in [images.element.deploy] to the container that runs this image"
        );
    }

    #[test]
    fn ecs_failures_keep_the_cause_and_pick_the_exit_code() {
        let err = DeployError::Ecs {
            subject: "fleet/element".into(),
            action: "update service",
            source: Box::new(EcsError::new(
                "UpdateService",
                EcsErrorKind::Denied,
                Some("AccessDeniedException"),
                "not authorized",
            )),
        };
        let text = render(&err);
        assert!(text.starts_with("error: could not update service `fleet/element`: ECS UpdateService failed: not authorized"), "{text}");
        assert!(
            text.contains("hint: the AWS identity needs ecs:DescribeServices"),
            "{text}"
        );
        assert_eq!(err.exit(), Exit::Unavailable);
        let rejected = DeployError::Ecs {
            subject: "fleet/element".into(),
            action: "update service",
            source: Box::new(EcsError::new(
                "UpdateService",
                EcsErrorKind::Rejected,
                Some("ClientException"),
                "bad",
            )),
        };
        assert_eq!(rejected.exit(), Exit::Failed);
    }

    #[test]
    fn a_service_not_found_by_container_lists_what_the_cluster_has() {
        let none = DeployError::ServiceNotDiscovered {
            cluster: "open-claw-fleet-dev".into(),
            container: "fleet-manger".into(),
            found: vec![
                "`dev-ConduitService1` (containers conduit)".into(),
                "`dev-FleetManagerService2` (containers fleet-manager)".into(),
            ],
            several: false,
        };
        assert_eq!(
            render(&none),
            "error: no service of cluster `open-claw-fleet-dev` runs a container `fleet-manger`; its services: `dev-ConduitService1` (containers conduit), `dev-FleetManagerService2` (containers fleet-manager)\n  \
             hint: check `cluster` and `container` of the target: the CDK app names each service's container after its image; deploy the stack first if cluster `open-claw-fleet-dev` is empty"
        );
        let several = DeployError::ServiceNotDiscovered {
            cluster: "c".into(),
            container: "web".into(),
            found: vec!["`a` (containers web)".into(), "`b` (containers web)".into()],
            several: true,
        };
        let text = render(&several);
        assert!(text.starts_with("error: several services of cluster `c` run a container `web`; its services: `a` (containers web), `b` (containers web)"), "{text}");
        assert!(text.contains("add `service = \"…\"`"), "{text}");
        assert_eq!(several.exit(), Exit::Failed);
    }

    #[test]
    fn a_broken_reference_names_the_variable_and_the_image() {
        let err = DeployError::BrokenReference {
            subject: "fleet/fm".into(),
            container: "fleet-manager".into(),
            task_definition: "fm:3".into(),
            problem: "has no environment variable `ECS_TASK_DEFINITION_ARN`".into(),
            declared: Box::new((
                "fleet-manager".parse().unwrap(),
                "ECS_TASK_DEFINITION_ARN".into(),
            )),
        };
        assert_eq!(
            render(&err),
            "error: container `fleet-manager` of `fleet/fm` (fm:3) has no environment variable `ECS_TASK_DEFINITION_ARN`\n  \
             hint: the family's revision is read from `ECS_TASK_DEFINITION_ARN` of image `fleet-manager`'s container: check `referenced_by` in the manifest and that the stack sets that variable to the family's revision ARN"
        );
    }

    #[test]
    fn errors_stay_small() {
        assert!(
            std::mem::size_of::<DeployError>() <= 128,
            "{}",
            std::mem::size_of::<DeployError>()
        );
    }
}
