//! The plan as plain data: what the planner decides for each image, and why.

use serde::Serialize;

use crate::error::Exit;
use crate::names::{Digest, ImageName, Key, RepositoryName};

/// What the tool knows about an image before deciding.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The image.
    pub name: ImageName,
    /// Its key, or why it has none.
    pub key: Result<Key, Unplannable>,
    /// Fleet images it builds on.
    pub depends_on: Vec<ImageName>,
    /// The repository it is pushed to.
    pub repository: RepositoryName,
    /// The id of a local image labelled with this key, when the engine has one.
    pub local: Option<String>,
    /// The registry digest of the key tag, when the registry has it (only observed with `--push`).
    pub remote: Option<Digest>,
}

/// Why an observed image has no key: the reason the plan shows, and the exit code its cause
/// leads to (2 for the user's files, 3 for an engine that failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplannable {
    /// The reason, as the CLI prints it.
    pub reason: String,
    /// The exit code.
    pub exit: Exit,
}

/// What the plan asks for beyond the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Build even when an image with the key exists (`--force`).
    pub force: bool,
    /// Push to the registry (`--push`).
    pub push: bool,
    /// Whether the registry was asked: without it, `remote` says nothing.
    pub registry_observed: bool,
    /// Whether the engine was reachable.
    pub engine_observed: bool,
}

/// Where an image stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It has to be built.
    Build,
    /// The local engine has an image with this key.
    Local,
    /// The registry has the key tag.
    Remote,
    /// It cannot be planned: its inputs cannot be read, or an image it builds on cannot.
    Blocked,
}

impl Status {
    /// The word the CLI prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Build => "build",
            Status::Local => "local",
            Status::Remote => "remote",
            Status::Blocked => "blocked",
        }
    }
}

/// The decision for one image.
#[derive(Debug, Clone)]
pub struct ImagePlan {
    /// The image.
    pub name: ImageName,
    /// Its key, when its inputs could be read.
    pub key: Option<Key>,
    /// The decision.
    pub status: Status,
    /// Why, in words.
    pub reason: String,
    /// Whether the key tag must be pushed (with `--push`).
    pub push: bool,
}

/// The decisions for every selected image, in dependency order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// One entry per image.
    pub images: Vec<ImagePlan>,
}

impl Plan {
    /// How many images must be built.
    pub fn builds(&self) -> usize {
        self.images
            .iter()
            .filter(|i| i.status == Status::Build)
            .count()
    }
}
