//! What the execute layer knows of each planned image: the planner's decision and the parts of
//! its observation that carrying it out needs. Commands convert their observation into these at
//! their boundary, so this layer depends on neither the CLI nor the observer.

use std::sync::Arc;

use crate::error::Exit;
use crate::hash::ImageInputs;
use crate::manifest::ImageSpec;
use crate::names::{Digest, ImageName, Tag};
use crate::plan::ImagePlan;

/// One image of the plan, with what was observed of it.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The planner's decision (status, key, reason, whether to push).
    pub decision: ImagePlan,
    /// Its manifest entry.
    pub spec: ImageSpec,
    /// Its inputs, when they could be read (always, for an image to build).
    pub inputs: Option<Arc<ImageInputs>>,
    /// The local image id carrying its key, when the engine has one.
    pub local: Option<String>,
    /// The `repository:tag` names that local image has.
    pub local_tags: Vec<String>,
    /// The digest the registry gave for its key tag, when it has it.
    pub remote: Option<Digest>,
    /// The exit code its blocking calls for (`Success` when it is not blocked, or when the cause
    /// had no code of its own: bad input then).
    pub blocked_exit: Exit,
}

/// Finds an image's entry.
pub fn find<'a>(planned: &'a [Planned], name: &ImageName) -> Option<&'a Planned> {
    planned.iter().find(|p| &p.decision.name == name)
}

/// The tags an image gets besides its key tag: its manifest `tags` (unless `--no-release`, which
/// leaves them to `release`) and `--tag`.
pub fn moving_tags_of<'a>(
    spec: &'a ImageSpec,
    extra: &'a [Tag],
    no_release: bool,
) -> impl Iterator<Item = &'a Tag> {
    let own: &[Tag] = if no_release { &[] } else { &spec.tags };
    own.iter().chain(extra)
}
