//! Pushing key tags: every image that needs it is tagged `registry/repository:key-…` in the
//! engine and pushed, at most `jobs` at once; each push is reported and its digest recorded.

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};

use super::executed::Executed;
use super::moving_tags::{self, Tagging};
use super::planned::{find, Planned};
use crate::docker::{EngineCredentials, EngineError, ImageEngine, Pushed};
use crate::error::{render, Diagnostic, Exit};
use crate::manifest::ImageSpec;
use crate::names::Tag;
use crate::names::{ImageName, Key, RepositoryName};
use crate::plan::Status;
use crate::registry::ImageRegistry;
use crate::report::{Event, ImageResult, Outcome, SharedReporter};

/// Where pushes go and how many at once.
pub struct Pushes<'a, E, R> {
    /// The engine that holds the images.
    pub engine: &'a E,
    /// The registry they go to.
    pub registry: &'a R,
    /// Progress.
    pub reporter: &'a SharedReporter,
    /// At most this many pushes at once.
    pub jobs: usize,
}

/// `push`: like `build --push`, but an image that would need a build is a failure. Pushes what
/// the engine has and the registry lacks, then writes the moving tags (`extra` on every image).
pub async fn push_only<E: ImageEngine, R: ImageRegistry>(
    to: &Pushes<'_, E, R>,
    planned: &[Planned],
    extra: &[Tag],
) -> Executed {
    let mut results = Vec::new();
    let mut needs_push = Vec::new();
    for image in planned {
        let decision = &image.decision;
        let mut result = ImageResult::new(decision.name.clone(), decision.key, Outcome::Local);
        match decision.status {
            Status::Remote => {
                result.outcome = Outcome::Remote;
                result.digest = image.remote.clone();
            }
            Status::Local => needs_push.push(decision.name.clone()),
            Status::Build => {
                result.outcome = Outcome::Failed;
                result.error =
                    Some("not built: run `fleet-images build --push` to build and push it".into());
            }
            Status::Blocked => {
                result.outcome = Outcome::Blocked;
                result.error = Some(decision.reason.clone());
            }
        }
        results.push(result);
    }
    let pushed = push_keys(to, planned, &needs_push, &mut results).await;
    let specs: Vec<&ImageSpec> = planned.iter().map(|p| &p.spec).collect();
    let tagging = Tagging {
        registry: to.registry,
        reporter: to.reporter,
        specs: &specs,
        extra,
    };
    let exit = pushed.worst(moving_tags::write_interruptible(&tagging, &mut results).await);
    Executed { results, exit }
}

/// One key tag to push.
struct KeyPush {
    name: ImageName,
    id: String,
    key: Key,
    repository: RepositoryName,
}

/// What became of one push.
struct PushDone {
    name: ImageName,
    reference: String,
    pushed: Result<Pushed, EngineError>,
    elapsed: Duration,
}

/// Pushes the key tag of every image in `needs_push` whose result has a key and an image (built
/// in this run, or local) and records the digests in `results`. Returns the exit code the
/// failures call for, from their types: a refused login, a stalled push or a lost engine is 3,
/// another failed push 1.
pub async fn push_keys<E: ImageEngine, R: ImageRegistry>(
    to: &Pushes<'_, E, R>,
    planned: &[Planned],
    needs_push: &[ImageName],
    results: &mut [ImageResult],
) -> Exit {
    let work: Vec<KeyPush> = needs_push
        .iter()
        .filter_map(|name| {
            let result = results.iter().find(|r| &r.name == name)?;
            let planned = find(planned, name)?;
            Some(KeyPush {
                name: name.clone(),
                id: result.image_id.clone().or_else(|| planned.local.clone())?,
                key: result.key?,
                repository: planned.spec.repository.clone(),
            })
        })
        .collect();
    let credentials = to.registry.engine_credentials();
    let done: Vec<PushDone> = stream::iter(work)
        .map(|push| push_one(to, push, credentials.as_ref()))
        .buffer_unordered(to.jobs.max(1))
        .collect()
        .await;
    let mut exit = Exit::Success;
    for done in done {
        if let Some(result) = results.iter_mut().find(|r| r.name == done.name) {
            exit = exit.worst(record(result, done));
        }
    }
    exit
}

/// Tags and pushes one image, reporting its start and end.
async fn push_one<E: ImageEngine, R: ImageRegistry>(
    to: &Pushes<'_, E, R>,
    push: KeyPush,
    credentials: Option<&EngineCredentials>,
) -> PushDone {
    let started = Instant::now();
    let subject = push.name.to_string();
    to.reporter.event(Event::Started {
        subject: &subject,
        action: "push",
    });
    let target = to.registry.image_name(&push.repository);
    let tag = push.key.tag();
    let pushed = match to.engine.tag(&push.id, &target, tag.as_str()).await {
        Ok(()) => to.engine.push(&target, tag.as_str(), credentials).await,
        Err(error) => Err(error),
    };
    let elapsed = started.elapsed();
    let summary = match &pushed {
        Ok(p) => format!(
            "pushed {target}:{tag} ({}, {} layers uploaded)",
            p.digest.short(),
            p.layers_uploaded
        ),
        Err(error) => render(error),
    };
    to.reporter.event(Event::Finished {
        subject: &subject,
        ok: pushed.is_ok(),
        summary: &summary,
        duration: elapsed,
    });
    PushDone {
        name: push.name,
        reference: format!("{target}:{tag}"),
        pushed,
        elapsed,
    }
}

/// Records a push in the image's result; returns the exit code it calls for.
fn record(result: &mut ImageResult, done: PushDone) -> Exit {
    result.duration += done.elapsed;
    match done.pushed {
        Ok(p) => {
            result.digest = Some(p.digest);
            result.layers_uploaded = p.layers_uploaded;
            result.tags.push(done.reference);
            if result.outcome == Outcome::Local {
                result.outcome = Outcome::Pushed;
            }
            Exit::Success
        }
        Err(error) => {
            result.outcome = Outcome::Failed;
            result.error = Some(render(&error));
            error.exit()
        }
    }
}
