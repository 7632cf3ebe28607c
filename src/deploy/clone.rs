//! Cloning a task definition revision into a `RegisterTaskDefinition` request: every field
//! `RegisterTaskDefinition` accepts is copied from `DescribeTaskDefinition`'s answer, none of
//! the read-only ones (`taskDefinitionArn`, `revision`, `status`, `requiresAttributes`,
//! `compatibilities`, `registeredAt`, `registeredBy`, `deregisteredAt`, `deleteRequestedAt`), and
//! only the named containers' images change.
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html>

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;
use aws_sdk_ecs::types::{ContainerDefinition, KeyValuePair, Tag, TaskDefinition};

use super::ecs::RevisionChanges;

/// Tag keys starting with this are AWS's own (CloudFormation puts `aws:cloudformation:*` on the
/// revisions it registers); `RegisterTaskDefinition` refuses them.
const RESERVED_TAG_PREFIX: &str = "aws:";

/// Fills `request` with a copy of `definition` and its `tags`, with the images and environment
/// values of `changes` replaced. Fails when a change names a container the definition does not
/// have.
// `inferenceAccelerators` is deprecated (Elastic Inference is gone) but still registrable: a
// definition that has them keeps them, and ECS decides.
#[allow(deprecated)]
pub(crate) fn registration(
    request: RegisterTaskDefinitionFluentBuilder,
    definition: &TaskDefinition,
    tags: &[Tag],
    changes: &RevisionChanges,
) -> Result<RegisterTaskDefinitionFluentBuilder, String> {
    let mut containers = definition.container_definitions.clone().unwrap_or_default();
    fn find<'c>(
        containers: &'c mut [ContainerDefinition],
        name: &str,
    ) -> Result<&'c mut ContainerDefinition, String> {
        containers
            .iter_mut()
            .find(|c| c.name.as_deref() == Some(name))
            .ok_or_else(|| format!("task definition has no container `{name}`"))
    }
    for replacement in &changes.images {
        find(&mut containers, &replacement.container)?.image = Some(replacement.image.clone());
    }
    for replacement in &changes.environment {
        let container = find(&mut containers, &replacement.container)?;
        let environment = container.environment.get_or_insert_with(Vec::new);
        match environment
            .iter_mut()
            .find(|e| e.name.as_deref() == Some(replacement.name.as_str()))
        {
            Some(entry) => entry.value = Some(replacement.value.clone()),
            None => environment.push(
                KeyValuePair::builder()
                    .name(&replacement.name)
                    .value(&replacement.value)
                    .build(),
            ),
        }
    }
    let tags: Vec<Tag> = tags
        .iter()
        .filter(|t| !t.key().unwrap_or_default().starts_with(RESERVED_TAG_PREFIX))
        .cloned()
        .collect();
    Ok(request
        .set_family(definition.family.clone())
        .set_task_role_arn(definition.task_role_arn.clone())
        .set_execution_role_arn(definition.execution_role_arn.clone())
        .set_network_mode(definition.network_mode.clone())
        .set_container_definitions(Some(containers))
        .set_volumes(definition.volumes.clone())
        .set_placement_constraints(definition.placement_constraints.clone())
        .set_requires_compatibilities(definition.requires_compatibilities.clone())
        .set_cpu(definition.cpu.clone())
        .set_memory(definition.memory.clone())
        .set_tags((!tags.is_empty()).then_some(tags))
        .set_pid_mode(definition.pid_mode.clone())
        .set_ipc_mode(definition.ipc_mode.clone())
        .set_proxy_configuration(definition.proxy_configuration.clone())
        .set_inference_accelerators(definition.inference_accelerators.clone())
        .set_ephemeral_storage(definition.ephemeral_storage.clone())
        .set_runtime_platform(definition.runtime_platform.clone())
        .set_enable_fault_injection(definition.enable_fault_injection))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::ecs::{EnvReplacement, ImageReplacement};
    use aws_sdk_ecs::primitives::DateTime;
    use aws_sdk_ecs::types::{
        Compatibility, ContainerDefinition, CpuArchitecture, EphemeralStorage, IpcMode,
        NetworkMode, OsFamily, PidMode, ProxyConfiguration, RuntimePlatform,
        TaskDefinitionPlacementConstraint, TaskDefinitionPlacementConstraintType,
        TaskDefinitionStatus, Volume,
    };

    fn client() -> aws_sdk_ecs::Client {
        let config = aws_sdk_ecs::Config::builder()
            .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
            .region(aws_sdk_ecs::config::Region::new("us-east-1"))
            .build();
        aws_sdk_ecs::Client::from_conf(config)
    }

    fn container(name: &str, image: &str) -> ContainerDefinition {
        ContainerDefinition::builder()
            .name(name)
            .image(image)
            .memory(512)
            .essential(true)
            .build()
    }

    /// A definition with every field set, read-only ones included.
    #[allow(deprecated)]
    fn full() -> TaskDefinition {
        TaskDefinition::builder()
            .task_definition_arn("arn:aws:ecs:us-east-1:123:task-definition/fleet-matrix:7")
            .revision(7)
            .status(TaskDefinitionStatus::Active)
            .requires_attributes(
                aws_sdk_ecs::types::Attribute::builder()
                    .name("com.amazonaws.ecs.capability.docker-remote-api.1.18")
                    .build()
                    .unwrap(),
            )
            .compatibilities(Compatibility::Fargate)
            .registered_at(DateTime::from_secs(1_700_000_000))
            .registered_by("arn:aws:iam::123:role/ci")
            .deregistered_at(DateTime::from_secs(1_700_000_001))
            .family("fleet-matrix")
            .task_role_arn("arn:aws:iam::123:role/task")
            .execution_role_arn("arn:aws:iam::123:role/exec")
            .network_mode(NetworkMode::Awsvpc)
            .container_definitions(container(
                "conduit",
                "123.dkr.ecr.us-east-1.amazonaws.com/fleet/conduit:latest",
            ))
            .container_definitions(container(
                "log-router",
                "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
            ))
            .volumes(Volume::builder().name("data").build())
            .placement_constraints(
                TaskDefinitionPlacementConstraint::builder()
                    .r#type(TaskDefinitionPlacementConstraintType::MemberOf)
                    .expression("attribute:ecs.availability-zone in [us-east-1a]")
                    .build(),
            )
            .requires_compatibilities(Compatibility::Fargate)
            .cpu("1024")
            .memory("2048")
            .pid_mode(PidMode::Task)
            .ipc_mode(IpcMode::Task)
            .proxy_configuration(
                ProxyConfiguration::builder()
                    .container_name("envoy")
                    .build()
                    .unwrap(),
            )
            .inference_accelerators(
                aws_sdk_ecs::types::InferenceAccelerator::builder()
                    .device_name("d")
                    .device_type("eia2.medium")
                    .build()
                    .unwrap(),
            )
            .ephemeral_storage(EphemeralStorage::builder().size_in_gib(30).build())
            .runtime_platform(
                RuntimePlatform::builder()
                    .cpu_architecture(CpuArchitecture::Arm64)
                    .operating_system_family(OsFamily::Linux)
                    .build(),
            )
            .enable_fault_injection(true)
            .build()
    }

    #[test]
    #[allow(deprecated)]
    fn copies_every_registrable_field_and_replaces_one_image() {
        let definition = full();
        let tags = vec![
            Tag::builder().key("team").value("fleet").build(),
            Tag::builder()
                .key("aws:cloudformation:stack-name")
                .value("fleet")
                .build(),
        ];
        let pinned = format!(
            "123.dkr.ecr.us-east-1.amazonaws.com/fleet/conduit@sha256:{}",
            "a".repeat(64)
        );
        let changes = RevisionChanges {
            images: vec![ImageReplacement {
                container: "conduit".into(),
                image: pinned.clone(),
            }],
            environment: Vec::new(),
        };
        let request = registration(
            client().register_task_definition(),
            &definition,
            &tags,
            &changes,
        )
        .unwrap();
        let input = request.as_input();

        let containers = input.get_container_definitions().clone().unwrap();
        let original = definition.container_definitions.clone().unwrap();
        assert_eq!(containers[0].image.as_deref(), Some(pinned.as_str()));
        assert_eq!(
            containers[1], original[1],
            "the other container is untouched"
        );
        let mut expected_first = original[0].clone();
        expected_first.image = Some(pinned);
        assert_eq!(
            containers[0], expected_first,
            "only the image of the named container changes"
        );

        assert_eq!(input.get_family(), &definition.family);
        assert_eq!(input.get_task_role_arn(), &definition.task_role_arn);
        assert_eq!(
            input.get_execution_role_arn(),
            &definition.execution_role_arn
        );
        assert_eq!(input.get_network_mode(), &definition.network_mode);
        assert_eq!(input.get_volumes(), &definition.volumes);
        assert_eq!(
            input.get_placement_constraints(),
            &definition.placement_constraints
        );
        assert_eq!(
            input.get_requires_compatibilities(),
            &definition.requires_compatibilities
        );
        assert_eq!(input.get_cpu(), &definition.cpu);
        assert_eq!(input.get_memory(), &definition.memory);
        assert_eq!(input.get_pid_mode(), &definition.pid_mode);
        assert_eq!(input.get_ipc_mode(), &definition.ipc_mode);
        assert_eq!(
            input.get_proxy_configuration(),
            &definition.proxy_configuration
        );
        assert_eq!(
            input.get_inference_accelerators(),
            &definition.inference_accelerators
        );
        assert_eq!(input.get_ephemeral_storage(), &definition.ephemeral_storage);
        assert_eq!(input.get_runtime_platform(), &definition.runtime_platform);
        assert_eq!(
            input.get_enable_fault_injection(),
            &definition.enable_fault_injection
        );
        assert_eq!(
            input.get_tags(),
            &Some(vec![tags[0].clone()]),
            "AWS-reserved tags are left out"
        );
    }

    #[test]
    fn every_input_field_is_accounted_for() {
        // The request's Debug lists its fields: a field a newer SDK adds fails this test until
        // `registration` decides about it.
        let request = registration(
            client().register_task_definition(),
            &full(),
            &[],
            &RevisionChanges::default(),
        )
        .unwrap();
        let debug = format!("{:#?}", request.as_input());
        let known = [
            "family",
            "task_role_arn",
            "execution_role_arn",
            "network_mode",
            "container_definitions",
            "volumes",
            "placement_constraints",
            "requires_compatibilities",
            "cpu",
            "memory",
            "tags",
            "pid_mode",
            "ipc_mode",
            "proxy_configuration",
            "inference_accelerators",
            "ephemeral_storage",
            "runtime_platform",
            "enable_fault_injection",
        ];
        // Pretty Debug puts each top-level field on its own line, indented by four spaces.
        let fields: Vec<&str> = debug
            .lines()
            .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
            .filter_map(|l| l.trim().split_once(':').map(|(name, _)| name))
            .collect();
        for field in &fields {
            assert!(
                known.contains(field),
                "RegisterTaskDefinition has a field `{field}` that the clone does not copy"
            );
        }
        assert_eq!(fields.len(), known.len(), "{fields:?}");
    }

    #[test]
    fn an_unknown_container_is_refused() {
        let changes = RevisionChanges {
            images: vec![ImageReplacement {
                container: "nope".into(),
                image: "x".into(),
            }],
            environment: Vec::new(),
        };
        let err =
            registration(client().register_task_definition(), &full(), &[], &changes).unwrap_err();
        assert_eq!(err, "task definition has no container `nope`");
    }

    #[test]
    fn an_environment_value_is_replaced_or_added_and_nothing_else_changes() {
        let mut definition = full();
        let containers = definition.container_definitions.as_mut().unwrap();
        containers[0].environment = Some(vec![
            KeyValuePair::builder()
                .name("ECS_TASK_DEFINITION_ARN")
                .value("arn:aws:ecs:us-east-1:123:task-definition/agent:3")
                .build(),
            KeyValuePair::builder()
                .name("MATRIX_DOMAIN")
                .value("anycompany.corp")
                .build(),
        ]);
        let changes = RevisionChanges {
            images: Vec::new(),
            environment: vec![
                EnvReplacement {
                    container: "conduit".into(),
                    name: "ECS_TASK_DEFINITION_ARN".into(),
                    value: "arn:aws:ecs:us-east-1:123:task-definition/agent:4".into(),
                },
                EnvReplacement {
                    container: "conduit".into(),
                    name: "NEW".into(),
                    value: "1".into(),
                },
            ],
        };
        let request = registration(
            client().register_task_definition(),
            &definition,
            &[],
            &changes,
        )
        .unwrap();
        let containers = request
            .as_input()
            .get_container_definitions()
            .clone()
            .unwrap();
        let environment: Vec<(&str, &str)> = containers[0]
            .environment()
            .iter()
            .map(|e| (e.name().unwrap(), e.value().unwrap()))
            .collect();
        assert_eq!(
            environment,
            vec![
                (
                    "ECS_TASK_DEFINITION_ARN",
                    "arn:aws:ecs:us-east-1:123:task-definition/agent:4"
                ),
                ("MATRIX_DOMAIN", "anycompany.corp"),
                ("NEW", "1"),
            ]
        );
        assert_eq!(
            containers[0].image,
            definition.container_definitions.as_ref().unwrap()[0].image
        );
        assert_eq!(
            containers[1],
            definition.container_definitions.as_ref().unwrap()[1]
        );
    }
}
