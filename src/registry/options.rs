//! What the environment says about registries, read once: endpoint override, credentials,
//! Docker config file, insecure registries, test mode. Tests build it by hand instead of
//! changing the process environment.

use std::path::PathBuf;

use super::credentials::{PASSWORD_VAR, USERNAME_VAR};
use crate::secret::Secret;

/// Env var that overrides the ECR registry host (`[registry] endpoint`).
pub const ENDPOINT_VAR: &str = "FLEET_IMAGES_REGISTRY_ENDPOINT";
/// Env var listing registries (`host` or `host:port`, comma-separated) reached over plain HTTP.
pub const INSECURE_VAR: &str = "FLEET_IMAGES_INSECURE_REGISTRIES";
/// Env var that, set to `1`, shortens retry delays and timeouts (tests).
pub const TEST_FAST_VAR: &str = "FLEET_IMAGES_TEST_FAST";

/// Settings for [`super::Registry::connect_with`]; [`ConnectOptions::from_env`] reads them the
/// way [`super::Registry::connect`] does.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Overrides the ECR registry host that `GetAuthorizationToken` names, and the manifest's
    /// `endpoint` (env `FLEET_IMAGES_REGISTRY_ENDPOINT`). `host[:port]`, optionally with
    /// `http://` or `https://` to force the scheme. Default none.
    pub endpoint: Option<String>,
    /// Registry user (env `FLEET_IMAGES_REGISTRY_USERNAME`); with `password`, it takes precedence
    /// over the Docker config file. Plain registries only. Default none.
    pub username: Option<String>,
    /// Registry password (env `FLEET_IMAGES_REGISTRY_PASSWORD`). Default none.
    pub password: Option<Secret>,
    /// The Docker config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    /// `None`, or a file that does not exist, means no credentials from it.
    pub docker_config: Option<PathBuf>,
    /// Hosts (`host` or `host:port`) reached over plain HTTP besides loopback ones
    /// (env `FLEET_IMAGES_INSECURE_REGISTRIES`, comma-separated). Default none.
    pub insecure_registries: Vec<String>,
    /// Short retry delays and timeouts (env `FLEET_IMAGES_TEST_FAST=1`). Default false.
    pub fast_retries: bool,
    /// The ECR API endpoint; `None` leaves it to the SDK, which reads `AWS_ENDPOINT_URL`.
    pub aws_endpoint_url: Option<String>,
}

impl ConnectOptions {
    /// The options the environment gives.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let docker_config = match var("DOCKER_CONFIG") {
            Some(dir) => Some(PathBuf::from(dir).join("config.json")),
            None => var("HOME").map(|home| PathBuf::from(home).join(".docker").join("config.json")),
        };
        Self {
            endpoint: var(ENDPOINT_VAR),
            username: var(USERNAME_VAR),
            password: var(PASSWORD_VAR).map(Secret::new),
            docker_config,
            insecure_registries: var(INSECURE_VAR)
                .map(|v| {
                    v.split(',')
                        .map(|h| h.trim().to_string())
                        .filter(|h| !h.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            fast_retries: var(TEST_FAST_VAR).as_deref() == Some("1"),
            aws_endpoint_url: None,
        }
    }
}
