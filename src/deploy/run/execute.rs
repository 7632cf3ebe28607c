//! The changing half of a deploy: register and update what changed, register the families' new
//! revisions, wait for the rollouts, and deregister old revisions when everything succeeded.

use crate::report::{Event, Level};

use super::super::clock::Clock;
use super::super::ecs::{
    revision_name, Ecs, EnvReplacement, ImageReplacement, RevisionChanges, ServiceUpdate,
    TaskDefinition,
};
use super::super::error::DeployError;
use super::super::prune::{self, Prune};
use super::super::report::{EnvChange, Outcome};
use super::super::verdict::Tracked;
use super::super::wait;
use super::{Action, Run, RECENT};

impl<E: Ecs, C: Clock> Run<'_, E, C> {
    /// Registers the families' new revisions, then registers and updates the services that
    /// changed. A target that fails does not stop the others; a service that references a family
    /// that failed is left alone.
    pub(super) async fn execute(&mut self) {
        // Families first: a service that references one names its new revision.
        for i in 0..self.families.len() {
            if self.families[i].replacements.is_empty() {
                continue;
            }
            let work = &self.families[i];
            let subject = work.group.family.clone();
            let started = Some(self.clock.now());
            self.reporter.event(Event::Started {
                subject: &subject,
                action: "register",
            });
            let definition = work.definition.as_ref().expect("preflight passed");
            // A service of the run may have registered this very revision already.
            let key = (
                definition.arn.clone(),
                RevisionChanges {
                    images: work.replacements.clone(),
                    environment: Vec::new(),
                },
            );
            let registered = self
                .registered
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, d)| d.clone());
            let result = match registered {
                Some(new) => Ok(new),
                None => {
                    let new = self.ecs.register_task_definition(definition, &key.1).await;
                    if let Ok(new) = &new {
                        self.registered.push((key, new.clone()));
                    }
                    new
                }
            };
            match result {
                Ok(new) => {
                    let work = &mut self.families[i];
                    work.report.outcome = Outcome::Registered;
                    work.report.new_revision = Some(new.arn.clone());
                    self.finished(
                        &subject,
                        true,
                        &format!("registered {}", new.short_name()),
                        started,
                    );
                }
                Err(source) => {
                    let e = DeployError::Ecs {
                        subject: subject.clone(),
                        action: "register a new revision of family",
                        source: Box::new(source),
                    };
                    self.finished(&subject, false, &e.to_string(), started);
                    self.families[i].fail(e);
                }
            }
        }
        for i in 0..self.services.len() {
            if matches!(self.services[i].action, Action::None) {
                continue;
            }
            let subject = self.services[i].report.subject.clone();
            self.services[i].started = Some(self.clock.now());
            self.reporter.event(Event::Started {
                subject: &subject,
                action: "deploy",
            });
            if let Err(e) = self.deploy_service(i).await {
                let started = self.services[i].started;
                self.finished(&subject, false, &e.to_string(), started);
                self.services[i].fail(e);
            }
        }
    }

    /// Registers (or reuses) the new revision of one service and updates the service to it;
    /// remembers the deployment to wait for.
    async fn deploy_service(&mut self, i: usize) -> Result<(), DeployError> {
        let work = &self.services[i];
        let subject = work.report.subject.clone();
        let definition = work.definition.clone().expect("preflight passed");
        let new_arn = match &work.action {
            Action::Register(replacements) => {
                let replacements = replacements.clone();
                self.register(i, &definition, &replacements).await?
            }
            Action::Restore(arn) => arn.clone(),
            _ => definition.arn.clone(),
        };
        let force = matches!(self.services[i].action, Action::Force);
        let update = ServiceUpdate {
            cluster: self.services[i].group.service.cluster.clone(),
            service: self.services[i].group.service.service.clone(),
            task_definition: (!force).then(|| new_arn.clone()),
            force_new_deployment: force,
        };
        let answer = self
            .ecs
            .update_service(&update)
            .await
            .map_err(|source| DeployError::Ecs {
                subject: subject.clone(),
                action: "update service",
                source: Box::new(source),
            })?;
        let work = &mut self.services[i];
        work.report.new_task_definition = Some(new_arn.clone());

        // The deployment to follow: the primary one on the new revision. moto answers without one
        // (it keeps the old deployment and only changes the service's taskDefinition): then
        // follow the primary deployment and check the service's task definition instead.
        let ours = answer
            .deployments
            .iter()
            .find(|d| d.status == "PRIMARY" && d.task_definition == new_arn);
        let (deployment, by_service) = match (ours, answer.primary()) {
            (Some(d), _) => (d.id.clone(), false),
            (None, Some(p)) if answer.task_definition.as_deref() == Some(new_arn.as_str()) => {
                (p.id.clone(), true)
            }
            _ => {
                self.no_deployment(i, &subject, &new_arn);
                return Ok(());
            }
        };
        let work = &mut self.services[i];
        work.report.deployment_id = Some(deployment.clone());
        let text = update_text(&work.action, &deployment, &new_arn);
        work.tracked = Some(Tracked {
            subject: subject.clone(),
            cluster: update.cluster,
            service: update.service,
            deployment_id: deployment.clone(),
            task_definition: new_arn.clone(),
            // A forced deployment has no previous revision to roll back to.
            previous: (!force).then(|| definition.arn.clone()),
            by_service,
            updated_at: epoch_seconds(),
        });
        self.reporter.event(Event::Step {
            subject: &subject,
            text: &text,
        });
        if by_service {
            self.warn(
                &subject,
                format!(
                    "ECS answered the update without a deployment of {}; following primary deployment {deployment} and the service's task definition (the AWS emulator moto does this)",
                    revision_name(&new_arn)
                ),
            );
        }
        if !self.options.wait {
            self.not_waited(i, &subject, &deployment);
        }
        Ok(())
    }

    /// ECS answered service `i`'s update without a deployment of `new_arn`: nothing to follow.
    fn no_deployment(&mut self, i: usize, subject: &str, new_arn: &str) {
        let work = &mut self.services[i];
        work.report.outcome = Outcome::Unknown;
        let reason = format!(
            "ECS answered the update without a deployment of {}",
            revision_name(new_arn)
        );
        work.report.reason = Some(reason.clone());
        let started = work.started;
        self.finished(subject, false, &reason, started);
    }

    /// With `--no-wait`, service `i`'s deployment is reported as started, and that is its end.
    fn not_waited(&mut self, i: usize, subject: &str, deployment: &str) {
        let work = &mut self.services[i];
        work.report.outcome = Outcome::Started;
        work.report.reason = Some("not waited for (--no-wait)".into());
        let started = work.started;
        self.finished(
            subject,
            true,
            &format!("started deployment {deployment}"),
            started,
        );
    }

    /// Registers service `i`'s new revision — or reuses the one registered for another target
    /// with the same changes — and records it in the report; returns its ARN.
    async fn register(
        &mut self,
        i: usize,
        definition: &TaskDefinition,
        replacements: &[ImageReplacement],
    ) -> Result<String, DeployError> {
        let subject = self.services[i].report.subject.clone();
        let changes = self.revision_changes(i, replacements)?;
        let key = (definition.arn.clone(), changes);
        let new = match self.registered.iter().find(|(k, _)| *k == key) {
            Some((_, new)) => {
                self.reporter.event(Event::Step {
                    subject: &subject,
                    text: &format!("uses {}, registered for another target", new.short_name()),
                });
                new.clone()
            }
            None => {
                let new = self
                    .ecs
                    .register_task_definition(definition, &key.1)
                    .await
                    .map_err(|source| DeployError::Ecs {
                        subject: subject.clone(),
                        action: "register a new revision for",
                        source: Box::new(source),
                    })?;
                self.reporter.event(Event::Step {
                    subject: &subject,
                    text: &format!("registered {}", new.short_name()),
                });
                self.registered.push((key, new.clone()));
                new
            }
        };
        self.services[i].report.new_task_definition = Some(new.arn.clone());
        Ok(new.arn)
    }

    /// The changes of service `i`'s new revision: its images, and each reference it updates set
    /// to the family's newly registered revision (recorded in the report).
    fn revision_changes(
        &mut self,
        i: usize,
        replacements: &[ImageReplacement],
    ) -> Result<RevisionChanges, DeployError> {
        let mut changes = RevisionChanges {
            images: replacements.to_vec(),
            environment: Vec::new(),
        };
        let work = &self.services[i];
        let mut after = Vec::new();
        for &r in &work.references {
            let reference = &work.group.references[r];
            let family = &self.families[reference.family];
            let new = match (family.report.outcome, &family.report.new_revision) {
                (Outcome::Registered, Some(new)) => new.clone(),
                _ => {
                    return Err(DeployError::ReferencedFamilyFailed {
                        subject: work.report.subject.clone(),
                        family: family.group.family.clone(),
                    })
                }
            };
            after.push(new.clone());
            changes.environment.push(EnvReplacement {
                container: reference.container.clone(),
                name: reference.env.clone(),
                value: new,
            });
        }
        let work = &mut self.services[i];
        for (change, new) in work.report.environment.iter_mut().zip(after) {
            *change = EnvChange::new(
                &change.container,
                &change.name,
                change.before.as_deref(),
                &new,
            );
        }
        Ok(changes)
    }

    /// Waits for every started deployment, then gathers events and stopped tasks of those that
    /// did not complete.
    pub(super) async fn wait(&mut self) {
        if !self.options.wait {
            return;
        }
        let indices: Vec<usize> = (0..self.services.len())
            .filter(|&i| self.services[i].tracked.is_some())
            .collect();
        if indices.is_empty() {
            return;
        }
        let tracked: Vec<Tracked> = indices
            .iter()
            .map(|&i| self.services[i].tracked.clone().expect("tracked"))
            .collect();
        // Ctrl+C or SIGTERM stops the wait, not the rollouts: each was started by one call, and
        // goes on in ECS; the report says so and the run ends with exit 130.
        let _settling = crate::cli::signal::Settling::start();
        let waited = wait::wait(
            self.ecs,
            self.clock,
            &tracked,
            self.options.timeout,
            &self.options.poll,
            self.reporter,
        );
        let ended = tokio::select! {
            ended = waited => ended,
            _ = crate::cli::signal::interrupted() => {
                for (&i, t) in indices.iter().zip(&tracked) {
                    let work = &mut self.services[i];
                    work.report.outcome = Outcome::Interrupted;
                    work.report.reason = Some(
                        "interrupted while waiting: the rollout was started and goes on in ECS \
                         (`fleet-images rollback` returns it)"
                            .into(),
                    );
                    let started = work.started;
                    self.finished(&t.subject, false, "interrupted while waiting", started);
                }
                return;
            }
        };
        for ((&i, t), end) in indices.iter().zip(&tracked).zip(ended) {
            let ok = end.outcome == Outcome::Completed;
            if !ok {
                self.services[i].report.events = end
                    .last
                    .map(|s| s.events.into_iter().take(RECENT).collect())
                    .unwrap_or_default();
                match self.ecs.stopped_tasks(&t.cluster, &t.service, RECENT).await {
                    Ok(tasks) => self.services[i].report.stopped_tasks = tasks,
                    Err(e) => self.reporter.event(Event::Note {
                        subject: &t.subject,
                        level: Level::Debug,
                        text: &format!("could not read the stopped tasks: {e}"),
                    }),
                }
            }
            let work = &mut self.services[i];
            work.report.outcome = end.outcome;
            work.report.reason = end.reason;
            let started = work.started;
            let summary = match &work.report.reason {
                Some(reason) => format!("{}: {reason}", end.outcome.as_str()),
                None => format!(
                    "{} on {}",
                    end.outcome.as_str(),
                    revision_name(&t.task_definition)
                ),
            };
            self.finished(&t.subject, ok, &summary, started);
        }
    }

    /// Deregisters old revisions of the families this run registered a revision in.
    pub(super) async fn prune(&mut self) -> Vec<String> {
        let mut plan = Prune::default();
        for work in &self.services {
            plan.clusters.push(work.group.service.cluster.clone());
            if let (Action::Register(_), Some(new)) =
                (&work.action, &work.report.new_task_definition)
            {
                plan.in_use.insert(revision_name(new));
                if let Some(definition) = &work.definition {
                    let keep = plan.families.entry(definition.family.clone()).or_default();
                    *keep = (*keep).max(work.group.keep_revisions);
                }
            }
        }
        for work in &self.families {
            if let (Outcome::Registered, Some(new)) =
                (work.report.outcome, &work.report.new_revision)
            {
                plan.in_use.insert(revision_name(new));
                let keep = plan.families.entry(work.group.family.clone()).or_default();
                *keep = (*keep).max(work.group.keep_revisions);
            }
        }
        let (deregistered, warnings) = prune::prune(self.ecs, plan, self.reporter).await;
        for w in warnings {
            self.warn(&w.subject, w.message);
        }
        deregistered
    }
}

/// What the step says of an update: forced, returned to a revision, or updated to one.
fn update_text(action: &Action, deployment: &str, new_arn: &str) -> String {
    match action {
        Action::Force => format!(
            "forced a new deployment {deployment} of {}",
            revision_name(new_arn)
        ),
        Action::Restore(_) => format!(
            "returned the service to {} (deployment {deployment})",
            revision_name(new_arn)
        ),
        _ => format!(
            "updated the service to {} (deployment {deployment})",
            revision_name(new_arn)
        ),
    }
}

/// Now, in seconds since the epoch (0 if the clock is before it).
fn epoch_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
