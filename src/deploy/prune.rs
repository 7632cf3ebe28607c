//! Deregistering old revisions after a successful run: per family, keep the newest
//! `keep_revisions` `ACTIVE` revisions and any revision a service still uses (its task
//! definition or one of its deployments', in every cluster of the account and region, and the
//! clusters the manifest names); deregister the rest. A revision that cannot be proven unused is
//! kept: when the services cannot be listed, nothing is deregistered.

use std::collections::{BTreeMap, BTreeSet};

use crate::report::{Event, Level, Reporter};

use super::ecs::{parse_revision, revision_name, short_name, Ecs, EcsError};
use super::report::Warning;

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

/// The revisions every service of `clusters` and of every cluster `ListClusters` returns uses:
/// their task definitions and their deployments', as `family:revision`.
async fn revisions_in_use(
    ecs: &impl Ecs,
    clusters: &[String],
) -> Result<BTreeSet<String>, (String, EcsError)> {
    let mut all = clusters.to_vec();
    all.extend(
        ecs.list_clusters()
            .await
            .map_err(|e| ("clusters".to_string(), e))?,
    );
    let mut in_use = BTreeSet::new();
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
            }
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
    let mut candidates: Vec<(String, String)> = Vec::new();
    for (family, keep) in &prune.families {
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
        candidates.extend(
            revisions
                .into_iter()
                .skip(*keep as usize)
                .map(|(_, arn)| (family.clone(), arn)),
        );
    }
    if candidates.is_empty() {
        return (deregistered, warnings);
    }
    let mut in_use = match revisions_in_use(ecs, &prune.clusters).await {
        Ok(in_use) => in_use,
        Err((cluster, e)) => {
            warnings.push(Warning {
                subject: short_name(&cluster).to_string(),
                message: format!("old revisions were not deregistered: could not list the services that may use them: {e}"),
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
                text: &format!("kept {name}: a service still uses it"),
            });
            continue;
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
