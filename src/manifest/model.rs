//! The loaded, validated manifest: what the rest of the tool works from. Every field is checked
//! and every path resolved when the manifest is loaded (`load.rs`), so nothing downstream parses
//! strings again.

use super::test_spec::TestSpec;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    pub builder: Option<crate::names::Builder>,
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
    /// ECS service name or ARN. `None` (the key left out): the service is found, as the one
    /// service of the cluster whose current task definition has `container` (stacks whose service
    /// names CloudFormation generates).
    pub service: Option<String>,
    /// The container in the task definition whose image is replaced.
    pub container: String,
    /// `always_on`: a service that must keep running (warns when its desired count is 0).
    /// Default true.
    pub always_on: bool,
}

/// One `{ family, container, referenced_by }` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyTarget {
    /// Task-definition family. `None` (left out): the family is the one `referenced_by` names.
    pub family: Option<String>,
    /// The container whose image is replaced.
    pub container: String,
    /// `referenced_by = { image, env }`: the family's revision ARN is the value of environment
    /// variable `env` in the container of another image's service (the Fleet Manager launches
    /// agents with `RunTask` on `ECS_TASK_DEFINITION_ARN`). A new revision of the family then
    /// gives that service a new revision naming it. Default none.
    pub referenced_by: Option<FamilyReference>,
}

/// Where a family's revision is referenced: an environment variable of another image's
/// container, in that image's services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyReference {
    /// The referencing image (`fleet-manager`).
    pub image: ImageName,
    /// The environment variable holding the revision ARN (`ECS_TASK_DEFINITION_ARN`).
    pub env: String,
    /// The referencing image's service targets, copied from its `[images.<image>.deploy]` when
    /// the manifest is loaded: the reference is followed even when that image is not deployed.
    pub services: Vec<ServiceTarget>,
    /// Where `referenced_by` is written.
    pub location: Location,
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
