#![allow(missing_docs, unused)]
//! Placeholder until the registry subsystem lands.
use crate::docker::EngineCredentials;
use crate::error::{Diagnostic, Exit};
use crate::manifest::RegistryConfig;
use crate::names::{Digest, RepositoryName};

#[derive(Debug)]
pub struct Registry;
#[derive(Debug, thiserror::Error)]
#[error("registry support is not built yet")]
pub struct RegistryError;
impl Diagnostic for RegistryError {
    fn exit(&self) -> Exit {
        Exit::Unavailable
    }
}
#[derive(Debug, Clone)]
pub struct RepositoryChange {
    pub repository: String,
    pub action: String,
}
impl Registry {
    pub async fn connect(config: &RegistryConfig) -> Result<Registry, RegistryError> {
        Err(RegistryError)
    }
    pub fn host(&self) -> &str {
        ""
    }
    pub fn image_name(&self, repo: &RepositoryName) -> String {
        String::new()
    }
    pub fn engine_credentials(&self) -> Option<EngineCredentials> {
        None
    }
    pub async fn ensure_repositories(
        &self,
        repos: &[RepositoryName],
    ) -> Result<Vec<RepositoryChange>, RegistryError> {
        Err(RegistryError)
    }
    pub async fn lookup(
        &self,
        repo: &RepositoryName,
        tag: &str,
    ) -> Result<Option<Digest>, RegistryError> {
        Err(RegistryError)
    }
    pub async fn retag(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        tag: &str,
    ) -> Result<(), RegistryError> {
        Err(RegistryError)
    }
}
