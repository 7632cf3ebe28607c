//! Moving tags (`latest`, `--tag`), written in the registry all or nothing: nothing moves unless
//! every image of the run is usable; every tag's current digest is recorded and every target
//! confirmed before anything is written; a failed write, or a Ctrl+C, puts back the tags already
//! moved.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::signal::Signals;
use crate::error::{render, Diagnostic, Exit};
use crate::manifest::ImageSpec;
use crate::names::{Digest, RepositoryName, Tag};
use crate::registry::{ImageRegistry, RegistryError, Retagged};
use crate::report::{Event, ImageResult, Level, SharedReporter};

/// One moving tag to write: where, to which digest, and what it named before.
struct Move {
    /// The index of the image's result.
    result: usize,
    repository: RepositoryName,
    tag: Tag,
    target: Digest,
    /// What the tag named before the phase; `None` when it did not exist.
    before: Option<Digest>,
}

/// Whether moving tags are being written: a command's Ctrl+C handler then leaves the run to the
/// phase, which stops and puts back what it moved, rather than dropping it half done.
static WRITING: AtomicBool = AtomicBool::new(false);

/// Marks the moving-tag phase under way while it lives.
struct Writing;

impl Writing {
    fn start() -> Writing {
        WRITING.store(true, Ordering::SeqCst);
        Writing
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        WRITING.store(false, Ordering::SeqCst);
    }
}

/// Whether the moving-tag phase of [`write_interruptible`] is under way.
pub fn being_written() -> bool {
    WRITING.load(Ordering::SeqCst)
}

/// The registry and the images whose moving tags are written.
pub struct Tagging<'a, R> {
    /// Where the tags are.
    pub registry: &'a R,
    /// Progress.
    pub reporter: &'a SharedReporter,
    /// The run's images (their repositories and manifest `tags`).
    pub specs: &'a [&'a ImageSpec],
    /// `--tag`: moved on every image.
    pub extra: &'a [Tag],
}

/// Writes every moving tag in the registry, all or nothing (see the module). Each tag's fate is
/// reported; any failure is at least exit 1 (3 when the registry could not be reached). A Ctrl+C
/// or SIGTERM while tags are written stops the writes and puts back the tags already moved; the
/// result is exit 130.
pub async fn write_interruptible<R: ImageRegistry>(
    tagging: &Tagging<'_, R>,
    results: &mut [ImageResult],
) -> Exit {
    write(tagging, results, Some(Signals::install())).await
}

/// [`write_interruptible`], stopped by `interrupt` when one is given.
pub async fn write<R: ImageRegistry>(
    tagging: &Tagging<'_, R>,
    results: &mut [ImageResult],
    interrupt: Option<Signals>,
) -> Exit {
    if results.iter().any(|r| !r.outcome.ok()) {
        tagging.reporter.event(Event::Note {
            subject: "",
            level: Level::Warn,
            text: "not writing moving tags: not every image was built or found and pushed",
        });
        return Exit::Failed;
    }
    let mut moves = moves(tagging, results);
    let exit = check(tagging, &mut moves, results).await;
    if exit != Exit::Success {
        tagging.reporter.event(Event::Note {
            subject: "",
            level: Level::Error,
            text: "no moving tag was written: not every tag and target could be checked",
        });
        return exit;
    }
    let (exit, moved) = retag_all(tagging, &moves, results, interrupt).await;
    if exit == Exit::Success {
        for m in &moves {
            let reference = format!("{}:{}", tagging.registry.image_name(&m.repository), m.tag);
            results[m.result].tags.push(reference);
        }
        return exit;
    }
    put_back(tagging, results, &moved).await;
    exit
}

/// Every tag to move: each image's manifest `tags` and the `--tag`s, to its digest.
fn moves<R>(tagging: &Tagging<'_, R>, results: &[ImageResult]) -> Vec<Move> {
    let mut moves = Vec::new();
    for (index, result) in results.iter().enumerate() {
        let spec = tagging.specs.iter().find(|s| s.name == result.name);
        let (Some(spec), Some(digest)) = (spec, result.digest.clone()) else {
            continue;
        };
        for tag in spec.tags.iter().chain(tagging.extra) {
            moves.push(Move {
                result: index,
                repository: spec.repository.clone(),
                tag: tag.clone(),
                target: digest.clone(),
                before: None,
            });
        }
    }
    moves
}

/// Read-only first: what every tag names now, and that every target is there.
async fn check<R: ImageRegistry>(
    tagging: &Tagging<'_, R>,
    moves: &mut [Move],
    results: &mut [ImageResult],
) -> Exit {
    let registry = tagging.registry;
    let mut exit = Exit::Success;
    for m in moves.iter_mut() {
        let checked = async {
            let before = registry.lookup(&m.repository, &m.tag).await?;
            let present = registry.confirm(&m.repository, &m.target).await?;
            Ok::<_, RegistryError>((before, present))
        }
        .await;
        let problem = match checked {
            Ok((before, true)) => {
                m.before = before;
                continue;
            }
            Ok((_, false)) => {
                exit = exit.worst(Exit::Failed);
                let name = registry.image_name(&m.repository);
                format!("{name}@{} is not in the registry", m.target)
            }
            Err(error) => {
                exit = exit.worst(Exit::Failed).worst(error.exit());
                render(&error)
            }
        };
        let subject = results[m.result].name.to_string();
        tagging.reporter.event(Event::Note {
            subject: &subject,
            level: Level::Error,
            text: &format!("moving tag `{}` not checked: {problem}", m.tag),
        });
        results[m.result].error = Some(problem);
    }
    exit
}

/// Writes the tags in order until one fails or the run is interrupted; returns the exit code and
/// the tags actually moved.
async fn retag_all<'m, R: ImageRegistry>(
    tagging: &Tagging<'_, R>,
    moves: &'m [Move],
    results: &mut [ImageResult],
    mut interrupt: Option<Signals>,
) -> (Exit, Vec<&'m Move>) {
    let mut moved = Vec::new();
    // Until the tags are written or put back (dropped with the function).
    let _writing = interrupt.is_some().then(Writing::start);
    for m in moves {
        // A write in flight is finished, never dropped: dropped, it could still land after the
        // tags were put back.
        let write = tagging.registry.retag(&m.repository, &m.target, &m.tag);
        tokio::pin!(write);
        let (written, stop) = match interrupt.as_mut() {
            Some(signal) => tokio::select! {
                biased;
                _ = signal.recv() => ((&mut write).await, true),
                written = &mut write => (written, false),
            },
            None => (write.await, false),
        };
        if stop {
            if let Ok(Retagged::Written) = written {
                moved.push(m);
            }
            tagging.reporter.event(Event::Note {
                subject: "",
                level: Level::Warn,
                text: "interrupted: putting back the moving tags already moved",
            });
            return (Exit::Interrupted, moved);
        }
        match written {
            Ok(Retagged::Written) => moved.push(m),
            Ok(Retagged::Unchanged) => {}
            Err(error) => {
                let subject = results[m.result].name.to_string();
                tagging.reporter.event(Event::Note {
                    subject: &subject,
                    level: Level::Error,
                    text: &format!("moving tag `{}` not written: {}", m.tag, render(&error)),
                });
                results[m.result].error = Some(render(&error));
                return (Exit::Failed.worst(error.exit()), moved);
            }
        }
    }
    (Exit::Success, moved)
}

/// Puts the tags a failed moving-tag phase had moved back where they were, newest first, and
/// says what became of each.
async fn put_back<R: ImageRegistry>(
    tagging: &Tagging<'_, R>,
    results: &[ImageResult],
    moved: &[&Move],
) {
    let registry = tagging.registry;
    for m in moved.iter().rev() {
        let name = format!("{}:{}", registry.image_name(&m.repository), m.tag);
        let (level, text) = match &m.before {
            Some(before) => match registry.retag(&m.repository, before, &m.tag).await {
                Ok(_) => (
                    Level::Warn,
                    format!("moving tag `{name}` put back to {before}"),
                ),
                Err(error) => (
                    Level::Error,
                    format!(
                        "moving tag `{name}` could not be put back to {before}: {}",
                        render(&error)
                    ),
                ),
            },
            // A registry cannot be relied on to delete a tag alone (the distribution API deletes
            // manifests): say so rather than pretend.
            None => (
                Level::Error,
                format!(
                    "moving tag `{name}` did not exist before this run and stays on {}",
                    m.target
                ),
            ),
        };
        let subject = results[m.result].name.to_string();
        tagging.reporter.event(Event::Note {
            subject: &subject,
            level,
            text: &text,
        });
    }
}
