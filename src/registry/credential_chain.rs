//! The chain that finds a plain registry's credentials: the environment first, then the Docker
//! config file and the credential helpers it names, else anonymous access.

use super::credentials::{CredentialSource, Credentials, PASSWORD_VAR, USERNAME_VAR};
use super::docker_config::{self, ConfigAnswer};
use super::error::{DockerConfigProblem, RegistryError};
use super::options::ConnectOptions;

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
                problem: DockerConfigProblem::Read(e),
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
