//! The read-only half of a deploy: read every service (ten to a call per cluster), its task
//! definition and each family's latest revision, then check them all before anything changes.

use std::collections::BTreeMap;

use super::super::clock::Clock;
use crate::names::ImageName;

use super::super::ecs::{short_name, Ecs, TaskDefinition};
use super::super::error::DeployError;
use super::super::preflight;
use super::super::target::FamilyKey;
use super::{changes, Run};

/// The revision ARN environment variable `env` of `container` holds in `definition`: the
/// reference to a family, checked to be one.
fn reference_value<'d>(
    subject: &str,
    definition: &'d TaskDefinition,
    container: &str,
    env: &str,
    image: &ImageName,
) -> Result<&'d str, DeployError> {
    let broken = |problem: String| DeployError::BrokenReference {
        subject: subject.to_string(),
        container: container.to_string(),
        task_definition: definition.short_name(),
        problem,
        declared: Box::new((image.clone(), env.to_string())),
    };
    let Some(c) = definition.container(container) else {
        return Err(broken("does not exist".into()));
    };
    let Some(value) = c.env(env) else {
        return Err(broken(format!("has no environment variable `{env}`")));
    };
    if !value.starts_with("arn:") || super::super::ecs::parse_revision(value).is_none() {
        return Err(broken(format!(
            "has `{env}` = `{value}`, which is not a task definition revision ARN"
        )));
    }
    Ok(value)
}

impl<E: Ecs, C: Clock> Run<'_, E, C> {
    /// Reads every service (ten to a call per cluster), its task definition, and each family's
    /// latest revision. Read-only.
    pub(super) async fn observe(&mut self) {
        self.observe_services().await;
        self.observe_definitions().await;
        self.observe_families().await;
    }

    /// Each service, ten to a `DescribeServices` call per cluster; a missing one fails.
    async fn observe_services(&mut self) {
        let mut by_cluster: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, s) in self
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| s.report.error.is_none())
        {
            by_cluster
                .entry(s.group.service.cluster.clone())
                .or_default()
                .push(i);
        }
        for (cluster, indices) in by_cluster {
            for chunk in indices.chunks(10) {
                let names: Vec<String> = chunk
                    .iter()
                    .map(|&i| self.services[i].group.service.service.clone())
                    .collect();
                match self.ecs.describe_services(&cluster, &names).await {
                    Ok(answer) => {
                        for &i in chunk {
                            let work = &mut self.services[i];
                            let name = short_name(&work.group.service.service);
                            match answer.services.iter().find(|s| s.name == name) {
                                Some(service) => work.current = Some(service.clone()),
                                None => {
                                    let reason = answer
                                        .missing
                                        .iter()
                                        .find(|(arn, _)| short_name(arn) == name)
                                        .map_or_else(|| "MISSING".to_string(), |(_, r)| r.clone());
                                    let image = work.group.containers[0].image.clone();
                                    work.fail(DeployError::ServiceNotFound {
                                        image,
                                        cluster: work.group.service.cluster.clone(),
                                        service: work.group.service.service.clone(),
                                        reason,
                                    });
                                }
                            }
                        }
                    }
                    Err(source) => {
                        for &i in chunk {
                            let work = &mut self.services[i];
                            let subject = work.group.service.subject();
                            work.fail(DeployError::Ecs {
                                subject,
                                action: "read service",
                                source: Box::new(source.clone()),
                            });
                        }
                    }
                }
            }
        }
    }

    /// The task definition each service runs, each described once.
    async fn observe_definitions(&mut self) {
        let mut definitions: BTreeMap<String, TaskDefinition> = BTreeMap::new();
        for i in 0..self.services.len() {
            let Some(current) = &self.services[i].current else {
                continue;
            };
            let subject = self.services[i].group.service.subject();
            let Some(arn) = current.task_definition.clone() else {
                let controller = current
                    .deployment_controller
                    .clone()
                    .unwrap_or_else(|| "none".into());
                self.services[i].fail(DeployError::UnsupportedController {
                    subject,
                    controller,
                });
                continue;
            };
            if !definitions.contains_key(&arn) {
                match self.ecs.describe_task_definition(&arn).await {
                    Ok(d) => {
                        definitions.insert(arn.clone(), d);
                    }
                    Err(source) => {
                        self.services[i].fail(DeployError::Ecs {
                            subject,
                            action: "read the task definition of",
                            source: Box::new(source),
                        });
                        continue;
                    }
                }
            }
            self.services[i].definition = definitions.get(&arn).cloned();
        }
    }

    /// The latest revision of each family (or the revision a referencing service holds), which
    /// must be of the family the manifest names.
    async fn observe_families(&mut self) {
        for i in 0..self.families.len() {
            if self.families[i].report.error.is_some() {
                continue;
            }
            let name = match self.revision_of_family(i) {
                Ok(Some(name)) => name,
                Ok(None) => continue,
                Err(e) => {
                    self.families[i].fail(e);
                    continue;
                }
            };
            let work = &mut self.families[i];
            match self.ecs.describe_task_definition(&name).await {
                Ok(d) => {
                    if let Some(named) = work.group.named.as_ref().filter(|n| **n != d.family) {
                        let subject = match &work.group.key {
                            FamilyKey::Referenced { service, .. } => {
                                self.services[*service].report.subject.clone()
                            }
                            FamilyKey::Named(_) => work.group.family.clone(),
                        };
                        work.fail(DeployError::ReferenceFamilyMismatch {
                            subject,
                            found: d.family.clone(),
                            named: named.clone(),
                        });
                        continue;
                    }
                    work.group.family = d.family.clone();
                    work.report.family = d.family.clone();
                    work.definition = Some(d);
                }
                Err(source) => {
                    let subject = work.group.family.clone();
                    work.fail(DeployError::Ecs {
                        subject,
                        action: "read the latest revision of family",
                        source: Box::new(source),
                    });
                }
            }
        }
    }

    /// What to describe for family `i`: its name (the latest revision), or the revision ARN the
    /// referencing service's container holds. `None` when the referencing service could not be
    /// read (its own error stops the run).
    fn revision_of_family(&self, i: usize) -> Result<Option<String>, DeployError> {
        let group = &self.families[i].group;
        let FamilyKey::Referenced {
            service,
            container,
            env,
        } = &group.key
        else {
            return Ok(Some(group.family.clone()));
        };
        let work = &self.services[*service];
        let Some(definition) = &work.definition else {
            return Ok(None);
        };
        let reference = work
            .group
            .references
            .iter()
            .find(|r| r.family == i)
            .expect("a referenced family is linked to its service");
        reference_value(
            &work.report.subject,
            definition,
            container,
            env,
            &reference.image,
        )
        .map(|arn| Some(arn.to_string()))
    }

    /// Checks every target that could be read, and records the image changes.
    pub(super) fn preflight(&mut self) {
        let mut warnings = Vec::new();
        for work in &mut self.services {
            let (Some(current), Some(definition)) = (&work.current, &work.definition) else {
                continue;
            };
            work.report.old_task_definition = Some(definition.arn.clone());
            work.report.images = changes(&work.group.containers, definition).0;
            let checked = preflight::check_service(&work.group, current, definition);
            let broken = work.group.references.iter().find_map(|r| {
                reference_value(
                    &work.report.subject,
                    definition,
                    &r.container,
                    &r.env,
                    &r.image,
                )
                .err()
            });
            match checked {
                Ok(w) => warnings.extend(w.into_iter().map(|m| (work.report.subject.clone(), m))),
                Err(e) => work.fail(e),
            }
            if let Some(e) = broken {
                work.fail(e);
            }
        }
        for work in &mut self.families {
            let Some(definition) = &work.definition else {
                continue;
            };
            work.report.old_revision = Some(definition.arn.clone());
            work.report.images = changes(&work.group.containers, definition).0;
            if let Err(e) = preflight::check_family(&work.group, definition) {
                work.fail(e);
            }
        }
        for (subject, message) in warnings {
            self.warn(&subject, message);
        }
    }

    /// A target failed its preflight: nothing is changed anywhere.
    pub(super) fn block(&mut self) {
        let reason = "nothing was changed: another target failed its preflight";
        for work in self
            .services
            .iter_mut()
            .filter(|s| s.report.error.is_none())
        {
            work.report.reason = Some(reason.into());
        }
        for work in self
            .families
            .iter_mut()
            .filter(|f| f.report.error.is_none())
        {
            work.report.reason = Some(reason.into());
        }
        for work in &self.services {
            if let Some(e) = &work.report.error {
                self.finished(&work.report.subject, false, &e.to_string(), None);
            }
        }
        for work in &self.families {
            if let Some(e) = &work.report.error {
                self.finished(&work.report.family, false, &e.to_string(), None);
            }
        }
    }
}
