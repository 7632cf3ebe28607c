//! Reading each image's inputs: the Dockerfiles parsed first (cheap, and the engine needs their
//! bases), then every context walked and hashed on rayon's threads, through the content cache
//! kept in the state directory.

use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;
use tokio::task::JoinHandle;

use super::error::ObserveError;
use crate::error::Internal;
use crate::hash::inputs::{self, Parsed};
use crate::hash::{ContentCache, ImageInputs};
use crate::manifest::ImageSpec;
use crate::names::ImageName;

/// An image's parsed Dockerfile, or why it could not be read.
pub type ParseResult = Result<Parsed, ObserveError>;

/// An image's hashed inputs, or why they could not be read.
pub type ReadResult = Result<Arc<ImageInputs>, ObserveError>;

/// Parses each image's Dockerfile and ignore file.
pub fn parse_all(specs: &[ImageSpec]) -> Vec<ParseResult> {
    specs
        .iter()
        .map(|spec| {
            inputs::parse(spec).map_err(|source| ObserveError::Inputs {
                image: spec.name.clone(),
                source,
            })
        })
        .collect()
}

/// Walks and hashes every parsed image's context, images in parallel, off the async workers.
/// Returns the inputs in the order given, and the task that saves the content cache (started
/// here so that it overlaps with asking the engine about keys; its owner awaits it).
pub async fn hash_all(
    parsed: Vec<(ImageName, ParseResult)>,
    state_dir: PathBuf,
) -> Result<(Vec<ReadResult>, JoinHandle<()>), Internal> {
    let (read, cache) = tokio::task::spawn_blocking(move || {
        let cache = ContentCache::load(&state_dir);
        let read = parsed
            .into_par_iter()
            .map(|(image, parsed)| hash_one(image, parsed, &cache))
            .collect::<Vec<_>>();
        (read, cache)
    })
    .await
    .map_err(|e| Internal::from_join("hashing the contexts", e))?;
    let saving = tokio::task::spawn_blocking(move || cache.save());
    Ok((read, saving))
}

fn hash_one(image: ImageName, parsed: ParseResult, cache: &ContentCache) -> ReadResult {
    parsed?
        .hash(cache)
        .map(Arc::new)
        .map_err(|source| ObserveError::Inputs { image, source })
}
