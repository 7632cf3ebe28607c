//! Registry credentials and where they came from: the environment, the Docker config file (and
//! its credential helpers), ECR's authorization token, or none. Plain data: `credential_chain.rs`
//! looks them up.

use std::fmt;
use std::path::PathBuf;

use crate::secret::Secret;

/// Env var naming the registry user; takes precedence over the Docker config file.
pub const USERNAME_VAR: &str = "FLEET_IMAGES_REGISTRY_USERNAME";
/// Env var holding the registry password; set together with [`USERNAME_VAR`].
pub const PASSWORD_VAR: &str = "FLEET_IMAGES_REGISTRY_PASSWORD";

/// A user name and password (or token) for a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name (`AWS` for ECR).
    pub username: String,
    /// Password or token.
    pub password: Secret,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}, <redacted>)", self.username)
    }
}

/// Where a registry's credentials came from, so that an auth error can say which ones failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// [`USERNAME_VAR`] and [`PASSWORD_VAR`].
    Environment,
    /// `auths` in this Docker config file.
    DockerConfig(PathBuf),
    /// A Docker credential helper, `docker-credential-<name>` (`credHelpers` or `credsStore`).
    Helper(String),
    /// The token of ECR's `GetAuthorizationToken`.
    Ecr,
    /// None were found: requests are anonymous.
    Anonymous,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Environment => {
                write!(f, "the credentials from {USERNAME_VAR}/{PASSWORD_VAR}")
            }
            CredentialSource::DockerConfig(path) => {
                write!(f, "the credentials from `{}`", path.display())
            }
            CredentialSource::Helper(name) => {
                write!(f, "the credentials from `docker-credential-{name}`")
            }
            CredentialSource::Ecr => f.write_str("the ECR authorization token"),
            CredentialSource::Anonymous => f.write_str("anonymous access (no credentials found)"),
        }
    }
}
