//! An in-memory registry for the unit tests of the execute layer: tags naming digests per
//! repository, the manifests it serves, a log of every call, and failures on request.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use super::error::{Action, Place, RegistryError};
use super::images::ImageRegistry;
use super::target::Retagged;
use crate::docker::EngineCredentials;
use crate::names::{Digest, RepositoryName, Tag};

/// The host in every image name the double gives.
pub(crate) const HOST: &str = "registry.test";

/// One call the double received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Call {
    /// A push landed `repository:tag` (through [`FakeRegistry::put`]).
    Put(String),
    /// `lookup` of `repository:tag`.
    Lookup(String),
    /// `confirm` of `repository@digest`.
    Confirm(String),
    /// `retag`: `repository:tag` to a digest.
    Retag(String, Digest),
}

/// The registry double.
#[derive(Default)]
pub(crate) struct FakeRegistry {
    /// `repository:tag` whose write fails with HTTP 503 (exit 3).
    pub fail_retag: Vec<String>,
    /// `repository:tag` whose lookup fails with HTTP 503.
    pub fail_lookup: Vec<String>,
    /// What the double holds and saw (read through the methods).
    pub seen: Seen,
}

/// What the registry double holds and saw.
#[derive(Default)]
pub(crate) struct Seen {
    state: Mutex<State>,
    calls: Mutex<Vec<Call>>,
}

#[derive(Default)]
struct State {
    tags: BTreeMap<(String, String), Digest>,
    manifests: BTreeSet<(String, Digest)>,
}

impl FakeRegistry {
    /// Stores a manifest and points `repository:tag` at it (as a push does).
    pub fn put(&self, repository: &str, tag: &str, digest: &Digest) {
        self.seen
            .calls
            .lock()
            .unwrap()
            .push(Call::Put(format!("{repository}:{tag}")));
        let mut state = self.seen.state.lock().unwrap();
        state
            .manifests
            .insert((repository.to_string(), digest.clone()));
        state
            .tags
            .insert((repository.to_string(), tag.to_string()), digest.clone());
    }

    /// What `repository:tag` names.
    pub fn tag(&self, repository: &str, tag: &str) -> Option<Digest> {
        let state = self.seen.state.lock().unwrap();
        state
            .tags
            .get(&(repository.to_string(), tag.to_string()))
            .cloned()
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.seen.calls.lock().unwrap().clone()
    }

    /// The writes so far, in order.
    pub fn retags(&self) -> Vec<(String, Digest)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Retag(reference, digest) => Some((reference, digest)),
                _ => None,
            })
            .collect()
    }

    fn unavailable(repository: &str, reference: &str, action: Action) -> RegistryError {
        RegistryError::ServerError {
            place: Place {
                host: HOST.into(),
                repository: Some(repository.into()),
                reference: Some(reference.into()),
            },
            action,
            status: 503,
            attempts: 1,
            message: String::new(),
        }
    }
}

impl ImageRegistry for FakeRegistry {
    fn image_name(&self, repository: &RepositoryName) -> String {
        format!("{HOST}/{repository}")
    }

    fn engine_credentials(&self) -> Option<EngineCredentials> {
        None
    }

    async fn lookup(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> Result<Option<Digest>, RegistryError> {
        let reference = format!("{repository}:{tag}");
        self.seen
            .calls
            .lock()
            .unwrap()
            .push(Call::Lookup(reference.clone()));
        if self.fail_lookup.contains(&reference) {
            return Err(Self::unavailable(
                repository.as_str(),
                tag.as_str(),
                Action::Lookup,
            ));
        }
        Ok(self.tag(repository.as_str(), tag.as_str()))
    }

    async fn confirm(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        self.seen
            .calls
            .lock()
            .unwrap()
            .push(Call::Confirm(format!("{repository}@{digest}")));
        let state = self.seen.state.lock().unwrap();
        Ok(state
            .manifests
            .contains(&(repository.to_string(), digest.clone())))
    }

    async fn retag(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tag: &Tag,
    ) -> Result<Retagged, RegistryError> {
        let reference = format!("{repository}:{tag}");
        self.seen
            .calls
            .lock()
            .unwrap()
            .push(Call::Retag(reference.clone(), digest.clone()));
        if self.fail_retag.contains(&reference) {
            return Err(Self::unavailable(
                repository.as_str(),
                tag.as_str(),
                Action::WriteTag,
            ));
        }
        let mut state = self.seen.state.lock().unwrap();
        let key = (repository.to_string(), tag.to_string());
        if state.tags.get(&key) == Some(digest) {
            return Ok(Retagged::Unchanged);
        }
        state.tags.insert(key, digest.clone());
        Ok(Retagged::Written)
    }
}
