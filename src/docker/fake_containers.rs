//! An in-memory engine for the unit tests of `test` (`src/imagetest/`) and `check`
//! (`src/check/`): images with a configuration, containers that start (or refuse to), keep running
//! or exit with a code and an output, files, directories and links every container holds (some
//! of them unreadable), and networks. Every call is logged in order, and a guard
//! dropped without being removed or kept is logged as such, as the real guards hand theirs to the
//! cleaner; [`FakeContainers::left`] names what was created and never removed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::container_engine::{ContainerEngine, TestContainer, TestNetwork};
use super::container_reads::{Output, PathHeader};
use super::containers::{ContainerRequest, ContainerStatus, FileContent, PathInfo, PathKind};
use super::image_config::ImageConfig;
use super::{EngineError, ImageDetails};

/// How many symbolic links `resolve` follows, as the real containers do.
const MAX_LINKS: usize = 8;

/// One call the double received; containers are called `<purpose>:<name>` (`cmd:web`), networks
/// by the name they were created for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Call {
    /// A container created.
    Create(String),
    /// A container started.
    Start(String),
    /// A container removed by its owner.
    Remove(String),
    /// A container guard dropped while armed: the real one hands it to the cleaner.
    Dropped(String),
    /// A container kept (`--keep`).
    Keep(String),
    /// A network created.
    Network(String),
    /// A network removed by its owner.
    RemoveNetwork(String),
    /// A network guard dropped while armed.
    DroppedNetwork(String),
    /// A network kept.
    KeepNetwork(String),
}

/// How a container behaves, chosen from its request by [`FakeContainers::behave`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Behaviour {
    /// Why `start` fails; `None`: it starts.
    pub start_error: Option<String>,
    /// Once started: `None` keeps running, `Some(code)` has exited with `code`.
    pub exit: Option<i64>,
    /// What it writes to stdout.
    pub stdout: String,
    /// What it writes to stderr.
    pub stderr: String,
    /// Its configured user (empty: root).
    pub user: String,
}

/// Chooses a container's behaviour from its request.
pub(crate) type Behave = Box<dyn Fn(&ContainerRequest) -> Behaviour + Send + Sync>;

type Log = Arc<Mutex<Vec<Call>>>;

/// The container engine double.
pub(crate) struct FakeContainers {
    /// The images the engine has, by reference.
    pub images: HashMap<String, ImageConfig>,
    /// How each container behaves; by default it starts and keeps running.
    pub behave: Behave,
    /// Regular files every container holds, by absolute path (mode 0644, owned by 0:0).
    pub files: HashMap<String, Vec<u8>>,
    /// Other paths every container holds, by absolute path: directories, symbolic links (with
    /// their `link_target`), files with another mode (their bytes, if read, from `files`).
    pub paths: HashMap<String, PathInfo>,
    /// Paths whose `stat`, `resolve` and `read_file` fail with an engine error.
    pub unreadable: Vec<String>,
    /// The architecture images are built for (`os` is `linux`); `amd64` by default.
    pub architecture: String,
    /// Whether creating a network fails.
    pub fail_network: bool,
    /// The host port a published container port is on.
    pub host_port: u16,
    log: Log,
}

impl Default for FakeContainers {
    fn default() -> Self {
        FakeContainers {
            images: HashMap::new(),
            behave: Box::new(|_| Behaviour::default()),
            files: HashMap::new(),
            paths: HashMap::new(),
            unreadable: Vec::new(),
            architecture: "amd64".into(),
            fail_network: false,
            host_port: 1,
            log: Log::default(),
        }
    }
}

impl FakeContainers {
    /// An engine that has `references`, each with an empty configuration.
    pub fn with_images(references: &[&str]) -> FakeContainers {
        FakeContainers {
            images: references
                .iter()
                .map(|r| (r.to_string(), ImageConfig::default()))
                .collect(),
            ..Default::default()
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.log.lock().unwrap().clone()
    }

    /// What was created (containers and networks) and neither removed, nor dropped to the
    /// cleaner, nor kept.
    pub fn left(&self) -> Vec<String> {
        let calls = self.calls();
        let mut left: Vec<String> = Vec::new();
        for call in calls {
            match call {
                Call::Create(name) | Call::Network(name) => left.push(name),
                Call::Remove(name)
                | Call::Dropped(name)
                | Call::Keep(name)
                | Call::RemoveNetwork(name)
                | Call::DroppedNetwork(name)
                | Call::KeepNetwork(name) => {
                    if let Some(at) = left.iter().position(|n| *n == name) {
                        left.remove(at);
                    }
                }
                Call::Start(_) => {}
            }
        }
        left
    }
}

fn failure(action: String, words: &str) -> EngineError {
    EngineError::Api {
        action,
        source: std::io::Error::other(words.to_string()).into(),
    }
}

impl ContainerEngine for FakeContainers {
    type Container = FakeContainer;
    type Network = FakeNetwork;

    /// An image's details from its configuration: its id is the reference it is known by.
    async fn inspect_image(&self, reference: &str) -> Result<Option<ImageDetails>, EngineError> {
        Ok(self.images.get(reference).map(|config| ImageDetails {
            id: reference.to_string(),
            os: "linux".into(),
            architecture: self.architecture.clone(),
            user: config.user.clone(),
            exposed_ports: config.exposed_ports.clone(),
            env: config.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            ..Default::default()
        }))
    }

    async fn image_config(&self, reference: &str) -> Result<Option<ImageConfig>, EngineError> {
        Ok(self.images.get(reference).cloned())
    }

    async fn create_container(
        &self,
        request: &ContainerRequest,
    ) -> Result<FakeContainer, EngineError> {
        if !self.images.contains_key(&request.image) {
            return Err(failure(
                format!("create a container from `{}`", request.image),
                &format!("No such image: {}", request.image),
            ));
        }
        let name = format!("{}:{}", request.purpose, request.name);
        self.log.lock().unwrap().push(Call::Create(name.clone()));
        Ok(FakeContainer {
            name,
            behaviour: (self.behave)(request),
            published: request.publish.map(|_| self.host_port),
            files: self.files.clone(),
            paths: self.paths.clone(),
            unreadable: self.unreadable.clone(),
            started: AtomicBool::new(false),
            armed: true,
            log: self.log.clone(),
        })
    }

    async fn create_network(&self, purpose: &str, name: &str) -> Result<FakeNetwork, EngineError> {
        let name = format!("{purpose}:{name}");
        if self.fail_network {
            return Err(failure(
                format!("create network `{name}`"),
                "no free subnet",
            ));
        }
        self.log.lock().unwrap().push(Call::Network(name.clone()));
        Ok(FakeNetwork {
            name,
            armed: true,
            log: self.log.clone(),
        })
    }

    async fn settle(&self) {}
}

/// A container of the double.
pub(crate) struct FakeContainer {
    name: String,
    behaviour: Behaviour,
    published: Option<u16>,
    files: HashMap<String, Vec<u8>>,
    paths: HashMap<String, PathInfo>,
    unreadable: Vec<String>,
    started: AtomicBool,
    armed: bool,
    log: Log,
}

impl FakeContainer {
    fn log(&self, call: Call) {
        self.log.lock().unwrap().push(call);
    }

    /// Fails for the paths that were made unreadable.
    fn readable(&self, path: &str) -> Result<(), EngineError> {
        if self.unreadable.iter().any(|p| p == path) {
            return Err(failure(
                format!("read `{path}` in container `{}`", self.name),
                "connection reset by peer",
            ));
        }
        Ok(())
    }
}

impl TestContainer for FakeContainer {
    fn name(&self) -> &str {
        &self.name
    }

    async fn start(&self) -> Result<(), EngineError> {
        self.log(Call::Start(self.name.clone()));
        if let Some(words) = &self.behaviour.start_error {
            return Err(failure(format!("start container `{}`", self.name), words));
        }
        self.started.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn status(&self) -> Result<ContainerStatus, EngineError> {
        let started = self.started.load(Ordering::SeqCst);
        let exit = self.behaviour.exit.filter(|_| started);
        let running = started && exit.is_none();
        Ok(ContainerStatus {
            running,
            status: match (started, running) {
                (false, _) => "created",
                (true, true) => "running",
                (true, false) => "exited",
            }
            .into(),
            exit_code: exit,
            ..Default::default()
        })
    }

    async fn host_port(&self, _container_port: u16) -> Result<Option<u16>, EngineError> {
        Ok(self
            .published
            .filter(|_| self.started.load(Ordering::SeqCst)))
    }

    async fn configured_user(&self) -> Result<String, EngineError> {
        Ok(self.behaviour.user.clone())
    }

    async fn logs(&self, tail: usize) -> Result<Vec<String>, EngineError> {
        let text = format!("{}{}", self.behaviour.stdout, self.behaviour.stderr);
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let skip = lines.len().saturating_sub(tail);
        Ok(lines.into_iter().skip(skip).collect())
    }

    async fn output(&self, cap: usize) -> Result<Output, EngineError> {
        let cut = |text: &str| text.as_bytes()[..text.len().min(cap)].to_vec();
        Ok(Output {
            stdout: cut(&self.behaviour.stdout),
            stderr: cut(&self.behaviour.stderr),
            truncated: self.behaviour.stdout.len().max(self.behaviour.stderr.len()) > cap,
        })
    }

    async fn stat(&self, path: &str) -> Result<Option<PathInfo>, EngineError> {
        self.readable(path)?;
        if let Some(info) = self.paths.get(path) {
            return Ok(Some(info.clone()));
        }
        Ok(self.files.get(path).map(|bytes| PathInfo {
            kind: PathKind::File,
            size: bytes.len() as u64,
            link_target: None,
            mode: 0o644,
        }))
    }

    async fn resolve(&self, path: &str) -> Result<Option<(String, PathInfo)>, EngineError> {
        let mut current = path.to_string();
        for _ in 0..=MAX_LINKS {
            match self.stat(&current).await? {
                Some(PathInfo {
                    kind: PathKind::Symlink,
                    link_target: Some(target),
                    ..
                }) => current = target,
                Some(info) => return Ok(Some((current, info))),
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    async fn path_header(&self, path: &str) -> Result<Option<PathHeader>, EngineError> {
        Ok(self.stat(path).await?.map(|info| PathHeader {
            kind: info.kind,
            mode: info.mode,
            uid: 0,
            gid: 0,
        }))
    }

    async fn read_file(&self, path: &str, cap: u64) -> Result<FileContent, EngineError> {
        let Some((resolved, info)) = self.resolve(path).await? else {
            return Ok(FileContent::Missing);
        };
        let bytes = self.files.get(&resolved).cloned().unwrap_or_default();
        Ok(match info.kind {
            PathKind::File if bytes.len() as u64 > cap => FileContent::TooLarge {
                size: bytes.len() as u64,
            },
            PathKind::File => FileContent::File(bytes),
            kind => FileContent::NotAFile(kind),
        })
    }

    async fn remove(mut self) -> Result<(), EngineError> {
        self.armed = false;
        self.log(Call::Remove(self.name.clone()));
        Ok(())
    }

    fn keep(mut self) -> String {
        self.armed = false;
        self.log(Call::Keep(self.name.clone()));
        self.name.clone()
    }
}

impl Drop for FakeContainer {
    fn drop(&mut self) {
        if self.armed {
            self.log(Call::Dropped(self.name.clone()));
        }
    }
}

/// A network of the double.
pub(crate) struct FakeNetwork {
    name: String,
    armed: bool,
    log: Log,
}

impl TestNetwork for FakeNetwork {
    fn name(&self) -> &str {
        &self.name
    }

    async fn remove(mut self) -> Result<(), EngineError> {
        self.armed = false;
        self.log
            .lock()
            .unwrap()
            .push(Call::RemoveNetwork(self.name.clone()));
        Ok(())
    }

    fn keep(mut self) -> String {
        self.armed = false;
        self.log
            .lock()
            .unwrap()
            .push(Call::KeepNetwork(self.name.clone()));
        self.name.clone()
    }
}

impl Drop for FakeNetwork {
    fn drop(&mut self) {
        if self.armed {
            self.log
                .lock()
                .unwrap()
                .push(Call::DroppedNetwork(self.name.clone()));
        }
    }
}
