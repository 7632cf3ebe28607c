//! The run's deploy targets: every `[images.*.deploy]` entry of the requests, grouped so that a
//! service (or family) whose task definition holds several of the fleet's images gets one new
//! revision with all of them, not one revision per image racing the others.

use crate::manifest::{FamilyTarget, ServiceTarget};
use crate::names::{Digest, ImageName, ImageRef, Platform};

use super::ecs::short_name;
use super::error::DeployError;
use super::request::DeployRequest;

/// An ECS service as the manifest names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    /// Cluster name or ARN, as written.
    pub cluster: String,
    /// Service name or ARN, as written.
    pub service: String,
}

impl ServiceRef {
    /// `cluster/service` with short names: the subject of progress events and report lines.
    pub fn subject(&self) -> String {
        format!(
            "{}/{}",
            short_name(&self.cluster),
            short_name(&self.service)
        )
    }

    fn same(&self, other: &ServiceRef) -> bool {
        short_name(&self.cluster) == short_name(&other.cluster)
            && short_name(&self.service) == short_name(&other.service)
    }
}

/// One container to set to one image.
#[derive(Debug, Clone)]
pub(crate) struct ContainerTarget {
    pub container: String,
    pub image: ImageName,
    pub image_uri: String,
    pub digest: Digest,
    pub platform: Platform,
}

impl ContainerTarget {
    /// `<uri>@sha256:<digest>`.
    pub fn pinned(&self) -> String {
        format!("{}@{}", self.image_uri, self.digest)
    }

    /// Whether `current` (a container's image in a task definition) already is this image:
    /// the same repository pinned to the same digest, with or without a tag in between.
    pub fn is_current(&self, current: &str) -> bool {
        if current == self.pinned() {
            return true;
        }
        let (Ok(current), Ok(wanted)) = (
            current.parse::<ImageRef>(),
            self.pinned().parse::<ImageRef>(),
        ) else {
            return false;
        };
        current.digest() == Some(&self.digest)
            && current.registry() == wanted.registry()
            && current.repository() == wanted.repository()
    }
}

/// A service and the containers to change in it.
#[derive(Debug, Clone)]
pub(crate) struct ServiceGroup {
    pub service: ServiceRef,
    /// Whether any entry marks it always-on.
    pub always_on: bool,
    /// The largest `keep_revisions` of the images deployed to it.
    pub keep_revisions: u32,
    pub containers: Vec<ContainerTarget>,
    /// The families whose revision ARN an environment variable of this service's task
    /// definition holds: a new revision of one of them gives the service a new revision.
    pub references: Vec<Reference>,
}

/// "Environment variable `env` of container `container` holds a revision of family
/// `family` (an index into [`Targets::families`])".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    pub family: usize,
    pub container: String,
    pub env: String,
    /// The image whose container it is, for messages.
    pub image: ImageName,
}

/// How a family is known: by name, or through a reference (the family's name is then read from
/// the referenced revision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FamilyKey {
    Named(String),
    /// The reference's first service (an index into [`Targets::services`]), container and variable.
    Referenced {
        service: usize,
        container: String,
        env: String,
    },
}

/// A task-definition family without a service and the containers to change in it.
#[derive(Debug, Clone)]
pub(crate) struct FamilyGroup {
    /// The family's name; for a family found through a reference, `<image>.<env>` until it is read.
    pub family: String,
    pub key: FamilyKey,
    /// The family's name as the manifest spells it, when it does, besides a reference.
    pub named: Option<String>,
    pub keep_revisions: u32,
    pub containers: Vec<ContainerTarget>,
}

/// The targets of a run, in the order the requests name them, and the conflicts found.
#[derive(Debug, Default)]
pub(crate) struct Targets {
    pub services: Vec<ServiceGroup>,
    pub families: Vec<FamilyGroup>,
    pub conflicts: Vec<(TargetIndex, DeployError)>,
}

/// Which target an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetIndex {
    Service(usize),
    Family(usize),
}

/// Adds `target` to `containers` unless the same container is already set; a different image
/// for the same container is a conflict.
fn add(
    containers: &mut Vec<ContainerTarget>,
    target: ContainerTarget,
    subject: &str,
) -> Result<(), DeployError> {
    match containers.iter().find(|c| c.container == target.container) {
        None => {
            containers.push(target);
            Ok(())
        }
        Some(existing) if existing.image == target.image => Ok(()),
        Some(existing) => Err(DeployError::ConflictingImages {
            subject: subject.to_string(),
            container: target.container,
            first: existing.image.clone(),
            second: target.image,
        }),
    }
}

/// The services found for the targets that name a cluster and a container but no service:
/// `(cluster, container)` → the service's name, or why none could be picked.
pub(crate) type Found = Vec<((String, String), Result<String, DeployError>)>;

impl Targets {
    /// The index of the group for `target`, created when new; `Err` when the target's service
    /// was to be found and was not.
    fn service_index(
        &mut self,
        target: &ServiceTarget,
        keep: u32,
        found: &Found,
    ) -> Result<usize, DeployError> {
        let name = match &target.service {
            Some(name) => name.clone(),
            None => {
                let key = (target.cluster.clone(), target.container.clone());
                match found.iter().find(|(k, _)| *k == key).map(|(_, r)| r) {
                    Some(Ok(name)) => name.clone(),
                    Some(Err(e)) => return Err(e.clone()),
                    None => {
                        return Err(DeployError::ServiceNotDiscovered {
                            cluster: target.cluster.clone(),
                            container: target.container.clone(),
                            found: Vec::new(),
                            several: false,
                        })
                    }
                }
            }
        };
        let service = ServiceRef {
            cluster: target.cluster.clone(),
            service: name,
        };
        let index = match self.services.iter().position(|g| g.service.same(&service)) {
            Some(i) => i,
            None => {
                self.services.push(ServiceGroup {
                    service,
                    always_on: false,
                    keep_revisions: keep,
                    containers: Vec::new(),
                    references: Vec::new(),
                });
                self.services.len() - 1
            }
        };
        let group = &mut self.services[index];
        group.always_on |= target.always_on;
        group.keep_revisions = group.keep_revisions.max(keep);
        Ok(index)
    }

    /// A service target whose service could not be found: a group of its own that carries the
    /// error, named `cluster/<container>`.
    fn undiscovered(&mut self, target: &ServiceTarget, error: DeployError) {
        self.services.push(ServiceGroup {
            service: ServiceRef {
                cluster: target.cluster.clone(),
                service: format!("<{}>", target.container),
            },
            always_on: target.always_on,
            keep_revisions: 1,
            containers: Vec::new(),
            references: Vec::new(),
        });
        let index = self.services.len() - 1;
        self.conflicts.push((TargetIndex::Service(index), error));
    }
}

impl Targets {
    /// The group of a task-family target: the one with the same key or the same named family,
    /// else a new one.
    fn family_index(&mut self, entry: &FamilyTarget, key: FamilyKey, keep: u32) -> usize {
        match self.families.iter().position(|g| {
            g.key == key || (entry.family.is_some() && g.named.as_ref() == entry.family.as_ref())
        }) {
            Some(i) => i,
            None => {
                let family = match (&entry.family, &entry.referenced_by) {
                    (Some(family), _) => family.clone(),
                    (None, Some(reference)) => format!("{}.{}", reference.image, reference.env),
                    (None, None) => unreachable!("the manifest requires one of them"),
                };
                self.families.push(FamilyGroup {
                    family,
                    key,
                    named: entry.family.clone(),
                    keep_revisions: keep,
                    containers: Vec::new(),
                });
                self.families.len() - 1
            }
        }
    }
}

/// Groups the requests' targets by service and by family; `found` names the services that were
/// to be found by container.
pub(crate) fn group(requests: &[DeployRequest], found: &Found) -> Targets {
    let mut targets = Targets::default();
    for request in requests {
        let keep = request.spec.keep_revisions.max(1);
        let container = |name: &str| ContainerTarget {
            container: name.to_string(),
            image: request.image.clone(),
            image_uri: request.image_uri.clone(),
            digest: request.digest.clone(),
            platform: request.platform.clone(),
        };
        for entry in &request.spec.services {
            let index = match targets.service_index(entry, keep, found) {
                Ok(i) => i,
                Err(e) => {
                    targets.undiscovered(entry, e);
                    continue;
                }
            };
            let group = &mut targets.services[index];
            let subject = group.service.subject();
            if let Err(e) = add(&mut group.containers, container(&entry.container), &subject) {
                targets.conflicts.push((TargetIndex::Service(index), e));
            }
        }
        for entry in &request.spec.task_families {
            // The services holding the reference, each one's group.
            let mut referencing = Vec::new();
            if let Some(reference) = &entry.referenced_by {
                for target in &reference.services {
                    match targets.service_index(target, keep, found) {
                        Ok(i) => referencing.push((i, target.container.clone())),
                        Err(e) => targets.undiscovered(target, e),
                    }
                }
            }
            let key = match (&entry.referenced_by, referencing.first()) {
                (Some(reference), Some((service, container))) => FamilyKey::Referenced {
                    service: *service,
                    container: container.clone(),
                    env: reference.env.clone(),
                },
                _ => match &entry.family {
                    Some(family) => FamilyKey::Named(family.clone()),
                    // The reference's services were not found: already reported.
                    None => continue,
                },
            };
            let index = targets.family_index(entry, key, keep);
            if let Some(reference) = &entry.referenced_by {
                for (service, container) in &referencing {
                    let link = Reference {
                        family: index,
                        container: container.clone(),
                        env: reference.env.clone(),
                        image: reference.image.clone(),
                    };
                    let group = &mut targets.services[*service];
                    if !group.references.contains(&link) {
                        group.references.push(link);
                    }
                }
            }
            let group = &mut targets.families[index];
            group.keep_revisions = group.keep_revisions.max(keep);
            let subject = group.family.clone();
            if let Err(e) = add(&mut group.containers, container(&entry.container), &subject) {
                targets.conflicts.push((TargetIndex::Family(index), e));
            }
        }
    }
    targets
}

/// The `(cluster, container)` pairs whose service is to be found: service targets without a
/// service, the requests' own and their references'.
pub(crate) fn to_discover(requests: &[DeployRequest]) -> Vec<(String, String)> {
    let mut wanted = Vec::new();
    let references = requests
        .iter()
        .flat_map(|r| &r.spec.task_families)
        .filter_map(|f| f.referenced_by.as_ref())
        .flat_map(|r| &r.services);
    for target in requests
        .iter()
        .flat_map(|r| &r.spec.services)
        .chain(references)
    {
        let key = (target.cluster.clone(), target.container.clone());
        if target.service.is_none() && !wanted.contains(&key) {
            wanted.push(key);
        }
    }
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{DeploySpec, FamilyTarget};

    fn digest(c: char) -> Digest {
        format!("sha256:{}", c.to_string().repeat(64))
            .parse()
            .unwrap()
    }

    fn request(
        image: &str,
        services: &[(&str, &str, &str)],
        families: &[(&str, &str)],
    ) -> DeployRequest {
        DeployRequest {
            image: image.parse().unwrap(),
            image_uri: format!("123.dkr.ecr.us-east-1.amazonaws.com/fleet/{image}"),
            digest: digest('a'),
            platform: "linux/arm64".parse().unwrap(),
            spec: DeploySpec {
                services: services
                    .iter()
                    .map(|(cluster, service, container)| ServiceTarget {
                        cluster: cluster.to_string(),
                        service: Some(service.to_string()),
                        container: container.to_string(),
                        always_on: true,
                    })
                    .collect(),
                task_families: families
                    .iter()
                    .map(|(family, container)| FamilyTarget {
                        family: Some(family.to_string()),
                        container: container.to_string(),
                        referenced_by: None,
                    })
                    .collect(),
                keep_revisions: 5,
            },
        }
    }

    #[test]
    fn pinned_images_are_recognised_with_or_without_a_tag() {
        let target = ContainerTarget {
            container: "element".into(),
            image: "element".parse().unwrap(),
            image_uri: "123.dkr.ecr.us-east-1.amazonaws.com/fleet/element".into(),
            digest: digest('a'),
            platform: "linux/arm64".parse().unwrap(),
        };
        let pinned = target.pinned();
        assert_eq!(
            pinned,
            format!(
                "123.dkr.ecr.us-east-1.amazonaws.com/fleet/element@sha256:{}",
                "a".repeat(64)
            )
        );
        assert!(target.is_current(&pinned));
        assert!(target.is_current(&format!(
            "123.dkr.ecr.us-east-1.amazonaws.com/fleet/element:latest@{}",
            digest('a')
        )));
        assert!(!target.is_current(&format!(
            "123.dkr.ecr.us-east-1.amazonaws.com/fleet/element@{}",
            digest('b')
        )));
        assert!(!target.is_current(&format!(
            "123.dkr.ecr.us-east-1.amazonaws.com/fleet/other@{}",
            digest('a')
        )));
        assert!(!target.is_current("123.dkr.ecr.us-east-1.amazonaws.com/fleet/element:latest"));
        assert!(!target.is_current("not an image"));
    }

    #[test]
    fn targets_of_one_service_are_grouped_and_conflicts_found() {
        let arn = "arn:aws:ecs:us-east-1:123:service/fleet/matrix";
        let targets = group(
            &[
                request(
                    "conduit",
                    &[("fleet", "matrix", "conduit")],
                    &[("fleet-agent", "agent")],
                ),
                request(
                    "element",
                    &[("arn:aws:ecs:us-east-1:123:cluster/fleet", arn, "element")],
                    &[],
                ),
                request(
                    "agent",
                    &[("fleet", "matrix", "conduit")],
                    &[("fleet-agent", "agent")],
                ),
            ],
            &Vec::new(),
        );
        assert_eq!(targets.services.len(), 1);
        assert_eq!(targets.services[0].service.subject(), "fleet/matrix");
        assert_eq!(targets.services[0].containers.len(), 2);
        assert_eq!(targets.families.len(), 1);
        assert_eq!(targets.conflicts.len(), 2);
        assert_eq!(
            targets.conflicts[0].1.to_string(),
            "images `conduit` and `agent` both deploy to container `conduit` of `fleet/matrix`"
        );
    }
}
