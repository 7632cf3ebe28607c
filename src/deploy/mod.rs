//! Rolling new images out to Amazon ECS.
//!
//! [`deploy`] takes the pushed images ([`DeployRequest`]: repository URI, digest, platform and
//! the image's `[images.<name>.deploy]` targets) and, for every service or task family whose
//! container is not already on that digest, registers a copy of its current task definition
//! with only that container's image replaced by `<repository>@sha256:<digest>`, updates the
//! service to it, and waits until ECS says the rollout completed. Everything is read and checked
//! before the first change; old revisions are deregistered only after the whole run succeeded.
//! Targets may leave out the service (it is found by cluster and container, `discover.rs`) and a
//! family may be found through the environment variable of another image's container that
//! references its revision (the Fleet Manager's `ECS_TASK_DEFINITION_ARN`): a new revision of
//! the family then gives the referencing service a new revision naming it. [`rollback`] returns
//! services to the revisions a deploy replaced.
//! The outcome is a [`DeployReport`]; ECS itself is behind the [`Ecs`] trait ([`AwsEcs`] in
//! production, an in-memory double in the tests).

#![warn(missing_docs)]

mod aws;
mod aws_answers;
mod clock;
mod clone;
mod discover;
mod ecs;
mod error;
mod preflight;
mod prune;
mod record;
mod report;
mod request;
mod run;
mod target;
mod verdict;
mod wait;

#[cfg(test)]
mod cdk_tests;
#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use aws::AwsEcs;
pub use clock::{Clock, SystemClock};
pub use ecs::{
    parse_revision, revision_name, short_name, CircuitBreaker, Container, Deployment,
    DescribedServices, Ecs, EcsError, EcsErrorKind, EnvReplacement, ImageReplacement,
    RevisionChanges, RolloutState, Service, ServiceDeployment, ServiceEvent, ServiceUpdate,
    StoppedContainer, StoppedTask, TaskDefinition,
};
pub use error::DeployError;
pub use record::{record_dir, rollback_targets, save as save_record, RecordError};
pub use report::{
    DeployReport, EnvChange, FamilyReport, ImageChange, Outcome, ServiceReport, Warning,
};
pub use request::{
    DeployOptions, DeployRequest, PollSettings, RollbackTarget, DEFAULT_TIMEOUT, POLL_ENV,
};
pub use run::{deploy, deploy_with_clock, rollback, rollback_with_clock};
