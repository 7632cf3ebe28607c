//! The build scheduler: every image to build starts once the images it builds on are done, at
//! most `jobs` at once; a failure skips its dependents while independent images go on (unless
//! `fail_fast`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::logs::Log;
use super::outcome::{ImageResult, Outcome};
use crate::docker::{self, BuildRequest, Engine, EngineCredentials};
use crate::error::render;
use crate::hash::ImageInputs;
use crate::manifest::ImageSpec;
use crate::names::{ImageName, Key, Tag};
use crate::report::{format_duration, Event, Level, SharedReporter};

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
}

/// The local tag of a key: `<repository>:key-…`.
pub fn local_ref(spec: &ImageSpec, key: &Key) -> String {
    format!("{}:{}", spec.repository, key.tag())
}

/// Builds `jobs`; `available` holds, for each image already present (local or remote), the
/// reference a dependent's `<NAME>_IMAGE` build arg gets. Returns one result per job.
pub async fn run(
    engine: &Engine,
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

async fn build_one(
    engine: &Engine,
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
    let log = Arc::new(Mutex::new(Log::create(&settings.state_dir, name.as_str())));
    let tag = local_ref(&job.spec, &job.key);
    let request = BuildRequest {
        inputs: job.inputs.clone(),
        key: job.key,
        args: build_args(&job.spec, &refs),
        target: job.spec.target.clone(),
        platform: job.spec.platform.clone(),
        labels: settings.labels.clone(),
        tag: tag.clone(),
        no_cache: settings.no_cache,
        pull: settings.pull,
        credentials: settings.credentials.clone(),
    };
    let outcome = {
        let log = log.clone();
        let reporter = reporter.clone();
        let subject = subject.clone();
        docker::build(engine, request, move |line| {
            log.lock().expect("log lock").line(line);
            if line.starts_with("Step ") {
                reporter.event(Event::Step {
                    subject: &subject,
                    text: line,
                });
            } else {
                reporter.event(Event::Line {
                    subject: &subject,
                    text: line,
                });
            }
        })
        .await
    };
    let mut result = ImageResult::new(name.clone(), Some(job.key), Outcome::Built);
    result.duration = started.elapsed();
    match outcome {
        Ok(id) => {
            result.tags.push(tag);
            for moving in job.spec.tags.iter().chain(&settings.extra_tags) {
                match engine
                    .tag(&id, job.spec.repository.as_str(), moving.as_str())
                    .await
                {
                    Ok(()) => result
                        .tags
                        .push(format!("{}:{moving}", job.spec.repository)),
                    Err(error) => reporter.event(Event::Note {
                        subject: &subject,
                        level: Level::Warn,
                        text: &render(&error),
                    }),
                }
            }
            result.image_id = Some(id);
            reporter.event(Event::Finished {
                subject: &subject,
                ok: true,
                summary: &format!("built {}", job.key.short()),
                duration: result.duration,
            });
        }
        Err(mut error) => {
            let log = log.lock().expect("log lock");
            if let crate::docker::EngineError::Build { log: path, .. } = &mut error {
                *path = Some(log.path().to_path_buf());
            }
            let tail = log.tail();
            let text = render(&error);
            let mut detail = text.clone();
            if !tail.is_empty() {
                detail.push_str(&format!(
                    "\n  last lines of the log ({}):",
                    log.path().display()
                ));
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
        }
    }
    result
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
