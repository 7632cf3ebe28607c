//! The connection to the Docker engine, and the image calls every command needs: find images by
//! key, resolve base images, tag, inspect, push.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::{PushImageOptions, TagImageOptions};
use bollard::Docker;
use futures_util::StreamExt;

use super::endpoint::{self, Endpoint, EndpointError};
use super::registry_answer::RegistryAnswer;
use super::ssh::{self, SshBridge, SshTarget};
use super::EngineError;
use crate::names::{Digest, ImageRef, Key};

/// The label that carries an image's key.
pub const KEY_LABEL: &str = "io.fleet-images.key";
/// The label that carries the manifest's image name.
pub const NAME_LABEL: &str = "io.fleet-images.image";

/// How long the engine may take to answer a ping before it counts as unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// How long any request may wait for the engine's response headers. Builds answer once the
/// context is received, which for a large context over a slow link takes a while.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(900);
/// bollard's per-connection timeout when it is created (replaced by the two above).
const CLIENT_TIMEOUT_SECS: u64 = 120;

/// How long a push may go without progress from the engine, and how long it may take in all.
/// `FLEET_IMAGES_PUSH_STALL_SECS` and `FLEET_IMAGES_PUSH_DEADLINE_SECS` replace them.
const PUSH_STALL: Duration = Duration::from_secs(120);
const PUSH_DEADLINE: Duration = Duration::from_secs(3600);

/// The two limits of a push.
struct PushLimits {
    stall: Duration,
    deadline: Duration,
}

impl PushLimits {
    /// The defaults, or the environment's whole numbers of seconds (others are ignored).
    fn from_env() -> PushLimits {
        let seconds = |name: &str, default: Duration| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|s| (1..=86_400).contains(s))
                .map_or(default, Duration::from_secs)
        };
        PushLimits {
            stall: seconds("FLEET_IMAGES_PUSH_STALL_SECS", PUSH_STALL),
            deadline: seconds("FLEET_IMAGES_PUSH_DEADLINE_SECS", PUSH_DEADLINE),
        }
    }
}

/// A connected engine.
#[derive(Debug, Clone)]
pub struct Engine {
    /// bollard's client: used by this module's files only, never outside `src/docker/`.
    pub(super) docker: Docker,
    endpoint: Endpoint,
    /// Keeps an `ssh://` engine's local socket served while any clone of the engine lives.
    _bridge: Option<Arc<SshBridge>>,
}

/// What the tool needs to know of a local image.
#[derive(Debug, Clone, Default)]
pub struct ImageDetails {
    /// Image id (`sha256:…`).
    pub id: String,
    /// `os`.
    pub os: String,
    /// `architecture`.
    pub architecture: String,
    /// The user it runs as (empty: root).
    pub user: String,
    /// Exposed ports, as `8080/tcp`.
    pub exposed_ports: Vec<String>,
    /// Environment, as `NAME=value`.
    pub env: Vec<String>,
    /// Whether it has a healthcheck.
    pub healthcheck: bool,
    /// Labels.
    pub labels: HashMap<String, String>,
    /// `repo@sha256:…` digests the engine knows for it.
    pub repo_digests: Vec<String>,
    /// `repo:tag` names it has.
    pub repo_tags: Vec<String>,
}

/// Registry credentials for the engine (a push, a pull of a base).
#[derive(Clone, Default)]
pub struct EngineCredentials {
    /// User name (`AWS` for ECR).
    pub username: String,
    /// Password or token.
    pub password: crate::registry::Secret,
    /// Registry host.
    pub server: String,
}

impl std::fmt::Debug for EngineCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EngineCredentials({}@{}, <redacted>)",
            self.username, self.server
        )
    }
}

impl EngineCredentials {
    pub(super) fn to_bollard(&self) -> bollard::auth::DockerCredentials {
        bollard::auth::DockerCredentials {
            username: Some(self.username.clone()),
            password: Some(self.password.expose().to_string()),
            serveraddress: Some(self.server.clone()),
            ..Default::default()
        }
    }
}

/// The result of a push.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The manifest digest the registry stored.
    pub digest: Digest,
    /// Layers uploaded (as opposed to already present).
    pub layers_uploaded: usize,
}

impl Engine {
    /// Connects to the engine the docker CLI would use (see [`endpoint::choose`]: `DOCKER_HOST`,
    /// `DOCKER_CONTEXT`, the config's `currentContext`, the default socket), negotiates the API
    /// version and pings.
    pub async fn connect() -> Result<Engine, EngineError> {
        let endpoint = endpoint::choose(&|name| std::env::var(name).ok())?;
        Self::connect_to(endpoint).await
    }

    /// Connects to a chosen endpoint.
    pub async fn connect_to(endpoint: Endpoint) -> Result<Engine, EngineError> {
        let unreachable = |source| EngineError::Unreachable {
            host: endpoint.host.clone(),
            chosen: endpoint.reason(),
            source,
        };
        let mut bridge = None;
        let docker = if let Some(target) = SshTarget::parse(&endpoint.host) {
            let started = SshBridge::start(target)
                .map_err(|e| unreachable(bollard::errors::Error::from(e)))?;
            let docker = Docker::connect_with_unix(
                &started.socket_url(),
                CLIENT_TIMEOUT_SECS,
                bollard::API_DEFAULT_VERSION,
            );
            bridge = Some(Arc::new(started));
            docker
        } else if endpoint.host.starts_with("ssh://") {
            return Err(EndpointError::Unsupported {
                host: endpoint.host.clone(),
                from: endpoint.reason(),
                why: "an ssh URL is ssh://[user@]host[:port]",
            }
            .into());
        } else if let Some(tls) = &endpoint.tls {
            Docker::connect_with_ssl(
                &endpoint.host,
                &tls.key,
                &tls.cert,
                &tls.ca,
                CLIENT_TIMEOUT_SECS,
                bollard::API_DEFAULT_VERSION,
            )
        } else {
            Docker::connect_with_host(&endpoint.host)
        }
        .map_err(unreachable)?;
        // ssh connects and starts the remote CLI before the first answer.
        let ping_timeout = if bridge.is_some() {
            PING_TIMEOUT + ssh::CONNECT_TIMEOUT
        } else {
            PING_TIMEOUT
        };
        let docker = match Self::pinged_locally(&endpoint, bridge.is_some()).await {
            Ok(Some(docker)) => docker,
            Err(timed_out) => return Err(unreachable(timed_out)),
            Ok(None) => {
                match Self::negotiated(docker.with_timeout(ping_timeout), ping_timeout).await {
                    Ok(docker) => docker,
                    Err(source) => {
                        // What ssh printed says more than "connection closed".
                        let said = match &bridge {
                            Some(bridge) => bridge.last_error().await,
                            None => None,
                        };
                        return Err(match said {
                            Some(said) => unreachable(bollard::errors::Error::from(
                                std::io::Error::other(said),
                            )),
                            None => unreachable(source),
                        });
                    }
                }
            }
        };
        Ok(Engine {
            docker: docker.with_timeout(REQUEST_TIMEOUT),
            endpoint,
            _bridge: bridge,
        })
    }

    /// bollard's way: the API version from `/version`, then a ping, each within `deadline`.
    async fn negotiated(
        docker: Docker,
        deadline: Duration,
    ) -> Result<Docker, bollard::errors::Error> {
        let docker = match tokio::time::timeout(deadline, docker.negotiate_version()).await {
            Ok(result) => result?,
            Err(_) => return Err(bollard::errors::Error::RequestTimeoutError),
        };
        match tokio::time::timeout(deadline, docker.ping()).await {
            Ok(result) => result?,
            Err(_) => return Err(bollard::errors::Error::RequestTimeoutError),
        };
        Ok(docker)
    }

    /// A client for an engine on a local unix socket (not an ssh bridge), its API version taken
    /// from `/_ping` instead of bollard's `/version` (see `ping.rs`); `Ok(None)` sends the caller
    /// down bollard's path, `Err` is an engine that did not answer in time.
    async fn pinged_locally(
        endpoint: &Endpoint,
        bridged: bool,
    ) -> Result<Option<Docker>, bollard::errors::Error> {
        let Some(path) = endpoint.host.strip_prefix("unix://") else {
            return Ok(None);
        };
        if bridged || endpoint.tls.is_some() {
            return Ok(None);
        }
        let Some((major, minor)) = super::ping::api_version(path, PING_TIMEOUT)
            .await
            .map_err(|_| bollard::errors::Error::RequestTimeoutError)?
        else {
            return Ok(None);
        };
        let default = bollard::API_DEFAULT_VERSION;
        let version = if (major, minor) < (default.major_version, default.minor_version) {
            bollard::ClientVersion {
                major_version: major,
                minor_version: minor,
            }
        } else {
            *default
        };
        Ok(Docker::connect_with_unix(path, CLIENT_TIMEOUT_SECS, &version).ok())
    }

    /// The engine connected to, and what chose it.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn api(action: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> EngineError {
        let action = action.into();
        move |source| EngineError::Api { action, source }
    }

    /// The local image that carries `key` (its label), found as `repository:<key tag>`, or as
    /// `reference` itself when that is an image id; with its `repo:tag` names. One inspect, whose
    /// cost does not grow with the number of images the engine holds (listing them all costs
    /// the engine tens of milliseconds per hundred images).
    pub async fn image_with_key(
        &self,
        reference: &str,
        key: &Key,
    ) -> Result<Option<(String, Vec<String>)>, EngineError> {
        let reference = if reference.starts_with("sha256:") {
            reference.to_string()
        } else {
            format!("{reference}:{}", key.tag())
        };
        let image = self.inspect(&reference).await?;
        Ok(image
            .filter(|image| image.labels.get(KEY_LABEL) == Some(&key.hex()))
            .map(|image| (image.id, image.repo_tags)))
    }

    /// Inspects a local image; `None` when the engine does not have it.
    pub async fn inspect(&self, reference: &str) -> Result<Option<ImageDetails>, EngineError> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => {
                let config = image.config.unwrap_or_default();
                let mut exposed: Vec<String> = config
                    .exposed_ports
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                exposed.sort();
                let healthcheck = config.healthcheck.and_then(|h| h.test).is_some_and(|t| {
                    !t.is_empty() && t.first().map(String::as_str) != Some("NONE")
                });
                Ok(Some(ImageDetails {
                    id: image.id.unwrap_or_default(),
                    os: image.os.unwrap_or_default(),
                    architecture: image.architecture.unwrap_or_default(),
                    user: config.user.unwrap_or_default(),
                    exposed_ports: exposed,
                    env: config.env.unwrap_or_default(),
                    healthcheck,
                    labels: config.labels.unwrap_or_default(),
                    repo_digests: image.repo_digests.unwrap_or_default(),
                    repo_tags: image.repo_tags.unwrap_or_default(),
                }))
            }
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(source) => Err(EngineError::Api {
                action: format!("inspect image `{reference}`"),
                source,
            }),
        }
    }

    /// The manifest digest a registry holds for `reference`, asked through the engine
    /// (`GET /distribution/{name}/json`, which reads the manifest and pulls nothing).
    pub async fn registry_digest(
        &self,
        reference: &ImageRef,
        credentials: Option<&EngineCredentials>,
    ) -> Result<Digest, RegistryAnswer> {
        let inspect = self
            .docker
            .inspect_registry_image(
                &reference.to_string(),
                credentials.map(EngineCredentials::to_bollard),
            )
            .await?;
        inspect
            .descriptor
            .digest
            .and_then(|d| d.parse().ok())
            .ok_or(RegistryAnswer::from(
                bollard::errors::Error::DockerResponseServerError {
                    status_code: 502,
                    message: "the registry answered without a digest".into(),
                },
            ))
    }

    /// Adds `repository:tag` to a local image.
    pub async fn tag(&self, image: &str, repository: &str, tag: &str) -> Result<(), EngineError> {
        let options = TagImageOptions {
            repo: Some(repository.to_string()),
            tag: Some(tag.to_string()),
        };
        self.docker
            .tag_image(image, Some(options))
            .await
            .map_err(Self::api(format!(
                "tag image {image} as {repository}:{tag}"
            )))
    }

    /// Removes a tag or image (used for cleanup; a missing image is not an error).
    pub async fn remove_image(&self, reference: &str) -> Result<(), EngineError> {
        let options = bollard::query_parameters::RemoveImageOptions {
            force: true,
            noprune: false,
            platforms: None,
        };
        match self
            .docker
            .remove_image(reference, Some(options), None)
            .await
        {
            Ok(_)
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(source) => Err(EngineError::Api {
                action: format!("remove image `{reference}`"),
                source,
            }),
        }
    }

    /// Pushes `repository:tag` (a name that includes the registry host) and returns the digest
    /// the registry stored. Errors inside the push stream arrive while HTTP said 200; they are
    /// turned into [`EngineError::Push`].
    pub async fn push(
        &self,
        repository: &str,
        tag: &str,
        credentials: Option<&EngineCredentials>,
    ) -> Result<Pushed, EngineError> {
        let reference = format!("{repository}:{tag}");
        let options = PushImageOptions {
            tag: Some(tag.to_string()),
            platform: None,
        };
        let mut stream = self.docker.push_image(
            repository,
            Some(options),
            credentials.map(EngineCredentials::to_bollard),
        );
        let mut digest = None;
        let mut uploaded = 0;
        let limits = PushLimits::from_env();
        let deadline = tokio::time::Instant::now() + limits.deadline;
        loop {
            // The engine reports progress while layers upload; a registry that accepts an upload
            // and never answers leaves it silent, holding the engine's upload slots for good.
            let wait = limits
                .stall
                .min(deadline.saturating_duration_since(tokio::time::Instant::now()));
            let item = match tokio::time::timeout(wait, stream.next()).await {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(_) => {
                    let overall = tokio::time::Instant::now() >= deadline;
                    return Err(EngineError::PushStalled {
                        registry: reference.split('/').next().unwrap_or_default().to_string(),
                        reference,
                        after: if overall {
                            limits.deadline
                        } else {
                            limits.stall
                        },
                        overall,
                    });
                }
            };
            match item {
                Ok(info) => {
                    let status = info.status.unwrap_or_default();
                    if status == "Pushed" {
                        uploaded += 1;
                    }
                    // The last status line: "<tag>: digest: sha256:… size: N".
                    if let Some(rest) = status.split("digest: ").nth(1) {
                        digest = rest
                            .split_whitespace()
                            .next()
                            .and_then(|d| d.parse::<Digest>().ok());
                    }
                }
                Err(error) => return Err(push_failure(error, reference)),
            }
        }
        match digest {
            Some(digest) => Ok(Pushed {
                digest,
                layers_uploaded: uploaded,
            }),
            None => Err(EngineError::Push {
                reference,
                message: "the engine did not report the pushed digest".into(),
                auth: false,
            }),
        }
    }
}

/// A push's stream error: the registry's answer relayed by the engine ([`EngineError::Push`],
/// `auth` when it refused the login), or the engine itself lost (it died, or its connection broke
/// mid-push).
fn push_failure(error: bollard::errors::Error, reference: String) -> EngineError {
    let message = match error {
        bollard::errors::Error::DockerStreamError { error } => error,
        bollard::errors::Error::DockerResponseServerError { message, .. } => message,
        lost => {
            return EngineError::Api {
                action: format!("push `{reference}` (the connection to the engine broke)"),
                source: lost,
            }
        }
    };
    let lower = message.to_ascii_lowercase();
    let auth = lower.contains("unauthorized")
        || lower.contains("authentication required")
        || lower.contains("no basic auth credentials")
        || lower.contains("denied");
    EngineError::Push {
        reference,
        message,
        auth,
    }
}
