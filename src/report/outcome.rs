//! What happened to each image in a run: the record the execute layer fills in and the summary,
//! the step summary and `--json-out` read.

use std::time::Duration;

use serde::Serialize;

use crate::names::{Digest, ImageName, Key};

/// The outcome of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Built in this run.
    Built,
    /// The engine had it.
    Local,
    /// The registry had it.
    Remote,
    /// Pushed in this run (a local image).
    Pushed,
    /// Its build or push failed.
    Failed,
    /// Not built because an image it builds on failed.
    Skipped,
    /// Its inputs could not be read.
    Blocked,
    /// Stopped by Ctrl+C or `--fail-fast`.
    Cancelled,
}

impl Outcome {
    /// The word in the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Built => "built",
            Outcome::Local => "local",
            Outcome::Remote => "remote",
            Outcome::Pushed => "pushed",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Blocked => "blocked",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// Whether the image is usable after the run.
    pub fn ok(self) -> bool {
        matches!(
            self,
            Outcome::Built | Outcome::Local | Outcome::Remote | Outcome::Pushed
        )
    }
}

/// Everything `--json-out` and the summary say about one image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageResult {
    /// The image.
    pub name: ImageName,
    /// Its key.
    pub key: Option<Key>,
    /// What happened.
    pub outcome: Outcome,
    /// The local image id, when known.
    pub image_id: Option<String>,
    /// Tags written (local, and `registry/repo:tag` when pushed).
    pub tags: Vec<String>,
    /// The registry digest, when pushed or found there.
    pub digest: Option<Digest>,
    /// Layers uploaded by the push.
    pub layers_uploaded: usize,
    /// Wall time spent on it.
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// The exit code the failure calls for when it is not a failed build (1): 3 when the engine
    /// was lost mid-build.
    #[serde(skip)]
    pub exit: Option<crate::error::Exit>,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl ImageResult {
    /// A result with nothing done yet.
    pub fn new(name: ImageName, key: Option<Key>, outcome: Outcome) -> Self {
        Self {
            name,
            key,
            outcome,
            image_id: None,
            tags: Vec::new(),
            digest: None,
            layers_uploaded: 0,
            duration: Duration::ZERO,
            error: None,
            exit: None,
        }
    }
}
