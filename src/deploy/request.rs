//! What the caller asks a deploy for: one [`DeployRequest`] per pushed image and the run's
//! [`DeployOptions`].

use std::time::Duration;

use crate::manifest::DeploySpec;
use crate::names::{Digest, ImageName, Platform};

/// One pushed image to roll out to its `[images.<name>.deploy]` targets.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    /// The image's name in the manifest.
    pub image: ImageName,
    /// Where it was pushed, without tag or digest: `123456789012.dkr.ecr.us-east-1.amazonaws.com/fleet/element`.
    pub image_uri: String,
    /// The manifest digest the registry gave for the push; task definitions get
    /// `<image_uri>@<digest>`.
    pub digest: Digest,
    /// The platform it was built for, checked against each task definition's
    /// `runtimePlatform.cpuArchitecture`.
    pub platform: Platform,
    /// The image's deploy targets.
    pub spec: DeploySpec,
}

impl DeployRequest {
    /// `<image_uri>@sha256:<digest>`: what the containers are set to.
    pub fn pinned_image(&self) -> String {
        format!("{}@{}", self.image_uri, self.digest)
    }
}

/// One service to return to the revision it ran before a deploy (`rollback`), as the deploy
/// recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackTarget {
    /// Cluster name or ARN.
    pub cluster: String,
    /// Service name or ARN (the one found, for a target that named only its container).
    pub service: String,
    /// The revision to return to (ARN): the deploy's `old_task_definition`.
    pub task_definition: String,
    /// The images whose release changed the service.
    pub released: Vec<ImageName>,
}

/// How a deploy runs.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Wait for every rollout to complete (default). `--no-wait` clears it: the deploy then stops
    /// after the updates, and old revisions are not deregistered (nothing proved the run worked).
    pub wait: bool,
    /// How long to wait for all rollouts together (`--timeout`). Default 30 minutes.
    pub timeout: Duration,
    /// Read everything, change nothing, report per target what would change (`--dry-run`).
    pub dry_run: bool,
    /// Force a new deployment of each service's current task definition instead of registering a
    /// digest-pinned revision (`--force`, the old `:latest` way). Task families are unaffected.
    pub force: bool,
    /// How often the wait asks ECS.
    pub poll: PollSettings,
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            wait: true,
            timeout: DEFAULT_TIMEOUT,
            dry_run: false,
            force: false,
            poll: PollSettings::default(),
        }
    }
}

/// `--timeout` default: 30 minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The environment variable that sets the first poll interval in milliseconds, for tests.
pub const POLL_ENV: &str = "FLEET_IMAGES_DEPLOY_POLL_MS";

/// How the wait polls `DescribeServices`: from `interval`, growing by half each poll up to
/// `max_interval`, each delay jittered by ±20% so many runners do not poll in step. Throttling
/// doubles the next delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSettings {
    /// The first delay. Default 5 seconds: ECS rollouts take minutes, and `DescribeServices` is
    /// rate-limited per account.
    pub interval: Duration,
    /// The longest delay. Default 30 seconds.
    pub max_interval: Duration,
    /// How many polls in a row may fail with a throttling or connection error before the wait
    /// gives up on the services concerned. Default 10.
    pub max_errors: u32,
}

impl Default for PollSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            max_interval: Duration::from_secs(30),
            max_errors: 10,
        }
    }
}

impl PollSettings {
    /// The defaults, with `FLEET_IMAGES_DEPLOY_POLL_MS` (when set to a number) as the first
    /// delay and four times it as the longest: how the CLI builds them.
    pub fn from_env() -> Self {
        Self::from_env_value(std::env::var(POLL_ENV).ok().as_deref())
    }

    fn from_env_value(value: Option<&str>) -> Self {
        match value.and_then(|v| v.trim().parse::<u64>().ok()) {
            Some(ms) => Self {
                interval: Duration::from_millis(ms),
                max_interval: Duration::from_millis(ms.saturating_mul(4)),
                ..Self::default()
            },
            None => Self::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_shortens_the_poll_interval() {
        assert_eq!(PollSettings::from_env_value(None), PollSettings::default());
        assert_eq!(
            PollSettings::from_env_value(Some("soon")),
            PollSettings::default()
        );
        let fast = PollSettings::from_env_value(Some("50"));
        assert_eq!(
            (fast.interval, fast.max_interval),
            (Duration::from_millis(50), Duration::from_millis(200))
        );
        assert_eq!(PollSettings::default().interval, Duration::from_secs(5));
    }
}
