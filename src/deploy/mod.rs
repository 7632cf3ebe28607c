//! Rolling new images out to Amazon ECS.
//!
//! [`deploy`] takes the pushed images ([`DeployRequest`]: repository URI, digest, platform and
//! the image's `[images.<name>.deploy]` targets) and, for every service or task family whose
//! container is not already on that digest, registers a copy of its current task definition
//! with only that container's image replaced by `<repository>@sha256:<digest>`, updates the
//! service to it, and waits until ECS says the rollout completed. Everything is read and checked
//! before the first change; old revisions are deregistered only after the whole run succeeded.
//! The outcome is a [`DeployReport`]; ECS itself is behind the [`Ecs`] trait ([`AwsEcs`] in
//! production, an in-memory double in the tests).

#![warn(missing_docs)]

mod aws;
mod clock;
mod clone;
mod ecs;
mod error;
mod preflight;
mod prune;
mod report;
mod request;
mod run;
mod target;
mod wait;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use aws::AwsEcs;
pub use clock::{Clock, SystemClock};
pub use ecs::{
    parse_revision, revision_name, short_name, CircuitBreaker, Container, Deployment,
    DescribedServices, Ecs, EcsError, EcsErrorKind, ImageReplacement, RolloutState, Service,
    ServiceEvent, ServiceUpdate, StoppedContainer, StoppedTask, TaskDefinition,
};
pub use error::DeployError;
pub use report::{DeployReport, FamilyReport, ImageChange, Outcome, ServiceReport, Warning};
pub use request::{DeployOptions, DeployRequest, PollSettings, DEFAULT_TIMEOUT, POLL_ENV};
pub use run::{deploy, deploy_with_clock};
