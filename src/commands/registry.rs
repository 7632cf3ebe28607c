//! The registry side of a command: connect to the manifest's registry, make sure its
//! repositories exist, and look up which key tags it has (no pull).

use std::collections::HashMap;

use futures_util::future::join_all;

use super::Failure;
use crate::cli::Session;
use crate::manifest::ManifestError;
use crate::names::{Digest, ImageName};
use crate::observe::Observation;
use crate::registry::Registry;
use crate::report::{Event, Level};

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
    observation: &Observation,
) -> Result<HashMap<ImageName, Digest>, Failure> {
    let registry = connect(observation).await?;
    lookup(&registry, observation).await
}
