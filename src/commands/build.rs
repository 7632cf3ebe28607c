//! `build`: build what the engine (or, with `--push`, the registry) does not have, then push,
//! write moving tags and deploy as asked.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::json;

use super::{deploy, push, Failure};
use crate::cli::args::BuildArgs;
use crate::cli::Session;
use crate::docker::Builder;
use crate::error::Exit;
use crate::execute::builds::{self, local_ref, BuildJob, BuildSettings};
use crate::execute::{outcome, ImageResult, Outcome};
use crate::names::ImageName;
use crate::observe::{observe, save_records, Observation, ObserveOptions};
use crate::plan::{self, PlanOptions, Status};
use crate::report::{Event, Level};
use crate::state::KnownImages;

/// Runs `build`.
pub async fn run(session: &Session, args: BuildArgs) -> Result<Exit, Failure> {
    let extra_tags = push::parse_tags(&args.push_options.tags)?;
    // Checked before any work, so a typo does not surface after the builds.
    deploy::parse_timeout(&args.deploy_options.timeout)?;
    let observation = observe(
        session,
        &args.select.images,
        ObserveOptions {
            engine_required: true,
            pull: args.pull,
            save_records: false,
        },
    )
    .await?;
    let registry = if args.push {
        Some(push::connect(&observation).await?)
    } else {
        None
    };
    let remote = match &registry {
        Some(registry) => push::lookup(registry, &observation).await?,
        None => HashMap::new(),
    };
    let plan = plan::plan(
        &push::observed(&observation, &remote),
        PlanOptions {
            force: args.force,
            push: args.push,
            registry_observed: registry.is_some(),
            engine_observed: true,
        },
    );
    if args.dry_run {
        for image in &plan.images {
            let key = image.key.map(|k| k.short()).unwrap_or_else(|| "-".into());
            crate::outln!(
                "{} {} {key} {}",
                image.name,
                image.status.as_str(),
                image.reason
            );
        }
        return Ok(Exit::Success);
    }
    if let Some(registry) = &registry {
        push::ensure_repositories(session, registry, &observation).await?;
    }
    let builder = choose_builder(session, &args, &observation, &plan).await?;

    let work = execute(
        session,
        &args,
        &observation,
        &plan,
        &remote,
        registry.as_ref(),
        &extra_tags,
        builder,
    );
    tokio::pin!(work);
    // Ctrl+C or SIGTERM drops the work, except while moving tags are written: that phase stops by
    // itself and puts back what it moved, then the run ends with its summary and exit 130.
    let finished = loop {
        tokio::select! {
            done = &mut work => break Some(done),
            _ = crate::cli::signal::interrupted() => {
                if !push::moving_tags_being_written() {
                    break None;
                }
            }
        }
    };
    match finished {
        Some((results, exit, deploy_json)) => {
            if exit != Exit::BadInput && results.iter().all(|r| r.outcome.ok()) {
                save_records(session, &observation);
            }
            KnownImages::load(&session.state_dir).remember(
                &session.state_dir,
                results
                    .iter()
                    .filter(|r| r.outcome.ok())
                    .filter_map(|r| Some((r.key?, r.image_id.clone()?))),
            );
            Ok(finish(
                session,
                "fleet-images build",
                &results,
                deploy_json,
                args.push_options.json_out.as_deref(),
                exit,
            ))
        }
        None => {
            session.reporter.finish();
            crate::errln!(
                "interrupted: running builds were cancelled; unfinished images were not tagged"
            );
            // Written even now, so that an older file never stays in place looking current.
            if let Some(path) = args.push_options.json_out.as_deref() {
                let value = json!({ "images": [], "deploy": null, "interrupted": true, "exit_code": Exit::Interrupted.code() });
                if let Err(error) = outcome::write_json(path, &value) {
                    crate::errln!("error: cannot write {}: {error}", path.display());
                }
            }
            Ok(Exit::Interrupted)
        }
    }
}

/// The builder for this run: `--builder`, else `[defaults] builder`, else BuildKit where the
/// engine has it. Asked only when something is to be built.
async fn choose_builder(
    session: &Session,
    args: &BuildArgs,
    observation: &Observation,
    plan: &plan::Plan,
) -> Result<Builder, Failure> {
    let asked = args.builder.or(observation.manifest.builder);
    if !plan.images.iter().any(|i| i.status == Status::Build) {
        return Ok(asked.unwrap_or_default());
    }
    let engine = observation.engine.as_ref().expect("engine required");
    let builder = engine
        .choose_builder(asked)
        .await
        .map_err(|error| Box::new(error) as Failure)?;
    // Syntax the builder cannot serve is refused before anything builds, naming the line.
    for decision in plan.images.iter().filter(|i| i.status == Status::Build) {
        let prepared = observation
            .get(&decision.name)
            .expect("planned images were observed");
        if let Ok(inputs) = &prepared.inputs {
            crate::docker::check_dockerfile(engine, inputs, builder)
                .await
                .map_err(|error| Box::new(error) as Failure)?;
        }
    }
    if asked.is_none() && builder == Builder::Classic {
        session.reporter.event(Event::Note {
            subject: "",
            level: Level::Info,
            text: "the engine has no BuildKit: building with the classic builder",
        });
    }
    Ok(builder)
}

/// Where a build may find layers when its key is not in the registry: the image's moving tags
/// there (`tags` in the manifest and `--tag`), which name the last image pushed from this
/// repository. BuildKit reads their inline cache metadata and fetches only the layers it reuses.
fn cache_sources(
    registry: &crate::registry::Registry,
    spec: &crate::manifest::ImageSpec,
    extra_tags: &[crate::names::Tag],
) -> Vec<String> {
    let name = registry.image_name(&spec.repository);
    let mut sources: Vec<String> = Vec::new();
    for tag in spec.tags.iter().chain(extra_tags) {
        let reference = format!("{name}:{tag}");
        if !sources.contains(&reference) {
            sources.push(reference);
        }
    }
    sources
}

#[allow(clippy::too_many_arguments)] // the build's inputs, until `execute` moves to src/execute/ (issue 15)
async fn execute(
    session: &Session,
    args: &BuildArgs,
    observation: &Observation,
    plan: &plan::Plan,
    remote: &HashMap<ImageName, crate::names::Digest>,
    registry: Option<&crate::registry::Registry>,
    extra_tags: &[crate::names::Tag],
    builder: Builder,
) -> (Vec<ImageResult>, Exit, Option<serde_json::Value>) {
    let engine = observation.engine.as_ref().expect("engine required");
    let mut exit = Exit::Success;
    let mut results: Vec<ImageResult> = Vec::new();
    let mut available: BTreeMap<ImageName, String> = BTreeMap::new();
    let mut jobs = Vec::new();
    let mut cache_from = HashMap::new();
    for decision in &plan.images {
        let prepared = observation
            .get(&decision.name)
            .expect("planned images were observed");
        match decision.status {
            Status::Blocked => {
                let mut result =
                    ImageResult::new(decision.name.clone(), decision.key, Outcome::Blocked);
                result.error = Some(decision.reason.clone());
                session.reporter.event(Event::Note {
                    subject: decision.name.as_str(),
                    level: Level::Error,
                    text: &decision.reason,
                });
                exit = exit.worst(match prepared.blocked_exit() {
                    Exit::Success => Exit::BadInput,
                    blocked => blocked,
                });
                results.push(result);
            }
            Status::Local => {
                let key = decision.key.expect("local images have a key");
                let mut result = ImageResult::new(decision.name.clone(), Some(key), Outcome::Local);
                result.image_id = prepared.local.clone();
                // The image may carry this key under another repository (the manifest's
                // `repository` changed, or another fleet has the same inputs): dependents name it
                // by this repository's key tag, so make sure that tag exists.
                let key_tag = key.tag();
                let moving: &[crate::names::Tag] = if args.no_release {
                    &[]
                } else {
                    &prepared.spec.tags
                };
                for tag in std::iter::once(&key_tag).chain(moving).chain(extra_tags) {
                    let id = prepared.local.as_deref().expect("local images have an id");
                    let name = format!("{}:{tag}", prepared.spec.repository);
                    if prepared.local_tags.contains(&name) {
                        result.tags.push(name);
                        continue;
                    }
                    match engine
                        .tag(id, prepared.spec.repository.as_str(), tag.as_str())
                        .await
                    {
                        Ok(()) => result
                            .tags
                            .push(format!("{}:{tag}", prepared.spec.repository)),
                        // A tag that could not be applied fails the run: `latest` would
                        // silently name an older image.
                        Err(error) => {
                            session.reporter.event(Event::Note {
                                subject: decision.name.as_str(),
                                level: Level::Error,
                                text: &crate::error::render(&error),
                            });
                            exit = exit
                                .worst(Exit::Failed)
                                .worst(crate::error::Diagnostic::exit(&error));
                        }
                    }
                }
                available.insert(decision.name.clone(), local_ref(&prepared.spec, &key));
                session.reporter.event(Event::Finished {
                    subject: decision.name.as_str(),
                    ok: true,
                    summary: &format!("up to date ({})", key.short()),
                    duration: Default::default(),
                });
                results.push(result);
            }
            Status::Remote => {
                let key = decision.key.expect("remote images have a key");
                let mut result =
                    ImageResult::new(decision.name.clone(), Some(key), Outcome::Remote);
                result.digest = remote.get(&decision.name).cloned();
                if let Some(registry) = registry {
                    // Pinned to the digest the registry gave for the key tag: a dependent's build
                    // pulls exactly that (and only when it needs it), whatever the tag says later.
                    let reference = match &result.digest {
                        Some(digest) => format!(
                            "{}@{digest}",
                            registry.image_name(&prepared.spec.repository)
                        ),
                        None => format!(
                            "{}:{}",
                            registry.image_name(&prepared.spec.repository),
                            key.tag()
                        ),
                    };
                    available.insert(decision.name.clone(), reference);
                }
                session.reporter.event(Event::Finished {
                    subject: decision.name.as_str(),
                    ok: true,
                    summary: &format!("in the registry ({})", key.short()),
                    duration: Default::default(),
                });
                results.push(result);
            }
            Status::Build => {
                if let Some(registry) = registry {
                    let sources = cache_sources(registry, &prepared.spec, extra_tags);
                    if !sources.is_empty() && !args.no_cache {
                        cache_from.insert(decision.name.clone(), sources);
                    }
                }
                let inputs = prepared
                    .inputs
                    .as_ref()
                    .expect("buildable images have inputs")
                    .clone();
                let mut spec = prepared.spec.clone();
                if args.no_release {
                    // Key tag only: `release` writes the moving tags once every runner is done.
                    spec.tags.clear();
                }
                jobs.push(BuildJob {
                    spec,
                    inputs,
                    key: decision.key.expect("buildable images have a key"),
                });
            }
        }
    }
    let settings = BuildSettings {
        jobs: args.jobs,
        fail_fast: args.fail_fast,
        no_cache: args.no_cache,
        pull: args.pull,
        labels: revision_labels(&observation.manifest.dir),
        credentials: registry
            .and_then(|r| r.engine_credentials())
            .into_iter()
            .collect(),
        state_dir: session.state_dir.clone(),
        extra_tags: extra_tags.to_vec(),
        builder,
        cache_from,
        // Every BuildKit image carries the metadata a later runner's cache-from reads, also when
        // it is pushed by a later `push` (a few hundred bytes of config; not part of the key).
        inline_cache: true,
    };
    let built = builds::run(engine, jobs, available, &settings, &session.reporter).await;
    results.extend(built);
    // Dependency order, as planned.
    results.sort_by_key(|r| plan.images.iter().position(|p| p.name == r.name));
    if results.iter().any(|r| {
        matches!(
            r.outcome,
            Outcome::Failed | Outcome::Skipped | Outcome::Cancelled
        )
    }) {
        exit = exit.worst(Exit::Failed);
    }
    // A build that lost the engine is a service failure (3), not a failed step.
    for result in &results {
        if let Some(code) = result.exit {
            exit = exit.worst(code);
        }
    }

    let mut deploy_json = None;
    if let Some(registry) = registry {
        let needs_push: Vec<ImageName> = plan
            .images
            .iter()
            .filter(|p| p.push)
            .map(|p| p.name.clone())
            .collect();
        let pushed = push::push_keys(
            session,
            engine,
            registry,
            observation,
            &needs_push,
            &mut results,
            args.jobs,
        )
        .await;
        exit = exit.worst(pushed);
        if args.no_release {
            if results.iter().any(|r| !r.outcome.ok()) {
                exit = exit.worst(Exit::Failed);
            }
        } else {
            exit = exit.worst(
                push::write_moving_tags_interruptible(
                    session,
                    registry,
                    observation,
                    &mut results,
                    extra_tags,
                )
                .await,
            );
        }
        if args.deploy {
            if exit == Exit::Success {
                let (deploy_exit, json) = deploy::deploy_results(
                    session,
                    registry,
                    observation,
                    &results,
                    &args.deploy_options,
                )
                .await;
                exit = exit.worst(deploy_exit);
                deploy_json = json;
            } else {
                session.reporter.event(Event::Note {
                    subject: "",
                    level: Level::Warn,
                    text: "not deploying: not every image was built and pushed",
                });
                // Said in --json-out too: `null` would read as "no deploy asked".
                deploy_json = Some(json!({ "skipped": "not every image was built and pushed" }));
            }
        }
    }
    (results, exit, deploy_json)
}

/// `org.opencontainers.image.revision` and `.source` from the checkout the manifest is in (or
/// the CI's environment). Credentials in a remote URL are never copied into a label.
fn revision_labels(dir: &Path) -> HashMap<String, String> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let mut labels = HashMap::new();
    let revision = std::env::var("GITHUB_SHA")
        .ok()
        .or_else(|| git(&["rev-parse", "HEAD"]));
    if let Some(revision) = revision {
        labels.insert("org.opencontainers.image.revision".to_string(), revision);
    }
    let source = match (
        std::env::var("GITHUB_SERVER_URL"),
        std::env::var("GITHUB_REPOSITORY"),
    ) {
        (Ok(server), Ok(repo)) => Some(format!("{server}/{repo}")),
        _ => git(&["config", "--get", "remote.origin.url"]).map(|url| strip_userinfo(&url)),
    };
    if let Some(source) = source {
        labels.insert("org.opencontainers.image.source".to_string(), source);
    }
    labels
}

fn strip_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((userinfo, host)) if !userinfo.contains('/') => format!("{scheme}://{host}"),
            _ => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Prints the summary, writes `--json-out` and the step summary, and returns the exit code.
pub fn finish(
    session: &Session,
    title: &str,
    results: &[ImageResult],
    deploy: Option<serde_json::Value>,
    json_out: Option<&Path>,
    exit: Exit,
) -> Exit {
    session.reporter.finish();
    if !session.json_progress && (!session.quiet || exit != Exit::Success) {
        crate::errout!("\n{}", outcome::table(results));
    }
    outcome::append_step_summary(title, results);
    if let Some(path) = json_out {
        let value = json!({ "images": results, "deploy": deploy, "exit_code": exit.code() });
        if let Err(error) = outcome::write_json(path, &value) {
            crate::errln!("error: cannot write {}: {error}", path.display());
            return exit.worst(Exit::BadInput);
        }
    }
    exit
}

#[cfg(test)]
mod tests {
    use super::strip_userinfo;

    #[test]
    fn credentials_never_reach_the_source_label() {
        assert_eq!(
            strip_userinfo("https://user:ghp_secret@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            strip_userinfo("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
        assert_eq!(
            strip_userinfo("https://github.com/o/r"),
            "https://github.com/o/r"
        );
    }
}
