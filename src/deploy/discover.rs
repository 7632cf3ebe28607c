//! Finding services by what they run: a target may name its cluster and container and leave out
//! the service, as CloudFormation generates service names (`open-claw-fleet-dev-ConduitService…`).
//! The service is the one of the cluster whose current task definition has that container; none
//! or several is an error listing what was found. Read-only: `ListServices`, `DescribeServices`
//! (ten a call) and `DescribeTaskDefinition` once per revision.

use std::collections::BTreeMap;

use super::ecs::{short_name, Ecs, EcsErrorKind, TaskDefinition};
use super::error::DeployError;
use super::target::Found;

/// Finds the service of each `(cluster, container)`.
pub(crate) async fn discover(ecs: &impl Ecs, wanted: &[(String, String)]) -> Found {
    let mut found = Found::new();
    let mut by_cluster: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (cluster, container) in wanted {
        by_cluster.entry(cluster).or_default().push(container);
    }
    for (cluster, containers) in by_cluster {
        let fail = |found: &mut Found, error: DeployError| {
            for container in &containers {
                found.push((
                    (cluster.to_string(), container.to_string()),
                    Err(error.clone()),
                ));
            }
        };
        let services = match cluster_services(ecs, cluster).await {
            Ok(services) => services,
            Err(error) => {
                fail(&mut found, error);
                continue;
            }
        };
        for container in containers {
            let matches: Vec<&String> = services
                .iter()
                .filter(|(_, d)| d.container(container).is_some())
                .map(|(name, _)| name)
                .collect();
            let result = match matches.as_slice() {
                [one] => Ok((*one).clone()),
                _ => Err(DeployError::ServiceNotDiscovered {
                    cluster: cluster.to_string(),
                    container: container.to_string(),
                    found: services
                        .iter()
                        .map(|(name, d)| {
                            let names: Vec<&str> =
                                d.containers.iter().map(|c| c.name.as_str()).collect();
                            format!("`{name}` (containers {})", names.join(", "))
                        })
                        .collect(),
                    several: matches.len() > 1,
                }),
            };
            found.push(((cluster.to_string(), container.to_string()), result));
        }
    }
    found
}

/// Every `ACTIVE` service of the cluster with its current task definition, by name.
async fn cluster_services(
    ecs: &impl Ecs,
    cluster: &str,
) -> Result<Vec<(String, TaskDefinition)>, DeployError> {
    let subject = short_name(cluster).to_string();
    let read = |action: &'static str| {
        let subject = subject.clone();
        move |source| DeployError::Ecs {
            subject,
            action,
            source: Box::new(source),
        }
    };
    let arns = match ecs.list_services(cluster).await {
        Ok(arns) => arns,
        Err(e) if e.kind == EcsErrorKind::NotFound => {
            return Err(DeployError::ClusterNotFound {
                cluster: cluster.to_string(),
            })
        }
        Err(e) => return Err(read("list the services of cluster")(e)),
    };
    let mut definitions: BTreeMap<String, TaskDefinition> = BTreeMap::new();
    let mut services = Vec::new();
    for chunk in arns.chunks(10) {
        let answer = ecs
            .describe_services(cluster, chunk)
            .await
            .map_err(read("read the services of cluster"))?;
        for service in answer.services.iter().filter(|s| s.status == "ACTIVE") {
            let Some(arn) = &service.task_definition else {
                continue;
            };
            if !definitions.contains_key(arn) {
                let definition = ecs
                    .describe_task_definition(arn)
                    .await
                    .map_err(read("read the task definitions of cluster"))?;
                definitions.insert(arn.clone(), definition);
            }
            services.push((service.name.clone(), definitions[arn].clone()));
        }
    }
    services.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(services)
}
