//! The registry's images as a build's layer cache (`cache-from`). Each source is pulled into the
//! engine before the build, and the tags the pull added are removed after it:
//!
//! - BuildKit on Engine 20.10 can build from a registry image's inline cache without pulling,
//!   but then writes incomplete inline cache into the image it builds (the reused layers are
//!   missing from it), so the next fresh runner finds nothing to reuse — reuse worked every second
//!   build (moby/buildkit#1981). With the source's layers in the engine, the metadata is complete.
//! - The classic builder only uses `cache-from` images that the engine has.
//!
//! A source that is missing (no such tag yet) or that does not arrive in time is skipped: the
//! build goes on without it.

use std::time::Duration;

use bollard::query_parameters::CreateImageOptions;
use futures_util::StreamExt;

use super::buildkit::BuildLine;
use super::engine::{Engine, EngineCredentials};
use crate::names::Platform;

/// How long a pull may go without a progress message before it is abandoned.
const STALL: Duration = Duration::from_secs(120);

/// The cache sources now in the engine, and the tags that pulling them added (removed after the
/// build, so that a runner's own tags are never taken away).
#[derive(Debug, Default)]
pub(super) struct Pulled {
    pub(super) sources: Vec<String>,
    pub(super) added_tags: Vec<String>,
}

/// Pulls each of `sources` for `platform`, reporting what happened as lines.
pub(super) async fn pull_sources(
    engine: &Engine,
    sources: &[String],
    platform: &Platform,
    credentials: &[EngineCredentials],
    on_line: &mut impl FnMut(BuildLine<'_>),
) -> Pulled {
    let mut pulled = Pulled::default();
    for source in sources {
        let had_tag = matches!(engine.inspect(source).await, Ok(Some(_)));
        let server = source.split('/').next().unwrap_or_default();
        let credentials = credentials.iter().find(|c| c.server == server);
        match pull(engine, source, platform, credentials).await {
            Ok(()) => {
                on_line(BuildLine::Output(&format!("cache: pulled {source}")));
                pulled.sources.push(source.clone());
                if !had_tag {
                    pulled.added_tags.push(source.clone());
                }
            }
            Err(why) => on_line(BuildLine::Output(&format!(
                "cache: no image at {source} ({why}); building without it"
            ))),
        }
    }
    pulled
}

async fn pull(
    engine: &Engine,
    reference: &str,
    platform: &Platform,
    credentials: Option<&EngineCredentials>,
) -> Result<(), String> {
    let options = CreateImageOptions {
        from_image: Some(reference.to_owned()),
        platform: platform.to_string(),
        ..Default::default()
    };
    let mut stream = engine.docker.create_image(
        Some(options),
        None,
        credentials.map(EngineCredentials::to_bollard),
    );
    loop {
        match tokio::time::timeout(STALL, stream.next()).await {
            Err(_) => return Err(format!("no progress for {}s", STALL.as_secs())),
            Ok(None) => return Ok(()),
            Ok(Some(Ok(info))) => {
                if let Some(message) = info.error_detail.and_then(|d| d.message) {
                    return Err(message.trim().to_owned());
                }
            }
            Ok(Some(Err(error))) => {
                return Err(match error {
                    bollard::errors::Error::DockerStreamError { error } => error,
                    bollard::errors::Error::DockerResponseServerError { message, .. } => message,
                    other => other.to_string(),
                }
                .trim()
                .to_owned())
            }
        }
    }
}

/// Removes the tags that pulling the cache sources added; the layers the new image reuses stay.
pub(super) async fn forget(engine: &Engine, pulled: &Pulled) {
    for tag in &pulled.added_tags {
        let _ = engine.remove_image(tag).await;
    }
}
