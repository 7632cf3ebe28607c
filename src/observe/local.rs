//! Local presence: which keyed images the engine already has, and under which tags.

use std::path::Path;

use futures_util::future::join_all;

use super::error::ObserveRunError;
use super::observation::Prepared;
use crate::docker::{Engine, EngineError};
use crate::error::Internal;
use crate::state::KnownImages;

/// Finds the local image of each key: by its key tag in the image's repository (one inspect per
/// image), else by the image id this machine last recorded for the key (an image built before
/// the manifest's `repository` changed). Records what it found.
pub async fn find_local(
    engine: &Engine,
    images: &mut [Prepared],
    state_dir: &Path,
) -> Result<(), ObserveRunError> {
    let dir = state_dir.to_path_buf();
    let known = tokio::task::spawn_blocking(move || KnownImages::load(&dir))
        .await
        .map_err(|e| Internal::from_join("reading the known images", e))?;
    let lookups = images
        .iter()
        .map(|prepared| find_one(engine, prepared, &known));
    let found = join_all(lookups).await;
    let mut seen = Vec::new();
    for (prepared, found) in images.iter_mut().zip(found) {
        if let Some((id, tags)) = found? {
            seen.extend(prepared.key.map(|key| (key, id.clone())));
            prepared.local = Some(id);
            prepared.local_tags = tags;
        }
    }
    let dir = state_dir.to_path_buf();
    // Written off the async workers; the caller awaits it before the observation ends.
    let remembering = tokio::task::spawn_blocking(move || {
        let mut known = known;
        known.remember(&dir, seen)
    });
    remembering
        .await
        .map_err(|e| Internal::from_join("recording the known images", e))?;
    Ok(())
}

/// The local image (id and `repo:tag` names) of one image's key.
async fn find_one(
    engine: &Engine,
    prepared: &Prepared,
    known: &KnownImages,
) -> Result<Option<(String, Vec<String>)>, EngineError> {
    let Some(key) = &prepared.key else {
        return Ok(None);
    };
    let by_tag = engine
        .image_with_key(prepared.spec.repository.as_str(), key)
        .await?;
    match (by_tag, known.get(key)) {
        (Some(found), _) => Ok(Some(found)),
        (None, Some(id)) => engine.image_with_key(id, key).await,
        (None, None) => Ok(None),
    }
}
