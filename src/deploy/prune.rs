//! Deregistering old revisions after a successful run: per family, keep the newest
//! `keep_revisions` `ACTIVE` revisions and any revision still in use — a service's task
//! definition or one of its deployments', a running task's (the agents the Fleet Manager starts
//! with `RunTask`), or a revision ARN in the environment of a service's task definition (the
//! Fleet Manager's `ECS_TASK_DEFINITION_ARN`) — in every cluster of the account and region and
//! the clusters the manifest names; deregister the rest. A revision that cannot be proven unused
//! is kept: when the services, tasks or definitions cannot be read, nothing is deregistered. A
//! revision CloudFormation registered (tagged `aws:cloudformation:*`) is left to its stack.

use std::collections::{BTreeMap, BTreeSet};

use crate::report::{Event, Level, Reporter};

use super::ecs::{parse_revision, revision_name, short_name, Ecs, EcsError};
use super::report::Warning;

/// The tags CloudFormation puts on what it creates (`aws:cloudformation:stack-name`, …).
const CLOUDFORMATION_TAG: &str = "aws:cloudformation:";

/// What to clean up.
#[derive(Debug, Default)]
pub(crate) struct Prune {
    /// Family → how many active revisions to keep.
    pub families: BTreeMap<String, u32>,
    /// The clusters the run's targets name (as written); every other cluster `ListClusters`
    /// returns is checked too.
    pub clusters: Vec<String>,
    /// Revisions known to be in use (`family:revision`), besides what the clusters' services say.
    pub in_use: BTreeSet<String>,
}

/// The revisions in use in `clusters` and every cluster `ListClusters` returns: the services'
/// task definitions and their deployments', the running tasks', and every revision ARN the
/// services' task definitions hold in an environment variable, as `family:revision`.
/// `kept` are revisions that stay (the newest of each family): the revisions they reference stay
/// too, so returning a service to one of them (`rollback`) finds what it launches still `ACTIVE`.
async fn revisions_in_use(
    ecs: &impl Ecs,
    clusters: &[String],
    kept: &[String],
) -> Result<BTreeSet<String>, (String, EcsError)> {
    let mut all = clusters.to_vec();
    all.extend(
        ecs.list_clusters()
            .await
            .map_err(|e| ("clusters".to_string(), e))?,
    );
    let mut in_use = BTreeSet::new();
    let mut definitions: BTreeSet<String> = kept.iter().cloned().collect();
    let mut seen = BTreeSet::new();
    for cluster in &all {
        if !seen.insert(short_name(cluster)) {
            continue;
        }
        let arns = ecs
            .list_services(cluster)
            .await
            .map_err(|e| (cluster.clone(), e))?;
        for chunk in arns.chunks(10) {
            let answer = ecs
                .describe_services(cluster, chunk)
                .await
                .map_err(|e| (cluster.clone(), e))?;
            for service in &answer.services {
                in_use.extend(service.task_definition.as_deref().map(revision_name));
                in_use.extend(
                    service
                        .deployments
                        .iter()
                        .map(|d| revision_name(&d.task_definition)),
                );
                definitions.extend(service.task_definition.clone());
                definitions.extend(
                    service
                        .deployments
                        .iter()
                        .map(|d| d.task_definition.clone()),
                );
            }
        }
        let running = ecs
            .running_task_definitions(cluster)
            .await
            .map_err(|e| (cluster.clone(), e))?;
        in_use.extend(running.iter().map(|arn| revision_name(arn)));
    }
    // References: a revision ARN in the environment of a service's (or a kept) revision is
    // launched from there.
    for arn in definitions {
        let definition = ecs
            .describe_task_definition(&arn)
            .await
            .map_err(|e| (revision_name(&arn), e))?;
        for container in &definition.containers {
            in_use.extend(
                container
                    .environment
                    .iter()
                    .filter(|(_, value)| value.contains(":task-definition/"))
                    .filter(|(_, value)| parse_revision(value).is_some())
                    .map(|(_, value)| revision_name(value)),
            );
        }
    }
    Ok(in_use)
}

/// Deregisters what `prune` allows; returns the deregistered ARNs and warnings. The services
/// are only asked which revisions they use when some revision is old enough to go.
pub(crate) async fn prune(
    ecs: &impl Ecs,
    prune: Prune,
    reporter: &dyn Reporter,
) -> (Vec<String>, Vec<Warning>) {
    let mut deregistered = Vec::new();
    let mut warnings = Vec::new();
    let (candidates, kept) = past_keep(ecs, &prune.families, &mut warnings).await;
    if candidates.is_empty() {
        return (deregistered, warnings);
    }
    let mut in_use = match revisions_in_use(ecs, &prune.clusters, &kept).await {
        Ok(in_use) => in_use,
        Err((cluster, e)) => {
            warnings.push(Warning {
                subject: short_name(&cluster).to_string(),
                message: format!("old revisions were not deregistered: could not read the services, tasks and references that may use them: {e}"),
            });
            return (deregistered, warnings);
        }
    };
    in_use.extend(prune.in_use);
    for (family, arn) in candidates {
        let name = revision_name(&arn);
        if in_use.contains(&name) {
            reporter.event(Event::Note {
                subject: &family,
                level: Level::Info,
                text: &format!(
                    "kept {name}: a service, a running task or a reference still uses it"
                ),
            });
            continue;
        }
        // A revision CloudFormation registered (the CDK stack's) is the stack's to deregister: a
        // stack rollback may return a service to it.
        match ecs.describe_task_definition(&arn).await {
            Ok(definition)
                if definition
                    .tags
                    .iter()
                    .any(|(k, _)| k.starts_with(CLOUDFORMATION_TAG)) =>
            {
                reporter.event(Event::Note {
                    subject: &family,
                    level: Level::Info,
                    text: &format!("kept {name}: CloudFormation registered it"),
                });
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                warnings.push(Warning {
                    subject: family,
                    message: format!("kept {name}: could not read its tags: {e}"),
                });
                continue;
            }
        }
        match ecs.deregister_task_definition(&arn).await {
            Ok(()) => {
                reporter.event(Event::Note {
                    subject: &family,
                    level: Level::Info,
                    text: &format!("deregistered {name}"),
                });
                deregistered.push(arn);
            }
            Err(e) => warnings.push(Warning {
                subject: family,
                message: format!("could not deregister {name}: {e}"),
            }),
        }
    }
    (deregistered, warnings)
}

/// The revisions past each family's `keep` newest (family, ARN), and the ARNs kept; a family
/// whose revisions cannot be listed is warned about and left alone.
async fn past_keep(
    ecs: &impl Ecs,
    families: &BTreeMap<String, u32>,
    warnings: &mut Vec<Warning>,
) -> (Vec<(String, String)>, Vec<String>) {
    let mut candidates: Vec<(String, String)> = Vec::new();
    let mut kept: Vec<String> = Vec::new();
    for (family, keep) in families {
        let arns = match ecs.list_task_definitions(family).await {
            Ok(arns) => arns,
            Err(e) => {
                warnings.push(Warning {
                    subject: family.clone(),
                    message: format!("old revisions were not deregistered: {e}"),
                });
                continue;
            }
        };
        // ECS matches the family as a prefix: keep only this family's revisions, newest first.
        let mut revisions: Vec<(i32, String)> = arns
            .into_iter()
            .filter_map(|arn| {
                parse_revision(&arn)
                    .filter(|(f, _)| f == family)
                    .map(|(_, r)| r)
                    .map(|r| (r, arn))
            })
            .collect();
        revisions.sort_by_key(|r| std::cmp::Reverse(r.0));
        kept.extend(
            revisions
                .iter()
                .take(*keep as usize)
                .map(|(_, arn)| arn.clone()),
        );
        candidates.extend(
            revisions
                .into_iter()
                .skip(*keep as usize)
                .map(|(_, arn)| (family.clone(), arn)),
        );
    }
    (candidates, kept)
}
