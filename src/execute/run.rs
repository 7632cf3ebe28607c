//! Carrying out a build plan: each image's decision dispatched to one small step (blocked, up to
//! date locally, in the registry, to build), the builds scheduled, then with a registry the key
//! tags pushed and the moving tags written (or left to `release`). Returns every image's result
//! and the run's exit code; the command reports them.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::builds::{self, local_ref, BuildJob, BuildSettings};
use super::executed::Executed;
use super::moving_tags::{self, Tagging};
use super::planned::{moving_tags_of, Planned};
use super::push::{push_keys, Pushes};
use crate::docker::{Builder, ImageEngine};
use crate::error::{render, Diagnostic, Exit};
use crate::manifest::ImageSpec;
use crate::names::{ImageName, Tag};
use crate::plan::Status;
use crate::registry::ImageRegistry;
use crate::report::{Event, ImageResult, Level, Outcome, SharedReporter};

/// How to carry the plan out (the command line's choices).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// At most this many builds, and pushes, at once.
    pub jobs: usize,
    /// Stop starting builds at the first failure.
    pub fail_fast: bool,
    /// `--no-cache`: no layer cache, no cache sources from the registry.
    pub no_cache: bool,
    /// `--pull`.
    pub pull: bool,
    /// `--no-release`: key tags only; `release` writes the moving tags.
    pub no_release: bool,
    /// `--tag`: moving tags for every image.
    pub extra_tags: Vec<Tag>,
    /// The builder every image is built with.
    pub builder: Builder,
    /// Labels for every built image (revision, source).
    pub labels: HashMap<String, String>,
    /// Where build logs go.
    pub state_dir: PathBuf,
}

/// The side-effect edges a run goes through.
pub struct Run<'a, E, R> {
    /// The engine that builds, tags and pushes.
    pub engine: &'a E,
    /// The registry, with `--push`.
    pub registry: Option<&'a R>,
    /// Progress.
    pub reporter: &'a SharedReporter,
    /// The command line's choices.
    pub options: &'a RunOptions,
}

/// What the steps before the builds gather.
struct Gathered {
    results: Vec<ImageResult>,
    exit: Exit,
    /// For each image already present, the reference its dependents build from.
    available: BTreeMap<ImageName, String>,
    jobs: Vec<BuildJob>,
    cache_from: HashMap<ImageName, Vec<String>>,
}

/// Carries out `planned` (in the plan's order): see the module.
pub async fn run<E: ImageEngine, R: ImageRegistry>(
    run: &Run<'_, E, R>,
    planned: &[Planned],
) -> Executed {
    let mut gathered = Gathered {
        results: Vec::new(),
        exit: Exit::Success,
        available: BTreeMap::new(),
        jobs: Vec::new(),
        cache_from: HashMap::new(),
    };
    for image in planned {
        match image.decision.status {
            Status::Blocked => blocked(run, image, &mut gathered),
            Status::Local => local(run, image, &mut gathered).await,
            Status::Remote => remote(run, image, &mut gathered),
            Status::Build => queue(run, image, &mut gathered),
        }
    }
    let settings = build_settings(run, std::mem::take(&mut gathered.cache_from));
    let jobs = std::mem::take(&mut gathered.jobs);
    let available = std::mem::take(&mut gathered.available);
    let built = builds::run(run.engine, jobs, available, &settings, run.reporter).await;
    let mut results = gathered.results;
    results.extend(built);
    // Dependency order, as planned.
    results.sort_by_key(|r| planned.iter().position(|p| p.decision.name == r.name));
    let mut exit = gathered.exit.worst(failures(&results));
    if let Some(registry) = run.registry {
        exit = exit.worst(publish(run, registry, planned, &mut results).await);
    }
    Executed { results, exit }
}

/// An image whose inputs could not be read: reported, with the exit code its cause calls for.
fn blocked<E, R>(run: &Run<'_, E, R>, image: &Planned, gathered: &mut Gathered) {
    let decision = &image.decision;
    let mut result = ImageResult::new(decision.name.clone(), decision.key, Outcome::Blocked);
    result.error = Some(decision.reason.clone());
    run.reporter.event(Event::Note {
        subject: decision.name.as_str(),
        level: Level::Error,
        text: &decision.reason,
    });
    gathered.exit = gathered.exit.worst(match image.blocked_exit {
        Exit::Success => Exit::BadInput,
        blocked => blocked,
    });
    gathered.results.push(result);
}

/// An image the engine has: its key tag and moving tags made sure of locally.
async fn local<E: ImageEngine, R>(run: &Run<'_, E, R>, image: &Planned, gathered: &mut Gathered) {
    let name = &image.decision.name;
    let key = image.decision.key.expect("local images have a key");
    let id = image.local.as_deref().expect("local images have an id");
    let mut result = ImageResult::new(name.clone(), Some(key), Outcome::Local);
    result.image_id = Some(id.to_string());
    // The image may carry this key under another repository (the manifest's `repository`
    // changed, or another fleet has the same inputs): dependents name it by this repository's
    // key tag, so make sure that tag exists.
    let key_tag = key.tag();
    let options = run.options;
    let repository = image.spec.repository.as_str();
    let tags = moving_tags_of(&image.spec, &options.extra_tags, options.no_release);
    for tag in std::iter::once(&key_tag).chain(tags) {
        let reference = format!("{repository}:{tag}");
        if image.local_tags.contains(&reference) {
            result.tags.push(reference);
            continue;
        }
        match run.engine.tag(id, repository, tag.as_str()).await {
            Ok(()) => result.tags.push(reference),
            // A tag that could not be applied fails the run: `latest` would silently name an
            // older image.
            Err(error) => {
                run.reporter.event(Event::Note {
                    subject: name.as_str(),
                    level: Level::Error,
                    text: &render(&error),
                });
                gathered.exit = gathered.exit.worst(Exit::Failed).worst(error.exit());
            }
        }
    }
    gathered
        .available
        .insert(name.clone(), local_ref(&image.spec, &key));
    run.reporter.event(Event::Finished {
        subject: name.as_str(),
        ok: true,
        summary: &format!("up to date ({})", key.short()),
        duration: Default::default(),
    });
    gathered.results.push(result);
}

/// An image the registry has: dependents build from it there, pinned to its digest.
fn remote<E, R: ImageRegistry>(run: &Run<'_, E, R>, image: &Planned, gathered: &mut Gathered) {
    let name = &image.decision.name;
    let key = image.decision.key.expect("remote images have a key");
    let mut result = ImageResult::new(name.clone(), Some(key), Outcome::Remote);
    result.digest = image.remote.clone();
    if let Some(registry) = run.registry {
        // Pinned to the digest the registry gave for the key tag: a dependent's build pulls
        // exactly that (and only when it needs it), whatever the tag says later.
        let registry_name = registry.image_name(&image.spec.repository);
        let reference = match &result.digest {
            Some(digest) => format!("{registry_name}@{digest}"),
            None => format!("{registry_name}:{}", key.tag()),
        };
        gathered.available.insert(name.clone(), reference);
    }
    run.reporter.event(Event::Finished {
        subject: name.as_str(),
        ok: true,
        summary: &format!("in the registry ({})", key.short()),
        duration: Default::default(),
    });
    gathered.results.push(result);
}

/// An image to build: queued for the scheduler, with its cache sources in the registry.
fn queue<E, R: ImageRegistry>(run: &Run<'_, E, R>, image: &Planned, gathered: &mut Gathered) {
    let options = run.options;
    if let Some(registry) = run.registry {
        let sources = cache_sources(registry, &image.spec, &options.extra_tags);
        if !sources.is_empty() && !options.no_cache {
            gathered
                .cache_from
                .insert(image.decision.name.clone(), sources);
        }
    }
    let mut spec = image.spec.clone();
    if options.no_release {
        // Key tag only: `release` writes the moving tags once every runner is done.
        spec.tags.clear();
    }
    gathered.jobs.push(BuildJob {
        spec,
        inputs: image.inputs.clone().expect("buildable images have inputs"),
        key: image.decision.key.expect("buildable images have a key"),
    });
}

/// Where a build may find layers when its key is not in the registry: the image's moving tags
/// there (`tags` in the manifest and `--tag`), which name the last image pushed from this
/// repository. BuildKit reads their inline cache metadata and fetches only the layers it reuses.
fn cache_sources(registry: &impl ImageRegistry, spec: &ImageSpec, extra: &[Tag]) -> Vec<String> {
    let name = registry.image_name(&spec.repository);
    let mut sources: Vec<String> = Vec::new();
    for tag in spec.tags.iter().chain(extra) {
        let reference = format!("{name}:{tag}");
        if !sources.contains(&reference) {
            sources.push(reference);
        }
    }
    sources
}

/// The scheduler's settings for this run.
fn build_settings<E, R: ImageRegistry>(
    run: &Run<'_, E, R>,
    cache_from: HashMap<ImageName, Vec<String>>,
) -> BuildSettings {
    let options = run.options;
    BuildSettings {
        jobs: options.jobs,
        fail_fast: options.fail_fast,
        no_cache: options.no_cache,
        pull: options.pull,
        labels: options.labels.clone(),
        credentials: run
            .registry
            .and_then(|r| r.engine_credentials())
            .into_iter()
            .collect(),
        state_dir: options.state_dir.clone(),
        extra_tags: options.extra_tags.clone(),
        builder: options.builder,
        cache_from,
        // Every BuildKit image carries the metadata a later runner's cache-from reads, also when
        // it is pushed by a later `push` (a few hundred bytes of config; not part of the key).
        inline_cache: true,
    }
}

/// The exit code the images' outcomes call for: 1 when any failed, was skipped or cancelled, 3
/// when a build lost the engine (a service failure, not a failed step).
fn failures(results: &[ImageResult]) -> Exit {
    let mut exit = Exit::Success;
    let unusable = |r: &&ImageResult| {
        matches!(
            r.outcome,
            Outcome::Failed | Outcome::Skipped | Outcome::Cancelled
        )
    };
    if results.iter().any(|r| unusable(&r)) {
        exit = exit.worst(Exit::Failed);
    }
    for code in results.iter().filter_map(|r| r.exit) {
        exit = exit.worst(code);
    }
    exit
}

/// With a registry: the key tags pushed, then the moving tags written (all or nothing), or with
/// `--no-release` left to `release`.
async fn publish<E: ImageEngine, R: ImageRegistry>(
    run: &Run<'_, E, R>,
    registry: &R,
    planned: &[Planned],
    results: &mut [ImageResult],
) -> Exit {
    let needs_push: Vec<ImageName> = planned
        .iter()
        .filter(|p| p.decision.push)
        .map(|p| p.decision.name.clone())
        .collect();
    let pushes = Pushes {
        engine: run.engine,
        registry,
        reporter: run.reporter,
        jobs: run.options.jobs,
    };
    let exit = push_keys(&pushes, planned, &needs_push, results).await;
    if run.options.no_release {
        if results.iter().any(|r| !r.outcome.ok()) {
            return exit.worst(Exit::Failed);
        }
        return exit;
    }
    let specs: Vec<&ImageSpec> = planned.iter().map(|p| &p.spec).collect();
    let tagging = Tagging {
        registry,
        reporter: run.reporter,
        specs: &specs,
        extra: &run.options.extra_tags,
    };
    exit.worst(moving_tags::write_interruptible(&tagging, results).await)
}
