//! Registry credentials and where they came from: the environment, the Docker config file (and
//! its credential helpers), ECR's authorization token, or none.

use std::fmt;
use std::path::PathBuf;

use super::docker_config::{self, ConfigAnswer};
use super::{ConnectOptions, RegistryError, Secret};

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

/// Finds the credentials for `host` of a plain registry: the environment first, then the Docker
/// config file (`credHelpers.<host>`, then `credsStore`, then `auths.<host>`), else none.
pub(crate) async fn resolve(
    host: &str,
    options: &ConnectOptions,
) -> Result<(Option<Credentials>, CredentialSource), RegistryError> {
    match (&options.username, &options.password) {
        (Some(username), Some(password)) => {
            return Ok((
                Some(Credentials {
                    username: username.clone(),
                    password: password.clone(),
                }),
                CredentialSource::Environment,
            ))
        }
        (Some(_), None) => {
            return Err(RegistryError::IncompleteCredentials {
                set: USERNAME_VAR,
                missing: PASSWORD_VAR,
            })
        }
        (None, Some(_)) => {
            return Err(RegistryError::IncompleteCredentials {
                set: PASSWORD_VAR,
                missing: USERNAME_VAR,
            })
        }
        (None, None) => {}
    }
    let Some(path) = &options.docker_config else {
        return Ok((None, CredentialSource::Anonymous));
    };
    let text = match crate::input_file::read_text_capped(path, crate::input_file::CONFIG_CAP) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((None, CredentialSource::Anonymous))
        }
        Err(e) => {
            return Err(RegistryError::DockerConfig {
                path: path.clone(),
                problem: super::error::DockerConfigProblem::Read(e),
            })
        }
    };
    let answer =
        docker_config::lookup(&text, host).map_err(|problem| RegistryError::DockerConfig {
            path: path.clone(),
            problem,
        })?;
    let from_helper = |helper: String, fallback: Option<Credentials>| async move {
        let server = docker_config::helper_server_url(host);
        let program = format!("docker-credential-{helper}");
        match docker_config::run_helper(&program, &server).await {
            Ok(Some(credentials)) => Ok((Some(credentials), CredentialSource::Helper(helper))),
            Ok(None) => match fallback {
                Some(credentials) => Ok((
                    Some(credentials),
                    CredentialSource::DockerConfig(path.clone()),
                )),
                None => Ok((None, CredentialSource::Anonymous)),
            },
            Err(problem) => Err(RegistryError::CredentialHelper {
                helper,
                host: host.to_string(),
                problem,
            }),
        }
    };
    match answer {
        ConfigAnswer::Helper { helper, fallback } => from_helper(helper, fallback).await,
        ConfigAnswer::Auth(credentials) => Ok((
            Some(credentials),
            CredentialSource::DockerConfig(path.clone()),
        )),
        ConfigAnswer::None => Ok((None, CredentialSource::Anonymous)),
    }
}
