//! The loaded, validated manifest: what the rest of the tool works from. Every field is checked
//! and every path resolved when the manifest is loaded (`load.rs`), so nothing downstream parses
//! strings again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Location;
use crate::names::{ImageName, Platform, RepositoryName, Tag};

/// The whole fleet manifest (`images/fleet.toml` by default).
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The manifest file, as the user named it.
    pub path: PathBuf,
    /// The directory relative paths in the manifest start from.
    pub dir: PathBuf,
    /// `[vars]` after overrides, for reporting.
    pub vars: BTreeMap<String, String>,
    /// `[registry]`: where images are pushed. `None` when the manifest has no such table.
    pub registry: Option<RegistryConfig>,
    /// `[images.*]`, in the order they appear in the file.
    pub images: Vec<ImageSpec>,
    /// `[defaults] builder`: `buildkit` or `classic`; `None` (the default) builds with BuildKit
    /// where the engine has it, else with the classic builder. `--builder` overrides it.
    pub builder: Option<crate::docker::Builder>,
}

impl Manifest {
    /// The image of that name.
    pub fn image(&self, name: &ImageName) -> Option<&ImageSpec> {
        self.images.iter().find(|i| &i.name == name)
    }
}

/// A string from the manifest with where it was written and which `${var}`s it used, so errors
/// about it can point back at the line and name the var that sets it.
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    /// The value after substitution.
    pub value: T,
    /// Where it was written.
    pub location: Location,
    /// The `${name}`s the raw text used, in order.
    pub vars: Vec<String>,
}

/// One `[images.<name>]` table.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// The image's name (the table key).
    pub name: ImageName,
    /// Where the table is.
    pub location: Location,
    /// `context`: the build context directory (required), resolved against the manifest's
    /// directory.
    pub context: Sourced<PathBuf>,
    /// `dockerfile`: default `<context>/Dockerfile`.
    pub dockerfile: Sourced<PathBuf>,
    /// `args`: build args. A value of `false`… is not allowed; every value is a string. Args the
    /// Dockerfile declares but the manifest leaves out are unset (which differs from empty).
    pub args: BTreeMap<String, String>,
    /// `target`: the stage to build; default the last stage.
    pub target: Option<String>,
    /// `platform`: default `[defaults] platform`, else the engine host's platform.
    pub platform: Platform,
    /// Whether `platform` was declared in the manifest (image or defaults), rather than taken
    /// from the host.
    pub platform_declared: bool,
    /// `depends_on`: fleet images this one builds on, passed in as `<NAME>_IMAGE` build args.
    pub depends_on: Vec<ImageName>,
    /// `repository`: default the image name, with `[registry] repository_prefix` in front.
    pub repository: RepositoryName,
    /// `tags`: moving tags written after every image of the run was built or found and pushed.
    pub tags: Vec<Tag>,
    /// `[images.<name>.deploy]`.
    pub deploy: DeploySpec,
    /// `[images.<name>.test]`, when present.
    pub test: Option<TestSpec>,
    /// `[images.<name>.check]`.
    pub check: CheckSpec,
}

/// `[registry]`.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// `kind`: `ecr` or `registry`.
    pub kind: RegistryKind,
    /// `repository_prefix`: put in front of every image's repository (`fleet/`). Default empty.
    pub repository_prefix: String,
    /// `tag_mutability`: for ECR repositories the tool creates. Default `immutable`.
    pub tag_mutability: TagMutability,
    /// `scan_on_push`: for ECR repositories the tool creates. Default `true`.
    pub scan_on_push: bool,
    /// `keep_images`: lifecycle policy, keep the newest N key-tagged images. Default 30.
    pub keep_images: u32,
    /// Where the table is.
    pub location: Location,
}

/// Which kind of registry `[registry]` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryKind {
    /// Amazon ECR.
    Ecr {
        /// `region`: default the AWS configuration's region.
        region: Option<String>,
        /// `account`: the registry's account id; default the caller's.
        account: Option<String>,
        /// `endpoint`: overrides the registry host that `GetAuthorizationToken` names (private
        /// endpoints, tests). Env `FLEET_IMAGES_REGISTRY_ENDPOINT` overrides it in turn.
        endpoint: Option<String>,
    },
    /// Any OCI distribution registry.
    Registry {
        /// `url`: `host[:port][/prefix]`.
        url: String,
    },
}

/// ECR image tag mutability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagMutability {
    /// Tags can be moved.
    Mutable,
    /// Tags cannot be moved once written (moving tags then live in a mutable repository only).
    Immutable,
}

/// `[images.<name>.deploy]`.
#[derive(Debug, Clone, Default)]
pub struct DeploySpec {
    /// `services`: ECS services that run this image.
    pub services: Vec<ServiceTarget>,
    /// `task_families`: task-definition families launched with `RunTask` (no service).
    pub task_families: Vec<FamilyTarget>,
    /// `keep_revisions`: active revisions to keep per family. Default 5.
    pub keep_revisions: u32,
}

impl DeploySpec {
    /// Whether the image has any deploy target.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.task_families.is_empty()
    }
}

/// One `{ cluster, service, container }` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTarget {
    /// ECS cluster name or ARN.
    pub cluster: String,
    /// ECS service name or ARN.
    pub service: String,
    /// The container in the task definition whose image is replaced.
    pub container: String,
    /// `always_on`: a service that must keep running (warns when its desired count is 0).
    /// Default true.
    pub always_on: bool,
}

/// One `{ family, container }` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyTarget {
    /// Task-definition family.
    pub family: String,
    /// The container whose image is replaced.
    pub container: String,
}

/// `[images.<name>.test]`.
#[derive(Debug, Clone)]
pub struct TestSpec {
    /// `tcp = PORT` or `http = { … }`; `None` when neither is set: the container must then start
    /// and keep running for a few seconds (an image that serves nothing, such as the agent).
    pub probe: Option<Probe>,
    /// `user`: the user the container must run as (name or uid).
    pub user: Option<String>,
    /// `timeout`: how long the probe may take. Default 30s.
    pub timeout: Duration,
    /// `env`: environment for the test container.
    pub env: BTreeMap<String, String>,
    /// Where the table is.
    pub location: Location,
}

/// What `test` waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A TCP connection succeeds.
    Tcp {
        /// Container port.
        port: u16,
    },
    /// An HTTP GET answers as expected.
    Http {
        /// Container port.
        port: u16,
        /// Path, default `/`.
        path: String,
        /// Expected status, default 200.
        status: u16,
        /// Text the body must contain, when set.
        contains: Option<String>,
    },
}

impl Probe {
    /// The container port probed.
    pub fn port(&self) -> u16 {
        match self {
            Probe::Tcp { port } | Probe::Http { port, .. } => *port,
        }
    }
}

/// `[images.<name>.check]`.
#[derive(Debug, Clone, Default)]
pub struct CheckSpec {
    /// `env_files`: env vars that must be set in the image and name a file in it.
    pub env_files: Vec<String>,
    /// `element_config`: path in the image of an Element `config.json` to validate.
    pub element_config: Option<String>,
    /// `allow`: rule ids to skip for this image.
    pub allow: Vec<String>,
}
