//! `push`, and the registry half of `build --push` and `plan --push`: connect, ensure
//! repositories, look up key tags, push key tags through the engine, then write moving tags.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};

use super::Failure;
use crate::cli::args::PushArgs;
use crate::cli::Session;
use crate::docker::Engine;
use crate::error::{render, Exit};
use crate::execute::{ImageResult, Outcome};
use crate::manifest::ManifestError;
use crate::names::{Digest, ImageName, RepositoryName, Tag};
use crate::observe::{observe, Observation, ObserveOptions};
use crate::plan::{Observed, Status};
use crate::registry::{Registry, Retagged};
use crate::report::{Event, Level};

/// The plan's view of each observed image.
pub fn observed(observation: &Observation, remote: &HashMap<ImageName, Digest>) -> Vec<Observed> {
    observation
        .images
        .iter()
        .map(|p| Observed {
            name: p.spec.name.clone(),
            key: p.plannable_key(),
            depends_on: p.spec.depends_on.clone(),
            repository: p.spec.repository.clone(),
            local: p.local.clone(),
            remote: remote.get(&p.spec.name).cloned(),
        })
        .collect()
}

/// Connects to the manifest's registry.
pub async fn connect(observation: &Observation) -> Result<Registry, Failure> {
    let Some(config) = &observation.manifest.registry else {
        return Err(ManifestError::MissingKey {
            location: crate::error::Location {
                file: observation.manifest.path.display().to_string(),
                line: None,
                key: Some("registry".into()),
            },
            key: "registry",
            table: "the manifest".into(),
            example: "[registry] kind = \"ecr\" (or kind = \"registry\", url = \"host/prefix\")",
        }
        .into());
    };
    Ok(Registry::connect(config).await?)
}

/// Makes sure every selected image's repository exists (ECR), reporting what changed.
pub async fn ensure_repositories(
    session: &Session,
    registry: &Registry,
    observation: &Observation,
) -> Result<(), Failure> {
    let repositories: Vec<_> = observation
        .images
        .iter()
        .map(|p| p.spec.repository.clone())
        .collect();
    for change in registry.ensure_repositories(&repositories).await? {
        let (level, text) = match &change.note {
            Some(note) => (
                Level::Warn,
                format!("{}: {}: {note}", change.repository, change.action),
            ),
            None => (
                Level::Info,
                format!("{}: {}", change.repository, change.action),
            ),
        };
        session.reporter.event(Event::Note {
            subject: "",
            level,
            text: &text,
        });
    }
    Ok(())
}

/// Asks the registry which key tags it has (no pull).
pub async fn lookup(
    registry: &Registry,
    observation: &Observation,
) -> Result<HashMap<ImageName, Digest>, Failure> {
    let lookups = observation
        .images
        .iter()
        .filter_map(|p| p.key.map(|key| (p, key)))
        .map(|(p, key)| async move {
            let found = registry.lookup(&p.spec.repository, &key.tag()).await;
            (p.spec.name.clone(), found)
        });
    let mut remote = HashMap::new();
    for (name, found) in join_all(lookups).await {
        if let Some(digest) = found? {
            remote.insert(name, digest);
        }
    }
    Ok(remote)
}

/// `plan --push`: connect and look up, read-only.
pub async fn observe_registry(
    _session: &Session,
    observation: &Observation,
) -> Result<HashMap<ImageName, Digest>, Failure> {
    let registry = connect(observation).await?;
    lookup(&registry, observation).await
}

/// Pushes the key tag of every image that needs it (at most `jobs` at once) and records the
/// digests in `results`. Returns the exit code the failures call for, from their types: a refused
/// login, a stalled push or a lost engine is 3, another failed push 1.
pub async fn push_keys(
    session: &Session,
    engine: &Engine,
    registry: &Registry,
    observation: &Observation,
    needs_push: &[ImageName],
    results: &mut [ImageResult],
    jobs: usize,
) -> Exit {
    let credentials = registry.engine_credentials();
    let pushes = needs_push.iter().filter_map(|name| {
        let result = results.iter().find(|r| &r.name == name)?;
        let id = result
            .image_id
            .clone()
            .or_else(|| observation.get(name)?.local.clone())?;
        let key = result.key?;
        let spec = &observation.get(name)?.spec;
        let credentials = credentials.clone();
        Some(async move {
            let started = Instant::now();
            let subject = name.to_string();
            session.reporter.event(Event::Started {
                subject: &subject,
                action: "push",
            });
            let target = registry.image_name(&spec.repository);
            let tag = key.tag();
            let pushed = match engine.tag(&id, &target, tag.as_str()).await {
                Ok(()) => {
                    engine
                        .push(&target, tag.as_str(), credentials.as_ref())
                        .await
                }
                Err(error) => Err(error),
            };
            let elapsed = started.elapsed();
            match &pushed {
                Ok(p) => session.reporter.event(Event::Finished {
                    subject: &subject,
                    ok: true,
                    summary: &format!(
                        "pushed {target}:{tag} ({}, {} layers uploaded)",
                        p.digest.short(),
                        p.layers_uploaded
                    ),
                    duration: elapsed,
                }),
                Err(error) => session.reporter.event(Event::Finished {
                    subject: &subject,
                    ok: false,
                    summary: &render(error),
                    duration: elapsed,
                }),
            }
            (name.clone(), format!("{target}:{tag}"), pushed, elapsed)
        })
    });
    let outcomes: Vec<_> = stream::iter(pushes)
        .buffer_unordered(jobs.max(1))
        .collect()
        .await;
    let mut exit = Exit::Success;
    for (name, reference, pushed, elapsed) in outcomes {
        let Some(result) = results.iter_mut().find(|r| r.name == name) else {
            continue;
        };
        result.duration += elapsed;
        match pushed {
            Ok(p) => {
                result.digest = Some(p.digest);
                result.layers_uploaded = p.layers_uploaded;
                result.tags.push(reference);
                if result.outcome == Outcome::Local {
                    result.outcome = Outcome::Pushed;
                }
            }
            Err(error) => {
                exit = exit.worst(crate::error::Diagnostic::exit(&error));
                result.outcome = Outcome::Failed;
                result.error = Some(render(&error));
            }
        }
    }
    exit
}

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

/// Whether `build` is writing moving tags: its Ctrl+C handler then leaves the run to the phase,
/// which stops and puts back what it moved, rather than dropping it half done.
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

/// Whether the moving-tag phase of [`write_moving_tags_interruptible`] is under way.
pub fn moving_tags_being_written() -> bool {
    WRITING.load(Ordering::SeqCst)
}

/// Writes every moving tag in the registry, all or nothing. Nothing moves unless every image of
/// the run is usable. Then, before anything is written, every tag's current digest is recorded
/// and every target manifest confirmed in the registry; a failure there moves nothing. Should a
/// write then fail, the tags already moved are put back to what they named before. Each tag's
/// fate is reported; any failure is at least exit 1 (3 when the registry could not be reached).
///
/// A Ctrl+C or SIGTERM while tags are written stops the writes and puts back the tags already
/// moved; the result is exit 130.
pub async fn write_moving_tags_interruptible(
    session: &Session,
    registry: &Registry,
    observation: &Observation,
    results: &mut [ImageResult],
    extra: &[Tag],
) -> Exit {
    let signals = crate::cli::signal::Signals::install();
    write_moving_tags_until(
        session,
        registry,
        observation,
        results,
        extra,
        Some(signals),
    )
    .await
}

async fn write_moving_tags_until(
    session: &Session,
    registry: &Registry,
    observation: &Observation,
    results: &mut [ImageResult],
    extra: &[Tag],
    mut interrupt: Option<crate::cli::signal::Signals>,
) -> Exit {
    if results.iter().any(|r| !r.outcome.ok()) {
        session.reporter.event(Event::Note {
            subject: "",
            level: Level::Warn,
            text: "not writing moving tags: not every image was built or found and pushed",
        });
        return Exit::Failed;
    }
    let mut moves = Vec::new();
    for (index, result) in results.iter().enumerate() {
        let (Some(spec), Some(digest)) = (
            observation.get(&result.name).map(|p| &p.spec),
            result.digest.clone(),
        ) else {
            continue;
        };
        for tag in spec.tags.iter().chain(extra) {
            moves.push(Move {
                result: index,
                repository: spec.repository.clone(),
                tag: tag.clone(),
                target: digest.clone(),
                before: None,
            });
        }
    }
    // Read-only first: what every tag names now, and that every target is there.
    let mut exit = Exit::Success;
    for m in &mut moves {
        let checked = async {
            let before = registry.lookup(&m.repository, &m.tag).await?;
            let present = registry.confirm(&m.repository, &m.target).await?;
            Ok::<_, crate::registry::RegistryError>((before, present))
        }
        .await;
        let subject = results[m.result].name.to_string();
        let problem = match checked {
            Ok((before, true)) => {
                m.before = before;
                continue;
            }
            Ok((_, false)) => {
                exit = exit.worst(Exit::Failed);
                format!(
                    "{}@{} is not in the registry",
                    registry.image_name(&m.repository),
                    m.target
                )
            }
            Err(error) => {
                exit = exit
                    .worst(Exit::Failed)
                    .worst(crate::error::Diagnostic::exit(&error));
                render(&error)
            }
        };
        session.reporter.event(Event::Note {
            subject: &subject,
            level: Level::Error,
            text: &format!("moving tag `{}` not checked: {problem}", m.tag),
        });
        results[m.result].error = Some(problem);
    }
    if exit != Exit::Success {
        session.reporter.event(Event::Note {
            subject: "",
            level: Level::Error,
            text: "no moving tag was written: not every tag and target could be checked",
        });
        return exit;
    }
    let mut moved: Vec<&Move> = Vec::new();
    // Until the tags are written or put back (dropped with the function).
    let _writing = interrupt.is_some().then(Writing::start);
    for m in &moves {
        // A write in flight is finished, never dropped: dropped, it could still land after the
        // tags were put back.
        let write = registry.retag(&m.repository, &m.target, &m.tag);
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
            session.reporter.event(Event::Note {
                subject: "",
                level: Level::Warn,
                text: "interrupted: putting back the moving tags already moved",
            });
            exit = Exit::Interrupted;
            break;
        }
        match written {
            Ok(Retagged::Written) => moved.push(m),
            Ok(Retagged::Unchanged) => {}
            Err(error) => {
                let subject = results[m.result].name.to_string();
                session.reporter.event(Event::Note {
                    subject: &subject,
                    level: Level::Error,
                    text: &format!("moving tag `{}` not written: {}", m.tag, render(&error)),
                });
                results[m.result].error = Some(render(&error));
                exit = Exit::Failed.worst(crate::error::Diagnostic::exit(&error));
                break;
            }
        }
    }
    if exit == Exit::Success {
        for m in &moves {
            let reference = format!("{}:{}", registry.image_name(&m.repository), m.tag);
            results[m.result].tags.push(reference);
        }
        return exit;
    }
    put_back(session, registry, results, &moved).await;
    exit
}

/// Puts the tags a failed moving-tag phase had moved back where they were, newest first, and
/// says what became of each.
async fn put_back(
    session: &Session,
    registry: &Registry,
    results: &mut [ImageResult],
    moved: &[&Move],
) {
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
        session.reporter.event(Event::Note {
            subject: &subject,
            level,
            text: &text,
        });
    }
}

/// Parses `--tag` values.
pub fn parse_tags(tags: &[String]) -> Result<Vec<Tag>, Failure> {
    let mut out = Vec::new();
    for text in tags {
        out.push(text.parse::<Tag>().map_err(|e| super::ArgumentError {
            message: format!("--tag {text}: {e}"),
        })?);
    }
    Ok(out)
}

/// Runs `push`: like `build --push`, but an image that would need a build is an error.
pub async fn run(session: &Session, args: PushArgs) -> Result<Exit, Failure> {
    let extra = parse_tags(&args.push_options.tags)?;
    let observation = observe(
        session,
        &args.select.images,
        ObserveOptions {
            engine_required: true,
            pull: false,
            save_records: false,
        },
    )
    .await?;
    let engine = observation.engine.clone().expect("engine required");
    let registry = connect(&observation).await?;
    ensure_repositories(session, &registry, &observation).await?;
    let remote = lookup(&registry, &observation).await?;
    let plan = crate::plan::plan(
        &observed(&observation, &remote),
        crate::plan::PlanOptions {
            force: false,
            push: true,
            registry_observed: true,
            engine_observed: true,
        },
    );
    if args.dry_run {
        for image in &plan.images {
            crate::outln!("{} {} {}", image.name, image.status.as_str(), image.reason);
        }
        return Ok(Exit::Success);
    }
    let mut results = Vec::new();
    let mut needs_push = Vec::new();
    for decision in &plan.images {
        let mut result = ImageResult::new(decision.name.clone(), decision.key, Outcome::Local);
        match decision.status {
            Status::Remote => {
                result.outcome = Outcome::Remote;
                result.digest = remote.get(&decision.name).cloned();
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
    let pushed = push_keys(
        session,
        &engine,
        &registry,
        &observation,
        &needs_push,
        &mut results,
        args.jobs,
    )
    .await;
    let mut exit = pushed.worst(
        write_moving_tags_interruptible(session, &registry, &observation, &mut results, &extra)
            .await,
    );
    exit = super::build::finish(
        session,
        "fleet-images push",
        &results,
        None,
        args.push_options.json_out.as_deref(),
        exit,
    );
    Ok(exit)
}
