//! The deploy itself, in the order the issue asks for: read every target, check every target,
//! then (unless it is a dry run) register and update what changed, wait for the rollouts, and
//! deregister old revisions only when everything succeeded.

use std::time::Instant;

use crate::report::{Event, Level, Reporter};

use crate::names::ImageName;

use super::clock::{Clock, SystemClock};
use super::discover::discover;
use super::ecs::{Ecs, ImageReplacement, RevisionChanges, Service, TaskDefinition};
use super::error::DeployError;
use super::report::{
    DeployReport, EnvChange, FamilyReport, ImageChange, Outcome, ServiceReport, Warning,
};
use super::request::{DeployOptions, DeployRequest, RollbackTarget};
use super::target::{self, ContainerTarget, FamilyGroup, ServiceGroup, ServiceRef, TargetIndex};
use super::verdict::Tracked;

mod execute;
mod observe;

/// How many events and stopped tasks a report shows for a rollout that did not complete.
const RECENT: usize = 5;

/// Rolls the requests' images out to their services and task families with the real clock.
/// Never fails as a whole: every target's outcome, and any error, is in the report, whose
/// [`DeployReport::exit`] gives the exit code.
pub async fn deploy(
    ecs: &impl Ecs,
    requests: &[DeployRequest],
    options: &DeployOptions,
    reporter: &dyn Reporter,
) -> DeployReport {
    deploy_with_clock(ecs, &SystemClock, requests, options, reporter).await
}

/// [`deploy`] over any [`Clock`], so tests can make the wait's timeout pass instantly.
pub async fn deploy_with_clock(
    ecs: &impl Ecs,
    clock: &impl Clock,
    requests: &[DeployRequest],
    options: &DeployOptions,
    reporter: &dyn Reporter,
) -> DeployReport {
    let wanted = target::to_discover(requests);
    let found = if wanted.is_empty() {
        Vec::new()
    } else {
        discover(ecs, &wanted).await
    };
    let targets = target::group(requests, &found);
    let mut run = Run {
        ecs,
        clock,
        options,
        reporter,
        services: targets.services.into_iter().map(ServiceWork::new).collect(),
        families: targets.families.into_iter().map(FamilyWork::new).collect(),
        warnings: Vec::new(),
        registered: Vec::new(),
    };
    for (index, error) in targets.conflicts {
        match index {
            TargetIndex::Service(i) => run.services[i].fail(error),
            TargetIndex::Family(i) => run.families[i].fail(error),
        }
    }
    run.pipeline().await
}

/// Returns each target to the revision it ran before a deploy (`rollback`), with the real clock.
pub async fn rollback(
    ecs: &impl Ecs,
    targets: &[RollbackTarget],
    options: &DeployOptions,
    reporter: &dyn Reporter,
) -> DeployReport {
    rollback_with_clock(ecs, &SystemClock, targets, options, reporter).await
}

/// [`rollback`] over any [`Clock`]. Each service is updated to its recorded previous revision
/// (no revision is registered: the old one is still there, `keep_revisions` never deregisters
/// fewer than one), and the wait is the deploy's.
pub async fn rollback_with_clock(
    ecs: &impl Ecs,
    clock: &impl Clock,
    targets: &[RollbackTarget],
    options: &DeployOptions,
    reporter: &dyn Reporter,
) -> DeployReport {
    let services = targets
        .iter()
        .map(|t| {
            let group = ServiceGroup {
                service: ServiceRef {
                    cluster: t.cluster.clone(),
                    service: t.service.clone(),
                },
                always_on: false,
                keep_revisions: 1,
                containers: Vec::new(),
                references: Vec::new(),
            };
            let mut work = ServiceWork::new(group);
            work.restore = Some(t.task_definition.clone());
            work.report.released = t.released.clone();
            work
        })
        .collect();
    let run = Run {
        ecs,
        clock,
        options,
        reporter,
        services,
        families: Vec::new(),
        warnings: Vec::new(),
        registered: Vec::new(),
    };
    run.pipeline().await
}

/// What a service target needs done.
#[derive(Debug, Clone)]
enum Action {
    /// Nothing.
    None,
    /// Register a clone with these images (and the new revisions of the families it references,
    /// known once they are registered), update the service to it.
    Register(Vec<ImageReplacement>),
    /// `--force`: a new deployment of the current revision.
    Force,
    /// `rollback`: update the service to this existing revision.
    Restore(String),
}

struct ServiceWork {
    group: ServiceGroup,
    report: ServiceReport,
    current: Option<Service>,
    definition: Option<TaskDefinition>,
    action: Action,
    /// Indices into `group.references` of the references the new revision updates.
    references: Vec<usize>,
    /// `rollback`: the revision to return to.
    restore: Option<String>,
    tracked: Option<Tracked>,
    started: Option<Instant>,
}

impl ServiceWork {
    fn new(group: ServiceGroup) -> Self {
        let report = ServiceReport {
            subject: group.service.subject(),
            cluster: group.service.cluster.clone(),
            service: group.service.service.clone(),
            outcome: Outcome::NotStarted,
            reason: None,
            images: Vec::new(),
            environment: Vec::new(),
            released: Vec::new(),
            old_task_definition: None,
            new_task_definition: None,
            deployment_id: None,
            events: Vec::new(),
            stopped_tasks: Vec::new(),
            error: None,
        };
        Self {
            group,
            report,
            current: None,
            definition: None,
            action: Action::None,
            references: Vec::new(),
            restore: None,
            tracked: None,
            started: None,
        }
    }

    fn fail(&mut self, error: DeployError) {
        if self.report.error.is_none() {
            self.report.outcome = Outcome::Error;
            self.report.error = Some(error);
        }
    }
}

struct FamilyWork {
    group: FamilyGroup,
    report: FamilyReport,
    definition: Option<TaskDefinition>,
    replacements: Vec<ImageReplacement>,
}

impl FamilyWork {
    fn new(group: FamilyGroup) -> Self {
        let report = FamilyReport {
            family: group.family.clone(),
            outcome: Outcome::NotStarted,
            reason: None,
            images: Vec::new(),
            old_revision: None,
            new_revision: None,
            error: None,
        };
        Self {
            group,
            report,
            definition: None,
            replacements: Vec::new(),
        }
    }

    fn fail(&mut self, error: DeployError) {
        if self.report.error.is_none() {
            self.report.outcome = Outcome::Error;
            self.report.error = Some(error);
        }
    }
}

struct Run<'a, E, C> {
    ecs: &'a E,
    clock: &'a C,
    options: &'a DeployOptions,
    reporter: &'a dyn Reporter,
    services: Vec<ServiceWork>,
    families: Vec<FamilyWork>,
    warnings: Vec<Warning>,
    /// Revisions registered in this run, by (base revision, changes): services that share a
    /// revision and get the same images share the new one too.
    registered: Vec<((String, RevisionChanges), TaskDefinition)>,
}

/// The image changes of `containers` against `definition`, and the replacements they need.
fn changes(
    containers: &[ContainerTarget],
    definition: &TaskDefinition,
) -> (Vec<ImageChange>, Vec<ImageReplacement>) {
    let mut images = Vec::new();
    let mut replacements = Vec::new();
    for target in containers {
        let before = definition
            .container(&target.container)
            .map(|c| c.image.clone())
            .unwrap_or_default();
        let current = target.is_current(&before);
        let after = if current {
            before.clone()
        } else {
            target.pinned()
        };
        if !current {
            replacements.push(ImageReplacement {
                container: target.container.clone(),
                image: after.clone(),
            });
        }
        images.push(ImageChange {
            container: target.container.clone(),
            image: target.image.clone(),
            before,
            after,
        });
    }
    (images, replacements)
}

impl<E: Ecs, C: Clock> Run<'_, E, C> {
    fn warn(&mut self, subject: &str, message: String) {
        self.reporter.event(Event::Note {
            subject,
            level: Level::Warn,
            text: &message,
        });
        self.warnings.push(Warning {
            subject: subject.to_string(),
            message,
        });
    }

    fn finished(&self, subject: &str, ok: bool, summary: &str, started: Option<Instant>) {
        let duration = started
            .map(|s| self.clock.now().saturating_duration_since(s))
            .unwrap_or_default();
        self.reporter.event(Event::Finished {
            subject,
            ok,
            summary,
            duration,
        });
    }

    /// Observe, check, plan, and unless it is a dry run, execute, wait and prune.
    async fn pipeline(mut self) -> DeployReport {
        self.observe().await;
        self.preflight();
        let blocked = self.services.iter().any(|s| s.report.error.is_some())
            || self.families.iter().any(|f| f.report.error.is_some());
        if blocked {
            self.block();
            return self.finish(Vec::new());
        }
        self.plan();
        let options = self.options;
        if !options.dry_run {
            self.execute().await;
            self.wait().await;
        }
        let deregistered = if !options.dry_run && options.wait && self.all_ok() {
            self.prune().await
        } else {
            Vec::new()
        };
        self.finish(deregistered)
    }

    /// Decides per target: up to date, register and update, force or restore; a dry run stops
    /// here. Families first: a service that references a family changing gets a new revision too.
    fn plan(&mut self) {
        self.plan_families();
        for i in 0..self.services.len() {
            self.plan_service(i);
        }
    }

    /// Which families get a new revision; the others are up to date (or, in a dry run, would).
    fn plan_families(&mut self) {
        let dry_run = self.options.dry_run;
        for i in 0..self.families.len() {
            let work = &mut self.families[i];
            let definition = work.definition.as_ref().expect("preflight passed");
            work.replacements = changes(&work.group.containers, definition).1;
            let summary = if work.replacements.is_empty() {
                work.report.outcome = Outcome::UpToDate;
                work.report.new_revision = Some(definition.arn.clone());
                format!("up to date ({})", definition.short_name())
            } else if dry_run {
                work.report.outcome = Outcome::DryRun;
                let text = format!("would register a new revision of {}", definition.family);
                work.report.reason = Some(text.clone());
                text
            } else {
                continue;
            };
            let subject = work.report.family.clone();
            self.finished(&subject, true, &summary, None);
        }
    }

    /// What to do with service `i`: nothing, register and update, force, or restore; a dry run
    /// ends it here.
    fn plan_service(&mut self, i: usize) {
        let dry_run = self.options.dry_run;
        let work = &self.services[i];
        let definition = work.definition.as_ref().expect("preflight passed");
        let (_, replacements) = changes(&work.group.containers, definition);
        let mut released: Vec<ImageName> = work
            .group
            .containers
            .iter()
            .filter(|c| replacements.iter().any(|r| r.container == c.container))
            .map(|c| c.image.clone())
            .collect();
        let mut references = Vec::new();
        let mut environment = Vec::new();
        for (r, reference) in work.group.references.iter().enumerate() {
            let family = &self.families[reference.family];
            if family.replacements.is_empty() {
                continue;
            }
            references.push(r);
            let before = definition
                .container(&reference.container)
                .and_then(|c| c.env(&reference.env));
            let after = format!("<new revision of {}>", family.group.family);
            environment.push(EnvChange::new(
                &reference.container,
                &reference.env,
                before,
                &after,
            ));
            released.extend(family.group.containers.iter().map(|c| c.image.clone()));
        }
        released.dedup();
        let action = if let Some(restore) = &work.restore {
            if *restore == definition.arn {
                Action::None
            } else {
                Action::Restore(restore.clone())
            }
        } else if self.options.force {
            Action::Force
        } else if replacements.is_empty() && references.is_empty() {
            Action::None
        } else {
            Action::Register(replacements)
        };
        let work = &mut self.services[i];
        work.references = references;
        work.report.environment = environment;
        if work.restore.is_none() {
            work.report.released = released;
        }
        work.action = action;
        let Some(summary) = planned(work, dry_run) else {
            return;
        };
        let subject = work.report.subject.clone();
        self.finished(&subject, true, &summary, None);
    }

    /// Whether every target ended where it should (the condition for deregistering).
    fn all_ok(&self) -> bool {
        self.services.iter().all(|s| s.report.outcome.is_ok())
            && self.families.iter().all(|f| f.report.outcome.is_ok())
    }

    fn finish(self, deregistered: Vec<String>) -> DeployReport {
        DeployReport {
            dry_run: self.options.dry_run,
            waited: self.options.wait && !self.options.dry_run,
            services: self.services.into_iter().map(|s| s.report).collect(),
            families: self.families.into_iter().map(|f| f.report).collect(),
            deregistered,
            warnings: self.warnings,
        }
    }
}

/// What a service's plan says when it ends the service's part of the run: up to date, or what a
/// dry run would do (recorded in its report). `None` when there is work to carry out.
fn planned(work: &mut ServiceWork, dry_run: bool) -> Option<String> {
    let definition = work.definition.as_ref().expect("preflight passed");
    Some(match &work.action {
        Action::None => {
            work.report.outcome = Outcome::UpToDate;
            work.report.new_task_definition = Some(definition.arn.clone());
            format!("up to date ({})", definition.short_name())
        }
        Action::Register(_) if dry_run => {
            work.report.outcome = Outcome::DryRun;
            let text = format!(
                "would register a new revision of {} and update the service to it",
                definition.family
            );
            work.report.reason = Some(text.clone());
            text
        }
        Action::Force if dry_run => {
            work.report.outcome = Outcome::DryRun;
            let text = format!(
                "would force a new deployment of {}",
                definition.short_name()
            );
            work.report.reason = Some(text.clone());
            text
        }
        Action::Restore(arn) if dry_run => {
            work.report.outcome = Outcome::DryRun;
            work.report.new_task_definition = Some(arn.clone());
            let text = format!(
                "would return the service to {}",
                super::ecs::revision_name(arn)
            );
            work.report.reason = Some(text.clone());
            text
        }
        _ => return None,
    })
}
