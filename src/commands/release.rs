//! `release`: the last step of a fleet built across runners. Each runner pushed key tags only
//! (`build --push --no-release IMAGE`); this checks that the registry has every selected image's
//! key, then moves the tags and deploys with the same all-or-nothing rule as one
//! `build --push --deploy` run. It builds and pushes nothing.

use std::collections::HashMap;

use super::{deploy, parse_tags, registry, report, Failure};
use crate::cli::args::ReleaseArgs;
use crate::cli::Session;
use crate::error::{Diagnostic, Exit};
use crate::execute::deploy::hand_off;
use crate::execute::moving_tags::{self, Tagging};
use crate::execute::{ImageResult, Outcome};
use crate::manifest::ImageSpec;
use crate::names::{Digest, ImageName, Tag};
use crate::observe::{observe_keys, Observation};
use crate::registry::Registry;
use crate::report::summary::Summary;
use crate::report::{Event, Level};

/// Keys that are not in the registry: exit 1, nothing moved.
#[derive(Debug, thiserror::Error)]
#[error("not released: the registry lacks the key tag of {}: {}", if missing.len() == 1 { "1 image" } else { "these images" }, missing.iter().map(|(name, reference)| format!("`{name}` ({reference})")).collect::<Vec<_>>().join(", "))]
pub struct MissingKeys {
    /// Each missing image with the reference that was looked up.
    pub missing: Vec<(ImageName, String)>,
}

impl Diagnostic for MissingKeys {
    fn exit(&self) -> Exit {
        Exit::Failed
    }

    fn hint(&self) -> Option<String> {
        Some(format!(
            "build and push them first (`fleet-images build --push --no-release {}`), or check that every runner built the same commit with the same `--var`s",
            self.missing
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ))
    }
}

/// Runs `release`.
pub async fn run(session: &Session, args: ReleaseArgs) -> Result<Exit, Failure> {
    let extra_tags = parse_tags(&args.push_options.tags)?;
    deploy::parse_timeout(&args.deploy_options.timeout)?;
    let observation = match observe_keys(session, &args.select.images).await? {
        Ok(observation) => observation,
        Err(blocked) => {
            crate::errln!("{}", blocked.reason());
            return Ok(blocked.exit());
        }
    };
    let registry = registry::connect(&observation).await?;
    let remote = registry::lookup(&registry, &observation).await?;
    let (mut results, missing) = key_results(&observation, &registry, &remote);
    let json_out = args.push_options.json_out.as_deref();
    if !missing.is_empty() {
        let error = MissingKeys { missing };
        let text = crate::error::render(&error);
        session.reporter.event(Event::Note {
            subject: "",
            level: Level::Error,
            // The reporter says `error: ` itself.
            text: text.strip_prefix("error: ").unwrap_or(&text),
        });
        return Ok(report(
            session,
            summary(&results, None, json_out),
            Exit::Failed,
        ));
    }
    if args.dry_run {
        print_release(&observation, &results, &extra_tags);
        return Ok(Exit::Success);
    }
    let specs: Vec<&ImageSpec> = observation.images.iter().map(|p| &p.spec).collect();
    let tagging = Tagging {
        registry: &registry,
        reporter: &session.reporter,
        specs: &specs,
        extra: &extra_tags,
    };
    let exit = moving_tags::write_interruptible(&tagging, &mut results).await;
    let (exit, deploy_json) = if args.deploy {
        let results = &results;
        let deploy = || {
            let flags = &args.deploy_options;
            deploy::deploy_results(session, &registry, &observation, results, flags)
        };
        let why_not = "not every moving tag could be written";
        hand_off(exit, &session.reporter, why_not, deploy).await
    } else {
        (exit, None)
    };
    Ok(report(
        session,
        summary(&results, deploy_json, json_out),
        exit,
    ))
}

/// Each image's key in the registry: a `remote` result with its digest, or a failure naming the
/// reference looked up (also returned in the second list).
fn key_results(
    observation: &Observation,
    registry: &Registry,
    remote: &HashMap<ImageName, Digest>,
) -> (Vec<ImageResult>, Vec<(ImageName, String)>) {
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for prepared in &observation.images {
        let name = prepared.spec.name.clone();
        let key = prepared.key.expect("checked above");
        let reference = format!(
            "{}:{}",
            registry.image_name(&prepared.spec.repository),
            key.tag()
        );
        let mut result = ImageResult::new(name.clone(), Some(key), Outcome::Remote);
        match remote.get(&name) {
            Some(digest) => {
                result.digest = Some(digest.clone());
                result.tags.push(reference);
            }
            None => {
                result.outcome = Outcome::Failed;
                result.error = Some(format!("{reference} is not in the registry"));
                missing.push((name, reference));
            }
        }
        results.push(result);
    }
    (results, missing)
}

/// `--dry-run`: each image's digest and the tags that would move to it.
fn print_release(observation: &Observation, results: &[ImageResult], extra_tags: &[Tag]) {
    for result in results {
        let spec = &observation.get(&result.name).expect("observed").spec;
        let tags: Vec<String> = spec
            .tags
            .iter()
            .chain(extra_tags)
            .map(|t| t.to_string())
            .collect();
        crate::outln!(
            "{} {} -> {}",
            result.name,
            result
                .digest
                .as_ref()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            if tags.is_empty() {
                "(no moving tags)".to_string()
            } else {
                tags.join(", ")
            }
        );
    }
}

fn summary<'a>(
    results: &'a [ImageResult],
    deploy: Option<serde_json::Value>,
    json_out: Option<&'a std::path::Path>,
) -> Summary<'a> {
    Summary {
        title: "fleet-images release",
        results,
        deploy,
        json_out,
    }
}
