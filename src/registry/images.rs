//! The registry as the execute layer sees it: the name the engine pushes to, the credentials it
//! pushes with, and the calls that look up, confirm and move tags. [`ImageRegistry`] speaks the
//! project's own types; [`Registry`] implements it (ECR or an OCI distribution registry), a double
//! implements it in the unit tests of `src/execute/`.

use std::future::Future;

use super::error::RegistryError;
use super::target::{Registry, Retagged};
use crate::docker::EngineCredentials;
use crate::names::{Digest, RepositoryName, Tag};

/// The registry calls that carry out a plan.
pub trait ImageRegistry: Sync {
    /// `host/path`: the name the engine tags and pushes for `repository`.
    fn image_name(&self, repository: &RepositoryName) -> String;

    /// The credentials for the engine's push; `None` for anonymous access.
    fn engine_credentials(&self) -> Option<EngineCredentials>;

    /// The confirmed digest `repository:tag` names; `None` when the tag does not exist.
    fn lookup(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> impl Future<Output = Result<Option<Digest>, RegistryError>> + Send;

    /// Whether the registry serves the manifest `digest` in `repository`.
    fn confirm(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> impl Future<Output = Result<bool, RegistryError>> + Send;

    /// Makes `tag` name `digest` in `repository` without pulling.
    fn retag(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tag: &Tag,
    ) -> impl Future<Output = Result<Retagged, RegistryError>> + Send;
}

impl ImageRegistry for Registry {
    fn image_name(&self, repository: &RepositoryName) -> String {
        Registry::image_name(self, repository)
    }

    fn engine_credentials(&self) -> Option<EngineCredentials> {
        Registry::engine_credentials(self)
    }

    fn lookup(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> impl Future<Output = Result<Option<Digest>, RegistryError>> + Send {
        Registry::lookup(self, repository, tag)
    }

    fn confirm(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> impl Future<Output = Result<bool, RegistryError>> + Send {
        Registry::confirm(self, repository, digest)
    }

    fn retag(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tag: &Tag,
    ) -> impl Future<Output = Result<Retagged, RegistryError>> + Send {
        Registry::retag(self, repository, digest, tag)
    }
}
