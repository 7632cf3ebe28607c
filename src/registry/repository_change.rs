//! What [`super::Registry::ensure_repositories`] did to each repository: a [`RepositoryChange`]
//! with its [`ChangeAction`], as the CLI prints it and `--json-out` writes it. Plain data, shared
//! by the ECR calls that decide the change and the registry that reports it.

use std::fmt;

use crate::names::RepositoryName;

/// One change `ensure_repositories` made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RepositoryChange {
    /// The repository.
    pub repository: RepositoryName,
    /// What was done.
    pub action: ChangeAction,
    /// A warning about it (settings another tool set, a policy it wrote), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What `ensure_repositories` did to a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ChangeAction {
    /// It did not exist and was created with the manifest's settings.
    #[serde(rename = "created")]
    Created,
    /// Its lifecycle policy was missing or different, and was put.
    #[serde(rename = "lifecycle policy set")]
    LifecyclePolicySet,
    /// It exists with settings that differ from the manifest's, and they were left alone (the
    /// repository may be another tool's, such as the fleet's CDK stack).
    #[serde(rename = "kept its own settings")]
    KeptOwnSettings,
}

impl ChangeAction {
    /// The words the CLI prints: `created`, `lifecycle policy set`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeAction::Created => "created",
            ChangeAction::LifecyclePolicySet => "lifecycle policy set",
            ChangeAction::KeptOwnSettings => "kept its own settings",
        }
    }
}

impl fmt::Display for ChangeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
