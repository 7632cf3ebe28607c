//! `check`: the deployment lessons (`aws-deployment-lessons.md`) as rules over manifests,
//! Dockerfiles, build contexts and built images.
//!
//! Each image is checked in two parts:
//!
//! - **static rules** read the manifest, the parsed Dockerfile (its final stage) and the context
//!   entries that would be sent; they need no engine: `floating-base`, `secret-in-context`, and the
//!   Dockerfile view of `privileged-port`, `healthcheck`, `env-file` and `element-config`;
//! - **image rules** read the built image's configuration (user, exposed ports, environment,
//!   healthcheck, architecture, entrypoint and command) and, through a created and never started
//!   container and the archive API, files in it: `privileged-port`, `healthcheck`, `env-file`,
//!   `element-config`, `platform-mismatch`, `entrypoint-exists` (this one has no Dockerfile view:
//!   only the built image shows what the build produced). When the image is available they replace their Dockerfile view, since
//!   the image also holds what the base image set; when it is not built, a [`Note`] says they were
//!   skipped, and that is not an error.
//!
//! What a static rule cannot decide (a file the Dockerfile does not copy in may come from the base
//! image) becomes a note, never a guess. `[images.<name>.check] allow = ["rule-id"]` skips a rule
//! for that image.

mod address;
mod copies;
mod element_config;
mod entrypoint;
mod env_files;
mod files;
mod finding;
mod floating_base;
mod healthcheck;
mod platform;
mod privileged_port;
pub mod rules;
mod run_config;
mod secrets;
#[cfg(test)]
mod tests;

use futures_util::StreamExt;

pub use finding::{CheckReport, Failure, Finding, Note, Severity};
pub use rules::{Rule, RULES};

use crate::docker::{ContainerEngine, ContainerRequest, EngineError, TestContainer};
use crate::error::did_you_mean;
use crate::hash::ImageInputs;
use crate::manifest::ImageSpec;
use files::Files;
use run_config::RunConfig;

/// How many images are checked at once (image rules make a few engine calls each).
const PARALLEL: usize = 4;

/// One image to check.
#[derive(Debug, Clone, Copy)]
pub struct CheckTarget<'a> {
    /// The image's manifest entry.
    pub spec: &'a ImageSpec,
    /// Its inputs (parsed Dockerfile, sent context entries); `None` when they could not be read,
    /// which skips the static rules with a note.
    pub inputs: Option<&'a ImageInputs>,
    /// The local image to run the image rules on (an id such as `sha256:…`, or a reference the
    /// engine has); `None` when it is not built, which skips them with a note.
    pub image: Option<&'a str>,
}

/// What one image's check found.
#[derive(Default)]
struct Outcome {
    findings: Vec<Finding>,
    notes: Vec<Note>,
    failure: Option<Failure>,
}

/// Checks the images. `engine` (the real [`crate::docker::Engine`], or a double in the unit tests)
/// is needed for the image rules only; without it they are skipped with a note. Never fails as a
/// whole: an engine failure for one image is recorded in [`CheckReport::failures`] and that
/// image's static rules run instead.
pub async fn check<E: ContainerEngine>(
    targets: &[CheckTarget<'_>],
    engine: Option<&E>,
) -> CheckReport {
    let outcomes: Vec<Outcome> =
        futures_util::stream::iter(targets.iter().map(|t| check_one(t, engine)))
            .buffered(PARALLEL)
            .collect()
            .await;
    let mut report = CheckReport::default();
    for outcome in outcomes {
        report.findings.extend(outcome.findings);
        report.notes.extend(outcome.notes);
        report.failures.extend(outcome.failure);
    }
    report
}

async fn check_one<E: ContainerEngine>(target: &CheckTarget<'_>, engine: Option<&E>) -> Outcome {
    let spec = target.spec;
    let image = &spec.name;
    let mut out = Outcome::default();
    let note = |rule: Option<&'static str>, text: String| Note {
        image: image.clone(),
        rule,
        text,
    };

    for id in &spec.check.allow {
        if rules::rule(id).is_none() {
            let suggestion = did_you_mean(id, RULES.iter().map(|r| r.id))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            let known: Vec<&str> = RULES.iter().map(|r| r.id).collect();
            out.findings.push(
                Finding::new(
                    rules::UNKNOWN_RULE,
                    Severity::Warning,
                    image,
                    format!("`[images.{image}.check] allow` names `{id}`, which is not a rule"),
                    format!("{suggestion}the rules are {}", known.join(", ")),
                )
                .at(spec.location.to_string()),
            );
        }
    }

    if let Some(inputs) = target.inputs {
        let dockerfile = inputs.dockerfile.display().to_string();
        if allowed(spec, rules::FLOATING_BASE) {
            out.findings
                .extend(floating_base::check(image, &dockerfile, &inputs.bases));
        }
        if allowed(spec, rules::SECRET_IN_CONTEXT) {
            out.findings.extend(secrets::check(inputs));
        }
    }

    let mut image_checked = false;
    match (engine, target.image) {
        (Some(engine), Some(reference)) => match image_rules(engine, reference, spec).await {
            Ok(Some(found)) => {
                out.findings.extend(found.findings);
                out.notes.extend(found.notes);
                image_checked = true;
            }
            Ok(None) => out.notes.push(note(
                None,
                format!("image rules skipped: the engine has no image `{reference}`; build it with `fleet-images build {image}`"),
            )),
            Err(error) => out.failure = Some(Failure { image: image.clone(), error }),
        },
        (None, _) => out.notes.push(note(None, "image rules skipped: no Docker engine to read the image from".into())),
        (Some(_), None) => out.notes.push(note(
            None,
            format!("image rules skipped: `{image}` is not built locally (build it with `fleet-images build {image}` to check the image itself)"),
        )),
    }

    if !image_checked {
        match target.inputs {
            Some(inputs) => static_rules::<E::Container>(spec, inputs, &mut out).await,
            None => out.notes.push(note(
                None,
                "static rules skipped: the image's inputs could not be read".into(),
            )),
        }
    }
    out
}

fn allowed(spec: &ImageSpec, rule: &str) -> bool {
    !spec.check.allow.iter().any(|a| a == rule)
}

/// The Dockerfile view of the rules that the image would otherwise answer. `C` only names the
/// container type of [`Files`], whose context view never uses one.
async fn static_rules<C: TestContainer>(spec: &ImageSpec, inputs: &ImageInputs, out: &mut Outcome) {
    let image = &spec.name;
    let Some(index) = run_config::final_stage(&inputs.parsed, spec.target.as_deref()) else {
        out.notes.push(Note {
            image: image.clone(),
            rule: None,
            text: "the Dockerfile has no stage to check".into(),
        });
        return;
    };
    let stage = &inputs.parsed.stages[index];
    let config = RunConfig::from_stage(&inputs.parsed, index);
    if allowed(spec, rules::PRIVILEGED_PORT) {
        out.findings.extend(privileged_port::check(image, &config));
    }
    if allowed(spec, rules::HEALTHCHECK) {
        out.findings.extend(healthcheck::check(spec, &config));
    }
    let text = String::from_utf8_lossy(&inputs.dockerfile_bytes);
    let files: Files<'_, C> = Files::Context {
        copies: copies::stage_copies(&text, Some(stage.line)),
        inputs,
    };
    // Context lookups never call the engine, so they cannot fail.
    if let Ok(found) = file_rules(spec, &config, &files, &mut out.notes).await {
        out.findings.extend(found);
    }
}

/// `env-file` and `element-config`, through `files`.
async fn file_rules(
    spec: &ImageSpec,
    config: &RunConfig,
    files: &Files<'_, impl TestContainer>,
    notes: &mut Vec<Note>,
) -> Result<Vec<Finding>, EngineError> {
    let mut findings = Vec::new();
    if allowed(spec, rules::ENV_FILE) && !spec.check.env_files.is_empty() {
        findings.extend(
            env_files::check(&spec.name, &spec.check.env_files, config, files, notes).await?,
        );
    }
    if let Some(path) = spec
        .check
        .element_config
        .as_deref()
        .filter(|_| allowed(spec, rules::ELEMENT_CONFIG))
    {
        findings.extend(element_config::check(&spec.name, path, files, notes).await?);
    }
    Ok(findings)
}

/// Findings and notes of the image rules.
#[derive(Default)]
struct Found {
    findings: Vec<Finding>,
    notes: Vec<Note>,
}

/// The image rules; `None` when the engine has no such image.
async fn image_rules<E: ContainerEngine>(
    engine: &E,
    reference: &str,
    spec: &ImageSpec,
) -> Result<Option<Found>, EngineError> {
    let Some(details) = engine.inspect_image(reference).await? else {
        return Ok(None);
    };
    let image = &spec.name;
    let config = RunConfig::from_image(&details);
    let mut found = Found::default();
    if allowed(spec, rules::PRIVILEGED_PORT) {
        found
            .findings
            .extend(privileged_port::check(image, &config));
    }
    if allowed(spec, rules::HEALTHCHECK) {
        found.findings.extend(healthcheck::check(spec, &config));
    }
    if allowed(spec, rules::PLATFORM_MISMATCH) {
        found.findings.extend(platform::check(spec, &details));
    }
    let launch = if allowed(spec, rules::ENTRYPOINT_EXISTS) {
        engine.image_config(&details.id).await?
    } else {
        None
    };
    let reads_files = (allowed(spec, rules::ENV_FILE) && !spec.check.env_files.is_empty())
        || (allowed(spec, rules::ELEMENT_CONFIG) && spec.check.element_config.is_some())
        || launch.is_some();
    if reads_files {
        let request = ContainerRequest {
            image: details.id.clone(),
            name: image.to_string(),
            purpose: "check",
            never_started: true,
            ..Default::default()
        };
        let container = engine.create_container(&request).await?;
        let mut result =
            file_rules(spec, &config, &Files::Image(&container), &mut found.notes).await;
        if let (Ok(findings), Some(launch)) = (&mut result, &launch) {
            match entrypoint::check(image, launch, &container, &mut found.notes).await {
                Ok(more) => findings.extend(more),
                Err(error) => result = Err(error),
            }
        }
        let removed = container.remove().await;
        found.findings.extend(result?);
        removed?;
    }
    Ok(Some(found))
}
