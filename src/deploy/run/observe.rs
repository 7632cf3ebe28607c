//! The read-only half of a deploy: read every service (ten to a call per cluster), its task
//! definition and each family's latest revision, then check them all before anything changes.

use std::collections::BTreeMap;

use super::super::clock::Clock;
use super::super::ecs::{short_name, Ecs, TaskDefinition};
use super::super::error::DeployError;
use super::super::preflight;
use super::{changes, Run};

impl<E: Ecs, C: Clock> Run<'_, E, C> {
    /// Reads every service (ten to a call per cluster), its task definition, and each family's
    /// latest revision. Read-only.
    pub(super) async fn observe(&mut self) {
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
        for work in self
            .families
            .iter_mut()
            .filter(|f| f.report.error.is_none())
        {
            match self.ecs.describe_task_definition(&work.group.family).await {
                Ok(d) => work.definition = Some(d),
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

    /// Checks every target that could be read, and records the image changes.
    pub(super) fn preflight(&mut self) {
        let mut warnings = Vec::new();
        for work in &mut self.services {
            let (Some(current), Some(definition)) = (&work.current, &work.definition) else {
                continue;
            };
            work.report.old_task_definition = Some(definition.arn.clone());
            work.report.images = changes(&work.group.containers, definition).0;
            match preflight::check_service(&work.group, current, definition) {
                Ok(w) => warnings.extend(w.into_iter().map(|m| (work.report.subject.clone(), m))),
                Err(e) => work.fail(e),
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
