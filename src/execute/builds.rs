//! The build scheduler: every image to build starts once the images it builds on are done, at
//! most `jobs` at once; a failure skips its dependents while independent images go on (unless
//! `fail_fast`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::logs::Log;
use crate::docker::{
    BuildLine, BuildRequest, Builder, EngineCredentials, EngineError, ImageEngine,
};
use crate::error::render;
use crate::hash::ImageInputs;
use crate::manifest::ImageSpec;
use crate::names::{ImageName, Key, Tag};
use crate::report::{format_duration, Event, ImageResult, Level, Outcome, SharedReporter};

/// One image to build.
#[derive(Debug, Clone)]
pub struct BuildJob {
    /// Its manifest entry.
    pub spec: ImageSpec,
    /// Its inputs.
    pub inputs: Arc<ImageInputs>,
    /// Its key.
    pub key: Key,
}

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildSettings {
    /// At most this many at once.
    pub jobs: usize,
    /// Stop at the first failure.
    pub fail_fast: bool,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--pull`.
    pub pull: bool,
    /// Labels for every image (revision, source).
    pub labels: HashMap<String, String>,
    /// Credentials for pulling bases and dependencies from registries.
    pub credentials: Vec<EngineCredentials>,
    /// Where logs go.
    pub state_dir: PathBuf,
    /// Moving tags applied locally after a successful build.
    pub extra_tags: Vec<Tag>,
    /// The builder every image is built with.
    pub builder: Builder,
    /// Per image, registry images whose layers may serve as cache (with `--push`).
    pub cache_from: HashMap<ImageName, Vec<String>>,
    /// Whether built images carry BuildKit's inline cache metadata, so that a runner that finds
    /// them in the registry can build from their layers.
    pub inline_cache: bool,
}

/// The local tag of a key: `<repository>:key-…`.
pub fn local_ref(spec: &ImageSpec, key: &Key) -> String {
    format!("{}:{}", spec.repository, key.tag())
}

/// Builds `jobs`; `available` holds, for each image already present (local or remote), the
/// reference a dependent's `<NAME>_IMAGE` build arg gets. Returns one result per job.
pub async fn run(
    engine: &impl ImageEngine,
    jobs: Vec<BuildJob>,
    mut available: BTreeMap<ImageName, String>,
    settings: &BuildSettings,
    reporter: &SharedReporter,
) -> Vec<ImageResult> {
    let mut pending = jobs;
    let mut results: Vec<ImageResult> = Vec::new();
    let mut failed: HashSet<ImageName> = HashSet::new();
    let mut running = FuturesUnordered::new();
    let mut stop = false;
    loop {
        // Skip what depends on a failure; start what is ready.
        let mut i = 0;
        while i < pending.len() {
            let job = &pending[i];
            if let Some(dep) = job
                .spec
                .depends_on
                .iter()
                .find(|d| failed.contains(*d))
                .cloned()
            {
                let job = pending.remove(i);
                let mut result =
                    ImageResult::new(job.spec.name.clone(), Some(job.key), Outcome::Skipped);
                result.error = Some(format!("it builds on `{dep}`, which failed"));
                reporter.event(Event::Finished {
                    subject: job.spec.name.as_str(),
                    ok: false,
                    summary: &format!("skipped: it builds on `{dep}`, which failed"),
                    duration: Default::default(),
                });
                failed.insert(job.spec.name);
                results.push(result);
                continue;
            }
            let ready = job
                .spec
                .depends_on
                .iter()
                .all(|d| available.contains_key(d));
            if ready && !stop && running.len() < settings.jobs.max(1) {
                let job = pending.remove(i);
                let refs = available.clone();
                running.push(build_one(engine, job, refs, settings, reporter.clone()));
                continue;
            }
            i += 1;
        }
        let Some(result) = running.next().await else {
            break;
        };
        if result.outcome.ok() {
            let spec_ref = result.tags.first().cloned().unwrap_or_default();
            available.insert(result.name.clone(), spec_ref);
        } else {
            failed.insert(result.name.clone());
            if settings.fail_fast {
                stop = true;
            }
        }
        results.push(result);
        if stop && running.is_empty() {
            break;
        }
    }
    // With --fail-fast, whatever had not started is cancelled.
    for job in pending {
        let mut result = ImageResult::new(job.spec.name.clone(), Some(job.key), Outcome::Cancelled);
        result.error =
            Some("not started: an earlier build failed and --fail-fast was given".into());
        results.push(result);
    }
    results
}

/// Builds one image: its output logged and reported line by line, then its moving tags applied
/// (on success) or its failure explained with the log's last lines.
async fn build_one(
    engine: &impl ImageEngine,
    job: BuildJob,
    refs: BTreeMap<ImageName, String>,
    settings: &BuildSettings,
    reporter: SharedReporter,
) -> ImageResult {
    let started = Instant::now();
    let name = job.spec.name.clone();
    let subject = name.to_string();
    reporter.event(Event::Started {
        subject: &subject,
        action: "build",
    });
    let log = Arc::new(Mutex::new(
        Log::create(&settings.state_dir, name.as_str()).await,
    ));
    let request = request(&job, &refs, settings);
    let outcome = {
        let log = log.clone();
        let reporter = reporter.clone();
        let subject = subject.clone();
        let on_line = move |line: BuildLine<'_>| {
            let text = match line {
                BuildLine::Step(text) | BuildLine::Output(text) => text,
            };
            log.lock().expect("log lock").line(text);
            reporter.event(match line {
                BuildLine::Step(_) => Event::Step {
                    subject: &subject,
                    text,
                },
                BuildLine::Output(_) => Event::Line {
                    subject: &subject,
                    text,
                },
            });
        };
        engine.build(request, Box::new(on_line)).await
    };
    // Every line in the file before the result names it (the lock is not held across the wait).
    let closed = log.lock().expect("log lock").close();
    closed.await;
    let mut result = ImageResult::new(name, Some(job.key), Outcome::Built);
    result.duration = started.elapsed();
    match outcome {
        Ok(id) => built(engine, &job, settings, &reporter, id, &mut result).await,
        Err(error) => {
            let log = log.lock().expect("log lock");
            failed(&log, error, &reporter, &mut result);
        }
    }
    result
}

/// What the engine is asked to build for `job`.
fn request(
    job: &BuildJob,
    refs: &BTreeMap<ImageName, String>,
    settings: &BuildSettings,
) -> BuildRequest {
    BuildRequest {
        inputs: job.inputs.clone(),
        key: job.key,
        args: build_args(&job.spec, refs),
        target: job.spec.target.clone(),
        platform: job.spec.platform.clone(),
        labels: settings.labels.clone(),
        tag: local_ref(&job.spec, &job.key),
        no_cache: settings.no_cache,
        pull: settings.pull,
        credentials: settings.credentials.clone(),
        builder: settings.builder,
        cache_from: settings
            .cache_from
            .get(&job.spec.name)
            .cloned()
            .unwrap_or_default(),
        inline_cache: settings.inline_cache,
    }
}

/// A build that succeeded: its key tag recorded, its moving tags applied locally (a tag that
/// cannot be applied is a warning: the registry's moving tags are what a deploy reads).
async fn built(
    engine: &impl ImageEngine,
    job: &BuildJob,
    settings: &BuildSettings,
    reporter: &SharedReporter,
    id: String,
    result: &mut ImageResult,
) {
    let subject = job.spec.name.as_str();
    result.tags.push(local_ref(&job.spec, &job.key));
    let repository = job.spec.repository.as_str();
    for moving in job.spec.tags.iter().chain(&settings.extra_tags) {
        match engine.tag(&id, repository, moving.as_str()).await {
            Ok(()) => result.tags.push(format!("{repository}:{moving}")),
            Err(error) => reporter.event(Event::Note {
                subject,
                level: Level::Warn,
                text: &render(&error),
            }),
        }
    }
    result.image_id = Some(id);
    reporter.event(Event::Finished {
        subject,
        ok: true,
        summary: &format!("built {}", job.key.short()),
        duration: result.duration,
    });
}

/// A build that failed: the error reported with the failing step's output (BuildKit says which
/// it is; parallel stages interleave in the log) or else the log's last lines.
fn failed(log: &Log, mut error: EngineError, reporter: &SharedReporter, result: &mut ImageResult) {
    let subject = result.name.to_string();
    let mut tail = log.tail();
    let mut heading = match log.path() {
        Some(path) => format!("last lines of the log ({})", path.display()),
        None => "last lines of the build (its log file could not be created)".to_owned(),
    };
    if let EngineError::Build {
        log: path, output, ..
    } = &mut error
    {
        *path = log.path().map(std::path::Path::to_path_buf);
        if !output.is_empty() {
            tail = output.clone();
            heading = "output of the failing step".to_owned();
        }
    }
    let text = render(&error);
    let mut detail = text.clone();
    if !tail.is_empty() {
        detail.push_str(&format!("\n  {heading}:"));
        for line in &tail {
            detail.push_str(&format!("\n    {line}"));
        }
    }
    reporter.event(Event::Note {
        subject: &subject,
        level: Level::Error,
        text: &detail,
    });
    reporter.event(Event::Finished {
        subject: &subject,
        ok: false,
        summary: &format!("failed after {}", format_duration(result.duration)),
        duration: result.duration,
    });
    result.outcome = Outcome::Failed;
    result.error = Some(text);
    result.exit = Some(crate::error::Diagnostic::exit(&error));
}

/// The args an image is built with: the manifest's, plus `<DEP>_IMAGE` for each dependency.
pub fn build_args(
    spec: &ImageSpec,
    dependency_refs: &BTreeMap<ImageName, String>,
) -> HashMap<String, String> {
    let mut args: HashMap<String, String> = spec
        .args
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for dep in &spec.depends_on {
        if let Some(reference) = dependency_refs.get(dep) {
            args.insert(dep.build_arg(), reference.clone());
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::docker::fake::FakeEngine;
    use crate::hash::{inputs, ContentCache};
    use crate::manifest::{parse, LoadOptions};
    use crate::report::NullReporter;

    fn engine(fail: Vec<&'static str>) -> FakeEngine {
        FakeEngine {
            fail_build: fail,
            build_time: Duration::from_millis(30),
            ..Default::default()
        }
    }

    /// `a` and `d` are independent; `b` builds on `a`, `c` on `b`.
    fn jobs(dir: &std::path::Path) -> Vec<BuildJob> {
        let manifest_text = "[images.a]\ncontext = \"a\"\n[images.b]\ncontext = \"b\"\ndepends_on = [\"a\"]\n[images.c]\ncontext = \"c\"\ndepends_on = [\"b\"]\n[images.d]\ncontext = \"d\"\n";
        for (name, from) in [
            ("a", "scratch"),
            ("b", "${A_IMAGE}"),
            ("c", "${B_IMAGE}"),
            ("d", "scratch"),
        ] {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            std::fs::write(
                dir.join(name).join("Dockerfile"),
                format!("ARG A_IMAGE\nARG B_IMAGE\nFROM {from}\n"),
            )
            .unwrap();
        }
        let manifest = parse(
            &dir.join("fleet.toml"),
            manifest_text,
            &LoadOptions::default(),
        )
        .unwrap();
        manifest
            .images
            .iter()
            .enumerate()
            .map(|(i, spec)| BuildJob {
                spec: spec.clone(),
                inputs: Arc::new(inputs::read(spec, &ContentCache::disabled()).unwrap()),
                key: Key::from_bytes([i as u8; 32]),
            })
            .collect()
    }

    fn settings(dir: &std::path::Path, jobs: usize, fail_fast: bool) -> BuildSettings {
        BuildSettings {
            jobs,
            fail_fast,
            no_cache: false,
            pull: false,
            labels: HashMap::new(),
            credentials: Vec::new(),
            state_dir: dir.join("state"),
            extra_tags: Vec::new(),
            builder: Builder::BuildKit,
            cache_from: HashMap::new(),
            inline_cache: false,
        }
    }

    fn outcomes(results: &[ImageResult]) -> Vec<(String, Outcome)> {
        let mut out: Vec<_> = results
            .iter()
            .map(|r| (r.name.to_string(), r.outcome))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[tokio::test]
    async fn dependencies_first_at_most_jobs_at_once_with_their_references() {
        let dir = tempfile::tempdir().unwrap();
        let builder = engine(Vec::new());
        let reporter: SharedReporter = Arc::new(NullReporter);
        let results = run(
            &builder,
            jobs(dir.path()),
            BTreeMap::new(),
            &settings(dir.path(), 2, false),
            &reporter,
        )
        .await;
        assert!(results.iter().all(|r| r.outcome == Outcome::Built));
        let order = builder.built();
        let position = |n: &str| order.iter().position(|o| o == n).unwrap();
        assert!(
            position("a") < position("b") && position("b") < position("c"),
            "{order:?}"
        );
        assert_eq!(builder.most_at_once(), 2);
        assert_eq!(
            builder.args("b")["A_IMAGE"],
            format!("a:{}", Key::from_bytes([0; 32]).tag())
        );
        assert_eq!(
            builder.args("c")["B_IMAGE"],
            format!("b:{}", Key::from_bytes([1; 32]).tag())
        );
    }

    #[tokio::test]
    async fn one_job_at_a_time_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let builder = engine(Vec::new());
        let reporter: SharedReporter = Arc::new(NullReporter);
        run(
            &builder,
            jobs(dir.path()),
            BTreeMap::new(),
            &settings(dir.path(), 1, false),
            &reporter,
        )
        .await;
        assert_eq!(builder.most_at_once(), 1);
    }

    #[tokio::test]
    async fn a_failure_skips_its_dependents_and_the_rest_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let builder = engine(vec!["a"]);
        let reporter: SharedReporter = Arc::new(NullReporter);
        let results = run(
            &builder,
            jobs(dir.path()),
            BTreeMap::new(),
            &settings(dir.path(), 2, false),
            &reporter,
        )
        .await;
        assert_eq!(
            outcomes(&results),
            [
                ("a".into(), Outcome::Failed),
                ("b".into(), Outcome::Skipped),
                ("c".into(), Outcome::Skipped),
                ("d".into(), Outcome::Built)
            ]
        );
        let b = results.iter().find(|r| r.name.as_str() == "b").unwrap();
        assert_eq!(b.error.as_deref(), Some("it builds on `a`, which failed"));
        let c = results.iter().find(|r| r.name.as_str() == "c").unwrap();
        assert_eq!(c.error.as_deref(), Some("it builds on `b`, which failed"));
        assert!(!builder.built().contains(&"b".to_string()));
    }

    #[tokio::test]
    async fn fail_fast_starts_nothing_after_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let builder = engine(vec!["a"]);
        let reporter: SharedReporter = Arc::new(NullReporter);
        let results = run(
            &builder,
            jobs(dir.path()),
            BTreeMap::new(),
            &settings(dir.path(), 1, true),
            &reporter,
        )
        .await;
        let outcomes = outcomes(&results);
        assert_eq!(outcomes[0], ("a".into(), Outcome::Failed));
        assert_eq!(builder.built(), ["a"]);
        assert!(
            outcomes[1..]
                .iter()
                .all(|(_, o)| matches!(o, Outcome::Skipped | Outcome::Cancelled)),
            "{outcomes:?}"
        );
    }

    #[tokio::test]
    async fn an_image_already_present_feeds_its_reference_to_dependents() {
        let dir = tempfile::tempdir().unwrap();
        let builder = engine(Vec::new());
        let reporter: SharedReporter = Arc::new(NullReporter);
        let mut all = jobs(dir.path());
        all.remove(0); // `a` is present
        let present = BTreeMap::from([(
            "a".parse::<ImageName>().unwrap(),
            "registry.example/a:key-x".to_string(),
        )]);
        run(
            &builder,
            all,
            present,
            &settings(dir.path(), 2, false),
            &reporter,
        )
        .await;
        assert_eq!(builder.args("b")["A_IMAGE"], "registry.example/a:key-x");
    }
}
