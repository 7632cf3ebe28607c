//! Containers for checks and tests: created and never started (to read files through the archive
//! API), started with one port published on 127.0.0.1 (to probe what an image or a test service
//! serves), or started with a command test's argv; any of them on a test's private network
//! ([`Network`](super::Network)) under an alias.
//!
//! Every container carries the label [`TEST_LABEL`]` = 1`, so a cleanup can find strays
//! ([`Engine::remove_stray_containers`]), and a name chosen before it is created, so it can be
//! removed even when the create call itself was interrupted.
//!
//! # Removal
//!
//! A [`Container`] is a guard. The normal path is explicit and async: its owner awaits the work
//! (for `test`, inside a `select!` with a cancellation token, so Ctrl+C ends the work but not the
//! cleanup) and then awaits [`Container::remove`] (or [`Container::keep`] for `--keep`). If the
//! guard is dropped instead — its owning future was dropped by a caller, or a task panicked — its
//! `Drop` hands the container to the cleaner (`containers/cleanup.rs`) and returns at once: the
//! async worker that dropped it is never blocked, and [`settle_removals`] or, at the end of
//! `main`, [`finish_removals`] waits for the removal. Reading a container's files is in
//! `containers/files.rs`.

pub(super) mod cleanup;
mod files;

pub use cleanup::{finish_removals, settle_removals};
pub use files::{FileContent, PathInfo, PathKind};

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig, PortBinding,
};
use bollard::query_parameters::{CreateContainerOptions, ListContainersOptions, LogsOptions};
use futures_util::StreamExt;

use super::error::api;
use super::{Engine, EngineError};
use cleanup::{hand_off, remove_container, Leftover};

/// The label every container the tool creates carries (value `1`).
pub const TEST_LABEL: &str = "io.fleet-images.test";

/// The command given to containers that are only created: an image without `CMD` or `ENTRYPOINT`
/// cannot be created at all, and the command is never run.
const NEVER_RUN: &str = "/fleet-images-never-started";

/// What to create.
#[derive(Debug, Clone, Default)]
pub struct ContainerRequest {
    /// The image: an id (`sha256:…`) or a reference the engine has locally.
    pub image: String,
    /// Goes into the container's name (`fleet-images-<purpose>-<name>-…`), for people reading
    /// `docker ps`: the manifest's image name.
    pub name: String,
    /// `check` (created only) or `test` (started).
    pub purpose: &'static str,
    /// A container port (TCP) to publish on 127.0.0.1, on a free host port the engine picks.
    pub publish: Option<u16>,
    /// Extra environment, as `NAME=value`.
    pub env: Vec<String>,
    /// For containers that are only read from: give a placeholder command (the image may have
    /// none) and no network.
    pub never_started: bool,
    /// A command test's argv: replaces the image's ENTRYPOINT (with its first word) and CMD (with
    /// the rest). Default: the image's own.
    pub argv: Option<Vec<String>>,
    /// A network to join instead of the default bridge (a test's private network).
    pub network: Option<String>,
    /// Host names the container answers to on `network` (a service's `name`).
    pub aliases: Vec<String>,
}

/// A container the tool created; removes it when dropped unless kept (see the module docs).
#[derive(Debug)]
pub struct Container {
    pub(super) engine: Engine,
    pub(super) name: String,
    pub(super) id: String,
    armed: bool,
}

/// The state of a container as `inspect` tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ContainerStatus {
    /// Whether it is running.
    pub running: bool,
    /// `created`, `running`, `exited`, …
    pub status: String,
    /// Its exit code, once it exited.
    pub exit_code: Option<i64>,
    /// Whether the kernel killed it for lack of memory.
    pub oom_killed: bool,
    /// The engine's error, such as a missing executable at start.
    pub error: Option<String>,
}

/// A container name no other run uses: `fleet-images-<purpose>-<name>-<pid>-<n>-<nanos>`.
pub(super) fn unique_name(purpose: &str, name: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "fleet-images-{purpose}-{name}-{}-{n}-{nanos:x}",
        std::process::id()
    )
}

impl Engine {
    /// Creates a container (never starts it). The returned guard removes it when dropped; prefer
    /// [`Container::remove`].
    pub async fn create_container(
        &self,
        request: &ContainerRequest,
    ) -> Result<Container, EngineError> {
        let name = unique_name(request.purpose, &request.name);
        // Armed before the call: if this future is dropped while the engine is creating the
        // container, the guard still removes it by name.
        let mut container = Container {
            engine: self.clone(),
            name: name.clone(),
            id: String::new(),
            armed: true,
        };
        let mut host_config = HostConfig::default();
        let mut exposed = None;
        if let Some(port) = request.publish {
            let key = format!("{port}/tcp");
            let binding = PortBinding {
                host_ip: Some("127.0.0.1".into()),
                // Empty: the engine picks a free port; `host_port` reads it back.
                host_port: Some(String::new()),
            };
            host_config.port_bindings = Some(HashMap::from([(key.clone(), Some(vec![binding]))]));
            exposed = Some(vec![key]);
        }
        if let Some(network) = &request.network {
            host_config.network_mode = Some(network.clone());
        }
        let networking_config = request.network.as_ref().map(|network| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network.clone(),
                EndpointSettings {
                    aliases: (!request.aliases.is_empty()).then(|| request.aliases.clone()),
                    ..Default::default()
                },
            )])),
        });
        // An argv replaces both: the engine keeps the image's CMD only when no ENTRYPOINT is given.
        let (entrypoint, cmd) = match &request.argv {
            Some(argv) => (
                Some(argv.iter().take(1).cloned().collect()),
                Some(argv.iter().skip(1).cloned().collect()),
            ),
            None => (
                None,
                request.never_started.then(|| vec![NEVER_RUN.to_string()]),
            ),
        };
        let body = ContainerCreateBody {
            image: Some(request.image.clone()),
            env: (!request.env.is_empty()).then(|| request.env.clone()),
            entrypoint,
            cmd,
            networking_config,
            network_disabled: request.never_started.then_some(true),
            exposed_ports: exposed,
            labels: Some(HashMap::from([(TEST_LABEL.to_string(), "1".to_string())])),
            host_config: Some(host_config),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(name),
            platform: String::new(),
        };
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(api(format!("create a container from `{}`", request.image)))?;
        container.id = created.id;
        Ok(container)
    }

    /// Force-removes every container that carries [`TEST_LABEL`], running or not, with its
    /// anonymous volumes: what an interrupted run of an older version, or a killed process, left.
    /// Returns how many were removed. Do not call it while a `test` may be running elsewhere
    /// against the same engine: it would remove that run's containers too.
    pub async fn remove_stray_containers(&self) -> Result<usize, EngineError> {
        let options = ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([(
                "label".to_string(),
                vec![TEST_LABEL.to_string()],
            )])),
            ..Default::default()
        };
        let found = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(api("list containers"))?;
        let mut removed = 0;
        for summary in found {
            let Some(id) = summary.id else { continue };
            remove_container(&self.docker, &id)
                .await
                .map_err(api(format!("remove container `{id}`")))?;
            removed += 1;
        }
        Ok(removed)
    }
}

impl Container {
    /// The container's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What removal calls it by: its id, or its name when the create call never answered.
    fn target(&self) -> &str {
        if self.id.is_empty() {
            &self.name
        } else {
            &self.id
        }
    }

    /// The container's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Starts it.
    pub async fn start(&self) -> Result<(), EngineError> {
        self.engine
            .docker
            .start_container(&self.id, None)
            .await
            .map_err(api(format!("start container `{}`", self.name)))
    }

    async fn inspect(&self) -> Result<bollard::models::ContainerInspectResponse, EngineError> {
        self.engine
            .docker
            .inspect_container(&self.id, None)
            .await
            .map_err(api(format!("inspect container `{}`", self.name)))
    }

    /// The host port on 127.0.0.1 that `container_port` is published on, once the container runs.
    pub async fn host_port(&self, container_port: u16) -> Result<Option<u16>, EngineError> {
        let inspect = self.inspect().await?;
        let key = format!("{container_port}/tcp");
        let port = inspect
            .network_settings
            .and_then(|n| n.ports)
            .and_then(|mut ports| ports.remove(&key))
            .flatten()
            .unwrap_or_default()
            .into_iter()
            .find_map(|b| b.host_port.and_then(|p| p.parse::<u16>().ok()));
        Ok(port)
    }

    /// Whether it runs, and how it exited.
    pub async fn status(&self) -> Result<ContainerStatus, EngineError> {
        let state = self.inspect().await?.state.unwrap_or_default();
        let running = state.running.unwrap_or(false);
        Ok(ContainerStatus {
            running,
            status: state.status.map(|s| s.to_string()).unwrap_or_default(),
            exit_code: if running { None } else { state.exit_code },
            oom_killed: state.oom_killed.unwrap_or(false),
            error: state.error.filter(|e| !e.is_empty()),
        })
    }

    /// The user the container was configured to run as (`Config.User`; empty means root).
    pub async fn configured_user(&self) -> Result<String, EngineError> {
        Ok(self
            .inspect()
            .await?
            .config
            .and_then(|c| c.user)
            .unwrap_or_default())
    }

    /// The last `tail` lines of its output (stdout and stderr, interleaved as the engine stored
    /// them).
    pub async fn logs(&self, tail: usize) -> Result<Vec<String>, EngineError> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: tail.to_string(),
            ..Default::default()
        };
        let mut stream = self.engine.docker.logs(&self.id, Some(options));
        let mut text = String::new();
        while let Some(item) = stream.next().await {
            let output =
                item.map_err(api(format!("read the logs of container `{}`", self.name)))?;
            text.push_str(&String::from_utf8_lossy(&output.into_bytes()));
        }
        let lines: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
        let skip = lines.len().saturating_sub(tail);
        Ok(lines.into_iter().skip(skip).collect())
    }

    /// Kills and removes the container with its anonymous volumes.
    pub async fn remove(mut self) -> Result<(), EngineError> {
        self.armed = false;
        remove_container(&self.engine.docker, self.target())
            .await
            .map_err(api(format!("remove container `{}`", self.name)))
    }

    /// Leaves the container in place (`--keep`); returns its id.
    pub fn keep(mut self) -> String {
        self.armed = false;
        std::mem::take(&mut self.id)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if self.armed {
            hand_off(Leftover::Container(self.target().to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_valid() {
        let a = unique_name("test", "fleet-manager");
        let b = unique_name("test", "fleet-manager");
        assert_ne!(a, b);
        assert!(a.starts_with("fleet-images-test-fleet-manager-"));
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        assert!(unique_name("check", "a/b c").contains("a-b-c"));
    }
}
