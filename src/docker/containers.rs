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
//! `Drop` removes the container synchronously on a helper thread with its own connection and
//! runtime. Blocking in `Drop` is deliberate: a task spawned on the current runtime may never run
//! when the runtime is shutting down (the usual case after Ctrl+C), and a stray container is worse
//! than a worker thread blocked for the fraction of a second a forced removal takes.

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig, PortBinding,
};
use bollard::query_parameters::{
    ContainerArchiveInfoOptions, CreateContainerOptions, DownloadFromContainerOptions,
    ListContainersOptions, LogsOptions, RemoveContainerOptions,
};
use futures_util::StreamExt;

use super::{Engine, EngineError};

/// The label every container the tool creates carries (value `1`).
pub const TEST_LABEL: &str = "io.fleet-images.test";

/// The command given to containers that are only created: an image without `CMD` or `ENTRYPOINT`
/// cannot be created at all, and the command is never run.
const NEVER_RUN: &str = "/fleet-images-never-started";

/// How many symbolic links a file read follows before giving up (a loop, or a very long chain).
const MAX_LINKS: usize = 8;

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

/// What a path in a container is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A device, socket or pipe.
    Other,
}

/// What the archive API says of a path (`HEAD /containers/{id}/archive`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathInfo {
    /// Its kind (of the path itself, not of a link's target).
    pub kind: PathKind,
    /// Size in bytes.
    pub size: u64,
    /// For a symbolic link, the absolute path it resolves to in the container.
    pub link_target: Option<String>,
    /// Its permission bits (`0o755`), with setuid, setgid and sticky as `0o7000`.
    pub mode: u32,
}

/// The result of reading one file out of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContent {
    /// Its bytes.
    File(Vec<u8>),
    /// Nothing is at that path (or a link there leads nowhere).
    Missing,
    /// Something that is not a regular file is there.
    NotAFile(PathKind),
    /// Larger than the cap the caller set.
    TooLarge {
        /// Its size.
        size: u64,
    },
}

/// Go's `os.FileMode` type bits, as the archive API's stat header carries them.
const MODE_DIR: u32 = 1 << 31;
const MODE_SYMLINK: u32 = 1 << 27;
const MODE_TYPE: u32 =
    MODE_DIR | MODE_SYMLINK | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19);

/// Go's setuid, setgid and sticky bits, as the stat header carries them.
const MODE_SETUID: u32 = 1 << 23;
const MODE_SETGID: u32 = 1 << 22;
const MODE_STICKY: u32 = 1 << 20;

/// The Unix permission bits of a Go `os.FileMode`.
fn permissions(mode: u32) -> u32 {
    let mut bits = mode & 0o777;
    if mode & MODE_SETUID != 0 {
        bits |= 0o4000;
    }
    if mode & MODE_SETGID != 0 {
        bits |= 0o2000;
    }
    if mode & MODE_STICKY != 0 {
        bits |= 0o1000;
    }
    bits
}

fn kind_of(mode: u32) -> PathKind {
    if mode & MODE_DIR != 0 {
        PathKind::Dir
    } else if mode & MODE_SYMLINK != 0 {
        PathKind::Symlink
    } else if mode & MODE_TYPE != 0 {
        PathKind::Other
    } else {
        PathKind::File
    }
}

pub(super) fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
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

pub(super) fn api(action: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> EngineError {
    let action = action.into();
    move |source| EngineError::Api { action, source }
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
            remove(&self.docker, &id)
                .await
                .map_err(api(format!("remove container `{id}`")))?;
            removed += 1;
        }
        Ok(removed)
    }
}

/// Force-removes a container and its anonymous volumes; a container already gone is fine.
async fn remove(docker: &bollard::Docker, name: &str) -> Result<(), bollard::errors::Error> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        link: false,
    };
    match docker.remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        // "removal of container … is already in progress"
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => Ok(()),
        Err(e) => Err(e),
    }
}

impl Container {
    /// The container's id.
    pub fn id(&self) -> &str {
        &self.id
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

    /// What is at `path` (without following a final symbolic link); `None` when nothing is.
    pub async fn stat(&self, path: &str) -> Result<Option<PathInfo>, EngineError> {
        let options = ContainerArchiveInfoOptions {
            path: path.to_string(),
        };
        match self
            .engine
            .docker
            .get_container_archive_info(&self.id, Some(options))
            .await
        {
            Ok(stat) => {
                let kind = kind_of(stat.file_mode);
                Ok(Some(PathInfo {
                    kind,
                    size: u64::try_from(stat.size).unwrap_or(0),
                    link_target: (kind == PathKind::Symlink && !stat.link_target.is_empty())
                        .then_some(stat.link_target),
                    mode: permissions(stat.file_mode),
                }))
            }
            Err(e) if is_not_found(&e) => Ok(None),
            Err(source) => Err(EngineError::Api {
                action: format!("read `{path}` in container `{}`", self.name),
                source,
            }),
        }
    }

    /// What is at `path` after following symbolic links; `None` when nothing is (a dangling link
    /// counts as nothing). Returns the resolved path too.
    pub async fn resolve(&self, path: &str) -> Result<Option<(String, PathInfo)>, EngineError> {
        let mut current = path.to_string();
        for _ in 0..=MAX_LINKS {
            match self.stat(&current).await? {
                Some(PathInfo {
                    kind: PathKind::Symlink,
                    link_target: Some(target),
                    ..
                }) if target != current => current = target,
                Some(info) => return Ok(Some((current, info))),
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Reads the regular file at `path` (following symbolic links), refusing files larger than
    /// `cap` bytes without downloading them.
    pub async fn read_file(&self, path: &str, cap: u64) -> Result<FileContent, EngineError> {
        let Some((resolved, info)) = self.resolve(path).await? else {
            return Ok(FileContent::Missing);
        };
        if info.kind != PathKind::File {
            return Ok(FileContent::NotAFile(info.kind));
        }
        if info.size > cap {
            return Ok(FileContent::TooLarge { size: info.size });
        }
        let action = || format!("read `{path}` in container `{}`", self.name);
        let options = DownloadFromContainerOptions {
            path: resolved.clone(),
        };
        let mut stream = self
            .engine
            .docker
            .download_from_container(&self.id, Some(options));
        // One file: its headers (a PAX or long-name header at most), its content, padding. Stop
        // early rather than trust the stream to be that small.
        let limit = cap as usize + 64 * 1024;
        let mut tar_bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(api(action()))?;
            tar_bytes.extend_from_slice(&chunk);
            if tar_bytes.len() > limit {
                break;
            }
        }
        drop(stream);
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let read = |e: std::io::Error| EngineError::Api {
            action: action(),
            source: bollard::errors::Error::IOError { err: e },
        };
        let mut entries = archive.entries().map_err(read)?;
        match entries.next() {
            Some(entry) => {
                let entry = entry.map_err(read)?;
                if entry.header().entry_type() != tar::EntryType::Regular {
                    return Ok(FileContent::NotAFile(PathKind::Other));
                }
                let mut bytes = Vec::new();
                entry.take(cap + 1).read_to_end(&mut bytes).map_err(read)?;
                if bytes.len() as u64 > cap {
                    return Ok(FileContent::TooLarge {
                        size: bytes.len() as u64,
                    });
                }
                Ok(FileContent::File(bytes))
            }
            None => Ok(FileContent::Missing),
        }
    }

    /// Kills and removes the container with its anonymous volumes.
    pub async fn remove(mut self) -> Result<(), EngineError> {
        self.armed = false;
        let name = if self.id.is_empty() {
            self.name.clone()
        } else {
            self.id.clone()
        };
        remove(&self.engine.docker, &name)
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
        if !self.armed {
            return;
        }
        let name = if self.id.is_empty() {
            self.name.clone()
        } else {
            self.id.clone()
        };
        // Its own thread, connection and runtime: the current runtime may be shutting down, and
        // blocking on it from inside it would panic. See the module docs.
        let removal = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let docker = bollard::Docker::connect_with_defaults().ok()?;
                remove(&docker, &name).await.ok()
            })
        });
        let _ = removal.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_modes_map_to_kinds() {
        assert_eq!(kind_of(0o644), PathKind::File);
        assert_eq!(kind_of(MODE_DIR | 0o755), PathKind::Dir);
        assert_eq!(kind_of(MODE_SYMLINK | 0o777), PathKind::Symlink);
        assert_eq!(kind_of((1 << 24) | 0o600), PathKind::Other);
        assert_eq!(permissions(MODE_DIR | 0o755), 0o755);
        assert_eq!(permissions(MODE_SETUID | 0o755), 0o4755);
        assert_eq!(permissions(MODE_DIR | MODE_STICKY | 0o777), 0o1777);
    }

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
